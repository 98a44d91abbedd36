#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mysql.h>
#include <errmsg.h>
#include <mysqld_error.h>

#include "hd_db.h"
#include "hd_log.h"
#include "hd_metrics.h"
#include "hd_time.h"

#define HD_DB_MAX_STMTS 64
#define HD_DB_MAX_BINDS 24
/* How long a process waits after a connect that failed slowly before it tries again. */
#define HD_DB_CONNECT_BACKOFF_NS INT64_C(500000000)
/* A connect refused faster than this cost the request nothing worth saving. */
#define HD_DB_CONNECT_SLOW_NS INT64_C(100000000)

struct hd_db_stmt {
	const char *sql;   /* identity of the statement */
	MYSQL_STMT *stmt;
};

struct hd_db {
	const struct hd_config *cfg;
	const char *user;         /* the account's, borrowed from cfg */
	const char *password;
	MYSQL *conn;
	unsigned last_errno;      /* of the last failure, to tell if a retry is safe */
	int64_t retry_at_ns;      /* after a slow failed connect, no new attempt before this */
	bool in_txn;
	/* A statement failed outside herald's transactions: the server may still hold a
	 * transaction it opened (a procedure's, or a failed COMMIT's), which would turn
	 * every later statement into part of it. Rolled back before the next one. */
	bool unclean;
	bool connected_once;      /* a later connect is a reconnect (metrics) */
	unsigned stmts_this_request;
	MYSQL_STMT *active;       /* statement whose result is being fetched */
	struct hd_dbc *active_cols;
	size_t active_ncols;
	MYSQL_TIME active_times[HD_DB_MAX_BINDS];  /* TIME columns' buffers */
	struct hd_db_stmt stmts[HD_DB_MAX_STMTS];
	size_t nstmts;
};

enum hd_err
hd_db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) == 0 ? HD_OK : HD_ERR_DB;
}

enum hd_err
hd_db_new(const struct hd_config *cfg, enum hd_db_account account, struct hd_db **out)
{
	struct hd_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return HD_ERR_NOMEM;
	db->cfg = cfg;
	db->user = cfg->db_user;
	db->password = cfg->db_password;
	if (account == HD_DB_DELIVERY && cfg->worker_db_user != NULL) {
		db->user = cfg->worker_db_user;
		db->password = cfg->worker_db_password;
	}
	*out = db;
	return HD_OK;
}

static void
hd_db_disconnect(struct hd_db *db)
{
	for (size_t i = 0; i < db->nstmts; i++)
		mysql_stmt_close(db->stmts[i].stmt);
	db->nstmts = 0;
	db->active = NULL;
	db->in_txn = false;
	db->unclean = false;
	if (db->conn)
		mysql_close(db->conn);
	db->conn = NULL;
}

void
hd_db_free(struct hd_db *db)
{
	if (db == NULL)
		return;
	hd_db_disconnect(db);
	free(db);
}

/* What herald makes of each MariaDB error it expects: the error it reports, whether
 * the connection is lost, and whether the statement provably never ran (the
 * connection was found closed when it was sent), so that it may be sent again. A
 * connection lost while the server ran a statement (2013) is not in that last group:
 * the statement may have run. Codes not listed are HD_ERR_DB. */
static const struct {
	unsigned code;
	enum hd_err err;
	bool broken;
	bool not_sent;
} hd_db_errors[] = {
	{ ER_LOCK_DEADLOCK, HD_ERR_DB_RETRY, false, false },  /* Galera conflicts too */
	{ ER_LOCK_WAIT_TIMEOUT, HD_ERR_DB_UNAVAILABLE, false, false }, /* 503, no rerun */
	{ ER_RECORD_FILE_FULL, HD_ERR_DB_UNAVAILABLE, false, false },
	/* A Galera node that left the primary component refuses every statement: drop
	 * the connection, so that the next connect finds a node that takes work. */
	{ ER_UNKNOWN_COM_ERROR, HD_ERR_DB_UNAVAILABLE, true, true },
	{ ER_OPTION_PREVENTS_STATEMENT, HD_ERR_DB_UNAVAILABLE, false, false }, /* read-only */
	{ ER_CON_COUNT_ERROR, HD_ERR_DB_UNAVAILABLE, false, false },
	{ ER_QUERY_INTERRUPTED, HD_ERR_DB_UNAVAILABLE, false, false },
	{ CR_CONNECTION_ERROR, HD_ERR_DB_UNAVAILABLE, true, false },
	{ CR_CONN_HOST_ERROR, HD_ERR_DB_UNAVAILABLE, true, false },
	{ CR_UNKNOWN_HOST, HD_ERR_DB_UNAVAILABLE, true, false },
	{ CR_SERVER_GONE_ERROR, HD_ERR_DB_UNAVAILABLE, true, true },
	{ CR_SERVER_LOST, HD_ERR_DB_UNAVAILABLE, true, false },
	{ CR_SERVER_LOST_EXTENDED, HD_ERR_DB_UNAVAILABLE, true, false },
	{ ER_SERVER_SHUTDOWN, HD_ERR_DB_UNAVAILABLE, true, false },
	{ ER_CONNECTION_KILLED, HD_ERR_DB_UNAVAILABLE, true, true },
	{ 4031, HD_ERR_DB_UNAVAILABLE, true, true }, /* idle connection closed by the server */
	/* A result left unread: a bug here, not an outage. */
	{ CR_COMMANDS_OUT_OF_SYNC, HD_ERR_INTERNAL, true, false },
};

static size_t
hd_db_error_index(unsigned code)
{
	for (size_t i = 0; i < sizeof(hd_db_errors) / sizeof(hd_db_errors[0]); i++)
		if (hd_db_errors[i].code == code)
			return i;
	return SIZE_MAX;
}

static enum hd_err
hd_db_classify(unsigned code)
{
	size_t i = hd_db_error_index(code);

	return i == SIZE_MAX ? HD_ERR_DB : hd_db_errors[i].err;
}

static bool
hd_db_conn_broken(unsigned code)
{
	size_t i = hd_db_error_index(code);

	return i != SIZE_MAX && hd_db_errors[i].broken;
}

static bool
hd_db_not_sent(unsigned code)
{
	size_t i = hd_db_error_index(code);

	return i != SIZE_MAX && hd_db_errors[i].not_sent;
}

/* Counts a failure in the process's metrics, by what herald made of it. */
static void
hd_db_count_error(enum hd_err err)
{
	const char *labels[] = { hd_metrics_program(), err == HD_ERR_DB_UNAVAILABLE ?
	    "unavailable" : err == HD_ERR_DB_RETRY ? "retry" : "error" };

	hd_metrics_count(HD_M_DB_ERRORS, labels, 1);
}

static int64_t
hd_db_monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * INT64_C(1000000000) + t.tv_nsec;
}

/* Whether a connected server may take work: a Galera node that is not synced with a
 * primary component (joining, donating, cut off) answers 1047 to every statement.
 * A server without Galera has no wsrep_ready and is ready. */
static bool
hd_db_node_ready(MYSQL *conn)
{
	static const char sql[] = "SHOW STATUS LIKE 'wsrep_ready'";
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool ready;

	if (mysql_real_query(conn, sql, sizeof(sql) - 1) != 0 ||
	    (res = mysql_store_result(conn)) == NULL)
		return false;
	row = mysql_fetch_row(res);
	ready = row == NULL || (row[1] != NULL && strcmp(row[1], "ON") == 0);
	mysql_free_result(res);
	return ready;
}

/* Connects to address a; with several addresses, only to a server that is ready. */
static enum hd_err
hd_db_connect_to(struct hd_db *db, const struct hd_db_address *a, bool check_ready)
{
	const struct hd_config *c = db->cfg;
	unsigned timeout = c->db_timeout_s, qtimeout = c->db_query_timeout_s;
	char init[160];
	my_bool off = 0;

	if ((db->conn = mysql_init(NULL)) == NULL)
		return HD_ERR_NOMEM;
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &qtimeout);
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &qtimeout);
	mysql_options(db->conn, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* UTC for every DATETIME. Lock waits end a second before the client's read
	 * timeout, so the server reports them (a retry, then 503) before the client
	 * gives up on the connection. */
	snprintf(init, sizeof(init), "SET time_zone = '+00:00', innodb_lock_wait_timeout = %u, "
	    "sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'", qtimeout - 1);
	mysql_options(db->conn, MYSQL_INIT_COMMAND, init);
	if (mysql_real_connect(db->conn, a->socket ? NULL : a->host, db->user,
	    db->password, c->db_name, a->socket ? 0 : a->port, a->socket, 0) == NULL) {
		hd_log_warn("database connect failed: %s", mysql_error(db->conn));
	} else if (check_ready && !hd_db_node_ready(db->conn)) {
		hd_log_warn("database %s is not ready (a Galera node not synced)",
		    mysql_get_host_info(db->conn));
	} else {
		if (db->connected_once) {
			const char *labels[] = { hd_metrics_program() };

			hd_metrics_count(HD_M_DB_RECONNECTS, labels, 1);
		}
		db->connected_once = true;
		return HD_OK;
	}
	mysql_close(db->conn);
	db->conn = NULL;
	return HD_ERR_DB_UNAVAILABLE;
}

/* Connects to the first address of db_addresses that takes work (or to the one of
 * db_socket / db_host). */
static enum hd_err
hd_db_connect(struct hd_db *db)
{
	const struct hd_config *c = db->cfg;
	struct hd_db_address single = { c->db_socket, c->db_host, c->db_port };
	const struct hd_db_address *list = c->db_naddresses ? c->db_addresses : &single;
	size_t n = c->db_naddresses ? c->db_naddresses : 1;
	enum hd_err err = HD_ERR_DB_UNAVAILABLE;
	int64_t started;

	if (db->conn)
		return HD_OK;
	/* Back off for a moment after a connect that waited (a host that does not
	 * answer): while the database is away, requests answer 503 at once instead of
	 * each waiting out a connect timeout. A connect that was refused at once (the
	 * server restarting on this host) is tried again by the next request, so the
	 * first request after the database is back is served. */
	started = hd_db_monotonic_ns();
	if (started < db->retry_at_ns)
		return HD_ERR_DB_UNAVAILABLE;
	/* In order, every time: the first address is the preferred node (writes pinned
	 * to one node conflict least), the others are its stand-ins. */
	for (size_t i = 0; i < n && err == HD_ERR_DB_UNAVAILABLE; i++)
		err = hd_db_connect_to(db, &list[i], n > 1);
	if (err == HD_ERR_DB_UNAVAILABLE &&
	    hd_db_monotonic_ns() - started >= HD_DB_CONNECT_SLOW_NS)
		db->retry_at_ns = hd_db_monotonic_ns() + HD_DB_CONNECT_BACKOFF_NS;
	if (err != HD_OK)
		hd_db_count_error(err);
	return err;
}

/* Whether the server has closed an idle connection: after a restart or a failover,
 * or at wait_timeout, it sends an error packet or closes the socket, so between
 * requests (no result pending) anything readable means the connection is over. One
 * poll() that does not wait costs no round trip. */
static bool
hd_db_closed_by_server(struct hd_db *db)
{
	struct pollfd p = { .fd = (int)mysql_get_socket(db->conn), .events = POLLIN };

	if (p.fd < 0)
		return true;
	return poll(&p, 1, 0) > 0 && p.revents != 0;
}

void
hd_db_request_start(struct hd_db *db)
{
	db->stmts_this_request = 0;
	if (db->conn != NULL && db->active == NULL && !db->in_txn &&
	    hd_db_closed_by_server(db)) {
		hd_log_info("database closed the connection while it was idle; reconnecting");
		hd_db_disconnect(db);
	}
}

/* Logs a failure and maps it; a lost connection is dropped so the next use rebuilds it. */
static enum hd_err
hd_db_fail(struct hd_db *db, unsigned code, const char *msg, const char *sql)
{
	enum hd_err err = hd_db_classify(code);

	db->last_errno = code;
	hd_db_count_error(err);
	if (err == HD_ERR_DB || err == HD_ERR_INTERNAL)
		hd_log_error("database error %u: %s (in: %.80s)", code, msg, sql);
	else if (err == HD_ERR_DB_UNAVAILABLE)
		hd_log_warn("database unavailable: %u %s", code, msg);
	if (hd_db_conn_broken(code))
		hd_db_disconnect(db);
	else if (db->conn != NULL && !db->in_txn)
		db->unclean = true;
	return err;
}

/* Ends whatever transaction a failed statement left open (see unclean). */
static enum hd_err
hd_db_clean(struct hd_db *db)
{
	if (!db->unclean || db->in_txn)
		return HD_OK;
	db->unclean = false;
	if (mysql_rollback(db->conn) != 0)
		return hd_db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), "ROLLBACK");
	return HD_OK;
}

enum hd_err
hd_db_check(struct hd_db *db)
{
	enum hd_err err = HD_ERR_DB_UNAVAILABLE;

	/* Pinged again on a new connection only when the first ping provably never
	 * reached the server: a ping that timed out has waited its bound already. */
	for (int attempt = 0; attempt < 2; attempt++) {
		unsigned code;

		if ((err = hd_db_connect(db)) != HD_OK)
			return err;
		if (mysql_ping(db->conn) == 0)
			return HD_OK;
		code = mysql_errno(db->conn);
		err = hd_db_fail(db, code, mysql_error(db->conn), "ping");
		if (db->conn != NULL)
			hd_db_disconnect(db);
		if (!hd_db_not_sent(code))
			break;
	}
	return err;
}

/* Reads and drops every result a statement still has (a CALL has several), so the
 * connection is ready for the next statement whatever went wrong. */
static void
hd_db_discard(struct hd_db *db, MYSQL_STMT *st)
{
	int rc;

	mysql_stmt_free_result(st);
	while ((rc = mysql_stmt_next_result(st)) == 0)
		mysql_stmt_free_result(st);
	/* A procedure that failed after its rows may have left its transaction open. */
	if (rc > 0 && !db->in_txn)
		db->unclean = true;
}

static enum hd_err
hd_db_prepare(struct hd_db *db, const char *sql, MYSQL_STMT **out)
{
	MYSQL_STMT *st;
	enum hd_err err;

	for (size_t i = 0; i < db->nstmts; i++)
		if (db->stmts[i].sql == sql) {
			*out = db->stmts[i].stmt;
			return HD_OK;
		}
	if (db->nstmts == HD_DB_MAX_STMTS)
		return HD_ERR_INTERNAL;
	if ((st = mysql_stmt_init(db->conn)) == NULL)
		return HD_ERR_NOMEM;
	if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
		err = hd_db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		mysql_stmt_close(st);
		return err;
	}
	db->stmts[db->nstmts].sql = sql;
	db->stmts[db->nstmts].stmt = st;
	db->nstmts++;
	*out = st;
	return HD_OK;
}

static void
hd_db_bind_param(MYSQL_BIND *b, const struct hd_dbp *p, MYSQL_TIME *tm,
    long long *num)
{
	struct hd_tm t;

	memset(b, 0, sizeof(*b));
	switch (p->type) {
	case HD_DBT_NULL:
		b->buffer_type = MYSQL_TYPE_NULL;
		break;
	case HD_DBT_I64:
	case HD_DBT_U64:
		*num = p->i;
		b->buffer_type = MYSQL_TYPE_LONGLONG;
		b->buffer = num;
		b->is_unsigned = p->type == HD_DBT_U64;
		break;
	case HD_DBT_TEXT:
	case HD_DBT_BLOB:
		b->buffer_type = p->type == HD_DBT_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
		b->buffer = (void *)(uintptr_t)p->p;
		b->buffer_length = p->len;
		break;
	case HD_DBT_TIME:
		hd_time_split(p->i, &t);
		memset(tm, 0, sizeof(*tm));
		tm->year = (unsigned)t.year;
		tm->month = (unsigned)t.month;
		tm->day = (unsigned)t.day;
		tm->hour = (unsigned)t.hour;
		tm->minute = (unsigned)t.minute;
		tm->second = (unsigned)t.second;
		tm->second_part = (unsigned long)t.usec;
		tm->time_type = MYSQL_TIMESTAMP_DATETIME;
		b->buffer_type = MYSQL_TYPE_DATETIME;
		b->buffer = tm;
		break;
	}
}

/* Prepares (cached), binds and executes; retries once on a connection found dead at
 * the first statement of a request, outside a transaction. */
static enum hd_err
hd_db_run(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, MYSQL_STMT **out)
{
	MYSQL_BIND binds[HD_DB_MAX_BINDS];
	MYSQL_TIME times[HD_DB_MAX_BINDS];
	long long nums[HD_DB_MAX_BINDS];
	MYSQL_STMT *st = NULL;
	enum hd_err err = HD_ERR_INTERNAL;

	if (nparams > HD_DB_MAX_BINDS)
		return HD_ERR_INTERNAL;
	for (int attempt = 0; attempt < 2; attempt++) {
		bool first = db->stmts_this_request == 0 && !db->in_txn;
		bool safe = true;    /* a failure before execute never ran the statement */

		if ((err = hd_db_connect(db)) != HD_OK)
			return err;
		if ((err = hd_db_clean(db)) != HD_OK)
			goto failed;
		if ((err = hd_db_prepare(db, sql, &st)) != HD_OK)
			goto failed;
		for (size_t i = 0; i < nparams; i++)
			hd_db_bind_param(&binds[i], &params[i], &times[i], &nums[i]);
		if (mysql_stmt_param_count(st) != nparams)
			return HD_ERR_INTERNAL;
		if (nparams && mysql_stmt_bind_param(st, binds) != 0) {
			err = hd_db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
			goto failed;
		}
		if (mysql_stmt_execute(st) != 0) {
			safe = hd_db_not_sent(mysql_stmt_errno(st));
			err = hd_db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
			goto failed;
		}
		db->stmts_this_request++;
		*out = st;
		return HD_OK;
failed:
		/* Once, for a connection found dead at a request's first statement: a
		 * database restarted while this process was idle. */
		if (err != HD_ERR_DB_UNAVAILABLE || !first || !safe || db->conn != NULL)
			return err;
	}
	return err;
}

enum hd_err
hd_db_exec(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, uint64_t *affected, uint64_t *insert_id)
{
	MYSQL_STMT *st;
	enum hd_err err;

	if ((err = hd_db_run(db, sql, params, nparams, &st)) != HD_OK)
		return err;
	if (affected)
		*affected = mysql_stmt_affected_rows(st);
	if (insert_id)
		*insert_id = mysql_stmt_insert_id(st);
	return HD_OK;
}

enum hd_err
hd_db_query(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols)
{
	MYSQL_BIND binds[HD_DB_MAX_BINDS];
	MYSQL_STMT *st;
	enum hd_err err;

	if (ncols > HD_DB_MAX_BINDS)
		return HD_ERR_INTERNAL;
	if ((err = hd_db_run(db, sql, params, nparams, &st)) != HD_OK)
		return err;
	if (mysql_stmt_field_count(st) != ncols) {
		hd_db_discard(db, st);
		hd_log_error("statement returned %u columns, not %zu (in: %.80s)",
		    mysql_stmt_field_count(st), ncols, sql);
		return HD_ERR_INTERNAL;
	}
	memset(binds, 0, sizeof(binds));
	for (size_t i = 0; i < ncols; i++) {
		struct hd_dbc *c = &cols[i];
		MYSQL_BIND *b = &binds[i];

		b->length = &c->len;
		b->is_null = (my_bool *)&c->is_null;
		switch (c->type) {
		case HD_DBT_I64:
		case HD_DBT_U64:
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = c->num;
			b->is_unsigned = c->type == HD_DBT_U64;
			break;
		case HD_DBT_TEXT:
			/* Room for the NUL that hd_db_fetch() adds. */
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = c->buf;
			b->buffer_length = c->cap ? c->cap - 1 : 0;
			break;
		case HD_DBT_BLOB:
			b->buffer_type = MYSQL_TYPE_BLOB;
			b->buffer = c->buf;
			b->buffer_length = c->cap;
			break;
		case HD_DBT_TIME:
			b->buffer_type = MYSQL_TYPE_DATETIME;
			b->buffer = &db->active_times[i];
			b->buffer_length = sizeof(db->active_times[i]);
			break;
		default:
			hd_db_discard(db, st);
			return HD_ERR_INTERNAL;
		}
	}
	if (mysql_stmt_bind_result(st, binds) != 0) {
		err = hd_db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
		if (db->conn)
			hd_db_discard(db, st);
		return err;
	}
	db->active = st;
	db->active_cols = cols;
	db->active_ncols = ncols;
	return HD_OK;
}

enum hd_err
hd_db_fetch(struct hd_db *db, bool *row)
{
	MYSQL_STMT *st = db->active;
	int rc;

	*row = false;
	if (st == NULL)
		return HD_ERR_INTERNAL;
	rc = mysql_stmt_fetch(st);
	if (rc == MYSQL_NO_DATA)
		return HD_OK;
	if (rc == MYSQL_DATA_TRUNCATED) {
		hd_log_error("database value longer than its buffer");
		hd_db_done(db);
		return HD_ERR_DB;
	}
	if (rc != 0) {
		enum hd_err err = hd_db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), "fetch");
		if (db->conn)
			hd_db_done(db);
		return err;
	}
	/* NUL-terminate text columns: the bind gave them cap - 1 bytes. */
	for (size_t i = 0; i < db->active_ncols; i++) {
		struct hd_dbc *c = &db->active_cols[i];
		if (c->type == HD_DBT_TEXT && c->cap && !c->is_null)
			((char *)c->buf)[c->len] = '\0';
		if (c->type == HD_DBT_TIME) {
			const MYSQL_TIME *t = &db->active_times[i];

			*c->num = c->is_null ? 0 : (hd_days_from_civil(t->year, (int)t->month,
			    (int)t->day) * 86400 + t->hour * 3600 + t->minute * 60 + t->second) *
			    HD_USEC_PER_SEC + (int64_t)t->second_part;
		}
	}
	*row = true;
	return HD_OK;
}

void
hd_db_done(struct hd_db *db)
{
	if (db->active)
		hd_db_discard(db, db->active);
	db->active = NULL;
	db->active_cols = NULL;
	db->active_ncols = 0;
}

enum hd_err
hd_db_query_one(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols, bool *found)
{
	enum hd_err err;

	*found = false;
	if ((err = hd_db_query(db, sql, params, nparams, cols, ncols)) != HD_OK)
		return err;
	err = hd_db_fetch(db, found);
	if (db->conn)
		hd_db_done(db);
	return err;
}

enum hd_err
hd_db_call(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols, bool *found)
{
	MYSQL_STMT *st;
	enum hd_err err;
	int rc;

	if ((err = hd_db_query(db, sql, params, nparams, cols, ncols)) != HD_OK)
		return err;
	st = db->active;
	if ((err = hd_db_fetch(db, found)) != HD_OK)
		return err;
	mysql_stmt_free_result(st);
	db->active = NULL;
	/* A CALL answers with its SELECT's rows and then the procedure's own status,
	 * which carries the error of anything that failed after the SELECT. */
	while ((rc = mysql_stmt_next_result(st)) == 0)
		mysql_stmt_free_result(st);
	if (rc > 0)
		return hd_db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st), sql);
	return HD_OK;
}

enum hd_err
hd_db_call_txn(struct hd_db *db, const char *sql, const struct hd_dbp *params,
    size_t nparams, struct hd_dbc *cols, size_t ncols, bool *found)
{
	enum hd_err err = HD_ERR_DB_RETRY;
	/* Inside the caller's transaction the conflict rolled back more than this call,
	 * so rerunning the call alone would be wrong: the caller reruns its whole. */
	int attempts = db->in_txn ? 1 : HD_DB_TXN_ATTEMPTS;

	for (int attempt = 0; attempt < attempts && err == HD_ERR_DB_RETRY; attempt++) {
		err = hd_db_call(db, sql, params, nparams, cols, ncols, found);
		if (err == HD_ERR_DB_RETRY)
			hd_log_debug("transaction conflict, attempt %d", attempt + 1);
	}
	return err;
}

enum hd_err
hd_db_begin(struct hd_db *db)
{
	enum hd_err err;
	static const char sql[] = "START TRANSACTION";

	if ((err = hd_db_connect(db)) != HD_OK)
		return err;
	/* START TRANSACTION would commit a failed statement's leftovers. */
	if ((err = hd_db_clean(db)) != HD_OK)
		return err;
	if (mysql_real_query(db->conn, sql, sizeof(sql) - 1) != 0)
		return hd_db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), sql);
	db->in_txn = true;
	return HD_OK;
}

enum hd_err
hd_db_commit(struct hd_db *db)
{
	if (db->conn == NULL)
		return HD_ERR_DB_UNAVAILABLE;
	db->in_txn = false;
	if (mysql_commit(db->conn) != 0)
		return hd_db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), "COMMIT");
	return HD_OK;
}

void
hd_db_rollback(struct hd_db *db)
{
	if (db->conn == NULL || !db->in_txn)
		return;
	db->in_txn = false;
	if (mysql_rollback(db->conn) != 0)
		hd_db_fail(db, mysql_errno(db->conn), mysql_error(db->conn), "ROLLBACK");
}
