"""The inbox dialect (seed 002, docs/inbox.md): POST/GET /notifications,
GET/PATCH/DELETE /notifications/{id} with Authorization: Bearer <an app user's key>;
RFC 9457 problem documents in JSON and XML; inline APNs delivery against the mock."""
import base64
import concurrent.futures
import json
import re
import secrets
import subprocess
import time
import xml.etree.ElementTree as ET

import herald_stack
from delivery import add_device, deliveries, fresh_fixture, header, set_credentials
from hd import once, timeout
from herald_stack import sql_str

KINDS = ("server", "client", "bearer")
PROBLEM_NS = "{urn:ietf:rfc:7807}"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SEED_FIELDS = {"id", "title", "subtitle", "body", "thread_id", "level", "source",
               "source_display_name", "url", "media_url", "media_type", "actions",
               "icon_url", "metadata", "activity_slug", "pushed", "created_at"}
# herald adds the read state to every notification it shows.
ITEM_FIELDS = SEED_FIELDS | {"read", "read_at"}
# The seed's curl example, byte for byte (only the base address and token differ).
SEED_BODY = """{
"title": "Deploy Complete",
"body": "Successfully deployed to production",
"source": "github-actions",
"source_display_name": "GitHub Actions",
"level": "active"
}"""


# --- helpers -------------------------------------------------------------------------

def inbox_fixture(ctx, devices=0, subscribed=True, apns=True, kinds=KINDS, **options):
    """A fixture whose user has `devices` iOS devices (registered through POST /devices)
    and a bearer key; the app's inbox subscription on, APNs pointed at the mock."""
    options.setdefault("tenant", f"tenant of {ctx.test_id}")
    f = herald_stack.create_fixture(ctx.db, devices=0, kinds=kinds, **options)
    if subscribed:
        ctx.db.query(f"CALL hd_set_inbox_subscription({f.app_id}, 1)")
    if apns:
        set_credentials(ctx, f, "apns")
    f.ios = [add_device(ctx, f, "ios") for _ in range(devices)]
    return f


def call(ctx, method, path, key, body=None, headers=None):
    """(status, headers, parsed JSON or raw bytes) of a request with the bearer key."""
    headers = dict(headers or {})
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if isinstance(body, str):
        body = body.encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    status, got, data = ctx.request(method, path, body, headers)
    ctype = got.get("content-type", "")
    doc = json.loads(data) if data and "json" in ctype else data
    return status, got, doc


def create(ctx, f, **fields):
    body = {"title": "Hello", "body": "World", **fields}
    status, headers, doc = call(ctx, "POST", "/notifications", f.keys["bearer"], body)
    assert status == 201, (status, doc)
    assert headers["content-type"].startswith("application/json"), headers
    return doc


def assert_problem(answer, status, code):
    got, headers, doc = answer
    assert got == status, (got, doc)
    assert headers["content-type"] == "application/problem+json", headers
    assert isinstance(doc, dict), doc
    assert {"type", "title", "status", "detail", "code"} <= set(doc), doc
    assert doc["status"] == status and doc["code"] == code, doc
    assert doc["type"] == f"urn:herald:problem:{code}" and doc["title"] and doc["detail"], doc
    return doc


def message_count(ctx, f):
    [(n,)] = ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")
    return int(n)


def apns_records(ctx, f):
    return [r for r in ctx.mocks.received("apns") if r.get("endpoint") != "token"]


def apns_payload(record):
    return json.loads(base64.b64decode(record["body"]))


def make_activity(ctx, f, slug, name="An activity"):
    ctx.db.query(f"CALL hd_create_activity({f.user_id}, {sql_str(slug)}, {sql_str(name)}, @x)")


# --- create --------------------------------------------------------------------------

def test_the_seeds_curl_example_stores_and_pushes_a_notification_in_the_seeds_shape(ctx):
    f = inbox_fixture(ctx, devices=1)
    ctx.mocks.reset()
    status, headers, doc = call(ctx, "POST", "/notifications", f.keys["bearer"], SEED_BODY,
                                {"Content-Type": "application/json"})
    assert status == 201, (status, doc)
    assert set(doc) == ITEM_FIELDS | {"delivery", "reason"}, set(doc) ^ ITEM_FIELDS
    assert (doc["title"], doc["body"], doc["source"], doc["source_display_name"],
            doc["level"]) == ("Deploy Complete", "Successfully deployed to production",
                              "github-actions", "GitHub Actions", "active")
    assert (doc["subtitle"], doc["thread_id"], doc["url"], doc["media_url"], doc["media_type"],
            doc["icon_url"], doc["activity_slug"]) == ("",) * 7, doc
    assert (doc["actions"], doc["metadata"], doc["pushed"]) == ([], {}, True), doc
    assert isinstance(doc["id"], int) and RFC3339_UTC.match(doc["created_at"]), doc
    assert (doc["delivery"], doc["reason"], doc["read"], doc["read_at"]) == ("all", "", False, None)
    [record] = apns_records(ctx, f)
    aps = apns_payload(record)["aps"]
    assert aps["alert"] == {"title": "Deploy Complete",
                            "body": "Successfully deployed to production"}, aps
    assert aps["interruption-level"] == "active", aps


def test_every_field_is_stored_answered_and_pushed_as_a_rich_apns_alert(ctx):
    f = inbox_fixture(ctx, devices=1)
    make_activity(ctx, f, "deploy-42")
    collapse = "collapse-" + secrets.token_hex(8)
    actions = [{"id": "rerun", "title": "Re-run", "foreground": True},
               {"id": "logs", "title": "Logs", "url": "https://ci.example.com/42",
                "destructive": False, "authentication_required": True, "icon": "doc.text"}]
    ctx.mocks.reset()
    doc = create(ctx, f, subtitle="prod", level="time-sensitive", thread_id="deploys",
                 collapse_id=collapse, source="gh", source_display_name="GitHub",
                 url="http://example.com/run/42",
                 media={"url": "https://example.com/img.png", "type": "image"},
                 actions=actions, icon_url="https://example.com/gh.png",
                 metadata={"run": "42", "branch": "main"}, activity_slug="deploy-42")
    expected = {"subtitle": "prod", "level": "time-sensitive", "thread_id": "deploys",
                "source": "gh", "source_display_name": "GitHub",
                "url": "http://example.com/run/42", "media_url": "https://example.com/img.png",
                "media_type": "image", "actions": actions,
                "icon_url": "https://example.com/gh.png",
                "metadata": {"run": "42", "branch": "main"}, "activity_slug": "deploy-42",
                "pushed": True}
    assert {k: doc[k] for k in expected} == expected, doc
    assert (doc["delivery"], doc["reason"]) == ("all", "")
    # GET shows the same notification, without the push outcome.
    status, _, got = call(ctx, "GET", f"/notifications/{doc['id']}", f.keys["bearer"])
    assert status == 200 and set(got) == ITEM_FIELDS, (status, got)
    assert got == {k: v for k, v in doc.items() if k not in ("delivery", "reason")}
    [record] = apns_records(ctx, f)
    assert header(record, "apns-collapse-id") == collapse, record["headers"]
    assert header(record, "apns-priority") == "10", record["headers"]
    payload = apns_payload(record)
    aps = payload["aps"]
    assert aps["alert"] == {"title": "Hello", "subtitle": "prod", "body": "World"}, aps
    assert (aps["thread-id"], aps["interruption-level"], aps["mutable-content"],
            aps["category"]) == ("deploys", "time-sensitive", 1, "herald.actions"), aps
    assert (payload["image"], payload["icon"], payload["url"], payload["media_type"],
            payload["actions"]) == ("https://example.com/img.png", "https://example.com/gh.png",
                                    "http://example.com/run/42", "image", actions), payload


def test_collapse_id_reaches_apns_but_is_never_stored_nor_answered(ctx):
    f = inbox_fixture(ctx, devices=1)
    collapse = "never-stored-" + secrets.token_hex(8)
    ctx.mocks.reset()
    doc = create(ctx, f, collapse_id=collapse, metadata={"k": "v"})
    [record] = apns_records(ctx, f)
    assert header(record, "apns-collapse-id") == collapse
    assert collapse not in json.dumps(doc)
    # Nowhere in the database: any column of the message, its deliveries, attempts.
    like = sql_str(f"%{collapse}%")
    [(n,)] = ctx.db.query(
        "SELECT COUNT(*) FROM messages WHERE CONCAT_WS('|', title, body, data, sound, extras,"
        f" dedupe_key, campaign) LIKE {like}")
    assert n == "0"
    [(n,)] = ctx.db.query(f"SELECT COUNT(*) FROM deliveries WHERE reason LIKE {like}")
    assert n == "0"
    [(n,)] = ctx.db.query(f"SELECT COUNT(*) FROM dedupe WHERE dedupe_key LIKE {like}")
    assert n == "0"
    for path in (f"/notifications/{doc['id']}", "/notifications"):
        status, _, got = call(ctx, "GET", path, f.keys["bearer"])
        assert status == 200 and collapse not in json.dumps(got) and "collapse_id" not in json.dumps(got)
    status, _, got = call(ctx, "GET", f"/notifications/{doc['id']}?format=xml", f.keys["bearer"])
    assert status == 200 and collapse.encode() not in got


def test_push_false_stores_the_notification_only_and_answers_without_delivery(ctx):
    f = inbox_fixture(ctx, devices=1)
    ctx.mocks.reset()
    doc = create(ctx, f, push=False)
    assert "delivery" not in doc and "reason" not in doc and doc["pushed"] is False, doc
    assert deliveries(ctx, doc["id"]) == {}
    assert apns_records(ctx, f) == []
    status, _, got = call(ctx, "GET", f"/notifications/{doc['id']}", f.keys["bearer"])
    assert status == 200 and got["pushed"] is False


def test_delivery_is_all_partial_or_none_by_the_providers_answers(ctx):
    f = inbox_fixture(ctx, devices=2)
    a, b = f.ios
    ctx.mocks.reset()
    ctx.mocks.script("apns", [{"reason": "BadDeviceToken", "target": b["target"]}])
    doc = create(ctx, f)
    assert (doc["delivery"], doc["reason"]) == ("partial", "apns_rejected"), doc
    ctx.mocks.script("apns", [{"reason": "PayloadTooLarge", "target": a["target"]}])
    doc = create(ctx, f)   # b is gone now: only a is tried, and refused
    assert (doc["delivery"], doc["reason"]) == ("none", "apns_rejected"), doc
    assert [s for s, *_ in deliveries(ctx, doc["id"]).values()] == ["rejected"]
    doc = create(ctx, f)
    assert (doc["delivery"], doc["reason"]) == ("all", ""), doc


def test_a_user_without_devices_gets_the_notification_stored_with_no_apns_token(ctx):
    f = inbox_fixture(ctx, devices=0)
    doc = create(ctx, f)
    assert (doc["delivery"], doc["reason"], doc["pushed"]) == ("none", "no_apns_token", True)
    status, _, got = call(ctx, "GET", "/notifications", f.keys["bearer"])
    assert [n["id"] for n in got["notifications"]] == [doc["id"]]


def test_push_disabled_for_the_app_or_the_device_stores_and_answers_push_disabled(ctx):
    f = inbox_fixture(ctx, devices=1)
    ctx.mocks.reset()
    ctx.db.query(f"CALL hd_set_push_enabled({f.app_id}, 0)")
    doc = create(ctx, f)
    assert (doc["delivery"], doc["reason"]) == ("none", "push_disabled"), doc
    assert deliveries(ctx, doc["id"]) == {} and apns_records(ctx, f) == []
    ctx.db.query(f"CALL hd_set_push_enabled({f.app_id}, 1)")
    ctx.db.query(f"UPDATE devices SET push_permission = 0 WHERE app_user_id = {f.user_id}")
    doc = create(ctx, f)
    assert (doc["delivery"], doc["reason"]) == ("none", "push_disabled"), doc


# --- field rules ---------------------------------------------------------------------

LONG = "x" * 2049
FIELD_CASES = [
    # (fields replacing the valid body's, status, code)
    ({"title": None}, 422, "validation.failed"),
    ({"title": ""}, 422, "validation.failed"),
    ({"body": None}, 422, "validation.failed"),
    ({"title": 5}, 400, "request.invalid_shape"),
    ({"push": "yes"}, 400, "request.invalid_shape"),
    ({"unknown": 1}, 400, "request.invalid_shape"),
    ({"level": "loud"}, 422, "validation.failed"),
    ({"collapse_id": "c" * 65}, 422, "validation.failed"),
    ({"url": "ftp://example.com"}, 422, "validation.failed"),
    ({"url": "example.com"}, 422, "validation.failed"),
    ({"url": "https://" + LONG}, 422, "validation.failed"),
    ({"icon_url": "javascript:alert(1)"}, 422, "validation.failed"),
    ({"icon_url": "https://" + LONG}, 422, "validation.failed"),
    ({"media": {"url": "http://example.com/a.png", "type": "image"}}, 422, "validation.failed"),
    ({"media": {"url": "https://example.com/a.png", "type": "gif"}}, 422, "validation.failed"),
    ({"media": {"url": "https://example.com/a.png"}}, 422, "validation.failed"),
    ({"media": {"type": "video"}}, 422, "validation.failed"),
    ({"media": {}}, 422, "validation.failed"),
    ({"media": {"url": "", "type": "image"}}, 422, "validation.failed"),
    ({"media": {"url": "https://" + LONG, "type": "video"}}, 422, "validation.failed"),
    ({"media": {"url": "https://e.com/a", "type": "audio", "x": 1}}, 400, "request.invalid_shape"),
    ({"media": "https://example.com/a.png"}, 400, "request.invalid_shape"),
    ({"actions": {"id": "a", "title": "A"}}, 400, "request.invalid_shape"),
    ({"actions": ["a"]}, 400, "request.invalid_shape"),
    ({"actions": [{"id": f"a{i}", "title": "A"} for i in range(11)]}, 422, "validation.failed"),
    ({"actions": [{"id": "a" * 65, "title": "A"}]}, 422, "validation.failed"),
    ({"actions": [{"id": "a", "title": "A" * 65}]}, 422, "validation.failed"),
    ({"actions": [{"title": "A"}]}, 422, "validation.failed"),
    ({"actions": [{"id": "a"}]}, 422, "validation.failed"),
    ({"actions": [{"id": "a", "title": "A", "url": "mailto:x@example.com"}]}, 422, "validation.failed"),
    ({"actions": [{"id": "a", "title": "A", "foreground": "yes"}]}, 400, "request.invalid_shape"),
    ({"actions": [{"id": "a", "title": "A", "colour": "red"}]}, 400, "request.invalid_shape"),
    ({"actions": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}, 422, "validation.failed"),
    ({"metadata": {f"k{i}": "v" for i in range(21)}}, 422, "validation.failed"),
    ({"metadata": {"k" * 65: "v"}}, 422, "validation.failed"),
    ({"metadata": {"k": "v" * 4097}}, 422, "validation.failed"),
    ({"metadata": {"k": 1}}, 400, "request.invalid_shape"),
    ({"metadata": ["k"]}, 400, "request.invalid_shape"),
    ({"activity_slug": "no-such-activity"}, 422, "activity.not_found"),
]
FIELD_LIMITS_OK = [
    {"collapse_id": "c" * 64},
    {"url": "https://" + "x" * 2040},
    {"icon_url": "http://" + "x" * 2041},
    {"media": {"url": "https://" + "x" * 2040, "type": "video"}},
    {"media": {"url": "https://example.com/a.m4a", "type": "audio"}},
    {"actions": [{"id": f"a{i}", "title": "t" * 64} for i in range(10)]},
    {"metadata": {f"{i:02d}" + "k" * 62: "v" * 4096 for i in range(3)}},
    {"metadata": {f"k{i}": "v" for i in range(20)}},
    {"level": "passive"},
]


def test_every_field_rule_answers_its_status_and_code_and_stores_nothing(ctx):
    f = inbox_fixture(ctx, devices=0)
    before = message_count(ctx, f)
    for fields, status, code in FIELD_CASES:
        body = {"title": "T", "body": "B", "push": False, **fields}
        body = {k: v for k, v in body.items() if v is not None}
        answer = call(ctx, "POST", "/notifications", f.keys["bearer"], body)
        try:
            assert_problem(answer, status, code)
        except AssertionError as e:
            raise AssertionError(f"{fields}: {e}") from None
    assert message_count(ctx, f) == before
    for fields in FIELD_LIMITS_OK:
        status, _, doc = call(ctx, "POST", "/notifications", f.keys["bearer"],
                              {"title": "T", "body": "B", "push": False, **fields})
        assert status == 201, (fields, status, doc)
    assert message_count(ctx, f) == before + len(FIELD_LIMITS_OK)


def test_malformed_and_empty_bodies_are_400_and_other_media_types_415(ctx):
    f = inbox_fixture(ctx)
    assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"], '{"title": '),
                   400, "request.malformed")
    assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"], "["), 400,
                   "request.malformed")
    assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"], b"",
                        {"Content-Type": "application/json"}), 400, "request.malformed")
    assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"], b"title=x",
                        {"Content-Type": "text/plain"}), 415, "request.unsupported_media_type")
    assert_problem(call(ctx, "PUT", "/notifications", f.keys["bearer"]), 405,
                   "request.method_not_allowed")


def test_an_unknown_activity_slug_is_422_before_anything_is_stored_and_a_known_one_links(ctx):
    f = inbox_fixture(ctx, devices=1)
    other = inbox_fixture(ctx, app="other app", user="other_user")
    make_activity(ctx, other, "theirs")   # another user's activity is not this user's
    before = message_count(ctx, f)
    ctx.mocks.reset()
    for slug in ("missing", "theirs"):
        doc = assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"],
                                  {"title": "T", "body": "B", "activity_slug": slug}),
                             422, "activity.not_found")
        assert doc["field"] == "activity_slug"
    assert message_count(ctx, f) == before and apns_records(ctx, f) == []
    make_activity(ctx, f, "mine")
    assert create(ctx, f, activity_slug="mine", push=False)["activity_slug"] == "mine"
    rows = ctx.db.query(f"CALL hd_list_activities({f.user_id})")
    assert [r[1] for r in rows] == ["mine"], rows


def test_an_app_without_an_active_inbox_subscription_gets_403_subscription_required(ctx):
    f = inbox_fixture(ctx, devices=1, subscribed=False)
    before = message_count(ctx, f)
    assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"],
                        {"title": "T", "body": "B"}), 403, "subscription.required")
    ctx.db.query(f"CALL hd_set_inbox_subscription({f.app_id}, 1)")
    create(ctx, f, push=False)
    ctx.db.query(f"CALL hd_set_inbox_subscription({f.app_id}, 0)")
    assert_problem(call(ctx, "POST", "/notifications", f.keys["bearer"],
                        {"title": "T", "body": "B"}), 403, "subscription.required")
    assert message_count(ctx, f) == before + 1
    # Reading the inbox needs no subscription.
    status, _, doc = call(ctx, "GET", "/notifications", f.keys["bearer"])
    assert status == 200 and len(doc["notifications"]) == 1


def test_a_spent_quota_is_429_with_retry_after_and_retry_after_ms(ctx):
    f = inbox_fixture(ctx, devices=1)
    ctx.db.query(f"CALL hd_set_quota({f.app_id}, 1, NULL)")
    create(ctx, f)
    status, headers, doc = call(ctx, "POST", "/notifications", f.keys["bearer"],
                                {"title": "T", "body": "B"})
    assert_problem((status, headers, doc), 429, "quota.exceeded")
    retry = int(headers["retry-after"])
    assert retry >= 1 and doc["retry_after_ms"] == retry * 1000, (headers, doc)


# --- keys ----------------------------------------------------------------------------

def test_missing_invalid_other_kind_and_revoked_keys_are_refused_on_every_route(ctx):
    f = inbox_fixture(ctx)
    doc = create(ctx, f, push=False)
    routes = [("POST", "/notifications", {"title": "T", "body": "B"}),
              ("GET", "/notifications", None), ("GET", f"/notifications/{doc['id']}", None),
              ("PATCH", f"/notifications/{doc['id']}", {"read": True}),
              ("DELETE", f"/notifications/{doc['id']}", None)]
    for method, path, body in routes:
        assert_problem(call(ctx, method, path, None, body), 401, "auth.missing_token")
        assert_problem(call(ctx, method, path, "hd_bt_" + "0" * 48, body), 401,
                       "auth.invalid_token")
        assert_problem(call(ctx, method, path, None, body,
                            {"Authorization": f"Basic {f.keys['bearer']}"}), 401,
                       "auth.missing_token")
        assert_problem(call(ctx, method, path, f.keys["server"], body), 403, "auth.forbidden")
    # A bearer key that names no app user has no inbox.
    [(_, userless)] = ctx.db.query(
        f"CALL hd_issue_key('bearer', {f.tenant_id}, {f.app_id}, 'no user', @k, @p); SELECT @k, @p")
    for method, path, body in routes:
        assert_problem(call(ctx, method, path, userless, body), 403, "auth.forbidden")
    # The scheme is case-insensitive (RFC 9110 §11.1).
    status, _, _ = call(ctx, "GET", "/notifications", None,
                        headers={"Authorization": f"bearer {f.keys['bearer']}"})
    assert status == 200
    ctx.db.query(f"CALL hd_revoke_key({f.key_ids['bearer']})")
    for method, path, body in routes:
        assert_problem(call(ctx, method, path, f.keys["bearer"], body), 401,
                       "auth.invalid_token")


# --- read, list, delete --------------------------------------------------------------

def test_patch_marks_read_and_unread_and_the_unread_filter_follows(ctx):
    f = inbox_fixture(ctx)
    first, second = create(ctx, f, push=False), create(ctx, f, push=False)
    key = f.keys["bearer"]
    status, _, doc = call(ctx, "PATCH", f"/notifications/{first['id']}", key, {"read": True})
    assert status == 200 and doc["read"] is True and RFC3339_UTC.match(doc["read_at"]), doc
    read_at = doc["read_at"]
    status, _, doc = call(ctx, "PATCH", f"/notifications/{first['id']}", key, {"read": True})
    assert doc["read_at"] == read_at   # the first read time stays
    status, _, page = call(ctx, "GET", "/notifications?unread=true", key)
    assert [n["id"] for n in page["notifications"]] == [second["id"]], page
    status, _, page = call(ctx, "GET", "/notifications", key)
    assert [n["id"] for n in page["notifications"]] == [second["id"], first["id"]]
    assert [n["read"] for n in page["notifications"]] == [False, True]
    status, _, doc = call(ctx, "PATCH", f"/notifications/{first['id']}", key, {"read": False})
    assert status == 200 and (doc["read"], doc["read_at"]) == (False, None), doc
    status, _, page = call(ctx, "GET", "/notifications?unread=1", key)
    assert {n["id"] for n in page["notifications"]} == {first["id"], second["id"]}
    assert_problem(call(ctx, "PATCH", f"/notifications/{first['id']}", key, {}), 422,
                   "validation.failed")
    assert_problem(call(ctx, "PATCH", f"/notifications/{first['id']}", key, {"read": "x"}),
                   400, "request.invalid_shape")
    assert_problem(call(ctx, "GET", "/notifications?unread=maybe", key), 400,
                   "request.invalid_parameter")


def test_delete_removes_the_notification_from_the_inbox(ctx):
    f = inbox_fixture(ctx)
    keep, gone = create(ctx, f, push=False), create(ctx, f, push=False)
    key = f.keys["bearer"]
    status, _, body = call(ctx, "DELETE", f"/notifications/{gone['id']}", key)
    assert (status, body) == (204, b""), (status, body)
    assert_problem(call(ctx, "GET", f"/notifications/{gone['id']}", key), 404,
                   "notification.not_found")
    assert_problem(call(ctx, "DELETE", f"/notifications/{gone['id']}", key), 404,
                   "notification.not_found")
    status, _, page = call(ctx, "GET", "/notifications", key)
    assert [n["id"] for n in page["notifications"]] == [keep["id"]]
    for bad in ("0", "abc", "12x", "99999999999999999999999"):
        assert_problem(call(ctx, "GET", f"/notifications/{bad}", key), 404,
                       "notification.not_found")


def test_another_users_or_tenants_notification_is_404_on_every_route(ctx):
    f = inbox_fixture(ctx)
    other_app = fresh_fixture(ctx, kinds=KINDS, app="another app", user="neighbour")
    # A second user of the same app, with a bearer key of its own.
    [(kid, neighbour_key)] = ctx.db.query(
        f"CALL hd_create_app_user({f.app_id}, 'neighbour', NULL, @u);"
        f" CALL hd_issue_bearer_key({f.app_id}, 'neighbour', 'n', @k, @p); SELECT @k, @p")
    other_tenant = inbox_fixture(ctx, tenant=f"other tenant of {ctx.test_id}")
    mine = create(ctx, f, push=False)
    for key in (neighbour_key, other_tenant.keys["bearer"], other_app.keys["bearer"]):
        for method, body in (("GET", None), ("PATCH", {"read": True}), ("DELETE", None)):
            assert_problem(call(ctx, method, f"/notifications/{mine['id']}", key, body), 404,
                           "notification.not_found")
        status, _, page = call(ctx, "GET", "/notifications", key)
        assert status == 200 and mine["id"] not in [n["id"] for n in page["notifications"]]
    status, _, doc = call(ctx, "GET", f"/notifications/{mine['id']}", f.keys["bearer"])
    assert status == 200 and doc["read"] is False   # untouched by the others' PATCH
    assert kid


def test_pages_walk_the_inbox_newest_first_with_no_skip_or_repeat_while_notifications_arrive(ctx):
    f = inbox_fixture(ctx)
    key = f.keys["bearer"]
    existing = [create(ctx, f, push=False, title=f"n{i}")["id"] for i in range(23)]
    seen, cursor, pages = [], None, 0
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        while True:
            # New notifications land between and during page reads.
            arriving = [pool.submit(create, ctx, f, push=False, title="new") for _ in range(3)]
            path = "/notifications?limit=5" + (f"&cursor={cursor}" if cursor else "")
            status, _, page = call(ctx, "GET", path, key)
            assert status == 200, page
            for a in arriving:
                a.result()
            ids = [n["id"] for n in page["notifications"]]
            assert ids == sorted(ids, reverse=True) and len(ids) <= 5, ids
            seen += ids
            pages += 1
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
            assert isinstance(cursor, str) and cursor, page
    assert len(seen) == len(set(seen)), "a notification was repeated"
    assert set(existing) <= set(seen), "a notification was skipped"
    assert seen == sorted(seen, reverse=True)
    assert pages >= 5
    assert_problem(call(ctx, "GET", "/notifications?limit=101", key), 400,
                   "request.invalid_parameter")
    assert_problem(call(ctx, "GET", "/notifications?limit=0", key), 400,
                   "request.invalid_parameter")
    assert_problem(call(ctx, "GET", "/notifications?cursor=abc", key), 400,
                   "request.invalid_parameter")
    status, _, page = call(ctx, "GET", "/notifications", key)
    assert len(page["notifications"]) == 20 and page["limit"] == 20


# --- XML -----------------------------------------------------------------------------

def test_xml_bodies_and_answers_carry_the_same_notification_and_problems_are_problem_xml(ctx):
    f = inbox_fixture(ctx)
    key = f.keys["bearer"]
    body = ("<notification><title>Deploy</title><body>Done</body><level>passive</level>"
            "<media><url>https://example.com/v.mp4</url><type>video</type></media>"
            "<actions><id>open</id><title>Open</title><foreground>true</foreground></actions>"
            "<metadata><run>42</run></metadata><push>false</push></notification>")
    status, headers, data = call(ctx, "POST", "/notifications", key, body.encode(),
                                 {"Content-Type": "application/xml"})
    assert status == 201 and headers["content-type"].startswith("application/xml"), (status, data)
    root = ET.fromstring(data)
    assert root.tag == "notification"
    assert (root.findtext("title"), root.findtext("level"), root.findtext("media_type"),
            root.findtext("actions/id"), root.findtext("actions/foreground"),
            root.findtext("metadata/run")) == ("Deploy", "passive", "video", "open", "true", "42")
    nid = int(root.findtext("id"))
    status, _, doc = call(ctx, "GET", f"/notifications/{nid}", key)
    assert doc["actions"] == [{"id": "open", "title": "Open", "foreground": True}], doc
    assert doc["metadata"] == {"run": "42"} and doc["media_url"] == "https://example.com/v.mp4"
    status, headers, data = call(ctx, "GET", "/notifications", key,
                                 headers={"Accept": "application/xml"})
    assert status == 200 and ET.fromstring(data).findtext("notifications/id") == str(nid)
    # Problems in RFC 9457's XML form.
    status, headers, data = call(ctx, "POST", "/notifications", key,
                                 b"<notification><title>T</title></notification>",
                                 {"Content-Type": "application/xml"})
    assert status == 422, data
    assert headers["content-type"].startswith("application/problem+xml"), headers
    root = ET.fromstring(data)
    assert root.tag == PROBLEM_NS + "problem", root.tag
    assert (root.findtext(PROBLEM_NS + "status"), root.findtext(PROBLEM_NS + "code")) == \
        ("422", "validation.failed"), data
    assert root.findtext(PROBLEM_NS + "type") and root.findtext(PROBLEM_NS + "detail")
    status, headers, data = call(ctx, "GET", "/notifications/1?format=xml", None)
    assert status == 401 and headers["content-type"].startswith("application/problem+xml")
    assert ET.fromstring(data).findtext(PROBLEM_NS + "code") == "auth.missing_token"


# --- SQL: statistics and retention ---------------------------------------------------

def test_the_stats_view_counts_inbox_volume_and_read_rate_per_app(ctx):
    f = inbox_fixture(ctx)
    ids = [create(ctx, f, push=False)["id"] for _ in range(4)]
    call(ctx, "PATCH", f"/notifications/{ids[0]}", f.keys["bearer"], {"read": True})
    [row] = ctx.db.query("SELECT items, items_read, items_unread, read_rate, items_last_24h,"
                         f" users FROM hd_inbox_stats WHERE app_id = {f.app_id}")
    assert row == ("4", "1", "3", "0.2500", "4", "1"), row


def test_the_retention_purge_removes_items_past_the_apps_retention_and_their_messages(ctx):
    f = inbox_fixture(ctx)
    keep = create(ctx, f, push=False)["id"]
    old = create(ctx, f, push=False)["id"]
    deleted = create(ctx, f, push=False)["id"]
    call(ctx, "DELETE", f"/notifications/{deleted}", f.keys["bearer"])
    ctx.db.query(f"UPDATE inbox_items SET created_at = UTC_TIMESTAMP(6) - INTERVAL 8 DAY"
                 f" WHERE message_id = {old}")
    ctx.db.query(f"CALL hd_set_inbox_retention({f.app_id}, 7)")
    ctx.db.query("CALL hd_purge_inbox(1000)")
    [(n,)] = ctx.db.query(f"SELECT COUNT(*) FROM inbox_items WHERE app_id = {f.app_id}")
    assert n == "1"
    rows = ctx.db.query(f"SELECT id FROM messages WHERE app_id = {f.app_id} ORDER BY id")
    assert [int(r[0]) for r in rows] == [keep], rows
    status, _, page = call(ctx, "GET", "/notifications", f.keys["bearer"])
    assert [n["id"] for n in page["notifications"]] == [keep]


# --- rate limit, the demo stack ------------------------------------------------------

@once
@timeout(120)
def test_over_the_per_address_limit_answers_429_rate_limit_exceeded_with_retry_after(ctx):
    def one(_):
        return call(ctx, "GET", "/notifications", None)
    deadline = time.monotonic() + 60
    limited = []
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        while not limited and time.monotonic() < deadline:
            limited = [a for a in pool.map(one, range(150)) if a[0] == 429]
    assert limited, "no request was over the limit in a minute of bursts"
    status, headers, doc = limited[0]
    assert_problem((status, headers, doc), 429, "rate_limit.exceeded")
    assert headers["retry-after"] == "1" and doc["retry_after_ms"] == 1000, (headers, doc)


def test_the_inbox_curl_printed_by_herald_local_up_works(ctx):
    demo = inbox_fixture(ctx, app="Demo App", kinds=("server", "integration", "client", "bearer"))
    values = herald_stack.env_values(demo, ctx.base_url)
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", herald_stack.inbox_curl(values)],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    doc = json.loads(out)
    assert (doc["title"], doc["source_display_name"], doc["delivery"], doc["reason"]) == \
        ("Deploy Complete", "GitHub Actions", "none", "no_apns_token"), doc


def test_a_push_answers_503_at_once_while_the_queue_backlog_is_over_its_limit(ctx):
    [limit] = [int(line.partition("=")[2]) for line in ctx.stack.config_path.read_text().splitlines()
               if line.partition("=")[0].strip() == "max_queue_backlog"]
    f = inbox_fixture(ctx, devices=1)
    filler = inbox_fixture(ctx, app="filler")
    ctx.db.query(
        "INSERT INTO messages (app_id, source, title, body, schedule_at)"
        f" VALUES ({filler.app_id}, 'developer', 'backlog', 'backlog', UTC_TIMESTAMP(6));"
        "SET @m = LAST_INSERT_ID();"
        "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)"
        f" SELECT @m, seq, {filler.app_id}, 5, UTC_TIMESTAMP(6) - INTERVAL 1 SECOND"
        f" FROM seq_1_to_{limit + 1};"
        f"CALL hd_measure_backlog({limit + 1})")
    try:
        before = message_count(ctx, f)
        answer = call(ctx, "POST", "/notifications", f.keys["bearer"], {"title": "T", "body": "B"})
        assert_problem(answer, 503, "service.unavailable")
        assert answer[1].get("retry-after") == "1"
        assert message_count(ctx, f) == before
        create(ctx, f, push=False)   # an inbox-only store queues nothing: served
    finally:
        ctx.db.query(f"DELETE FROM deliveries WHERE app_id = {filler.app_id};"
                     f"DELETE FROM messages WHERE app_id = {filler.app_id};"
                     f"CALL hd_measure_backlog({limit + 1})")
    assert create(ctx, f)["delivery"] == "all"
