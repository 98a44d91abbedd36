"""The logs an operator reads (issue 13): every line timestamped (RFC 3339 UTC with
milliseconds), one line per request naming a request id that the answer carries in
X-Request-Id, JSON lines with log_format = json, and a worker that logs its status
when it changed rather than every few seconds."""
import json
import re
import time

import herald_stack
from delivery import add_device, fresh_fixture, push, set_credentials, wait_states, worker
from hd import once, timeout
from test_batching import own_lighttpd

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")
REQUEST_ID = re.compile(r"^[0-9a-f]{12}$")


def program_logs(ctx, server):
    """The files the programs behind server write their log to: lighttpd hands them
    its standard error (lighttpd.out), spawn-fcgi's programs write <program>.log."""
    sdir = ctx.stack.run_dir / server
    if server == "lighttpd":
        return [sdir / "lighttpd.out"]
    return [sdir / f"{prog}.log" for prog in herald_stack.PROGRAMS]


def wait_line(files, needle, timeout_s=30):
    """The first line of files holding needle, once one does."""
    deadline = time.monotonic() + timeout_s
    while True:
        for path in files:
            if path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    if needle in line:
                        return line
        assert time.monotonic() < deadline, f"no line with {needle!r} in {files}"
        time.sleep(0.1)


def last_message(ctx, f):
    [(mid,)] = ctx.db.query(f"SELECT MAX(id) FROM messages WHERE app_id = {f.app_id}")
    return int(mid)


def answer_id(headers):
    rid = headers.get("x-request-id")
    assert rid and REQUEST_ID.match(rid), headers
    return rid


def test_each_answer_carries_a_request_id_that_one_log_line_of_its_program_names(ctx):
    f = ctx.fixture()
    asked = [
        ("GET", "/health", None, {}, "GET /health -> 200 in "),
        ("POST", "/developer/push", {"app_user_id": f.user, "title": "t", "body": "b"},
         {"X-Server-Key": f.server_key}, "POST /developer/push -> 201 in "),
        ("POST", "/developer/push", {"app_user_id": f.user, "title": "t", "body": "b"},
         {"X-Server-Key": "hd_srv_unknown"}, "POST /developer/push -> 401 in "),
        ("GET", "/developer/no-such-thing", None, {}, "GET - -> 404 in "),
    ]
    ids = []
    for method, path, body, headers, expected in asked:
        status, answer_headers, data = ctx.request(method, path, body, headers)
        rid = answer_id(answer_headers)
        ids.append(rid)
        line = wait_line(program_logs(ctx, ctx.server), f" req={rid}: {expected}")
        assert STAMP.match(line), line
        # One line per request: the request line is the only info line of a request
        # that went well.
        lines = [l for p in program_logs(ctx, ctx.server)
                 for l in p.read_text(errors="replace").splitlines() if f"req={rid}" in l]
        assert sum(" -> " in l and " in " in l for l in lines) == 1, lines
    assert len(set(ids)) == len(ids), ids


def test_every_line_the_programs_and_the_worker_write_starts_with_a_timestamp(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    add_device(ctx, f, "ios")
    with worker(ctx, "stamp-worker"):
        push(ctx, f)
        wait_states(ctx, last_message(ctx, f))
    files = program_logs(ctx, ctx.server) + [ctx.stack.run_dir / "stamp-worker.log"]
    for path in files:
        lines = path.read_text(errors="replace").splitlines()
        assert lines, path
        unstamped = [l for l in lines if not STAMP.match(l)]
        assert not unstamped, (path, unstamped[:5])


@once
@timeout(120)
def test_log_format_json_writes_one_json_object_per_line(ctx):
    f = ctx.fixture()
    with own_lighttpd(ctx, "json-log", 1, log_format="json") as (url, log):
        status, headers, _ = ctx.on(url).request(
            "POST", "/developer/push", {"app_user_id": f.user, "title": "t", "body": "b"},
            {"X-Server-Key": f.server_key})
        assert status == 201
        rid = answer_id(headers)
        wait_line([log], f'"request_id":"{rid}"')
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    [request] = [e for e in entries if e.get("request_id") == rid]
    assert request["method"] == "POST" and request["route"] == "/developer/push", request
    assert request["status"] == 201 and request["level"] == "info", request
    assert request["program"] == "herald-developer" and isinstance(request["pid"], int)
    assert isinstance(request["ms"], (int, float)), request
    assert all(STAMP.match(e["time"] + " ") for e in entries), entries[:3]
    assert any(e["msg"].startswith("ready (") for e in entries), entries[:3]

    config = ctx.stack.run_dir / "json-worker.conf"
    config.write_text(ctx.stack.config_path.read_text() + "log_format = json\n")
    with worker(ctx, "json-worker", config=config):
        pass
    entries = [json.loads(line) for line in
               (ctx.stack.run_dir / "json-worker.log").read_text().splitlines()]
    assert [e["msg"] for e in entries][0] == "started", entries
    assert entries[-1]["msg"].startswith("stopping: delivered "), entries
    assert all(e["program"] == "herald-worker" for e in entries), entries


@once
@timeout(120)
def test_worker_logs_its_status_when_it_changed_not_while_nothing_happens(ctx):
    """The status line comes at most every worker_status_every_s while figures change;
    with nothing delivered for longer than two of those periods, no line repeats the
    last one."""
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    add_device(ctx, f, "ios")
    log = ctx.stack.run_dir / "status-worker.log"
    config = ctx.stack.run_dir / "status-worker.conf"
    config.write_text(ctx.stack.config_path.read_text() + "worker_status_every_s = 1\n")
    with worker(ctx, "status-worker", config=config):
        push(ctx, f)
        wait_states(ctx, last_message(ctx, f))
        # Within a few seconds: the default period (10 s) would not be.
        changed = wait_line([log], "so far: delivered 1,", timeout_s=5)
        quiet_until = time.monotonic() + 2.5
        while time.monotonic() < quiet_until:
            time.sleep(0.5)
        status_lines = [l for l in log.read_text().splitlines() if " so far: " in l]
    # Lines before it (the push on its way) may come too; none may come after it.
    assert status_lines[-1] == changed, status_lines
