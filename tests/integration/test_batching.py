"""Batched sends (issue 12, lib/send/hd_batch.h): the request threads of a FastCGI process
hand their sends to one committer, which runs whatever has queued up as one database
round trip. Every request still gets its own answer, the database still decides
dedupe and quotas, and a 2xx still means on disk."""
import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import threading
import time

import herald_stack
from hd import once, timeout

PUSH = "/developer/push"


def push_body(user, **extra):
    return {"app_user_id": user, "title": "Hello", "body": "World", **extra}


def messages_of(ctx, f):
    return ctx.db.query(f"SELECT id, dedupe_key FROM messages WHERE app_id = {f.app_id}")


def deliveries_per_message(ctx, f):
    rows = ctx.db.query("SELECT m.dedupe_key, COUNT(d.id) FROM messages m LEFT JOIN deliveries d"
                        f" ON d.message_id = m.id WHERE m.app_id = {f.app_id} GROUP BY m.id")
    return {key: int(n) for key, n in rows}


def discard_queue(ctx, *fixtures):
    """Deletes what the fixtures' apps queued: thousands of queued deliveries would
    hold up the worker of a later test and count against the backlog limit."""
    for f in fixtures:
        ctx.db.query(f"DELETE FROM deliveries WHERE app_id = {f.app_id}")


def concurrently(calls):
    """Runs the callables at once, one thread each; returns their results in order."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i):
        start.wait()
        results[i] = calls[i]()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@contextlib.contextmanager
def own_lighttpd(ctx, name, procs, **settings):
    """A lighttpd of this test's own on the shared database, with procs FastCGI
    processes per program and herald.conf keys overridden by settings (None leaves a
    key out); yields its base URL and the file its programs log to."""
    config = ctx.stack.run_dir / f"{name}.conf"
    lines = [line for line in ctx.stack.config_path.read_text().splitlines()
             if line.split("=", 1)[0].strip() not in settings]
    lines += [f"{k} = {v}" for k, v in settings.items() if v is not None]
    config.write_text("\n".join(lines) + "\n")
    saved = ctx.stack.config_path, herald_stack.PROCS_PER_PROGRAM
    try:
        ctx.stack.config_path, herald_stack.PROCS_PER_PROGRAM = config, procs
        url = ctx.stack.start_lighttpd(name=name)
    finally:
        ctx.stack.config_path, herald_stack.PROCS_PER_PROGRAM = saved
    try:
        yield url, ctx.stack.run_dir / name / "lighttpd.out"
    finally:
        ctx.stack.stop_server(name)


class RateLimitTableLocked:
    """LOCK TABLES rate_limit WRITE held by a mariadb client of its own for the
    duration of a with-block: a batch waits at its rate-limit upsert meanwhile."""

    def __init__(self, ctx):
        self.db = ctx.stack.db

    def __enter__(self):
        self.client = subprocess.Popen(
            ["mariadb", "--no-defaults", "--protocol=socket", f"--socket={self.db.socket}",
             f"--user={herald_stack.DB_USER}", "--unbuffered", "--batch",
             "--skip-column-names", herald_stack.DB_NAME],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.client.stdin.write("LOCK TABLES rate_limit WRITE; SELECT 'locked';\n")
        self.client.stdin.flush()
        assert self.client.stdout.readline().strip() == "locked"
        return self

    def __exit__(self, *exc):
        self.client.stdin.write("UNLOCK TABLES;\n")
        self.client.stdin.close()
        self.client.wait(timeout=30)


def log_lines(log, start):
    return log.read_text(errors="replace")[start:].splitlines()


def as_one_batch(ctx, name, plug, mix):
    """Sends mix, a list of (label, fixture or None for an unknown key, body), as one
    batch: through a lighttpd of its own with one developer process, whose committer
    is held at its first batch (a send of the fixture plug) until every send of the
    mix is queued behind it. Returns the plug's answer and the mix's, in order."""
    with own_lighttpd(ctx, name, 1, log_level="debug", db_query_timeout_s=20,
                      send_threads=len(mix) + 4) as (url, log):
        own = ctx.on(url)
        for _ in range(3):
            start = log.stat().st_size if log.exists() else 0
            results = {}
            with RateLimitTableLocked(ctx):
                held = threading.Thread(target=lambda: results.update(plug=own.request(
                    "POST", PUSH, push_body(plug.user), headers={"X-Server-Key": plug.server_key})))
                held.start()
                herald_stack.wait_for(lambda: ctx.db.query(
                    "SELECT COUNT(*) FROM information_schema.processlist"
                    " WHERE info LIKE 'CALL hd_admit%' OR info LIKE 'CALL hd_send_batch%'"
                    " OR info LIKE 'INSERT INTO rate_limit%'")[0][0] != "0", 30,
                    "the plug's batch to wait for the table")
                fired = threading.Thread(target=lambda: results.update(mix=concurrently([
                    (lambda fx=fx, body=body: own.request(
                        "POST", PUSH, body,
                        headers={"X-Server-Key": fx.server_key if fx else "hd_srv_" + "0" * 48}))
                    for _, fx, body in mix])))
                fired.start()
                herald_stack.wait_for(lambda: any(f"send queued ({len(mix)} waiting)" in l
                                                  for l in log_lines(log, start)), 30,
                                      "the mix to be queued behind the plug")
            held.join()
            fired.join()
            if any(f"send batch of {len(mix)}: " in l for l in log_lines(log, start)):
                return results["plug"], results["mix"]
        raise AssertionError("the mix never ran as one batch:\n" +
                             "\n".join(l for l in log_lines(log, 0) if "batch" in l))


@timeout(120)
def test_50_concurrent_requests_with_one_dedupe_key_store_one_message_and_give_one_answer(ctx):
    f = ctx.fixture()
    answers = concurrently([
        lambda: ctx.request("POST", PUSH, push_body(f.user, dedupe_key="once"),
                            headers={"X-Server-Key": f.server_key})] * 50)
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * 49 + [201], statuses
    bodies = {json.loads(body)["push_count"] for _, _, body in answers}
    assert bodies == {1}, bodies
    assert len({body for _, _, body in answers}) == 1, {body for _, _, body in answers}
    assert deliveries_per_message(ctx, f) == {"once": 1}, deliveries_per_message(ctx, f)


@once
@timeout(180)
def test_one_batch_mixing_sends_gives_each_request_its_own_answer(ctx):
    a = ctx.fixture(app="valid")
    b = ctx.fixture(app="quota")
    c = ctx.fixture(app="revoked")
    d = ctx.fixture(app="disabled")
    e = ctx.fixture(app="quota dup", devices=2)
    ctx.db.query(f"CALL hd_set_quota({b.app_id}, 1, NULL)")
    ctx.db.query(f"CALL hd_set_quota({e.app_id}, 1, NULL)")
    ctx.db.query(f"CALL hd_revoke_key({c.key_ids['server']})")
    ctx.db.query(f"CALL hd_set_push_enabled({d.app_id}, 0)")
    mix = [
        ("stored", a, push_body(a.user)),
        ("stored", a, push_body(a.user, dedupe_key="fresh")),
        ("no user", a, push_body("nobody")),
        ("quota", b, push_body(b.user)),
        ("quota", b, push_body(b.user)),
        ("revoked", c, push_body(c.user)),
        ("disabled", d, push_body(d.user)),
        ("dup", a, push_body(a.user, dedupe_key="dup")),
        ("dup", a, push_body(a.user, dedupe_key="dup")),
        ("dup", a, push_body(a.user, dedupe_key="dup")),
        # The first of a key needs two deliveries, over its app's quota of one: the
        # second, which follows it, is refused too, and no record of the key stays.
        ("quota dup", e, push_body(e.user, dedupe_key="qdup")),
        ("quota dup", e, push_body(e.user, dedupe_key="qdup")),
        ("unknown key", None, push_body(a.user)),
    ]
    plug, answers = as_one_batch(ctx, "lighttpd-batch-mix", a, mix)
    assert plug[0] == 201, plug
    got = {}
    for (kind, _, _), (status, headers, body) in zip(mix, answers):
        got.setdefault(kind, []).append((status, json.loads(body), headers))
    assert [s for s, _, _ in got["stored"]] == [201, 201], got["stored"]
    assert [(s, b["error"]["code"]) for s, b, _ in got["no user"]] == [(404, "no_devices")], got
    quota = sorted((s, b.get("error", {}).get("code")) for s, b, _ in got["quota"])
    assert quota == [(201, None), (429, "quota_exceeded")], got["quota"]
    assert all(h.get("retry-after") for s, _, h in got["quota"] if s == 429), got["quota"]
    assert [(s, b["error"]["code"]) for s, b, _ in got["revoked"]] == [(401, "invalid_key")], got
    assert [(s, b["error"]["code"]) for s, b, _ in got["unknown key"]] == [(401, "invalid_key")]
    assert [(s, b["error"]["code"]) for s, b, _ in got["disabled"]] == [(403, "push_disabled")]
    assert sorted(s for s, _, _ in got["dup"]) == [200, 200, 201], got["dup"]
    assert len({json.dumps(b, sort_keys=True) for _, b, _ in got["dup"]}) == 1, got["dup"]
    assert [(s, b.get("error", {}).get("code")) for s, b, _ in got["quota dup"]] == \
        [(429, "quota_exceeded")] * 2, got["quota dup"]
    assert all(h.get("retry-after") for _, _, h in got["quota dup"]), got["quota dup"]
    # What is on disk: the plug, two sends and one of the duplicates for app a; one
    # send for app b, charged to its quota; nothing for the others.
    keys = sorted(str(key) for _, key in messages_of(ctx, a))
    assert keys == ["None", "None", "dup", "fresh"], keys
    assert ctx.db.query("SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id"
                        f" WHERE m.app_id = {a.app_id}") == [("4",)]
    assert len(messages_of(ctx, b)) == 1 and len(messages_of(ctx, c)) == 0
    assert len(messages_of(ctx, d)) == 0 and len(messages_of(ctx, e)) == 0
    assert ctx.db.query(f"SELECT COUNT(*) FROM dedupe WHERE app_id = {e.app_id}") == [("0",)]
    assert ctx.db.query(f"SELECT used FROM quota_usage WHERE app_id = {b.app_id}"
                        " AND period = 'hour'") == [("1",)]
    discard_queue(ctx, a, b)


@once
@timeout(180)
def test_a_follower_naming_no_user_is_refused_with_the_first_of_its_key_by_the_quota(ctx):
    # The batch's only shared key is between an item with devices and one without:
    # the follower still follows (migration 0018 picks leaders only when needed).
    e = ctx.fixture(app="quota follower", devices=2)
    plug = ctx.fixture(app="plug")
    ctx.db.query(f"CALL hd_set_quota({e.app_id}, 1, NULL)")
    mix = [("first", e, push_body(e.user, dedupe_key="k")),
           ("follower", e, push_body("nobody", dedupe_key="k"))]
    _, answers = as_one_batch(ctx, "lighttpd-batch-follower", plug, mix)
    assert [(s, json.loads(b).get("error", {}).get("code")) for s, _, b in answers] == \
        [(429, "quota_exceeded")] * 2, answers
    assert all(h.get("retry-after") for _, h, _ in answers), answers
    assert messages_of(ctx, e) == []
    assert ctx.db.query(f"SELECT COUNT(*) FROM dedupe WHERE app_id = {e.app_id}") == [("0",)]
    discard_queue(ctx, plug)


@once
@timeout(180)
def test_killing_mariadb_in_the_middle_of_batches_loses_no_accepted_send(ctx):
    f = ctx.fixture()
    records = []          # (dedupe key, sent at, status)
    stop = threading.Event()
    lock = threading.Lock()

    def client(n):
        i = 0
        while not stop.is_set():
            key = f"kill-{n}-{i}"
            i += 1
            sent = time.monotonic()
            try:
                # Addresses of this test's own, so that the rate limit stays out of it.
                status, _, _ = ctx.request("POST", PUSH, push_body(f.user, dedupe_key=key),
                                           headers={"X-Server-Key": f.server_key}, timeout=20,
                                           source=f"127.250.{n}.{i % 8 + 1}")
            except OSError:
                status = None
            with lock:
                records.append((key, sent, status))

    def count(pred):
        with lock:
            return sum(1 for r in records if pred(r))
    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    try:
        herald_stack.wait_for(lambda: count(lambda r: r[2] == 201) >= 100, 60,
                              "100 accepted sends before the kill")
        signalled_at = time.monotonic()
        for pid in ctx.stack.db.processes.pids("mariadb"):
            os.kill(pid, signal.SIGKILL)
        # The server dies some time after the signal (longer on a loaded machine):
        # what was sent before it was gone may still have been served.
        herald_stack.wait_for(lambda: not ctx.stack.db.running(), 30, "MariaDB to be gone")
        killed_at = time.monotonic()
        herald_stack.wait_for(lambda: count(lambda r: r[1] > killed_at and r[2] == 503) >= 12,
                              60, "sends refused after the kill")
    finally:
        stop.set()
        for t in threads:
            t.join()
    ctx.stack.db.start()
    statuses = {r[2] for r in records}
    assert statuses <= {201, 503}, statuses
    stored = deliveries_per_message(ctx, f)
    accepted = [key for key, _, status in records if status == 201]
    refused_after = [key for key, sent, status in records if status == 503 and sent > killed_at]
    refused_before = [key for key, sent, status in records
                      if status == 503 and sent <= signalled_at]
    refused_dying = [key for key, sent, status in records
                     if status == 503 and signalled_at < sent <= killed_at]
    assert all(stored.get(key) == 1 for key in accepted), \
        [key for key in accepted if stored.get(key) != 1]
    assert all(n == 1 for n in stored.values()), stored
    assert not [key for key in refused_after if key in stored], refused_after
    # A send in flight when the server died may have committed without its answer
    # getting back (the commit was in the log, the answer not yet sent). Of the sends
    # made before the signal, only those in flight at it, one per client, can be
    # stored and refused. Between the signal and the server's end (its threads die
    # as they next run, which takes longer on a loaded machine) any send may have
    # been served by a thread still alive and then refused by one already gone.
    ambiguous = [key for key in refused_before if key in stored]
    dying = [key for key in refused_dying if key in stored]
    print(f"{len(accepted)} accepted, {len(refused_before)} refused in flight at the signal"
          f" ({len(ambiguous)} of them stored), {len(refused_dying)} while it died"
          f" ({len(dying)} stored), {len(refused_after)} refused after it")
    assert len(ambiguous) <= 12, ambiguous
    assert all(key.startswith("kill-") for key in stored)
    herald_stack.wait_for(lambda: ctx.request(
        "POST", PUSH, push_body(f.user), headers={"X-Server-Key": f.server_key})[0] == 201,
        30, "a send to succeed after MariaDB came back")
    discard_queue(ctx, f)


def fcgi_processes(lighttpd_pid, program):
    """Pids of program's FastCGI processes spawned by the lighttpd with that pid."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
        except OSError:
            continue
        if int(stat[1]) == lighttpd_pid and program.encode() in cmd:
            found.append(int(pid))
    return sorted(found)


def fds_at_most(pid, limit):
    return rss_and_fds(pid)[1] <= limit


def rss_and_fds(pid):
    status = open(f"/proc/{pid}/status").read()
    rss_kib = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return rss_kib, len(os.listdir(f"/proc/{pid}/fd"))


def send_many(url, key, user, start, count, clients):
    """count pushes over keep-alive connections, clients at a time; every tenth repeats
    a dedupe key and every twentieth names an unknown user. Returns statuses seen."""
    host, port = url.rsplit("/", 1)[1].split(":")
    seen = {}
    lock = threading.Lock()

    def client(n):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine = {}
        try:
            for i in range(start + n, start + count, clients):
                dedupe = f"soak-{i - i % 10 if i % 10 == 1 else i}"
                body = json.dumps(push_body("nobody" if i % 20 == 7 else user,
                                            dedupe_key=dedupe)).encode()
                conn.request("POST", PUSH, body, {"Content-Type": "application/json",
                                                  "X-Server-Key": key})
                resp = conn.getresponse()
                resp.read()
                mine[resp.status] = mine.get(resp.status, 0) + 1
        finally:
            conn.close()
            with lock:
                for k, v in mine.items():
                    seen[k] = seen.get(k, 0) + v
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def runs_with_asan(pid):
    """Whether pid runs with AddressSanitizer. Its quarantine keeps freed memory from
    reuse (to catch use after free) up to hundreds of MiB, so RSS grows by design;
    there LeakSanitizer, which checks every program when it exits (a report fails
    the run), proves that nothing leaks, and the build without sanitizers proves
    RSS flat."""
    with open(f"/proc/{pid}/maps") as maps:
        return any("libasan" in line for line in maps)


def settled_fds(pid):
    """The process's open fds once no request is closing: the client has its answer a
    moment before the program closes that request's FastCGI connection, so a count
    taken right after the last answer can hold one more."""
    return herald_stack.wait_for(lambda: fds_unchanged(pid), 10, f"fds of {pid} to settle")


def fds_unchanged(pid):
    first = rss_and_fds(pid)[1]
    time.sleep(0.2)
    return first if rss_and_fds(pid)[1] == first else None


@once
@timeout(240)
def test_soak_of_20000_sends_keeps_rss_and_open_fds_of_each_process_flat(ctx):
    f = ctx.fixture()
    name = "lighttpd-batch-soak"
    with own_lighttpd(ctx, name, 2, rate_limit_per_address=1000000) as (url, _):
        lighttpd = ctx.stack.processes.pids(name)[0]
        warm = send_many(url, f.server_key, f.user, 0, 2000, 16)
        pids = fcgi_processes(lighttpd, "developer.fcgi")
        assert len(pids) == 2, pids
        before = {pid: (rss_and_fds(pid)[0], settled_fds(pid)) for pid in pids}
        rest = send_many(url, f.server_key, f.user, 2000, 18000, 16)
        assert fcgi_processes(lighttpd, "developer.fcgi") == pids, "a process restarted"
        # A leak keeps the count up; a connection still closing goes within moments.
        after = {pid: (rss_and_fds(pid)[0],
                       herald_stack.wait_for(lambda: fds_at_most(pid, before[pid][1]), 10,
                                             "open fds back to the count before")
                       and rss_and_fds(pid)[1]) for pid in pids}
        asan = {pid: runs_with_asan(pid) for pid in pids}
    discard_queue(ctx, f)
    statuses = {k: warm.get(k, 0) + rest.get(k, 0) for k in set(warm) | set(rest)}
    assert set(statuses) == {200, 201, 404} and sum(statuses.values()) == 20000, statuses
    for pid in pids:
        (rss0, fds0), (rss1, fds1) = before[pid], after[pid]
        print(f"developer.fcgi {pid}: RSS {rss0} -> {rss1} KiB, fds {fds0} -> {fds1}")
        # A leak grows the count; one fewer is a connection the process closed.
        assert fds1 <= fds0, (pid, fds0, fds1)
        if not asan[pid]:
            assert rss1 - rss0 < 2048, (pid, rss0, rss1)
