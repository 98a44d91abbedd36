"""Delivery end to end: a push accepted by herald reaches each provider's mock with
the request the real provider expects, and each provider answer class leaves the
delivery and the device in the right state (delivered, retried, gone, rejected).

The mocks (tests/mocks) verify what the real services verify: JWT signatures, topics,
headers, sizes; a request they refuse is answered with the real error, which these
tests would see as a rejected or retried delivery instead of a delivered one."""
import base64
import json
import signal
import subprocess
import time

import herald_stack

from delivery import (add_device, decrypt, deliveries, fresh_fixture, header, jwt_claims,
                      push, set_credentials, wait_states, worker)
from hd import FAST_ANSWER_S, once


def only_received(ctx, provider, count=1):
    records = ctx.mocks.wait_received(provider, count)
    assert len(records) == count, [r["verdict"] for r in records]
    return records


def legacy_push(ctx, f, **fields):
    """POST /api/v2/push (seed 003) as JSON, to the fixture's user by external id."""
    body = {"CompanyId": f.company_id, "IntegrationKey": f.integration_key,
            "UserExternalId": f.user, "Title": "Legacy", "Body": "Legacy hello", **fields}
    status, _, data = ctx.request("POST", "/api/v2/push?format=json", body)
    assert status in (200, 201), (status, data)
    return json.loads(data)


def last_message(ctx, f):
    [(mid,)] = ctx.db.query(f"SELECT MAX(id) FROM messages WHERE app_id = {f.app_id}")
    return int(mid)


def test_developer_push_reaches_apns_with_a_verified_token_and_every_header(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    device = add_device(ctx, f, "ios")
    ctx.mocks.reset()
    push(ctx, f, title="Order shipped", body="On its way", extra_data={"order": 4521},
         priority=9)
    with worker(ctx):
        [(state, attempts, status, _)] = wait_states(ctx, last_message(ctx, f)).values()
    assert (state, attempts, status) == ("delivered", "1", "200")
    [record] = only_received(ctx, "apns")
    assert record["verdict"] == "ok" and record["protocol"] == "h2", record
    assert record["path"] == f"/3/device/{device['token']}"
    assert header(record, "apns-topic") == ctx.mocks.keys["apns"]["topic"]
    assert header(record, "apns-push-type") == "alert"
    assert header(record, "apns-priority") == "10"
    assert header(record, "apns-expiration") is None  # no TTL given
    claims = jwt_claims(header(record, "authorization").split(" ", 1)[1])
    assert claims["iss"] == ctx.mocks.keys["apns"]["team_id"], claims
    payload = json.loads(base64.b64decode(record["body"]))
    assert payload["aps"]["alert"] == {"title": "Order shipped", "body": "On its way"}
    assert payload["order"] == 4521, payload


def test_legacy_push_reaches_fcm_through_an_oauth_token(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "fcm")
    device = add_device(ctx, f, "android")
    ctx.mocks.reset()
    legacy_push(ctx, f, Sound=True, ExpirySecs=600)
    with worker(ctx):
        [(state, _, status, _)] = wait_states(ctx, last_message(ctx, f)).values()
    assert (state, status) == ("delivered", "200")
    [token_request] = [r for r in ctx.mocks.received("fcm") if r["endpoint"] == "token"]
    [send] = [r for r in ctx.mocks.received("fcm") if r["endpoint"] == "send"]
    assert token_request["verdict"] == "ok" and send["verdict"] == "ok", (token_request, send)
    message = json.loads(base64.b64decode(send["body"]))["message"]
    assert message["token"] == device["token"], message
    assert message["notification"] == {"title": "Legacy", "body": "Legacy hello"}, message
    assert message["android"]["ttl"] in ("600s", "599s"), message
    assert message["android"]["notification"]["sound"] == "default", message


def test_web_push_is_encrypted_for_the_subscription_and_signed_with_vapid(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "webpush")
    device = add_device(ctx, f, "web")
    ctx.mocks.reset()
    push(ctx, f, title="Price drop", body="Now 20% off", extra_data={"sku": "A1"}, priority=2)
    with worker(ctx):
        [(state, _, status, _)] = wait_states(ctx, last_message(ctx, f)).values()
    assert (state, status) == ("delivered", "201")
    [record] = only_received(ctx, "webpush")
    assert record["verdict"] == "ok" and record["path"] == "/wp/" + device["target"]
    assert header(record, "urgency") == "low" and header(record, "content-encoding") == "aes128gcm"
    vapid = header(record, "authorization")
    assert vapid.startswith("vapid t=") and f"k={ctx.mocks.keys['vapid']['public_key']}" in vapid
    token = vapid.split("t=", 1)[1].split(",", 1)[0]
    assert jwt_claims(token)["aud"] == "https://push.mock.test"
    shown = json.loads(decrypt(record, device))
    assert (shown["title"], shown["body"], shown["data"]) == ("Price drop", "Now 20% off", {"sku": "A1"})


def test_windows_push_reaches_wns_as_a_toast_with_a_bearer_token(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "wns")
    add_device(ctx, f, "windows")
    ctx.mocks.reset()
    push(ctx, f, title="Meeting", body="In 5 minutes")
    with worker(ctx):
        [(state, _, status, _)] = wait_states(ctx, last_message(ctx, f)).values()
    assert (state, status) == ("delivered", "200")
    [send] = [r for r in ctx.mocks.received("wns") if r["endpoint"] == "send"]
    assert send["verdict"] == "ok" and header(send, "x-wns-type") == "wns/toast", send
    toast = base64.b64decode(send["body"]).decode()
    assert "<text>Meeting</text>" in toast and "<text>In 5 minutes</text>" in toast, toast


@once
def test_one_push_to_a_user_with_every_platform_reaches_all_four_providers(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f)
    devices = [add_device(ctx, f, p) for p in ("ios", "android", "web", "windows")]
    ctx.mocks.reset()
    answer = push(ctx, f)
    assert answer["push_count"] == 4, answer
    with worker(ctx):
        found = wait_states(ctx, last_message(ctx, f))
    assert sorted(found) == sorted(d["id"] for d in devices)
    assert {s[0] for s in found.values()} == {"delivered"}, found


# --- provider answers → delivery and device state ----------------------------------

def device_status(ctx, device):
    [(status,)] = ctx.db.query(f"SELECT status FROM devices WHERE id = {device['id']}")
    return status


ANSWERS = [
    # (platform, script entry, delivery state, device status, reason contains)
    ("ios", {"reason": "Unregistered"}, "gone", "unregistered", "Unregistered"),
    ("ios", {"reason": "BadDeviceToken"}, "gone", "unregistered", "BadDeviceToken"),
    ("ios", {"reason": "PayloadTooLarge"}, "rejected", "active", "PayloadTooLarge"),
    ("ios", {"reason": "TopicDisallowed"}, "rejected", "active", "TopicDisallowed"),
    ("android", {"fcm_error": "UNREGISTERED"}, "gone", "unregistered", "UNREGISTERED"),
    ("android", {"fcm_error": "SENDER_ID_MISMATCH"}, "gone", "unregistered", "SENDER_ID_MISMATCH"),
    ("android", {"fcm_error": "INVALID_ARGUMENT"}, "rejected", "active", "INVALID_ARGUMENT"),
    ("web", {"status": 410}, "gone", "unregistered", ""),
    ("web", {"status": 404}, "gone", "unregistered", ""),
    ("web", {"status": 413}, "rejected", "active", ""),
    ("windows", {"status": 410}, "gone", "unregistered", ""),
    ("windows", {"status": 404}, "gone", "unregistered", ""),
    ("windows", {"status": 403}, "rejected", "active", ""),
]
PROVIDER = {"ios": "apns", "android": "fcm", "web": "webpush", "windows": "wns"}


@once
def test_each_permanent_provider_answer_ends_the_delivery_in_its_state(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f)
    ctx.mocks.reset()
    cases = []
    for platform, answer, state, status, reason in ANSWERS:
        device = add_device(ctx, f, platform)
        ctx.mocks.script(PROVIDER[platform], [{**answer, "target": device["target"]}])
        cases.append((device, answer, state, status, reason))
    push(ctx, f)
    with worker(ctx):
        found = wait_states(ctx, last_message(ctx, f))
    for device, answer, state, status, reason in cases:
        got_state, attempts, _, got_reason = found[device["id"]]
        assert (got_state, attempts) == (state, "1"), (answer, found[device["id"]])
        assert reason in (got_reason or ""), (answer, got_reason)
        assert device_status(ctx, device) == status, (answer, device_status(ctx, device))


@once
def test_a_gone_device_is_never_tried_again(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    device = add_device(ctx, f, "ios")
    ctx.mocks.reset()
    ctx.mocks.script("apns", [{"reason": "Unregistered"}])
    push(ctx, f)
    with worker(ctx):
        wait_states(ctx, last_message(ctx, f))
        status, _, data = ctx.request("POST", "/developer/push",
                                      {"app_user_id": f.user, "title": "again", "body": "b"},
                                      headers={"X-Server-Key": f.server_key})
    assert status == 404, (status, data)  # no device with push permission is left
    assert len(ctx.mocks.received("apns")) == 1
    assert device_status(ctx, device) == "unregistered"


@once
def test_an_app_without_credentials_gets_its_deliveries_rejected_with_the_reason(ctx):
    f = fresh_fixture(ctx)
    add_device(ctx, f, "ios")
    ctx.mocks.reset()
    push(ctx, f)
    with worker(ctx):
        [(state, _, _, reason)] = wait_states(ctx, last_message(ctx, f)).values()
    assert state == "rejected" and "credentials" in reason, reason
    assert ctx.mocks.received("apns") == []


# --- the synchronous path: herald-worker --deliver ---------------------------------

def deliver_now(ctx, message, wait_ms):
    program = ctx.stack.program_dir / herald_stack.WORKER
    done = subprocess.run([str(program), "--deliver", str(message), "--wait-ms", str(wait_ms)],
                          env=ctx.stack.program_env(), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return done.stdout.strip()


@once
def test_deliver_now_sends_one_messages_deliveries_and_counts_their_outcomes(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns", "webpush")
    phone, browser = add_device(ctx, f, "ios"), add_device(ctx, f, "web")
    ctx.mocks.reset()
    ctx.mocks.script("webpush", [{"status": 410, "target": browser["target"]}])
    push(ctx, f)
    message = last_message(ctx, f)
    assert deliver_now(ctx, message, 5000) == \
        "delivered 1, retrying 0, gone 1, rejected 0, expired 0"
    found = deliveries(ctx, message)
    assert found[phone["id"]][0] == "delivered" and found[browser["id"]][0] == "gone", found


@once
def test_deliver_now_leaves_what_is_slower_than_its_wait_to_the_worker(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    add_device(ctx, f, "ios")
    ctx.mocks.reset()
    ctx.mocks.script("apns", [{"status": 200, "delay_ms": 3000}])
    push(ctx, f)
    message = last_message(ctx, f)
    assert deliver_now(ctx, message, 300) == \
        "delivered 0, retrying 1, gone 0, rejected 0, expired 0"
    [(state, attempts, _, _)] = deliveries(ctx, message).values()
    assert (state, attempts) == ("queued", "1")
    with worker(ctx):
        [(state, attempts, _, _)] = wait_states(ctx, message).values()
    assert (state, attempts) == ("delivered", "2")


# --- signals -------------------------------------------------------------------------

@once
def test_sighup_reopens_the_log_and_reloads_the_configuration(ctx):
    """A rotated log is reopened at its path, and a changed log_level takes effect."""
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    add_device(ctx, f, "ios")
    config = ctx.stack.run_dir / "hup.conf"
    config.write_text(ctx.stack.config_path.read_text())
    proc = ctx.stack.start_worker("hup-worker", config=config)
    log = ctx.stack.run_dir / "hup-worker.log"
    try:
        log.rename(log.with_suffix(".log.1"))
        config.write_text(config.read_text().replace("log_level = info", "log_level = debug"))
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "configuration reloaded" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "no reload logged in the reopened log"
            time.sleep(0.1)
        push(ctx, f)
        wait_states(ctx, last_message(ctx, f))
        deadline = time.monotonic() + 30
        while " debug: delivery " not in log.read_text():
            assert time.monotonic() < deadline, "no debug line after the reload"
            time.sleep(0.1)
    finally:
        ctx.stack.stop_worker("hup-worker")
    assert "stopping:" in log.read_text()


# --- overload: the queue backlog -----------------------------------------------------

def configured_backlog_limit(ctx):
    for line in ctx.stack.config_path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "max_queue_backlog":
            return int(value)
    raise AssertionError("the test configuration sets no max_queue_backlog")


def message_count(ctx, f):
    return int(ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")[0][0])


def test_sends_answer_503_at_once_while_the_queue_backlog_is_over_its_limit(ctx):
    limit = configured_backlog_limit(ctx)
    f = ctx.fixture()
    filler = ctx.fixture()
    # A backlog of limit + 1 due deliveries (times in UTC, as the programs store them),
    # measured as a worker measures it.
    ctx.db.query(
        "INSERT INTO messages (app_id, source, title, body, schedule_at)"
        f" VALUES ({filler.app_id}, 'developer', 'backlog', 'backlog', UTC_TIMESTAMP(6));"
        "SET @m = LAST_INSERT_ID();"
        "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)"
        f" SELECT @m, seq, {filler.app_id}, 5, UTC_TIMESTAMP(6) - INTERVAL 1 SECOND"
        f" FROM seq_1_to_{limit + 1}")
    # The send path trusts a measurement for a few seconds only; the test measures
    # before each send, as a running worker would every second.
    measure = lambda: ctx.db.query(f"CALL hd_measure_backlog({limit + 1})")
    try:
        measure()
        started = time.monotonic()
        status, headers, body = ctx.request(
            "POST", "/developer/push", {"app_user_id": f.user, "title": "t", "body": "b"},
            headers={"X-Server-Key": f.server_key})
        assert time.monotonic() - started < FAST_ANSWER_S
        assert status == 503 and headers.get("retry-after") == "1", (status, headers, body)
        assert json.loads(body)["error"]["code"] == "unavailable", body
        legacy = {"CompanyId": f.company_id, "IntegrationKey": f.integration_key,
                  "UserExternalId": f.user, "Title": "t", "Body": "b"}
        measure()
        status, headers, body = ctx.request("POST", "/api/v2/push?format=json", legacy)
        assert status == 503 and headers.get("retry-after") == "1", (status, body)
        assert message_count(ctx, f) == 0
    finally:
        ctx.db.query(f"DELETE FROM deliveries WHERE app_id = {filler.app_id};"
                     f"DELETE FROM messages WHERE app_id = {filler.app_id};"
                     f"CALL hd_measure_backlog({limit + 1})")
    status, _, body = ctx.request("POST", "/developer/push",
                                  {"app_user_id": f.user, "title": "t", "body": "b"},
                                  headers={"X-Server-Key": f.server_key})
    assert status == 201 and message_count(ctx, f) == 1, (status, body)


def backlog_measured_after(ctx, since):
    """When the backlog was last measured, if that was after since (a UTC
    DATETIME(6) of the database), else None."""
    rows = ctx.db.query(f"SELECT measured_at FROM queue_backlog WHERE id = 1"
                        f" AND measured_at > {herald_stack.sql_str(since)}")
    return rows[0][0] if rows else None


@once
def test_a_running_worker_keeps_the_backlog_measurement_fresh(ctx):
    [(started,)] = ctx.db.query("SELECT UTC_TIMESTAMP(6)")  # the clock of measured_at
    with worker(ctx):
        first = herald_stack.wait_for(lambda: backlog_measured_after(ctx, started), 30,
                                      "the worker to measure the backlog")
        second = herald_stack.wait_for(lambda: backlog_measured_after(ctx, first), 30,
                                       "the worker to measure the backlog again")
    [(gap,)] = ctx.db.query(f"SELECT TIMESTAMPDIFF(MICROSECOND, {herald_stack.sql_str(first)},"
                            f" {herald_stack.sql_str(second)})")
    # The worker measures every second (docs/delivery.md); a loaded 2-core machine can
    # wake it late, so a gap of up to 2.5 s passes.
    assert 0 < int(gap) < 2_500_000, gap
