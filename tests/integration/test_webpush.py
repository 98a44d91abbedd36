"""The webpush dialect's GET side and deregistration (docs/webpush.md): /v2/push/service,
/v2/push/quota, /v2/push/clients, /v2/push/clients/{registration_id}, with X-Secret-Key;
errors {"detail", "code"} in JSON and XML. Clients are the app's web devices,
registered here through POST /devices as browsers do."""
import base64
import concurrent.futures
import datetime
import json
import re
import secrets
import time
import xml.etree.ElementTree as ET

import delivery
import ece
from hd import timeout
from herald_stack import sql_str

BASE = "/v2/push"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
KINDS = ("server", "secret", "client", "integration")
CLIENT_FIELDS = {"registration_id", "organization_id", "service_id", "status", "is_active",
                 "is_online", "is_installed", "is_subscribed", "user_email", "last_active",
                 "notification_count", "device_info", "created_at"}
DEVICE_INFO_FIELDS = {"browser_name", "browser_version", "os_name", "device_type"}
SERVICE_FIELDS = {"service_id", "organization_id", "service_identifier", "service_name",
                  "vapid_public_key", "contact_email", "notifications_enabled", "is_active",
                  "hourly_notification_limit", "daily_notification_limit",
                  "active_registrations", "push_subscribers"}
QUOTA_FIELDS = {"organization_id", "service_id", "hourly_limit", "daily_limit",
                "hourly_remaining", "daily_remaining", "reset_hourly_at", "reset_daily_at"}
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CHROME_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1")


# --- helpers -------------------------------------------------------------------------

def fixture(ctx, **options):
    return ctx.fixture(kinds=KINDS, **options)


def get(ctx, path, key, headers=None, method="GET", body=None):
    """(status, headers, parsed JSON or None) of a request with X-Secret-Key key."""
    headers = dict(headers or {})
    if key is not None:
        headers["X-Secret-Key"] = key
    status, answer_headers, data = ctx.request(method, BASE + path, body, headers)
    doc = json.loads(data) if data and "json" in answer_headers.get("content-type", "") else None
    return status, answer_headers, doc if doc is not None else data


def ok(ctx, path, key, **kw):
    status, _, doc = get(ctx, path, key, **kw)
    assert status == 200, (path, status, doc)
    return doc


def assert_error(answer, status, code):
    got, headers, doc = answer
    assert got == status, (got, doc)
    assert isinstance(doc, dict) and set(doc) == {"detail", "code"}, doc
    assert doc["code"] == code and doc["detail"], doc
    assert headers["content-type"].startswith("application/json"), headers
    return doc


def register_web(ctx, f, user="web_user", email=None, info=None, permission=True):
    """A browser's registration through POST /devices; returns the device's uid."""
    _, p256dh, auth = ece.make_subscription()
    body = {"platform": "web", "app_user_id": user, "push_permission": permission,
            "subscription": {"endpoint": f"https://push.mock.test/wp/{secrets.token_hex(8)}",
                             "expirationTime": None, "keys": {"p256dh": p256dh, "auth": auth}}}
    if email:
        body["email"] = email
    if info is not None:
        body["device_info"] = info
    status, _, data = ctx.request("POST", "/devices", body, headers={"X-Client-Key": f.client_key})
    assert status == 201, (status, data)
    return json.loads(data)["id"]


def set_status(ctx, uid, status):
    ctx.db.query(f"UPDATE devices SET status = {sql_str(status)} WHERE uid = {sql_str(uid)}")


def db_now(ctx):
    [(now,)] = ctx.db.query("SELECT DATE_FORMAT(UTC_TIMESTAMP(), '%Y-%m-%dT%H:%i:%sZ')")
    return parse_time(now)


def parse_time(text):
    assert RFC3339_UTC.match(text), text
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def developer_push(ctx, f):
    status, _, data = ctx.request("POST", "/developer/push",
                                  {"app_user_id": f.user, "title": "Hi", "body": "there"},
                                  headers={"X-Server-Key": f.server_key})
    return status, data


def xml_doc(answer):
    status, headers, data = answer
    assert headers["content-type"].startswith("application/xml"), headers
    return status, ET.fromstring(data)


# --- service -------------------------------------------------------------------------

def test_service_answers_ids_names_vapid_key_limits_and_live_counts(ctx):
    f = fixture(ctx, app="Shop PWA")
    delivery.set_credentials(ctx, f, "webpush")
    ctx.db.query(f"CALL hd_set_quota_plan({f.app_id}, 'professional')")
    doc = ok(ctx, "/service", f.keys["secret"])
    assert set(doc) == SERVICE_FIELDS, doc
    point = ctx.mocks.keys["vapid"]["private_key"].public_key().public_numbers()
    raw = b"\x04" + point.x.to_bytes(32, "big") + point.y.to_bytes(32, "big")
    assert doc == {
        "service_id": f"svc_{f.app_uid}", "organization_id": f"org_{f.tenant_id}",
        "service_identifier": f.app_uid, "service_name": "Shop PWA",
        "vapid_public_key": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        "contact_email": "ops@example.com", "notifications_enabled": True, "is_active": True,
        "hourly_notification_limit": 1000, "daily_notification_limit": 10000,
        "active_registrations": 0, "push_subscribers": 0}, doc

    # Live counts: web devices whose subscription is active; users with one of those
    # that also has push permission. The fixture's iOS device counts for neither.
    a1 = register_web(ctx, f, "alice")
    register_web(ctx, f, "alice")
    register_web(ctx, f, "bob", permission=False)
    carol = register_web(ctx, f, "carol")
    doc = ok(ctx, "/service", f.keys["secret"])
    assert (doc["active_registrations"], doc["push_subscribers"]) == (4, 2), doc
    set_status(ctx, carol, "expired")
    set_status(ctx, a1, "unregistered")
    doc = ok(ctx, "/service", f.keys["secret"])
    assert (doc["active_registrations"], doc["push_subscribers"]) == (2, 1), doc
    ctx.db.query(f"CALL hd_set_push_enabled({f.app_id}, 0)")
    assert ok(ctx, "/service", f.keys["secret"])["notifications_enabled"] is False


def test_service_without_vapid_key_or_quota_answers_nulls_and_inactive(ctx):
    f = fixture(ctx)
    doc = ok(ctx, "/service", f.keys["secret"])
    assert doc["vapid_public_key"] is None and doc["contact_email"] is None, doc
    assert doc["is_active"] is False and doc["notifications_enabled"] is True, doc
    assert doc["hourly_notification_limit"] is None, doc
    assert doc["daily_notification_limit"] is None, doc
    # An https: VAPID subject is a contact, but no email.
    key = ctx.mocks.keys["vapid"]["private_key"]
    ctx.db.query(f"CALL hd_set_vapid_key({sql_str(f.app_uid)}, 'https://example.com/contact', "
                 f"{sql_str(delivery._pem(key))})")
    doc = ok(ctx, "/service", f.keys["secret"])
    assert doc["contact_email"] is None and doc["is_active"] is True, doc
    assert doc["vapid_public_key"].startswith("B") and len(doc["vapid_public_key"]) == 87, doc


# --- quota ---------------------------------------------------------------------------

def test_quota_agrees_with_the_counters_the_developer_sends_charged(ctx):
    f = fixture(ctx, devices=2)
    ctx.db.query(f"CALL hd_set_quota({f.app_id}, 10, 50)")
    assert developer_push(ctx, f)[0] == 201
    assert developer_push(ctx, f)[0] == 201
    doc = ok(ctx, "/quota", f.keys["secret"])
    assert set(doc) == QUOTA_FIELDS, doc
    used = dict(ctx.db.query(f"SELECT period, used FROM quota_usage WHERE app_id = {f.app_id}"))
    assert used == {"hour": "4", "day": "4"}, used
    assert (doc["organization_id"], doc["service_id"]) == (f"org_{f.tenant_id}",
                                                           f"svc_{f.app_uid}"), doc
    assert (doc["hourly_limit"], doc["daily_limit"]) == (10, 50), doc
    assert (doc["hourly_remaining"], doc["daily_remaining"]) == (6, 46), doc

    # The windows end where the database's UTC hour and day end.
    now = db_now(ctx)
    hour_end, day_end = parse_time(doc["reset_hourly_at"]), parse_time(doc["reset_daily_at"])
    assert (hour_end.minute, hour_end.second) == (0, 0), doc
    assert (day_end.hour, day_end.minute, day_end.second) == (0, 0, 0), doc
    assert now < hour_end <= now + datetime.timedelta(hours=1), (now, doc)
    assert now < day_end <= now + datetime.timedelta(days=1), (now, doc)

    # Spend the hour: the send refused is the one quota said would not fit, and its
    # Retry-After runs to reset_hourly_at.
    for _ in range(3):
        assert developer_push(ctx, f)[0] == 201
    doc = ok(ctx, "/quota", f.keys["secret"])
    assert (doc["hourly_remaining"], doc["daily_remaining"]) == (0, 40), doc
    status, headers, _ = ctx.request("POST", "/developer/push",
                                     {"app_user_id": f.user, "title": "Hi", "body": "x"},
                                     headers={"X-Server-Key": f.server_key})
    assert status == 429, status
    expected = (parse_time(doc["reset_hourly_at"]) - db_now(ctx)).total_seconds()
    assert abs(int(headers["retry-after"]) - expected) <= 2, (headers, expected)
    assert ok(ctx, "/quota", f.keys["secret"])["hourly_remaining"] == 0


def test_quota_without_limits_answers_null_limits_and_remaining(ctx):
    f = fixture(ctx)
    assert developer_push(ctx, f)[0] == 201
    doc = ok(ctx, "/quota", f.keys["secret"])
    assert {k: doc[k] for k in ("hourly_limit", "daily_limit", "hourly_remaining",
                                "daily_remaining")} == dict.fromkeys(
        ("hourly_limit", "daily_limit", "hourly_remaining", "daily_remaining")), doc
    assert RFC3339_UTC.match(doc["reset_hourly_at"]) and RFC3339_UTC.match(doc["reset_daily_at"])


def test_quota_plan_preset_is_what_quota_and_service_answer(ctx):
    f = fixture(ctx)
    ctx.db.query(f"CALL hd_set_quota_plan({f.app_id}, 'starter')")
    assert developer_push(ctx, f)[0] == 201
    doc = ok(ctx, "/quota", f.keys["secret"])
    assert (doc["hourly_limit"], doc["daily_limit"]) == (100, 1000), doc
    assert (doc["hourly_remaining"], doc["daily_remaining"]) == (99, 999), doc
    doc = ok(ctx, "/service", f.keys["secret"])
    assert (doc["hourly_notification_limit"], doc["daily_notification_limit"]) == (100, 1000)


# --- clients -------------------------------------------------------------------------

def test_clients_lists_the_apps_web_registrations_as_the_seeds_client_objects(ctx):
    f = fixture(ctx)
    uid = register_web(ctx, f, "alice", email="Alice@Example.com",
                       info={"user_agent": CHROME_WINDOWS, "is_installed": True})
    doc = ok(ctx, "/clients", f.keys["secret"])
    assert set(doc) == {"clients", "total", "limit", "offset"}, doc
    assert (doc["total"], doc["limit"], doc["offset"]) == (1, 100, 0), doc
    [client] = doc["clients"]
    assert set(client) == CLIENT_FIELDS, client
    [(created, active)] = ctx.db.query(
        "SELECT DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'),"
        f" DATE_FORMAT(last_active_at, '%Y-%m-%dT%H:%i:%sZ') FROM devices WHERE uid = {sql_str(uid)}")
    assert client == {
        "registration_id": f"reg_{uid}", "organization_id": f"org_{f.tenant_id}",
        "service_id": f"svc_{f.app_uid}", "status": "active", "is_active": True,
        "is_online": False, "is_installed": True, "is_subscribed": True,
        "user_email": "Alice@Example.com", "last_active": active, "notification_count": 0,
        "device_info": {"browser_name": "Chrome", "browser_version": "120",
                        "os_name": "Windows", "device_type": "desktop"},
        "created_at": created}, client
    # Stable across calls, and the same object from the one-client route.
    assert ok(ctx, "/clients", f.keys["secret"]) == doc
    assert ok(ctx, f"/clients/reg_{uid}", f.keys["secret"]) == client


def test_client_fields_follow_status_permission_info_and_deliveries(ctx):
    f = fixture(ctx)
    delivery.set_credentials(ctx, f, "webpush")
    uid = register_web(ctx, f, f.user, info={"userAgent": SAFARI_IPHONE})
    muted = register_web(ctx, f, "muted", permission=False, info={"model": "x"})
    client = ok(ctx, f"/clients/{uid}", f.keys["secret"])
    assert client["device_info"] == {"browser_name": "Safari", "browser_version": "17",
                                     "os_name": "iOS", "device_type": "mobile"}, client
    assert client["is_installed"] is False and client["user_email"] == f.user_email, client
    client = ok(ctx, f"/clients/{muted}", f.keys["secret"])
    assert client["is_subscribed"] is False and client["is_active"] is True, client
    assert client["user_email"] is None, client
    assert client["device_info"] == dict.fromkeys(DEVICE_INFO_FIELDS), client
    # notification_count: the deliveries that reached the browser.
    with delivery.worker(ctx):
        answer = delivery.push(ctx, f)
        delivery.wait_states(ctx, delivery.message_id(ctx, answer))
    assert ok(ctx, f"/clients/{uid}", f.keys["secret"])["notification_count"] == 1
    set_status(ctx, uid, "expired")
    client = ok(ctx, f"/clients/{uid}", f.keys["secret"])
    assert (client["status"], client["is_active"], client["is_subscribed"]) == \
        ("expired", False, False), client


def test_clients_filter_by_status_and_email_and_paginate_with_total(ctx):
    f = fixture(ctx)
    uids = [register_web(ctx, f, f"user{i}", email=f"user{i}@example.com") for i in range(6)]
    uids.append(register_web(ctx, f, "user0"))     # user0's second browser
    set_status(ctx, uids[1], "inactive")
    set_status(ctx, uids[2], "expired")
    set_status(ctx, uids[3], "unregistered")
    key = f.keys["secret"]
    regs = [f"reg_{u}" for u in uids]

    def ids(doc):
        return [c["registration_id"] for c in doc["clients"]]

    everything = ok(ctx, "/clients", key)
    assert ids(everything) == regs and everything["total"] == 7, everything
    for status, want in (("active", [regs[0], regs[4], regs[5], regs[6]]),
                         ("inactive", [regs[1]]), ("expired", [regs[2]]),
                         ("unregistered", [regs[3]])):
        doc = ok(ctx, f"/clients?status={status}", key)
        assert ids(doc) == want and doc["total"] == len(want), (status, doc)
        assert all(c["status"] == status for c in doc["clients"]), doc
    # Emails compare as emails do: without regard to case.
    doc = ok(ctx, "/clients?user_email=USER0%40example.com", key)
    assert ids(doc) == [regs[0], regs[6]] and doc["total"] == 2, doc
    doc = ok(ctx, "/clients?user_email=user0@example.com&status=active&limit=1&offset=1", key)
    assert ids(doc) == [regs[6]] and (doc["total"], doc["limit"], doc["offset"]) == (2, 1, 1), doc
    assert ok(ctx, "/clients?user_email=nobody%40example.com", key) == \
        {"clients": [], "total": 0, "limit": 100, "offset": 0}
    # Pages of 3 make up the whole list, each with the whole total.
    pages = [ok(ctx, f"/clients?limit=3&offset={o}", key) for o in (0, 3, 6, 9)]
    assert [ids(p) for p in pages] == [regs[0:3], regs[3:6], regs[6:7], []], pages
    assert {(p["total"], p["limit"]) for p in pages} == {(7, 3)}, pages
    assert ok(ctx, "/clients?limit=1000", key)["limit"] == 1000


def test_clients_refuse_invalid_query_parameters_with_invalid_request(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    for query in ("limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=1.5", "limit=",
                  "limit=99999999999999999999", "offset=-1", "offset=x", "offset=1e3",
                  "status=deleted", "status=ACTIVE", "status=", "user_email=" + "a" * 256,
                  "format=yaml"):
        answer = get(ctx, f"/clients?{query}", key)
        assert isinstance(answer[2], dict), (query, answer)
        assert_error(answer, 400, "INVALID_REQUEST")
    # Escapes that are not UTF-8 text: herald refuses what the web server passes on.
    # lighttpd refuses a NUL or a byte that is not UTF-8 itself (its own 400 page), and
    # passes a broken escape on re-encoded (%zz as %25zz: the text "%zz").
    for query in ("user_email=a%00b", "user_email=%ff", "user_email=%zz"):
        answer = get(ctx, f"/clients?{query}", key)
        if ctx.server == "apache":
            assert_error(answer, 400, "INVALID_REQUEST")
        elif query.endswith("%zz"):
            assert answer[0] == 200 and answer[2]["total"] == 0, (query, answer)
        else:
            assert answer[0] == 400, (query, answer)
    assert ok(ctx, "/clients?limit=1&offset=0&status=active&user_email=x%40y", key)["total"] == 0


def test_one_client_is_404_not_found_for_unknown_malformed_or_non_web_ids(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    uid = register_web(ctx, f)
    assert ok(ctx, f"/clients/{uid}", key)["registration_id"] == f"reg_{uid}"
    for reg in (f"reg_{secrets.token_hex(16)}", f"reg_{f.device_uids[0]}", f.device_uids[0],
                "reg_xyz", f"reg_{uid.upper()}", f"svc_{uid}", f"reg_{uid}0"):
        assert_error(get(ctx, f"/clients/{reg}", key), 404, "NOT_FOUND")


# --- deregistration ------------------------------------------------------------------

def test_deregistration_removes_the_client_and_its_queued_deliveries_only(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    gone, kept = register_web(ctx, f, f.user), register_web(ctx, f, f.user)
    assert developer_push(ctx, f)[0] == 201      # queued for both browsers and the iPhone
    [(gone_id,)] = ctx.db.query(f"SELECT id FROM devices WHERE uid = {sql_str(gone)}")
    [(kept_id,)] = ctx.db.query(f"SELECT id FROM devices WHERE uid = {sql_str(kept)}")

    status, _, doc = get(ctx, f"/clients/reg_{gone}?reason=user_requested", key, method="DELETE")
    assert status == 200 and doc == {"success": True, "registration_id": f"reg_{gone}",
                                     "message": "Client deregistered successfully"}, doc
    assert ctx.db.query(f"SELECT COUNT(*) FROM devices WHERE uid = {sql_str(gone)}") == [("0",)]
    queued = dict(ctx.db.query("SELECT device_id, COUNT(*) FROM deliveries WHERE app_id ="
                               f" {f.app_id} AND state = 'queued' GROUP BY device_id"))
    assert gone_id not in queued, queued
    assert queued.get(kept_id) == "1" and queued.get(str(f.device_ids[0])) == "1", queued
    assert_error(get(ctx, f"/clients/reg_{gone}", key), 404, "NOT_FOUND")
    assert_error(get(ctx, f"/clients/reg_{gone}", key, method="DELETE"), 404, "NOT_FOUND")
    doc = ok(ctx, "/clients", key)
    assert [c["registration_id"] for c in doc["clients"]] == [f"reg_{kept}"], doc
    # A sent message reaches nothing that was deregistered.
    assert developer_push(ctx, f)[0] == 201
    assert ctx.db.query(f"SELECT COUNT(*) FROM deliveries WHERE device_id = {gone_id}") == [("0",)]
    # The bare device id works too, and no reason is needed.
    status, _, doc = get(ctx, f"/clients/{kept}", key, method="DELETE")
    assert status == 200 and doc["registration_id"] == f"reg_{kept}", doc


def test_deregistration_leaves_non_web_devices_and_refuses_a_long_reason(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    assert_error(get(ctx, f"/clients/reg_{f.device_uids[0]}", key, method="DELETE"),
                 404, "NOT_FOUND")
    assert ctx.db.query(f"SELECT status FROM devices WHERE id = {f.device_ids[0]}") == [("active",)]
    uid = register_web(ctx, f)
    assert_error(get(ctx, f"/clients/reg_{uid}?reason=" + "r" * 256, key, method="DELETE"),
                 400, "INVALID_REQUEST")
    assert ok(ctx, f"/clients/reg_{uid}", key)["status"] == "active"


# --- keys and isolation --------------------------------------------------------------

ROUTES = ("/service", "/quota", "/clients", f"/clients/reg_{'0' * 32}")


def test_missing_or_unknown_key_is_401_and_another_kinds_key_403(ctx):
    f = fixture(ctx)
    for path in ROUTES:
        assert_error(get(ctx, path, None), 401, "UNAUTHORIZED")
        assert_error(get(ctx, path, ""), 401, "UNAUTHORIZED")
        assert_error(get(ctx, path, "hd_sec_" + "0" * 48), 401, "UNAUTHORIZED")
        for kind in ("server", "client", "integration"):
            assert_error(get(ctx, path, f.keys[kind]), 403, "FORBIDDEN")
    assert_error(get(ctx, "/clients/x", f.keys["server"], method="DELETE"), 403, "FORBIDDEN")
    # Revoked keys are unknown keys, whatever their kind.
    ctx.db.query(f"CALL hd_revoke_key({f.key_ids['secret']}); CALL hd_revoke_key({f.key_ids['server']})")
    assert_error(get(ctx, "/service", f.keys["secret"]), 401, "UNAUTHORIZED")
    assert_error(get(ctx, "/service", f.keys["server"]), 401, "UNAUTHORIZED")


def test_other_dialects_still_answer_401_for_a_secret_key(ctx):
    f = fixture(ctx)
    status, _, data = ctx.request("POST", "/developer/push",
                                  {"app_user_id": f.user, "title": "t", "body": "b"},
                                  headers={"X-Server-Key": f.keys["secret"]})
    assert status == 401 and json.loads(data)["error"]["code"] == "invalid_key", data
    status, _, data = ctx.request("POST", "/devices", {"platform": "ios"},
                                  headers={"X-Client-Key": f.keys["secret"]})
    assert status == 401 and json.loads(data)["error"]["code"] == "invalid_key", data


def test_a_secret_key_sees_only_its_own_service_on_every_route(ctx):
    a, b = fixture(ctx), fixture(ctx)
    # A second app of a's tenant, with its own secret key.
    [(c_app, c_uid, c_key)] = ctx.db.query(
        f"CALL hd_create_app({a.tenant_id}, 'Sibling app', @app, @uid);"
        " CALL hd_issue_key('secret', " + str(a.tenant_id) + ", @app, 'sibling', @kid, @key);"
        " SELECT @app, @uid, @key")
    a_uid, b_uid = register_web(ctx, a, "same_user"), register_web(ctx, b, "same_user")
    for key, own, svc, org in ((a.keys["secret"], a_uid, a.app_uid, a.tenant_id),
                               (b.keys["secret"], b_uid, b.app_uid, b.tenant_id),
                               (c_key, None, c_uid, a.tenant_id)):
        doc = ok(ctx, "/clients", key)
        assert [c["registration_id"] for c in doc["clients"]] == ([f"reg_{own}"] if own else []), doc
        for path in ("/service", "/quota"):
            doc = ok(ctx, path, key)
            assert (doc["service_id"], doc["organization_id"]) == (f"svc_{svc}", f"org_{org}"), doc
        for other in (a_uid, b_uid):
            if other == own:
                continue
            assert_error(get(ctx, f"/clients/reg_{other}", key), 404, "NOT_FOUND")
            assert_error(get(ctx, f"/clients/reg_{other}", key, method="DELETE"),
                         404, "NOT_FOUND")
    assert ctx.db.query("SELECT COUNT(*) FROM devices WHERE uid IN"
                        f" ({sql_str(a_uid)}, {sql_str(b_uid)})") == [("2",)]
    assert ok(ctx, "/service", c_key)["service_name"] == "Sibling app"
    assert int(c_app) != a.app_id


# --- formats and other errors --------------------------------------------------------

def test_answers_and_errors_come_in_xml_when_negotiated(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    uid = register_web(ctx, f, email="x@example.com", info={"user_agent": CHROME_WINDOWS})
    as_json = ok(ctx, "/service", key)
    status, root = xml_doc(get(ctx, "/service?format=xml", key))
    assert status == 200 and root.tag == "service", root.tag
    assert root.findtext("service_id") == as_json["service_id"]
    assert root.findtext("active_registrations") == "1"
    assert root.find("vapid_public_key").get(f"{{{XSI}}}nil") == "true"

    status, root = xml_doc(get(ctx, "/clients", key, headers={"Accept": "application/xml"}))
    assert status == 200 and root.tag == "response" and root.findtext("total") == "1"
    [client] = root.findall("clients")
    assert client.findtext("registration_id") == f"reg_{uid}"
    assert client.findtext("is_online") == "false"
    assert client.find("device_info").findtext("browser_name") == "Chrome"
    status, root = xml_doc(get(ctx, f"/clients/reg_{uid}?format=xml", key))
    assert status == 200 and root.tag == "client" and root.findtext("user_email") == "x@example.com"
    status, root = xml_doc(get(ctx, "/quota?format=xml", key))
    assert status == 200 and root.tag == "quota" and root.find("hourly_limit").get(f"{{{XSI}}}nil")

    for answer, status, code in ((get(ctx, "/service?format=xml", None), 401, "UNAUTHORIZED"),
                                 (get(ctx, "/service?format=xml", f.keys["server"]), 403, "FORBIDDEN"),
                                 (get(ctx, "/clients/nope", key, headers={"Accept": "application/xml"}),
                                  404, "NOT_FOUND"),
                                 (get(ctx, "/clients?limit=0&format=xml", key), 400, "INVALID_REQUEST")):
        got, root = xml_doc(answer)
        assert got == status and root.tag == "error", (got, root.tag)
        assert root.findtext("code") == code and root.findtext("detail"), ET.tostring(root)
    status, root = xml_doc(get(ctx, f"/clients/reg_{uid}?format=xml", key, method="DELETE"))
    assert status == 200 and root.findtext("success") == "true"



def test_unknown_paths_other_methods_and_large_bodies_get_the_dialects_error_shape(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    assert_error(get(ctx, "/nothing", key), 404, "NOT_FOUND")
    assert_error(get(ctx, "/clients/a/b", key), 404, "NOT_FOUND")
    answer = get(ctx, "/clients", key, method="POST", body={})
    assert_error(answer, 405, "METHOD_NOT_ALLOWED")
    assert answer[1]["allow"] == "GET", answer[1]
    answer = get(ctx, "/clients/x", key, method="PUT", body={})
    assert_error(answer, 405, "METHOD_NOT_ALLOWED")
    assert answer[1]["allow"] == "GET, DELETE", answer[1]
    # (lighttpd refuses a GET with a body itself.)
    assert_error(get(ctx, "/clients/x", key, method="DELETE", body=b"x" * (65 * 1024),
                     headers={"Content-Type": "application/json"}), 413, "PAYLOAD_TOO_LARGE")
    # HEAD is GET without the body.
    status, headers, data = ctx.request("HEAD", BASE + "/service", headers={"X-Secret-Key": key})
    assert status == 200 and data == b"", (status, data)


@timeout(60)
def test_over_100_requests_in_one_second_get_429_rate_limited_with_retry_after(ctx):
    def one(_):
        return get(ctx, "/service", None)
    for _ in range(5):
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(one, range(150)))
        limited = [a for a in answers if a[0] == 429]
        if limited:
            break
    else:
        raise AssertionError("150 requests in a row were never over 100 in one second")
    for a in limited:
        assert_error(a, 429, "RATE_LIMITED")
        assert int(a[1]["retry-after"]) >= 1, a[1]
    for a in answers:
        if a[0] != 429:
            assert_error(a, 401, "UNAUTHORIZED")


@timeout(150)
def test_database_down_answers_503_service_unavailable_with_retry_after(ctx):
    f = fixture(ctx)
    key = f.keys["secret"]
    ok(ctx, "/service", key)
    ctx.stack.db.stop()
    try:
        for path in ("/service", "/clients"):
            started = time.monotonic()
            answer = get(ctx, path, key)
            assert_error(answer, 503, "SERVICE_UNAVAILABLE")
            assert int(answer[1]["retry-after"]) >= 1, answer[1]
            assert time.monotonic() - started < 1
    finally:
        ctx.stack.db.start()
    deadline = time.monotonic() + 10
    while get(ctx, "/service", key)[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    ok(ctx, "/service", key)
