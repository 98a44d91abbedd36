"""App quotas (hd_set_quota), counted in deliveries per UTC hour and day, decided by
the database in the send transaction: a send that would exceed a quota is refused
whole with 429 quota_exceeded and Retry-After until the window ends."""
import concurrent.futures
import json
import secrets
import time

from hd import timeout

PUSH = "/developer/push"
LEGACY = "/api/v2/push?format=json"


def set_quota(ctx, f, hourly, daily):
    """Set the app's quotas, at a time when the test's sends fall into one window: as
    the UTC hour (and so the day) ends, the counts start again, so a test begun in its
    last half minute first waits for the next hour (pacing by the clock)."""
    left = 3600 - time.time() % 3600
    if left < 30:
        time.sleep(left + 0.1)
    sql = lambda v: "NULL" if v is None else str(int(v))
    ctx.db.query(f"CALL hd_set_quota({f.app_id}, {sql(hourly)}, {sql(daily)})")


def push(ctx, f, **extra):
    body = {"app_user_id": f.user, "title": "Hello", "body": "World", **extra}
    return ctx.request("POST", PUSH, body, headers={"X-Server-Key": f.server_key})


def stored(ctx, f):
    return int(ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")[0][0])


def assert_quota_refusal(answer, window_s):
    status, headers, body = answer
    assert status == 429, (status, body)
    assert json.loads(body)["error"]["code"] == "quota_exceeded", body
    assert 1 <= int(headers["retry-after"]) <= window_s, headers


def test_hourly_quota_refuses_the_send_that_would_exceed_it(ctx):
    f = ctx.fixture()
    set_quota(ctx, f, 2, None)
    assert push(ctx, f)[0] == 201
    assert push(ctx, f)[0] == 201
    assert_quota_refusal(push(ctx, f), 3600)
    assert stored(ctx, f) == 2


def test_daily_quota_refuses_with_retry_after_until_the_day_ends(ctx):
    f = ctx.fixture()
    set_quota(ctx, f, None, 1)
    assert push(ctx, f)[0] == 201
    assert_quota_refusal(push(ctx, f), 86400)
    assert stored(ctx, f) == 1


def test_quota_counts_deliveries_and_refuses_a_send_whole(ctx):
    f = ctx.fixture(devices=2)
    set_quota(ctx, f, 3, None)
    status, _, body = push(ctx, f)
    assert status == 201 and json.loads(body)["push_count"] == 2, body
    # Two more deliveries would make four: refused whole, not one of two delivered.
    assert_quota_refusal(push(ctx, f), 3600)
    assert stored(ctx, f) == 1
    assert ctx.db.query(f"SELECT used FROM quota_usage WHERE app_id = {f.app_id}"
                        " AND period = 'hour'") == [("2",)]


def test_dedupe_replay_is_not_charged_to_the_quota(ctx):
    f = ctx.fixture()
    set_quota(ctx, f, 1, None)
    key = secrets.token_hex(8)
    assert push(ctx, f, dedupe_key=key)[0] == 201
    status, _, body = push(ctx, f, dedupe_key=key)
    assert status == 200 and json.loads(body)["push_count"] == 1, (status, body)
    assert_quota_refusal(push(ctx, f), 3600)


def test_quota_of_one_app_does_not_touch_another(ctx):
    a, b = ctx.fixture(), ctx.fixture()
    set_quota(ctx, a, 1, None)
    assert push(ctx, a)[0] == 201
    assert_quota_refusal(push(ctx, a), 3600)
    assert push(ctx, b)[0] == 201


def test_legacy_send_over_quota_is_429_quota_exceeded(ctx):
    f = ctx.fixture()
    set_quota(ctx, f, 1, None)
    body = {"UserExternalId": f.user, "Title": "Hi", "CompanyId": f.company_id,
            "IntegrationKey": f.integration_key}
    assert ctx.request("POST", LEGACY, body)[0] == 200
    status, headers, answer = ctx.request("POST", LEGACY, body)
    assert status == 429 and "retry-after" in headers, (status, headers)
    doc = json.loads(answer)
    assert doc["Success"] is False and doc["ErrorCode"] == "QuotaExceeded", doc


@timeout(60)
def test_concurrent_sends_never_exceed_the_quota(ctx):
    f = ctx.fixture()
    set_quota(ctx, f, 5, None)
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        statuses = sorted(a[0] for a in pool.map(lambda _: push(ctx, f), range(20)))
    assert statuses == [201] * 5 + [429] * 15, statuses
    assert stored(ctx, f) == 5
