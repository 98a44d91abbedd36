"""The stack itself: the README's examples, and what lighttpd and Apache hand the
programs through the httpd-conf/ configurations."""
import contextlib
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import herald_stack
from hd import FAST_ANSWER_S, once

REPO = Path(__file__).resolve().parent.parent.parent
ECHO = Path(__file__).resolve().parent / "fcgi_echo.py"
# Ends its main thread (pthread_exit, through ctypes, which lets go of the interpreter
# lock first) while a second thread lives on until the file argv[1] exists.
MAIN_THREAD_ENDS_FIRST = """
import ctypes, os, sys, threading, time
def linger():
    while not os.path.exists(sys.argv[1]):
        time.sleep(0.01)
    os._exit(0)
threading.Thread(target=linger).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def readme_curl_blocks():
    """The shell blocks of README.md that run curl, as the README writes them."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (REPO / "README.md").read_text(), re.M | re.S)
    return [b for b in blocks if "curl " in b]


def run_shell(script, cwd):
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"{script!r} exited {result.returncode}: {result.stderr}"
    return result.stdout


def messages_by_source(ctx, app_id):
    rows = ctx.db.query(f"SELECT source, COUNT(*) FROM messages WHERE app_id = {int(app_id)} GROUP BY source")
    return {source: int(n) for source, n in rows}


def test_readme_curl_examples_work(ctx):
    # The README's examples, run unchanged in a directory whose run/herald.env is
    # what `tools/herald-local up` writes for a demo on this server.
    demo = ctx.fixture(tenant="Demo", app="Demo App", user="user_123", email="user_123@example.com")
    blocks = readme_curl_blocks()
    assert any("/developer/push" in b for b in blocks) and any("/api/v2/push" in b for b in blocks)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "run").mkdir()
        herald_stack.write_env(Path(tmp) / "run" / "herald.env", herald_stack.env_values(demo, ctx.base_url))
        for block in blocks:
            answer = json.loads(run_shell(block, tmp))
            if "/developer/push" in block:
                assert answer == {"push_count": 1, "app_user_id": "user_123", "app_id": demo.app_uid}, answer
    assert messages_by_source(ctx, demo.app_id) == {"developer": 1, "legacy": 1}


def test_curl_printed_by_herald_local_up_works(ctx):
    demo = ctx.fixture(tenant="Demo", app="Demo App")
    answer = json.loads(run_shell(herald_stack.demo_curl(herald_stack.env_values(demo, ctx.base_url)), "/"))
    assert answer == {"push_count": 1, "app_user_id": "user_123", "app_id": demo.app_uid}, answer


def test_health_answers_200_with_database_ok(ctx):
    status, headers, body = ctx.request("GET", "/health")
    assert status == 200, (status, body)
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["database"] == "ok"


def test_health_answers_503_fast_while_mariadb_is_down(ctx):
    ctx.stack.db.stop()
    try:
        started = time.monotonic()
        status, headers, _ = ctx.request("GET", "/health")
        assert status == 503 and "retry-after" in headers, (status, headers)
        assert time.monotonic() - started < FAST_ANSWER_S
    finally:
        ctx.stack.db.start()
    # The programs reconnect by themselves once the database is back.
    herald_stack.wait_for(lambda: ctx.request("GET", "/health")[0] == 200, 30, "/health to answer 200")


def test_query_string_reaches_the_program(ctx):
    f = ctx.fixture()
    body = {"UserExternalId": "user_123", "Title": "Hi", "Body": "Hello",
            "CompanyId": f.company_id, "IntegrationKey": f.integration_key}
    status, headers, answer = ctx.request("POST", "/api/v2/push?format=xml", body)
    assert status == 200 and answer.lstrip().startswith(b"<"), (status, answer)
    assert "xml" in headers["content-type"]
    status, headers, answer = ctx.request("POST", "/api/v2/push?format=json", body)
    assert status == 200 and json.loads(answer)["PushCount"] == 1, (status, answer)


def test_program_answers_413_to_a_16_mib_body(ctx):
    # The web servers let a 16 MiB body through; the program refuses it (its own limit
    # is 64 KiB by default) in its own error format.
    f = ctx.fixture()
    body = b"{" + b" " * ((16 << 20) - 2) + b"}"
    status, headers, answer = ctx.request("POST", "/developer/push", body,
                                          {"Content-Type": "application/json", "X-Server-Key": f.server_key})
    assert status == 413, (status, answer[:200])
    assert headers["content-type"].startswith("application/json"), headers


@contextlib.contextmanager
def echo_server(ctx):
    """This test's kind of web server, from the same template, with every program
    replaced by fcgi_echo.py: yields its base URL."""
    with tempfile.TemporaryDirectory() as programs:
        for path in herald_stack.PROGRAMS.values():
            (Path(programs) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(programs) / path).symlink_to(ECHO)
        name = f"{ctx.server}-echo"
        start = ctx.stack.start_lighttpd if ctx.server == "lighttpd" else ctx.stack.start_apache
        try:
            yield start(program_dir=programs, name=name)
        finally:
            ctx.stack.stop_server(name)


def echo(ctx, base, method, path, body=b"", headers=None):
    status, _, answer = ctx.on(base).request(method, path, body, headers)
    assert status == 200, (status, answer[:300])
    return json.loads(answer)


def test_servers_route_each_path_to_its_program_with_cgi_variables(ctx):
    routes = [("/developer/push", "developer.fcgi"), ("/api/v2/push?format=json", "legacy.fcgi"),
              ("/devices", "devices.fcgi"), ("/devices/0123abcd?x=%2F", "devices.fcgi"),
              ("/health", "ops.fcgi"), ("/metrics", "ops.fcgi")]
    body = b'{"hello": "world"}'
    with echo_server(ctx) as base:
        for path, program in routes:
            got = echo(ctx, base, "POST", path, body, {
                "Content-Type": "application/json; charset=utf-8",
                "Authorization": "Bearer t0ken", "X-Server-Key": "k3y"})
            p = got["params"]
            assert got["program"] == program, (path, got["program"])
            assert got["herald_config"] == str(ctx.stack.config_path)
            assert p["REQUEST_METHOD"] == "POST" and p["REQUEST_URI"] == path, p
            assert p["QUERY_STRING"] == (path.split("?", 1)[1] if "?" in path else ""), p
            assert p["REMOTE_ADDR"] == ctx.source, p
            assert p["CONTENT_TYPE"] == "application/json; charset=utf-8", p
            assert p["CONTENT_LENGTH"] == str(len(body)), p
            assert p["HTTP_AUTHORIZATION"] == "Bearer t0ken", p
            assert p["HTTP_X_SERVER_KEY"] == "k3y", p
            assert got["body_sha256"] == hashlib.sha256(body).hexdigest()
        got = echo(ctx, base, "GET", "/health")
        assert got["params"]["REQUEST_METHOD"] == "GET" and got["body_bytes"] == 0
        # The templates route herald only: the benchmark's /noop is bench/run's own.
        status, _, _ = ctx.on(base).request("POST", "/noop", body)
        assert status == 404, status


def test_servers_pass_a_16_mib_body_whole(ctx):
    body = bytes(range(256)) * (1 << 16)  # 16 MiB
    with echo_server(ctx) as base:
        got = echo(ctx, base, "POST", "/developer/push", body, {"Content-Type": "application/json"})
    assert got["params"]["CONTENT_LENGTH"] == str(len(body))
    assert got["body_bytes"] == len(body) and got["body_sha256"] == hashlib.sha256(body).hexdigest()


@once
def test_a_process_is_running_until_its_last_thread_ends_not_its_main_one(ctx):
    # A killed MariaDB's main thread ends first, while its other threads may still be
    # writing to its files: until the last one has ended, the server has not.
    with tempfile.TemporaryDirectory() as tmp:
        done = Path(tmp) / "done"
        processes = ctx.stack.processes
        proc = processes.spawn("lingering", [sys.executable, "-c", MAIN_THREAD_ENDS_FIRST, str(done)],
                               Path(tmp) / "out", marker=str(done))
        try:
            main_ended = lambda: herald_stack._proc_stat(proc.pid)[0] == "Z"
            herald_stack.wait_for(lambda: main_ended() or proc.poll() is not None, 10,
                                  "its main thread to end")
            assert proc.poll() is None, (proc.returncode, (Path(tmp) / "out").read_text())
            assert main_ended() and len(herald_stack.thread_states(proc.pid)) == 2
            assert processes.pids("lingering") == [proc.pid]
            assert not processes.group_gone(proc.pid)
        finally:
            done.touch()
        herald_stack.wait_for(lambda: processes.group_gone(proc.pid), 10, "its last thread to end")
        assert processes.pids("lingering") == [] and proc.returncode == 0
        processes.stop("lingering")
