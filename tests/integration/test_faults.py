"""Database faults the request path must survive (DESIGN.md §2: never hang, never
half-store). A MariaDB that is stopped outright is covered by the dialects' own tests;
here the database is alive but hung (SIGSTOP), which only a bounded wait can notice."""
import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import herald_stack
from hd import timeout

PUSH = "/developer/push"
QUERY_BOUND_S = 2     # db_query_timeout_s's default, which the test stack keeps
# How long a request may take against a hung database: one query bound. A statement
# that timed out is not sent again (it may have run), and /health pings a new
# connection only when the first ping never reached the server, so nothing waits out
# a second bound (a connect to a hung server would add db_timeout_s). The 1.5 s above
# the bound is for a loaded 2-core machine's scheduling.
HUNG_ANSWER_BOUND_S = QUERY_BOUND_S + 1.5


def every_process_answers(send, status):
    """Whether a burst of requests, enough to reach each process of a program, all
    answer status: a process that saw the database hang backs off for a moment
    after a connect that waited, and the next test must find every one serving."""
    n = 2 * herald_stack.PROCS_PER_PROGRAM
    with ThreadPoolExecutor(n) as pool:
        return all(s == status for s in pool.map(lambda _: send()[0], range(n)))


def push(ctx, f, **extra):
    body = {"app_user_id": f.user, "title": "Hello", "body": "World", **extra}
    return ctx.request("POST", PUSH, body, headers={"X-Server-Key": f.server_key})


def deliveries_per_message(ctx, f):
    rows = ctx.db.query("SELECT m.id, COUNT(d.id) FROM messages m LEFT JOIN deliveries d"
                        f" ON d.message_id = m.id WHERE m.app_id = {f.app_id} GROUP BY m.id")
    return [int(n) for _, n in rows]


class Frozen:
    """MariaDB stopped with SIGSTOP (alive, its sockets open, answering nothing) for
    the duration of a with-block, and resumed after it whatever happens.

    The threads of a process stop one by one after the signal, and one that has not
    stopped yet can still answer: the block starts only once every thread is stopped
    (or exiting), and it ends only once none is stopped any more."""

    def __init__(self, stack):
        self.pids = stack.db.processes.pids("mariadb")

    def states(self):
        return {s for pid in self.pids for s in herald_stack.thread_states(pid)}

    def __enter__(self):
        assert self.pids, "no MariaDB process to freeze"
        try:
            for pid in self.pids:
                os.kill(pid, signal.SIGSTOP)
            herald_stack.wait_for(lambda: self.states() <= set("TtZX"), 30,
                                  "every thread of MariaDB to stop")
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc):
        for pid in self.pids:
            os.kill(pid, signal.SIGCONT)
        herald_stack.wait_for(lambda: not self.states() & set("Tt"), 30,
                              "every thread of MariaDB to run again")


@timeout(90)
def test_hung_database_answers_503_within_the_query_bound_and_the_program_recovers(ctx):
    f = ctx.fixture()
    assert push(ctx, f)[0] == 201      # the program now holds an open connection
    with Frozen(ctx.stack):
        started = time.monotonic()
        status, headers, body = push(ctx, f)
        waited = time.monotonic() - started
    assert status == 503, (status, body)
    assert headers.get("retry-after") == "1", headers
    assert json.loads(body)["error"]["code"] == "unavailable", body
    assert waited < HUNG_ANSWER_BOUND_S, f"answered after {waited:.1f} s"
    # Resumed, the database serves the same programs again: no restart of anything.
    herald_stack.wait_for(lambda: every_process_answers(lambda: push(ctx, f), 201), 30,
                          "pushes to succeed again")
    # The 503'd message may have been committed by the server after the client gave
    # up (a client timeout cannot know), but never half: every message stored has its
    # delivery, and a retry with a dedupe key would have replayed it.
    assert all(n == 1 for n in deliveries_per_message(ctx, f)), deliveries_per_message(ctx, f)


@timeout(90)
def test_health_reports_a_hung_database_as_503_within_the_query_bound(ctx):
    assert ctx.request("GET", "/health")[0] == 200
    with Frozen(ctx.stack):
        started = time.monotonic()
        status, headers, body = ctx.request("GET", "/health")
        waited = time.monotonic() - started
    assert status == 503 and json.loads(body)["database"] == "unreachable", (status, body)
    assert waited < HUNG_ANSWER_BOUND_S, f"answered after {waited:.1f} s"
    herald_stack.wait_for(lambda: every_process_answers(lambda: ctx.request("GET", "/health"), 200),
                          30, "/health to answer 200 again")


@timeout(90)
def test_full_rate_limit_table_admits_requests_until_housekeeping_empties_it(ctx):
    # The MEMORY table holds max_heap_table_size worth of addresses; filled up (say by
    # a flood from many IPv6 /64s) it must not lock every client out, and the
    # programs' housekeeping must empty it again by itself.
    f = ctx.fixture()
    try:  # the rows go whatever happens: a full table would count no later request
        try:
            ctx.db.query("INSERT IGNORE INTO rate_limit (addr, sec, hits)"
                         " SELECT UNHEX(LPAD(HEX(seq), 32, '0')), UNIX_TIMESTAMP() - 100, 1"
                         " FROM seq_1_to_3000000")
            raise AssertionError("the rate_limit table never filled up")
        except herald_stack.StackError as full:
            assert "is full" in str(full), full
        status, _, body = push(ctx, f)
        assert status == 201, (status, body)
        stale = lambda: int(ctx.db.query(
            "SELECT COUNT(*) FROM rate_limit WHERE sec < UNIX_TIMESTAMP() - 50")[0][0])
        herald_stack.wait_for(lambda: push(ctx, f)[0] == 201 and stale() == 0, 30,
                              "housekeeping to delete the stale rate-limit rows")
    finally:
        ctx.db.query("DELETE FROM rate_limit WHERE sec < UNIX_TIMESTAMP() - 50")
