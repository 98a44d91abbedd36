"""The developer dialect, POST /developer/push: the contract of docs/developer.md and
docs/formats.md, driven through the real web servers against the real MariaDB.

Every refusal is checked three ways: the status, the error document (JSON
{"error": {"code", "message", "field"?}} or XML <response><error>...), and that nothing
was stored for the fixture's app (messages, deliveries and dedupe records counted
before and after)."""
import concurrent.futures
import datetime
import json
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import herald_stack
from hd import FAST_ANSWER_S, timeout

PUSH = "/developer/push"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DROP = object()       # valid_push(field=DROP): leave the field out
ANY = object()        # assert_error(field=ANY): "field" may be present or absent
ABSENT = None         # assert_error(field=ABSENT): "field" must be absent


# --- requests ------------------------------------------------------------------------

def valid_push(**fields):
    """A valid push body for the fixture's user_123; keyword arguments replace or
    (with DROP) remove fields."""
    body = {"app_user_id": "user_123", "title": "Your order has shipped!",
            "body": "Order #4521 is on its way."}
    for name, value in fields.items():
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def compact(doc):
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def to_xml(doc, root="push", declare_xsi=False):
    """The documented JSON -> XML mapping: object -> child elements, array -> repeated
    elements, scalar -> text, None -> i:nil."""
    def element(name, value):
        if isinstance(value, dict):
            return f"<{name}>" + "".join(element(k, v) for k, v in value.items()) + f"</{name}>"
        if isinstance(value, list):
            return "".join(element(name, v) for v in value)
        if value is None:
            return f'<{name} i:nil="true"/>'
        if isinstance(value, bool):
            value = "true" if value else "false"
        return f"<{name}>{escape(str(value))}</{name}>"
    xsi = f' xmlns:i="{XSI}"' if declare_xsi else ""
    inner = "".join(element(k, v) for k, v in doc.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}{xsi}>{inner}</{root}>'.encode()


def post(ctx, key, body, content_type="application/json", path=PUSH, headers=None,
         source=None):
    """POST body (a dict is sent as compact JSON; str or bytes as they are) with
    X-Server-Key: key (none if key is None). Returns (status, headers, body)."""
    h = {}
    if key is not None:
        h["X-Server-Key"] = key
    if content_type is not None:
        h["Content-Type"] = content_type
    h.update(headers or {})
    if isinstance(body, dict):
        body = compact(body)
    return ctx.request("POST", path, body, h, source=source)


def post_xml(ctx, key, doc, **kw):
    return post(ctx, key, to_xml(doc) if isinstance(doc, dict) else doc,
                content_type="application/xml", **kw)


# --- answers -------------------------------------------------------------------------

def show(answer):
    status, headers, body = answer
    return f"{status} {headers.get('content-type')} {body[:400]!r}"


def answer_format(answer):
    ctype = answer[1].get("content-type", "")
    if ctype.startswith("application/json"):
        return "json"
    if ctype.startswith("application/xml") or ctype.startswith("text/xml"):
        return "xml"
    raise AssertionError(f"answer is neither JSON nor XML: {show(answer)}")


def xml_children(element):
    """{tag: text} of an element whose children are all leaves, checking no repeats."""
    out = {}
    for child in element:
        assert child.tag not in out, f"repeated <{child.tag}>"
        assert len(child) == 0, f"<{child.tag}> has children"
        out[child.tag] = child.text or ""
    return out


def error_doc(answer, fmt):
    """The error as {"code", "message", "field"?}, after checking the document's
    shape in format fmt."""
    assert answer_format(answer) == fmt, f"wanted a {fmt} answer: {show(answer)}"
    body = answer[2]
    if fmt == "json":
        doc = json.loads(body)
        assert isinstance(doc, dict) and set(doc) == {"error"}, doc
        err = doc["error"]
        assert isinstance(err, dict), doc
        assert all(isinstance(v, str) for v in err.values()), doc
    else:
        root = ET.fromstring(body)
        assert root.tag == "response" and [c.tag for c in root] == ["error"], body
        err = xml_children(root[0])
    assert set(err) in ({"code", "message"}, {"code", "message", "field"}), err
    assert err["code"] and err["message"], err
    return err


def assert_error(answer, status, code, field=ABSENT, fmt="json"):
    """answer is the refusal (status, code, field) in the dialect's error shape."""
    assert answer[0] == status, f"wanted {status} {code}: {show(answer)}"
    err = error_doc(answer, fmt)
    if isinstance(code, (set, tuple)):
        assert err["code"] in code, (err, code)
    else:
        assert err["code"] == code, err
    if field is not ANY:
        assert err.get("field") == field, (err, field)
    return err


def assert_created(answer, f, push_count, user="user_123", status=201):
    """A send accepted: exactly {push_count, app_user_id, app_id} in JSON."""
    assert answer[0] == status, f"wanted {status}: {show(answer)}"
    assert answer_format(answer) == "json", show(answer)
    doc = json.loads(answer[2])
    assert doc == {"push_count": push_count, "app_user_id": user, "app_id": f.app_uid}, doc
    assert type(doc["push_count"]) is int, doc
    return doc


def xml_answer(answer):
    """{tag: text} of an XML success answer <response xmlns:i=...>...</response>."""
    assert answer_format(answer) == "xml", show(answer)
    assert f'xmlns:i="{XSI}"'.encode() in answer[2], answer[2]
    root = ET.fromstring(answer[2])
    assert root.tag == "response", answer[2]
    return xml_children(root)


# --- the database --------------------------------------------------------------------

def stored(ctx, app_id):
    """(messages, deliveries, dedupe records) of app app_id."""
    row = ctx.db.query(
        f"SELECT (SELECT COUNT(*) FROM messages WHERE app_id = {int(app_id)}),"
        f" (SELECT COUNT(*) FROM deliveries WHERE app_id = {int(app_id)}),"
        f" (SELECT COUNT(*) FROM dedupe WHERE app_id = {int(app_id)})")[0]
    return tuple(int(n) for n in row)


def sql_str(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def add_user(ctx, app_id, user):
    ctx.db.query(f"CALL hd_create_app_user({int(app_id)}, {sql_str(user)}, NULL, @uid)")


def add_device(ctx, app_id, user="user_123", platform="android", permission=1,
               status="active"):
    """A device of app user `user` (who must exist); returns its id."""
    token, uid = secrets.token_hex(32), secrets.token_hex(16)
    rows = ctx.db.query(
        "INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash,"
        " push_permission, status)"
        f" SELECT '{uid}', app_id, id, '{platform}', '{token}', UNHEX(SHA2('{token}', 256)),"
        f" {int(permission)}, '{status}' FROM app_users"
        f" WHERE app_id = {int(app_id)} AND external_id = {sql_str(user)};"
        f" SELECT id FROM devices WHERE uid = '{uid}'")
    return int(rows[0][0])


def last_message(ctx, app_id):
    """The app's newest message as a dict of its columns (None if there is none)."""
    cols = ("id", "app_user_id", "source", "title", "body", "data", "priority",
            "schedule_at", "dedupe_key", "created_at")
    rows = ctx.db.query(f"SELECT {', '.join(cols)} FROM messages WHERE app_id = {int(app_id)}"
                        " ORDER BY id DESC LIMIT 1")
    return dict(zip(cols, rows[0])) if rows else None


def deliveries_of(ctx, message_id):
    """[(device_id, state, priority, due_at)] of a message, by device."""
    rows = ctx.db.query("SELECT device_id, state, priority, due_at FROM deliveries"
                        f" WHERE message_id = {int(message_id)} ORDER BY device_id")
    return [(int(d), s, int(p), due) for d, s, p, due in rows]


def seconds_from_now(ctx, sql_datetime):
    """How many seconds sql_datetime (a UTC DATETIME) lies before the database's now."""
    return float(ctx.db.query(
        f"SELECT TIMESTAMPDIFF(MICROSECOND, '{sql_datetime}', UTC_TIMESTAMP(6)) / 1e6")[0][0])


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def rfc3339(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sql_time(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def refused(ctx, f, answer_of, status, code, field=ABSENT, fmt="json"):
    """Sends a request with answer_of() and checks it is refused as (status, code,
    field) with nothing stored for f's app. Returns the error."""
    before = stored(ctx, f.app_id)
    answer = answer_of()
    err = assert_error(answer, status, code, field, fmt)
    assert stored(ctx, f.app_id) == before, f"a refused request stored rows: {show(answer)}"
    return err


def refused_json(ctx, f, body, status, code, field=ABSENT, **kw):
    return refused(ctx, f, lambda: post(ctx, f.server_key, body, **kw), status, code, field)


def refused_xml(ctx, f, body, status, code, field=ABSENT, **kw):
    return refused(ctx, f, lambda: post_xml(ctx, f.server_key, body, **kw), status, code,
                   field, fmt="xml")


def still_sends(ctx, f, push_count=1):
    """After a bad request: the programs still answer a valid push with 201."""
    assert_created(post(ctx, f.server_key, valid_push()), f, push_count)


def other_source(ctx):
    """A loopback address of this test's own besides ctx.source (the runner hands out
    127.0.x.y; 127.1.x.y is never handed out)."""
    return "127.1." + ".".join(ctx.source.split(".")[2:])


# --- success -------------------------------------------------------------------------

def test_push_answers_201_and_queues_one_delivery_per_active_permitted_device(ctx):
    f = ctx.fixture()
    second = add_device(ctx, f.app_id, platform="android")
    add_device(ctx, f.app_id, platform="web", permission=0)
    add_device(ctx, f.app_id, platform="windows", status="unregistered")
    add_user(ctx, f.app_id, "someone_else")
    add_device(ctx, f.app_id, user="someone_else")
    when = utc_now() + datetime.timedelta(days=2)
    extra = {"order_id": "4521", "screen": "order_detail",
             "tracking_url": "https://track.example.com/4521", "n": 3, "nested": {"ok": True}}
    body = valid_push(extra_data=extra, schedule_at=rfc3339(when), priority=8)

    assert_created(post(ctx, f.server_key, body), f, 2)

    m = last_message(ctx, f.app_id)
    assert stored(ctx, f.app_id) == (1, 2, 0)
    assert m["source"] == "developer" and m["title"] == body["title"] and m["body"] == body["body"], m
    assert json.loads(m["data"]) == extra, m
    assert m["priority"] == "8" and m["schedule_at"] == sql_time(when) and m["dedupe_key"] is None, m
    assert deliveries_of(ctx, m["id"]) == [
        (device, "queued", 8, sql_time(when)) for device in sorted([f.device_ids[0], second])]


def test_push_without_optional_fields_has_priority_5_and_is_due_now(ctx):
    f = ctx.fixture()
    assert_created(post(ctx, f.server_key, valid_push()), f, 1)
    m = last_message(ctx, f.app_id)
    assert m["priority"] == "5" and m["data"] is None and m["dedupe_key"] is None, m
    assert 0 <= seconds_from_now(ctx, m["schedule_at"]) < 10, m
    [(device, state, priority, due)] = deliveries_of(ctx, m["id"])
    assert (device, state, priority) == (f.device_ids[0], "queued", 5)
    assert 0 <= seconds_from_now(ctx, due) < 10, due


# --- field rules ---------------------------------------------------------------------

def test_required_field_missing_null_or_empty_is_refused_as_missing_field(ctx):
    f = ctx.fixture()
    for name in ("app_user_id", "title", "body"):
        for value in (DROP, None, ""):
            refused_json(ctx, f, valid_push(**{name: value}), 400, "missing_field", name)
    # The same in XML: no element, i:nil, an empty element.
    for name in ("app_user_id", "title", "body"):
        for value in (DROP, None, ""):
            doc = to_xml(valid_push(**{name: value}), declare_xsi=True)
            refused_xml(ctx, f, doc, 400, "missing_field", name)


def test_field_of_wrong_type_is_refused_as_invalid_type(ctx):
    f = ctx.fixture()
    cases = [
        ("title", 42), ("title", True), ("title", ["a"]), ("body", {"a": "b"}),
        ("app_user_id", 123), ("dedupe_key", 7), ("schedule_at", 1774796400),
        ("priority", "5"), ("priority", 5.0), ("priority", 5.5), ("priority", True),
        ("priority", [5]), ("extra_data", ["a", "b"]), ("extra_data", "text"),
        ("extra_data", 1),
    ]
    for name, value in cases:
        refused_json(ctx, f, valid_push(**{name: value}), 400, "invalid_type", name)
    # 5.0 exactly as a client writes it (json.dumps writes it so too, but be explicit).
    raw = b'{"app_user_id":"user_123","title":"t","body":"b","priority":5.0}'
    refused_json(ctx, f, raw, 400, "invalid_type", "priority")
    for text in ("5.0", "five", "0x5", "5 5", "true"):
        refused_xml(ctx, f, valid_push(priority=text), 400, "invalid_type", "priority")
    still_sends(ctx, f)


def test_priority_1_to_10_is_accepted_and_0_or_11_is_out_of_range(ctx):
    f = ctx.fixture()
    for p in (0, 11, -1, 100):
        refused_json(ctx, f, valid_push(priority=p), 400, "out_of_range", "priority")
    for p in ("0", "11", "-1"):
        refused_xml(ctx, f, valid_push(priority=p), 400, "out_of_range", "priority")
    for p in (1, 10):
        assert_created(post(ctx, f.server_key, valid_push(priority=p)), f, 1)
        m = last_message(ctx, f.app_id)
        assert m["priority"] == str(p), m
        assert [d[2] for d in deliveries_of(ctx, m["id"])] == [p]
    answer = post_xml(ctx, f.server_key, valid_push(priority="7"))
    assert answer[0] == 201 and xml_answer(answer)["push_count"] == "1", show(answer)
    assert last_message(ctx, f.app_id)["priority"] == "7"


def test_priority_too_big_or_infinite_for_json_c_is_refused_not_clamped(ctx):
    f = ctx.fixture()
    # json-c clamps the first two to INT64/UINT64 max and turns 1e400 into inf; 4294967301
    # is 5 in 32 bits. Each must be refused, never stored as some other number.
    for text in ("18446744073709551616", "9223372036854775808", "-9223372036854775809",
                 "4294967301", "1e400", "-1e400", "1e2", "5e0", "-1"):
        raw = b'{"app_user_id":"user_123","title":"t","body":"b","priority":' + text.encode() + b"}"
        err = refused_json(ctx, f, raw, 400, {"out_of_range", "invalid_type"}, "priority")
        if text in ("-1", "4294967301", "18446744073709551616"):
            assert err["code"] == "out_of_range", (text, err)
    for text in ("18446744073709551616", "4294967301", "1e400"):
        refused_xml(ctx, f, valid_push(priority=text), 400, {"out_of_range", "invalid_type"},
                    "priority")
    still_sends(ctx, f)


def test_title_and_body_limits_count_utf8_bytes_not_characters(ctx):
    f = ctx.fixture()
    accepted = [("title", "t" * 256), ("title", "é" * 128), ("title", "😀" * 64),
                ("body", "b" * 2048), ("body", "€" * 682 + "bb")]
    for name, value in accepted:
        assert len(value.encode()) == (256 if name == "title" else 2048)
        assert_created(post(ctx, f.server_key, valid_push(**{name: value})), f, 1)
        assert last_message(ctx, f.app_id)[name] == value, name
    too_long = [("title", "t" * 257), ("title", "é" * 128 + "a"), ("title", "😀" * 65),
                ("body", "b" * 2049), ("body", "€" * 683)]
    for name, value in too_long:
        refused_json(ctx, f, valid_push(**{name: value}), 400, "too_long", name)
        refused_xml(ctx, f, valid_push(**{name: value}), 400, "too_long", name)


def test_extra_data_over_1024_bytes_as_json_is_refused_as_too_long(ctx):
    f = ctx.fixture()
    # {"k":"xxx..."} is 8 bytes of JSON around the value.
    at_limit = {"k": "x" * 1016}
    assert len(compact(at_limit)) == 1024
    assert_created(post(ctx, f.server_key, valid_push(extra_data=at_limit)), f, 1)
    assert json.loads(last_message(ctx, f.app_id)["data"]) == at_limit
    for over in ({"k": "x" * 1017}, {"k": "é" * 509}, {f"k{i}": i for i in range(200)},
                 {"deep": {"list": ["y" * 100] * 12}}):
        assert len(compact(over)) > 1024
        refused_json(ctx, f, valid_push(extra_data=over), 400, "too_long", "extra_data")
    refused_xml(ctx, f, valid_push(extra_data={"k": "x" * 1100}), 400, "too_long", "extra_data")


def test_schedule_at_that_is_not_rfc3339_is_refused_as_invalid_value(ctx):
    f = ctx.fixture()
    year = utc_now().year + 1
    for text in ("tomorrow", f"{year}-03-29", f"{year}-03-29T15:00:00",
                 f"{year}-03-29 15:00:00Z", f"{year}-13-01T00:00:00Z",
                 f"{year}-02-30T10:00:00Z", f"{year}-03-29T24:00:00Z",
                 f"{year}-03-29T15:00:00+2:00", f"{year}-03-29T15:00:00Zjunk",
                 f"{year}-03-29T15:00:00.Z", f" {year}-03-29T15:00:00Z"):
        refused_json(ctx, f, valid_push(schedule_at=text), 400, "invalid_value", "schedule_at")
    refused_xml(ctx, f, valid_push(schedule_at="next week"), 400, "invalid_value", "schedule_at")
    still_sends(ctx, f)


def test_schedule_at_with_offset_or_fraction_is_stored_as_utc(ctx):
    f = ctx.fixture()
    when = utc_now() + datetime.timedelta(days=3)
    for tz, suffix in ((datetime.timedelta(hours=2), "+02:00"),
                       (datetime.timedelta(hours=-5, minutes=-30), "-05:30")):
        local = (when + tz).strftime("%Y-%m-%dT%H:%M:%S") + suffix
        assert_created(post(ctx, f.server_key, valid_push(schedule_at=local)), f, 1)
        m = last_message(ctx, f.app_id)
        assert m["schedule_at"] == sql_time(when), (local, m)
        assert [d[3] for d in deliveries_of(ctx, m["id"])] == [sql_time(when)]
    text = when.strftime("%Y-%m-%dT%H:%M:%S") + ".25Z"
    assert_created(post(ctx, f.server_key, valid_push(schedule_at=text)), f, 1)
    assert last_message(ctx, f.app_id)["schedule_at"] == sql_time(when).replace(".000000", ".250000")


def test_schedule_at_in_the_past_is_accepted_and_due_now(ctx):
    f = ctx.fixture()
    for text in ("2020-01-01T00:00:00Z", rfc3339(utc_now() - datetime.timedelta(minutes=5))):
        assert_created(post(ctx, f.server_key, valid_push(schedule_at=text)), f, 1)
        m = last_message(ctx, f.app_id)
        assert 0 <= seconds_from_now(ctx, m["schedule_at"]) < 10, (text, m)
        [(_, state, _, due)] = deliveries_of(ctx, m["id"])
        assert state == "queued" and 0 <= seconds_from_now(ctx, due) < 10, (text, due)


def test_schedule_at_more_than_a_year_ahead_is_refused_as_out_of_range(ctx):
    f = ctx.fixture()
    for days in (400, 3650):
        text = rfc3339(utc_now() + datetime.timedelta(days=days))
        refused_json(ctx, f, valid_push(schedule_at=text), 400, "out_of_range", "schedule_at")
    refused_json(ctx, f, valid_push(schedule_at="9999-12-31T23:59:59Z"), 400, "out_of_range",
                 "schedule_at")
    within = utc_now() + datetime.timedelta(days=300)
    assert_created(post(ctx, f.server_key, valid_push(schedule_at=rfc3339(within))), f, 1)
    assert last_message(ctx, f.app_id)["schedule_at"] == sql_time(within)


def test_unknown_field_is_refused_as_unknown_field(ctx):
    f = ctx.fixture()
    refused_json(ctx, f, valid_push(colour="red"), 400, "unknown_field", "colour")
    refused_json(ctx, f, valid_push(Title="Case matters"), 400, "unknown_field", "Title")
    refused_xml(ctx, f, valid_push(sound="default"), 400, "unknown_field", "sound")
    # extra_data is open: any member is fine there.
    assert_created(post(ctx, f.server_key, valid_push(extra_data={"colour": "red"})), f, 1)


def test_app_user_id_and_dedupe_key_over_255_bytes_are_refused_as_too_long(ctx):
    f = ctx.fixture()
    refused_json(ctx, f, valid_push(app_user_id="u" * 256), 400, "too_long", "app_user_id")
    refused_json(ctx, f, valid_push(app_user_id="é" * 128), 400, "too_long", "app_user_id")
    refused_json(ctx, f, valid_push(dedupe_key="d" * 256), 400, "too_long", "dedupe_key")
    refused_json(ctx, f, valid_push(dedupe_key=""), 400, {"missing_field", "invalid_value"},
                 "dedupe_key")
    # 255 bytes are within the limits: an unknown user (404), a stored dedupe key.
    refused_json(ctx, f, valid_push(app_user_id="u" * 255), 404, "no_devices")
    assert_created(post(ctx, f.server_key, valid_push(dedupe_key="d" * 255)), f, 1)
    assert last_message(ctx, f.app_id)["dedupe_key"] == "d" * 255


def test_nul_character_in_a_string_is_refused_as_invalid_value(ctx):
    f = ctx.fixture()
    raw = b'{"app_user_id":"user_123","title":"before\\u0000after","body":"b"}'
    refused_json(ctx, f, raw, 400, "invalid_value", "title")
    raw = b'{"app_user_id":"user_123","title":"t","body":"b","extra_data":{"k":"a\\u0000"}}'
    refused_json(ctx, f, raw, 400, "invalid_value", ANY)
    # XML cannot carry NUL at all: a raw NUL byte or &#0; is not well-formed.
    for title in (b"a\x00b", b"a&#0;b"):
        doc = b"<push><app_user_id>user_123</app_user_id><title>" + title + b"</title><body>b</body></push>"
        refused_xml(ctx, f, doc, 400, {"malformed_body", "invalid_value"}, ANY)
    still_sends(ctx, f)


# --- keys ----------------------------------------------------------------------------

def test_request_without_server_key_is_refused_401_missing_key(ctx):
    f = ctx.fixture()
    refused(ctx, f, lambda: post(ctx, None, valid_push()), 401, "missing_key")
    refused(ctx, f, lambda: post(ctx, "", valid_push()), 401, "missing_key")
    # A key in another header is no server key.
    refused(ctx, f, lambda: post(ctx, None, valid_push(),
                                 headers={"Authorization": f"Bearer {f.server_key}"}),
            401, "missing_key")


def test_unknown_server_key_is_refused_401_invalid_key(ctx):
    f = ctx.fixture()
    for key in ("hd_srv_" + "0" * 48, f.server_key[:-1] + ("0" if f.server_key[-1] != "0" else "1"),
                f.server_key.upper(), f.server_key + "x", "nonsense"):
        refused(ctx, f, lambda: post(ctx, key, valid_push()), 401, "invalid_key")


def test_revoked_server_key_is_refused_at_once(ctx):
    f = ctx.fixture()
    assert_created(post(ctx, f.server_key, valid_push()), f, 1)
    ctx.db.query(f"CALL hd_revoke_key({f.key_ids['server']})")
    # Several requests, so that every FastCGI process of the program answers one.
    for _ in range(6):
        refused(ctx, f, lambda: post(ctx, f.server_key, valid_push()), 401, "invalid_key")


def test_client_and_integration_keys_are_refused_as_server_keys(ctx):
    f = ctx.fixture()
    for kind in ("client", "integration"):
        refused(ctx, f, lambda: post(ctx, f.keys[kind], valid_push()), 401, "invalid_key")


def test_server_key_of_one_app_cannot_reach_a_user_of_another_app(ctx):
    a = ctx.fixture(app="App A")
    b = ctx.fixture(app="App B", user="only_in_b")   # another tenant
    # A second app of A's own tenant, with a user of its own.
    row = ctx.db.query(f"CALL hd_create_app({a.tenant_id}, 'App A2', @a2, @u2); SELECT @a2")
    a2 = int(row[0][0])
    add_user(ctx, a2, "only_in_a2")
    add_device(ctx, a2, user="only_in_a2")
    before = {app: stored(ctx, app) for app in (a.app_id, b.app_id, a2)}
    for user in ("only_in_b", "only_in_a2"):
        assert_error(post(ctx, a.server_key, valid_push(app_user_id=user)), 404, "no_devices")
    assert {app: stored(ctx, app) for app in before} == before
    # Each key sends within its own app, and the answer names that app.
    assert_created(post(ctx, b.server_key, valid_push(app_user_id="only_in_b")), b, 1,
                   user="only_in_b")
    assert_created(post(ctx, a.server_key, valid_push()), a, 1)
    assert deliveries_of(ctx, last_message(ctx, a.app_id)["id"])[0][0] == a.device_ids[0]
    assert deliveries_of(ctx, last_message(ctx, b.app_id)["id"])[0][0] == b.device_ids[0]
    assert stored(ctx, a2) == before[a2]


# --- users and devices ---------------------------------------------------------------

def test_user_without_an_active_permitted_device_gets_404_no_devices_and_nothing_stored(ctx):
    f = ctx.fixture(devices=0)
    add_device(ctx, f.app_id, platform="ios", permission=0)
    add_device(ctx, f.app_id, platform="android", status="unregistered")
    refused_json(ctx, f, valid_push(), 404, "no_devices")
    refused_json(ctx, f, valid_push(dedupe_key="no-devices"), 404, "no_devices")
    add_user(ctx, f.app_id, "no_devices_at_all")
    refused_json(ctx, f, valid_push(app_user_id="no_devices_at_all"), 404, "no_devices")


def test_unknown_user_gets_404_no_devices(ctx):
    f = ctx.fixture()
    for user in ("nobody", "USER_123", "user_12", "user_1234"):
        refused_json(ctx, f, valid_push(app_user_id=user), 404, "no_devices")
    refused_xml(ctx, f, valid_push(app_user_id="nobody"), 404, "no_devices")


def test_app_user_id_with_trailing_spaces_is_not_the_same_user(ctx):
    # "app_user_id must match exactly" (seed, docs/developer.md): "user_123 " is
    # another id than "user_123", which has the device.
    f = ctx.fixture()
    for user in ("user_123 ", "user_123   ", "user_123\t"):
        refused_json(ctx, f, valid_push(app_user_id=user), 404, "no_devices")


# --- dedupe --------------------------------------------------------------------------

def test_repeated_dedupe_key_answers_200_with_the_first_body_and_stores_nothing(ctx):
    f = ctx.fixture(devices=2)
    body = valid_push(dedupe_key="order-shipped-4521")
    first = post(ctx, f.server_key, body)
    assert_created(first, f, 2)
    after_first = stored(ctx, f.app_id)
    assert after_first == (1, 2, 1)
    message = last_message(ctx, f.app_id)
    for repeat in (body, body, valid_push(dedupe_key="order-shipped-4521", title="Changed", priority=9)):
        again = post(ctx, f.server_key, repeat)
        assert again[0] == 200, show(again)
        assert again[2] == first[2], (again[2], first[2])
    # The replay holds even when the user's devices changed since.
    add_device(ctx, f.app_id)
    again = post(ctx, f.server_key, body)
    assert again[0] == 200 and again[2] == first[2], show(again)
    assert stored(ctx, f.app_id) == after_first
    assert last_message(ctx, f.app_id) == message
    # Another key is another message.
    assert_created(post(ctx, f.server_key, valid_push(dedupe_key="order-shipped-4522")), f, 3)


def test_dedupe_key_sends_again_once_the_window_has_passed(ctx):
    f = ctx.fixture()
    body = valid_push(dedupe_key="window")
    assert_created(post(ctx, f.server_key, body), f, 1)
    assert post(ctx, f.server_key, body)[0] == 200
    # Age the record past the default 10-minute window.
    ctx.db.query(f"UPDATE dedupe SET created_at = created_at - INTERVAL 601 SECOND"
                 f" WHERE app_id = {f.app_id}")
    assert_created(post(ctx, f.server_key, body), f, 1)
    assert stored(ctx, f.app_id) == (2, 2, 1)
    # ...and the new message holds the key for a new window.
    assert post(ctx, f.server_key, body)[0] == 200
    assert stored(ctx, f.app_id) == (2, 2, 1)
    dedupe = ctx.db.query(f"SELECT message_id FROM dedupe WHERE app_id = {f.app_id}")
    assert dedupe == [(last_message(ctx, f.app_id)["id"],)]


def test_dedupe_window_set_with_hd_set_dedupe_window_applies(ctx):
    f = ctx.fixture()
    ctx.db.query(f"CALL hd_set_dedupe_window({f.app_id}, 1)")
    body = valid_push(dedupe_key="short-window")
    assert_created(post(ctx, f.server_key, body), f, 1)
    assert post(ctx, f.server_key, body)[0] == 200
    # The record is live while it is younger than the window by the database's clock
    # (UTC, as the programs' sessions run).
    herald_stack.wait_for(lambda: ctx.db.query(
        f"SELECT COUNT(*) FROM dedupe WHERE app_id = {f.app_id}"
        " AND created_at < UTC_TIMESTAMP(6) - INTERVAL 1 SECOND") == [("1",)], 30,
        "the dedupe record to outlive its 1 s window")
    assert_created(post(ctx, f.server_key, body), f, 1)
    assert stored(ctx, f.app_id)[:2] == (2, 2)


def test_same_dedupe_key_in_two_apps_is_independent(ctx):
    a = ctx.fixture(app="App A")
    b = ctx.fixture(app="App B")
    body = valid_push(dedupe_key="shared-key")
    assert_created(post(ctx, a.server_key, body), a, 1)
    assert_created(post(ctx, b.server_key, body), b, 1)
    assert stored(ctx, a.app_id) == stored(ctx, b.app_id) == (1, 1, 1)


@timeout(120)
def test_50_concurrent_requests_with_one_dedupe_key_store_exactly_one_message(ctx):
    f = ctx.fixture(devices=2)
    body = valid_push(dedupe_key="concurrent-" + secrets.token_hex(4))
    n = 50
    start = threading.Barrier(n, timeout=30)

    def send(_):
        start.wait()
        return post(ctx, f.server_key, body)
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(send, range(n)))

    statuses = sorted(a[0] for a in answers)
    assert statuses == [200] * (n - 1) + [201], statuses
    bodies = {a[2] for a in answers}
    assert len(bodies) == 1, bodies
    assert_created(answers[0], f, 2, status=answers[0][0])
    assert stored(ctx, f.app_id) == (1, 2, 1)
    m = last_message(ctx, f.app_id)
    assert [d[0] for d in deliveries_of(ctx, m["id"])] == f.device_ids


# --- formats -------------------------------------------------------------------------

def test_xml_push_stores_the_same_row_and_answers_the_same_as_json(ctx):
    f = ctx.fixture()
    when = rfc3339(utc_now() + datetime.timedelta(days=1))
    doc = valid_push(title="Fish & chips <today>", body="Ünïcödé — ok",
                     extra_data={"order_id": "4521", "screen": "order_detail"},
                     schedule_at=when, priority=8)
    columns = ("app_user_id", "source", "title", "body", "priority", "schedule_at", "dedupe_key")

    json_answer = post(ctx, f.server_key, doc)
    json_doc = assert_created(json_answer, f, 1)
    from_json = last_message(ctx, f.app_id)
    xml_ans = post_xml(ctx, f.server_key, doc)
    assert xml_ans[0] == 201, show(xml_ans)
    from_xml = last_message(ctx, f.app_id)

    assert from_xml["id"] != from_json["id"]
    assert {c: from_xml[c] for c in columns} == {c: from_json[c] for c in columns}
    assert json.loads(from_xml["data"]) == json.loads(from_json["data"]) == doc["extra_data"]
    assert xml_answer(xml_ans) == {k: str(v) for k, v in json_doc.items()}
    assert [d[1:] for d in deliveries_of(ctx, from_xml["id"])] == \
        [d[1:] for d in deliveries_of(ctx, from_json["id"])]


def test_json_request_answers_xml_with_format_xml_or_accept_xml(ctx):
    f = ctx.fixture()
    want = {"push_count": "1", "app_user_id": "user_123", "app_id": f.app_uid}
    for path, headers in ((PUSH + "?format=xml", {}), (PUSH + "?format=XML", {}),
                          (PUSH, {"Accept": "application/xml"}),
                          (PUSH, {"Accept": "text/html, application/xml;q=0.9, application/json;q=0.5"})):
        answer = post(ctx, f.server_key, valid_push(), path=path, headers=headers)
        assert answer[0] == 201, show(answer)
        assert xml_answer(answer) == want, (path, headers)
    # ?format= wins over Accept; errors follow the same choice.
    answer = post(ctx, f.server_key, valid_push(), path=PUSH + "?format=json",
                  headers={"Accept": "application/xml"})
    assert_created(answer, f, 1)
    refused(ctx, f, lambda: post(ctx, f.server_key, valid_push(title=DROP),
                                 headers={"Accept": "application/xml"}),
            400, "missing_field", "title", fmt="xml")


def test_xml_request_answers_json_with_format_json_or_accept_json(ctx):
    f = ctx.fixture()
    for path, headers in ((PUSH + "?format=json", {}), (PUSH, {"Accept": "application/json"})):
        assert_created(post_xml(ctx, f.server_key, valid_push(), path=path, headers=headers), f, 1)
    # Without either, the answer is in the request's format.
    answer = post_xml(ctx, f.server_key, valid_push())
    assert answer[0] == 201 and xml_answer(answer)["push_count"] == "1", show(answer)
    refused(ctx, f, lambda: post_xml(ctx, f.server_key, valid_push(title=DROP),
                                     path=PUSH + "?format=json"),
            400, "missing_field", "title")


def test_xml_with_wrong_root_element_is_refused_as_malformed(ctx):
    f = ctx.fixture()
    for root in ("response", "Push", "message"):
        refused_xml(ctx, f, to_xml(valid_push(), root=root), 400, "malformed_body")
    # Fields must be children of the root, not attributes of it: attributes are refused
    # rather than silently dropped.
    refused_xml(ctx, f, b'<push app_user_id="user_123" title="t" body="b"/>', 400,
                "malformed_body")
    still_sends(ctx, f)


def test_text_xml_with_charset_parameter_is_accepted(ctx):
    f = ctx.fixture()
    for ctype in ("text/xml; charset=utf-8", "application/xml;charset=UTF-8", "Text/XML"):
        answer = post(ctx, f.server_key, to_xml(valid_push(title="Grüße")), content_type=ctype)
        assert answer[0] == 201 and xml_answer(answer)["push_count"] == "1", (ctype, show(answer))
        assert last_message(ctx, f.app_id)["title"] == "Grüße"
    for ctype in ("application/json; charset=utf-8", None):
        assert_created(post(ctx, f.server_key, valid_push(), content_type=ctype), f, 1)


def test_unknown_content_type_is_refused_415_and_nothing_stored(ctx):
    f = ctx.fixture()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/yaml",
                  "application/jsonx", "multipart/form-data; boundary=x"):
        refused(ctx, f, lambda: post(ctx, f.server_key, valid_push(), content_type=ctype),
                415, "unsupported_media_type")


def test_format_parameter_other_than_json_or_xml_is_refused_400_bad_parameter(ctx):
    f = ctx.fixture()
    for query in ("format=yaml", "format=", "format=jsonx"):
        refused(ctx, f, lambda: post(ctx, f.server_key, valid_push(), path=f"{PUSH}?{query}"),
                400, "bad_parameter", ANY)


# --- hostile and broken input --------------------------------------------------------

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE push [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<push><app_user_id>user_123</app_user_id><title>&x;</title><body>b</body></push>"""

XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE push [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<push><app_user_id>user_123</app_user_id><title>t</title><body>b</body></push>"""

DOCTYPE_ONLY = b"""<?xml version="1.0"?>
<!DOCTYPE push>
<push><app_user_id>user_123</app_user_id><title>t</title><body>b</body></push>"""

BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE push [\n<!ENTITY lol "lol">\n'
                  + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']>\n<push><app_user_id>user_123</app_user_id><title>&lol9;</title>'
                  + b"<body>b</body></push>")


def test_xml_external_entity_is_refused_without_reading_the_file(ctx):
    f = ctx.fixture()
    for doc in (XXE, XXE_PARAMETER, DOCTYPE_ONLY):
        refused_xml(ctx, f, doc, 400, "malformed_body")
        answer = post_xml(ctx, f.server_key, doc, path=PUSH + "?format=json")
        assert answer[0] == 400 and b"root:" not in answer[2], show(answer)
    still_sends(ctx, f)


def test_xml_entity_expansion_bomb_is_refused_fast(ctx):
    f = ctx.fixture()
    started = time.monotonic()
    refused_xml(ctx, f, BILLION_LAUGHS, 400, "malformed_body")
    # Expanding its 10^9 entities would take far longer than this.
    assert time.monotonic() - started < FAST_ANSWER_S, time.monotonic() - started
    # An undefined entity is refused too (there is no DTD to define it).
    refused_xml(ctx, f, b"<push><app_user_id>user_123</app_user_id><title>&lol9;</title>"
                b"<body>b</body></push>", 400, "malformed_body")
    still_sends(ctx, f)


def test_json_or_xml_nested_1000_deep_is_refused_as_malformed(ctx):
    f = ctx.fixture()
    deep_objects = b'{"a":' * 1000 + b"1" + b"}" * 1000
    deep_arrays = b"[" * 1000 + b"]" * 1000
    for deep in (deep_objects, deep_arrays):
        raw = b'{"app_user_id":"user_123","title":"t","body":"b","extra_data":{"x":' + deep + b"}}"
        refused_json(ctx, f, raw, 400, "malformed_body")
    deep_xml = b"<a>" * 1000 + b"1" + b"</a>" * 1000
    refused_xml(ctx, f, b"<push><app_user_id>user_123</app_user_id><title>t</title><body>b</body>"
                b"<extra_data>" + deep_xml + b"</extra_data></push>", 400, "malformed_body")
    still_sends(ctx, f)


def test_invalid_utf8_is_refused_in_json_and_in_xml(ctx):
    f = ctx.fixture()
    bad = (b"\xff", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
           b"\xe2\x82", b"\x80", b"ok\xfe")
    for seq in bad:
        raw = b'{"app_user_id":"user_123","title":"' + seq + b'","body":"b"}'
        refused_json(ctx, f, raw, 400, "malformed_body")
        raw = b'{"app_user_id":"user_123","title":"t","body":"b","extra_data":{"' + seq + b'":"v"}}'
        refused_json(ctx, f, raw, 400, "malformed_body")
        doc = b"<push><app_user_id>user_123</app_user_id><title>" + seq + b"</title><body>b</body></push>"
        refused_xml(ctx, f, doc, 400, "malformed_body")
    still_sends(ctx, f)


def test_json_escape_of_a_lone_surrogate_is_refused_and_a_pair_is_decoded(ctx):
    # formats.md refuses surrogates: a lone \ud800 escape names no character, and
    # must not be stored as something else (such as U+FFFD).
    f = ctx.fixture()
    for escape_ in (b"\\ud800", b"\\udc00", b"\\ud83dx", b"\\ude00\\ud83d"):
        raw = b'{"app_user_id":"user_123","title":"a' + escape_ + b'b","body":"b"}'
        refused_json(ctx, f, raw, 400, {"malformed_body", "invalid_value"}, ANY)
    raw = b'{"app_user_id":"user_123","title":"\\ud83d\\ude00","body":"b"}'
    assert_created(post(ctx, f.server_key, raw), f, 1)
    assert last_message(ctx, f.app_id)["title"] == "\U0001F600"


@timeout(120)
def test_10_mb_body_is_refused_413_quickly_and_nothing_stored(ctx):
    f = ctx.fixture()
    big = b'{"app_user_id":"user_123","title":"t","body":"' + b"x" * (10 << 20) + b'"}'
    for content_type, fmt in (("application/json", "json"), ("application/xml", "xml")):
        started = time.monotonic()
        refused(ctx, f, lambda: post(ctx, f.server_key, big, content_type=content_type),
                413, "body_too_large", fmt=fmt)
        # The 10 MB go through the web server either way, which takes a loaded 2-core
        # machine a second or two; a refusal that left the body unread would hang
        # until a timeout of the web server (ProxyTimeout 30 s, lighttpd 60 s).
        assert time.monotonic() - started < 10, time.monotonic() - started
    # 64 KiB and a byte over the default max_body_bytes.
    over = compact(valid_push(extra_data={"k": "x" * (64 * 1024)}))
    refused_json(ctx, f, over, 413, "body_too_large")
    still_sends(ctx, f)


def test_empty_body_array_and_trailing_data_are_refused_as_malformed(ctx):
    f = ctx.fixture()
    valid = compact(valid_push())
    for raw in (b"", b" ", b"[" + valid + b"]", b"null", b'"text"', b"42",
                valid + b" x", valid + valid, valid + b"}", valid[:-1],
                b"{'app_user_id':'user_123','title':'t','body':'b'}",
                valid[:-1] + b",}", b"/* c */" + valid, b"\xef\xbb\xbf" + valid):
        refused_json(ctx, f, raw, 400, "malformed_body")
    for raw in (b"", b"<push>", b"<push><title>t</push>", b"not xml",
                to_xml(valid_push()) + b"<push/>",
                b"<push><app_user_id>user_123</app_user_id><title>t<b>x</b></title><body>b</body></push>"):
        refused_xml(ctx, f, raw, 400, "malformed_body")
    still_sends(ctx, f)


# --- methods and routes --------------------------------------------------------------

def test_other_methods_on_push_answer_405_with_allow_post(ctx):
    f = ctx.fixture()
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        before = stored(ctx, f.app_id)
        answer = ctx.request(method, PUSH, compact(valid_push()) if method != "GET" else None,
                             {"X-Server-Key": f.server_key, "Content-Type": "application/json"})
        assert_error(answer, 405, "method_not_allowed")
        assert answer[1].get("allow") == "POST", (method, answer[1])
        assert stored(ctx, f.app_id) == before


def test_unknown_developer_path_answers_404_json_error(ctx):
    f = ctx.fixture()
    for path in ("/developer/nope", "/developer/push/", "/developer/push/x", "/developer/"):
        refused(ctx, f, lambda: post(ctx, f.server_key, valid_push(), path=path),
                404, "not_found")
    refused(ctx, f, lambda: ctx.request("GET", "/developer/nope"), 404, "not_found")


def test_checks_run_in_the_documented_order(ctx):
    # docs/developer.md: "route, body size, rate limit, key, Content-Type and parsing,
    # fields, then the send". Each request below fails two checks; the earlier one
    # must answer. All are tried, and every one answered out of order is reported.
    f = ctx.fixture()
    big = b"x" * (100 * 1024)
    cases = [
        ("body size before Content-Type", None, big, "text/plain", PUSH, 413, "body_too_large"),
        ("key before Content-Type", None, b"garbage", "text/plain", PUSH, 401, "missing_key"),
        ("key validity before Content-Type", "hd_srv_unknown", b"garbage", "text/plain", PUSH,
         401, "invalid_key"),
        ("key before parsing", None, b"garbage", "application/json", PUSH, 401, "missing_key"),
        ("Content-Type before parsing", f.server_key, b"garbage", "text/plain", PUSH, 415,
         "unsupported_media_type"),
    ]
    wrong = []
    for what, key, body, ctype, path, status, code in cases:
        before = stored(ctx, f.app_id)
        answer = post(ctx, key, body, content_type=ctype, path=path)
        assert stored(ctx, f.app_id) == before
        got = json.loads(answer[2])["error"]["code"] if answer[0] >= 400 else None
        if (answer[0], got) != (status, code):
            wrong.append(f"{what}: wanted {status} {code}, got {answer[0]} {got}")
        else:
            assert_error(answer, status, code)
    assert not wrong, "; ".join(wrong)


# --- rate limit ----------------------------------------------------------------------

def burst(ctx, n, threads=6):
    """n cheap requests (no key: 401) from ctx.source, as fast as possible."""
    conn_headers = {"Content-Type": "application/json"}

    def one(_):
        return ctx.request("POST", PUSH, b"{}", conn_headers)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


@timeout(120)
def test_over_100_requests_in_one_second_get_429_while_other_addresses_are_served(ctx):
    f = ctx.fixture()
    other = other_source(ctx)
    # A loaded machine may not fit 101 requests into one second every time: it gets
    # as many tries as fit into a minute (each from a fresh second, so no try sees the
    # count of another).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(1.02 - time.time() % 1)   # pacing: just after a second boundary
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(1) as side:
            elsewhere = side.submit(post, ctx, f.server_key, valid_push(), source=other)
            answers = burst(ctx, 101)
            elsewhere = elsewhere.result()
        ended = time.time()
        if int(started) == int(ended):
            break
        print(f"burst took {started % 1:.3f}..{ended - int(started):.3f}s, over a second boundary;"
              " again")
    else:
        raise AssertionError("could not fit 101 requests into one second in a minute of tries")

    limited = [a for a in answers if a[0] == 429]
    served = [a for a in answers if a[0] != 429]
    assert len(served) == 100 and len(limited) == 1, sorted(a[0] for a in answers)
    for a in served:
        assert_error(a, 401, "missing_key")
    for a in limited:
        assert_error(a, 429, "rate_limited")
        assert a[1].get("retry-after", "").strip().isdigit(), a[1]
        assert int(a[1]["retry-after"]) >= 1, a[1]
    assert_created(elsewhere, f, 1)
    # The next second is a fresh count.
    time.sleep(1.05 - time.time() % 1)
    assert_created(post(ctx, f.server_key, valid_push()), f, 1)


# --- database down -------------------------------------------------------------------

@timeout(150)
def test_database_down_answers_503_fast_and_sends_again_once_it_is_back(ctx):
    f = ctx.fixture()
    assert_created(post(ctx, f.server_key, valid_push()), f, 1)
    before = stored(ctx, f.app_id)
    down_title, back_title = "sent while the database was down", "sent after it came back"
    ctx.stack.db.stop()
    try:
        for _ in range(4):   # more than one process answers
            started = time.monotonic()
            answer = post(ctx, f.server_key, valid_push(title=down_title, dedupe_key="down"))
            took = time.monotonic() - started
            assert_error(answer, 503, "unavailable")
            assert answer[1].get("retry-after", "").strip().isdigit(), answer[1]
            assert took < FAST_ANSWER_S, f"503 took {took:.2f}s"
    finally:
        ctx.stack.db.start()
    # The same web server and programs, no restart: they reconnect by themselves.
    deadline = time.monotonic() + 30
    while True:
        answer = post(ctx, f.server_key, valid_push(title=back_title))
        if answer[0] != 503 or time.monotonic() > deadline:
            break
        assert_error(answer, 503, "unavailable")
        time.sleep(0.2)
    assert_created(answer, f, 1)
    titles = dict(ctx.db.query(f"SELECT title, COUNT(*) FROM messages WHERE app_id = {f.app_id}"
                               " GROUP BY title"))
    assert titles == {valid_push()["title"]: "1", back_title: "1"}, titles
    assert stored(ctx, f.app_id) == (before[0] + 1, before[1] + 1, before[2])


def test_json_with_a_repeated_member_name_is_refused_as_malformed(ctx):
    # Parsers disagree on which of two same-named members wins; herald takes neither.
    f = ctx.fixture()
    body = ('{"app_user_id":"user_123","title":"first","title":"second",'
            '"body":"b"}')
    refused_json(ctx, f, body, 400, "malformed_body")
    nested = '{"app_user_id":"user_123","title":"t","body":"b","extra_data":{"k":"1","k":"2"}}'
    refused_json(ctx, f, nested, 400, "malformed_body")
    still_sends(ctx, f)


def test_dedupe_replay_answers_the_first_requests_body_even_for_another_user(ctx):
    # "answers 200 with the first request's body": app_user_id included.
    f = ctx.fixture()
    key = secrets.token_hex(8)
    first = post(ctx, f.server_key, valid_push(dedupe_key=key))
    assert_created(first, f, 1)
    again = post(ctx, f.server_key, valid_push(app_user_id="someone_else", dedupe_key=key))
    assert again[0] == 200, show(again)
    assert json.loads(again[2]) == json.loads(first[2]), (show(first), show(again))
