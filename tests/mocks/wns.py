"""Mock Windows Push Notification Services and its OAuth token endpoint.

  POST /wns/token          client credentials -> access token
  POST /wns/channel/<id>   send one notification

Configuration (control API, POST /config, section "wns"):
  {"clients": [{"client_id", "client_secret"}], "expires_in": 86400 (optional)}

Token endpoint ("Push notification service request and response headers" in
Microsoft's documentation): form-encoded grant_type=client_credentials, client_id,
client_secret, scope=notify.windows.com. Unknown client or wrong secret -> 400
{"error": "invalid_client"}; wrong grant type -> unsupported_grant_type; wrong scope
-> invalid_scope; missing parameter -> invalid_request.

Channel: Authorization: Bearer <token issued here> -> else 401 (an expired token adds
WWW-Authenticate with error="invalid_token"); X-WNS-Type wns/toast | wns/tile |
wns/badge | wns/raw -> else 400; Content-Type text/xml for toast, tile and badge,
application/octet-stream for raw -> else 400; X-WNS-TTL an integer,
X-WNS-Cache-Policy cache | no-cache, X-WNS-RequestForStatus and X-WNS-SuppressPopup
true | false, X-WNS-Tag and X-WNS-Group at most 16 characters -> else 400; body not
empty and at most 5000 bytes -> else 400 / 413; XML bodies well-formed UTF-8 without a
DOCTYPE and with the root element the type names (<toast>, <tile>, <badge>) -> else
400. Errors carry X-WNS-Error-Description and X-WNS-Debug-Trace headers and no body;
success is 200 with X-WNS-Status: received and X-WNS-Msg-ID.
"""
import re
import secrets
import time
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qsl

from answer import Answer, apply_common, json_answer

NAME = "wns"
TYPES = {"wns/toast": "toast", "wns/tile": "tile", "wns/badge": "badge", "wns/raw": None}
SCOPE = "notify.windows.com"
MAX_BODY = 5000
MAX_TAG = 16
BOOLEANS = frozenset({"true", "false"})
CACHE_POLICIES = frozenset({"cache", "no-cache"})
DESCRIPTIONS = {400: "Bad request", 401: "Invalid or missing access token",
                403: "Token does not match the channel's app", 404: "Channel not found",
                405: "Only POST is allowed", 406: "Throttle limit exceeded",
                410: "The channel expired", 413: "Notification payload exceeds 5000 bytes",
                429: "Too many requests", 500: "Internal server error",
                503: "Service unavailable"}

_ID = re.compile(r"[A-Za-z0-9_.%+=\-]{1,512}")


class Refusal(Exception):
    def __init__(self, answer):
        super().__init__(answer.verdict)
        self.answer = answer


def wns_error(status, description, headers=None):
    hdrs = [("x-wns-error-description", description), ("x-wns-debug-trace", "MOCK-WNS")]
    hdrs.extend(headers or [])
    return Refusal(Answer(status, hdrs, b"", description))


def oauth_error(error, description=None):
    body = {"error": error}
    if description:
        body["error_description"] = description
    return Refusal(json_answer(400, body, verdict=error))


def msg_id():
    return secrets.token_hex(8).upper()


class Wns:
    NAME = NAME
    ENDPOINTS = frozenset({"send", "token"})
    SCRIPT_KEYS = frozenset({"wns_status", "error_description", "oauth_error"})
    H2_ONLY = False

    def __init__(self, settings):
        self.settings = settings
        self.section = {"clients": []}
        self.clients = {}
        self.tokens = {}

    def route(self, path):
        if path == "/wns/token":
            return "token"
        if path.startswith("/wns/channel/"):
            return "send"
        return None

    def configure(self, section):
        clients = {c["client_id"]: c["client_secret"] for c in section.get("clients", [])}
        expires_in = section.get("expires_in", 86400)
        if not isinstance(expires_in, int) or expires_in < 1:
            raise ValueError("expires_in must be a positive integer")
        self.section = section
        self.clients = clients

    def config(self):
        return self.section

    def forget_tokens(self):
        self.tokens = {}

    def expire_tokens(self):
        for token in self.tokens:
            self.tokens[token] = 0

    def verify(self, req):
        try:
            if req.endpoint == "token":
                return self.issue_token(req)
            return self.send(req)
        except Refusal as e:
            return e.answer

    def issue_token(self, req):
        if req.method != "POST":
            raise oauth_error("invalid_request", "POST required")
        ctype = req.hmap.get("content-type", "")
        if ctype.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            raise oauth_error("invalid_request", "Content-Type must be "
                              "application/x-www-form-urlencoded")
        try:
            pairs = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True,
                              strict_parsing=True)
        except (ValueError, UnicodeDecodeError):
            raise oauth_error("invalid_request", "Malformed form body")
        form = dict(pairs)
        if len(form) != len(pairs):
            raise oauth_error("invalid_request", "Duplicate parameter")
        for name in ("grant_type", "client_id", "client_secret", "scope"):
            if name not in form:
                raise oauth_error("invalid_request", "Missing parameter " + name)
        if form["grant_type"] != "client_credentials":
            raise oauth_error("unsupported_grant_type")
        if self.clients.get(form["client_id"]) != form["client_secret"]:
            raise oauth_error("invalid_client", "Invalid client id or secret")
        if form["scope"] != SCOPE:
            raise oauth_error("invalid_scope")
        expires_in = self.section.get("expires_in", 86400)
        token = "EgAaAQMAAAAE" + secrets.token_urlsafe(32)
        self.tokens[token] = time.time() + expires_in
        return json_answer(200, {"access_token": token, "token_type": "bearer",
                                 "expires_in": expires_in})

    def send(self, req):
        if req.method != "POST":
            raise wns_error(405, DESCRIPTIONS[405])
        channel = req.path[len("/wns/channel/"):]
        req.target = channel
        if not _ID.fullmatch(channel):
            raise wns_error(404, DESCRIPTIONS[404])
        auth = req.hmap.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        expires = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None:
            raise wns_error(401, DESCRIPTIONS[401])
        if expires <= time.time():
            raise wns_error(401, "Token has expired", [(
                "www-authenticate",
                'Bearer error="invalid_token",error_description="Token has expired"')])
        kind = req.hmap.get("x-wns-type")
        if kind not in TYPES:
            raise wns_error(400, "X-WNS-Type must be one of " + ", ".join(TYPES))
        root = TYPES[kind]
        want = "text/xml" if root else "application/octet-stream"
        ctype = req.hmap.get("content-type", "")
        if ctype.split(";")[0].strip().lower() != want:
            raise wns_error(400, "Content-Type must be %s for %s" % (want, kind))
        self.check_options(req.hmap)
        if req.body_len > MAX_BODY:
            raise wns_error(413, DESCRIPTIONS[413])
        if not req.body_len:
            raise wns_error(400, "Empty notification payload")
        if root:
            self.check_xml(req.body, root)
        headers = [("x-wns-status", "received"), ("x-wns-msg-id", msg_id()),
                   ("x-wns-debug-trace", "MOCK-WNS")]
        if req.hmap.get("x-wns-requestforstatus") == "true":
            headers.append(("x-wns-deviceconnectionstatus", "connected"))
        return Answer(200, headers)

    @staticmethod
    def check_options(hmap):
        ttl = hmap.get("x-wns-ttl")
        if ttl is not None and not (ttl.isascii() and ttl.isdigit()):
            raise wns_error(400, "X-WNS-TTL must be an integer")
        policy = hmap.get("x-wns-cache-policy")
        if policy is not None and policy not in CACHE_POLICIES:
            raise wns_error(400, "X-WNS-Cache-Policy must be cache or no-cache")
        for name in ("x-wns-requestforstatus", "x-wns-suppresspopup"):
            if hmap.get(name) is not None and hmap[name] not in BOOLEANS:
                raise wns_error(400, name + " must be true or false")
        for name in ("x-wns-tag", "x-wns-group"):
            if hmap.get(name) is not None and not 0 < len(hmap[name]) <= MAX_TAG:
                raise wns_error(400, name + " must be 1 to 16 characters")

    @staticmethod
    def check_xml(body, root):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise wns_error(400, "XML payload is not UTF-8")
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise wns_error(400, "XML payload must not contain a DOCTYPE")
        try:
            element = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            raise wns_error(400, "XML payload is not well-formed")
        if element.tag != root:
            raise wns_error(400, "XML root element must be <%s>" % root)

    def scripted(self, entry, req, default):
        """wns_status / error_description for the channel, oauth_error for the token
        endpoint, or a bare status (error statuses get WNS's error headers)."""
        status = entry.get("status")
        if "oauth_error" in entry:
            answer = oauth_error(entry["oauth_error"], entry.get("error_description")).answer
            answer.status = status or 400
        elif status is not None and status >= 300:
            answer = wns_error(status, entry.get("error_description",
                                                 DESCRIPTIONS.get(status, "Error"))).answer
        else:
            answer = default
            if status is not None:
                answer.status = status
        answer.verdict = "ok"
        if "wns_status" in entry:
            answer.set_header("x-wns-status", entry["wns_status"])
        return apply_common(entry, answer)
