#include "hd_error.h"

static const char *const hd_err_names[HD_ERR__MAX] = {
	[HD_OK] = "success",
	[HD_ERR_NOMEM] = "out of memory",
	[HD_ERR_IO] = "request stream error",
	[HD_ERR_CONFIG] = "configuration error",
	[HD_ERR_DB_UNAVAILABLE] = "database unavailable",
	[HD_ERR_DB_RETRY] = "database transaction conflict",
	[HD_ERR_DB] = "database error",
	[HD_ERR_CRYPTO] = "cryptography error",
	[HD_ERR_INTERNAL] = "internal error",
};

const char *
hd_strerror(enum hd_err err)
{
	if ((unsigned)err >= HD_ERR__MAX)
		return "unknown error";
	return hd_err_names[err];
}
