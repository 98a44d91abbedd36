"""The audience dialect (seed 001, docs/audience.md): POST /api/v1/push/send with a
user_token granted the app, strict platform objects, the seed's numeric error codes,
pack_id, inline delivery with the providers' counts in the answer, JSON and XML."""
import base64
import json
import secrets
import threading
import xml.etree.ElementTree as ET

import herald_stack
from delivery import fresh_fixture, header, set_credentials, wait_states, worker
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


# --- the seed's codes for the body ---------------------------------------------------

def test_audience_an_empty_body_is_code_2_and_a_malformed_one_code_3(ctx):
    f = fixture(ctx)
    status, _, data = ctx.request("POST", PATH, b"", headers={"Content-Type": "application/json"})
    assert (status, json.loads(data)) == (400, {"status_code": 400, "errors": [
        {"code": 2, "msg": "Request body is empty"}]})
    status, _, data = ctx.request("POST", PATH + f"?user_token={f.keys['user_token']}",
                                  '{"app_id": ', headers={"Content-Type": "application/json"})
    assert (status, json.loads(data)["errors"]) == (400, [{"code": 3, "msg": "Malformed json"}])


def test_audience_a_missing_required_field_is_code_4(ctx):
    f = fixture(ctx)
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    del body["app_id"]
    assert error(ctx, body) == (400, 4, "Field not found: app_id")
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    del body["audience"]
    assert error(ctx, body) == (400, 4, "Field not found: audience")
    assert error(ctx, body_of(f, [{"userId": f.user}])) == \
        (400, 4, "Field not found: ios, android, win or uwp")
    assert error(ctx, body_of(f, [{"userId": f.user}], ios={"payload": {"title": "t"}})) == \
        (400, 4, "Field not found: ios.payload.text")
    assert error(ctx, body_of(f, [{"userId": f.user}], win={"options": {}})) == \
        (400, 4, "Field not found: win.toast")


def test_audience_more_than_1000_elements_is_code_27(ctx):
    f = fixture(ctx)
    audience = [{"userId": f"user-{i}"} for i in range(1001)]
    assert error(ctx, body_of(f, audience, ios=IOS)) == \
        (400, 27, "The audience array should not contain more than 1000 elements.")


UNEXPECTED_FIELDS = [
    ({"colour": "red"}, "colour"),
    ({"ios": {"payload": {"text": "t", "subtitle": "s"}}}, "ios.payload.subtitle"),
    ({"ios": {"payload": {"text": "t"}, "options": {"ttl": 5}}}, "ios.options.ttl"),
    ({"android": {"payload": {"text": "t", "channel": "c"}}}, "android.payload.channel"),
    ({"android": {"payload": {"text": "t", "interactive": {"buttons": [
        {"id": "a", "text": "A", "icon": "x"}]}}}}, "android.payload.interactive.buttons[0].icon"),
    ({"win": {"toast": {"title": "t", "text": "x", "launch": "y"}}}, "win.toast.launch"),
    ({"uwp": {"toast": {"text": "x"}, "options": {"tag": "y"}}}, "uwp.options.tag"),
]


def test_audience_an_undocumented_field_anywhere_is_code_29(ctx):
    f = fixture(ctx)
    for extra, path in UNEXPECTED_FIELDS:
        body = {**body_of(f, [{"userId": f.user}]), **extra}
        if not any(k in body for k in ("ios", "android", "win", "uwp")):
            body["ios"] = IOS
        assert error(ctx, body) == (400, 29, f"Unexpected field {path}"), extra
    assert error(ctx, body_of(f, [{"userId": f.user, "email": "a@b.c"}], ios=IOS)) == \
        (400, 29, "Unexpected field audience[0].email")


def test_audience_a_value_outside_an_enum_is_code_28(ctx):
    f = fixture(ctx)
    cases = [
        ({"ios": {"payload": {"text": "t"}, "options": {"priority": "urgent"}}},
         "ios.options.priority", "urgent", "high, normal"),
        ({"ios": {"payload": {"text": "t", "attachment": {"type": "pdf", "url": "https://a.b/c"}}}},
         "ios.payload.attachment.type", "pdf", "image, video, audio"),
        ({"android": {"payload": {"text": "t", "interactive": {"buttons": [
            {"id": "a", "text": "A", "handling": "later"}]}}}},
         "android.payload.interactive.buttons[0].handling", "later", "foreground, background"),
        ({"uwp": {"toast": {"text": "t", "scenario": "party"}}}, "uwp.toast.scenario", "party",
         "default, alarm, reminder, incomingCall"),
    ]
    for platforms, field, value, values in cases:
        assert error(ctx, {**body_of(f, [{"userId": f.user}]), **platforms}) == (
            400, 28, f"Unexpected value for field {field}. Received value: {value}."
                     f" Expected values: {values}."), platforms


def test_audience_an_invalid_value_is_code_30(ctx):
    f = fixture(ctx)
    cases = [
        ({"ios": {"payload": {"text": "t", "badge": "eleven"}}}, "ios.payload.badge", "eleven"),
        ({"ios": {"payload": {"text": "t", "badge": -1}}}, "ios.payload.badge", "-1"),
        ({"ios": {"payload": {"text": 5}}}, "ios.payload.text", "5"),
        ({"ios": {"payload": {"text": "t"}, "options": {"expire": 2419201}}},
         "ios.options.expire", "2419201"),
        ({"ios": {"payload": {"text": "t"}, "options": {"hidden": "yes"}}},
         "ios.options.hidden", "yes"),
        ({"android": {"payload": {"text": "t", "color": "red"}}}, "android.payload.color", "red"),
        ({"android": {"payload": {"text": "t", "image": "ftp://a/b.png"}}},
         "android.payload.image", "ftp://a/b.png"),
        ({"android": {"payload": {"text": "t", "data": [1]}}}, "android.payload.data", "[1]"),
        ({"win": {"tile": {"text": "t"}}}, "win.tile", '{"text":"t"}'),
        ({"win": {"toast": {"title": "a", "text": "b"}}, "uwp": {"toast": {"text": "c"}}},
         "uwp", None),
    ]
    for platforms, field, value in cases:
        status, code, msg = error(ctx, {**body_of(f, [{"userId": f.user}]), **platforms})
        prefix = f"Invalid value for field {field}. Received value: "
        assert (status, code) == (400, 30) and msg.startswith(prefix), (platforms, msg)
        if value is not None:
            assert msg.startswith(prefix + value + ". Expected: "), (platforms, msg)
    status, code, msg = error(ctx, body_of(f, [{"userId": f.user}, {}], ios=IOS))
    assert (status, code) == (400, 30) and msg.startswith(
        "Invalid value for field audience[1]."), msg
    status, code, msg = error(ctx, body_of(f, [{"devtodevId": "12"}], ios=IOS))
    assert (status, code) == (400, 30), msg


def test_audience_a_payload_over_the_providers_limit_is_code_31(ctx):
    f = fixture(ctx)
    long = "x" * 2100
    for platforms in ({"ios": {"payload": {"title": long, "text": long}}},
                      {"android": {"payload": {"title": long, "text": long}}},
                      {"uwp": {"toast": {"title": long, "text": long, "text2": long}}}):
        assert error(ctx, {**body_of(f, [{"userId": f.user}]), **platforms}) == \
            (400, 31, "Notification payload size limit exceeded."), platforms


def test_audience_push_disabled_for_the_app_is_code_24(ctx):
    f = fixture(ctx)
    register(ctx, f, "ios")
    ctx.db.query(f"CALL hd_set_push_enabled({f.app_id}, 0)")
    assert error(ctx, body_of(f, [{"userId": f.user}], ios=IOS)) == \
        (400, 24, "Push service is not enabled in an application settings.")


def test_audience_no_device_is_25_no_push_permission_26_and_no_match_33(ctx):
    f = fixture(ctx)
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    assert error(ctx, body)[:2] == (400, 25)
    device = register(ctx, f, "ios")
    ctx.db.query(f"UPDATE devices SET push_permission = 0 WHERE uid = {sql_str(device['uid'])}")
    assert error(ctx, body)[:2] == (400, 26)
    ctx.db.query(f"UPDATE devices SET push_permission = 1 WHERE uid = {sql_str(device['uid'])}")
    assert error(ctx, body_of(f, [{"userId": "nobody"}], ios=IOS)) == (400, 33, (
        "The requested users have not been found, or there have been no push-token"
        " received from them."))
    # An iOS identifier in a request for Android devices names nothing.
    assert error(ctx, body_of(f, [{"idfa": "A-1"}], android={"payload": {"text": "t"}}))[:2] == \
        (400, 33)
    assert ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}") == [("0",)]


def test_audience_a_repeated_pack_id_within_10_minutes_is_code_32_and_sends_nothing(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    register(ctx, f, "ios")
    ctx.mocks.reset()
    body = {**body_of(f, [{"userId": f.user}], ios=IOS), "pack_id": "pack-1"}
    assert result(ctx, body)["successful"] == 1
    assert error(ctx, body) == (400, 32, (
        "The sending was blocked. The request with the pack-1 identifier has already been"
        " sent during previous 10 minutes."))
    assert len(ctx.mocks.received("apns")) == 1
    # The seed's window, whatever the app's own dedupe window.
    ctx.db.query(f"CALL hd_set_dedupe_window({f.app_id}, 5)")
    ctx.db.query("UPDATE dedupe SET created_at = NOW(6) - INTERVAL 9 MINUTE"
                 f" WHERE app_id = {f.app_id}")
    assert error(ctx, body)[:2] == (400, 32)
    ctx.db.query("UPDATE dedupe SET created_at = NOW(6) - INTERVAL 11 MINUTE"
                 f" WHERE app_id = {f.app_id}")
    assert result(ctx, body)["successful"] == 1


@once
def test_audience_pack_id_under_50_concurrent_requests_sends_exactly_once(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    register(ctx, f, "ios")
    ctx.mocks.reset()
    body = {**body_of(f, [{"userId": f.user}], ios=IOS), "pack_id": "race"}
    outcomes = []

    def one():
        status, doc = send(ctx, body)
        outcomes.append((status, doc.get("errors", [{}])[0].get("code")))

    threads = [threading.Thread(target=one) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count((200, None)) == 1, outcomes
    assert sorted(outcomes).count((400, 32)) == 49, outcomes
    assert ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}") == [("1",)]
    assert len(ctx.mocks.received("apns")) == 1


# --- JSON and XML --------------------------------------------------------------------

def xml_of(value, name):
    """The XML of value under element name by herald's mapping (docs/formats.md)."""
    if isinstance(value, dict):
        return f"<{name}>" + "".join(xml_of(v, k) for k, v in value.items()) + f"</{name}>"
    if isinstance(value, list):
        return "".join(xml_of(v, name) for v in value)
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return f"<{name}>{text}</{name}>"


def as_json(element):
    """An answer's XML as the JSON herald would have sent (repeated names: arrays)."""
    if len(element) == 0:
        text = element.text or ""
        return int(text) if text.lstrip("-").isdigit() else text
    out = {}
    for child in element:
        value = as_json(child)
        if child.tag in out:
            out[child.tag] = (out[child.tag] if isinstance(out[child.tag], list)
                              else [out[child.tag]]) + [value]
        else:
            out[child.tag] = value
    return out


def test_audience_xml_and_json_give_the_same_answers(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    register(ctx, f, "ios", idfa="IDFA-XML-1")
    register(ctx, f, "ios", user="user_2", idfa="IDFA-XML-2")
    ctx.mocks.reset()
    ios = {"payload": {"title": "T", "text": "Hi", "badge": 3, "data": {"k": "v"}},
           "options": {"priority": "high", "expire": 60, "hidden": False}}
    cases = [
        body_of(f, [{"idfa": "IDFA-XML-1"}, {"idfa": "IDFA-XML-2"}], ios=ios),
        body_of(f, [{"idfa": "IDFA-XML-1"}], ios={**ios, "options": {"priority": "soon"}}),
        body_of(f, [{"idfa": "IDFA-XML-1", "mac": "x"}], ios=ios),
        {**body_of(f, [{"idfa": "IDFA-XML-1"}], ios=ios), "user_token": "wrong-token-1"},
        body_of(f, [{"idfa": "nobody"}], ios=ios),
    ]
    for body in cases:
        status_j, _, json_data = ctx.request("POST", PATH, body)
        status_x, headers, xml_data = ctx.request(
            "POST", PATH, xml_of(body, "request"), headers={"Content-Type": "application/xml"})
        assert status_j == status_x and headers["content-type"].startswith("application/xml"), \
            (status_j, status_x, xml_data)
        want = json.loads(json_data)
        got = as_json(ET.fromstring(xml_data))
        # XML cannot tell a one-item array from its item, nor show an empty one.
        if "data" in want:
            got["data"]["result"].setdefault("error_details", [])
        if isinstance(got.get("errors"), dict):
            got["errors"] = [got["errors"]]
        assert got == want, (got, want)
    assert len(ctx.mocks.received("apns")) == 4


def test_audience_the_answer_format_follows_format_and_accept(ctx):
    f = fixture(ctx)
    body = body_of(f, [{"userId": f.user}], ios={"payload": {"text": "t", "x": 1}})
    status, headers, data = ctx.request("POST", PATH + "?format=xml", body)
    assert status == 400 and headers["content-type"].startswith("application/xml")
    root = ET.fromstring(data)
    assert root.tag == "response" and root.findtext("status_code") == "400"
    assert root.findtext("errors/code") == "29", data
    status, headers, data = ctx.request("POST", PATH, body, headers={"Accept": "application/xml"})
    assert headers["content-type"].startswith("application/xml"), headers


# --- identifiers ---------------------------------------------------------------------

def test_audience_each_identifier_kind_finds_its_device(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns", "fcm", "wns")
    ios = register(ctx, f, "ios", user="u-ios", idfa="IDFA-1", idfv="IDFV-1")
    andr = register(ctx, f, "android", user="u-android", advertisingId="ADV-1",
                    androidId="AID-1", serialId="SER-1")
    win = register(ctx, f, "windows", user="u-win", advertisingId="ADV-W", serialId="SER-W")
    platforms = {"ios": IOS, "android": {"payload": {"text": "t"}},
                 "win": {"toast": {"title": "T", "text": "t"}}}
    cases = [
        ({"token": ios["token"]}, ios), ({"idfa": "IDFA-1"}, ios), ({"idfv": "IDFV-1"}, ios),
        ({"userId": "u-ios"}, ios), ({"devtodevId": ios["devtodevId"]}, ios),
        ({"token": andr["token"]}, andr), ({"advertisingId": "ADV-1"}, andr),
        ({"androidId": "AID-1"}, andr), ({"serialId": "SER-1"}, andr),
        ({"userId": "u-android"}, andr), ({"devtodevId": andr["devtodevId"]}, andr),
        ({"token": win["token"]}, win), ({"advertisingId": "ADV-W"}, win),
        ({"serialId": "SER-W"}, win), ({"customUid": "u-win"}, win),
    ]
    for element, device in cases:
        ctx.mocks.reset()
        got = result(ctx, body_of(f, [element], **platforms))
        assert (got["audience"], got["successful"], got["erroneous"]) == (1, 1, 0), (element, got)
        received = [r["path"] for p in ("apns", "wns") for r in ctx.mocks.received(p)
                    if not r["path"].endswith("/token")]
        received += [m["message"]["token"] for m in bodies(ctx, "fcm")]
        assert len(received) == 1 and device["target"] in received[0], (element, received)


def test_audience_a_token_makes_the_elements_other_identifiers_ignored(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    one = register(ctx, f, "ios", user="u1", idfa="IDFA-T1")
    register(ctx, f, "ios", user="u2", idfa="IDFA-T2")
    ctx.mocks.reset()
    got = result(ctx, body_of(f, [{"token": one["token"], "idfa": "IDFA-T2", "userId": "u2"}],
                              ios=IOS))
    assert (got["audience"], got["successful"]) == (1, 1), got
    [record] = ctx.mocks.received("apns")
    assert record["path"] == f"/3/device/{one['token']}"


def test_audience_devices_store_their_identifiers_and_answer_their_devtodev_id(ctx):
    f = fixture(ctx)
    device = register(ctx, f, "android", advertisingId="ADV-S", androidId="AID-S",
                      serialId="SER-S")
    [(ids, user_id)] = ctx.db.query(
        "SELECT CONCAT_WS(',', advertising_id, android_id, serial_id), devtodev_id"
        f" FROM hd_audience_devices WHERE device_uid = {sql_str(device['uid'])}")
    assert ids == "ADV-S,AID-S,SER-S" and int(user_id) == device["devtodevId"]
    [(user,)] = ctx.db.query(f"SELECT external_id FROM app_users WHERE id = {device['devtodevId']}")
    assert user == f.user
    status, _, data = ctx.request("POST", "/devices", {"platform": "ios", "app_user_id": "u",
                                  "token": secrets.token_hex(32), "idfa": "x" * 129},
                                  headers={"X-Client-Key": f.client_key})
    assert status == 400, data


# --- what reaches the providers ------------------------------------------------------

def test_audience_ios_payload_and_options_reach_apns_as_the_ios_page_describes(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    device = register(ctx, f, "ios")
    ctx.mocks.reset()
    ios = {"payload": {
        "title": "Title", "text": "Body", "title-loc-key": "TK", "title-loc-args": ["a"],
        "action-loc-key": "AK", "loc-key": "LK", "loc-args": ["b", "c"],
        "launch-image": "launch.png", "data": {"key1": "value", "key2": 15}, "badge": 11,
        "sound": "bingbong.aiff", "attachment": {"type": "image", "url": "https://d.com/p.png"},
        "action": {"url": "http://www.domain.com"},
        "interactive": {"template": "dtd_accept.open_decline.dismiss", "buttons": [
            {"id": "accept", "action": {"url": "http://www.domain.com/accept"}}]}},
        "options": {"priority": "high", "expire": 3600}}
    assert result(ctx, body_of(f, [{"token": device["token"]}], ios=ios))["successful"] == 1
    [record] = ctx.mocks.received("apns")
    assert record["verdict"] == "ok", record
    assert header(record, "apns-priority") == "10" and header(record, "apns-push-type") == "alert"
    assert header(record, "apns-expiration") is not None
    assert json.loads(base64.b64decode(record["body"])) == {
        "aps": {"alert": {"title": "Title", "body": "Body", "title-loc-key": "TK",
                          "title-loc-args": ["a"], "action-loc-key": "AK", "loc-key": "LK",
                          "loc-args": ["b", "c"], "launch-image": "launch.png"},
                "badge": 11, "sound": "bingbong.aiff",
                "category": "dtd_accept.open_decline.dismiss", "mutable-content": 1},
        "key1": "value", "key2": 15,
        "attachment": {"type": "image", "url": "https://d.com/p.png"},
        "action": {"url": "http://www.domain.com"},
        "buttons": [{"id": "accept", "action": {"url": "http://www.domain.com/accept"}}]}


def test_audience_a_hidden_ios_notification_is_a_background_push_with_its_data(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    device = register(ctx, f, "ios")
    ctx.mocks.reset()
    ios = {"payload": {"data": {"sync": "1"}}, "options": {"hidden": True}}
    assert result(ctx, body_of(f, [{"token": device["token"]}], ios=ios))["successful"] == 1
    [record] = ctx.mocks.received("apns")
    assert header(record, "apns-push-type") == "background" and header(record, "apns-priority") == "5"
    assert json.loads(base64.b64decode(record["body"])) == {"aps": {"content-available": 1},
                                                            "sync": "1"}


def test_audience_android_payload_and_options_reach_fcm_as_the_android_page_describes(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "fcm")
    device = register(ctx, f, "android")
    ctx.mocks.reset()
    android = {"payload": {
        "title": "Title", "text": "Body", "data": {"key1": "value", "key2": 15},
        "small_icon": "smallicon", "icon": "midicon", "image": "https://domain.com/pic.png",
        "sound": "bingbong", "badge": 4, "vibration": True, "led_color": "#ff0000",
        "color": "#00ff00", "action": {"url": "http://www.domain.com"},
        "interactive": {"buttons": [{"id": "accept", "text": "Accept", "handling": "foreground",
                                     "action": {"url": "http://www.domain.com/accept"}}]}},
        "options": {"priority": "normal", "expire": 600, "collapse_key": "news"}}
    assert result(ctx, body_of(f, [{"token": device["token"]}], android=android))["successful"] == 1
    [send] = [r for r in ctx.mocks.received("fcm") if r["endpoint"] == "send"]
    assert send["verdict"] == "ok", send
    message = json.loads(base64.b64decode(send["body"]))["message"]
    assert message["token"] == device["token"]
    config = message["android"]
    assert (config["priority"], config["ttl"], config["collapse_key"]) == ("NORMAL", "600s", "news")
    note = config["notification"]
    assert {k: note[k] for k in ("title", "body", "icon", "color", "image", "sound",
                                 "notification_count", "default_vibrate_timings")} == {
        "title": "Title", "body": "Body", "icon": "smallicon", "color": "#00ff00",
        "image": "https://domain.com/pic.png", "sound": "bingbong", "notification_count": 4,
        "default_vibrate_timings": True}
    assert note["light_settings"]["color"] == {"red": 1, "green": 0, "blue": 0, "alpha": 1}
    data = message["data"]
    assert (data["key1"], data["key2"], data["large_icon"]) == ("value", "15", "midicon")
    assert json.loads(data["action"]) == {"url": "http://www.domain.com"}
    assert json.loads(data["buttons"])[0]["handling"] == "foreground"


def test_audience_win_and_uwp_reach_wns_as_toasts(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "wns")
    device = register(ctx, f, "windows")
    cases = [
        ({"win": {"toast": {"title": "T", "text": "One", "text2": "Two", "data": {"k": "v"}}}},
         "ToastText04", None),
        ({"uwp": {"toast": {"scenario": "reminder", "title": "T", "text": "One", "text2": "Two",
                            "data": {"k": "v"}}}}, "ToastGeneric", "reminder"),
    ]
    for platforms, template, scenario in cases:
        ctx.mocks.reset()
        got = result(ctx, body_of(f, [{"token": device["token"]}], **platforms))
        assert got["successful"] == 1, got
        [record] = [r for r in ctx.mocks.received("wns") if "/channel/" in r["path"]]
        assert record["verdict"] == "ok" and header(record, "x-wns-type") == "wns/toast", record
        toast = ET.fromstring(base64.b64decode(record["body"]))
        assert toast.tag == "toast" and json.loads(toast.get("launch")) == {"k": "v"}
        assert toast.get("scenario") == scenario
        binding = toast.find("visual/binding")
        assert binding.get("template") == template
        assert [t.text for t in binding.findall("text")] == ["T", "One", "Two"]


def test_audience_one_request_reaches_each_platform_with_its_own_object(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns", "fcm", "wns")
    register(ctx, f, "ios")
    register(ctx, f, "android")
    register(ctx, f, "windows")
    ctx.mocks.reset()
    got = result(ctx, body_of(f, [{"userId": f.user}],
                              ios={"payload": {"text": "for iOS"}},
                              android={"payload": {"text": "for Android"}},
                              win={"toast": {"title": "W", "text": "for Windows"}}))
    assert (got["audience"], got["successful"], got["erroneous"]) == (1, 3, 0), got
    [apns] = bodies(ctx, "apns")
    assert apns["aps"]["alert"]["body"] == "for iOS"
    [fcm] = bodies(ctx, "fcm")
    assert fcm["message"]["android"]["notification"]["body"] == "for Android"
    [wns] = [r for r in ctx.mocks.received("wns") if "/channel/" in r["path"]]
    assert b"for Windows" in base64.b64decode(wns["body"])


# --- the answer's counts -------------------------------------------------------------

def test_audience_counts_and_details_follow_what_the_providers_answered(ctx):
    f = fixture(ctx)
    set_credentials(ctx, f, "apns")
    ok, gone, rejected, retrying = (register(ctx, f, "ios", user=f"u{i}") for i in range(4))
    ctx.mocks.reset()
    ctx.mocks.script("apns", [{"reason": "Unregistered", "target": gone["token"]},
                              {"reason": "PayloadTooLarge", "target": rejected["token"]},
                              {"status": 503, "reason": "ServiceUnavailable",
                               "target": retrying["token"]}])
    audience = [{"token": d["token"]} for d in (ok, gone, rejected, retrying)]
    got = result(ctx, body_of(f, audience, ios=IOS))
    assert (got["audience"], got["successful"], got["erroneous"]) == (4, 1, 3), got
    details = {d["identifier"]: d for d in got["error_details"]}
    assert set(details) == {gone["token"], rejected["token"], retrying["token"]}, got
    assert all(d["platform"] == "ios" for d in details.values())
    assert details[gone["token"]]["status"] == "gone"
    assert "Unregistered" in details[gone["token"]]["reason"]
    assert details[rejected["token"]]["status"] == "rejected"
    assert "PayloadTooLarge" in details[rejected["token"]]["reason"]
    assert details[retrying["token"]]["status"] == "queued"
    assert "still being retried" in details[retrying["token"]]["reason"]
    [(message, state)] = ctx.db.query(
        "SELECT dl.message_id, dl.state FROM deliveries dl JOIN devices d"
        f" ON d.id = dl.device_id WHERE d.uid = {sql_str(retrying['uid'])}")
    assert state == "queued"   # left for the worker, which finishes it, once
    with worker(ctx):
        found = wait_states(ctx, message)
    assert sorted(s[0] for s in found.values()) == ["delivered", "delivered", "gone", "rejected"]
    assert len([r for r in ctx.mocks.received("apns") if retrying["token"] in r["path"]]) == 2


# --- tenants -------------------------------------------------------------------------

def test_audience_a_token_never_reaches_another_tenants_users_or_devices(ctx):
    f, g = fixture(ctx), fixture(ctx, tenant=f"other tenant of {ctx.test_id}")
    set_credentials(ctx, f, "apns")
    set_credentials(ctx, g, "apns")
    register(ctx, f, "ios", user="mine")
    theirs = register(ctx, g, "ios", user="theirs", idfa="IDFA-THEIRS")
    ctx.mocks.reset()
    for element in ({"token": theirs["token"]}, {"idfa": "IDFA-THEIRS"}, {"userId": "theirs"},
                    {"devtodevId": theirs["devtodevId"]}):
        assert error(ctx, body_of(f, [element], ios=IOS))[:2] == (400, 33), element
    body = {**body_of(f, [{"userId": "theirs"}], ios=IOS), "app_id": g.app_uid}
    assert error(ctx, body)[:2] == (400, 6)
    assert ctx.mocks.received("apns") == []


def test_audience_a_full_audience_of_long_tokens_fits_the_dialects_body_bound(ctx):
    f = fixture(ctx)
    register(ctx, f, "android")
    audience = [{"token": "fcm-" + secrets.token_urlsafe(150), "advertisingId": f"ADV-{i}",
                 "userId": f"user-{i}"} for i in range(1000)]
    body = body_of(f, audience, android={"payload": {"text": "t"}})
    assert len(json.dumps(body)) > 200 * 1024
    assert error(ctx, body)[:2] == (400, 33)


def test_audience_refusals_the_seed_has_no_code_for_keep_herald_status_with_code_1(ctx):
    f = fixture(ctx)
    body = body_of(f, [{"userId": f.user}], ios=IOS)
    status, _, data = ctx.request("POST", "/api/v1/push/other", body)
    assert (status, json.loads(data)["errors"][0]["code"]) == (404, 1), data
    status, headers, data = ctx.request("GET", PATH)
    assert (status, json.loads(data)["errors"][0]["code"]) == (405, 1), data
    assert headers["allow"] == "POST"
    status, _, data = ctx.request("POST", PATH, json.dumps(body),
                                  headers={"Content-Type": "text/plain"})
    assert (status, json.loads(data)["errors"][0]["code"]) == (415, 3), data
    huge = {**body, "campaign_tag": "x" * (1024 * 1024)}
    status, _, data = ctx.request("POST", PATH, huge)
    doc = json.loads(data)
    assert (status, doc["status_code"], doc["errors"][0]["code"]) == (413, 413, 1), doc
    status, _, data = ctx.request("POST", PATH + "?user_token=" + "k" * 300, body)
    assert (status, json.loads(data)["errors"][0]["code"]) == (401, 11), data
