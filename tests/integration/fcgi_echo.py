#!/usr/bin/env python3
"""A FastCGI responder that answers every request with what it received, as JSON.

The web-server tests run lighttpd and Apache from the httpd-conf/ templates with
every herald program replaced by this one (under its program name, so the answer
also shows which program a path was routed to). That checks the configurations
themselves -- routes, CGI variables, Authorization, large bodies -- independently
of the C programs. Like any FastCGI program started by lighttpd or spawn-fcgi, it
accepts connections on the listening socket it is given as file descriptor 0.
FastCGI 1.0: https://fastcgi-archives.github.io/FastCGI_Specification.html
"""
import hashlib
import json
import os
import socket
import struct
import sys

BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6
KEEP_CONN = 1
HEADER = struct.Struct("!BBHHBx")  # version, type, request id, content length, padding


def read_exact(conn, n):
    data = bytearray()
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def read_record(conn):
    _, rtype, rid, length, padding = HEADER.unpack(read_exact(conn, HEADER.size))
    content = read_exact(conn, length + padding)[:length]
    return rtype, rid, content


def write_record(conn, rtype, rid, content=b""):
    for i in range(0, max(len(content), 1), 65535):
        part = content[i:i + 65535]
        conn.sendall(HEADER.pack(1, rtype, rid, len(part), 0) + part)


def parse_params(data):
    """Name-value pairs: each length is 1 byte, or 4 bytes when the high bit is set."""
    params, i = {}, 0

    def length():
        nonlocal i
        if data[i] & 0x80:
            n = struct.unpack("!I", data[i:i + 4])[0] & 0x7FFFFFFF
            i += 4
        else:
            n = data[i]
            i += 1
        return n

    while i < len(data):
        nlen, vlen = length(), length()
        name, value = data[i:i + nlen], data[i + nlen:i + nlen + vlen]
        i += nlen + vlen
        params[name.decode("latin-1")] = value.decode("latin-1")
    return params


def serve(conn):
    """Answer requests on one connection until the server closes it."""
    while True:
        rtype, rid, content = read_record(conn)
        if rtype != BEGIN_REQUEST:
            continue  # management records and aborts of finished requests
        keep_conn = content[2] & KEEP_CONN
        raw_params, body = bytearray(), hashlib.sha256()
        body_len = 0
        while True:
            rtype, _, content = read_record(conn)
            if rtype == PARAMS:
                raw_params += content
            elif rtype == STDIN:
                if not content:
                    break
                body.update(content)
                body_len += len(content)
            elif rtype == ABORT_REQUEST:
                break
        answer = json.dumps({
            "program": os.path.basename(sys.argv[0]),
            "herald_config": os.environ.get("HERALD_CONFIG"),
            "params": parse_params(bytes(raw_params)),
            "body_bytes": body_len,
            "body_sha256": body.hexdigest(),
        }).encode()
        write_record(conn, STDOUT, rid,
                     b"Status: 200 OK\r\nContent-Type: application/json\r\n\r\n" + answer)
        write_record(conn, STDOUT, rid)
        write_record(conn, END_REQUEST, rid, struct.pack("!IB3x", 0, 0))
        if not keep_conn:
            return


def main():
    listener = socket.socket(fileno=0)
    while True:
        conn, _ = listener.accept()
        with conn:
            try:
                serve(conn)
            except (EOFError, ConnectionError):
                pass


if __name__ == "__main__":
    main()
