"""Legacy clients that set no Content-Type (seed 003: "If no ContentType is specified,
XML is assumed"). curl -d, PHP's and Python's HTTP clients and most others then send
application/x-www-form-urlencoded by themselves, so in the legacy dialect that type
counts as none: XML is assumed and the answer follows the usual rules. Every other
unsupported type stays 415, and the developer dialect keeps 415 for form-urlencoded."""
import json
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import herald_stack

REPO = Path(__file__).resolve().parent.parent.parent
PATH = "/api/v2/push"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
FORM = "application/x-www-form-urlencoded"


def push_xml(f):
    return (f'<PushRequest xmlns:i="{XSI}"><UserExternalId>{f.user}</UserExternalId>'
            f"<Title>Hi</Title><Body>Hello</Body><CompanyId>{f.company_id}</CompanyId>"
            f"<IntegrationKey>{f.integration_key}</IntegrationKey></PushRequest>")


def xml_answer(body):
    """(root element's local name, {child: text}) of an XML answer."""
    root = ET.fromstring(body)
    return root.tag.rsplit("}", 1)[-1], {c.tag.rsplit("}", 1)[-1]: c.text for c in root}


def stored(ctx, f):
    return int(ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")[0][0])


def test_legacy_doc_example_posts_xml_with_a_plain_curl_d_and_answers_as_documented(ctx):
    # docs/legacy.md's example, run as written, against a demo like herald-local's.
    doc = (REPO / "docs" / "legacy.md").read_text()
    example = doc[doc.index("## Example"):]
    script = re.search(r"^```sh\n(.*?)^```", example, re.M | re.S).group(1)
    documented = re.search(r"^```xml\n(.*?)^```", example, re.M | re.S).group(1).strip()
    assert "curl -sS -X POST \"$HERALD_URL/api/v2/push\" -d @push.xml" in script, script
    assert "Content-Type" not in script, script
    demo = ctx.fixture(tenant="Demo", app="Demo App")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "run").mkdir()
        herald_stack.write_env(Path(tmp) / "run" / "herald.env",
                               herald_stack.env_values(demo, ctx.base_url))
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp,
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == documented, result.stdout
    assert xml_answer(result.stdout.encode()) == ("PushResponse", {"Success": "true", "PushCount": "1"})
    assert stored(ctx, demo) == 1


def test_legacy_form_urlencoded_content_type_is_read_as_xml_and_answered_in_xml(ctx):
    f = ctx.fixture()
    for ctype in (FORM, f"{FORM}; charset=UTF-8", " Application/X-WWW-Form-Urlencoded "):
        status, headers, body = ctx.request("POST", PATH, push_xml(f), {"Content-Type": ctype})
        assert status == 200, (ctype, status, body)
        assert headers["content-type"].startswith("application/xml"), (ctype, headers)
        assert xml_answer(body) == ("PushResponse", {"Success": "true", "PushCount": "1"}), (ctype, body)
    assert stored(ctx, f) == 3


def test_legacy_form_urlencoded_answer_follows_the_format_parameter(ctx):
    f = ctx.fixture()
    status, headers, body = ctx.request("POST", PATH + "?format=json", push_xml(f),
                                        {"Content-Type": FORM})
    assert status == 200, (status, body)
    assert headers["content-type"].startswith("application/json"), headers
    assert json.loads(body) == {"Success": True, "PushCount": 1}, body


def test_legacy_form_urlencoded_json_body_is_refused_as_malformed_xml_with_nothing_stored(ctx):
    # XML is assumed; a JSON body under that label is not XML.
    f = ctx.fixture()
    fields = {"UserExternalId": f.user, "Title": "Hi", "Body": "Hello",
              "CompanyId": f.company_id, "IntegrationKey": f.integration_key}
    status, headers, body = ctx.request("POST", PATH, json.dumps(fields), {"Content-Type": FORM})
    assert status == 400, (status, body)
    root, doc = xml_answer(body)
    assert root == "ErrorResponse", body
    assert stored(ctx, f) == 0


def test_legacy_other_unsupported_content_types_stay_415_with_nothing_stored(ctx):
    f = ctx.fixture()
    for ctype in ("text/plain", "multipart/form-data; boundary=x", f"{FORM}x",
                  "application/x-www-form", "application/octet-stream"):
        status, _, body = ctx.request("POST", PATH + "?format=json", push_xml(f),
                                      {"Content-Type": ctype})
        assert status == 415, (ctype, status, body)
        assert json.loads(body)["ErrorCode"] == "UnsupportedMediaType", (ctype, body)
    assert stored(ctx, f) == 0


def test_developer_form_urlencoded_stays_415(ctx):
    f = ctx.fixture()
    body = json.dumps({"app_user_id": f.user, "title": "Hi", "body": "Hello"})
    status, _, answer = ctx.request("POST", "/developer/push", body,
                                    {"Content-Type": FORM, "X-Server-Key": f.server_key})
    assert status == 415, (status, answer)
    assert json.loads(answer)["error"]["code"] == "unsupported_media_type", answer
    assert stored(ctx, f) == 0
