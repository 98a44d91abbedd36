"""Mock Apple Push Notification service: POST /3/device/<token> over HTTP/2.

Checks what APNs checks ("Sending notification requests to APNs" and "Handling
notification responses from APNs" in Apple's documentation) and answers with
APNs's error shape: a JSON body {"reason": "..."} (410 adds "timestamp", in ms),
and an apns-id header on every answer.

Configuration (control API, POST /config, section "apns"):
  {"keys": [{"team_id", "key_id", "public_key_pem"}], "topics": ["com.example.app"]}
Configuring again keeps what the mock remembers of keys that stay as they were. A key
id configured with another public key (an operator who fixed a wrong .p8 file, as
Apple sees it: the key registered for that key id is another one) is a new key: tokens
signed by the old one are refused as InvalidProviderToken from then on, and the new
key's token-update history starts empty.
A configured topic also allows its push-type variants (topic + ".voip" for voip,
and so on); push types that need such a suffix are refused without it.

Provider-token rules: ES256 JWT with header {"alg":"ES256","kid"} and claims
{"iss": team id, "iat"}; the kid must be configured and belong to the team; the
signature must verify (raw r||s). iat older than one hour -> 403
ExpiredProviderToken. A token not seen before for a (team, key) whose iat is less
than 20 minutes from the iat of the last token accepted for that (team, key) ->
429 TooManyProviderTokenUpdates (Apple counts token refreshes per team, which is why
herald shares its token); the history is kept per (team, key id, public key). Verified
tokens are cached, with the key that verified them, so a repeated token costs no
signature check while that key stays configured.

Certificate auth: when there is no authorization header, a TLS client certificate
verified against the server's --client-ca authenticates; its subject UID is the app's
bundle id, which is the default topic and the only base topic it may push to.

Payload: not empty, a JSON object with an "aps" dictionary (anything else is 400
PayloadEmpty, Apple's documented reason for a payload it cannot use), at most 4096
bytes (5120 for voip) -> else 413 PayloadTooLarge.
"""
import json
import re
import time

from cryptography.hazmat.primitives.serialization import (Encoding, PublicFormat,
                                                          load_pem_public_key)
from cryptography.hazmat.primitives.asymmetric import ec

import jws
from answer import Answer, apply_common, json_answer, new_id, now_ms

NAME = "apns"

# Documented reasons and the status APNs sends with each.
REASONS = {
    "BadCollapseId": 400, "BadDeviceToken": 400, "BadExpirationDate": 400,
    "BadMessageId": 400, "BadPriority": 400, "BadTopic": 400,
    "DeviceTokenNotForTopic": 400, "DuplicateHeaders": 400, "IdleTimeout": 400,
    "InvalidPushType": 400, "MissingDeviceToken": 400, "MissingTopic": 400,
    "PayloadEmpty": 400, "TopicDisallowed": 400,
    "BadCertificate": 403, "BadCertificateEnvironment": 403,
    "ExpiredProviderToken": 403, "Forbidden": 403, "InvalidProviderToken": 403,
    "MissingProviderToken": 403, "UnrelatedKeyIdInToken": 403,
    "BadEnvironmentKeyIdInToken": 403,
    "BadPath": 404, "MethodNotAllowed": 405,
    "ExpiredToken": 410, "Unregistered": 410,
    "PayloadTooLarge": 413,
    "TooManyProviderTokenUpdates": 429, "TooManyRequests": 429,
    "InternalServerError": 500,
    "ServiceUnavailable": 503, "Shutdown": 503,
}

# apns-push-type values; those whose topic must carry a suffix map to it.
PUSH_TYPES = {
    "alert": "", "background": "", "mdm": "",
    "location": ".location-query", "voip": ".voip", "complication": ".complication",
    "fileprovider": ".pushkit.fileprovider", "liveactivity": ".push-type.liveactivity",
    "pushtotalk": ".voip-ptt",
}
PRIORITIES = frozenset({"1", "5", "10"})
TOKEN_LIFETIME = 3600
TOKEN_UPDATE_INTERVAL = 1200
CLOCK_SKEW = 60
MAX_PAYLOAD = 4096
MAX_VOIP_PAYLOAD = 5120
MAX_COLLAPSE_ID = 64
TOKEN_CACHE_LIMIT = 10000

_HEX_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){8,100}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SINGLE_HEADERS = ("authorization", "apns-topic", "apns-push-type", "apns-priority",
                   "apns-expiration", "apns-collapse-id", "apns-id")


class ProviderError(Exception):
    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class Apns:
    NAME = NAME
    ENDPOINTS = frozenset({"send"})
    SCRIPT_KEYS = frozenset({"reason", "timestamp"})
    H2_ONLY = True

    def __init__(self, settings):
        self.settings = settings
        self.section = {"keys": [], "topics": []}
        self.keys = {}
        self.topics = frozenset()
        self.forget_tokens()

    def route(self, path):
        return "send" if path.startswith("/3/") or path == "/3" else None

    def configure(self, section):
        keys = {}
        for k in section.get("keys", []):
            pub = load_pem_public_key(k["public_key_pem"].encode("ascii"))
            if not isinstance(pub, ec.EllipticCurvePublicKey) or pub.curve.name != "secp256r1":
                raise ValueError("APNs keys are P-256 keys")
            keys[k["key_id"]] = (k["team_id"], pub,
                                 pub.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
        topics = section.get("topics", [])
        if not all(isinstance(t, str) for t in topics):
            raise ValueError("topics must be strings")
        self.section = section
        self.keys = keys
        self.topics = frozenset(topics)

    def config(self):
        return self.section

    def forget_tokens(self):
        """Forget verified tokens and the token-update history."""
        self.verified = {}
        self.accepted = set()
        self.last_iat = {}

    def error(self, reason, apns_id, timestamp=None):
        body = {"reason": reason}
        if timestamp is not None:
            body["timestamp"] = timestamp
        return json_answer(REASONS.get(reason, 400), body, verdict=reason,
                           headers=[("apns-id", apns_id)])

    def verify(self, req):
        apns_id = req.hmap.get("apns-id") or new_id()
        try:
            self.check(req)
        except ProviderError as e:
            return self.error(e.reason, apns_id)
        return Answer(200, [("apns-id", apns_id)])

    def check(self, req):
        if req.method != "POST":
            raise ProviderError("MethodNotAllowed")
        if not req.path.startswith("/3/device/"):
            raise ProviderError("MissingDeviceToken" if req.path in ("/3/device", "/3/device/")
                                else "BadPath")
        token = req.path[len("/3/device/"):]
        req.target = token
        if not token:
            raise ProviderError("MissingDeviceToken")
        if not _HEX_TOKEN.fullmatch(token):
            raise ProviderError("BadDeviceToken")
        if any(name in req.dups for name in _SINGLE_HEADERS):
            raise ProviderError("DuplicateHeaders")
        cert_topic = self.authenticate(req)
        push_type = req.hmap.get("apns-push-type", "alert")
        if push_type not in PUSH_TYPES:
            raise ProviderError("InvalidPushType")
        topic = req.hmap.get("apns-topic")
        if topic is None:
            if cert_topic is None:
                raise ProviderError("MissingTopic")
            topic = cert_topic + PUSH_TYPES[push_type]
        self.check_topic(topic, push_type, cert_topic)
        priority = req.hmap.get("apns-priority", "10")
        if priority not in PRIORITIES:
            raise ProviderError("BadPriority")
        if push_type == "background" and priority != "5":
            raise ProviderError("BadPriority")
        expiration = req.hmap.get("apns-expiration")
        if expiration is not None and not (expiration.isascii() and expiration.isdigit()):
            raise ProviderError("BadExpirationDate")
        collapse_id = req.hmap.get("apns-collapse-id")
        if collapse_id is not None and len(collapse_id.encode("latin-1")) > MAX_COLLAPSE_ID:
            raise ProviderError("BadCollapseId")
        apns_id = req.hmap.get("apns-id")
        if apns_id is not None and not _UUID.fullmatch(apns_id):
            raise ProviderError("BadMessageId")
        limit = MAX_VOIP_PAYLOAD if push_type == "voip" else MAX_PAYLOAD
        if req.body_len > limit:
            raise ProviderError("PayloadTooLarge")
        self.check_payload(req.body)

    def authenticate(self, req):
        """Check the provider token or client certificate; return the certificate's topic."""
        auth = req.hmap.get("authorization")
        if auth is not None:
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise ProviderError("InvalidProviderToken")
            self.check_token(token.strip())
            return None
        if req.peer_cert is None:
            raise ProviderError("MissingProviderToken")
        for rdn in req.peer_cert.get("subject", ()):
            for name, value in rdn:
                if name == "userId":
                    return value
        raise ProviderError("BadCertificate")

    def check_token(self, token):
        known = self.verified.get(token)
        if known is None or self.key_of(known[0], known[1]) != known[3]:
            known = self.verify_token(token)
        team, kid, iat, key = known
        now = time.time()
        if iat < now - TOKEN_LIFETIME:
            raise ProviderError("ExpiredProviderToken")
        if token in self.accepted:
            return
        last = self.last_iat.get((team, kid, key))
        if last is not None and abs(iat - last) < TOKEN_UPDATE_INTERVAL:
            raise ProviderError("TooManyProviderTokenUpdates")
        self.accepted.add(token)
        self.last_iat[(team, kid, key)] = iat if last is None else max(iat, last)

    def key_of(self, team, kid):
        """The identity (DER) of the public key configured for (team, kid), or None."""
        found = self.keys.get(kid)
        return found[2] if found is not None and found[0] == team else None

    def verify_token(self, token):
        try:
            header, claims, signing_input, signature = jws.parse(token)
        except jws.JwsError:
            raise ProviderError("InvalidProviderToken")
        kid = header.get("kid")
        iss = claims.get("iss")
        iat = claims.get("iat")
        if header.get("alg") != "ES256" or kid not in self.keys:
            raise ProviderError("InvalidProviderToken")
        team, public_key, key = self.keys[kid]
        if iss != team or not isinstance(iat, int) or isinstance(iat, bool):
            raise ProviderError("InvalidProviderToken")
        if iat > time.time() + CLOCK_SKEW:
            raise ProviderError("InvalidProviderToken")
        try:
            jws.verify_es256(public_key, signing_input, signature)
        except jws.JwsError:
            raise ProviderError("InvalidProviderToken")
        if len(self.verified) >= TOKEN_CACHE_LIMIT:
            self.verified.clear()
        self.verified[token] = (team, kid, iat, key)
        return team, kid, iat, key

    def check_topic(self, topic, push_type, cert_topic):
        suffix = PUSH_TYPES[push_type]
        if suffix:
            if not topic.endswith(suffix):
                raise ProviderError("TopicDisallowed")
            base = topic[:-len(suffix)]
        else:
            base = topic
        if base not in self.topics and topic not in self.topics:
            raise ProviderError("TopicDisallowed")
        if cert_topic is not None and base != cert_topic:
            raise ProviderError("TopicDisallowed")

    @staticmethod
    def check_payload(body):
        if not body:
            raise ProviderError("PayloadEmpty")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ProviderError("PayloadEmpty")
        if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
            raise ProviderError("PayloadEmpty")

    def scripted(self, entry, req, default):
        """A scripted answer: "reason" (status from Apple's table unless given) and
        for 410 a "timestamp" (ms, default now); no reason and no status -> default."""
        apns_id = req.hmap.get("apns-id") or default.headers[0][1]
        reason = entry.get("reason")
        status = entry.get("status")
        if reason is None and status is None:
            return apply_common(entry, default)
        if reason is None:
            answer = Answer(status, [("apns-id", apns_id)])
        else:
            timestamp = None
            if (status or REASONS.get(reason)) == 410:
                timestamp = entry.get("timestamp", now_ms())
            answer = self.error(reason, apns_id, timestamp)
            answer.verdict = "ok"
            if status is not None:
                answer.status = status
        return apply_common(entry, answer)
