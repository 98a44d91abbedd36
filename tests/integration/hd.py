"""Helpers for integration tests (tests/integration/test_*.py).

A test is a function `test_<behaviour>(ctx)` in a module test_<area>.py. The runner
(run.py) calls it once per web server, lighttpd and Apache, with a Context for that
server; it fails if it raises (use assert). Context gives:

  ctx.server            "lighttpd" or "apache" (None for an @once test)
  ctx.url(path)         absolute URL on this test's server
  ctx.request(method, path, body=None, headers=None, source=None)
                        -> (status, headers with lowercased names, body bytes).
                        A dict or list body is sent as JSON. The request comes from
                        ctx.source, a loopback address of this test's own, so that
                        the per-address rate limit of one test never touches another.
  ctx.source            that address, e.g. "127.0.3.7"
  ctx.on(base_url)      the same context for another server (e.g. one the test started)
  ctx.db.query(sql)     rows as tuples of str (None for NULL) from database herald
  ctx.fixture(...)      a fresh tenant, app, user "user_123" with one iOS device, and
                        server, integration and client keys: see
                        herald_stack.create_fixture for the fields and options
  ctx.stack             the running herald_stack.Stack (ctx.stack.db.stop() and
                        .start() to take MariaDB away and bring it back; the runner
                        restarts it after a test that left it stopped)
"""

# How long an answer that DESIGN.md §2 wants "fast (well under a second)" may take in
# these tests, measured from the test's side: the programs take a few milliseconds,
# and a loaded 2-core machine can hold a process back for hundreds more. It stays
# under db_query_timeout_s (2 s), so an answer that waited out a statement's bound
# fails.
FAST_ANSWER_S = 1.9


def once(test):
    """Run this test once, not once per web server (it does not depend on one)."""
    test.once = True
    return test


def timeout(seconds):
    """Give this test `seconds` instead of the runner's default time limit."""
    def mark(test):
        test.timeout = seconds
        return test
    return mark
