#!/usr/bin/python3
"""Strict local mock push providers: APNs, FCM HTTP v1, Web Push and WNS.

    /usr/bin/python3 tests/mocks/server.py --port P --control-port C --cert CERT --key KEY
        [--client-ca CA] [--origin-host push.mock.test] [--quiet | --verbose] [--no-record]

Needs Debian's python3-h2 and python3-cryptography. One asyncio TLS server on
127.0.0.1:P speaks HTTP/2 (ALPN "h2") and HTTP/1.1 (ALPN "http/1.1" or no ALPN) and
routes by path:

  POST /3/device/<token>                       apns.py   (HTTP/2 only, as APNs)
  POST /fcm/token                              fcm.py    OAuth2 token endpoint
  POST /v1/projects/<project>/messages:send    fcm.py
  POST /wp/<subscription-id>                   webpush.py
  POST /wns/token                              wns.py    OAuth token endpoint
  POST /wns/channel/<id>                       wns.py

Client certificates are requested but not required; one that is sent must chain to
--client-ca (APNs certificate auth). The provider modules say what each checks. A
request that fails a check always gets the provider's real error; one that passes
gets the provider's success answer, or the next matching scripted answer.

Control API: plain HTTP/1.1 JSON on 127.0.0.1:C.
  GET  /health      {"ok": true, "port", "control_port", "pid"} once both servers listen.
  GET  /config      the configuration in force.
  POST /config      {"apns": {...}, "fcm": {...}, "webpush": {...}, "wns": {...}}: each
                    section given REPLACES that provider's configuration (sections not
                    given are kept); see each provider module for its section. Answers
                    the configuration in force.
  POST /script      {"provider": "apns"|"fcm"|"webpush"|"wns", "responses": [entry...],
                    "replace": false}: queue canned answers for the next requests to
                    that provider that pass verification ("replace": true drops the
                    queue first). Entry keys for every provider:
                      status        HTTP status (default: the provider's success answer)
                      headers       {name: value} added to / replacing the answer's
                      body          raw body: a string as is, anything else as JSON
                      retry_after   sets Retry-After
                      delay_ms      answer this long after the request ended
                      action        "reset" (RST_STREAM) or "close" (drop the connection)
                                    instead of answering
                      count         how many requests the entry answers (default 1,
                                    -1 = every request until /reset or replace)
                      target        only for this device token / FCM message target /
                                    subscription id / WNS channel id
                      endpoint      "send" (default) or "token" (FCM and WNS token
                                    endpoints)
                    and shortcuts: APNs "reason" (status from Apple's table) and
                    "timestamp" (410; default now, ms); FCM "fcm_error" (FcmError code,
                    status from FCM's table; QUOTA_EXCEEDED adds Retry-After), "message",
                    "oauth_error"; Web Push "message", "errno"; WNS "wns_status",
                    "error_description", "oauth_error".
  GET  /received?provider=X[&since=N]
                    every request received since /reset (all providers without
                    provider=, records with seq > N with since=): seq, time, provider,
                    endpoint, conn, stream, protocol, method, path, authority, headers
                    ([[name, value], ...], names lower-case, pseudo-headers included),
                    body (base64), body_len, target, client_cert, status (null when a
                    scripted action replaced the answer), action, verdict ("ok" or why
                    verification failed), scripted, response_headers, response_body.
                    Empty under --no-record.
  POST /reset       forget received requests, statistics and scripts; {"tokens": true}
                    also forgets issued OAuth tokens, verified JWTs and APNs's
                    token-update history.
  POST /expire-tokens {"provider": "fcm"|"wns"} (or {} for both): every access token
                    issued so far is expired, so the next send gets 401.
  GET  /stats       {"connections_opened", "connections_open", "max_concurrent_streams",
                    "providers": {name: {"requests", "statuses": {code or action: n},
                    "verdicts": {verdict: n}, "connections", "max_concurrent_streams",
                    "bytes_received"}}} since /reset; "connections" counts connections
                    that carried a request for that provider.
--no-record keeps statistics only, so benchmarks do not grow memory; --quiet prints
nothing but errors; --verbose logs every request to stderr.
"""
import argparse
import asyncio
import base64
import concurrent.futures
import json
import os
import signal
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings
import hpack.hpack

import answer as answers
import apns
import fcm
import webpush
import wns

MAX_STREAMS = 1000
STREAM_WINDOW = 1 << 20
CONNECTION_WINDOW = 1 << 26
MAX_HEADER_BYTES = 65536
MAX_STORED_BODY = 1 << 20
PROVIDERS = (apns.Apns, fcm.Fcm, webpush.WebPush, wns.Wns)


def _cache_huffman_decoding():
    """hpack decodes Huffman strings in pure Python, and clients send some values as
    literals on every request (nghttp2 never indexes authorization), so the same JWT
    would be decoded thousands of times a second: remember recent results."""
    decode = hpack.hpack.decode_huffman
    cache = {}

    def cached(data):
        data = bytes(data)
        value = cache.get(data)
        if value is None:
            if len(cache) >= 4096:
                cache.clear()
            value = cache[data] = decode(data)
        return value
    hpack.hpack.decode_huffman = cached


class Request:
    """One request as the providers see it. Header names are lower-case; values are
    decoded as latin-1 so every octet survives. hmap holds each header's first value,
    dups the names that came more than once. body keeps at most MAX_STORED_BODY
    octets; body_len is the full length."""
    __slots__ = ("conn_id", "stream_id", "protocol", "method", "path", "route_path",
                 "authority", "headers", "hmap", "dups", "body", "body_len", "peer_cert",
                 "endpoint", "target")

    def __init__(self, conn, stream_id, protocol, method, path, authority, headers):
        self.conn_id = conn.conn_id
        self.stream_id = stream_id
        self.protocol = protocol
        self.method = method
        self.path = path
        self.route_path = path.split("?", 1)[0]
        self.authority = authority
        self.headers = headers
        hmap = {}
        dups = set()
        for name, value in headers:
            if name in hmap:
                dups.add(name)
            else:
                hmap[name] = value
        self.hmap = hmap
        self.dups = dups
        self.body = b""
        self.body_len = 0
        self.peer_cert = conn.peer_cert
        self.endpoint = None
        self.target = None


class State:
    """Everything the providers and the control API share. Touched only on the event
    loop's thread; the control thread reaches it through on_loop()."""

    def __init__(self, args):
        self.args = args
        self.providers = {cls.NAME: cls(args) for cls in PROVIDERS}
        self.conn_seq = 0
        self.generation = 0
        self.stats = {"connections_open": 0}
        self.reset(False)

    def reset(self, tokens):
        """Forget records, statistics and scripts (and with tokens, issued tokens)."""
        self.generation += 1
        self.records = []
        self.seq = 0
        self.scripts = {name: [] for name in self.providers}
        self.stats = {"connections_opened": 0, "connections_open": self.stats["connections_open"],
                      "max_concurrent_streams": 0,
                      "providers": {name: {"requests": 0, "statuses": {}, "verdicts": {},
                                           "connections": 0, "max_concurrent_streams": 0,
                                           "bytes_received": 0}
                                    for name in self.providers}}
        if tokens:
            for provider in self.providers.values():
                provider.forget_tokens()

    def route(self, path):
        for provider in self.providers.values():
            endpoint = provider.route(path)
            if endpoint is not None:
                return provider, endpoint
        return None, None

    def stream_opened(self, conn, path):
        """Count a stream opening on conn, for the concurrency statistics."""
        if conn.generation != self.generation:
            conn.generation = self.generation
            conn.providers = set()
        conn.open_streams += 1
        stats = self.stats
        if conn.open_streams > stats["max_concurrent_streams"]:
            stats["max_concurrent_streams"] = conn.open_streams
        provider, _ = self.route(path.split("?", 1)[0])
        if provider is None:
            return
        pstats = stats["providers"][provider.NAME]
        if provider.NAME not in conn.providers:
            conn.providers.add(provider.NAME)
            pstats["connections"] += 1
        if conn.open_streams > pstats["max_concurrent_streams"]:
            pstats["max_concurrent_streams"] = conn.open_streams

    def take_script(self, name, endpoint, target):
        queue = self.scripts[name]
        for i, item in enumerate(queue):
            entry = item[0]
            if entry.get("endpoint", "send") != endpoint:
                continue
            if "target" in entry and entry["target"] != target:
                continue
            if item[1] != -1:
                item[1] -= 1
                if item[1] == 0:
                    del queue[i]
            return entry
        return None

    def handle(self, req):
        """Verify req with its provider and return the Answer to send."""
        provider, endpoint = self.route(req.route_path)
        if provider is None:
            answer = answers.json_answer(404, {"error": "no mock provider at " + req.route_path},
                                         verdict="no such path")
        elif provider.H2_ONLY and req.protocol != "h2":
            req.endpoint = endpoint
            answer = answers.json_answer(505, {"error": provider.NAME + " needs HTTP/2"},
                                         verdict="HTTP/2 required")
        else:
            req.endpoint = endpoint
            try:
                answer = provider.verify(req)
                if answer.verdict == "ok":
                    entry = self.take_script(provider.NAME, endpoint, req.target)
                    if entry is not None:
                        answer = provider.scripted(entry, req, answer)
            except Exception:
                traceback.print_exc()
                answer = answers.json_answer(500, {"error": "mock failure"},
                                             verdict="mock failure")
        self.account(req, provider, answer)
        return answer

    def account(self, req, provider, answer):
        name = provider.NAME if provider is not None else None
        if name is not None:
            pstats = self.stats["providers"][name]
            pstats["requests"] += 1
            pstats["bytes_received"] += req.body_len
            status = answer.action or str(answer.status)
            pstats["statuses"][status] = pstats["statuses"].get(status, 0) + 1
            pstats["verdicts"][answer.verdict] = pstats["verdicts"].get(answer.verdict, 0) + 1
        if self.args.verbose:
            print("conn %d stream %s %s %s -> %d %s" % (req.conn_id, req.stream_id, req.method,
                                                        req.path, answer.status, answer.verdict),
                  file=sys.stderr)
        if self.args.no_record:
            return
        self.seq += 1
        cert = None
        if req.peer_cert:
            cert = ", ".join("%s=%s" % pair for rdn in req.peer_cert.get("subject", ())
                             for pair in rdn)
        self.records.append({
            "seq": self.seq, "time": time.time(), "provider": name, "endpoint": req.endpoint,
            "conn": req.conn_id, "stream": req.stream_id, "protocol": req.protocol,
            "method": req.method, "path": req.path, "authority": req.authority,
            "headers": [list(h) for h in req.headers],
            "body": base64.b64encode(req.body).decode("ascii"), "body_len": req.body_len,
            "target": req.target, "client_cert": cert,
            "status": None if answer.action else answer.status, "action": answer.action,
            "verdict": answer.verdict, "scripted": answer.scripted,
            "response_headers": [list(h) for h in answer.headers],
            "response_body": answer.body.decode("utf-8", "replace")})


class Connection(asyncio.Protocol):
    """One TLS connection; hands its bytes to an HTTP/2 or HTTP/1.1 session."""

    def __init__(self, state):
        self.state = state
        self.transport = None
        self.session = None
        self.open_streams = 0
        self.generation = 0
        self.providers = set()
        self.peer_cert = None
        self.conn_id = 0

    def connection_made(self, transport):
        state = self.state
        state.conn_seq += 1
        self.conn_id = state.conn_seq
        state.stats["connections_opened"] += 1
        state.stats["connections_open"] += 1
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        self.peer_cert = ssl_object.getpeercert() or None
        if ssl_object.selected_alpn_protocol() == "h2":
            self.session = H2Session(self)
        else:
            self.session = H1Session(self)

    def data_received(self, data):
        self.session.data_received(data)

    def connection_lost(self, exc):
        self.state.stats["connections_open"] -= 1
        self.session.lost()


class H2Session:
    def __init__(self, conn):
        self.conn = conn
        self.state = conn.state
        self.transport = conn.transport
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding=None, validate_outbound_headers=False,
            normalize_outbound_headers=False))
        self.h2.local_settings = h2.settings.Settings(client=False, initial_values={
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_STREAMS,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
            h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_BYTES})
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(CONNECTION_WINDOW)
        self.requests = {}
        self.sending = {}
        self.closed = False
        self.flush()

    def flush(self):
        data = self.h2.data_to_send()
        if data and not self.closed:
            self.transport.write(data)

    def data_received(self, data):
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.flush()
            self.transport.close()
            return
        for event in events:
            kind = type(event)
            if kind is h2.events.RequestReceived:
                self.request_received(event)
            elif kind is h2.events.DataReceived:
                req = self.requests.get(event.stream_id)
                if req is not None:
                    req.body_len += len(event.data)
                    if len(req.body) < MAX_STORED_BODY:
                        req.body += event.data
                try:
                    self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                      event.stream_id)
                except h2.exceptions.StreamClosedError:
                    pass
            elif kind is h2.events.StreamEnded:
                req = self.requests.get(event.stream_id)
                if req is not None:
                    self.answer(req, self.state.handle(req))
            elif kind is h2.events.StreamReset:
                self.stream_done(event.stream_id)
            elif kind is h2.events.WindowUpdated:
                for stream_id in list(self.sending):
                    self.pump(stream_id)
            elif kind is h2.events.ConnectionTerminated:
                self.flush()
                self.transport.close()
                return
        self.flush()

    def request_received(self, event):
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers]
        pseudo = dict(h for h in headers if h[0].startswith(":"))
        path = pseudo.get(":path", "")
        req = Request(self.conn, event.stream_id, "h2", pseudo.get(":method", ""), path,
                      pseudo.get(":authority", ""), headers)
        self.requests[event.stream_id] = req
        self.state.stream_opened(self.conn, path)

    def answer(self, req, answer):
        if answer.delay_ms:
            asyncio.get_running_loop().call_later(answer.delay_ms / 1000.0, self.send_later,
                                                  req.stream_id, answer)
        else:
            self.send(req.stream_id, answer)

    def send_later(self, stream_id, answer):
        self.send(stream_id, answer)
        self.flush()

    def send(self, stream_id, answer):
        if self.closed or stream_id not in self.requests:
            return
        if answer.action == "close":
            self.transport.abort()
            self.closed = True
            return
        try:
            if answer.action == "reset":
                self.h2.reset_stream(stream_id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                self.stream_done(stream_id)
                return
            headers = [(b":status", str(answer.status).encode("ascii"))]
            headers.extend((n.encode("latin-1"), v.encode("utf-8")) for n, v in answer.headers)
            headers.append((b"content-length", str(len(answer.body)).encode("ascii")))
            self.h2.send_headers(stream_id, headers, end_stream=not answer.body)
        except h2.exceptions.StreamClosedError:
            self.stream_done(stream_id)
            return
        if answer.body:
            self.sending[stream_id] = memoryview(answer.body)
            self.pump(stream_id)
        else:
            self.stream_done(stream_id)

    def pump(self, stream_id):
        data = self.sending[stream_id]
        try:
            while data:
                size = min(self.h2.local_flow_control_window(stream_id),
                           self.h2.max_outbound_frame_size, len(data))
                if size <= 0:
                    self.sending[stream_id] = data
                    return
                self.h2.send_data(stream_id, data[:size].tobytes(), end_stream=size == len(data))
                data = data[size:]
        except h2.exceptions.StreamClosedError:
            pass
        self.stream_done(stream_id)

    def stream_done(self, stream_id):
        self.sending.pop(stream_id, None)
        if self.requests.pop(stream_id, None) is not None:
            self.conn.open_streams -= 1

    def lost(self):
        self.closed = True
        self.requests.clear()
        self.sending.clear()


class H1Session:
    """HTTP/1.1 with Content-Length bodies and keep-alive, one request at a time."""

    def __init__(self, conn):
        self.conn = conn
        self.state = conn.state
        self.transport = conn.transport
        self.buffer = bytearray()
        self.busy = False
        self.closed = False
        self.continued = False
        self.stream = 0

    def data_received(self, data):
        self.buffer += data
        self.process()

    def fail(self, status):
        reason = answers.phrase(status)
        self.transport.write(("HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                              % (status, reason)).encode("ascii"))
        self.transport.close()
        self.closed = True

    def process(self):
        while not self.busy and not self.closed:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEADER_BYTES:
                    self.fail(431)
                return
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                self.fail(400)
                return
            headers = []
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if not sep or not name or name != name.strip():
                    self.fail(400)
                    return
                headers.append((name.lower(), value.strip()))
            lengths = {v for n, v in headers if n == "content-length"}
            if any(n == "transfer-encoding" for n, _ in headers):
                self.fail(411)
                return
            if len(lengths) > 1 or not all(v.isascii() and v.isdigit() for v in lengths):
                self.fail(400)
                return
            length = int(lengths.pop()) if lengths else 0
            if length > MAX_STORED_BODY:
                self.fail(413)
                return
            if len(self.buffer) < end + 4 + length:
                expect = next((v for n, v in headers if n == "expect"), "")
                if expect.lower() == "100-continue" and not self.continued:
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                    self.continued = True
                return
            self.continued = False
            body = bytes(self.buffer[end + 4:end + 4 + length])
            del self.buffer[:end + 4 + length]
            self.stream += 1
            authority = next((v for n, v in headers if n == "host"), "")
            req = Request(self.conn, self.stream, "http/1.1", parts[0], parts[1], authority,
                          headers)
            req.body = body
            req.body_len = length
            self.state.stream_opened(self.conn, parts[1])
            keep_alive = (parts[2] == "HTTP/1.1"
                          and req.hmap.get("connection", "").lower() != "close")
            answer = self.state.handle(req)
            self.busy = True
            if answer.delay_ms:
                asyncio.get_running_loop().call_later(answer.delay_ms / 1000.0, self.send,
                                                      answer, keep_alive)
            else:
                self.send(answer, keep_alive)

    def send(self, answer, keep_alive):
        self.conn.open_streams -= 1
        self.busy = False
        if self.closed:
            return
        if answer.action is not None:
            self.transport.abort()
            self.closed = True
            return
        head = ["HTTP/1.1 %d %s" % (answer.status, answers.phrase(answer.status))]
        head.extend("%s: %s" % h for h in answer.headers)
        head.append("content-length: %d" % len(answer.body))
        if not keep_alive:
            head.append("connection: close")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + answer.body)
        if not keep_alive:
            self.transport.close()
            self.closed = True
            return
        self.process()

    def lost(self):
        self.closed = True


def on_loop(loop, fn, *args):
    """Run fn(*args) on the event loop's thread and return its result (or raise)."""
    future = concurrent.futures.Future()

    def run():
        try:
            future.set_result(fn(*args))
        except Exception as e:
            future.set_exception(e)
    loop.call_soon_threadsafe(run)
    return future.result(timeout=30)


def control_handler(state, loop):
    def configure(sections):
        unknown = set(sections) - set(state.providers)
        if unknown:
            raise ValueError("unknown providers: " + ", ".join(sorted(unknown)))
        for name, section in sections.items():
            if not isinstance(section, dict):
                raise ValueError(name + " section must be an object")
            state.providers[name].configure(section)
        return current_config()

    def current_config():
        return {name: p.config() for name, p in state.providers.items()}

    def script(body):
        provider = state.providers.get(body.get("provider"))
        if provider is None:
            raise ValueError("provider must be one of " + ", ".join(state.providers))
        responses = body.get("responses")
        if not isinstance(responses, list):
            raise ValueError("responses must be a list")
        for entry in responses:
            answers.check_entry(entry, provider.SCRIPT_KEYS, provider.ENDPOINTS)
        queue = state.scripts[provider.NAME]
        if body.get("replace"):
            queue.clear()
        queue.extend([entry, entry.get("count", 1)] for entry in responses)
        return {"queued": len(queue)}

    def received(query):
        provider = query.get("provider", [None])[0]
        since = int(query.get("since", ["0"])[0])
        return [r for r in state.records
                if r["seq"] > since and (provider is None or r["provider"] == provider)]

    def expire(body):
        names = [body["provider"]] if body.get("provider") else ["fcm", "wns"]
        for name in names:
            if name not in ("fcm", "wns"):
                raise ValueError("only fcm and wns issue access tokens")
            state.providers[name].expire_tokens()
        return {"expired": names}

    def reset(body):
        state.reset(bool(body.get("tokens")))
        return {"ok": True}

    posts = {"/config": configure, "/script": script, "/reset": reset,
             "/expire-tokens": expire}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def reply(self, status, obj):
            data = json.dumps(obj).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            try:
                if url.path == "/health":
                    self.reply(200, {"ok": True, "port": state.args.port,
                                     "control_port": state.args.control_port,
                                     "pid": os.getpid()})
                elif url.path == "/config":
                    self.reply(200, on_loop(loop, current_config))
                elif url.path == "/received":
                    self.reply(200, on_loop(loop, received, query))
                elif url.path == "/stats":
                    self.reply(200, on_loop(loop, lambda: json.loads(json.dumps(state.stats))))
                else:
                    self.reply(404, {"error": "no such control endpoint"})
            except Exception as e:
                self.reply(400, {"error": "%s: %s" % (type(e).__name__, e)})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length) if length else b"{}"
            fn = posts.get(urlsplit(self.path).path)
            if fn is None:
                self.reply(404, {"error": "no such control endpoint"})
                return
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise ValueError("body must be a JSON object")
                self.reply(200, on_loop(loop, fn, body))
            except Exception as e:
                self.reply(400, {"error": "%s: %s" % (type(e).__name__, e)})

    return Handler


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if args.client_ca:
        ctx.load_verify_locations(args.client_ca)
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


async def serve(args):
    loop = asyncio.get_running_loop()
    state = State(args)
    server = await loop.create_server(lambda: Connection(state), "127.0.0.1", args.port,
                                      ssl=tls_context(args), backlog=1024)
    HTTPServer.allow_reuse_address = True
    control = HTTPServer(("127.0.0.1", args.control_port), control_handler(state, loop))
    threading.Thread(target=control.serve_forever, daemon=True).start()
    if not args.quiet:
        print("mock providers on https://127.0.0.1:%d, control on http://127.0.0.1:%d"
              % (args.port, args.control_port), file=sys.stderr)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    server.close()
    control.server_close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-ca")
    parser.add_argument("--origin-host", default="push.mock.test")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    _cache_huffman_decoding()
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
