/*
 * The admission batcher: sends of many requests in one database round trip (issue 12,
 * migration 0008). A FastCGI program that sends runs several request threads; each
 * parses and validates its request, then hands its send, admission included (client
 * address, rate limit, key), to the process's one committer thread with
 * hd_batch_run(). The committer takes whatever has queued up (at most
 * send_batch_max sends), runs it as one CALL hd_send_batch (rate limit, key, backlog,
 * dedupe, quotas, messages and deliveries, set-based, one durable commit), writes
 * each send's own outcome into it and wakes the request threads. A lone send never
 * waits for company: the committer starts as soon as it has work, and sends that
 * arrive meanwhile form the next batch. A batch of one runs as an unbatched send
 * would (CALL hd_admit, then hd_send), which costs the database less.
 *
 * Threads: hd_batch_start() starts the committer; any thread may call hd_batch_run();
 * hd_batch_stop() is called once, after every request thread has finished.
 * Connections: the committer owns one struct hd_db of its own (MariaDB connections
 * are not thread-safe); request threads never touch it.
 * Memory: a struct hd_batch_send and everything it points to (admission, target,
 * message) belong to the calling request thread and must stay valid until
 * hd_batch_run() returns; the committer only borrows them. The committer owns the
 * batch's JSON text buffer, reused from batch to batch; it allocates nothing per
 * send that outlives the batch.
 */
#ifndef HD_BATCH_H
#define HD_BATCH_H

#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hd_auth.h"
#include "hd_config.h"
#include "hd_send.h"

/* A request's admission, run in its send's batch instead of before its body is read:
 * the pipeline fills it (hd_pipeline.c, deferred mode) and a dialect that finds its
 * key in the body adds the key there (legacy). */
struct hd_admission {
	const char *addr;          /* client address, borrowed */
	unsigned rate_limit;       /* requests per second; 0: not counted */
	enum hd_key_kind kind;
	const char *key;           /* borrowed; NULL until known */
	size_t key_len;
	int64_t tenant_id;         /* >= 0: the key must be one of this tenant's */
	const char *invalid_key_message; /* the refusal's text for an unknown key */
	bool submitted;            /* the send went to the batcher: admission ran */
};

/* What the batch decided for one send, in the request path's order of checks. */
enum hd_batch_state {
	HD_BS_STORED, HD_BS_LIMITED, HD_BS_BAD_KEY, HD_BS_BACKLOG, HD_BS_DISABLED,
	HD_BS_AMBIGUOUS, HD_BS_NOT_STORED, HD_BS_REPLAY, HD_BS_QUOTA, HD_BS__MAX
};

struct hd_batch_send {
	const struct hd_admission *adm;
	const struct hd_target *t;
	const struct hd_message *m;
	/* filled by the committer */
	enum hd_err err;              /* HD_OK: state and res are the answer */
	enum hd_batch_state state;
	struct hd_send_result res;
	char app_uid[40];
	/* the committer's queue */
	struct hd_batch_send *next;
	/* Posted by the committer once err and the outcome are set: each request thread
	 * waits on its own, so the end of a batch wakes only that batch's threads, and
	 * none of them needs the queue's lock to learn its outcome. */
	sem_t done;
};

struct hd_batch;

/* Starts the committer of a process (cfg is borrowed and must outlive it). */
enum hd_err hd_batch_start(const struct hd_config *cfg, struct hd_batch **out);
/* Lets the committer finish what is queued, then stops and frees it. */
void hd_batch_stop(struct hd_batch *b);
/* Queues s and waits until its batch has run; s->err and the outcome are then set. */
void hd_batch_run(struct hd_batch *b, struct hd_batch_send *s);

#endif
