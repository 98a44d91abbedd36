"""Mock Web Push service (RFC 8030) with VAPID (RFC 8292) and aes128gcm (RFC 8291).

  POST /wp/<subscription-id>

Configuration (control API, POST /config, section "webpush"):
  {"origin": "https://push.mock.test",      (default https://<--origin-host>)
   "vapid_keys": ["<base64url P-256 key>"]}  (optional: if given, the only application
                                              server keys allowed: others -> 403, as for a
                                              subscription restricted to one key)

Checks, in order:
  TTL header present (RFC 8030 section 5.2) and a non-negative integer -> else 400;
  Urgency, if given, very-low | low | normal | high (RFC 8030 section 5.3) -> else 400;
  Topic, if given, at most 32 base64url characters (RFC 8030 section 5.4) -> else 400;
  Authorization: vapid t=<JWT>, k=<key> (RFC 8292 section 3): absent or malformed,
    k not a P-256 point, alg not ES256, signature not verifying with k, aud not the
    configured origin, exp not in the future or more than 24 hours ahead, sub not a
    mailto: or https: URI -> 401; k not an allowed key -> 403;
  body at most 4096 octets (RFC 8030 section 7.2 / RFC 8291 section 4) -> else 413;
  a non-empty body needs Content-Encoding: aes128gcm -> else 415, and a well-formed
    RFC 8188 header as RFC 8291 section 4 restricts it: rs >= 18, idlen 65 holding an
    uncompressed P-256 point, one record of at least 17 octets and shorter than rs
    -> else 400.
Success is 201 Created with a Location naming the push message resource. Errors carry
the JSON shape of Mozilla's push service: {"code", "errno", "error", "message"}.
Verified (t, k) pairs are cached; exp is still checked on every request.
"""
import re
import struct
import time

import jws
from answer import Answer, apply_common, json_answer, new_id, phrase

NAME = "webpush"
URGENCIES = frozenset({"very-low", "low", "normal", "high"})
MAX_BODY = 4096
MAX_TOPIC = 32
MAX_VAPID_LIFETIME = 24 * 3600
CLOCK_SKEW = 60
HEADER_LEN = 86
TAG_LEN = 16
CACHE_LIMIT = 10000

_ID = re.compile(r"[A-Za-z0-9_\-]{1,512}")
_TOPIC = re.compile(r"[A-Za-z0-9_\-]{1,%d}" % MAX_TOPIC)
_VAPID_PARAM = re.compile(r"\s*([tk])\s*=\s*([A-Za-z0-9_.\-]+)\s*")

# errno values of Mozilla's push service for the same faults.
ERRNO = {404: 102, 410: 103, 413: 104, 401: 109, 403: 109, 429: 201, 503: 201, 500: 999}


class Refusal(Exception):
    def __init__(self, status, message, errno=None):
        super().__init__(message)
        self.status = status
        self.errno = errno


def error_answer(status, message, errno=None, verdict=None):
    body = {"code": status, "errno": errno or ERRNO.get(status, 999),
            "error": phrase(status), "message": message}
    return json_answer(status, body, verdict=verdict or message)


class WebPush:
    NAME = NAME
    ENDPOINTS = frozenset({"send"})
    SCRIPT_KEYS = frozenset({"message", "errno"})
    H2_ONLY = False

    def __init__(self, settings):
        self.settings = settings
        self.section = {}
        self.origin = "https://" + settings.origin_host
        self.allowed_keys = None
        self.verified = {}

    def route(self, path):
        return "send" if path.startswith("/wp/") else None

    def configure(self, section):
        origin = section.get("origin", "https://" + self.settings.origin_host)
        keys = section.get("vapid_keys")
        if keys is not None:
            for k in keys:
                jws.p256_public_key(jws.b64url_decode(k))
        self.section = section
        self.origin = origin
        self.allowed_keys = frozenset(keys) if keys is not None else None
        self.verified = {}

    def config(self):
        return dict(self.section, origin=self.origin)

    def forget_tokens(self):
        self.verified = {}

    def verify(self, req):
        try:
            self.check(req)
        except Refusal as e:
            return error_answer(e.status, str(e), e.errno)
        location = "%s/m/%s" % (self.origin, new_id())
        return Answer(201, [("location", location)])

    def check(self, req):
        if req.method != "POST":
            raise Refusal(405, "Method not allowed")
        sub_id = req.path[len("/wp/"):]
        req.target = sub_id
        if not _ID.fullmatch(sub_id):
            raise Refusal(404, "Invalid URL endpoint")
        ttl = req.hmap.get("ttl")
        if ttl is None:
            raise Refusal(400, "Missing TTL header", 111)
        if not (ttl.isascii() and ttl.isdigit()):
            raise Refusal(400, "Invalid TTL header value", 112)
        urgency = req.hmap.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise Refusal(400, "Invalid Urgency header value", 110)
        topic = req.hmap.get("topic")
        if topic is not None and not _TOPIC.fullmatch(topic):
            raise Refusal(400, "Invalid Topic header value", 113)
        self.check_vapid(req.hmap.get("authorization"))
        if req.body_len > MAX_BODY:
            raise Refusal(413, "Data payload too large")
        if req.body_len:
            encoding = req.hmap.get("content-encoding", "")
            if encoding.strip().lower() != "aes128gcm":
                raise Refusal(415, "Content-Encoding must be aes128gcm", 110)
            self.check_aes128gcm(req.body)

    def check_vapid(self, auth):
        if auth is None:
            raise Refusal(401, "Missing Authorization header")
        scheme, _, rest = auth.strip().partition(" ")
        if scheme.lower() != "vapid":
            raise Refusal(401, "Authorization scheme must be vapid")
        params = {}
        for part in rest.split(","):
            m = _VAPID_PARAM.fullmatch(part)
            if m is None or m.group(1) in params:
                raise Refusal(401, "Malformed vapid parameters")
            params[m.group(1)] = m.group(2)
        if set(params) != {"t", "k"}:
            raise Refusal(401, "vapid needs t and k")
        token, key = params["t"], params["k"]
        claims = self.verified.get((token, key))
        if claims is None:
            claims = self.verify_jwt(token, key)
        exp, now = claims["exp"], time.time()
        if exp <= now:
            raise Refusal(401, "VAPID token expired")
        if exp > now + MAX_VAPID_LIFETIME + CLOCK_SKEW:
            raise Refusal(401, "VAPID exp more than 24 hours ahead")
        if self.allowed_keys is not None and key not in self.allowed_keys:
            raise Refusal(403, "Key does not match the subscription's application server key")

    def verify_jwt(self, token, key):
        try:
            public_key = jws.p256_public_key(jws.b64url_decode(key))
            header, claims, signing_input, signature = jws.parse(token)
        except jws.JwsError as e:
            raise Refusal(401, "Invalid VAPID key or token: %s" % e)
        if header.get("alg") != "ES256":
            raise Refusal(401, "VAPID alg must be ES256")
        try:
            jws.verify_es256(public_key, signing_input, signature)
        except jws.JwsError:
            raise Refusal(401, "VAPID signature does not verify with k")
        if claims.get("aud") != self.origin:
            raise Refusal(401, "VAPID aud is not the push service's origin " + self.origin)
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise Refusal(401, "VAPID exp missing or not an integer")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not (sub.startswith("mailto:") or sub.startswith("https:")):
            raise Refusal(401, "VAPID sub must be a mailto: or https: URI")
        if len(self.verified) >= CACHE_LIMIT:
            self.verified.clear()
        self.verified[(token, key)] = claims
        return claims

    @staticmethod
    def check_aes128gcm(body):
        if len(body) < HEADER_LEN:
            raise Refusal(400, "Body shorter than an aes128gcm header", 110)
        rs = struct.unpack(">I", body[16:20])[0]
        idlen = body[20]
        if rs < 18:
            raise Refusal(400, "aes128gcm rs below 18", 110)
        if idlen != 65:
            raise Refusal(400, "aes128gcm keyid is not a 65-octet P-256 point", 110)
        try:
            jws.p256_public_key(body[21:HEADER_LEN])
        except jws.JwsError:
            raise Refusal(400, "aes128gcm keyid is not a P-256 point", 110)
        record = len(body) - HEADER_LEN
        if record < TAG_LEN + 1:
            raise Refusal(400, "aes128gcm record shorter than delimiter and tag", 110)
        if record >= rs:
            raise Refusal(400, "aes128gcm record does not fit one record of rs octets", 110)

    def scripted(self, entry, req, default):
        status = entry.get("status")
        if status is None or status < 300:
            answer = default
            if status is not None:
                answer.status = status
        else:
            answer = error_answer(status, entry.get("message", phrase(status)),
                                  entry.get("errno"), "ok")
        return apply_common(entry, answer)
