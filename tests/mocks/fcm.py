"""Mock Firebase Cloud Messaging HTTP v1 and its Google OAuth2 token endpoint.

  POST /fcm/token                              service-account JWT -> access token
  POST /v1/projects/<project>/messages:send    send one message

Configuration (control API, POST /config, section "fcm"):
  {"accounts": [{"client_email", "public_key_pem", "project_id"}],
   "token_audience": "https://..."   (optional; default https://<:authority>/fcm/token),
   "expires_in": 3599}               (optional; lifetime of issued access tokens)

Token endpoint (RFC 7523 as Google runs it): form-encoded grant_type
urn:ietf:params:oauth:grant-type:jwt-bearer and assertion, an RS256 JWT whose iss is
a configured client_email and verifies with that account's key, with aud the token
endpoint, a non-empty scope, exp in the future and exp - iat <= 3600. Failures answer
400 {"error": "invalid_grant" | "invalid_scope" | "invalid_request" |
"unsupported_grant_type", "error_description": ...}.

Send: Authorization: Bearer <access token issued here and not expired> else 401
UNAUTHENTICATED; the token's scope must include firebase.messaging (or
cloud-platform) and its account's project must be the path's, else 403
PERMISSION_DENIED. The body is {"message": {...}, "validate_only"?} checked against
the v1 Message schema: unknown fields (camelCase or snake_case names, as Google's
JSON parser accepts), wrong types, data values that are not strings, bad enums
(android.priority NORMAL/HIGH, any case), durations like "86400s", exactly one of
token/topic/condition, reserved data keys, and the 4096-byte limit on the message
without its target (compact JSON) -> 400 INVALID_ARGUMENT. Errors use Google's shape
{"error": {"code", "message", "status", "details": [...]}} with an FcmError detail
where FCM sends one.
"""
import json
import re
import secrets
import time
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

import jws
from answer import apply_common, json_answer

NAME = "fcm"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SEND_SCOPES = frozenset({"https://www.googleapis.com/auth/firebase.messaging",
                         "https://www.googleapis.com/auth/cloud-platform"})
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 60
MAX_MESSAGE = 4096

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 409: "ABORTED",
                429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
                503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
FCM_ERRORS = {
    "UNSPECIFIED_ERROR": (500, "No more information is available about this error."),
    "INVALID_ARGUMENT": (400, "The registration token is not a valid FCM registration token"),
    "UNREGISTERED": (404, "Requested entity was not found."),
    "SENDER_ID_MISMATCH": (403, "SenderId mismatch"),
    "QUOTA_EXCEEDED": (429, "Quota exceeded for quota metric 'Send requests'."),
    "UNAVAILABLE": (503, "The service is currently unavailable."),
    "INTERNAL": (500, "Internal error encountered."),
    "THIRD_PARTY_AUTH_ERROR": (401, "Auth error from APNS or Web Push Service"),
}
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
QUOTA_RETRY_AFTER = 60

# The v1 Message schema: field -> type name or nested schema name.
STR, BOOL, INT, NUM, STRMAP, STRUCT, STRLIST, DURATION, DURLIST, TIMESTAMP = (
    "string", "bool", "int", "number", "map", "struct", "strings", "duration",
    "durations", "timestamp")
ENUMS = {
    "AndroidMessagePriority": frozenset({"NORMAL", "HIGH"}),
    "NotificationPriority": frozenset({"PRIORITY_UNSPECIFIED", "PRIORITY_MIN", "PRIORITY_LOW",
                                       "PRIORITY_DEFAULT", "PRIORITY_HIGH", "PRIORITY_MAX"}),
    "Visibility": frozenset({"VISIBILITY_UNSPECIFIED", "PRIVATE", "PUBLIC", "SECRET"}),
    "Proxy": frozenset({"PROXY_UNSPECIFIED", "ALLOW", "DENY", "IF_PRIORITY_LOWERED"}),
}
SCHEMAS = {
    "Message": {"name": STR, "data": STRMAP, "notification": "Notification",
                "android": "AndroidConfig", "webpush": "WebpushConfig", "apns": "ApnsConfig",
                "fcmOptions": "FcmOptions", "token": STR, "topic": STR, "condition": STR},
    "Notification": {"title": STR, "body": STR, "image": STR},
    "AndroidConfig": {"collapseKey": STR, "priority": "AndroidMessagePriority",
                      "ttl": DURATION, "restrictedPackageName": STR, "data": STRMAP,
                      "notification": "AndroidNotification", "fcmOptions": "AndroidFcmOptions",
                      "directBootOk": BOOL, "bandwidthConstrainedOk": BOOL,
                      "restrictedSatelliteOk": BOOL},
    "AndroidNotification": {
        "title": STR, "body": STR, "icon": STR, "color": STR, "sound": STR, "tag": STR,
        "clickAction": STR, "bodyLocKey": STR, "bodyLocArgs": STRLIST, "titleLocKey": STR,
        "titleLocArgs": STRLIST, "channelId": STR, "ticker": STR, "sticky": BOOL,
        "eventTime": TIMESTAMP, "localOnly": BOOL,
        "notificationPriority": "NotificationPriority", "defaultSound": BOOL,
        "defaultVibrateTimings": BOOL, "defaultLightSettings": BOOL,
        "vibrateTimings": DURLIST, "visibility": "Visibility", "notificationCount": INT,
        "lightSettings": "LightSettings", "image": STR, "bypassProxyNotification": BOOL,
        "proxy": "Proxy"},
    "LightSettings": {"color": "Color", "lightOnDuration": DURATION,
                      "lightOffDuration": DURATION},
    "Color": {"red": NUM, "green": NUM, "blue": NUM, "alpha": NUM},
    "AndroidFcmOptions": {"analyticsLabel": STR},
    "WebpushConfig": {"headers": STRMAP, "data": STRMAP, "notification": STRUCT,
                      "fcmOptions": "WebpushFcmOptions"},
    "WebpushFcmOptions": {"link": STR, "analyticsLabel": STR},
    "ApnsConfig": {"headers": STRMAP, "payload": STRUCT, "fcmOptions": "ApnsFcmOptions",
                   "liveActivityToken": STR},
    "ApnsFcmOptions": {"analyticsLabel": STR, "image": STR},
    "FcmOptions": {"analyticsLabel": STR},
}
TARGETS = ("token", "topic", "condition")
RESERVED_DATA_KEYS = frozenset({"from", "message_type"})

_SEND_PATH = re.compile(r"/v1/projects/([^/]+)/messages:send")
_INTEGER = re.compile(r"-?\d{1,10}")
_DURATION = re.compile(r"\d{1,12}(?:\.\d{1,9})?s")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)")
_TOKEN = re.compile(r"[A-Za-z0-9_:\-]{1,4096}")
_TOPIC = re.compile(r"(?:/topics/)?[a-zA-Z0-9\-_.~%]{1,900}")
_SNAKE = re.compile(r"_([a-z0-9])")


class Refusal(Exception):
    """A request that fails a check; carries the answer to send."""

    def __init__(self, answer):
        super().__init__(answer.verdict)
        self.answer = answer


def google_error(code, message, details=None, verdict=None, headers=None):
    status = STATUS_NAMES.get(code, "UNKNOWN")
    error = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return json_answer(code, {"error": error}, verdict=verdict or status, headers=headers)


def invalid_argument(message, field=None, fcm=True):
    details = []
    if field is not None:
        details.append({"@type": BAD_REQUEST_TYPE,
                        "fieldViolations": [{"field": field, "description": message}]})
    if fcm:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": "INVALID_ARGUMENT"})
    return Refusal(google_error(400, message, details))


def oauth_error(error, description):
    return Refusal(json_answer(400, {"error": error, "error_description": description},
                               verdict=error))


def camel(name):
    return _SNAKE.sub(lambda m: m.group(1).upper(), name)


def check_object(obj, schema_name, where):
    """Check a JSON object against SCHEMAS[schema_name]; raise Refusal on the first fault."""
    if not isinstance(obj, dict):
        raise invalid_argument("Invalid value at '%s' (type.googleapis.com/google.firebase.fcm"
                               ".v1.%s), %s" % (where, schema_name, json.dumps(obj)), where, False)
    schema = SCHEMAS[schema_name]
    seen = set()
    for key, value in obj.items():
        name = camel(key)
        if name not in schema:
            msg = ("Invalid JSON payload received. Unknown name \"%s\" at '%s': "
                   "Cannot find field." % (key, where))
            raise invalid_argument(msg, where, False)
        if name in seen:
            raise invalid_argument("Invalid JSON payload received. Duplicate field \"%s\"." % key,
                                   where, False)
        seen.add(name)
        if value is not None:
            check_value(value, schema[name], where + "." + key)


def check_value(value, kind, where):
    def bad(type_name):
        return invalid_argument("Invalid value at '%s' (%s), %s"
                                % (where, type_name, json.dumps(value)), where, False)

    if kind in SCHEMAS:
        check_object(value, kind, where)
    elif kind in ENUMS:
        if not isinstance(value, str) or value.upper() not in ENUMS[kind]:
            raise bad("type.googleapis.com/google.firebase.fcm.v1." + kind)
    elif kind == STR:
        if not isinstance(value, str):
            raise bad("TYPE_STRING")
    elif kind == BOOL:
        if not isinstance(value, bool):
            raise bad("TYPE_BOOL")
    elif kind == INT:
        # proto3 JSON takes an integer as a number or as a decimal string
        if isinstance(value, bool) or not (isinstance(value, int) or (
                isinstance(value, str) and _INTEGER.fullmatch(value))):
            raise bad("TYPE_INT32")
    elif kind == NUM:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("TYPE_FLOAT")
    elif kind == STRMAP:
        if not isinstance(value, dict):
            raise bad("TYPE_MESSAGE")
        for index, v in enumerate(value.values()):
            if not isinstance(v, str):
                raise invalid_argument("Invalid value at '%s[%d].value' (TYPE_STRING), %s"
                                       % (where, index, json.dumps(v)), where, False)
    elif kind == STRUCT:
        if not isinstance(value, dict):
            raise bad("type.googleapis.com/google.protobuf.Struct")
    elif kind == STRLIST:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("TYPE_STRING")
    elif kind == DURATION:
        if not isinstance(value, str) or not _DURATION.fullmatch(value):
            raise bad("type.googleapis.com/google.protobuf.Duration")
    elif kind == DURLIST:
        if not isinstance(value, list) or not all(isinstance(v, str) and _DURATION.fullmatch(v)
                                                  for v in value):
            raise bad("type.googleapis.com/google.protobuf.Duration")
    elif kind == TIMESTAMP:
        if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
            raise bad("type.googleapis.com/google.protobuf.Timestamp")


def field(obj, name):
    """obj's field name, given in camelCase or snake_case."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(name)
    if value is None:
        for key, v in obj.items():
            if camel(key) == name:
                return v
    return value


def check_message(message):
    """Checks FCM makes beyond the schema; return the message's target."""
    targets = [t for t in TARGETS if message.get(t) is not None]
    if len(targets) != 1:
        raise invalid_argument("Exactly one of token, topic or condition must be specified.",
                               "message")
    target = message[targets[0]]
    if targets[0] == "token" and not _TOKEN.fullmatch(target):
        raise invalid_argument(FCM_ERRORS["INVALID_ARGUMENT"][1], "message.token")
    if targets[0] == "topic" and not _TOPIC.fullmatch(target):
        raise invalid_argument("Invalid topic name.", "message.topic")
    if targets[0] == "condition" and not target.strip():
        raise invalid_argument("Invalid condition expression.", "message.condition")
    datas = [("message.data", message.get("data")),
             ("message.android.data", field(message.get("android"), "data")),
             ("message.webpush.data", field(message.get("webpush"), "data"))]
    for where, data in datas:
        for key in data or {}:
            low = key.lower()
            if key in RESERVED_DATA_KEYS or low.startswith("google") or low.startswith("gcm"):
                raise invalid_argument("Invalid data payload key: " + key, where)
    link = field(field(message.get("webpush"), "fcmOptions"), "link")
    if link is not None and not link.startswith("https://"):
        raise invalid_argument("The link must be an HTTPS URL.", "message.webpush.fcm_options.link")
    payload = field(message.get("apns"), "payload")
    if payload is not None and "aps" in payload and not isinstance(payload["aps"], dict):
        raise invalid_argument("apns.payload.aps must be an object.", "message.apns.payload")
    body = {k: v for k, v in message.items() if k not in TARGETS}
    size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_MESSAGE:
        raise invalid_argument("Message is too big.", "message")
    return target


class Fcm:
    NAME = NAME
    ENDPOINTS = frozenset({"send", "token"})
    SCRIPT_KEYS = frozenset({"fcm_error", "message", "oauth_error"})
    H2_ONLY = False

    def __init__(self, settings):
        self.settings = settings
        self.section = {"accounts": []}
        self.accounts = {}
        self.tokens = {}
        self.messages = 0

    def route(self, path):
        if path == "/fcm/token":
            return "token"
        if path.startswith("/v1/"):
            return "send"
        return None

    def configure(self, section):
        accounts = {}
        for a in section.get("accounts", []):
            pub = load_pem_public_key(a["public_key_pem"].encode("ascii"))
            if not isinstance(pub, rsa.RSAPublicKey):
                raise ValueError("FCM service-account keys are RSA keys")
            accounts[a["client_email"]] = (a["project_id"], pub)
        expires_in = section.get("expires_in", 3599)
        if not isinstance(expires_in, int) or expires_in < 1:
            raise ValueError("expires_in must be a positive integer")
        self.section = section
        self.accounts = accounts

    def config(self):
        return self.section

    def forget_tokens(self):
        self.tokens = {}

    def expire_tokens(self):
        for token, (email, project, scopes, _) in self.tokens.items():
            self.tokens[token] = (email, project, scopes, 0)

    def verify(self, req):
        try:
            if req.endpoint == "token":
                return self.issue_token(req)
            return self.send(req)
        except Refusal as e:
            return e.answer

    def issue_token(self, req):
        if req.method != "POST":
            raise Refusal(json_answer(405, {"error": "invalid_request",
                                            "error_description": "POST required"},
                                      verdict="invalid_request"))
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
        if form.get("grant_type") != GRANT_TYPE:
            raise oauth_error("unsupported_grant_type",
                              "Invalid grant_type: " + form.get("grant_type", ""))
        if "assertion" not in form:
            raise oauth_error("invalid_request", "Missing required parameter: assertion")
        try:
            header, claims, signing_input, signature = jws.parse(form["assertion"])
        except jws.JwsError as e:
            raise oauth_error("invalid_grant", "Invalid JWT: " + str(e))
        if header.get("alg") != "RS256":
            raise oauth_error("invalid_grant", "Invalid JWT: alg must be RS256")
        account = self.accounts.get(claims.get("iss"))
        if account is None:
            raise oauth_error("invalid_grant", "Invalid grant: account not found")
        project, public_key = account
        try:
            jws.verify_rs256(public_key, signing_input, signature)
        except jws.JwsError:
            raise oauth_error("invalid_grant", "Invalid JWT Signature.")
        audience = self.section.get("token_audience") or "https://%s/fcm/token" % req.authority
        if claims.get("aud") != audience:
            raise oauth_error("invalid_grant", "Invalid JWT: Failed audience check. "
                              "The right audience is " + audience)
        iat, exp, now = claims.get("iat"), claims.get("exp"), time.time()
        if (not all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp))
                or exp <= now or exp - iat > MAX_ASSERTION_LIFETIME or exp <= iat
                or iat > now + CLOCK_SKEW):
            raise oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token "
                              "(60 minutes) and in a reasonable timeframe. Check your iat and "
                              "exp values in the JWT claim.")
        scope = claims.get("scope")
        if not isinstance(scope, str) or not scope.split():
            raise oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience "
                              "provided.")
        expires_in = self.section.get("expires_in", 3599)
        token = "ya29.mock-" + secrets.token_urlsafe(32)
        self.tokens[token] = (claims["iss"], project, frozenset(scope.split()),
                              time.time() + expires_in)
        return json_answer(200, {"access_token": token, "expires_in": expires_in,
                                 "token_type": "Bearer"})

    def send(self, req):
        match = _SEND_PATH.fullmatch(req.path)
        if match is None:
            raise Refusal(google_error(404, "Method not found."))
        if req.method != "POST":
            raise Refusal(google_error(405, "Method not allowed."))
        project = match.group(1)
        realm = 'Bearer realm="https://accounts.google.com/"'
        auth = req.hmap.get("authorization")
        if auth is None:
            raise Refusal(google_error(
                401, "Request is missing required authentication credential. Expected OAuth 2 "
                "access token, login cookie or other valid authentication credential.",
                headers=[("www-authenticate", realm)]))
        scheme, _, token = auth.partition(" ")
        issued = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if issued is None or issued[3] <= time.time():
            raise Refusal(google_error(
                401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                "token, login cookie or other valid authentication credential.",
                headers=[("www-authenticate", realm + ', error="invalid_token"')]))
        _, token_project, scopes, _ = issued
        if not scopes & SEND_SCOPES:
            raise Refusal(google_error(403, "Request had insufficient authentication scopes.",
                                       headers=[("www-authenticate", realm +
                                                 ', error="insufficient_scope"')]))
        if token_project != project:
            raise Refusal(google_error(
                403, "Permission 'cloudmessaging.messages.create' denied on resource "
                "'//cloudresourcemanager.googleapis.com/projects/%s' (or it may not exist)."
                % project))
        ctype = req.hmap.get("content-type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            raise invalid_argument("Invalid JSON payload received. Content-Type must be "
                                   "application/json.", fcm=False)
        try:
            request = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            raise invalid_argument("Invalid JSON payload received. Unexpected token.", fcm=False)
        if not isinstance(request, dict):
            raise invalid_argument("Invalid JSON payload received. Expected an object.", fcm=False)
        validate_only = False
        for key, value in request.items():
            name = camel(key)
            if name == "validateOnly":
                check_value(value, BOOL, key)
                validate_only = value
            elif name != "message":
                raise invalid_argument("Invalid JSON payload received. Unknown name \"%s\": "
                                       "Cannot find field." % key, "", False)
        message = request.get("message")
        if message is None:
            raise invalid_argument("Request contains an invalid argument.", "message")
        check_object(message, "Message", "message")
        req.target = check_message(message)
        self.messages += 1
        name = "fake_message_id" if validate_only else "0:%d%%%s" % (
            int(time.time() * 1000) + self.messages, secrets.token_hex(8))
        return json_answer(200, {"name": "projects/%s/messages/%s" % (project, name)})

    def scripted(self, entry, req, default):
        """fcm_error (status from FCM's table unless given; QUOTA_EXCEEDED adds
        Retry-After), or oauth_error for the token endpoint, or a bare status."""
        status = entry.get("status")
        if "fcm_error" in entry:
            code = entry["fcm_error"]
            default_status, message = FCM_ERRORS.get(code, (500, "Error."))
            answer = google_error(status or default_status, entry.get("message", message),
                                  [{"@type": FCM_ERROR_TYPE, "errorCode": code}], verdict="ok")
            if code == "QUOTA_EXCEEDED":
                answer.set_header("retry-after", QUOTA_RETRY_AFTER)
        elif "oauth_error" in entry:
            answer = json_answer(status or 400, {"error": entry["oauth_error"],
                                                 "error_description": entry.get("message", "")})
        elif status is not None and status >= 300:
            answer = google_error(status, entry.get("message", "Error."), verdict="ok")
        elif status is not None:
            answer = default
            answer.status = status
        else:
            answer = default
        return apply_common(entry, answer)
