"""The audience dialect (seed 001, docs/audience.md): POST /api/v1/push/send with a
user_token granted the app, strict platform objects, the seed's numeric error codes,
pack_id, inline delivery with the providers' counts in the answer, JSON and XML."""
import base64
import json
import secrets
import threading
import xml.etree.ElementTree as ET

import herald_stack
from delivery import add_device, fresh_fixture, header, set_credentials
from hd import once
from herald_stack import sql_str

PATH = "/api/v1/push/send"
KINDS = ("server", "integration", "client", "user_token")


def fixture(ctx, tenant=None):
    if tenant is None:
        return fresh_fixture(ctx, kinds=KINDS)
    return herald_stack.create_fixture(ctx.db, tenant=tenant, devices=0, kinds=KINDS)


def body_of(f, audience, **platforms):
    body = {"user_token": f.keys["user_token"], "app_id": f.app_uid, "audience": audience}
    body.update(platforms)
    return body


IOS = {"payload": {"text": "Hello world!"}}


def send(ctx, body, query=""):
    status, _, data = ctx.request("POST", PATH + query, body)
    return status, json.loads(data)


def error(ctx, body, query=""):
    """(HTTP status, status_code, code, msg) of a refused request."""
    status, doc = send(ctx, body, query)
    [err] = doc["errors"]
    assert doc["status_code"] == status, doc
    return status, err["code"], err["msg"]


def result(ctx, body, query=""):
    status, doc = send(ctx, body, query)
    assert status == 200 and doc["status_code"] == 200, (status, doc)
    assert doc["data"]["status"] == "complete", doc
    return doc["data"]["result"]


def register(ctx, f, platform, user=None, **identifiers):
    """A device through POST /devices with identifiers (idfa, advertisingId, ...)."""
    device = {"platform": platform, "app_user_id": user or f.user, **identifiers}
    if platform == "ios":
        device["token"] = secrets.token_hex(32)
    elif platform == "android":
        device["token"] = "fcm-" + secrets.token_urlsafe(60)
    else:
        device["token"] = f"https://wns.mock.test/wns/channel/{secrets.token_hex(8)}"
    status, _, data = ctx.request("POST", "/devices", device,
                                  headers={"X-Client-Key": f.client_key})
    assert status == 201, (status, data)
    answer = json.loads(data)
    target = device["token"].rsplit("/", 1)[1] if platform == "windows" else device["token"]
    return {"uid": answer["id"], "token": device["token"], "target": target,
            "devtodevId": answer["devtodevId"]}


def bodies(ctx, provider):
    return [json.loads(base64.b64decode(r["body"])) for r in ctx.mocks.received(provider)
            if r.get("endpoint", "send") == "send"]


# --- the seed's own example ----------------------------------------------------------

SEED_EXAMPLE = """{
    "user_token": "%s",
    "app_id": "%s",
    "campaign_tag": "campaign name",
    "pack_id": "%s",
    "audience": [{
        "idfa": "XXXXX-XXXXX-XXXXXX-XXXXXX"
    },
    {
        "idfa": "YYYYY-YYYYY-YYYYYY-YYYYYY"
    }],
    "ios": {
        "payload": {
            "text": "Hello world!"
        },
        "options": {
            "priority": "normal",
            "expire": 36000
        }
    }
}"""


def test_audience_the_seeds_example_request_delivers_to_both_idfa_devices(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    one = register(ctx, f, "ios", idfa="XXXXX-XXXXX-XXXXXX-XXXXXX")
    two = register(ctx, f, "ios", user="user_456", idfa="YYYYY-YYYYY-YYYYYY-YYYYYY")
    ctx.mocks.reset()
    text = SEED_EXAMPLE % (f.keys["user_token"], f.app_uid, "uniqueid1234")
    status, headers, data = ctx.request("POST", PATH, text,
                                        headers={"Content-Type": "application/json"})
    doc = json.loads(data)
    assert status == 200 and headers["content-type"].startswith("application/json"), doc
    assert doc == {"status_code": 200, "data": {"status": "complete", "result": {
        "audience": 2, "successful": 2, "erroneous": 0, "error_details": []}}}, doc
    records = ctx.mocks.received("apns")
    assert sorted(r["path"] for r in records) == sorted(
        f"/3/device/{d['token']}" for d in (one, two))
    for r in records:
        assert r["verdict"] == "ok", r
        assert header(r, "apns-priority") == "5"
        assert header(r, "apns-expiration") is not None
        assert json.loads(base64.b64decode(r["body"])) == {"aps": {"alert": {"body": "Hello world!"}}}
    [(campaign, sends, devices, delivered)] = ctx.db.query(
        "SELECT campaign, sends, devices, delivered FROM hd_campaign_stats"
        f" WHERE app_id = {f.app_id}")
    assert (campaign, sends, devices, delivered) == ("campaign name", "1", "2", "2")


# --- authentication and the app ------------------------------------------------------

def test_audience_user_token_may_come_in_the_query_instead_of_the_body(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    register(ctx, f, "ios")
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    del body["user_token"]
    assert result(ctx, body, f"?user_token={f.keys['user_token']}")["successful"] == 1


def test_audience_a_missing_user_token_is_code_12_and_a_wrong_one_code_11(ctx):
    f = fixture(ctx)
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    del body["user_token"]
    assert error(ctx, body) == (401, 12, "Authorization error. User_token is not set.")
    body["user_token"] = "nope" + secrets.token_hex(16)
    assert error(ctx, body) == (401, 11, "Authorization error. Wrong user token nope...")


def test_audience_a_valid_key_of_another_kind_is_code_15(ctx):
    f = fixture(ctx)
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    body["user_token"] = f.server_key
    assert error(ctx, body)[:2] == (403, 15)


def test_audience_a_token_without_a_grant_on_the_app_is_code_13_and_without_any_grant_23(ctx):
    f = fixture(ctx)
    other = ctx.db.query(f"CALL hd_create_app({f.tenant_id}, 'second app', @a, @uid);"
                         " SELECT @uid")[0][0]
    status, code, msg = error(ctx, {**body_of(f, [{"userId": f.user}], ios=IOS),
                                    "app_id": other})
    assert (status, code, msg) == (403, 13, f"Access denied. You have no access to the app {other}")
    ctx.db.query(f"CALL hd_ungrant_key_app({f.key_ids['user_token']}, {f.app_id})")
    assert error(ctx, body_of(f, [{"userId": f.user}], ios=IOS)) == \
        (403, 23, "Access denied. You have no access to Push API.")


def test_audience_an_unknown_app_and_another_tenants_app_are_both_code_6(ctx):
    f, g = fixture(ctx), fixture(ctx, tenant=f"other tenant of {ctx.test_id}")
    for app in ("00000000-0000-4000-8000-000000000000", g.app_uid):
        body = {**body_of(f, [{"userId": f.user}], ios=IOS), "app_id": app}
        assert error(ctx, body) == (400, 6, f"Invalid app id {app}")
