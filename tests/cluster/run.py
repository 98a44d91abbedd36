#!/usr/bin/env python3
"""Run herald's cluster tests: herald on a 3-node MariaDB Galera cluster on loopback.

    tests/cluster/run.py [--program-dir DIR] [--run-dir DIR] [-k TEXT ...] [--timeout S]

Starts (see galera.py and tools/herald_stack.py), under the run directory:
  galera/   three Galera nodes, migrated through node 1;
  web1/     lighttpd with the programs, its herald.conf's db_addresses listing
            node 1, then nodes 3 and 2 (herald connects to the first that is up);
  web2/     Apache with the programs (spawn-fcgi): node 2, then 3 and 1;
  workers   worker-a on node 1 (web1's herald.conf), worker-b on node 2 (web2's);
  mocks/    the mock providers (tests/mocks), which every program and worker uses.
Then runs every test_* function of tests/cluster/test_*.py with a Context (below),
one at a time, and stops everything. Prints one line per test, then
"N passed, N failed"; exits 1 if any failed. Tracebacks go to <run dir>/failures.log.
"""
import argparse
import fcntl
import http.client
import importlib.util
import inspect
import json
import signal
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(REPO / "tools"), str(HERE), str(REPO / "tests" / "integration"),
                str(REPO / "tests" / "mocks")]
import herald_stack  # noqa: E402
from control import MockError, MockProviders  # noqa: E402
from galera import Galera  # noqa: E402

# The integration runner's settings and helpers: tests/integration/run.py, loaded by
# path because this file is run.py too.
_spec = importlib.util.spec_from_file_location("integration_run", REPO / "tests" / "integration" / "run.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)
BACKLOG_LIMIT, provider_settings = integration.BACKLOG_LIMIT, integration.provider_settings
source_addresses = integration.source_addresses

# Requests per second from one client address that each web host admits (its own
# node's MEMORY table counts them: docs/scale-out.md). Low, so a test can pass it.
RATE_LIMIT = 20
WORKERS = {"worker-a": "web1", "worker-b": "web2"}
# Over the integration tests' provider settings: a provider timeout well above what
# the Python mock takes to answer on a loaded machine (a request that timed out after
# the mock took it is sent again: a double send that is not the claims'; the claims
# test counts every request the mock received), and a lease well above that timeout.
# A claim whose answer was lost with its node waits out the lease (test_faults.py).
CONFIG = {"max_queue_backlog": BACKLOG_LIMIT, "rate_limit_per_address": RATE_LIMIT,
          "delivery_timeout_s": 15, "worker_lease_s": 30}


class Context:
    """What a cluster test gets.

    ctx.cluster            the Galera cluster (nodes[1..3], kill, restart, wait_synced)
    ctx.db                 node 1 (query, migrate), as ctx.db in the integration tests
    ctx.stacks             {"web1": Stack on node 1 (lighttpd), "web2": on node 2 (Apache)}
    ctx.urls               {"web1": base URL, "web2": base URL}
    ctx.mocks              the mock providers (tests/mocks/control.py)
    ctx.rate_limit         rate_limit_per_address of both web hosts
    ctx.request(web, method, path, body=None, headers=None, source=None)
                           -> (status, headers, body) through web host web; source: a
                           loopback address (default: a fresh one per call)
    ctx.fixture(...)       herald_stack.create_fixture on node 1
    ctx.restart_workers()  stop both workers and start them together again
    """

    def __init__(self, runner, test_id):
        self.runner = runner
        self.cluster = runner.cluster
        self.db = runner.cluster.nodes[1]
        self.stacks = runner.stacks
        self.urls = runner.urls
        self.mocks = runner.mocks
        self.rate_limit = RATE_LIMIT
        self.test_id = test_id

    def source(self):
        return next(self.runner.sources)

    def request(self, web, method, path, body=None, headers=None, source=None, timeout=30):
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        host, port = self.urls[web].rsplit("/", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout,
                                          source_address=(source or self.source(), 0))
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def fixture(self, **options):
        options.setdefault("tenant", f"tenant of {self.test_id}")
        return herald_stack.create_fixture(self.db, **options)

    def restart_workers(self):
        self.runner.stop_workers()
        self.runner.start_workers()


def discover(patterns):
    tests = []
    for path in sorted(HERE.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        funcs = [f for name, f in inspect.getmembers(module, inspect.isfunction)
                 if name.startswith("test_") and f.__module__ == module.__name__]
        tests += sorted(funcs, key=lambda f: f.__code__.co_firstlineno)
    return [f for f in tests if not patterns or any(p in f.__name__ for p in patterns)]


class Runner:
    WORKERS = WORKERS

    def __init__(self, run_dir, program_dir, details, nodes=3, settings=None):
        self.settings = {**CONFIG, **(settings or {})}
        self.run_dir = run_dir
        self.program_dir = program_dir
        self.details = details
        self.cluster = Galera(run_dir / "galera", nodes)
        self.stacks = {}
        self.urls = {}
        self.mocks = None
        self.sources = source_addresses()
        self.passed = self.failed = 0

    # One line per test and the counts, as the integration runner prints them.
    record = integration.Runner.record

    def start(self):
        started = time.monotonic()
        self.cluster.start()
        self.cluster.nodes[1].migrate()
        self.cluster.wait_synced()
        self.mocks = MockProviders.start(str(self.run_dir / "mocks"))
        self.credentials_key = self.run_dir / "credentials.key"
        herald_stack.write_credentials_key(self.credentials_key)
        # The accounts of docs/accounts.md, made once through node 1 (Galera replicates
        # them) and shared by both hosts, as the roles are.
        accounts = self.cluster.nodes[1].create_accounts(self.run_dir)
        self.cluster.wait_synced()
        second = min(2, len(self.cluster.nodes))  # bench/cluster compares with one node
        for web, node, start in (("web1", 1, "start_lighttpd"), ("web2", second, "start_apache")):
            stack = herald_stack.Stack(self.run_dir / web, self.program_dir)
            stack.db = self.cluster.nodes[node]
            stack.run_dir.mkdir(parents=True, exist_ok=True)
            stack.accounts = accounts
            # Its own node first, then the others: a lost node is a reconnect.
            order = [node] + [n for n in self.cluster.nodes if n != node]
            addresses = ", ".join(str(self.cluster.nodes[n].socket) for n in order)
            # One credentials key for every host that delivers, as in a deployment:
            # what one worker seals, the other opens.
            stack.write_config(**{**provider_settings(self.mocks), **self.settings},
                               db_socket=None, db_addresses=addresses,
                               credentials_key_file=self.credentials_key)
            self.stacks[web] = stack
            self.urls[web] = getattr(stack, start)()
        self.start_workers()
        print(f"cluster: {len(self.cluster.nodes)} Galera nodes, web1 (lighttpd, node 1) "
              f"{self.urls['web1']}, web2 (Apache, node {second}) {self.urls['web2']}, "
              f"worker-a (node 1), worker-b (node {second}); started in "
              f"{time.monotonic() - started:.0f}s", flush=True)

    def start_workers(self):
        for name, web in WORKERS.items():
            self.stacks[web].start_worker(name)

    def stop_workers(self):
        for name, web in WORKERS.items():
            self.stacks[web].stop_worker(name)

    def stop(self):
        for stack in self.stacks.values():
            for name in stack.processes.names():
                stack.processes.stop(name)
        if self.mocks:
            self.mocks.stop()
        self.cluster.stop()

    def run(self, func, limit):
        start = time.monotonic()
        error = integration.run_limited(func.__name__, lambda: func(Context(self, func.__name__)),
                                        limit, self.details)
        self.record(f"cluster::{func.__name__}", time.monotonic() - start, error)


def prepare(run_dir):
    """Lock run_dir for this process (held until it exits), stop what an interrupted
    earlier run left there, empty it; return its failures.log, open."""
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    if run_dir not in prepare.locks:
        lock = open(run_dir.parent / f".{run_dir.name}.lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.exit(f"another cluster run is using {run_dir}")
        prepare.locks[run_dir] = lock
    return open_fresh(run_dir)


prepare.locks = {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--program-dir", default=str(REPO), help="build tree with the programs")
    parser.add_argument("--run-dir", default=str(REPO / "run" / "cluster"))
    parser.add_argument("-k", dest="patterns", action="append", default=[])
    parser.add_argument("--timeout", type=float, default=120, help="seconds per test")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_dir = Path(args.run_dir).resolve()
    tests = discover(args.patterns)
    started = time.monotonic()
    with prepare(run_dir) as details:
        runner = Runner(run_dir, Path(args.program_dir).resolve(), details)
        try:
            runner.start()
        except (herald_stack.StackError, MockError, OSError) as e:
            runner.record("cluster::stack", 0, f"could not start the cluster: {e}")
            details.write(traceback.format_exc())
        else:
            for func in tests:
                runner.run(func, getattr(func, "timeout", args.timeout))
        finally:
            runner.stop()
    if runner.failed:
        print(f"details: {run_dir / 'failures.log'} and the logs under {run_dir}")
    print(f"cluster tests took {time.monotonic() - started:.0f}s")
    print(f"{runner.passed} passed, {runner.failed} failed")
    return 1 if runner.failed else 0


def open_fresh(run_dir):
    """Stop what an interrupted earlier run left, empty run_dir, open its failures.log."""
    leftovers = [herald_stack.Processes(run_dir / d) for d in ("galera", "web1", "web2")]
    for processes in leftovers:
        for name in processes.names():
            processes.stop(name)
    herald_stack.remove_dir(run_dir / "galera")
    herald_stack.remove_dir(run_dir)
    run_dir.mkdir(parents=True)
    return open(run_dir / "failures.log", "w")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted")
