/* Random public identifiers from OpenSSL's CSPRNG. */
#ifndef HD_RANDOM_H
#define HD_RANDOM_H

#include <stddef.h>
#include "hd_error.h"

/* Writes 2*nbytes lowercase hex characters and a NUL to out (size >= 2*nbytes+1). */
enum hd_err hd_random_hex(char *out, size_t nbytes);
/* The same for identifiers made once per request (nbytes <= 32): drawn from a pool
 * per thread that is refilled from the CSPRNG every few hundred bytes, because each
 * RAND_bytes() call costs OpenSSL's fork check (a getpid() system call). An id is as
 * unpredictable as hd_random_hex()'s. Not for a process that forks while threads
 * hold a pool: the child would repeat its parent's next ids. */
enum hd_err hd_random_hex_pooled(char *out, size_t nbytes);

#endif
