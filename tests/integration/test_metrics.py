"""Prometheus metrics (docs/metrics.md): GET /metrics through each web server adds up
every FastCGI process of every program (one shared table), the worker writes its own
figures as a textfile-collector file, and the queue gauges agree with SQL."""
import collections
import concurrent.futures
import copy
import datetime
import os
import re
import tempfile
from pathlib import Path

import herald_stack
import test_webpush_send as wps
from delivery import add_device, fresh_fixture, push, set_credentials, wait_states, worker
from hd import timeout

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
PROVIDERS = {"ios": "apns", "android": "fcm", "web": "webpush", "windows": "wns"}
FAMILIES = ("herald_http_request_duration_seconds", "herald_deliveries_total",
            "herald_provider_request_duration_seconds", "herald_provider_token_refreshes_total",
            "herald_db_errors_total", "herald_db_reconnects_total",
            "herald_worker_in_flight_transfers", "herald_database_up", "herald_queue_deliveries",
            "herald_queue_oldest_due_age_seconds")


def unescape(value):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse(text):
    """{(name, frozenset of label pairs): value} and {family: type} of an exposition."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            types[name] = kind
            continue
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = m.group(2) or ""
        pairs = LABEL.findall(labels)
        assert "".join(f'{k}="{v}",' for k, v in pairs).rstrip(",") == labels, line
        key = (m.group(1), frozenset((k, unescape(v)) for k, v in pairs))
        assert key not in samples, f"series twice: {line}"
        samples[key] = float(m.group(3))
    return samples, types


def scrape(ctx):
    status, headers, body = ctx.request("GET", "/metrics")
    assert status == 200, (status, body[:300])
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8", headers
    return parse(body.decode("utf-8"))[0]


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests(samples, program, route, method, status):
    return value(samples, "herald_http_request_duration_seconds_count", program=program,
                 route=route, method=method, status=str(status))


def program_processes(ctx):
    """{pid: program file} of every running FastCGI process of this stack's build."""
    cgi = str(ctx.stack.program_dir / "cgi-bin") + "/"
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv0 = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        if argv0.startswith(cgi) and argv0.endswith(".fcgi"):
            found[int(entry.name)] = os.path.basename(argv0)
    return found


def test_metrics_page_is_prometheus_text_with_help_and_type_for_every_family(ctx):
    status, headers, body = ctx.request("GET", "/metrics")
    assert status == 200, (status, body[:300])
    text = body.decode("utf-8")
    samples, types = parse(text)
    for family in FAMILIES:
        assert f"# HELP {family} " in text, family
        assert family in types, family
    assert types["herald_http_request_duration_seconds"] == "histogram"
    assert types["herald_deliveries_total"] == "counter"
    assert types["herald_queue_deliveries"] == "gauge"
    assert value(samples, "herald_database_up") == 1
    # Histograms: cumulative buckets ending in +Inf, which is the count.
    for (name, labels), count in samples.items():
        if not name.endswith("_count"):
            continue
        base = name[:-len("_count")]
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in samples.items()
                         if k[0] == base + "_bucket" and k[1] - {("le", dict(k[1])["le"])} == labels)
        assert buckets and buckets[-1] == (float("inf"), count), (name, labels, buckets)
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), buckets
        assert (base + "_sum", labels) in samples
    status, _, _ = ctx.request("POST", "/metrics", b"")
    assert status == 405


def test_every_process_of_every_program_counts_into_the_one_shared_file(ctx):
    processes = program_processes(ctx)
    programs = sorted(set(processes.values()))
    assert programs == sorted(os.path.basename(p) for p in herald_stack.PROGRAMS.values()), programs
    metrics_file = str(ctx.stack.metrics_path)
    for pid, program in processes.items():
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue  # ended meanwhile (a test's own server stopping)
        assert metrics_file in maps, f"{program} (pid {pid}) does not map {metrics_file}"
    for program in programs:
        assert sum(1 for p in processes.values() if p == program) >= herald_stack.PROCS_PER_PROGRAM


@timeout(120)
def test_request_counts_equal_what_was_sent_summed_across_processes(ctx):
    sent = [  # (program, route, method, status, path, how many)
        ("herald-ops", "/health", "GET", 200, "/health", 12),
        ("herald-developer", "/developer/push", "POST", 401, "/developer/push", 9),
        ("herald-developer", "unmatched", "GET", 404, "/developer/no/such/thing", 7),
        ("herald-devices", "/devices/{id}", "DELETE", 401, "/devices/0123abcd", 6),
        # A method no endpoint takes is not an endpoint's request either.
        ("herald-legacy", "unmatched", "GET", 405, "/api/v2/push", 5),
    ]
    before = scrape(ctx)

    def one(row):
        program, route, method, status, path, _ = row
        got, _, body = ctx.request(method, path, b"" if method != "GET" else None,
                                   headers={"Content-Type": "application/json"})
        assert got == status, (path, got, body[:200])

    # Concurrently, so that several processes of each program serve them.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        for f in [pool.submit(one, row) for row in sent for _ in range(row[5])]:
            f.result()
    after = scrape(ctx)
    for program, route, method, status, _, count in sent:
        delta = requests(after, program, route, method, status) - \
            requests(before, program, route, method, status)
        assert delta == count, (program, route, method, status, delta, count)
    # The first scrape was counted before its answer left the program.
    assert requests(after, "herald-ops", "/metrics", "GET", 200) - \
        requests(before, "herald-ops", "/metrics", "GET", 200) == 1
    # No raw path becomes a label.
    assert not any(dict(labels).get("route", "/").startswith("/developer/no")
                   for _, labels in after)


def test_queue_gauges_agree_with_sql(ctx):
    f = fresh_fixture(ctx)
    add_device(ctx, f, "ios")
    push(ctx, f, priority=9)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
    push(ctx, f, priority=2, schedule_at=later.strftime("%Y-%m-%dT%H:%M:%SZ"))
    [(age_before,)] = ctx.db.query(
        "SELECT COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(due_at), UTC_TIMESTAMP(6)), 0)"
        " FROM deliveries WHERE state = 'queued' AND due_at <= UTC_TIMESTAMP(6)")
    samples = scrape(ctx)
    [(age_after,)] = ctx.db.query(
        "SELECT COALESCE(TIMESTAMPDIFF(MICROSECOND, MIN(due_at), UTC_TIMESTAMP(6)), 0)"
        " FROM deliveries WHERE state = 'queued' AND due_at <= UTC_TIMESTAMP(6)")
    rows = ctx.db.query("SELECT state, priority, COUNT(*) FROM deliveries"
                        " WHERE state IN ('queued', 'sending') GROUP BY state, priority")
    want = {(state, prio): float(n) for state, prio, n in rows}
    got = {(dict(labels)["state"], dict(labels)["priority"]): v
           for (name, labels), v in samples.items() if name == "herald_queue_deliveries"}
    assert got == want, (got, want)
    assert got.get(("queued", "9"), 0) >= 1 and got.get(("queued", "2"), 0) >= 1
    age = value(samples, "herald_queue_oldest_due_age_seconds")
    assert int(age_before) / 1e6 - 0.001 <= age <= int(age_after) / 1e6 + 0.001, \
        (age_before, age, age_after)
    assert age > 0


def test_inline_deliveries_of_a_web_program_count_in_the_shared_file(ctx):
    f = wps.fixture(ctx)
    targets = wps.clients(ctx, f, 5)
    before = scrape(ctx)
    doc = wps.sent(ctx, f.keys["secret"], wps.note(
        target_registration_ids=[t["reg"] for t in targets]))
    assert doc["status"] == "completed" and doc["successful_sends"] == 5, doc
    after = scrape(ctx)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)
    assert delta("herald_deliveries_total", provider="webpush", outcome="delivered") == 5
    assert delta("herald_provider_request_duration_seconds_count", provider="webpush") == 5
    assert delta("herald_http_request_duration_seconds_count", program="herald-webpush",
                 route="/v2/push/send", method="POST", status="200") == 1


@timeout(120)
def test_worker_file_counts_deliveries_by_provider_and_outcome_as_the_database_recorded(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f)
    for platform in PROVIDERS:
        add_device(ctx, f, platform)
    ctx.mocks.reset()
    push(ctx, f)
    [(mid,)] = ctx.db.query(f"SELECT MAX(id) FROM messages WHERE app_id = {f.app_id}")
    prom = Path(ctx.stack.worker_metrics_path)
    if prom.exists():
        prom.unlink()
    [(started,)] = ctx.db.query("SELECT UTC_TIMESTAMP(6)")
    with worker(ctx):
        states = wait_states(ctx, int(mid))
        herald_stack.wait_for(prom.exists, 30, "the worker's metrics file")
    [(stopped,)] = ctx.db.query("SELECT UTC_TIMESTAMP(6)")
    assert {s[0] for s in states.values()} == {"delivered"}, states
    # Written at the worker's exit: its final figures.
    samples, types = parse(prom.read_text())
    assert types["herald_deliveries_total"] == "counter"
    # What this worker recorded, by the database: the attempts it finished (leftovers
    # of earlier tests that were due count too, in both).
    rows = ctx.db.query(
        "SELECT d.platform, a.outcome, COUNT(*) FROM delivery_attempts a"
        " JOIN deliveries x ON x.id = a.delivery_id JOIN devices d ON d.id = x.device_id"
        f" WHERE a.finished_at BETWEEN '{started}' AND '{stopped}'"
        " GROUP BY d.platform, a.outcome")
    attempts = {}
    for platform, outcome, n in rows:
        attempts.setdefault(PROVIDERS[platform], {})[outcome] = int(n)
    for provider in PROVIDERS.values():
        counted = {dict(labels)["outcome"]: v for (name, labels), v in samples.items()
                   if name == "herald_deliveries_total" and dict(labels)["provider"] == provider}
        assert counted.get("delivered", 0) >= 1, (provider, counted)
        assert counted.get("delivered", 0) == attempts[provider].get("delivered", 0), \
            (provider, counted, attempts[provider])
        assert sum(counted.values()) == sum(attempts[provider].values()), \
            (provider, counted, attempts[provider])
        answered = value(samples, "herald_provider_request_duration_seconds_count",
                         provider=provider)
        assert answered >= counted["delivered"], (provider, answered)
    # A new worker has no tokens cached: it fetched FCM's and WNS's and offered APNs's.
    for provider in ("apns", "fcm", "wns"):
        assert value(samples, "herald_provider_token_refreshes_total", provider=provider,
                     result="ok") >= 1, provider
    assert value(samples, "herald_worker_in_flight_transfers") == 0
    assert ("herald_worker_in_flight_transfers", frozenset()) in samples


@timeout(90)
def test_database_outage_shows_as_down_errors_and_reconnects(ctx):
    before = scrape(ctx)
    ctx.stack.db.stop()
    try:
        samples = scrape(ctx)
        assert value(samples, "herald_database_up") == 0
        assert not any(name == "herald_queue_deliveries" for name, _ in samples)
    finally:
        ctx.stack.db.start()
    herald_stack.wait_for(lambda: value(scrape(ctx), "herald_database_up") == 1, 30,
                          "/metrics to see the database again")
    after = scrape(ctx)
    errors = value(after, "herald_db_errors_total", program="herald-ops", kind="unavailable") - \
        value(before, "herald_db_errors_total", program="herald-ops", kind="unavailable")
    assert errors >= 1, errors

    # A process that had a connection before the outage opens one again when it next
    # serves; which process serves a scrape is the web server's choice.
    def reconnected():
        return value(scrape(ctx), "herald_db_reconnects_total", program="herald-ops") > \
            value(before, "herald_db_reconnects_total", program="herald-ops")
    herald_stack.wait_for(reconnected, 30, "a reconnect to be counted")


@timeout(120)
def test_programs_that_cannot_open_the_metrics_file_serve_and_say_so_once(ctx):
    unusable = ctx.stack.run_dir / "no-such-directory" / "metrics"
    name = f"{ctx.server}-nometrics"
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "herald.conf"
        conf.write_text(re.sub(r"(?m)^metrics_file = .*$", f"metrics_file = {unusable}",
                               ctx.stack.config_path.read_text()))
        other = copy.copy(ctx.stack)  # the same stack, with this configuration
        other.config_path = conf
        start = other.start_lighttpd if ctx.server == "lighttpd" else other.start_apache
        try:
            server = ctx.on(start(name=name))
            logs = ctx.stack.run_dir / name
            programs = {f"herald-{Path(p).stem}" for p in herald_stack.PROGRAMS.values()}

            def said():
                """{(program, pid): how many times} it logged that it has no metrics."""
                found = collections.Counter()
                for log in list(logs.glob("*.out")) + list(logs.glob("*.log")):
                    for m in re.finditer(r"(herald-[a-z]+)\[(\d+)\] warn: metrics file "
                                         + re.escape(str(unusable)) + r" unusable",
                                         log.read_text(errors="replace")):
                        found[m.groups()] += 1
                return found
            herald_stack.wait_for(lambda: {p for p, _ in said()} == programs, 30,
                                  "every program to log that it has no metrics")
            for _ in range(3):
                assert server.request("GET", "/health")[0] == 200
            status, headers, body = server.request("GET", "/metrics")
            assert status == 200, (status, body[:300])
            samples, _ = parse(body.decode("utf-8"))
            assert value(samples, "herald_database_up") == 1
            assert not any(n.startswith("herald_http_request") for n, _ in samples), samples
            assert set(said().values()) == {1}, said()
            assert not unusable.parent.exists()
        finally:
            ctx.stack.stop_server(name)
