/*
 * herald's MariaDB access: one persistent connection per process and a cache of its
 * prepared statements. With db_addresses (a Galera cluster's nodes), each connect
 * takes the first address that answers and is synced. SQL goes only through prepared statements with bound
 * parameters. A statement is named by the address of its SQL text (a static const
 * array in the module that owns it), so each is prepared once per connection.
 *
 * Errors: HD_ERR_DB_UNAVAILABLE when the server cannot be reached (the connection is
 * dropped and rebuilt on the next use; a request answers 503), HD_ERR_DB_RETRY for
 * deadlocks and lock wait timeouts (Galera certification failures surface as 1213:
 * rerun the whole transaction), HD_ERR_DB otherwise.
 *
 * Times are bound as UTC DATETIME(6); the session's time_zone is UTC.
 */
#ifndef HD_DB_H
#define HD_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_config.h"
#include "hd_error.h"

struct hd_db;

/* How often a transaction that loses a deadlock (or a Galera certification) is run. */
#define HD_DB_TXN_ATTEMPTS 5

enum hd_dbt { HD_DBT_NULL, HD_DBT_I64, HD_DBT_U64, HD_DBT_TEXT, HD_DBT_BLOB, HD_DBT_TIME };

/* A parameter. TEXT/BLOB borrow p[0..len); I64/U64/TIME (usec) use i. */
struct hd_dbp {
	enum hd_dbt type;
	const void *p;
	size_t len;
	int64_t i;
};

#define HD_DBP_NULL ((struct hd_dbp){ HD_DBT_NULL, NULL, 0, 0 })
#define HD_DBP_I64(v) ((struct hd_dbp){ HD_DBT_I64, NULL, 0, (int64_t)(v) })
#define HD_DBP_U64(v) ((struct hd_dbp){ HD_DBT_U64, NULL, 0, (int64_t)(v) })
#define HD_DBP_TEXT(s, n) ((struct hd_dbp){ HD_DBT_TEXT, (s), (n), 0 })
#define HD_DBP_STR(s) ((struct hd_dbp){ HD_DBT_TEXT, (s), strlen(s), 0 })
#define HD_DBP_BLOB(s, n) ((struct hd_dbp){ HD_DBT_BLOB, (s), (n), 0 })
#define HD_DBP_TIME(us) ((struct hd_dbp){ HD_DBT_TIME, NULL, 0, (int64_t)(us) })

/* A result column. TEXT/BLOB fill buf (capacity cap; a longer value is an error) and
 * NUL-terminate TEXT; I64/U64 fill *num; TIME (a DATETIME column) fills *num with
 * usec since the epoch. */
struct hd_dbc {
	enum hd_dbt type;
	void *buf;
	size_t cap;
	int64_t *num;
	unsigned long len;   /* out: length of the value */
	bool is_null;        /* out */
};

/* The client library's global set-up: a program that uses connections from several
 * threads calls it once before it starts them. */
enum hd_err hd_db_library_init(void);
/* Whose account a connection uses (docs/accounts.md): the request path's (db_user),
 * or that of what delivers (worker_db_user, or db_user's when it is not set). */
enum hd_db_account { HD_DB_REQUESTS, HD_DB_DELIVERY };

/* Creates a handle for cfg (borrowed; must outlive the handle) that connects, lazily,
 * with account's user and password. */
enum hd_err hd_db_new(const struct hd_config *cfg, enum hd_db_account account,
    struct hd_db **out);
void hd_db_free(struct hd_db *db);

/* Marks the start of a request: a connection found dead at its first statement is
 * rebuilt and the statement retried once, so a restarted database is picked up. */
void hd_db_request_start(struct hd_db *db);
/* Connects if needed; HD_OK when the database answers a ping. */
enum hd_err hd_db_check(struct hd_db *db);

/* Runs a statement that returns no rows. affected and insert_id may be NULL. */
enum hd_err hd_db_exec(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, uint64_t *affected, uint64_t *insert_id);

/* Runs a query, or a CALL whose procedure ends with a SELECT, and binds its columns;
 * read rows with hd_db_fetch(), then always call hd_db_done(), which also reads what
 * else a CALL answers. */
enum hd_err hd_db_query(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols);
/* Fetches the next row into the bound columns; *row is false at the end. */
enum hd_err hd_db_fetch(struct hd_db *db, bool *row);
void hd_db_done(struct hd_db *db);

/* Convenience: runs a query and fetches at most one row. *found says whether a row came. */
enum hd_err hd_db_query_one(struct hd_db *db, const char *sql,
    const struct hd_dbp *params, size_t nparams, struct hd_dbc *cols, size_t ncols,
    bool *found);

/* Runs a CALL of a stored procedure that ends with a one-row SELECT: fetches that row
 * into cols (*found says whether it came) and reads the rest of the procedure's
 * results, leaving the connection ready for the next statement. */
enum hd_err hd_db_call(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols, bool *found);

/* hd_db_call() for a procedure that is one whole transaction: a deadlock (or a Galera
 * certification conflict), which rolled it back, reruns it, at most
 * HD_DB_TXN_ATTEMPTS times in all. Called inside an open transaction it runs once. */
enum hd_err hd_db_call_txn(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols, bool *found);

enum hd_err hd_db_begin(struct hd_db *db);
enum hd_err hd_db_commit(struct hd_db *db);
/* Rolls back if a transaction is open; safe to call always. */
void hd_db_rollback(struct hd_db *db);

#endif
