"""A MariaDB that restarts (an upgrade, a crash, a failover) costs no request once it
is back. Every FastCGI process holds a persistent connection, which dies with the old
server; a process must find that out before it sends a request's first statement and
connect again, instead of answering that request 503 (issue 7). While the database is
down, requests answer 503 and store nothing; every 2xx is stored."""
import json
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import herald_stack
from hd import timeout

XSI = "http://www.w3.org/2001/XMLSchema-instance"


def developer_push(ctx, f):
    return ctx.request("POST", "/developer/push",
                       {"app_user_id": f.user, "title": "Hi", "body": "Hello"},
                       headers={"X-Server-Key": f.server_key})


def legacy_push(ctx, f):
    body = (f'<PushRequest xmlns:i="{XSI}"><UserExternalId>{f.user}</UserExternalId>'
            f"<Title>Hi</Title><Body>Hello</Body><CompanyId>{f.company_id}</CompanyId>"
            f"<IntegrationKey>{f.integration_key}</IntegrationKey></PushRequest>")
    return ctx.request("POST", "/api/v2/push?format=json", body,
                       headers={"Content-Type": "application/xml"})


def register_device(ctx, f):
    return ctx.request("POST", "/devices",
                       {"platform": "ios", "app_user_id": f.user, "token": secrets.token_hex(32)},
                       headers={"X-Client-Key": f.client_key})


def health(ctx, f):
    return ctx.request("GET", "/health")


# What each program answers when it serves the request.
PROGRAMS = {"developer": (developer_push, {201}), "legacy": (legacy_push, {200}),
            "devices": (register_device, {201}), "ops": (health, {200})}


def burst(ctx, f, send, n):
    """n requests at once, so that every process of the program gets some: the
    statuses, with the body of any answer that is not a 2xx."""
    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(lambda _: send(ctx, f), range(n)))
    return [(s, b if s >= 300 else b"") for s, _, b in answers]


def herald_connections(ctx):
    """Connections the programs hold to the database herald, by their account (the
    test's own sessions are root's)."""
    return int(ctx.db.query("SELECT COUNT(*) FROM information_schema.processlist"
                            " WHERE db = 'herald' AND USER = 'herald-web'")[0][0])


@timeout(180)
def test_every_program_serves_every_request_once_a_restarted_database_answers(ctx):
    f = ctx.fixture()
    n = 2 * herald_stack.PROCS_PER_PROGRAM
    for name, (send, ok) in PROGRAMS.items():
        answers = burst(ctx, f, send, n)
        assert all(s in ok for s, _ in answers), (name, answers)
    # Each process of each program now holds a connection that the restart will kill.
    held = herald_connections(ctx)
    assert held >= len(PROGRAMS), f"only {held} program connections before the restart"
    ctx.stack.db.stop()
    try:
        # Requests while it is away fail fast, and some processes try to connect.
        for name, (send, ok) in PROGRAMS.items():
            answers = burst(ctx, f, send, n)
            assert all(s == 503 for s, _ in answers), (name, answers)
    finally:
        ctx.stack.db.start()   # returns once the server answers queries again
    for name, (send, ok) in PROGRAMS.items():
        for _ in range(2):
            answers = burst(ctx, f, send, n)
            assert all(s in ok for s, _ in answers), (name, answers)


class Stream:
    """Sends developer pushes one after another from a thread, each with a dedupe key
    of its own, and records (key, sent, answered, status) for every one."""

    def __init__(self, ctx, f):
        self.ctx, self.f = ctx, f
        self.results = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        n = 0
        while not self.stop.is_set():
            key = f"stream-{n}"
            n += 1
            sent = time.monotonic()
            try:
                status = self.ctx.request(
                    "POST", "/developer/push",
                    {"app_user_id": self.f.user, "title": "Hi", "body": "Hello", "dedupe_key": key},
                    headers={"X-Server-Key": self.f.server_key}, timeout=15)[0]
            except OSError as e:
                status = repr(e)
            with self.lock:
                self.results.append((key, sent, time.monotonic(), status))
            # Under the per-address limit (100 requests/s) at any speed of machine.
            time.sleep(0.02)

    def count(self, check=lambda r: True):
        with self.lock:
            return sum(1 for r in self.results if check(r))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


@timeout(180)
def test_restart_during_a_stream_of_sends_answers_503_only_while_down_and_stores_every_2xx(ctx):
    f = ctx.fixture()
    with Stream(ctx, f) as stream:
        herald_stack.wait_for(lambda: stream.count() >= 20, 60, "20 sends before the restart")
        went_down = time.monotonic()
        ctx.stack.db.stop()
        herald_stack.wait_for(lambda: stream.count(lambda r: r[3] == 503) >= 3, 60,
                              "sends answered 503 while the database is down")
        ctx.stack.db.start()
        back = time.monotonic()
        herald_stack.wait_for(lambda: stream.count(lambda r: r[1] > back) >= 20, 60,
                              "20 sends after the database is back")
    results = list(stream.results)
    unexpected = [r for r in results if r[3] not in (201, 503)]
    assert not unexpected, unexpected[:5]
    # A 503 only for a request that was under way while the server was away.
    late = [r for r in results if r[3] == 503 and not (r[2] >= went_down and r[1] <= back)]
    assert not late, f"503 outside the outage: {late[:5]} (down {went_down:.3f}, back {back:.3f})"
    accepted = {r[0] for r in results if r[3] == 201}
    stored = {k for (k,) in ctx.db.query(f"SELECT dedupe_key FROM messages WHERE app_id = {f.app_id}")}
    assert accepted <= stored, f"answered 201 but not stored: {sorted(accepted - stored)[:5]}"
    # A 503'd request may have committed before the server went away (the client
    # cannot know; a retry with its dedupe key replays it), but nothing is half-stored.
    half = ctx.db.query("SELECT m.id FROM messages m LEFT JOIN deliveries d ON d.message_id = m.id"
                        f" WHERE m.app_id = {f.app_id} AND d.id IS NULL")
    assert not half, f"messages without their delivery: {half[:5]}"
    assert json.loads(developer_push(ctx, f)[2])["push_count"] == 1
