"""The webpush dialect's sends (docs/webpush.md): POST /v2/push/send and
/v2/push/broadcast with X-Secret-Key. Clients are web devices with real subscription
keys; what the Web Push mock receives is decrypted by the tests' own RFC 8291
implementation (tests/mocks/ece.py), never by herald's code."""
import concurrent.futures
import json
import os
import pathlib
import re
import secrets
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import delivery
import ece
import test_webpush as wp
from hd import FAST_ANSWER_S, timeout
from herald_stack import sql_str

BASE = "/v2/push"
KINDS = wp.KINDS
REQ_ID = re.compile(r"^req_[0-9a-f]{32}$")
ANSWER_FIELDS = {"request_id", "total_targets", "successful_sends", "failed_sends",
                 "invalid_registrations", "message", "status"}


# --- helpers -------------------------------------------------------------------------

def fixture(ctx, **options):
    """A service with the mock's VAPID key; its user user_123 has one iOS device."""
    f = ctx.fixture(kinds=KINDS, **options)
    delivery.set_credentials(ctx, f, "webpush")
    return f


def add_user(ctx, f, external_id, email=None):
    rows = ctx.db.query(f"CALL hd_create_app_user({f.app_id}, {sql_str(external_id)}, "
                        f"{sql_str(email) if email else 'NULL'}, @uuid);\n"
                        "SELECT id FROM app_users WHERE uid = @uuid")
    return int(rows[-1][0])


def clients(ctx, f, n, user_id=None):
    """n web clients (active, with push permission) of user_id (default the fixture's
    user), written in one statement; each a dict with uid, reg (its registration id),
    target (the mock's name for its endpoint) and the keys to decrypt with."""
    made, rows = [], []
    for _ in range(n):
        key, p256dh, auth = ece.make_subscription()
        target = secrets.token_hex(8)
        endpoint = f"https://push.mock.test/wp/{target}"
        uid = secrets.token_hex(16)
        made.append({"uid": uid, "reg": "reg_" + uid, "target": target,
                     "private_key": key, "auth": auth})
        rows.append(f"({sql_str(uid)}, {f.app_id}, {user_id or f.user_id}, 'web', "
                    f"{sql_str(endpoint)}, UNHEX(SHA2({sql_str(endpoint)}, 256)), "
                    f"{sql_str(p256dh)}, {sql_str(auth)}, 1, 'active')")
    ctx.db.query("INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash,"
                 " p256dh, auth_secret, push_permission, status) VALUES " + ", ".join(rows))
    return made


def post(ctx, key, body, path="/send", headers=None):
    headers = dict(headers or {})
    if key is not None:
        headers["X-Secret-Key"] = key
    status, answer_headers, data = ctx.request("POST", BASE + path, body, headers)
    ctype = answer_headers.get("content-type", "")
    return status, answer_headers, json.loads(data) if "json" in ctype and data else data


def sent(ctx, key, body, path="/send"):
    status, headers, doc = post(ctx, key, body, path)
    assert status == 200, (status, doc)
    assert headers["content-type"].startswith("application/json"), headers
    assert set(doc) == ANSWER_FIELDS and REQ_ID.match(doc["request_id"]), doc
    return doc


def note(title="Hello", body="World", **fields):
    return {"title": title, "body": body, **fields}


def received(ctx, devices, count=None, wait_s=30):
    """{target: [record, ...]} of what the mock received for devices, once count
    records (default: one per device) have come or wait_s has passed."""
    targets = {d["target"] for d in devices}
    want = len(devices) if count is None else count
    deadline = time.monotonic() + wait_s
    while True:
        records = [r for r in ctx.mocks.received("webpush") if r["target"] in targets]
        if len(records) >= want or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    found = {}
    for r in records:
        found.setdefault(r["target"], []).append(r)
    return found


def payloads(ctx, devices):
    """The decrypted payload each device received (exactly one each)."""
    found = received(ctx, devices)
    out = {}
    for d in devices:
        records = found.get(d["target"], [])
        assert len(records) == 1, (d["target"], len(records))
        out[d["uid"]] = (json.loads(delivery.decrypt(records[0], d)), records[0])
    return out


def nothing_received(ctx, devices):
    targets = {d["target"] for d in devices}
    return not [r for r in ctx.mocks.received("webpush") if r["target"] in targets]


def messages(ctx, f):
    [(n,)] = ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")
    return int(n)


def message_of(ctx, f):
    [(mid,)] = ctx.db.query(f"SELECT MAX(id) FROM messages WHERE app_id = {f.app_id}")
    return int(mid)


def set_quota(ctx, f, hourly, daily):
    ctx.db.query(f"CALL hd_set_quota({f.app_id}, {hourly}, {daily})")


# --- the send and its payload --------------------------------------------------------

def test_send_delivers_now_and_the_service_worker_gets_every_field(ctx):
    f = fixture(ctx)
    two = clients(ctx, f, 2)
    data = {"orderId": "12345", "trackingUrl": "https://example.com/t/1", "n": [1, 2]}
    body = note("Order Shipped!", "Your order #12345 is on its way",
                icon="https://cdn.example.com/icon.png", badge="/badge-72.png",
                image="https://cdn.example.com/big.jpg", tag="order-12345", data=data,
                urgency="high", ttl=600,
                target_registration_ids=[two[0]["reg"], two[1]["uid"]])
    doc = sent(ctx, f.keys["secret"], body)
    assert doc["status"] == "completed" and doc["total_targets"] == 2, doc
    assert doc["successful_sends"] == 2 and doc["failed_sends"] == 0, doc
    assert doc["invalid_registrations"] == [], doc
    assert doc["message"] == "Notifications sent successfully", doc
    for payload, record in payloads(ctx, two).values():
        assert payload == {"title": "Order Shipped!", "body": "Your order #12345 is on its way",
                           "icon": "https://cdn.example.com/icon.png", "badge": "/badge-72.png",
                           "image": "https://cdn.example.com/big.jpg", "tag": "order-12345",
                           "data": data, "request_id": doc["request_id"]}, payload
        assert delivery.header(record, "Urgency") == "high", record["headers"]
        assert 590 <= int(delivery.header(record, "TTL")) <= 600, record["headers"]
        assert delivery.header(record, "Topic") == "order-12345", record["headers"]
    states = delivery.deliveries(ctx, message_of(ctx, f))
    assert sorted(s[0] for s in states.values()) == ["delivered", "delivered"], states


def test_urgency_reaches_the_urgency_header_and_a_bare_send_has_herald_defaults(ctx):
    f = fixture(ctx)
    for urgency in ("very-low", "low", "normal", "high", None):
        [client] = clients(ctx, f, 1)
        extra = {"urgency": urgency} if urgency else {}
        doc = sent(ctx, f.keys["secret"], note(target_registration_ids=[client["reg"]], **extra))
        assert doc["successful_sends"] == 1, doc
        [(payload, record)] = payloads(ctx, [client]).values()
        assert delivery.header(record, "Urgency") == (urgency or "normal"), record["headers"]
        if urgency is None:
            assert payload == {"title": "Hello", "body": "World",
                               "request_id": doc["request_id"]}, payload
            assert delivery.header(record, "TTL") == "2419200", record["headers"]
            assert delivery.header(record, "Topic") is None, record["headers"]


def test_request_ids_are_new_per_send_and_the_same_in_every_delivery_of_one(ctx):
    f = fixture(ctx)
    three = clients(ctx, f, 3)
    first = sent(ctx, f.keys["secret"], note(target_all=True))
    ids = {p["request_id"] for p, _ in payloads(ctx, three).values()}
    assert ids == {first["request_id"]}, ids
    second = sent(ctx, f.keys["secret"], note(target_all=True))
    assert second["request_id"] != first["request_id"]


# --- field rules -----------------------------------------------------------------------

FIELD_ERRORS = [
    ({"body": "b", "target_all": True}, "title"),
    ({"title": "t", "target_all": True}, "body"),
    (note(title="", target_all=True), "title"),
    (note(body="", target_all=True), "body"),
    (note(title="x" * 101, target_all=True), "title"),
    (note(title="\u00e9" * 101, target_all=True), "title"),
    (note(body="x" * 256, target_all=True), "body"),
    (note(title=5, target_all=True), "title"),
    (note(icon="ftp://cdn.example.com/i.png", target_all=True), "icon"),
    (note(icon="javascript:alert(1)", target_all=True), "icon"),
    (note(badge="//cdn.example.com/b.png", target_all=True), "badge"),
    (note(image="https://cdn.example.com/a b.png", target_all=True), "image"),
    (note(image="https://", target_all=True), "image"),
    (note(icon="", target_all=True), "icon"),
    (note(icon="https://e.com/" + "x" * 2048, target_all=True), "icon"),
    (note(tag="x" * 256, target_all=True), "tag"),
    (note(tag=7, target_all=True), "tag"),
    (note(data=[1, 2], target_all=True), "data"),
    (note(data="text", target_all=True), "data"),
    (note(data={"k": "x" * 4100}, target_all=True), "data"),
    (note(data={"k": "x" * 3950}, target_all=True), "size"),
    (note(urgency="urgent", target_all=True), "urgency"),
    (note(urgency="High", target_all=True), "urgency"),
    (note(ttl=2419201, target_all=True), "ttl"),
    (note(ttl=-1, target_all=True), "ttl"),
    (note(ttl="60", target_all=True), "ttl"),
    (note(ttl=1.5, target_all=True), "ttl"),
    (note(async_mode="yes", target_all=True), "async_mode"),
    (note(target_all="true"), "target_all"),
    (note(target_user_emails="user@example.com"), "target_user_emails"),
    (note(target_user_emails=[]), "target_user_emails"),
    (note(target_user_emails=[""]), "target_user_emails[0]"),
    (note(target_user_emails=["a@example.com", 5]), "target_user_emails[1]"),
    (note(target_user_ids=["u"] * 1001), "target_user_ids"),
    (note(target_registration_ids=["reg_xyz"]), "target_registration_ids[0]"),
    (note(target_registration_ids=["reg_" + "A" * 32]), "target_registration_ids[0]"),
    (note(target_all=True, priority=5), "priority"),
]


@timeout(120)
def test_every_field_rule_answers_400_invalid_request_and_stores_nothing(ctx):
    f = fixture(ctx)
    [client] = clients(ctx, f, 1)
    before = messages(ctx, f)
    for body, field in FIELD_ERRORS:
        answer = post(ctx, f.keys["secret"], body)
        assert answer[0] == 400, (field, answer)
        doc = wp.assert_error(answer, 400, "INVALID_REQUEST")
        assert field in doc["detail"] or (field == "size" and "3993" in doc["detail"]), \
            (field, doc)
    for text in ("{", "[]", '{"title": "a", "title": "b"}', "\xff"):
        wp.assert_error(post(ctx, f.keys["secret"], text.encode("latin-1"),
                             headers={"Content-Type": "application/json"}),
                        400, "INVALID_REQUEST")
    wp.assert_error(post(ctx, f.keys["secret"], b"title=x",
                         headers={"Content-Type": "text/plain"}), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert messages(ctx, f) == before
    assert nothing_received(ctx, [client])
    # The limits themselves are accepted: 100 and 255 characters, however many bytes.
    doc = sent(ctx, f.keys["secret"], note("\U0001F600" * 100, "\u00e9" * 255, ttl=2419200,
                                           data={"k": "x" * 2900}, target_all=True))
    assert doc["successful_sends"] == 1, doc


def test_exactly_one_targeting_option_or_400_invalid_request(ctx):
    f = fixture(ctx)
    [client] = clients(ctx, f, 1)
    key = f.keys["secret"]
    for body in (note(), note(target_all=False),
                 note(target_all=True, target_user_emails=[f.user_email]),
                 note(target_user_emails=[f.user_email], target_user_ids=[f.user]),
                 note(target_user_ids=[f.user], target_registration_ids=[client["reg"]]),
                 note(target_all=True, target_user_emails=[f.user_email], target_user_ids=[f.user],
                      target_registration_ids=[client["reg"]])):
        doc = wp.assert_error(post(ctx, key, body), 400, "INVALID_REQUEST")
        assert "target" in doc["detail"], doc
    assert messages(ctx, f) == 0 and nothing_received(ctx, [client])
    # target_all false names no target: the one list is the option.
    doc = sent(ctx, key, note(target_all=False, target_registration_ids=[client["reg"]]))
    assert doc["total_targets"] == 1 and doc["successful_sends"] == 1, doc
    # JSON null is absent.
    doc = sent(ctx, key, note(target_all=True, target_user_emails=None))
    assert doc["total_targets"] == 1, doc


def test_target_user_ids_are_external_ids_and_emails_reach_only_those_users_web_clients(ctx):
    f = fixture(ctx)
    alice = add_user(ctx, f, "alice-7", "alice@example.com")
    bob = add_user(ctx, f, "bob-8", "bob@example.com")
    alices, bobs, mine = clients(ctx, f, 2, alice), clients(ctx, f, 1, bob), clients(ctx, f, 1)
    key = f.keys["secret"]
    doc = sent(ctx, key, note("ids", target_user_ids=["alice-7", "nobody"]))
    assert doc["total_targets"] == 2 and doc["successful_sends"] == 2, doc
    assert {p["title"] for p, _ in payloads(ctx, alices).values()} == {"ids"}
    assert nothing_received(ctx, bobs + mine)
    doc = sent(ctx, key, note("emails", target_user_emails=["Bob@Example.com", f.user_email]))
    # The fixture's user also has an iOS device: the dialect's clients are web only.
    assert doc["total_targets"] == 2 and doc["successful_sends"] == 2, doc
    assert {p["title"] for p, _ in payloads(ctx, bobs + mine).values()} == {"emails"}
    doc = sent(ctx, key, note(target_user_emails=["nobody@example.com"]))
    assert doc == {**doc, "status": "completed", "total_targets": 0, "successful_sends": 0,
                   "failed_sends": 0, "invalid_registrations": []}, doc
    assert doc["message"] == "No active clients matched the targets", doc


def test_a_registration_that_came_back_gone_is_listed_and_unregistered(ctx):
    f = fixture(ctx)
    live, dead = clients(ctx, f, 2)
    ctx.mocks.script("webpush", [{"status": 410, "target": dead["target"]}])
    doc = sent(ctx, f.keys["secret"], note(target_registration_ids=[live["reg"], dead["reg"]]))
    assert doc["status"] == "completed" and doc["total_targets"] == 2, doc
    assert doc["successful_sends"] == 1 and doc["failed_sends"] == 1, doc
    assert doc["invalid_registrations"] == [dead["reg"]], doc
    client = wp.ok(ctx, f"/clients/{dead['reg']}", f.keys["secret"])
    assert client["status"] == "unregistered" and not client["is_subscribed"], client
    # Gone is final: the next send does not reach it.
    doc = sent(ctx, f.keys["secret"], note(target_all=True))
    assert doc["total_targets"] == 1 and doc["successful_sends"] == 1, doc


def test_a_rejected_delivery_counts_as_failed_and_is_not_invalid(ctx):
    f = fixture(ctx)
    [client] = clients(ctx, f, 1)
    ctx.mocks.script("webpush", [{"status": 400, "target": client["target"]}])
    doc = sent(ctx, f.keys["secret"], note(target_all=True))
    assert doc["successful_sends"] == 0 and doc["failed_sends"] == 1, doc
    assert doc["invalid_registrations"] == [], doc
    assert doc["message"] == "No notification could be delivered", doc


# --- synchronous, queued --------------------------------------------------------------

@timeout(300)
def test_100_clients_are_delivered_synchronously_101_are_queued_for_the_worker(ctx):
    f = fixture(ctx)
    hundred = clients(ctx, f, 100)
    key = f.keys["secret"]
    doc = sent(ctx, key, note("sync", target_registration_ids=[c["reg"] for c in hundred]))
    assert doc["status"] == "completed" and doc["total_targets"] == 100, doc
    assert doc["successful_sends"] == 100 and doc["failed_sends"] == 0, doc
    assert {p["request_id"] for p, _ in payloads(ctx, hundred).values()} == {doc["request_id"]}

    extra = clients(ctx, f, 1)
    doc = sent(ctx, key, note("queued", target_all=True))
    assert doc == {**doc, "status": "queued", "total_targets": 101, "successful_sends": 0,
                   "failed_sends": 0, "invalid_registrations": []}, doc
    assert doc["message"] == "Notifications queued for processing", doc
    message = message_of(ctx, f)
    states = delivery.deliveries(ctx, message)
    assert len(states) == 101 and {s[0] for s in states.values()} == {"queued"}, states
    assert nothing_received(ctx, extra)
    with delivery.worker(ctx):
        delivery.wait_states(ctx, message, ("delivered",), timeout=120)
    everyone = hundred + extra
    found = received(ctx, everyone, count=201)
    for c in everyone:
        last = json.loads(delivery.decrypt(found[c["target"]][-1], c))
        assert last["title"] == "queued" and last["request_id"] == doc["request_id"], last


def test_async_mode_queues_even_one_client_and_the_worker_delivers_it(ctx):
    f = fixture(ctx)
    [client] = clients(ctx, f, 1)
    doc = sent(ctx, f.keys["secret"], note("later", async_mode=True, target_all=True))
    assert doc["status"] == "queued" and doc["total_targets"] == 1, doc
    assert doc["successful_sends"] == 0 and doc["failed_sends"] == 0, doc
    assert nothing_received(ctx, [client])
    with delivery.worker(ctx):
        delivery.wait_states(ctx, message_of(ctx, f), ("delivered",))
    [(payload, _)] = payloads(ctx, [client]).values()
    assert payload["title"] == "later" and payload["request_id"] == doc["request_id"]
    # async_mode false is the default: synchronous.
    doc = sent(ctx, f.keys["secret"], note(async_mode=False, target_all=True))
    assert doc["status"] == "completed" and doc["successful_sends"] == 1, doc


@timeout(120)
def test_deliveries_a_running_worker_claims_first_still_count_in_the_answer(ctx):
    f = fixture(ctx)
    twenty = clients(ctx, f, 20)
    with delivery.worker(ctx):
        for _ in range(3):
            doc = sent(ctx, f.keys["secret"], note(target_all=True))
            assert doc["status"] == "completed" and doc["successful_sends"] == 20, doc
            assert doc["failed_sends"] == 0, doc
    found = received(ctx, twenty, count=60)
    assert all(len(found[c["target"]]) == 3 for c in twenty), found.keys()


@timeout(120)
def test_a_push_service_slower_than_the_wait_counts_as_failed_and_the_worker_retries_it(ctx):
    f = fixture(ctx)
    fast, slow = clients(ctx, f, 2)
    ctx.mocks.script("webpush", [{"delay_ms": 20000, "target": slow["target"]}])
    started = time.monotonic()
    doc = sent(ctx, f.keys["secret"], note("slow", target_all=True))
    took = time.monotonic() - started
    # sync_wait_ms is 5 s: the answer does not wait for the slow push service.
    assert took < 5 + 3, took
    assert doc["status"] == "completed" and doc["total_targets"] == 2, doc
    assert doc["successful_sends"] == 1 and doc["failed_sends"] == 1, doc
    assert doc["invalid_registrations"] == [], doc
    message = message_of(ctx, f)
    with delivery.worker(ctx):
        delivery.wait_states(ctx, message, ("delivered",))
    found = received(ctx, [fast, slow], count=3)
    last = json.loads(delivery.decrypt(found[slow["target"]][-1], slow))
    assert last["title"] == "slow" and last["request_id"] == doc["request_id"], last


@timeout(150)
def test_database_down_a_send_answers_503_service_unavailable_fast(ctx):
    f = fixture(ctx)
    [client] = clients(ctx, f, 1)
    key = f.keys["secret"]
    ctx.stack.db.stop()
    try:
        for path in ("/send", "/broadcast"):
            started = time.monotonic()
            answer = post(ctx, key, note(target_all=True), path)
            wp.assert_error(answer, 503, "SERVICE_UNAVAILABLE")
            assert int(answer[1]["retry-after"]) >= 1, answer[1]
            assert time.monotonic() - started < FAST_ANSWER_S
    finally:
        ctx.stack.db.start()
    deadline = time.monotonic() + 30
    while post(ctx, key, note(target_all=True))[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert messages(ctx, f) == 1
    assert len(received(ctx, [client])[client["target"]]) == 1


# --- broadcast --------------------------------------------------------------------------

def test_broadcast_reaches_every_web_client_and_refuses_other_targeting(ctx):
    f = fixture(ctx)
    bob = add_user(ctx, f, "bob", "bob@example.com")
    everyone = clients(ctx, f, 2) + clients(ctx, f, 1, bob)
    key = f.keys["secret"]
    doc = sent(ctx, key, {"title": "System Update", "body": "We've released exciting new "
                          "features!", "urgency": "normal"}, path="/broadcast")
    assert doc["status"] == "completed" and doc["total_targets"] == 3, doc
    assert doc["successful_sends"] == 3, doc
    assert {p["title"] for p, _ in payloads(ctx, everyone).values()} == {"System Update"}
    before = messages(ctx, f)
    for extra in ({"target_user_emails": ["bob@example.com"]}, {"target_user_ids": ["bob"]},
                  {"target_registration_ids": [everyone[0]["reg"]]}, {"target_all": False}):
        answer = post(ctx, key, note(**extra), path="/broadcast")
        err = wp.assert_error(answer, 400, "INVALID_REQUEST")
        assert next(iter(extra)) in err["detail"], err
    assert messages(ctx, f) == before
    doc = sent(ctx, key, note("explicit", target_all=True), path="/broadcast")
    assert doc["total_targets"] == 3, doc
    doc = sent(ctx, key, note("later", async_mode=True), path="/broadcast")
    assert doc["status"] == "queued" and doc["total_targets"] == 3, doc


# --- quotas -------------------------------------------------------------------------------

def test_a_send_over_the_quota_is_refused_whole_with_429_quota_exceeded(ctx):
    f = fixture(ctx)
    two = clients(ctx, f, 2)
    key = f.keys["secret"]
    set_quota(ctx, f, 3, 100)
    assert sent(ctx, key, note(target_all=True))["successful_sends"] == 2
    quota = wp.ok(ctx, "/quota", key)
    assert quota["hourly_remaining"] == 1 and quota["daily_remaining"] == 98, quota
    before = messages(ctx, f)
    answer = post(ctx, key, note("refused", target_all=True))
    err = wp.assert_error(answer, 429, "QUOTA_EXCEEDED")
    assert "quota" in err["detail"], err
    retry = int(answer[1]["retry-after"])
    now = wp.db_now(ctx)
    reset = wp.parse_time(quota["reset_hourly_at"])
    # Retry-After runs to the end of the hour that GET /quota names.
    assert abs((now.timestamp() + retry) - reset.timestamp()) <= 2, (now, retry, reset)
    assert messages(ctx, f) == before
    assert wp.ok(ctx, "/quota", key)["hourly_remaining"] == 1
    # What is left is usable: one delivery.
    doc = sent(ctx, key, note(target_registration_ids=[two[0]["reg"]]))
    assert doc["successful_sends"] == 1, doc
    quota = wp.ok(ctx, "/quota", key)
    assert quota["hourly_remaining"] == 0 and quota["daily_remaining"] == 97, quota
    wp.assert_error(post(ctx, key, note(target_registration_ids=[two[1]["reg"]])), 429,
                    "QUOTA_EXCEEDED")
    # The daily quota refuses the same way, and its window ends at the day's end.
    set_quota(ctx, f, "NULL", 3)
    answer = post(ctx, key, note(target_all=True))
    wp.assert_error(answer, 429, "QUOTA_EXCEEDED")
    quota = wp.ok(ctx, "/quota", key)
    assert quota["daily_remaining"] == 0, quota
    day_end = wp.parse_time(quota["reset_daily_at"])
    assert abs(wp.db_now(ctx).timestamp() + int(answer[1]["retry-after"]) -
               day_end.timestamp()) <= 2, (answer[1], quota)
    # A queued send is charged the same way.
    wp.assert_error(post(ctx, key, note(async_mode=True), path="/broadcast"), 429,
                    "QUOTA_EXCEEDED")


@timeout(180)
def test_50_concurrent_sends_never_push_usage_past_the_quota(ctx):
    f = fixture(ctx)
    three = clients(ctx, f, 3)
    key = f.keys["secret"]
    set_quota(ctx, f, 31, 1000)

    def one(i):
        return post(ctx, key, note(f"n{i}", async_mode=True, target_all=True))
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(one, range(50)))
    accepted = [a for a in answers if a[0] == 200]
    for a in answers:
        if a[0] != 200:
            wp.assert_error(a, 429, "QUOTA_EXCEEDED")
    # Each send is 3 deliveries: 10 fit in 31, and the 1 left fits none.
    assert len(accepted) == 10, [a[0] for a in answers]
    assert all(a[2]["status"] == "queued" and a[2]["total_targets"] == 3 for a in accepted)
    [(used,)] = ctx.db.query(f"SELECT used FROM quota_usage WHERE app_id = {f.app_id} "
                             "AND period = 'hour' ORDER BY window_start DESC LIMIT 1")
    assert int(used) == 30, used
    [(queued,)] = ctx.db.query("SELECT COUNT(*) FROM deliveries WHERE app_id = "
                               f"{f.app_id}")
    assert int(queued) == 30 and messages(ctx, f) == 10
    assert wp.ok(ctx, "/quota", key)["hourly_remaining"] == 1
    assert nothing_received(ctx, three)


# --- keys, tenants, formats -------------------------------------------------------------

def test_sends_take_only_a_secret_key_of_this_service(ctx):
    f = fixture(ctx)
    [client] = clients(ctx, f, 1)
    for path in ("/send", "/broadcast"):
        wp.assert_error(post(ctx, None, note(target_all=True), path), 401, "UNAUTHORIZED")
        wp.assert_error(post(ctx, "hd_sec_" + "0" * 43, note(target_all=True), path), 401,
                        "UNAUTHORIZED")
        for kind in ("server", "client", "integration"):
            wp.assert_error(post(ctx, f.keys[kind], note(target_all=True), path), 403,
                            "FORBIDDEN")
    ctx.db.query(f"CALL hd_set_push_enabled({f.app_id}, 0)")
    err = wp.assert_error(post(ctx, f.keys["secret"], note(target_all=True)), 403, "FORBIDDEN")
    assert "disabled" in err["detail"], err
    assert messages(ctx, f) == 0 and nothing_received(ctx, [client])


def test_another_services_clients_are_never_reached(ctx):
    mine = fixture(ctx)
    other = fixture(ctx, tenant=f"other tenant of {ctx.test_id}", user="other_user",
                    email="shared@example.com")
    same_tenant = ctx.fixture(kinds=KINDS, tenant=f"tenant of {ctx.test_id}",
                              app="second app", user="user_123")
    delivery.set_credentials(ctx, same_tenant, "webpush")
    theirs = clients(ctx, other, 2) + clients(ctx, same_tenant, 1)
    my_user = add_user(ctx, mine, "other_user", "shared@example.com")
    [my_client] = clients(ctx, mine, 1, my_user)
    key = mine.keys["secret"]
    doc = sent(ctx, key, note(target_registration_ids=[c["reg"] for c in theirs]))
    assert doc["total_targets"] == 0 and doc["invalid_registrations"] == [], doc
    for body in (note(target_user_ids=["other_user", "user_123"]),
                 note(target_user_emails=["shared@example.com"]), note(target_all=True)):
        doc = sent(ctx, key, body)
        assert doc["total_targets"] == 1 and doc["successful_sends"] == 1, (body, doc)
    doc = sent(ctx, key, note(), path="/broadcast")
    assert doc["total_targets"] == 1, doc
    assert len(received(ctx, [my_client], count=4)[my_client["target"]]) == 4
    assert nothing_received(ctx, theirs)
    assert messages(ctx, other) == 0 and messages(ctx, same_tenant) == 0


def test_a_deregistered_client_receives_nothing_more(ctx):
    f = fixture(ctx)
    gone, kept = clients(ctx, f, 2)
    key = f.keys["secret"]
    queued = sent(ctx, key, note("queued before", async_mode=True, target_all=True))
    assert queued["total_targets"] == 2, queued
    assert wp.ok(ctx, f"/clients/{gone['reg']}", key, method="DELETE")["success"] is True
    doc = sent(ctx, key, note(target_registration_ids=[gone["reg"]]))
    assert doc["total_targets"] == 0, doc
    doc = sent(ctx, key, note("after", target_all=True))
    assert doc["total_targets"] == 1 and doc["successful_sends"] == 1, doc
    with delivery.worker(ctx):
        delivery.wait_states(ctx, message_of(ctx, f) - 1, ("delivered",))
    assert nothing_received(ctx, [gone])
    titles = sorted(json.loads(delivery.decrypt(r, kept))["title"]
                    for r in received(ctx, [kept], count=2)[kept["target"]])
    assert titles == ["after", "queued before"], titles


def test_xml_bodies_and_answers_match_json(ctx):
    f = fixture(ctx)
    two = clients(ctx, f, 2)
    key = f.keys["secret"]
    body = ("<notification><title>Hi &amp; bye</title><body>b</body><ttl> 60 </ttl>"
            "<urgency>low</urgency><async_mode>false</async_mode>"
            "<data><orderId>42</orderId></data>"
            + "".join(f"<target_registration_ids>{c['reg']}</target_registration_ids>"
                      for c in two) + "</notification>")
    status, headers, data = post(ctx, key, body, headers={"Content-Type": "application/xml"})
    assert status == 200 and headers["content-type"].startswith("application/xml"), data
    root = ET.fromstring(data)
    assert root.tag == "response", data
    assert root.findtext("status") == "completed" and root.findtext("total_targets") == "2"
    assert root.findtext("successful_sends") == "2" and REQ_ID.match(root.findtext("request_id"))
    for payload, record in payloads(ctx, two).values():
        assert payload["title"] == "Hi & bye" and payload["data"] == {"orderId": "42"}, payload
        assert delivery.header(record, "Urgency") == "low"
    # One element is a list of one.
    body = ("<notification><title>one</title><body>b</body><target_registration_ids>"
            f"{two[0]['reg']}</target_registration_ids></notification>")
    status, _, data = post(ctx, key, body, headers={"Content-Type": "application/xml"})
    assert status == 200 and ET.fromstring(data).findtext("total_targets") == "1", data
    # Errors in XML when asked.
    status, headers, data = post(ctx, key, note(), headers={"Accept": "application/xml"})
    assert status == 400 and headers["content-type"].startswith("application/xml"), data
    root = ET.fromstring(data)
    assert root.tag == "error" and root.findtext("code") == "INVALID_REQUEST", data
    assert root.findtext("detail"), data


# --- the seed's examples --------------------------------------------------------------

SEED_EXAMPLES = pathlib.Path(__file__).resolve().parent / "seed004"
SEED_BASE = "https://api.cloudsignal.io"


def run_example(ctx, workdir, env, *argv):
    done = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, (argv, done.returncode, done.stdout, done.stderr)
    return done.stdout


def titles(ctx, devices):
    """{uid: [title, ...]} of every payload each device has received so far."""
    found = received(ctx, devices, count=0, wait_s=0)
    return {d["uid"]: [json.loads(delivery.decrypt(r, d))["title"]
                       for r in found.get(d["target"], [])] for d in devices}


@timeout(300)
def test_the_seeds_nodejs_python_go_and_curl_examples_run_unchanged(ctx):
    f = fixture(ctx)
    [customer] = clients(ctx, f, 1, add_user(ctx, f, "customer-1", "customer@example.com"))
    [user] = clients(ctx, f, 1, add_user(ctx, f, "user-2", "user@example.com"))
    [other] = clients(ctx, f, 1)
    everyone = [customer, user, other]
    with tempfile.TemporaryDirectory() as workdir:
        for example in SEED_EXAMPLES.iterdir():
            text = example.read_text().replace(SEED_BASE, ctx.url("").rstrip("/"))
            (pathlib.Path(workdir) / example.name).write_text(text)
        env = {"PATH": os.environ["PATH"], "HOME": workdir, "LANG": "C.UTF-8",
               "CLOUDSIGNAL_SECRET_KEY": f.keys["secret"],
               # Go builds offline, from its standard library alone.
               "GOCACHE": os.path.join(workdir, "gocache"), "GOPATH": os.path.join(workdir, "go"),
               "GOPROXY": "off", "GO111MODULE": "off"}

        run_example(ctx, workdir, env, "node", "send.mjs")
        [(payload, _)] = payloads(ctx, [customer]).values()
        assert payload["title"] == "Order Shipped!", payload
        assert payload["data"] == {"orderId": "12345", "trackingUrl": "https://..."}, payload
        assert titles(ctx, [user, other]) == {user["uid"]: [], other["uid"]: []}

        run_example(ctx, workdir, env, "python3", "send.py")
        received(ctx, everyone, count=4)
        assert {u: t[-1] for u, t in titles(ctx, everyone).items()} == \
            {d["uid"]: "New Feature!" for d in everyone}

        run_example(ctx, workdir, env, "go", "run", "send.go", "main.go")
        received(ctx, everyone, count=5)
        assert titles(ctx, [user])[user["uid"]][-1] == "From Go"

        out = run_example(ctx, workdir, env, "sh", "send.sh")
        found = received(ctx, everyone, count=9)
        record = found[user["target"]][-2]
        assert json.loads(delivery.decrypt(record, user))["title"] == "Password Reset"
        assert delivery.header(record, "Urgency") == "high", record["headers"]
        assert {u: t[-1] for u, t in titles(ctx, everyone).items()} == \
            {d["uid"]: "Maintenance Notice" for d in everyone}
        answers = [json.loads(part) for part in re.findall(r"\{.*?\}(?=\{|$)", out, re.S)]
        assert [a.get("status") for a in answers[:2]] == ["completed", "completed"], out
        assert answers[0]["total_targets"] == 1 and answers[1]["total_targets"] == 3, out
        assert set(answers[2]) == wp.QUOTA_FIELDS, out
