"""Device registration, POST /devices and DELETE /devices/{id} with a publishable
client key (docs/devices.md): every platform, what is stored, re-registration, every
refusal (with nothing stored), removal with the device's queued deliveries, and CORS
for browsers (allowed origins, preflights)."""
import base64
import hashlib
import json
import re
import secrets
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

XSI = "http://www.w3.org/2001/XMLSchema-instance"
# RFC 8291 Appendix A: the receiver's (user agent's) public key and auth secret.
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
ALLOWED = "https://app.example"
EVIL = "https://evil.example"
UID = re.compile(r"^[0-9a-f]{32}$")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


# --- tokens of each platform ------------------------------------------------------

def ios_token():
    return secrets.token_hex(32)


def android_token():
    # FCM registration tokens: an instance id, a colon, then base64url-ish text.
    return f"{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(105)}"


def windows_token():
    return ("https://db5p.notify.windows.com/?token=AwYAAAD" + secrets.token_urlsafe(60)
            .replace("-", "%2b").replace("_", "%2f"))


def web_subscription(endpoint=None, p256dh=P256DH, auth=AUTH, expiration=None):
    endpoint = endpoint or f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(16)}:APA91b{secrets.token_urlsafe(40)}"
    return {"endpoint": endpoint, "expirationTime": expiration, "keys": {"p256dh": p256dh, "auth": auth}}


def device_body(platform, user="app_user_1", **extra):
    """A valid registration body of platform; extra members replace the body's own
    ("platform_" stands for "platform"), and a member given as ... is left out."""
    body = {"platform": platform, "app_user_id": user}
    if platform == "web":
        body["subscription"] = web_subscription()
    else:
        body["token"] = {"ios": ios_token, "android": android_token, "windows": windows_token}[platform]()
    body.update({k.rstrip("_"): v for k, v in extra.items()})
    return {k: v for k, v in body.items() if v is not ...}


# --- requests and answers ----------------------------------------------------------

class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        ctype = headers.get("content-type", "")
        self.fmt = "xml" if "xml" in ctype else "json" if "json" in ctype else None
        self.root = None
        self.doc = None
        if self.fmt == "json":
            self.doc = json.loads(body)
        elif self.fmt == "xml":
            tree = ET.fromstring(body)
            self.root = tree.tag.rsplit("}", 1)[-1]
            self.doc = xml_to_dict(tree)

    def __repr__(self):
        return f"<{self.status} {self.headers.get('content-type')} {self.body[:400]!r}>"


def xml_to_dict(el):
    return {c.tag.rsplit("}", 1)[-1]: (xml_to_dict(c) if len(c) else (c.text or "")) for c in el}


def register(ctx, key, body, headers=None, content_type="application/json"):
    headers = dict(headers or {})
    if key is not None:
        headers["X-Client-Key"] = key
    if content_type is not None:
        headers["Content-Type"] = content_type
    if isinstance(body, dict):
        body = json.dumps(body)
    return Answer(*ctx.request("POST", "/devices", body, headers))


def delete(ctx, key, device_id, headers=None):
    headers = dict(headers or {})
    if key is not None:
        headers["X-Client-Key"] = key
    return Answer(*ctx.request("DELETE", f"/devices/{device_id}", None, headers))


def developer_push(ctx, f, user, title="Hi"):
    return Answer(*ctx.request("POST", "/developer/push", {"app_user_id": user, "title": title, "body": "Hello"},
                               {"X-Server-Key": f.server_key}))


def assert_error(ans, status, code, field=None, fmt="json"):
    """The native error shape: {"error": {"code", "message"[, "field"]}}, XML root <response>."""
    assert ans.status == status, (status, code, ans)
    assert ans.fmt == fmt, ans
    if fmt == "xml":
        assert ans.root == "response", ans
    err = ans.doc["error"]
    assert err["code"] == code, (code, ans)
    assert isinstance(err["message"], str) and err["message"].strip(), ans
    if field is not None:
        assert err.get("field") == field, (field, ans)


def assert_device_answer(ans, status, user, platform, permission=True, fmt="json"):
    assert ans.status == status, (status, ans)
    assert ans.fmt == fmt, ans
    if fmt == "xml":
        assert ans.root == "device", ans
        assert ans.doc == {"id": ans.doc["id"], "app_user_id": user, "platform": platform,
                           "push_permission": "true" if permission else "false", "status": "active",
                           "devtodevId": ans.doc.get("devtodevId")}, ans
        assert str(ans.doc["devtodevId"]).isdigit() and int(ans.doc["devtodevId"]) > 0, ans
    else:
        assert ans.doc == {"id": ans.doc["id"], "app_user_id": user, "platform": platform,
                           "push_permission": permission, "status": "active",
                           "devtodevId": ans.doc.get("devtodevId")}, ans
        assert isinstance(ans.doc["devtodevId"], int) and ans.doc["devtodevId"] > 0, ans
    assert UID.match(ans.doc["id"]), ans
    return ans.doc["id"]


# --- the database ------------------------------------------------------------------

def stored(ctx):
    """A fingerprint of every device, user, message and delivery: any insert, update or
    delete changes it."""
    return ctx.db.query(
        "SELECT (SELECT CONCAT(COUNT(*), '/', COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, uid, app_id,"
        " app_user_id, platform, token, HEX(token_hash), IFNULL(p256dh, '-'), IFNULL(auth_secret, '-'),"
        " status, push_permission, IFNULL(info, '-')))), 0)) FROM devices),"
        " (SELECT CONCAT(COUNT(*), '/', COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, uid, app_id, external_id,"
        " IFNULL(email, '-')))), 0)) FROM app_users),"
        " (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM deliveries)")[0]


def refused(ctx, send, status, code, field=None, fmt="json"):
    before = stored(ctx)
    ans = send()
    assert_error(ans, status, code, field, fmt)
    assert stored(ctx) == before, "a refused request stored something"
    return ans


DEVICE_COLUMNS = ("id", "app_id", "user", "email", "platform", "token", "token_hash", "p256dh",
                  "auth_secret", "status", "push_permission", "info")


def device_row(ctx, uid):
    rows = ctx.db.query(
        "SELECT d.id, d.app_id, u.external_id, u.email, d.platform, d.token, LOWER(HEX(d.token_hash)),"
        " d.p256dh, d.auth_secret, d.status, d.push_permission, d.info"
        " FROM devices d JOIN app_users u ON u.id = d.app_user_id"
        f" WHERE d.uid = '{uid}'")
    return dict(zip(DEVICE_COLUMNS, rows[0])) if rows else None


def users_named(ctx, external_id):
    return ctx.db.query("SELECT app_id, uid, email FROM app_users WHERE external_id = "
                        + "'" + external_id.replace("'", "''") + "' ORDER BY id")


def allow_origin(ctx, f, origin=ALLOWED):
    ctx.db.query(f"CALL hd_add_allowed_origin({f.app_id}, '{origin}')")


# --- registering -------------------------------------------------------------------

def test_devices_register_ios_token_is_201_and_stores_the_device(ctx):
    f = ctx.fixture()
    body = device_body("ios", user="ios_user", email="ios_user@example.com",
                       device_info={"model": "iPhone15,2", "os": "17.1", "build": 21}, push_permission=True)
    ans = register(ctx, f.client_key, body)
    uid = assert_device_answer(ans, 201, "ios_user", "ios")
    row = device_row(ctx, uid)
    assert row["app_id"] == str(f.app_id) and row["platform"] == "ios", row
    assert row["token"] == body["token"] and row["token_hash"] == sha256_hex(body["token"]), row
    assert (row["p256dh"], row["auth_secret"], row["status"], row["push_permission"]) == (None, None, "active", "1"), row
    assert (row["user"], row["email"]) == ("ios_user", "ios_user@example.com"), row
    assert json.loads(row["info"]) == body["device_info"], row


def test_devices_register_uppercase_and_long_ios_tokens(ctx):
    f = ctx.fixture()
    for token in (secrets.token_hex(32).upper(), secrets.token_hex(16), secrets.token_hex(50)):
        ans = register(ctx, f.client_key, device_body("ios", token=token))
        uid = assert_device_answer(ans, 201, "app_user_1", "ios")
        assert device_row(ctx, uid)["token"] == token


def test_devices_register_android_token_is_201_and_stores_the_device(ctx):
    f = ctx.fixture()
    body = device_body("android", user="droid")
    uid = assert_device_answer(register(ctx, f.client_key, body), 201, "droid", "android")
    row = device_row(ctx, uid)
    assert (row["platform"], row["token"], row["token_hash"]) == ("android", body["token"], sha256_hex(body["token"])), row
    assert (row["p256dh"], row["auth_secret"], row["status"], row["push_permission"]) == (None, None, "active", "1")


def test_devices_register_windows_channel_uri_is_201_and_stores_the_device(ctx):
    f = ctx.fixture()
    body = device_body("windows", user="win")
    uid = assert_device_answer(register(ctx, f.client_key, body), 201, "win", "windows")
    row = device_row(ctx, uid)
    assert (row["platform"], row["token"], row["token_hash"]) == ("windows", body["token"], sha256_hex(body["token"])), row


def test_devices_register_web_subscription_is_201_and_stores_endpoint_and_keys(ctx):
    f = ctx.fixture()
    # What a browser's PushSubscription.toJSON() gives, expirationTime null included.
    body = device_body("web", user="browser_user")
    assert body["subscription"]["expirationTime"] is None
    uid = assert_device_answer(register(ctx, f.client_key, body), 201, "browser_user", "web")
    row = device_row(ctx, uid)
    endpoint = body["subscription"]["endpoint"]
    assert (row["platform"], row["token"], row["token_hash"]) == ("web", endpoint, sha256_hex(endpoint)), row
    assert (row["p256dh"], row["auth_secret"]) == (P256DH, AUTH), row
    assert len(unb64url(row["p256dh"])) == 65 and unb64url(row["p256dh"])[0] == 4
    # An expirationTime in milliseconds is taken (and ignored) too.
    body = device_body("web", user="browser_user")
    body["subscription"]["expirationTime"] = 1767225600000
    assert_device_answer(register(ctx, f.client_key, body), 201, "browser_user", "web")


def test_devices_same_token_again_is_200_with_the_same_id_and_updates_user_and_permission(ctx):
    f = ctx.fixture()
    for platform in ("ios", "android", "windows", "web"):
        body = device_body(platform, user=f"first_{platform}")
        first = assert_device_answer(register(ctx, f.client_key, body), 201, f"first_{platform}", platform)
        count = ctx.db.query(f"SELECT COUNT(*) FROM devices WHERE app_id = {f.app_id}")[0][0]
        again = dict(body, app_user_id=f"second_{platform}", push_permission=False)
        if platform == "web":
            # Same endpoint, new keys: the keys are updated.
            other_key = b"\x04" + secrets.token_bytes(64)
            again["subscription"] = dict(body["subscription"], keys={"p256dh": b64url(other_key),
                                                                     "auth": b64url(secrets.token_bytes(16))})
        ans = register(ctx, f.client_key, again)
        assert assert_device_answer(ans, 200, f"second_{platform}", platform, permission=False) == first
        assert ctx.db.query(f"SELECT COUNT(*) FROM devices WHERE app_id = {f.app_id}")[0][0] == count
        row = device_row(ctx, first)
        assert (row["user"], row["push_permission"], row["status"]) == (f"second_{platform}", "0", "active"), row
        if platform == "web":
            assert (row["p256dh"], row["auth_secret"]) == (again["subscription"]["keys"]["p256dh"],
                                                           again["subscription"]["keys"]["auth"]), row
        # And back: permission true again, still the same device.
        ans = register(ctx, f.client_key, dict(again, push_permission=True))
        assert assert_device_answer(ans, 200, f"second_{platform}", platform) == first
        assert device_row(ctx, first)["push_permission"] == "1"


def test_devices_registering_an_unregistered_token_again_makes_it_active(ctx):
    f = ctx.fixture()
    body = device_body("android", user="returning")
    uid = assert_device_answer(register(ctx, f.client_key, body), 201, "returning", "android")
    ctx.db.query(f"UPDATE devices SET status = 'unregistered' WHERE uid = '{uid}'")
    assert developer_push(ctx, f, "returning").status == 404
    assert assert_device_answer(register(ctx, f.client_key, body), 200, "returning", "android") == uid
    assert device_row(ctx, uid)["status"] == "active"
    ans = developer_push(ctx, f, "returning")
    assert ans.status == 201 and ans.doc["push_count"] == 1, ans


def test_devices_user_is_created_on_first_use_with_its_email(ctx):
    f = ctx.fixture()
    name = f"new_user_{secrets.token_hex(4)}"
    assert users_named(ctx, name) == []
    first = register(ctx, f.client_key, device_body("ios", user=name, email="New.User@example.com"))
    assert first.status == 201, first
    users = users_named(ctx, name)
    assert len(users) == 1 and users[0][0] == str(f.app_id) and users[0][2] == "New.User@example.com", users
    assert UID.match(users[0][1]), users
    # A second device of the same user reuses the user; no email keeps the email.
    assert register(ctx, f.client_key, device_body("android", user=name)).status == 201
    assert users_named(ctx, name) == users
    # A publishable key never changes an email once set: sends can target users by it.
    assert register(ctx, f.client_key, device_body("windows", user=name, email="other@example.org")).status == 201
    assert users_named(ctx, name) == users
    # The new user can be sent to at once.
    ans = developer_push(ctx, f, name)
    assert ans.status == 201 and ans.doc["push_count"] == 3, ans


def test_devices_push_permission_false_makes_a_developer_push_answer_404_no_devices(ctx):
    f = ctx.fixture()
    ans = register(ctx, f.client_key, device_body("ios", user="silent", push_permission=False))
    uid = assert_device_answer(ans, 201, "silent", "ios", permission=False)
    assert device_row(ctx, uid)["push_permission"] == "0"
    refused(ctx, lambda: developer_push(ctx, f, "silent"), 404, "no_devices")
    # Permission granted later: the same device now receives.
    ans = register(ctx, f.client_key, device_body("ios", user="silent", token=device_row(ctx, uid)["token"]))
    assert assert_device_answer(ans, 200, "silent", "ios") == uid
    ans = developer_push(ctx, f, "silent")
    assert ans.status == 201 and ans.doc["push_count"] == 1, ans


def test_devices_register_in_xml_with_root_device_answers_in_xml(ctx):
    f = ctx.fixture()
    token = ios_token()
    body = (f'<device xmlns:i="{XSI}"><platform>ios</platform><token>{token}</token>'
            "<app_user_id>xml_user</app_user_id><email>xml@example.com</email>"
            "<push_permission>false</push_permission>"
            "<device_info><model>iPad</model><os>17</os></device_info></device>")
    ans = register(ctx, f.client_key, body, content_type="application/xml")
    uid = assert_device_answer(ans, 201, "xml_user", "ios", permission=False, fmt="xml")
    row = device_row(ctx, uid)
    assert (row["token"], row["user"], row["email"], row["push_permission"]) == (token, "xml_user", "xml@example.com", "0")
    assert json.loads(row["info"]) == {"model": "iPad", "os": "17"}, row
    # The same device in JSON: the same id, an equivalent answer.
    ans = register(ctx, f.client_key, {"platform": "ios", "token": token, "app_user_id": "xml_user",
                                       "push_permission": False})
    assert assert_device_answer(ans, 200, "xml_user", "ios", permission=False) == uid
    # format= picks the answer's format.
    ans = Answer(*ctx.request("POST", "/devices?format=xml", json.dumps(
        {"platform": "ios", "token": token, "app_user_id": "xml_user", "push_permission": False}),
        {"X-Client-Key": f.client_key, "Content-Type": "application/json"}))
    assert assert_device_answer(ans, 200, "xml_user", "ios", permission=False, fmt="xml") == uid


def test_devices_register_web_subscription_in_xml(ctx):
    f = ctx.fixture()
    endpoint = web_subscription()["endpoint"]
    body = (f'<device xmlns:i="{XSI}"><platform>web</platform><app_user_id>xml_web</app_user_id>'
            f"<subscription><endpoint>{escape(endpoint)}</endpoint><expirationTime i:nil=\"true\"/>"
            f"<keys><p256dh>{P256DH}</p256dh><auth>{AUTH}</auth></keys></subscription></device>")
    uid = assert_device_answer(register(ctx, f.client_key, body, content_type="text/xml"), 201, "xml_web",
                               "web", fmt="xml")
    row = device_row(ctx, uid)
    assert (row["token"], row["p256dh"], row["auth_secret"]) == (endpoint, P256DH, AUTH), row


def test_devices_xml_with_another_root_is_400_malformed_body(ctx):
    f = ctx.fixture()
    body = (f"<push><platform>ios</platform><token>{ios_token()}</token>"
            "<app_user_id>u</app_user_id></push>")
    refused(ctx, lambda: register(ctx, f.client_key, body, content_type="application/xml"),
            400, "malformed_body", fmt="xml")
    refused(ctx, lambda: register(ctx, f.client_key, body.replace("push>", "Device>"), content_type="application/xml"),
            400, "malformed_body", fmt="xml")


# --- refusals ----------------------------------------------------------------------

def test_devices_missing_platform_or_app_user_id_is_400_missing_field(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", platform_=...)), 400, "missing_field", "platform")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", app_user_id=...)), 400, "missing_field", "app_user_id")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", app_user_id="")), 400, "missing_field", "app_user_id")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", platform_=None)), 400, "missing_field", "platform")


def test_devices_unknown_platform_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for platform in ("blackberry", "IOS", "ios ", "webpush"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", platform_=platform)),
                400, "invalid_value", "platform")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", platform_=1)), 400, "invalid_type", "platform")


def test_devices_token_for_web_or_subscription_for_another_platform_is_400_conflicting_fields(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", token=ios_token())),
            400, "conflicting_fields", "token")
    for platform in ("ios", "android", "windows"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body(platform, subscription=web_subscription())),
                400, "conflicting_fields", "subscription")


def test_devices_missing_token_or_subscription_is_400_missing_field(ctx):
    f = ctx.fixture()
    for platform in ("ios", "android", "windows"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body(platform, token=...)), 400, "missing_field", "token")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", token="")), 400, "missing_field", "token")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=...)), 400, "missing_field")
    sub = web_subscription()
    del sub["keys"]["auth"]
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=sub)), 400, "missing_field")
    sub = web_subscription()
    del sub["endpoint"]
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=sub)), 400, "missing_field")


def test_devices_bad_ios_token_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for token in ("zz" + secrets.token_hex(31), secrets.token_hex(15), secrets.token_hex(15) + "a",
                  "<" + secrets.token_hex(32) + ">", secrets.token_hex(16) + " " + secrets.token_hex(16),
                  "0x" + secrets.token_hex(32)):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", token=token)), 400, "invalid_value", "token")


def test_devices_android_token_with_spaces_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for token in ("abc def:APA91b" + "x" * 100, " " + android_token(), android_token() + "\t"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("android", token=token)),
                400, "invalid_value", "token")


def test_devices_windows_channel_uri_that_is_not_https_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for token in (windows_token().replace("https://", "http://"), "db5p.notify.windows.com/?token=x",
                  "https://", "ftp://db5p.notify.windows.com/x"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("windows", token=token)),
                400, "invalid_value", "token")


def test_devices_web_endpoint_that_is_not_https_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for endpoint in ("http://push.example/sub/1", "push.example/sub/1", "https://push.example/a b"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=web_subscription(endpoint))),
                400, "invalid_value", "subscription.endpoint")


def test_devices_p256dh_of_the_wrong_length_or_without_0x04_is_400_invalid_value(ctx):
    f = ctx.fixture()
    raw = unb64url(P256DH)
    for key in (b64url(raw[:64]), b64url(raw + b"\x00"), b64url(b"\x02" + raw[1:33]),  # compressed form
                b64url(b"\x05" + raw[1:]), b64url(b"\x00" + raw[1:]), "not base64!"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=web_subscription(p256dh=key))),
                400, "invalid_value", "subscription.keys.p256dh")


def test_devices_auth_secret_that_is_not_16_bytes_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for auth in (b64url(secrets.token_bytes(15)), b64url(secrets.token_bytes(17)), b64url(secrets.token_bytes(32)),
                 "!!!!!!!!!!!!!!!!!!!!!!"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=web_subscription(auth=auth))),
                400, "invalid_value", "subscription.keys.auth")


def test_devices_email_without_at_sign_is_400_invalid_value(ctx):
    f = ctx.fixture()
    for email in ("not-an-email", "user.example.com"):
        refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", email=email)), 400, "invalid_value", "email")


def test_devices_unknown_field_is_400_unknown_field(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", badge=3)), 400, "unknown_field")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", app_id=f.app_uid)), 400, "unknown_field")
    sub = web_subscription()
    sub["keys"]["extra"] = "x"
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=sub)), 400, "unknown_field")
    sub = web_subscription()
    sub["options"] = {"userVisibleOnly": True}
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=sub)), 400, "unknown_field")


def test_devices_wrong_types_are_400_invalid_type(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", push_permission="yes")), 400, "invalid_type", "push_permission")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", token=12345678)), 400, "invalid_type", "token")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", device_info="iPhone")), 400, "invalid_type", "device_info")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription="https://push.example/x")),
            400, "invalid_type", "subscription")


def test_devices_over_long_values_are_400_too_long(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", app_user_id="u" * 256)), 400, "too_long", "app_user_id")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("android", token="a" * 2049)), 400, "too_long", "token")
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", device_info={"x": "y" * 1100})),
            400, "too_long", "device_info")


def test_devices_malformed_bodies_are_400_malformed_body(ctx):
    f = ctx.fixture()
    good = json.dumps(device_body("ios"))
    for body in ("", good[:-1], "[" + good + "]", good + "x"):
        refused(ctx, lambda: register(ctx, f.client_key, body), 400, "malformed_body")
    refused(ctx, lambda: register(ctx, f.client_key, good.encode().replace(b"app_user_1", b"app_\xff_1")),
            400, "malformed_body")
    xxe = (f'<!DOCTYPE device [<!ENTITY x SYSTEM "file:///etc/passwd">]><device><platform>ios</platform>'
           f"<token>{ios_token()}</token><app_user_id>&x;</app_user_id></device>")
    refused(ctx, lambda: register(ctx, f.client_key, xxe, content_type="application/xml"), 400, "malformed_body", fmt="xml")


def test_devices_missing_or_wrong_client_key_is_401(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, None, device_body("ios")), 401, "missing_key")
    refused(ctx, lambda: register(ctx, "", device_body("ios")), 401, "missing_key")
    refused(ctx, lambda: register(ctx, "hd_cli_" + secrets.token_hex(24), device_body("ios")), 401, "invalid_key")
    refused(ctx, lambda: register(ctx, f.client_key.upper(), device_body("ios")), 401, "invalid_key")


def test_devices_unsupported_content_type_is_415_and_other_methods_are_405(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, json.dumps(device_body("ios")), content_type="text/plain"),
            415, "unsupported_media_type")
    for method in ("GET", "PUT"):
        ans = refused(ctx, lambda: Answer(*ctx.request(method, "/devices", None, {"X-Client-Key": f.client_key})),
                      405, "method_not_allowed")
        assert "POST" in ans.headers.get("allow", ""), ans.headers


# --- removing ----------------------------------------------------------------------

def test_devices_delete_is_204_and_removes_the_device_and_its_queued_deliveries(ctx):
    f = ctx.fixture()
    kept = assert_device_answer(register(ctx, f.client_key, device_body("android", user="two_devices")), 201,
                                "two_devices", "android")
    gone = assert_device_answer(register(ctx, f.client_key, device_body("web", user="two_devices")), 201,
                                "two_devices", "web")
    ans = developer_push(ctx, f, "two_devices")
    assert ans.status == 201 and ans.doc["push_count"] == 2, ans
    gone_id, kept_id = device_row(ctx, gone)["id"], device_row(ctx, kept)["id"]
    queued = f"SELECT COUNT(*) FROM deliveries WHERE state = 'queued' AND device_id = "
    assert ctx.db.query(queued + gone_id)[0][0] == "1" and ctx.db.query(queued + kept_id)[0][0] == "1"

    status, headers, body = ctx.request("DELETE", f"/devices/{gone}", None, {"X-Client-Key": f.client_key})
    assert status == 204 and body == b"", (status, body)
    assert device_row(ctx, gone) is None
    assert ctx.db.query(f"SELECT COUNT(*) FROM deliveries WHERE device_id = {gone_id}")[0][0] == "0"
    # The other device and its delivery stay; so does the message.
    assert device_row(ctx, kept) is not None
    assert ctx.db.query(queued + kept_id)[0][0] == "1"
    ans = developer_push(ctx, f, "two_devices")
    assert ans.status == 201 and ans.doc["push_count"] == 1, ans

    refused(ctx, lambda: delete(ctx, f.client_key, gone), 404, "not_found")


def test_devices_delete_of_a_malformed_or_unknown_id_is_404_not_found(ctx):
    f = ctx.fixture()
    uid = f.device_uids[0]
    for bad in ("xyz", uid[:31], uid + "0", uid.upper(), "0" * 32, secrets.token_hex(16), "%20" + uid[3:],
                "%27%20OR%20%271%27%3D%271"):
        refused(ctx, lambda: delete(ctx, f.client_key, bad), 404, "not_found")
    assert ctx.db.query(f"SELECT COUNT(*) FROM devices WHERE uid = '{uid}'")[0][0] == "1"


def test_devices_delete_of_another_apps_device_is_404_and_the_device_survives(ctx):
    a = ctx.fixture(tenant=f"A of {ctx.test_id}")
    b = ctx.fixture(tenant=f"B of {ctx.test_id}")
    b_device = assert_device_answer(register(ctx, b.client_key, device_body("ios", user="b_user")), 201, "b_user", "ios")
    for uid in (b_device, b.device_uids[0]):
        before = device_row(ctx, uid)
        refused(ctx, lambda: delete(ctx, a.client_key, uid), 404, "not_found")
        assert device_row(ctx, uid) == before
    assert delete(ctx, b.client_key, b_device).status == 204


def test_devices_delete_without_a_valid_client_key_is_401_and_the_device_survives(ctx):
    f = ctx.fixture()
    uid = f.device_uids[0]
    refused(ctx, lambda: delete(ctx, None, uid), 401, "missing_key")
    refused(ctx, lambda: delete(ctx, "hd_cli_" + secrets.token_hex(24), uid), 401, "invalid_key")
    assert device_row(ctx, uid) is not None


# --- CORS --------------------------------------------------------------------------

def test_devices_post_from_an_allowed_origin_gets_access_control_allow_origin(ctx):
    f = ctx.fixture()
    allow_origin(ctx, f)
    ans = register(ctx, f.client_key, device_body("web", user="cors_user"), {"Origin": ALLOWED})
    uid = assert_device_answer(ans, 201, "cors_user", "web")
    assert ans.headers.get("access-control-allow-origin") == ALLOWED, ans.headers
    assert "origin" in [v.strip().lower() for v in ans.headers.get("vary", "").split(",")], ans.headers
    ans = delete(ctx, f.client_key, uid, {"Origin": ALLOWED})
    assert ans.status == 204, ans
    assert ans.headers.get("access-control-allow-origin") == ALLOWED, ans.headers


def test_devices_refusals_of_requests_from_an_allowed_origin_carry_access_control_allow_origin(ctx):
    # "allowed ones get Access-Control-Allow-Origin": without it the page cannot read
    # why its registration was refused, whichever check refused it.
    f = ctx.fixture()
    allow_origin(ctx, f)
    cors = {"Origin": ALLOWED}
    for send, code in (
            (lambda: register(ctx, f.client_key, device_body("ios", token="zz"), cors), "invalid_value"),
            (lambda: register(ctx, f.client_key, device_body("ios", app_user_id=...), cors), "missing_field"),
            (lambda: register(ctx, f.client_key, device_body("ios", badge=1), cors), "unknown_field"),
            (lambda: register(ctx, f.client_key, "{", cors), "malformed_body"),
            (lambda: delete(ctx, f.client_key, secrets.token_hex(16), cors), "not_found")):
        ans = refused(ctx, send, 404 if code == "not_found" else 400, code)
        assert ans.headers.get("access-control-allow-origin") == ALLOWED, (code, ans.headers)


def test_devices_post_from_an_origin_not_allowed_is_403_origin_not_allowed(ctx):
    f = ctx.fixture()
    allow_origin(ctx, f)
    for origin in (EVIL, "http://app.example", "https://app.example:8443", "https://sub.app.example", "null"):
        ans = refused(ctx, lambda: register(ctx, f.client_key, device_body("web"), {"Origin": origin}),
                      403, "origin_not_allowed")
        assert ans.headers.get("access-control-allow-origin") in (None, ""), ans.headers
    # An app without any allowed origin refuses every browser.
    g = ctx.fixture(tenant=f"no origins of {ctx.test_id}")
    refused(ctx, lambda: register(ctx, g.client_key, device_body("ios"), {"Origin": ALLOWED}), 403, "origin_not_allowed")


def test_devices_delete_from_an_origin_not_allowed_is_403_and_the_device_survives(ctx):
    f = ctx.fixture()
    allow_origin(ctx, f)
    uid = f.device_uids[0]
    refused(ctx, lambda: delete(ctx, f.client_key, uid, {"Origin": EVIL}), 403, "origin_not_allowed")
    assert device_row(ctx, uid) is not None


def preflight(ctx, path, origin, method="POST"):
    return Answer(*ctx.request("OPTIONS", path, None, {
        "Origin": origin, "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,x-client-key"}))


def assert_preflight_allows(ans, origin):
    assert ans.status == 204 and ans.body == b"", ans
    h = ans.headers
    assert h.get("access-control-allow-origin") == origin, h
    methods = [m.strip().upper() for m in h.get("access-control-allow-methods", "").split(",")]
    assert "POST" in methods and "DELETE" in methods, h
    allowed = [x.strip().lower() for x in h.get("access-control-allow-headers", "").split(",")]
    assert "x-client-key" in allowed and "content-type" in allowed, h
    assert int(h.get("access-control-max-age", "0")) > 0, h
    assert "origin" in [v.strip().lower() for v in h.get("vary", "").split(",")], h


def test_devices_preflight_from_an_allowed_origin_is_204_with_methods_headers_and_max_age(ctx):
    f = ctx.fixture()
    allow_origin(ctx, f)
    before = stored(ctx)
    assert_preflight_allows(preflight(ctx, "/devices", ALLOWED), ALLOWED)
    assert_preflight_allows(preflight(ctx, f"/devices/{f.device_uids[0]}", ALLOWED, "DELETE"), ALLOWED)
    assert stored(ctx) == before


def test_devices_preflight_from_an_unknown_origin_is_403(ctx):
    f = ctx.fixture()
    allow_origin(ctx, f)
    unknown = f"https://unknown-{secrets.token_hex(6)}.example"
    for path in ("/devices", f"/devices/{f.device_uids[0]}"):
        ans = refused(ctx, lambda: preflight(ctx, path, unknown), 403, "origin_not_allowed")
        assert ans.headers.get("access-control-allow-origin") in (None, ""), ans.headers


def enable_identity_verification(ctx, f):
    rows = ctx.db.query(f"CALL hd_set_identity_verification({f.app_id}, 1, @s); SELECT @s")
    return bytes.fromhex(rows[-1][0])


def user_hash(secret, user):
    import hmac
    import hashlib
    return hmac.new(secret, user.encode(), hashlib.sha256).hexdigest()


def test_devices_identity_verification_requires_the_backends_user_hash(ctx):
    # With identity verification on, a publishable key can register a device only
    # for a user the app's backend vouched for: user_hash = HMAC-SHA256(secret, user).
    f = ctx.fixture()
    secret = enable_identity_verification(ctx, f)
    for body in (device_body("ios", user="victim"),
                 device_body("ios", user="victim", user_hash=user_hash(secret, "someone_else")),
                 device_body("ios", user="victim", user_hash=user_hash(b"guess", "victim")),
                 device_body("ios", user="victim", user_hash=user_hash(secret, "victim").upper())):
        refused(ctx, lambda: register(ctx, f.client_key, body), 403, "identity_not_verified",
                "user_hash")
    ans = register(ctx, f.client_key, device_body("ios", user="victim",
                                                  user_hash=user_hash(secret, "victim")))
    assert_device_answer(ans, 201, "victim", "ios")


def test_devices_identity_verification_off_again_accepts_registrations_without_a_hash(ctx):
    f = ctx.fixture()
    enable_identity_verification(ctx, f)
    ctx.db.query(f"CALL hd_set_identity_verification({f.app_id}, 0, @s)")
    assert_device_answer(register(ctx, f.client_key, device_body("android", user="u1")),
                         201, "u1", "android")


def test_devices_user_hash_of_the_wrong_length_is_400_invalid_value(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: register(ctx, f.client_key, device_body("ios", user_hash="ab")),
            400, "invalid_value", "user_hash")


PRIVATE_ENDPOINTS = ("https://10.0.0.5/admin", "https://127.0.0.1:8443/x", "https://[::1]/x",
                     "https://user@push.example/x", "https://0x7f.0.0.1/x", "https://2130706433/x",
                     "https://localhost/x", "https://push.example:8443/x", "https://push..example/x",
                     "https://push.example%2f@10.0.0.5/x", "https://push.example./x")


def test_devices_push_endpoints_that_could_reach_a_private_network_are_400(ctx):
    # Delivery will POST to these URLs: a publishable key must not point it at IP
    # literals, other ports, or hosts hidden behind userinfo.
    f = ctx.fixture()
    for url in PRIVATE_ENDPOINTS:
        refused(ctx, lambda: register(ctx, f.client_key, device_body("web", subscription=web_subscription(url))),
                400, "invalid_value", "subscription.endpoint")
        refused(ctx, lambda: register(ctx, f.client_key, device_body("windows", token=url)),
                400, "invalid_value", "token")
    ans = register(ctx, f.client_key, device_body(
        "web", user="port443", subscription=web_subscription("https://push.example.net:443/sub/1")))
    assert_device_answer(ans, 201, "port443", "web")
