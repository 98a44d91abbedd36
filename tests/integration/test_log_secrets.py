"""No secret in any log (issue 13): a run of requests and deliveries that uses keys of
every kind (valid, of the wrong kind, unknown), provider credentials and the tokens
the providers' mocks issue, after which every log the stack has written (the FastCGI
programs', the worker's, the web servers' error logs) is searched for every one of
those secrets, and for the database accounts' passwords and the credentials key. The
programs run at the stack's log_level (info) behind this test's
web server, and at debug behind a lighttpd of the test's own; the worker at debug."""
import base64
import json
import re
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from delivery import (_pem, add_device, fresh_fixture, header, set_credentials,
                      wait_states, worker)
from hd import timeout
from test_batching import own_lighttpd

XSI = "http://www.w3.org/2001/XMLSchema-instance"
KINDS = ("server", "integration", "client", "secret", "user_token", "bearer")
# Files under the run directory that herald does not write: the mock providers' own
# logs and the database server's.
NOT_HERALDS = ("mocks", "mariadb")


def legacy_xml(f, key, extra=""):
    return (f'<PushRequest xmlns:i="{XSI}"><UserExternalId>{f.user}</UserExternalId>'
            f"<Title>Hi</Title><Body>Hello</Body><CompanyId>{f.company_id}</CompanyId>"
            f"<IntegrationKey>{key}</IntegrationKey>{extra}</PushRequest>")


def send_everything(c, f, unknown):
    """Requests of every dialect with f's keys, with keys of the wrong kind and with
    unknown keys, well-formed and not; returns the message ids of the sends."""
    push = {"app_user_id": f.user, "title": "Hi", "body": "Hello"}
    sends = [
        c.request("POST", "/developer/push", push, {"X-Server-Key": f.server_key}),
        c.request("POST", "/api/v2/push?format=json", {
            "CompanyId": f.company_id, "IntegrationKey": f.integration_key,
            "UserExternalId": f.user, "Title": "Hi", "Body": "Hello"}),
        c.request("POST", "/api/v2/push", legacy_xml(f, f.integration_key),
                  {"Content-Type": "application/xml"}),
    ]
    for status, _, body in sends:
        assert status in (200, 201), (status, body)
    refused = [
        # Keys of the wrong kind, in the wrong header, unknown, in bodies that do not parse.
        ("POST", "/developer/push", push, {"X-Server-Key": f.client_key}),
        ("POST", "/developer/push", push, {"X-Server-Key": f.keys["bearer"]}),
        ("POST", "/developer/push", push, {"X-Server-Key": unknown["server"]}),
        ("POST", "/developer/push", push, {"Authorization": f"Bearer {f.server_key}"}),
        ("POST", "/developer/push", '{"app_user_id": "' + f.server_key,
         {"X-Server-Key": f.server_key}),
        ("POST", "/api/v2/push", legacy_xml(f, unknown["integration"]),
         {"Content-Type": "application/xml"}),
        ("POST", "/api/v2/push", legacy_xml(f, f.integration_key, "<Broken>"),
         {"Content-Type": "application/xml"}),
        ("POST", "/api/v2/push?format=json", {"IntegrationKey": f.integration_key,
                                              "CompanyId": "x" + f.integration_key}, {}),
        ("GET", "/v2/push/service", None, {"X-Secret-Key": f.keys["user_token"]}),
        ("GET", "/v2/push/service", None, {"X-Secret-Key": unknown["secret"]}),
        ("POST", "/devices", {"platform": "ios", "token": f.client_key},
         {"X-Client-Key": unknown["client"]}),
        ("GET", f"/developer/{f.server_key}", None, {"X-Server-Key": f.server_key}),
        # Keys where the body has a name or a value that is refused.
        ("POST", "/developer/push", dict(push, **{f.server_key: 1}),
         {"X-Server-Key": f.server_key}),
        ("POST", "/developer/push", dict(push, sound=f.server_key, badge=f.server_key),
         {"X-Server-Key": f.server_key}),
        ("POST", "/api/v2/push", legacy_xml(f, f.integration_key,
                                             f"<{f.integration_key}>1</{f.integration_key}>"),
         {"Content-Type": "application/xml"}),
    ]
    for method, path, body, headers in refused:
        status, _, answer = c.request(method, path, body, headers)
        assert 400 <= status < 500, (method, path, status, answer)
    status, _, answer = c.request("GET", "/v2/push/service", None,
                                  {"X-Secret-Key": f.keys["secret"]})
    assert status == 200, (status, answer)
    return len(sends)


def pem_lines(pem):
    """The base64 lines of a PEM key: any of them in a log is part of the key."""
    return [l for l in pem.splitlines() if l and not l.startswith("-----")]


def provider_tokens(records):
    """Every credential herald sent the mock providers: bearer tokens (APNs provider
    JWTs, FCM and WNS access tokens), VAPID JWTs, the FCM token request's signed
    assertion and the WNS client secret."""
    found = set()
    for r in records:
        auth = header(r, "authorization") or ""
        scheme, _, rest = auth.partition(" ")
        if scheme.lower() == "bearer":
            found.add(rest.strip())
        elif scheme.lower() == "vapid":
            found.update(m.group(1) for m in re.finditer(r"t=([^,\s]+)", rest))
        if r.get("endpoint") == "token" and r.get("body"):
            form = parse_qs(base64.b64decode(r["body"]).decode(errors="replace"))
            for name in ("assertion", "client_secret"):
                found.update(form.get(name, []))
    return {t for t in found if len(t) >= 16}


def logs(run_dir):
    return [p for p in sorted(run_dir.rglob("*")) if p.is_file()
            and (p.suffix in (".log", ".out"))
            and p.relative_to(run_dir).parts[0] not in NOT_HERALDS
            and p.name != "failures.log"]


@timeout(240)
def test_no_key_password_or_provider_token_reaches_any_log(ctx):
    f = fresh_fixture(ctx, kinds=KINDS)
    set_credentials(ctx, f)
    devices = [add_device(ctx, f, p) for p in ("ios", "android", "windows", "web")]
    unknown = {"server": "hd_srv_" + secrets.token_hex(24),
               "integration": "hd_int_" + secrets.token_hex(24),
               "secret": "hd_sec_" + secrets.token_hex(24),
               "client": "hd_cli_" + secrets.token_hex(24)}
    ctx.mocks.reset()

    sends = send_everything(ctx, f, unknown)
    with own_lighttpd(ctx, "secrets-debug", 1, log_level="debug") as (url, _):
        sends += send_everything(ctx.on(url), f, unknown)
    config = ctx.stack.run_dir / "secrets-worker.conf"
    config.write_text(ctx.stack.config_path.read_text().replace("log_level = info",
                                                                "log_level = debug"))
    messages = [int(m) for (m,) in ctx.db.query(
        f"SELECT id FROM messages WHERE app_id = {f.app_id} ORDER BY id")]
    assert len(messages) == sends, messages
    with worker(ctx, "secrets-worker", config=config):
        for m in messages:
            states = wait_states(ctx, m)
            assert {s[0] for s in states.values()} == {"delivered"}, states

    keys = dict(f.keys, **{f"unknown {k}": v for k, v in unknown.items()})
    mocks = ctx.mocks.keys
    credentials = {
        "APNs signing key": pem_lines(Path(mocks["apns"]["key_path"]).read_text()),
        "FCM service account key": pem_lines(json.loads(Path(
            mocks["fcm"]["service_account_path"]).read_text())["private_key"]),
        "VAPID key": pem_lines(_pem(mocks["vapid"]["private_key"])),
        "WNS client secret": [mocks["wns"]["client_secret"]],
        "Web Push subscription auth secret": [d["auth"] for d in devices if "auth" in d],
        # The database accounts' passwords (docs/accounts.md) and the credentials key.
        "database password": [Path(ctx.stack.accounts[k]).read_text().strip()
                              for k in ("db_password_file", "worker_db_password_file")],
        "credentials key": [line.split()[1] for line in
                            ctx.stack.credentials_key_path.read_text().splitlines()
                            if line and not line.startswith("#")],
    }
    tokens = provider_tokens(ctx.mocks.received())
    assert len(tokens) >= 4, tokens  # APNs JWT, FCM and WNS tokens, VAPID JWT, ...
    wanted = ([(f"{kind} key", [k]) for kind, k in keys.items()]
              + list(credentials.items()) + [("provider token", sorted(tokens))])

    files = logs(ctx.stack.run_dir)
    names = {p.name for p in files}
    assert "secrets-worker.log" in names and "lighttpd.out" in names, names
    assert ctx.server != "apache" or "apache-error.log" in names, names
    leaks = []
    for path in files:
        text = path.read_text(errors="replace")
        for what, values in wanted:
            if any(v and v in text for v in values):
                # The secret itself stays out of the report too.
                leaks.append(f"{what} in {path.relative_to(ctx.stack.run_dir)}")
    assert not leaks, leaks
