"""Keys never cross tenants or apps (DESIGN.md §5), for every endpoint with a key:
POST /developer/push (server key), POST /api/v2/push (integration key + CompanyId),
POST /devices and DELETE /devices/{id} (client key). A key of one app reaches only
that app's users and devices; a key of one kind works only where that kind belongs;
a revoked key fails on its very next request. Every refusal stores nothing and no
answer reveals another tenant's or app's data."""
import json
import secrets

import herald_stack

ALL_KINDS = ("server", "integration", "client", "secret", "user_token", "bearer")


# --- fixtures --------------------------------------------------------------------

def two_tenants(ctx, **b_options):
    a = ctx.fixture(tenant=f"Tenant A of {ctx.test_id}", app="App A")
    b = ctx.fixture(tenant=f"Tenant B {secrets.token_hex(4)}", app=f"App B {secrets.token_hex(4)}", **b_options)
    return a, b


def sibling_app(ctx, f, user="user_123", email=None):
    """Another app of f's tenant with one user (one iOS device) and server, integration
    and client keys, as a herald_stack.Fixture."""
    email = email or f"{user}@sibling.example"
    token, uid = secrets.token_hex(32), secrets.token_hex(16)
    name = f"Sibling app {secrets.token_hex(4)}"
    kinds = ("server", "integration", "client")
    script = (f"SET @t = {f.tenant_id};\n"
              f"CALL hd_create_app(@t, '{name}', @a, @auid);\n"
              f"SET @u = {herald_stack.sql_str(user)};\n"
              f"CALL hd_create_app_user(@a, @u, {herald_stack.sql_str(email)}, @uuid);\n"
              "SET @uid = (SELECT id FROM app_users WHERE uid = @uuid);\n"
              "INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, push_permission, status)"
              f" VALUES ('{uid}', @a, @uid, 'ios', '{token}', UNHEX(SHA2('{token}', 256)), 1, 'active');\n")
    script += "".join(herald_stack._issue_key_sql(k, f"{name} {k}") for k in kinds)
    script += "SELECT @a, @auid, @uuid, @uid" + "".join(f", @kid_{k}, @k_{k}" for k in kinds) + ";\n"
    script += f"SELECT id FROM devices WHERE uid = '{uid}';\n"
    rows = ctx.db.query(script)
    a, auid, uuid, uid_int, *keys = rows[0]
    return herald_stack.Fixture(
        tenant_id=f.tenant_id, app_id=int(a), app_uid=auid, user=user, user_email=email, user_uid=uuid,
        user_id=int(uid_int), device_ids=[int(rows[1][0])], device_uids=[uid], device_tokens=[token],
        keys=dict(zip(kinds, keys[1::2])), key_ids={k: int(i) for k, i in zip(kinds, keys[0::2])})


def tenant_name(ctx, f):
    return ctx.db.query(f"SELECT name FROM tenants WHERE id = {f.tenant_id}")[0][0]


# --- requests --------------------------------------------------------------------

def developer_push(ctx, key, user, headers=None):
    h = {"X-Server-Key": key} if key is not None else {}
    h.update(headers or {})
    return ctx.request("POST", "/developer/push", {"app_user_id": user, "title": "Hi", "body": "Hello"}, h)


def legacy_push(ctx, company_id, key, fmt="json", **target):
    body = {"Title": "Hi", "Body": "Hello", "CompanyId": company_id, "IntegrationKey": key}
    body.update(target or {"UserExternalId": "user_123"})
    return ctx.request("POST", f"/api/v2/push?format={fmt}", body)


def register(ctx, key, user="user_123", token=None, headers=None):
    h = {"X-Client-Key": key}
    h.update(headers or {})
    return ctx.request("POST", "/devices", {"platform": "ios", "token": token or secrets.token_hex(32),
                                            "app_user_id": user}, h)


def delete(ctx, key, device_uid, headers=None):
    h = {"X-Client-Key": key}
    h.update(headers or {})
    return ctx.request("DELETE", f"/devices/{device_uid}", None, h)


# --- checks ----------------------------------------------------------------------

def stored(ctx):
    """A fingerprint of every message, delivery, user and device (inserts, updates and
    deletes all change it)."""
    return ctx.db.query(
        "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM deliveries),"
        " (SELECT CONCAT(COUNT(*), '/', COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, app_id, app_user_id, token,"
        " status, push_permission))), 0)) FROM devices),"
        " (SELECT CONCAT(COUNT(*), '/', COALESCE(BIT_XOR(CRC32(CONCAT_WS('|', id, app_id, external_id,"
        " IFNULL(email, '-')))), 0)) FROM app_users)")[0]


def secrets_of(ctx, f):
    """Strings of f's tenant that no other tenant's or app's answer may contain."""
    values = [f.app_uid, f.user_uid, f.user_email, tenant_name(ctx, f), *f.device_uids, *f.device_tokens,
              *[k for k in f.keys.values() if k]]
    rows = ctx.db.query(f"SELECT name FROM apps WHERE id = {f.app_id}")
    return [v for v in values + [rows[0][0]] if v]


def assert_reveals_nothing(answer_body, hidden):
    text = answer_body.decode("utf-8", "replace")
    for value in hidden:
        assert value not in text, f"an answer reveals {value!r}: {text[:300]}"


def refused(ctx, send, status, hidden=(), code=None):
    """Calls send() -> (status, headers, body); checks the status (and the error code in
    the developer/devices shape or the legacy shape), that nothing was stored, and that
    the answer contains none of `hidden`."""
    before = stored(ctx)
    got, headers, body = send()
    assert got == status, (status, got, body[:300])
    if code is not None:
        doc = json.loads(body)
        found = doc["error"]["code"] if "error" in doc else doc.get("ErrorCode")
        assert found == code, (code, doc)
    assert stored(ctx) == before, "a refused request stored something"
    assert_reveals_nothing(body, hidden)
    return json.loads(body) if "json" in headers.get("content-type", "") else body


def device_state(ctx, uid):
    return ctx.db.query(f"SELECT app_id, app_user_id, token, status, push_permission FROM devices WHERE uid = '{uid}'")


def deliveries_of_last_message(ctx, app_id):
    return ctx.db.query("SELECT d.app_id, d.device_id FROM deliveries d WHERE d.message_id ="
                        f" (SELECT MAX(id) FROM messages WHERE app_id = {int(app_id)}) ORDER BY d.device_id")


# --- developer: server keys ------------------------------------------------------

def test_isolation_server_key_of_app_a_cannot_send_to_users_of_app_b(ctx):
    a, b = two_tenants(ctx, user="only_in_b", email="only_in_b@b.example")
    hidden = secrets_of(ctx, b)
    for user in ("only_in_b", b.user_uid, b.user_email):
        # (An answer may repeat what the request said; nothing else of B.)
        refused(ctx, lambda: developer_push(ctx, a.server_key, user), 404,
                [h for h in hidden if h != user], "no_devices")
    # The same app user id in both apps: A's key reaches A's user only.
    sibling = sibling_app(ctx, a, user="user_123")
    status, _, body = developer_push(ctx, a.server_key, "user_123")
    assert status == 201, body
    doc = json.loads(body)
    assert doc == {"push_count": 1, "app_user_id": "user_123", "app_id": a.app_uid}, doc
    assert deliveries_of_last_message(ctx, a.app_id) == [(str(a.app_id), str(a.device_ids[0]))]
    assert_reveals_nothing(body, hidden + secrets_of(ctx, sibling)[:2])
    assert ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id IN ({b.app_id}, {sibling.app_id})")[0][0] == "0"


def test_isolation_server_key_of_one_app_cannot_send_to_another_app_of_the_same_tenant(ctx):
    a = ctx.fixture()
    sibling = sibling_app(ctx, a, user="only_in_sibling")
    hidden = [sibling.app_uid, sibling.user_uid, *sibling.device_uids]
    refused(ctx, lambda: developer_push(ctx, a.server_key, "only_in_sibling"), 404, hidden, "no_devices")
    refused(ctx, lambda: developer_push(ctx, sibling.server_key, "user_123"), 404, [a.app_uid, a.user_uid],
            "no_devices")


# --- legacy: integration keys ----------------------------------------------------

def test_isolation_integration_key_of_company_a_with_company_id_of_b_is_401(ctx):
    a, b = two_tenants(ctx)
    hidden = secrets_of(ctx, b)
    for fmt in ("json", "xml"):
        refused(ctx, lambda: legacy_push(ctx, b.company_id, a.integration_key, fmt), 401, hidden)
        refused(ctx, lambda: legacy_push(ctx, a.company_id, b.integration_key, fmt), 401, secrets_of(ctx, a))
    doc = refused(ctx, lambda: legacy_push(ctx, b.company_id, a.integration_key), 401, hidden, "Unauthorized")
    # The same refusal as for a company that does not exist: nothing to probe with.
    other = refused(ctx, lambda: legacy_push(ctx, b.company_id + 10 ** 9, a.integration_key), 401, hidden)
    assert doc == other, (doc, other)


def test_isolation_integration_key_of_company_a_cannot_send_to_users_of_company_b(ctx):
    a, b = two_tenants(ctx, user="only_in_b", email="only_in_b@b.example")
    hidden = secrets_of(ctx, b)
    for target in ({"UserId": b.user_uid}, {"UserEmail": b.user_email}, {"UserExternalId": "only_in_b"}):
        shown = [h for h in hidden if h not in target.values()]
        refused(ctx, lambda: legacy_push(ctx, a.company_id, a.integration_key, **target), 404, shown, "UserNotFound")
        refused(ctx, lambda: legacy_push(ctx, a.company_id, a.integration_key, "xml", **target), 404, shown)


def test_isolation_integration_key_sends_only_to_its_own_app_within_the_company(ctx):
    a = ctx.fixture()
    sibling = sibling_app(ctx, a, user="only_in_sibling", email="sib@sibling.example")
    hidden = [sibling.app_uid, sibling.user_uid, *sibling.device_uids]
    for target in ({"UserId": sibling.user_uid}, {"UserEmail": "sib@sibling.example"},
                   {"UserExternalId": "only_in_sibling"}):
        shown = [h for h in hidden if h not in target.values()]
        refused(ctx, lambda: legacy_push(ctx, a.company_id, a.integration_key, **target), 404, shown, "UserNotFound")
    # Each app's key reaches its own user_123 and nobody else's.
    for f in (a, sibling):
        status, _, body = legacy_push(ctx, f.company_id, f.integration_key, UserExternalId=f.user)
        assert status == 200 and json.loads(body) == {"Success": True, "PushCount": 1}, body
        assert deliveries_of_last_message(ctx, f.app_id) == [(str(f.app_id), str(f.device_ids[0]))]


# --- devices: client keys --------------------------------------------------------

def test_isolation_client_key_of_app_a_cannot_delete_a_device_of_app_b(ctx):
    a, b = two_tenants(ctx)
    sibling = sibling_app(ctx, a)
    for other in (b, sibling):
        uid = other.device_uids[0]
        before = device_state(ctx, uid)
        refused(ctx, lambda: delete(ctx, a.client_key, uid), 404, secrets_of(ctx, other), "not_found")
        assert device_state(ctx, uid) == before and before
    # Its own key still can.
    assert delete(ctx, b.client_key, b.device_uids[0])[0] == 204


def test_isolation_registering_with_client_key_of_app_a_creates_the_device_in_a_only(ctx):
    a, b = two_tenants(ctx)
    b_before = (device_state(ctx, b.device_uids[0]),
                ctx.db.query(f"SELECT id, external_id, email FROM app_users WHERE app_id = {b.app_id}"))
    # B's own token and B's user name, registered with A's client key.
    status, _, body = register(ctx, a.client_key, user="user_123", token=b.device_tokens[0])
    assert status == 201, body
    doc = json.loads(body)
    assert doc["id"] != b.device_uids[0]
    assert_reveals_nothing(body, secrets_of(ctx, b)[:4])
    row = ctx.db.query(f"SELECT d.app_id, u.app_id, u.id FROM devices d JOIN app_users u ON u.id = d.app_user_id"
                       f" WHERE d.uid = '{doc['id']}'")
    assert row == [(str(a.app_id), str(a.app_id), str(a.user_id))], row
    # A new user name creates the user in A only.
    fresh = f"fresh_user_{secrets.token_hex(4)}"
    status, _, body = register(ctx, a.client_key, user=fresh)
    assert status == 201, body
    assert ctx.db.query(f"SELECT app_id FROM app_users WHERE external_id = '{fresh}'") == [(str(a.app_id),)]
    # B is untouched.
    assert (device_state(ctx, b.device_uids[0]),
            ctx.db.query(f"SELECT id, external_id, email FROM app_users WHERE app_id = {b.app_id}")) == b_before
    assert ctx.db.query(f"SELECT COUNT(*) FROM devices WHERE app_id = {b.app_id}")[0][0] == "1"


def test_isolation_allowed_origin_of_app_b_does_not_let_browsers_register_with_app_a(ctx):
    a, b = two_tenants(ctx)
    origin = f"https://b-{secrets.token_hex(4)}.example"
    ctx.db.query(f"CALL hd_add_allowed_origin({b.app_id}, '{origin}')")
    refused(ctx, lambda: register(ctx, a.client_key, headers={"Origin": origin}), 403, secrets_of(ctx, b),
            "origin_not_allowed")
    refused(ctx, lambda: delete(ctx, a.client_key, a.device_uids[0], {"Origin": origin}), 403, (),
            "origin_not_allowed")
    status, headers, _ = register(ctx, b.client_key, headers={"Origin": origin})
    assert status == 201 and headers.get("access-control-allow-origin") == origin


# --- kinds -----------------------------------------------------------------------

def test_isolation_client_key_cannot_send(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: developer_push(ctx, f.client_key, "user_123"), 401, code="invalid_key")
    refused(ctx, lambda: legacy_push(ctx, f.company_id, f.client_key), 401, code="Unauthorized")
    refused(ctx, lambda: legacy_push(ctx, f.company_id, f.client_key, "xml"), 401)


def test_isolation_server_and_integration_keys_cannot_register_or_delete_devices(ctx):
    f = ctx.fixture()
    for kind in ("server", "integration"):
        refused(ctx, lambda: register(ctx, f.keys[kind]), 401, code="invalid_key")
        refused(ctx, lambda: delete(ctx, f.keys[kind], f.device_uids[0]), 401, code="invalid_key")
    assert device_state(ctx, f.device_uids[0])


def test_isolation_server_key_is_not_an_integration_key_and_the_other_way_round(ctx):
    f = ctx.fixture()
    refused(ctx, lambda: legacy_push(ctx, f.company_id, f.server_key), 401, code="Unauthorized")
    refused(ctx, lambda: developer_push(ctx, f.integration_key, "user_123"), 401, code="invalid_key")


def test_isolation_user_token_secret_and_bearer_keys_are_refused_by_every_endpoint(ctx):
    f = ctx.fixture(kinds=ALL_KINDS)
    uid = f.device_uids[0]
    for kind in ("user_token", "secret", "bearer"):
        key = f.keys[kind]
        assert key, kind
        refused(ctx, lambda: developer_push(ctx, key, "user_123"), 401, code="invalid_key")
        refused(ctx, lambda: legacy_push(ctx, f.company_id, key), 401, code="Unauthorized")
        refused(ctx, lambda: legacy_push(ctx, f.company_id, key, "xml"), 401)
        refused(ctx, lambda: register(ctx, key), 401, code="invalid_key")
        refused(ctx, lambda: delete(ctx, key, uid), 401, code="invalid_key")
        # In the header its own dialect uses, it opens none of these endpoints either.
        auth = {"Authorization": f"Bearer {key}"}
        refused(ctx, lambda: developer_push(ctx, None, "user_123", auth), 401, code="missing_key")
        refused(ctx, lambda: ctx.request("POST", "/devices", {"platform": "ios", "token": secrets.token_hex(32),
                                                              "app_user_id": "u"}, auth), 401, code="missing_key")
        refused(ctx, lambda: ctx.request("DELETE", f"/devices/{uid}", None, {"X-Secret-Key": key}), 401,
                code="missing_key")
    assert device_state(ctx, uid)


# --- revocation ------------------------------------------------------------------

def revoke(ctx, f, kind):
    ctx.db.query(f"CALL hd_revoke_key({f.key_ids[kind]})")


def test_isolation_revoked_server_key_fails_on_its_very_next_request(ctx):
    f = ctx.fixture()
    assert developer_push(ctx, f.server_key, "user_123")[0] == 201
    revoke(ctx, f, "server")
    refused(ctx, lambda: developer_push(ctx, f.server_key, "user_123"), 401, code="invalid_key")


def test_isolation_revoked_integration_key_fails_on_its_very_next_request(ctx):
    f = ctx.fixture()
    assert legacy_push(ctx, f.company_id, f.integration_key)[0] == 200
    revoke(ctx, f, "integration")
    refused(ctx, lambda: legacy_push(ctx, f.company_id, f.integration_key), 401, code="Unauthorized")


def test_isolation_revoked_client_key_fails_on_its_very_next_request(ctx):
    f = ctx.fixture()
    assert register(ctx, f.client_key)[0] == 201
    revoke(ctx, f, "client")
    refused(ctx, lambda: register(ctx, f.client_key), 401, code="invalid_key")
    refused(ctx, lambda: delete(ctx, f.client_key, f.device_uids[0]), 401, code="invalid_key")
    assert device_state(ctx, f.device_uids[0])


def test_isolation_revoking_one_key_leaves_the_other_keys_of_the_app_working(ctx):
    f = ctx.fixture()
    sibling = sibling_app(ctx, f)
    revoke(ctx, f, "server")
    assert developer_push(ctx, sibling.server_key, "user_123")[0] == 201
    assert legacy_push(ctx, f.company_id, f.integration_key)[0] == 200
    assert register(ctx, f.client_key)[0] == 201
