/*
 * A main() for the fuzz drivers when they are not built with libFuzzer (gcc with
 * -fsanitize=address,undefined, as tests/fuzz/run does), so CI can run them anywhere:
 *
 *   fuzz_x [--seconds S] [--runs N] [--seed N] [--max-len N] [--crash-dir DIR] PATH...
 *
 * Every file of each PATH (a corpus directory, or a single file) is run once; then
 * pseudo-random mutations of them (bit flips, byte edits, inserted tokens that matter
 * to herald's parsers, splices) are run until N mutations or S seconds, whichever
 * comes first. S defaults to 10; --seconds 0 means no time bound when --runs is given
 * and replays the files only otherwise. The PRNG is seeded (--seed, default 1), so a
 * run is reproducible up to the time bound. Each input is copied into a buffer of
 * exactly its size, so the sanitizers see any over-read.
 *
 * On a crash (sanitizer report, failed FUZZ_ASSERT, signal) the input is saved as
 * DIR/crash-<driver>-<n> and its path printed; replay it with
 * `fuzz_x --seconds 0 DIR/crash-...`. DIR defaults to $TMPDIR (or /tmp), never the
 * current directory, so that a run from a work tree leaves nothing in it. The last
 * line of a clean run is "<driver>: <count> inputs (...)", which tests/fuzz/run reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#if defined(__SANITIZE_ADDRESS__)
#define HD_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HD_SANITIZED 1
#endif
#endif
#ifdef HD_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

struct input {
	unsigned char *data;
	size_t len;
};

struct pool {
	struct input *items;
	size_t n, cap;
};

/* The input being run, for the crash handlers. */
static const unsigned char *current;
static size_t current_len;
static char crash_path[PATH_MAX];

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static size_t
below(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

/* Async-signal-safe: saves the current input and says where. */
static void
save_crash(void)
{
	int fd;

	if (current == NULL || crash_path[0] == '\0')
		return;
	if ((fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		if (current_len)
			(void)!write(fd, current, current_len);
		close(fd);
		(void)!write(2, "crashing input saved as ", 24);
		(void)!write(2, crash_path, strlen(crash_path));
		(void)!write(2, "\n", 1);
	}
	current = NULL;
}

static void
on_signal(int sig)
{
	save_crash();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
pool_add(struct pool *p, const unsigned char *data, size_t len)
{
	struct input in;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct input *items = realloc(p->items, cap * sizeof(*items));
		if (items == NULL)
			return;
		p->items = items;
		p->cap = cap;
	}
	in.data = malloc(len ? len : 1);
	if (in.data == NULL)
		return;
	if (len)
		memcpy(in.data, data, len);
	in.len = len;
	p->items[p->n++] = in;
}

static void
read_file(struct pool *p, const char *path, size_t max)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
	if ((buf = malloc(max + 1)) == NULL)
		exit(2);
	n = fread(buf, 1, max, f);
	fclose(f);
	pool_add(p, buf, n);
	free(buf);
}

static void
read_path(struct pool *p, const char *path, size_t max)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char sub[PATH_MAX];

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		read_file(p, path, max);
		return;
	}
	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		exit(2);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			read_file(p, sub, max);
	}
	closedir(d);
}

/* Tokens that mean something to one of herald's parsers of outside input. */
static const char *const tokens[] = {
	"{", "}", "[", "]", "\"", ":", ",", "{\"a\":", "\\u0000", "\\ud800", "\\\"", "1e400",
	"-1e400", "18446744073709551616", "-9223372036854775809", "9223372036854775807",
	"0", "-", ".5", "null", "true", "false", "NaN", "Infinity", "'",
	"<", ">", "</", "/>", "<a>", "</a>", "&amp;", "&lt;", "&#0;", "&#x10FFFF;", "&e;",
	"<![CDATA[", "]]>", "<!--", "-->", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
	"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>", "<!DOCTYPE x>",
	"xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"", " i:nil=\"true\"",
	"encoding=\"ISO-8859-1\"", "encoding=\"UTF-16\"",
	"%", "%00", "%4", "%41", "%zz", "+", "&", "=", "format=", "format=xml",
	"2026-03-29T15:00:00Z", "T", "t", "Z", "z", "+23:59", "-00:00", ".999999999", ":60",
	"2024-02-29", "\n", "\r\n", "\t", " ", "#", "db_name = ", "db_port = ", "log_level = ",
	"db_password_file = ", "max_body_bytes = ", "rate_limit_per_address = ",
	"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
	"\xc0\x80", "\xff", "\x00", "\x01",
};

/* Applies one to six random edits to buf (capacity cap), returns the new length. */
static size_t
mutate(unsigned char *buf, size_t len, size_t cap, const struct pool *p)
{
	int edits = 1 + (int)below(6);

	for (int k = 0; k < edits; k++) {
		switch (below(11)) {
		case 0:         /* flip a bit */
			if (len)
				buf[below(len)] ^= (unsigned char)(1u << below(8));
			break;
		case 1:         /* set a random byte */
			if (len)
				buf[below(len)] = (unsigned char)rng();
			break;
		case 2:         /* insert a random byte */
			if (len < cap) {
				size_t at = below(len + 1);
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (unsigned char)rng();
				len++;
			}
			break;
		case 3:         /* delete a range */
			if (len) {
				size_t at = below(len), n = 1 + below(len - at < 16 ? len - at : 16);
				memmove(buf + at, buf + at + n, len - at - n);
				len -= n;
			}
			break;
		case 4:         /* duplicate a range */
			if (len) {
				size_t at = below(len), n = 1 + below(len - at < 32 ? len - at : 32);
				if (len + n <= cap) {
					size_t to = below(len + 1);
					unsigned char tmp[32];
					memcpy(tmp, buf + at, n);
					memmove(buf + to + n, buf + to, len - to);
					memcpy(buf + to, tmp, n);
					len += n;
				}
			}
			break;
		case 5:         /* insert a token */
		case 6: {
			const char *t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
			size_t n = t[0] ? strlen(t) : 1, at = below(len + 1);
			if (len + n <= cap) {
				memmove(buf + at + n, buf + at, len - at);
				memcpy(buf + at, t, n);
				len += n;
			}
			break;
		}
		case 7: {       /* overwrite with a token */
			const char *t = tokens[below(sizeof(tokens) / sizeof(tokens[0]))];
			size_t n = t[0] ? strlen(t) : 1;
			if (len >= n)
				memcpy(buf + below(len - n + 1), t, n);
			break;
		}
		case 8:         /* splice: our head, another input's tail */
			if (p->n) {
				const struct input *o = &p->items[below(p->n)];
				size_t at = below(len + 1), from = below(o->len + 1);
				size_t n = o->len - from;
				if (at + n > cap)
					n = cap - at;
				memcpy(buf + at, o->data + from, n);
				len = at + n;
			}
			break;
		case 9:         /* change a digit */
			for (size_t tries = 0; len && tries < 8; tries++) {
				size_t at = below(len);
				if (buf[at] >= '0' && buf[at] <= '9') {
					buf[at] = (unsigned char)('0' + below(10));
					break;
				}
			}
			break;
		default:        /* truncate */
			if (len)
				len = below(len + 1);
			break;
		}
	}
	return len;
}

static void
run_one(const unsigned char *data, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);

	if (copy == NULL)
		exit(2);
	if (len)
		memcpy(copy, data, len);
	current = copy;
	current_len = len;
	LLVMFuzzerTestOneInput(copy, len);
	current = NULL;
	free(copy);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seconds S] [--runs N] [--seed N] [--max-len N] "
	    "[--crash-dir DIR] CORPUS_DIR_OR_FILE...\n", argv0);
	exit(2);
}

int
main(int argc, char **argv)
{
	double seconds = 10, start;
	unsigned long long runs = 0, seed = 1, done = 0, mutations = 0;
	size_t max_len = 4096, corpus_n;
	const char *crash_dir = getenv("TMPDIR"), *name = strrchr(argv[0], '/');
	struct pool pool = { NULL, 0, 0 };
	unsigned char *buf;
	int i;

	name = name ? name + 1 : argv[0];
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			usage(argv[0]);
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--runs") == 0)
			runs = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--max-len") == 0)
			max_len = (size_t)strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--crash-dir") == 0)
			crash_dir = argv[++i];
		else
			usage(argv[0]);
	}
	if (i >= argc || max_len == 0)
		usage(argv[0]);
	if (crash_dir == NULL || crash_dir[0] == '\0')
		crash_dir = "/tmp";
	for (; i < argc; i++)
		read_path(&pool, argv[i], max_len > 65536 ? max_len : 65536);
	corpus_n = pool.n;

	snprintf(crash_path, sizeof(crash_path), "%s/crash-%s-%ld", crash_dir, name,
	    (long)getpid());
#ifdef HD_SANITIZED
	__sanitizer_set_death_callback(save_crash);
#endif
	signal(SIGSEGV, on_signal);
	signal(SIGBUS, on_signal);
	signal(SIGFPE, on_signal);
	signal(SIGILL, on_signal);
	signal(SIGABRT, on_signal);

	start = now();
	for (size_t k = 0; k < corpus_n; k++, done++)
		run_one(pool.items[k].data, pool.items[k].len);

	rng_state = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
	if ((buf = malloc(max_len)) == NULL)
		return 2;
	while (runs > 0 ? mutations < runs : seconds > 0) {
		size_t len = 0;

		if (seconds > 0 && (mutations & 63) == 0 && now() - start >= seconds)
			break;
		if (pool.n && below(16) != 0) {
			/* Half the time an original file, so mutants of mutants do not
			 * crowd out the well-formed seeds. */
			const struct input *src = &pool.items[corpus_n && below(2) ?
			    below(corpus_n) : below(pool.n)];
			len = src->len < max_len ? src->len : max_len;
			memcpy(buf, src->data, len);
		}
		len = mutate(buf, len, max_len, &pool);
		run_one(buf, len);
		mutations++;
		done++;
		/* Keep a few mutants as seeds for further mutation (bounded). */
		if (pool.n < corpus_n + 4096 && below(32) == 0)
			pool_add(&pool, buf, len);
	}
	printf("%s: %llu inputs (%zu corpus files, %llu mutations, seed %llu, %.1f s)\n", name,
	    done, corpus_n, mutations, seed, now() - start);
	for (size_t k = 0; k < pool.n; k++)
		free(pool.items[k].data);
	free(pool.items);
	free(buf);
	return 0;
}
