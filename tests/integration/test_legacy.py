"""The legacy dialect, POST /api/v2/push (docs/legacy.md, seed 003_f501365c26ff4dd0):
formats and their negotiation, the XML rules (xmlns:i, i:nil, default namespaces,
no DTDs), the fields and their precedence, what a send stores, and every error code
with its answer shape. Every refusal also checks that nothing was stored."""
import json
import secrets
import socket
import threading
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import herald_stack
from hd import FAST_ANSWER_S, timeout

PATH = "/api/v2/push"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DATACONTRACT_NS = "http://schemas.datacontract.org/2004/07/Integration.Api.Models"


# --- requests --------------------------------------------------------------------

def xml_doc(fields, root="PushRequest", xsi=True, default_ns=None):
    """An XML request: each field an element; None is i:nil="true"; booleans are
    written true/false."""
    attrs = (f' xmlns="{default_ns}"' if default_ns else "") + (f' xmlns:i="{XSI}"' if xsi else "")
    parts = []
    for name, value in fields.items():
        if value is None:
            parts.append(f'<{name} i:nil="true"/>')
        elif isinstance(value, bool):
            parts.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        else:
            parts.append(f"<{name}>{escape(str(value))}</{name}>")
    return f'<?xml version="1.0" encoding="utf-8"?><{root}{attrs}>{"".join(parts)}</{root}>'


def creds(f):
    return {"CompanyId": f.company_id, "IntegrationKey": f.integration_key}


def post(ctx, body, content_type=None, query="", headers=None, source=None):
    """POST body (bytes or str) to the legacy endpoint. content_type None sends no
    Content-Type header at all; "" sends an empty one."""
    headers = dict(headers or {})
    if content_type is not None:
        headers["Content-Type"] = content_type
    if isinstance(body, str):
        body = body.encode()
    return Answer(*ctx.request("POST", PATH + query, body, headers, source=source))


def post_xml(ctx, fields, query="", content_type=None, **kw):
    return post(ctx, xml_doc(fields, **kw), content_type, query)


def post_json(ctx, fields, query="", content_type="application/json"):
    return post(ctx, json.dumps(fields), content_type, query)


# --- answers ---------------------------------------------------------------------

def local(tag):
    return tag.rsplit("}", 1)[-1]


class Answer:
    """An answer: status, headers, format ('xml' or 'json'), root element name (XML),
    doc (members as given), flat (members as strings, the same for both formats)."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        ctype = headers.get("content-type", "")
        self.fmt = "xml" if "xml" in ctype else "json" if "json" in ctype else None
        self.root = None
        self.doc = None
        if self.fmt == "xml":
            tree = ET.fromstring(body)
            self.root = local(tree.tag)
            # Answers always declare xmlns:i on their root (docs/formats.md).
            start = body.split(b">", 2)
            head = start[1] if body.startswith(b"<?xml") else start[0]
            assert f'xmlns:i="{XSI}"'.encode() in head, body[:300]
            self.doc = {local(c.tag): (c.text or "") for c in tree}
            assert all(len(c) == 0 for c in tree), body[:300]
        elif self.fmt == "json":
            self.doc = json.loads(body)
            assert isinstance(self.doc, dict), body[:300]

    @property
    def flat(self):
        def text(v):
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v)
        return {k: text(v) for k, v in self.doc.items()}

    def __repr__(self):
        return f"<{self.status} {self.headers.get('content-type')} {self.body[:400]!r}>"


def assert_success(ans, fmt, push_count=1):
    assert ans.status == 200, ans
    assert ans.fmt == fmt, ans
    if fmt == "xml":
        assert ans.root == "PushResponse", ans
        assert ans.doc == {"Success": "true", "PushCount": str(push_count)}, ans
    else:
        assert ans.doc == {"Success": True, "PushCount": push_count}, ans
        assert type(ans.doc["PushCount"]) is int


def assert_error(ans, status, code, fmt, field=None):
    """The legacy error shape: XML root ErrorResponse or a JSON object, with Success
    false, ErrorCode and a Message (and Field when one field is at fault)."""
    assert ans.status == status, (status, code, ans)
    assert ans.fmt == fmt, (fmt, ans)
    if fmt == "xml":
        assert ans.root == "ErrorResponse", ans
        assert ans.doc["Success"] == "false", ans
    else:
        assert ans.doc["Success"] is False, ans
        assert isinstance(ans.doc["Message"], str)
    assert ans.doc["ErrorCode"] == code, (code, ans)
    assert ans.doc["Message"].strip(), ans
    assert set(ans.doc) <= {"Success", "ErrorCode", "Message", "Field"}, ans
    if field is not None:
        assert ans.doc.get("Field") == field, (field, ans)


# --- the database ----------------------------------------------------------------

def stored(ctx):
    """What a refusal must leave untouched: every message, delivery, user, device."""
    return ctx.db.query("SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM deliveries),"
                        " (SELECT COUNT(*) FROM app_users), (SELECT COUNT(*) FROM devices),"
                        " (SELECT COALESCE(MAX(id), 0) FROM messages)")[0]


def refused(ctx, send, status, code, fmt, field=None):
    """Calls send() (which returns an Answer), checks the error answer and that
    nothing was stored; returns the answer."""
    before = stored(ctx)
    ans = send()
    assert_error(ans, status, code, fmt, field)
    assert stored(ctx) == before, "a refused request stored something"
    return ans


def messages(ctx, app_id):
    """Messages of an app, oldest first: dicts of the stored columns."""
    rows = ctx.db.query("SELECT id, title, body, sound, ttl_s, source, priority, data FROM messages"
                        f" WHERE app_id = {int(app_id)} ORDER BY id")
    names = ("id", "title", "body", "sound", "ttl_s", "source", "priority", "data")
    return [dict(zip(names, r)) for r in rows]


def last_message(ctx, app_id):
    found = messages(ctx, app_id)
    assert found, "no message stored"
    return found[-1]


def delivered_devices(ctx, message_id):
    return sorted(int(r[0]) for r in ctx.db.query(
        f"SELECT device_id FROM deliveries WHERE message_id = {int(message_id)}"))


def add_user(ctx, f, external_id, email=None, devices=1, permission=1):
    """Another user of f's app with `devices` active iOS devices: (uid, device ids)."""
    script = (f"CALL hd_create_app_user({f.app_id}, {herald_stack.sql_str(external_id)},"
              f" {herald_stack.sql_str(email)}, @uuid);\n"
              "SET @uid = (SELECT id FROM app_users WHERE uid = @uuid);\n")
    for _ in range(devices):
        token = secrets.token_hex(32)
        script += ("INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash,"
                   " push_permission, status) VALUES "
                   f"('{secrets.token_hex(16)}', {f.app_id}, @uid, 'ios', '{token}',"
                   f" UNHEX(SHA2('{token}', 256)), {permission}, 'active');\n")
    script += "SELECT @uuid;\nSELECT id FROM devices WHERE app_user_id = @uid ORDER BY id;\n"
    rows = ctx.db.query(script)
    return rows[0][0], [int(r[0]) for r in rows[1:]]


def push_fields(f, **fields):
    base = {"UserExternalId": f.user, "Title": "Hi", "Body": "Hello", **creds(f)}
    base.update(fields)   # a field given as ... is left out
    return {k: v for k, v in base.items() if v is not ...}


# --- formats ---------------------------------------------------------------------

def test_legacy_xml_body_without_content_type_is_read_as_xml_and_answered_in_xml(ctx):
    f = ctx.fixture()
    ans = post_xml(ctx, push_fields(f))
    assert "content-type" in ans.headers
    assert_success(ans, "xml")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"], m["source"]) == ("Hi", "Hello", "legacy"), m
    assert delivered_devices(ctx, m["id"]) == f.device_ids


def test_legacy_xml_body_with_an_empty_content_type_header_is_read_as_xml(ctx):
    f = ctx.fixture()
    assert_success(post_xml(ctx, push_fields(f), content_type=""), "xml")
    assert len(messages(ctx, f.app_id)) == 1


def test_legacy_xml_content_types_with_parameters_are_read_as_xml(ctx):
    f = ctx.fixture()
    for ctype in ("application/xml", "text/xml", "application/xml; charset=utf-8",
                  "Text/XML;charset=UTF-8"):
        assert_success(post_xml(ctx, push_fields(f), content_type=ctype), "xml")
    assert len(messages(ctx, f.app_id)) == 4


def test_legacy_json_body_with_application_json_is_answered_in_json(ctx):
    f = ctx.fixture()
    for ctype in ("application/json", "application/json; charset=utf-8"):
        ans = post_json(ctx, push_fields(f), content_type=ctype)
        assert_success(ans, "json")
        assert ans.headers["content-type"].startswith("application/json")
    assert len(messages(ctx, f.app_id)) == 2


def test_legacy_format_json_answers_json_to_an_xml_request(ctx):
    f = ctx.fixture()
    assert_success(post_xml(ctx, push_fields(f), query="?format=json"), "json")
    assert_success(post_xml(ctx, push_fields(f), query="?format=JSON", content_type="application/xml"), "json")


def test_legacy_format_xml_answers_xml_to_a_json_request(ctx):
    f = ctx.fixture()
    assert_success(post_json(ctx, push_fields(f), query="?format=xml"), "xml")


def test_legacy_format_decides_the_format_of_refusals_too(ctx):
    f = ctx.fixture()
    no_user = push_fields(f, UserExternalId=...)
    refused(ctx, lambda: post_json(ctx, no_user, query="?format=xml"), 400, "MissingField", "xml")
    refused(ctx, lambda: post_xml(ctx, no_user, query="?format=json"), 400, "MissingField", "json")


def test_legacy_answer_follows_format_else_the_request_format_and_ignores_accept(ctx):
    # DESIGN.md §3: "The answer's format follows format, else the request's format."
    f = ctx.fixture()
    fields = push_fields(f)
    assert_success(post_xml(ctx, fields, query="?format=xml"), "xml")
    ans = post(ctx, xml_doc(fields), None, "?format=json", {"Accept": "application/xml"})
    assert_success(ans, "json")
    ans = post(ctx, xml_doc(fields), None, "", {"Accept": "application/json"})
    assert_success(ans, "xml")
    ans = post(ctx, json.dumps(fields), "application/json", "", {"Accept": "application/xml"})
    assert_success(ans, "json")


def test_legacy_format_other_than_json_or_xml_is_400_invalid_parameter(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f), query="?format=yaml"),
            400, "InvalidParameter", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f), query="?format="),
            400, "InvalidParameter", "json")


def test_legacy_same_request_in_xml_and_json_stores_the_same_message_and_equivalent_answers(ctx):
    f = ctx.fixture()
    fields = push_fields(f, Title="Order shipped \u2713 <&>", Body="Parcel #4521 \"is\" on its way",
                         Sound=True, ExpirySecs=3600)
    from_xml = post_xml(ctx, fields)
    from_json = post_json(ctx, fields)
    assert_success(from_xml, "xml")
    assert_success(from_json, "json")
    assert from_xml.flat == from_json.flat
    a, b = messages(ctx, f.app_id)
    keep = ("title", "body", "sound", "ttl_s", "source", "priority", "data")
    assert {k: a[k] for k in keep} == {k: b[k] for k in keep}, (a, b)
    assert (a["title"], a["body"], a["sound"], a["ttl_s"], a["source"]) == (
        "Order shipped \u2713 <&>", "Parcel #4521 \"is\" on its way", "default", "3600", "legacy")
    assert delivered_devices(ctx, a["id"]) == delivered_devices(ctx, b["id"]) == f.device_ids
    # Answered the other way round (format=), the answers are still equivalent.
    assert post_xml(ctx, fields, query="?format=json").doc == from_json.doc
    assert post_json(ctx, fields, query="?format=xml").doc == from_xml.doc


def test_legacy_same_refusal_in_xml_and_json_gives_equivalent_answers(ctx):
    f = ctx.fixture()
    fields = push_fields(f, ExpirySecs=2419201)
    a = refused(ctx, lambda: post_xml(ctx, fields), 400, "OutOfRange", "xml", "ExpirySecs")
    b = refused(ctx, lambda: post_json(ctx, fields), 400, "OutOfRange", "json", "ExpirySecs")
    assert a.flat == b.flat


# --- XML rules -------------------------------------------------------------------

def test_legacy_docs_example_pretty_printed_with_bom_comments_and_cdata_sends(ctx):
    # The shape of docs/legacy.md's example: indented, a nil UserId; plus what XML
    # writers add: a UTF-8 byte order mark (.NET), comments, CDATA.
    f = ctx.fixture()
    body = f"""\ufeff<?xml version="1.0" encoding="utf-8"?>
<PushRequest xmlns:i="{XSI}">
  <!-- sent by the nightly job -->
  <UserExternalId>{f.user}</UserExternalId><UserId i:nil="true"/>
  <Title><![CDATA[Sale <today> & tomorrow]]></Title>
  <Body>Hello</Body>
  <Sound>true</Sound>
  <ExpirySecs>3600</ExpirySecs>
  <CompanyId>{f.company_id}</CompanyId>
  <IntegrationKey>{f.integration_key}</IntegrationKey>
</PushRequest>
"""
    assert_success(post(ctx, body, query="?format=json"), "json")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"], m["sound"], m["ttl_s"]) == ("Sale <today> & tomorrow", "Hello", "default", "3600"), m


def test_legacy_xml_root_without_xmlns_i_is_400_missing_namespace(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f), xsi=False), 400, "MissingNamespace", "xml")
    refused(ctx, lambda: post_xml(ctx, push_fields(f), xsi=False, query="?format=json"),
            400, "MissingNamespace", "json")
    # Declared with another URI, or only on a child element, it is still missing.
    wrong_uri = xml_doc(push_fields(f), xsi=False).replace(
        "<PushRequest>", '<PushRequest xmlns:i="http://www.w3.org/2001/XMLSchema">')
    refused(ctx, lambda: post(ctx, wrong_uri), 400, "MissingNamespace", "xml")
    on_child = xml_doc(push_fields(f), xsi=False).replace(
        "<Title>", f'<Title xmlns:i="{XSI}">')
    refused(ctx, lambda: post(ctx, on_child), 400, "MissingNamespace", "xml")


def test_legacy_xml_root_in_a_default_namespace_datacontract_style_is_accepted(ctx):
    f = ctx.fixture()
    fields = push_fields(f, UserId=None, Sound=True, ExpirySecs=60)
    ans = post_xml(ctx, fields, root="PushRequest", default_ns=DATACONTRACT_NS)
    assert_success(ans, "xml")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"], m["sound"], m["ttl_s"]) == ("Hi", "Hello", "default", "60"), m


def test_legacy_xml_root_element_may_have_any_name(ctx):
    f = ctx.fixture()
    assert_success(post_xml(ctx, push_fields(f), root="PushNotification"), "xml")
    assert len(messages(ctx, f.app_id)) == 1


def test_legacy_xml_i_nil_true_means_absent(ctx):
    f = ctx.fixture()
    # Nil identifiers fall through to the next one; a nil Title is no title.
    ans = post_xml(ctx, push_fields(f, UserId=None, UserEmail=None, Title=None, Sound=None,
                                    ExpirySecs=None))
    assert_success(ans, "xml")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"], m["sound"], m["ttl_s"]) == (None, "Hello", None, None), m
    # Nil everywhere it matters: nothing left to name the user or to say.
    refused(ctx, lambda: post_xml(ctx, push_fields(f, UserExternalId=None)),
            400, "MissingField", "xml")
    refused(ctx, lambda: post_xml(ctx, push_fields(f, Title=None, Body=None)),
            400, "MissingField", "xml")
    refused(ctx, lambda: post_xml(ctx, push_fields(f, CompanyId=None)), 401, "Unauthorized", "xml")


def test_legacy_seed_sample_json_with_empty_strings_sound_false_and_expiry_zero_sends(ctx):
    # The seed's sample body, filled in the way its clients do: "" for what is unused.
    f = ctx.fixture()
    body = {"UserId": "", "UserEmail": "", "UserExternalId": f.user, "Title": "Hi", "Body": "",
            "Sound": False, "ExpirySecs": 0, "CompanyId": f.company_id,
            "IntegrationKey": f.integration_key}
    assert_success(post_json(ctx, body), "json")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"], m["sound"], m["ttl_s"], m["source"]) == (
        "Hi", None, None, None, "legacy"), m


def test_legacy_seed_sample_as_xml_with_empty_elements_sends(ctx):
    f = ctx.fixture()
    body = (f'<PushRequest xmlns:i="{XSI}"><UserId></UserId><UserEmail/>'
            f"<UserExternalId>{f.user}</UserExternalId><Title></Title><Body>Hello</Body>"
            f"<Sound>false</Sound><ExpirySecs>0</ExpirySecs><CompanyId>{f.company_id}</CompanyId>"
            f"<IntegrationKey>{f.integration_key}</IntegrationKey></PushRequest>")
    assert_success(post(ctx, body), "xml")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"], m["sound"], m["ttl_s"]) == (None, "Hello", None, None), m


def test_legacy_seed_sample_with_every_identifier_empty_is_400_missing_field(ctx):
    f = ctx.fixture()
    body = {"UserId": "", "UserEmail": "", "UserExternalId": "", "Title": "Hi", "Body": "",
            "Sound": False, "ExpirySecs": 0, **creds(f)}
    refused(ctx, lambda: post_json(ctx, body), 400, "MissingField", "json")


def test_legacy_seed_sample_with_zero_company_id_and_empty_key_is_401(ctx):
    f = ctx.fixture()
    body = {"UserId": "", "UserEmail": "", "UserExternalId": f.user, "Title": "Hi", "Body": "",
            "Sound": False, "ExpirySecs": 0, "CompanyId": 0, "IntegrationKey": ""}
    refused(ctx, lambda: post_json(ctx, body), 401, "Unauthorized", "json")


def test_legacy_doctype_with_external_entity_is_400_invalid_request_and_fetches_nothing(ctx):
    f = ctx.fixture()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.settimeout(0.5)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
        inner = xml_doc(push_fields(f, Title="&xxe;")).split("?>", 1)[1].replace("&amp;xxe;", "&xxe;")
        bodies = [
            f'<?xml version="1.0"?><!DOCTYPE PushRequest [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>{inner}',
            f'<?xml version="1.0"?><!DOCTYPE PushRequest [<!ENTITY xxe SYSTEM "{url}/entity">]>{inner}',
            f'<?xml version="1.0"?><!DOCTYPE PushRequest SYSTEM "{url}/dtd">{inner.replace("&xxe;", "x")}',
            f'<!DOCTYPE PushRequest [<!ENTITY % p SYSTEM "{url}/param"> %p;]>{inner.replace("&xxe;", "x")}',
        ]
        for body in bodies:
            ans = refused(ctx, lambda: post(ctx, body), 400, "InvalidRequest", "xml")
            assert b"root:" not in ans.body
        refused(ctx, lambda: post(ctx, bodies[0], query="?format=json"), 400, "InvalidRequest", "json")
        try:
            conn, _ = listener.accept()
            conn.close()
            raise AssertionError("the XML parser connected to a URL named in the body")
        except socket.timeout:
            pass


def test_legacy_doctype_with_entity_expansion_is_400_invalid_request(ctx):
    f = ctx.fixture()
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    inner = xml_doc(push_fields(f, Title="x")).split("?>", 1)[1].replace(">x<", ">&l9;<")
    for body in (f'<!DOCTYPE PushRequest [<!ENTITY l0 "lol">{lol}]>{inner}',
                 f'<!DOCTYPE PushRequest [<!ENTITY l9 "harmless">]>{inner}',
                 f"<!DOCTYPE PushRequest>{inner.replace('&l9;', 'x')}"):
        refused(ctx, lambda: post(ctx, body), 400, "InvalidRequest", "xml")


def test_legacy_malformed_xml_and_json_and_empty_bodies_are_400_invalid_request(ctx):
    f = ctx.fixture()
    good = xml_doc(push_fields(f))
    for body in (good[:-5], good.replace("</Title>", "</Tilte>"), "not xml at all",
                 good.replace("<Title>Hi</Title>", "<Title>Hi<b>bold</b></Title>"),
                 good.replace("Hi", "&undefined;"), ""):
        refused(ctx, lambda: post(ctx, body), 400, "InvalidRequest", "xml")
    good = json.dumps(push_fields(f))
    for body in (good[:-1], good[:-1] + ",}", "[" + good + "]", good + "{}", "",
                 good.replace('"Hi"', "'Hi'")):
        refused(ctx, lambda: post(ctx, body, "application/json"), 400, "InvalidRequest", "json")


def test_legacy_invalid_utf8_is_400_invalid_request_in_both_formats(ctx):
    f = ctx.fixture()
    for bad in (b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"caf\xe9"):
        xml_body = xml_doc(push_fields(f, Title="TITLE")).encode().replace(b"TITLE", bad)
        json_body = json.dumps(push_fields(f, Title="TITLE")).encode().replace(b"TITLE", bad)
        refused(ctx, lambda: post(ctx, xml_body), 400, "InvalidRequest", "xml")
        refused(ctx, lambda: post(ctx, json_body, "application/json"), 400, "InvalidRequest", "json")


def test_legacy_nul_character_is_400_invalid_value(ctx):
    f = ctx.fixture()
    body = json.dumps(push_fields(f, Title="a\u0000b"))
    assert "\\u0000" in body
    refused(ctx, lambda: post(ctx, body, "application/json"), 400, "InvalidValue", "json")


# --- fields ----------------------------------------------------------------------

def test_legacy_user_id_alone_names_the_user_by_app_users_uid(ctx):
    f = ctx.fixture()
    other_uid, other_devices = add_user(ctx, f, "someone_else", devices=2)
    body = push_fields(f, UserExternalId=..., UserId=other_uid)
    assert_success(post_xml(ctx, body), "xml", push_count=2)
    assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == other_devices
    assert_success(post_json(ctx, push_fields(f, UserExternalId=..., UserId=f.user_uid)), "json")
    assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == f.device_ids
    # The uid is not an external id, nor the other way round.
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId=..., UserId=f.user)),
            404, "UserNotFound", "json")
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId=f.user_uid)),
            404, "UserNotFound", "json")


def test_legacy_user_email_alone_matches_case_insensitively(ctx):
    f = ctx.fixture(email="Mixed.Case@Example.com")
    for email in ("Mixed.Case@Example.com", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"):
        assert_success(post_json(ctx, push_fields(f, UserExternalId=..., UserEmail=email)), "json")
        assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == f.device_ids
    assert_success(post_xml(ctx, push_fields(f, UserExternalId=..., UserEmail="mixed.CASE@example.COM")), "xml")
    assert len(messages(ctx, f.app_id)) == 4
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId=..., UserEmail="mixed.case@example.org")),
            404, "UserNotFound", "json")


def test_legacy_user_external_id_alone_names_the_user_exactly(ctx):
    f = ctx.fixture(user="Ext_User-9")
    assert_success(post_json(ctx, push_fields(f)), "json")
    assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == f.device_ids
    # External ids are case-sensitive (the app's own ids).
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId="ext_user-9")),
            404, "UserNotFound", "json")


def test_legacy_identifiers_with_a_trailing_space_name_no_user(ctx):
    # Identifiers compare exactly (no SQL space padding): "user_123 " is another user.
    f = ctx.fixture()
    for target in ({"UserExternalId": f.user + " "}, {"UserId": f.user_uid + " "},
                   {"UserEmail": f.user_email + " "}):
        fields = push_fields(f, **{"UserExternalId": ..., **target})
        refused(ctx, lambda: post_json(ctx, fields), 404, "UserNotFound", "json")
        refused(ctx, lambda: post_xml(ctx, fields), 404, "UserNotFound", "xml")


def test_legacy_user_id_wins_over_external_id_which_wins_over_email(ctx):
    f = ctx.fixture()
    by_uid, uid_devices = add_user(ctx, f, "by_uid", email="by_uid@example.com", devices=1)
    _, ext_devices = add_user(ctx, f, "by_ext", email="by_ext@example.com", devices=2)
    _, email_devices = add_user(ctx, f, "by_email", email="by_email@example.com", devices=3)
    for send in (post_xml, post_json):
        ans = send(ctx, push_fields(f, UserId=by_uid, UserExternalId="by_ext", UserEmail="by_email@example.com"))
        assert ans.status == 200 and ans.flat["PushCount"] == "1", ans
        assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == uid_devices
        ans = send(ctx, push_fields(f, UserExternalId="by_ext", UserEmail="by_email@example.com"))
        assert ans.status == 200 and ans.flat["PushCount"] == "2", ans
        assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == ext_devices
        ans = send(ctx, push_fields(f, UserExternalId=..., UserEmail="by_email@example.com"))
        assert ans.status == 200 and ans.flat["PushCount"] == "3", ans
        assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == email_devices
    # The winner decides alone: an unknown UserId is not rescued by a known external id.
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserId=secrets.token_hex(16))),
            404, "UserNotFound", "json")


def test_legacy_no_user_identifier_is_400_missing_field(ctx):
    f = ctx.fixture()
    fields = push_fields(f, UserExternalId=...)
    refused(ctx, lambda: post_xml(ctx, fields), 400, "MissingField", "xml")
    refused(ctx, lambda: post_json(ctx, fields), 400, "MissingField", "json")
    refused(ctx, lambda: post_json(ctx, dict(fields, UserId=None, UserEmail=None, UserExternalId=None)),
            400, "MissingField", "json")


def test_legacy_neither_title_nor_body_is_400_missing_field(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f, Title=..., Body=...)), 400, "MissingField", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f, Title="", Body="")), 400, "MissingField", "json")


def test_legacy_title_alone_or_body_alone_is_enough(ctx):
    f = ctx.fixture()
    assert_success(post_json(ctx, push_fields(f, Body=...)), "json")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"]) == ("Hi", None), m
    assert_success(post_xml(ctx, push_fields(f, Title=...)), "xml")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"]) == (None, "Hello"), m


def test_legacy_sound_true_stores_the_default_sound_and_false_stores_none(ctx):
    f = ctx.fixture()
    for send, value in ((post_json, True), (post_xml, True), (post_xml, "1")):
        assert send(ctx, push_fields(f, Sound=value)).status == 200
        assert last_message(ctx, f.app_id)["sound"] == "default"
    for send, value in ((post_json, False), (post_xml, False), (post_xml, "0")):
        assert send(ctx, push_fields(f, Sound=value)).status == 200
        assert last_message(ctx, f.app_id)["sound"] is None


def test_legacy_sound_that_is_not_a_boolean_is_400_invalid_type(ctx):
    f = ctx.fixture()
    for value in ("maybe", "yes", "2"):
        refused(ctx, lambda: post_xml(ctx, push_fields(f, Sound=value)), 400, "InvalidType", "xml", "Sound")
    for value in ("maybe", "true", 1, 0, [True], {"on": True}):
        refused(ctx, lambda: post_json(ctx, push_fields(f, Sound=value)), 400, "InvalidType", "json", "Sound")


def test_legacy_expiry_secs_3600_stores_ttl_3600_and_zero_stores_null(ctx):
    f = ctx.fixture()
    for send in (post_json, post_xml):
        assert send(ctx, push_fields(f, ExpirySecs=3600)).status == 200
        assert last_message(ctx, f.app_id)["ttl_s"] == "3600"
        assert send(ctx, push_fields(f, ExpirySecs=0)).status == 200
        assert last_message(ctx, f.app_id)["ttl_s"] is None
        assert send(ctx, push_fields(f, ExpirySecs=2419200)).status == 200
        assert last_message(ctx, f.app_id)["ttl_s"] == "2419200"
        assert send(ctx, push_fields(f, ExpirySecs=1)).status == 200
        assert last_message(ctx, f.app_id)["ttl_s"] == "1"
    assert post_xml(ctx, push_fields(f, ExpirySecs=" 60 ")).status == 200
    assert last_message(ctx, f.app_id)["ttl_s"] == "60"


def test_legacy_expiry_secs_outside_0_to_2419200_is_400_out_of_range(ctx):
    f = ctx.fixture()
    for value in (2419201, -1, 10 ** 12, 18446744073709551616):
        refused(ctx, lambda: post_json(ctx, push_fields(f, ExpirySecs=value)),
                400, "OutOfRange", "json", "ExpirySecs")
        refused(ctx, lambda: post_xml(ctx, push_fields(f, ExpirySecs=value)),
                400, "OutOfRange", "xml", "ExpirySecs")


def test_legacy_expiry_secs_that_is_not_an_integer_is_400_invalid_type(ctx):
    f = ctx.fixture()
    for value in ("3600", 3600.0, 1.5, True):
        refused(ctx, lambda: post_json(ctx, push_fields(f, ExpirySecs=value)),
                400, "InvalidType", "json", "ExpirySecs")
    for value in ("abc", "1.5", "3600s", "1e3"):
        refused(ctx, lambda: post_xml(ctx, push_fields(f, ExpirySecs=value)),
                400, "InvalidType", "xml", "ExpirySecs")
    body = json.dumps(push_fields(f, ExpirySecs=0)).replace('"ExpirySecs": 0', '"ExpirySecs": 1e400')
    refused(ctx, lambda: post(ctx, body, "application/json"), 400, "InvalidType", "json", "ExpirySecs")


def test_legacy_company_id_that_is_not_an_integer_is_400_invalid_type(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_json(ctx, push_fields(f, CompanyId="abc")), 400, "InvalidType", "json", "CompanyId")
    refused(ctx, lambda: post_xml(ctx, push_fields(f, CompanyId="abc")), 400, "InvalidType", "xml", "CompanyId")
    refused(ctx, lambda: post_json(ctx, push_fields(f, CompanyId=str(f.company_id))),
            400, "InvalidType", "json", "CompanyId")
    refused(ctx, lambda: post_json(ctx, push_fields(f, CompanyId=float(f.company_id))),
            400, "InvalidType", "json", "CompanyId")


def test_legacy_negative_company_id_is_400_out_of_range(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_json(ctx, push_fields(f, CompanyId=-f.company_id)), 400, "OutOfRange", "json", "CompanyId")
    refused(ctx, lambda: post_xml(ctx, push_fields(f, CompanyId=-1)), 400, "OutOfRange", "xml", "CompanyId")


def test_legacy_strings_over_their_limits_are_400_too_long(ctx):
    f = ctx.fixture()
    assert_success(post_json(ctx, push_fields(f, Title="t" * 256, Body="b" * 2048)), "json")
    m = last_message(ctx, f.app_id)
    assert (m["title"], m["body"]) == ("t" * 256, "b" * 2048)
    # Limits are in bytes: 128 two-byte characters fit in 256, 129 do not.
    assert_success(post_xml(ctx, push_fields(f, Title="\u00e9" * 128)), "xml")
    for field, value in (("Title", "t" * 257), ("Body", "b" * 2049), ("Title", "\u00e9" * 129),
                         ("UserId", "u" * 65), ("UserExternalId", "x" * 256),
                         ("UserEmail", "e" * 250 + "@x.com")):
        refused(ctx, lambda: post_json(ctx, push_fields(f, **{field: value})), 400, "TooLong", "json", field)
        refused(ctx, lambda: post_xml(ctx, push_fields(f, **{field: value})), 400, "TooLong", "xml", field)


def test_legacy_string_fields_given_other_json_types_are_400_invalid_type(ctx):
    f = ctx.fixture()
    for field, value in (("Title", 5), ("Body", True), ("UserExternalId", ["a"]),
                         ("UserId", {"x": 1}), ("IntegrationKey", 12)):
        refused(ctx, lambda: post_json(ctx, push_fields(f, **{field: value})), 400, "InvalidType", "json", field)


def test_legacy_unknown_element_or_member_is_400_unknown_field(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f, Priority=5)), 400, "UnknownField", "xml", "Priority")
    refused(ctx, lambda: post_json(ctx, push_fields(f, Priority=5)), 400, "UnknownField", "json", "Priority")
    # Names are matched exactly: the developer dialect's lowercase names are unknown here.
    refused(ctx, lambda: post_json(ctx, push_fields(f, title="x")), 400, "UnknownField", "json", "title")
    refused(ctx, lambda: post_xml(ctx, push_fields(f, userExternalId="x")), 400, "UnknownField", "xml")


# --- keys ------------------------------------------------------------------------

def test_legacy_missing_company_id_is_401_unauthorized(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f, CompanyId=...)), 401, "Unauthorized", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f, CompanyId=None)), 401, "Unauthorized", "json")


def test_legacy_missing_integration_key_is_401_unauthorized(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f, IntegrationKey=...)), 401, "Unauthorized", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f, IntegrationKey="")), 401, "Unauthorized", "json")
    refused(ctx, lambda: post_xml(ctx, push_fields(f, IntegrationKey=None)), 401, "Unauthorized", "xml")


def test_legacy_wrong_integration_key_is_401_unauthorized(ctx):
    f = ctx.fixture()
    wrong = "hd_int_" + secrets.token_hex(24)
    refused(ctx, lambda: post_xml(ctx, push_fields(f, IntegrationKey=wrong)), 401, "Unauthorized", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f, IntegrationKey=f.integration_key[:-1])),
            401, "Unauthorized", "json")
    refused(ctx, lambda: post_json(ctx, push_fields(f, IntegrationKey=f.integration_key.upper())),
            401, "Unauthorized", "json")
    refused(ctx, lambda: post_json(ctx, push_fields(f, IntegrationKey=" " + f.integration_key)),
            401, "Unauthorized", "json")


def test_legacy_revoked_integration_key_is_401_unauthorized(ctx):
    f = ctx.fixture()
    assert_success(post_json(ctx, push_fields(f)), "json")
    ctx.db.query(f"CALL hd_revoke_key({f.key_ids['integration']})")
    refused(ctx, lambda: post_json(ctx, push_fields(f)), 401, "Unauthorized", "json")
    refused(ctx, lambda: post_xml(ctx, push_fields(f)), 401, "Unauthorized", "xml")


def test_legacy_integration_key_with_another_company_id_is_401_unauthorized(ctx):
    a = ctx.fixture(tenant=f"A of {ctx.test_id}")
    b = ctx.fixture(tenant=f"B of {ctx.test_id}")
    refused(ctx, lambda: post_json(ctx, push_fields(a, CompanyId=b.company_id)), 401, "Unauthorized", "json")
    refused(ctx, lambda: post_xml(ctx, push_fields(b, CompanyId=a.company_id)), 401, "Unauthorized", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(a, CompanyId=a.company_id + 10 ** 9)),
            401, "Unauthorized", "json")


def test_legacy_server_or_client_key_used_as_integration_key_is_401_unauthorized(ctx):
    f = ctx.fixture()
    for kind in ("server", "client"):
        refused(ctx, lambda: post_json(ctx, push_fields(f, IntegrationKey=f.keys[kind])),
                401, "Unauthorized", "json")
        refused(ctx, lambda: post_xml(ctx, push_fields(f, IntegrationKey=f.keys[kind])),
                401, "Unauthorized", "xml")


# --- users and devices -----------------------------------------------------------

def test_legacy_unknown_user_is_404_user_not_found(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: post_xml(ctx, push_fields(f, UserExternalId="nobody")), 404, "UserNotFound", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId=..., UserEmail="nobody@example.com")),
            404, "UserNotFound", "json")
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId=..., UserId=secrets.token_hex(16))),
            404, "UserNotFound", "json")


def test_legacy_user_without_devices_with_push_permission_is_404_no_devices(ctx):
    f = ctx.fixture()
    add_user(ctx, f, "no_devices", devices=0)
    add_user(ctx, f, "no_permission", devices=2, permission=0)
    refused(ctx, lambda: post_xml(ctx, push_fields(f, UserExternalId="no_devices")), 404, "NoDevices", "xml")
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId="no_permission")), 404, "NoDevices", "json")
    # The fixture's user loses permission on its only device: nothing left to send to.
    ctx.db.query(f"UPDATE devices SET push_permission = 0 WHERE id = {f.device_ids[0]}")
    refused(ctx, lambda: post_json(ctx, push_fields(f)), 404, "NoDevices", "json")
    ctx.db.query(f"UPDATE devices SET push_permission = 1, status = 'unregistered' WHERE id = {f.device_ids[0]}")
    refused(ctx, lambda: post_xml(ctx, push_fields(f)), 404, "NoDevices", "xml")


def test_legacy_push_count_counts_only_devices_with_push_permission(ctx):
    f = ctx.fixture(devices=3)
    ctx.db.query(f"UPDATE devices SET push_permission = 0 WHERE id = {f.device_ids[0]}")
    assert_success(post_json(ctx, push_fields(f)), "json", push_count=2)
    assert delivered_devices(ctx, last_message(ctx, f.app_id)["id"]) == f.device_ids[1:]


# --- HTTP ------------------------------------------------------------------------

@timeout(120)
def test_legacy_10_mb_body_is_413_body_too_large(ctx):
    f = ctx.fixture()
    big = xml_doc(push_fields(f, Body="BODY")).replace("BODY", "b" * (10 * 1024 * 1024))
    refused(ctx, lambda: post(ctx, big), 413, "BodyTooLarge", "xml")
    big_json = json.dumps(push_fields(f, Body="b" * (10 * 1024 * 1024)))
    refused(ctx, lambda: post(ctx, big_json, "application/json"), 413, "BodyTooLarge", "json")
    refused(ctx, lambda: post(ctx, big, query="?format=json"), 413, "BodyTooLarge", "json")


def test_legacy_unsupported_content_type_is_415(ctx):
    f = ctx.fixture()
    body = xml_doc(push_fields(f))
    # application/x-www-form-urlencoded counts as no Content-Type (issue 7): see
    # test_legacy_content_type.py.
    for ctype in ("text/plain", "multipart/form-data; boundary=x",
                  "application/jsonx", "application/soap+xml"):
        refused(ctx, lambda: post(ctx, body, ctype), 415, "UnsupportedMediaType", "xml")
    refused(ctx, lambda: post(ctx, body, "text/plain", "?format=json"), 415, "UnsupportedMediaType", "json")


def test_legacy_methods_other_than_post_are_405_method_not_allowed(ctx):
    f = ctx.fixture()
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        def send():
            return Answer(*ctx.request(method, PATH, xml_doc(push_fields(f)) if method != "GET" else None))
        ans = refused(ctx, send, 405, "MethodNotAllowed", "xml")
        assert ans.headers.get("allow") == "POST", ans.headers
    ans = refused(ctx, lambda: Answer(*ctx.request("GET", PATH + "?format=json")), 405, "MethodNotAllowed", "json")
    assert ans.headers.get("allow") == "POST"


def test_legacy_another_path_is_404_not_found(ctx):
    f = ctx.fixture()
    for path in (PATH + "/send", PATH + "/"):
        refused(ctx, lambda: Answer(*ctx.request("POST", path, xml_doc(push_fields(f)))), 404, "NotFound", "xml")
    refused(ctx, lambda: Answer(*ctx.request("POST", PATH + "/send?format=json", json.dumps(push_fields(f)),
                                             {"Content-Type": "application/json"})), 404, "NotFound", "json")


def test_legacy_route_errors_come_before_content_type_errors(ctx):
    # Routing comes first (the shared pipeline's order, docs/developer.md): a path that
    # does not exist is 404 and a method the path does not take is 405, whatever the
    # Content-Type of the request.
    f = ctx.fixture()
    body = xml_doc(push_fields(f))
    refused(ctx, lambda: Answer(*ctx.request("POST", PATH + "/send", body, {"Content-Type": "text/plain"})),
            404, "NotFound", "xml")
    ans = refused(ctx, lambda: Answer(*ctx.request("PUT", PATH, body, {"Content-Type": "text/plain"})),
                  405, "MethodNotAllowed", "xml")
    assert ans.headers.get("allow") == "POST"


def burst(ctx, body, n, threads=16):
    """Sends body n times from this test's address, concurrently; returns the answers."""
    answers, lock = [], threading.Lock()
    todo = list(range(n))

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            ans = post(ctx, body, "application/json")
            with lock:
                answers.append(ans)
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return answers


@timeout(120)
def test_legacy_over_100_requests_a_second_from_one_address_is_429_rate_limited(ctx):
    f = ctx.fixture()
    # Valid sends would be stored: the burst is refused anyway (wrong key), before or after
    # the rate limit, so nothing may be stored either way.
    body = json.dumps(push_fields(f, IntegrationKey="hd_int_" + "0" * 48))
    before = stored(ctx)
    # A loaded machine may serve fewer than 101 requests in some seconds of a burst:
    # bursts go on for up to a minute until one second gets over the limit.
    deadline = time.monotonic() + 60
    limited = []
    while not limited and time.monotonic() < deadline:
        answers = burst(ctx, body, 300)
        limited = [a for a in answers if a.status == 429]
        assert all(a.status in (401, 429) for a in answers), {a.status for a in answers}
    burst_ended = time.time()
    assert limited, "bursts of 300 requests for a minute were never rate limited"
    assert_error(limited[0], 429, "RateLimited", "json")
    assert limited[0].headers.get("retry-after") == "1", limited[0].headers
    assert stored(ctx) == before
    # The next second starts afresh: pacing to the second after the burst's last.
    time.sleep(max(0.0, int(burst_ended) + 1.05 - time.time()))
    assert_success(post_json(ctx, push_fields(f)), "json")


@timeout(180)
def test_legacy_database_down_is_503_service_unavailable_fast_with_nothing_stored(ctx):
    f = ctx.fixture()
    before = stored(ctx)
    ctx.stack.db.stop()
    try:
        for send, fmt in ((post_xml, "xml"), (post_json, "json")):
            started = time.monotonic()
            ans = send(ctx, push_fields(f))
            assert time.monotonic() - started < FAST_ANSWER_S, "a 503 must come fast"
            assert_error(ans, 503, "ServiceUnavailable", fmt)
            assert ans.headers.get("retry-after") == "1", ans.headers
    finally:
        ctx.stack.db.start()
    assert stored(ctx) == before
    herald_stack.wait_for(lambda: post_json(ctx, push_fields(f)).status == 200, 30,
                          "the legacy endpoint to send again")


def test_legacy_user_email_shared_by_two_users_is_409_ambiguous_user(ctx):
    # UserEmail names one user; when two of the app's users share it herald refuses
    # rather than pushing to both (or guessing one).
    f = ctx.fixture()
    ctx.db.query("INSERT INTO app_users (uid, app_id, external_id, email) VALUES"
                 f" (LOWER(HEX(RANDOM_BYTES(16))), {f.app_id}, 'twin', '{f.user_email.upper()}')")
    refused(ctx, lambda: post_json(ctx, push_fields(f, UserExternalId=..., UserEmail=f.user_email)),
            409, "AmbiguousUser", "json")
    assert_success(post_json(ctx, push_fields(f)), "json")
