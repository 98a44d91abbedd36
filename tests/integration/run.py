#!/usr/bin/env python3
"""Run herald's integration tests against a fresh private stack.

    tests/integration/run.py [--program-dir DIR] [--run-dir DIR] [-k TEXT ...]
                             [--servers lighttpd,apache] [--timeout S]

Starts MariaDB (migrated), lighttpd and Apache with the programs of --program-dir
(the build tree) from tools/herald_stack.py, then runs, one at a time:
  - every test_* function of tests/integration/test_*.py (see hd.py), once per web
    server as "lighttpd::test_x" and "apache::test_x", or once as "test_x" if @once;
  - every tests/sql/test_*.sql script against the database herald, as "sql::<file>"
    (a script fails by raising an error, e.g. with SIGNAL).
A test also fails if a program writes a sanitizer report or dies while it runs.
Prints one line per test, then "N passed, N failed"; exits 1 if any failed.
Tracebacks of failures go to <run dir>/failures.log.
"""
import argparse
import fcntl
import http.client
import importlib.util
import inspect
import json
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(REPO / "tools"), str(HERE), str(REPO / "tests" / "mocks")]
import herald_stack  # noqa: E402  (found through the path set above)
from control import MockError, MockProviders  # noqa: E402

SERVERS = ("lighttpd", "apache")


class TestTimeout(Exception):
    pass


def source_addresses():
    """127.0.1.1, 127.0.1.2, ...: a loopback source address for each test."""
    for x in range(1, 255):
        for y in range(1, 255):
            yield f"127.0.{x}.{y}"


class Context:
    """What a test gets: see hd.py."""

    def __init__(self, stack, server, base_url, source, test_id, mocks=None):
        self.stack = stack
        self.mocks = mocks
        self.server = server
        self.base_url = base_url
        self.source = source
        self.test_id = test_id

    @property
    def db(self):
        return self.stack.db

    def url(self, path):
        return self.base_url + path

    def on(self, base_url):
        """This context, for the server at base_url."""
        return Context(self.stack, self.server, base_url, self.source, self.test_id,
                       self.mocks)

    def request(self, method, path, body=None, headers=None, source=None, timeout=30):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        host, port = self.base_url.rsplit("/", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout,
                                          source_address=(source or self.source, 0))
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            found = {}
            for name, value in resp.getheaders():
                name = name.lower()
                found[name] = f"{found[name]}, {value}" if name in found else value
            return resp.status, found, data
        finally:
            conn.close()

    def fixture(self, **options):
        options.setdefault("tenant", f"tenant of {self.test_id}")
        return herald_stack.create_fixture(self.stack.db, **options)


def failing(error):
    """A test that fails with error."""
    def test(ctx):
        raise error
    return test


def selected(test_id, patterns):
    """Whether test_id contains one of patterns (every test if there are none)."""
    return not patterns or any(p in test_id for p in patterns)


def discover(patterns, servers):
    """[(test id, server or None, function)] in file and definition order; a module
    that cannot be imported becomes a test that fails with the import error."""
    tests = []
    for path in sorted(HERE.glob("test_*.py")):
        try:
            spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except Exception as e:  # report it as a failing test, run the rest
            tests.append((f"{path.stem}::import", None, failing(e)))
            continue
        funcs = [f for name, f in inspect.getmembers(module, inspect.isfunction)
                 if name.startswith("test_") and f.__module__ == module.__name__]
        for func in sorted(funcs, key=lambda f: f.__code__.co_firstlineno):
            targets = [None] if getattr(func, "once", False) else servers
            tests += [(f"{s}::{func.__name__}" if s else func.__name__, s, func) for s in targets]
    return [t for t in tests if selected(t[0], patterns)]


def reason_of(exc):
    """One line: where in a test file it failed, and why."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).name.startswith("test_"):
            where = f"{Path(frame.filename).name}:{frame.lineno}: "
            if isinstance(exc, AssertionError):
                where += f"{frame.line} "
    message = str(exc).strip().splitlines()
    return f"{where}{type(exc).__name__}: {message[-1][:200] if message else ''}"


def run_limited(test_id, call, limit, details):
    """Run call() for at most limit seconds; None if it returned, else the reason it
    failed in one line (its traceback goes to details)."""
    def expire(*_):
        raise TestTimeout(f"still running after {limit}s")
    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        call()
    except Exception as e:  # any exception is this test's failure
        details.write(f"== {test_id}\n{''.join(traceback.format_exception(e))}\n")
        return reason_of(e)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return None


def describe_report(path):
    """A sanitizer report's path and its first error line."""
    lines = path.read_text(errors="replace").splitlines()
    first = next((line for line in lines if "ERROR" in line or "runtime error" in line), "")
    return f"sanitizer report {path}: {first.strip()}"


class Runner:
    def __init__(self, stack, urls, timeout, details):
        self.stack = stack
        self.urls = urls
        self.timeout = timeout
        self.details = details
        self.sources = source_addresses()
        self.passed = self.failed = 0
        self.reported = set(self.sanitizer_reports())
        self.mocks = None
        self.config = None  # herald.conf as written for the run, once it is

    def sanitizer_reports(self):
        return sorted(Path(self.stack.sanitizer_logs).glob("*san.*"))

    def new_sanitizer_reports(self):
        new = [p for p in self.sanitizer_reports() if p not in self.reported]
        self.reported.update(new)
        return new

    def record(self, test_id, seconds, error=None):
        if error is None:
            self.passed += 1
            print(f"PASS {test_id} ({seconds:.2f}s)", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {test_id}: {error}", flush=True)

    def run(self, test_id, call, limit):
        """Run call() with a time limit, then check the stack is still whole."""
        start = time.monotonic()
        error = run_limited(test_id, call, limit, self.details)
        # What broke the stack is the likelier cause of a failure, so it comes first.
        try:
            problems = self.after_test()
        except Exception as e:  # the next test may find the stack broken, and says so
            problems = f"could not repair the stack after the test: {e}"
            self.details.write(f"== {test_id} (repair)\n{''.join(traceback.format_exception(e))}\n")
        self.record(test_id, time.monotonic() - start, "; ".join(filter(None, (problems, error))) or None)

    def after_test(self):
        """Repair what a test left broken; return why that fails the test, if it does."""
        problems = list(map(describe_report, self.new_sanitizer_reports()))
        problems += self.stop_leftovers()
        if self.stack.db.running():
            problems += self.resume_db()
        else:
            problems += self.start_db()
        problems += self.ensure_database()
        problems += self.restore_config() + self.restore_mocks()
        # lighttpd restarts the programs it spawned; spawn-fcgi does not, so for Apache
        # a program that died is noticed here.
        for server in self.urls:
            dead = self.stack.dead_programs(server) if server == "apache" else []
            if not self.stack.processes.pids(server):
                problems.append(f"{server} died; restarted")
            elif dead:
                problems.append(f"programs of {server} died: {', '.join(dead)}; restarted")
            else:
                continue
            self.restart(server)
        return "; ".join(problems) or None

    def stop_leftovers(self):
        """Stop the processes a test started and left running (a worker left behind
        would claim the next tests' deliveries, a second web server keeps its port)."""
        ours = {"mariadb", *self.urls, *(f"{server}-{prog}" for server in self.urls
                                         for prog in herald_stack.PROGRAMS)}
        left = [name for name in self.stack.processes.names()
                if name not in ours and self.stack.processes.pids(name)]
        for name in left:
            self.stack.processes.stop(name)
        return [f"left running: {', '.join(left)}; stopped"] if left else []

    def start_db(self):
        """Start the MariaDB that a test stopped or killed. One that exits instead (its
        files did not survive) is set aside, and ensure_database makes a new one: it
        fails the test after which it broke, not every test after that."""
        db = self.stack.db
        try:
            db.start()
            return []
        except herald_stack.StackError as e:
            if db.running():  # still recovering when the wait ended: its files may be whole
                raise
            self.details.write(f"== MariaDB did not start again\n{e}\n")
        aside = Path(tempfile.mkdtemp(prefix="data-broken-", dir=db.dir))
        db.datadir.rename(aside / "data")
        db.start()
        return [f"MariaDB could not start again ({db.log}); its data directory is kept in {aside}"]

    def ensure_database(self):
        """Make herald's database anew (migrated, with the same accounts) if it is gone,
        and start the servers again: their programs keep what they learnt of the old one
        (ids, provider tokens)."""
        if (self.stack.db.datadir / herald_stack.DB_NAME).is_dir():
            return []
        self.stack.db.migrate()
        self.stack.create_accounts()
        for server in self.urls:
            self.restart(server)
        return ["herald's database was gone; made anew and the servers restarted"]

    def resume_db(self):
        """SIGCONT a MariaDB that a test left stopped (SIGSTOP)."""
        pids = self.stack.processes.pids("mariadb")
        stopped = lambda: any(s in "Tt" for pid in pids for s in herald_stack.thread_states(pid))
        if not stopped():
            return []
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
        herald_stack.wait_for(lambda: not stopped(), 30, "MariaDB to run again")
        return ["MariaDB was left stopped; resumed"]

    def restore_config(self):
        """Put back herald.conf as the runner wrote it, if a test changed it."""
        if self.config is None or self.stack.config_path.read_text() == self.config:
            return []
        self.stack.config_path.write_text(self.config)
        for server in self.urls:  # they read the changed file when they started programs
            self.restart(server)
        return ["herald.conf was left changed; restored and the servers restarted"]

    def restore_mocks(self):
        """Restart the mock providers if a test left them stopped, and forget what
        they were scripted to answer: a script a test did not use up must not answer
        the next test's requests."""
        if self.mocks is None:
            return []
        problems = []
        if self.mocks.process is None or self.mocks.process.poll() is not None:
            self.mocks.restart()
            problems.append("the mock providers were left stopped; restarted")
        self.mocks.reset()
        return problems

    def restart(self, server):
        port = int(self.urls[server].rsplit(":", 1)[1])
        self.stack.stop_server(server)
        start = self.stack.start_lighttpd if server == "lighttpd" else self.stack.start_apache
        start(port=port)

    def run_test(self, test_id, server, func):
        base = self.urls.get(server) or next(iter(self.urls.values()))
        ctx = Context(self.stack, server, base, next(self.sources), test_id, self.mocks)
        self.run(test_id, lambda: func(ctx), getattr(func, "timeout", self.timeout))

    def run_sql(self, path):
        self.run(f"sql::{path.name}", lambda: self.stack.db.query(path.read_text()), self.timeout)


# Due deliveries over which sends answer 503: far above what any other test queues.
BACKLOG_LIMIT = 20000


def provider_settings(mocks):
    """herald.conf keys that point every provider at the mock providers: their
    addresses, their CA, and the push-service hosts of test subscriptions and channels
    routed to them. Short leases and timeouts keep fault tests quick."""
    return {
        "apns_url": mocks.url(), "apns_sandbox_url": mocks.url(), "fcm_url": mocks.url(),
        "fcm_token_url": mocks.url("/fcm/token"), "wns_token_url": mocks.url("/wns/token"),
        "ca_bundle": mocks.certs["ca_cert"],
        "provider_connect_to": ",".join(f"{host}:443:127.0.0.1:{mocks.port}"
                                        for host in ("push.mock.test", "wns.mock.test")),
        "delivery_timeout_s": 5, "worker_lease_s": 10,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--program-dir", default=str(REPO), help="build tree with the programs")
    parser.add_argument("--run-dir", default=str(REPO / "run" / "test"))
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("-k", dest="patterns", action="append", default=[],
                        help="run tests whose id contains this (repeat for several)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per test")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up as on Ctrl-C

    servers = [s for s in args.servers.split(",") if s]
    unknown = set(servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(unknown)} (there are {', '.join(SERVERS)})")
    tests = discover(args.patterns, servers)
    sql_tests = [p for p in sorted((REPO / "tests" / "sql").glob("test_*.sql"))
                 if selected(f"sql::{p.name}", args.patterns)]
    run_dir = Path(args.run_dir).resolve()
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = open(run_dir.parent / f".{run_dir.name}.lock", "w")
    try:  # held until this process exits
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"another test run is using {run_dir}")
    herald_stack.Stack(run_dir, args.program_dir).stop()  # leftovers of an interrupted run
    herald_stack.remove_dir(run_dir)
    run_dir.mkdir(parents=True)
    started = time.monotonic()
    with open(run_dir / "failures.log", "w") as details, \
            herald_stack.Stack(run_dir, args.program_dir, sanitizer_logs=run_dir / "sanitizer") as stack:
        runner = Runner(stack, {}, args.timeout, details)
        try:
            stack.start_db()
            stack.db.migrate()
            stack.create_accounts()
            runner.mocks = MockProviders.start(str(run_dir / "mocks"))
            stack.write_config(max_queue_backlog=BACKLOG_LIMIT, **provider_settings(runner.mocks))
            runner.config = stack.config_path.read_text()
            for server in servers:
                start = stack.start_lighttpd if server == "lighttpd" else stack.start_apache
                runner.urls[server] = start()
        except (herald_stack.StackError, MockError, OSError) as e:
            runner.record("stack", 0, f"could not start the stack: {e}")
        else:
            print(f"stack: MariaDB {stack.db.socket}, " +
                  ", ".join(f"{s} {u}" for s, u in runner.urls.items()), flush=True)
            for test_id, server, func in tests:
                runner.run_test(test_id, server, func)
            for path in sql_tests:
                runner.run_sql(path)
        if runner.mocks:
            runner.mocks.stop()
    # Programs that exit normally at shutdown report leaks only then.
    late = runner.new_sanitizer_reports()
    if late:
        runner.record("sanitizers::shutdown", 0, "; ".join(map(describe_report, late)))
    if runner.failed:
        print(f"details: {run_dir / 'failures.log'} and the logs under {run_dir}")
    print(f"integration tests took {time.monotonic() - started:.0f}s")
    print(f"{runner.passed} passed, {runner.failed} failed")
    return 1 if runner.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the stack has been stopped on the way out
        sys.exit("interrupted")
