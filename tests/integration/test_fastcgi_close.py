"""How a herald program ends a FastCGI connection, spoken to directly (no web server).

After answering, a program closes its connection at once when it has read the
request's input to its end: nothing is left unread that could turn the close into a
reset, and waiting for the web server to close first would cost a sleep and a wake-up
per request. With input left unread (a body refused by its Content-Length), it shuts
its side down and waits for the web server, so that the answer cannot be lost.
"""
import socket
import struct
import subprocess
import time
from contextlib import contextmanager

import herald_stack
from fcgi_echo import (BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, read_record,
                       write_record)
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


@contextmanager
def developer_program(ctx):
    """developer.fcgi accepting on a listening socket of the test's own; yields its path."""
    sock_dir = ctx.stack.run_dir / "fastcgi-close"
    sock_dir.mkdir(exist_ok=True)
    path = sock_dir / "developer.sock"
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    with open(sock_dir / "developer.out", "ab") as out:
        proc = subprocess.Popen([str(ctx.stack.program_dir / herald_stack.PROGRAMS["developer"])],
                                stdin=listener, stdout=out, stderr=out,
                                env=ctx.stack.program_env())
    listener.close()
    try:
        yield path
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def send_request(path, body, content_length):
    """Connects, sends a POST /developer/push whose input is body (ended only when it
    is content_length bytes long), reads the answer to its end; returns the connection
    and the answer's status line."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(30)
    conn.connect(str(path))
    write_record(conn, BEGIN_REQUEST, 1, struct.pack("!HB5x", RESPONDER, 0))
    write_record(conn, PARAMS, 1, encode_params({
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/developer/push", "QUERY_STRING": "",
        "REMOTE_ADDR": "127.0.0.1", "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(content_length)}))
    write_record(conn, PARAMS, 1)
    write_record(conn, STDIN, 1, body)
    if len(body) == content_length:
        write_record(conn, STDIN, 1)
    answer = bytearray()
    while True:
        rtype, _, content = read_record(conn)
        if rtype == STDOUT:
            answer += content
        elif rtype == END_REQUEST:
            break
    return conn, bytes(answer).split(b"\r\n", 1)[0].decode()


@once
def test_a_program_closes_at_once_after_answering_input_it_read_to_the_end(ctx):
    with developer_program(ctx) as path:
        conn, status = send_request(path, b"{", 1)
        with conn:
            assert status.startswith("Status: 4"), status
            assert conn.recv(1) == b"", "the program's end stayed open"
            # Closed, not just shut down for writing: the program reads no more.
            try:
                conn.sendall(b"\0" * 1024)
            except BrokenPipeError:
                pass
            else:
                raise AssertionError("the program still reads its closed connection")


@once
def test_a_program_waits_for_the_web_server_after_refusing_input_it_did_not_read(ctx):
    # libfcgi waits at most 2 s for the web server; a test held back that long
    # cannot tell, and tries again.
    with developer_program(ctx) as path:
        for _ in range(5):
            # libfcgi's wait starts when the program shuts down, before recv() sees
            # it: measured from before the request, a hold-up anywhere counts.
            sent = time.monotonic()
            conn, status = send_request(path, b"x" * 4096, 64 * 1024 * 1024)
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
