/* The inbox dialect's reads and writes (see hd_inbox_store.h). */
#include <stdlib.h>

#include "hd_inbox_store.h"

static const char SQL_CHECK[] = "CALL hd_inbox_check(?, ?, ?)";
static const char SQL_LIST[] = "CALL hd_inbox_list(?, ?, ?, ?)";
static const char SQL_GET[] = "CALL hd_inbox_get(?, ?)";
static const char SQL_MARK[] = "CALL hd_inbox_mark(?, ?, ?)";
static const char SQL_DELETE[] = "CALL hd_inbox_delete(?, ?)";
static const char SQL_OUTCOME[] = "CALL hd_inbox_outcome(?, ?)";

/* Column capacities: the schema's sizes in bytes, plus the NUL. */
enum { R_ID, R_TITLE, R_BODY, R_EXTRAS, R_CREATED, R_READ, R__MAX };
#define HD_TITLE_CAP 4097
#define HD_TEXT_CAP 65536
#define HD_TIME_CAP 32

struct hd_row_bufs {
	int64_t id;
	char *title, *body, *extras;
	char created[HD_TIME_CAP], read[HD_TIME_CAP];
	struct hd_dbc cols[R__MAX];
};

static enum hd_err
hd_row_bufs_init(struct hd_row_bufs *b)
{
	b->title = malloc(HD_TITLE_CAP);
	b->body = malloc(HD_TEXT_CAP);
	b->extras = malloc(HD_TEXT_CAP);
	if (b->title == NULL || b->body == NULL || b->extras == NULL)
		return HD_ERR_NOMEM;
	b->cols[R_ID] = (struct hd_dbc){ .type = HD_DBT_U64, .num = &b->id };
	b->cols[R_TITLE] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = b->title, .cap = HD_TITLE_CAP };
	b->cols[R_BODY] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = b->body, .cap = HD_TEXT_CAP };
	b->cols[R_EXTRAS] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = b->extras, .cap = HD_TEXT_CAP };
	b->cols[R_CREATED] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = b->created, .cap = HD_TIME_CAP };
	b->cols[R_READ] = (struct hd_dbc){ .type = HD_DBT_TEXT, .buf = b->read, .cap = HD_TIME_CAP };
	return HD_OK;
}

static void
hd_row_bufs_free(struct hd_row_bufs *b)
{
	free(b->title);
	free(b->body);
	free(b->extras);
}

static enum hd_err
hd_row_hand(struct hd_row_bufs *b, hd_inbox_row_fn fn, void *arg)
{
	struct hd_inbox_row row = {
		.id = (uint64_t)b->id,
		.title = b->cols[R_TITLE].is_null ? "" : b->title,
		.body = b->cols[R_BODY].is_null ? "" : b->body,
		.extras = b->cols[R_EXTRAS].is_null ? NULL : b->extras,
		.extras_len = b->cols[R_EXTRAS].is_null ? 0 : b->cols[R_EXTRAS].len,
		.created_at = b->created,
		.read_at = b->cols[R_READ].is_null ? NULL : b->read,
	};
	return fn(arg, &row);
}

/* Runs a CALL that answers item rows and hands each to fn; *count says how many. */
static enum hd_err
hd_rows(struct hd_db *db, const char *sql, const struct hd_dbp *p, size_t np,
    hd_inbox_row_fn fn, void *arg, size_t *count)
{
	struct hd_row_bufs b = { 0 };
	enum hd_err err;
	bool row;

	*count = 0;
	if ((err = hd_row_bufs_init(&b)) != HD_OK)
		goto out;
	if ((err = hd_db_query(db, sql, p, np, b.cols, R__MAX)) != HD_OK)
		goto out;
	while ((err = hd_db_fetch(db, &row)) == HD_OK && row) {
		if ((err = hd_row_hand(&b, fn, arg)) != HD_OK)
			break;
		(*count)++;
	}
	hd_db_done(db);
out:
	hd_row_bufs_free(&b);
	return err;
}

enum hd_err
hd_inbox_check(struct hd_db *db, uint64_t app_id, uint64_t user_id, const char *slug,
    size_t slug_len, bool *subscribed, bool *activity_found)
{
	struct hd_dbp p[] = { HD_DBP_U64(app_id), HD_DBP_U64(user_id),
		slug ? HD_DBP_TEXT(slug, slug_len) : HD_DBP_NULL };
	int64_t sub = 0, act = 0;
	struct hd_dbc cols[] = { { .type = HD_DBT_I64, .num = &sub },
		{ .type = HD_DBT_I64, .num = &act } };
	enum hd_err err;
	bool found;

	*subscribed = *activity_found = false;
	if ((err = hd_db_call(db, SQL_CHECK, p, 3, cols, 2, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_ERR_DB;
	*subscribed = sub != 0;
	*activity_found = act != 0;
	return HD_OK;
}

enum hd_err
hd_inbox_list(struct hd_db *db, uint64_t user_id, uint64_t before, bool unread,
    unsigned limit, hd_inbox_row_fn fn, void *arg)
{
	struct hd_dbp p[] = { HD_DBP_U64(user_id), before ? HD_DBP_U64(before) : HD_DBP_NULL,
		HD_DBP_I64(unread), HD_DBP_I64(limit) };
	size_t count;

	return hd_rows(db, SQL_LIST, p, 4, fn, arg, &count);
}

enum hd_err
hd_inbox_get(struct hd_db *db, uint64_t user_id, uint64_t id, hd_inbox_row_fn fn,
    void *arg, bool *found)
{
	struct hd_dbp p[] = { HD_DBP_U64(user_id), HD_DBP_U64(id) };
	size_t count;
	enum hd_err err = hd_rows(db, SQL_GET, p, 2, fn, arg, &count);

	*found = count > 0;
	return err;
}

enum hd_err
hd_inbox_mark(struct hd_db *db, uint64_t user_id, uint64_t id, bool read,
    hd_inbox_row_fn fn, void *arg, bool *found)
{
	struct hd_dbp p[] = { HD_DBP_U64(user_id), HD_DBP_U64(id), HD_DBP_I64(read) };
	size_t count;
	enum hd_err err = hd_rows(db, SQL_MARK, p, 3, fn, arg, &count);

	*found = count > 0;
	return err;
}

enum hd_err
hd_inbox_delete(struct hd_db *db, uint64_t user_id, uint64_t id, bool *deleted)
{
	struct hd_dbp p[] = { HD_DBP_U64(user_id), HD_DBP_U64(id) };
	int64_t n = 0;
	struct hd_dbc col = { .type = HD_DBT_I64, .num = &n };
	enum hd_err err;
	bool found;

	*deleted = false;
	if ((err = hd_db_call(db, SQL_DELETE, p, 2, &col, 1, &found)) != HD_OK)
		return err;
	*deleted = found && n > 0;
	return HD_OK;
}

enum hd_err
hd_inbox_outcome(struct hd_db *db, uint64_t user_id, uint64_t message_id,
    struct hd_inbox_outcome *out)
{
	struct hd_dbp p[] = { HD_DBP_U64(user_id), HD_DBP_U64(message_id) };
	int64_t v[6] = { 0 };
	struct hd_dbc cols[6];
	enum hd_err err;
	bool found;

	for (size_t i = 0; i < 6; i++)
		cols[i] = (struct hd_dbc){ .type = HD_DBT_I64, .num = &v[i] };
	if ((err = hd_db_call(db, SQL_OUTCOME, p, 2, cols, 6, &found)) != HD_OK)
		return err;
	if (!found)
		return HD_ERR_DB;
	*out = (struct hd_inbox_outcome){ (uint64_t)v[0], (uint64_t)v[1], (uint64_t)v[2],
		(uint64_t)v[3], (uint64_t)v[4], (uint64_t)v[5] };
	return HD_OK;
}
