"""How a herald program handles its FastCGI connections, spoken to directly (no web
server).

After answering, a program closes its connection at once when it has read the
request's input to its end: nothing is left unread that could turn the close into a
reset, and waiting for the web server to close first would cost a sleep and a wake-up
per request. With input left unread (a body refused by its Content-Length), it shuts
its side down and waits for the web server, so that the answer cannot be lost.

A web server may ask a program to keep the connection open for its next request
(FCGI_KEEP_CONN: Apache with enablereuse=on, nginx with fastcgi_keep_conn). The
program then reads that next request as soon as it comes, accepts new connections
while kept ones are idle, and still ends on SIGTERM, closing the kept connections.
"""
import signal
import socket
import struct
import subprocess
import time
from contextlib import contextmanager

import herald_stack
from fcgi_echo import (BEGIN_REQUEST, END_REQUEST, KEEP_CONN, PARAMS, STDIN, STDOUT,
                       read_record, write_record)
from hd import once

RESPONDER = 1


def encode_params(params):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
    out = bytearray()
    for name, value in params.items():
        name, value = name.encode(), value.encode()
        out += length(len(name)) + length(len(value)) + name + value
    return bytes(out)


class Program:
    """A herald program accepting on a listening socket of the test's own."""

    def __init__(self, ctx, name):
        sock_dir = ctx.stack.run_dir / "fastcgi-connections"
        sock_dir.mkdir(exist_ok=True)
        self.path = sock_dir / f"{name}.sock"
        self.path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(16)
        self.out = sock_dir / f"{name}.out"
        self.out.unlink(missing_ok=True)
        with open(self.out, "ab") as out:
            self.proc = subprocess.Popen(
                [str(ctx.stack.program_dir / herald_stack.PROGRAMS[name])],
                stdin=listener, stdout=out, stderr=out, env=ctx.stack.program_env())
        listener.close()

    def connect(self):
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(30)
        conn.connect(str(self.path))
        return conn

    def wait_accepted(self):
        """Until no connection waits in the listening socket's queue (ss: Recv-Q)."""
        def queue():
            out = subprocess.run(["ss", "-xlnH", "src", str(self.path)], capture_output=True,
                                 text=True, check=True).stdout.split()
            return int(out[2])
        herald_stack.wait_for(lambda: queue() == 0, 30, "the program to accept")

    def wait_output(self, text):
        herald_stack.wait_for(lambda: text in self.out.read_text(errors="replace"), 30,
                              f"{text!r} in the program's output")

    def sigterm(self):
        # Before its handler is in place, SIGTERM would kill the program outright.
        self.wait_output("ready (")
        self.proc.send_signal(signal.SIGTERM)

    def ends_after_sigterm(self):
        self.sigterm()
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running 30 s after SIGTERM") from None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def program(ctx, name="developer"):
    prog = Program(ctx, name)
    try:
        yield prog
    finally:
        prog.proc.terminate()
        prog.proc.wait(timeout=30)


def start_request(conn, body, content_length, keep=False, uri="/developer/push"):
    """Sends a POST to uri on conn, with FCGI_KEEP_CONN when keep, whose input is
    content_length bytes long; sends body, the first of them."""
    write_record(conn, BEGIN_REQUEST, 1,
                 struct.pack("!HB5x", RESPONDER, KEEP_CONN if keep else 0))
    write_record(conn, PARAMS, 1, encode_params({
        "REQUEST_METHOD": "POST", "REQUEST_URI": uri, "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(content_length)}))
    write_record(conn, PARAMS, 1)
    write_record(conn, STDIN, 1, body)


def request(conn, body, content_length, keep=False, uri="/developer/push"):
    """Sends a POST to uri on conn whose input is body (ended only when it is
    content_length bytes long), with FCGI_KEEP_CONN when keep; reads the answer to its
    end and returns its status line and its X-Request-Id."""
    start_request(conn, body, content_length, keep, uri)
    if len(body) == content_length:
        write_record(conn, STDIN, 1)
    return answer(conn)


def answer(conn):
    """Reads an answer to its end; returns its status line and its X-Request-Id."""
    answer = bytearray()
    while True:
        rtype, _, content = read_record(conn)
        if rtype == STDOUT:
            answer += content
        elif rtype == END_REQUEST:
            break
    head = bytes(answer).split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
    request_id = next((line.split(":", 1)[1].strip() for line in head
                       if line.lower().startswith("x-request-id:")), None)
    return head[0], request_id


def send_request(path, body, content_length):
    """A new connection to path and one request on it; returns the connection and the
    answer's status line."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(str(path))
    return conn, request(conn, body, content_length)[0]


def closed_at_once(conn):
    """Whether the program closed conn, not only shut its side down."""
    assert conn.recv(1) == b"", "the program's end stayed open"
    try:
        conn.sendall(b"\0" * 1024)
    except (BrokenPipeError, ConnectionResetError):
        return True
    return False


@once
def test_a_program_closes_at_once_after_answering_input_it_read_to_the_end(ctx):
    with program(ctx) as prog:
        conn, status = send_request(prog.path, b"{", 1)
        with conn:
            assert status.startswith("Status: 4"), status
            assert closed_at_once(conn), "the program still reads its closed connection"


@once
def test_a_program_waits_for_the_web_server_after_refusing_input_it_did_not_read(ctx):
    # libfcgi waits at most 2 s for the web server; a test held back that long
    # cannot tell, and tries again.
    with program(ctx) as prog:
        for _ in range(5):
            # libfcgi's wait starts when the program shuts down, before recv() sees
            # it: measured from before the request, a hold-up anywhere counts.
            sent = time.monotonic()
            conn, status = send_request(prog.path, b"x" * 4096, 64 * 1024 * 1024)
            with conn:
                assert status.startswith("Status: 413"), status
                assert conn.recv(1) == b"", "the program did not shut its side down"
                # Shut down for writing only: what the web server still sends is
                # read (and dropped) until it closes.
                try:
                    conn.sendall(b"\0" * 1024)
                    return
                except BrokenPipeError:
                    assert time.monotonic() - sent > 1.5, "closed without waiting"
        raise AssertionError("held back past libfcgi's wait five times")


@once
def test_a_kept_connection_serves_one_request_after_another(ctx):
    with program(ctx) as prog, prog.connect() as conn:
        ids = set()
        for _ in range(3):
            status, request_id = request(conn, b"{", 1, keep=True)
            assert status.startswith("Status: 4"), status
            ids.add(request_id)
        assert len(ids) == 3, f"three answers, request ids {ids}"


@once
def test_a_new_connection_is_answered_while_kept_connections_are_idle(ctx):
    with program(ctx) as prog:
        kept = [prog.connect() for _ in range(3)]
        try:
            for conn in kept:
                assert request(conn, b"{", 1, keep=True)[0].startswith("Status: 4")
            conn, status = send_request(prog.path, b"{", 1)
            conn.close()
            assert status.startswith("Status: 4"), status
            # And the kept ones are still served.
            for conn in kept:
                assert request(conn, b"{", 1, keep=True)[0].startswith("Status: 4")
        finally:
            for conn in kept:
                conn.close()


@once
def test_a_kept_connection_whose_request_left_input_unread_is_closed(ctx):
    # Its next request would start in the unread input.
    with program(ctx) as prog, prog.connect() as conn:
        status, _ = request(conn, b"x" * 4096, 64 * 1024 * 1024, keep=True)
        assert status.startswith("Status: 413"), status
        assert conn.recv(1) == b"", "the connection was kept"


def check_sigterm_ends_a_program_with_idle_kept_connections(ctx, name, uri, nkept):
    prog = Program(ctx, name)
    kept = []
    try:
        for _ in range(nkept):
            conn = prog.connect()
            kept.append(conn)
            status, _ = request(conn, b"{", 1, keep=True, uri=uri)
            assert status.startswith("Status: 4"), status
        assert prog.ends_after_sigterm() == 0, "exit status"
    finally:
        for conn in kept:
            conn.close()
        prog.kill()


@once
def test_sigterm_ends_a_program_of_many_request_threads_with_idle_kept_connections(ctx):
    check_sigterm_ends_a_program_with_idle_kept_connections(ctx, "developer",
                                                            "/developer/push", 3)


@once
def test_sigterm_ends_a_program_of_one_request_thread_with_an_idle_kept_connection(ctx):
    check_sigterm_ends_a_program_with_idle_kept_connections(ctx, "devices", "/nowhere", 1)


def check_sigterm_ends_a_program_holding_a_connection_that_sent_nothing(ctx, name):
    # libfcgi gives such a connection 2 s to start; with its own stop flag set, it
    # then looped on the closed descriptor for ever.
    prog = Program(ctx, name)
    try:
        with prog.connect() as silent:
            prog.wait_accepted()
            assert prog.ends_after_sigterm() == 0, "exit status"
            assert silent.recv(1) == b""
    finally:
        prog.kill()


@once
def test_sigterm_ends_a_program_of_many_request_threads_holding_a_silent_connection(ctx):
    check_sigterm_ends_a_program_holding_a_connection_that_sent_nothing(ctx, "developer")


@once
def test_sigterm_ends_a_program_of_one_request_thread_holding_a_silent_connection(ctx):
    check_sigterm_ends_a_program_holding_a_connection_that_sent_nothing(ctx, "devices")


@once
def test_sigterm_lets_a_request_on_a_kept_connection_finish_then_closes_it_at_once(ctx):
    prog = Program(ctx, "developer")
    try:
        with prog.connect() as conn:
            body = b'{"alert": "in flight"}'
            start_request(conn, body[:5], len(body), keep=True)
            prog.sigterm()
            prog.wait_output("stopping: finishing the requests in flight")
            write_record(conn, STDIN, 1, body[5:])
            write_record(conn, STDIN, 1)
            status, _ = answer(conn)
            assert status.startswith("Status: 4"), status
            assert closed_at_once(conn), "closed only after waiting for the web server"
            assert prog.proc.wait(timeout=30) == 0, "exit status"
    finally:
        prog.kill()
