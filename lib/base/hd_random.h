/* Random public identifiers from OpenSSL's CSPRNG. */
#ifndef HD_RANDOM_H
#define HD_RANDOM_H

#include <stddef.h>
#include "hd_error.h"

/* Writes 2*nbytes lowercase hex characters and a NUL to out (size >= 2*nbytes+1). */
enum hd_err hd_random_hex(char *out, size_t nbytes);

#endif
