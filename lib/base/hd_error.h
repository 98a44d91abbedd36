/*
 * Library error codes. Every library function that can fail returns an enum hd_err
 * (HD_OK on success); hd_strerror() names it for logs. Refusals of a client's request
 * (400, 401, ...) are not errors of the library: see hd_problem.h.
 */
#ifndef HD_ERROR_H
#define HD_ERROR_H

enum hd_err {
	HD_OK = 0,
	HD_ERR_NOMEM,          /* an allocation failed */
	HD_ERR_IO,             /* reading or writing the request stream failed */
	HD_ERR_CONFIG,         /* configuration file missing, unreadable or invalid */
	HD_ERR_DB_UNAVAILABLE, /* the database cannot be reached now: answer 503 */
	HD_ERR_DB_RETRY,       /* deadlock or lock wait timeout: retry the transaction */
	HD_ERR_DB,             /* any other database error (a bug or schema mismatch) */
	HD_ERR_CRYPTO,         /* OpenSSL failed (random bytes, digest) */
	HD_ERR_INTERNAL,       /* an invariant broke */
	HD_ERR__MAX
};

/* Returns a static, human-readable name for err. */
const char *hd_strerror(enum hd_err err);

#endif
