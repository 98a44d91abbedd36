"""Replacing an app's APNs key takes effect: an operator who calls hd_set_apns_token_auth
again with another .p8 under the same team and key id (fixing a wrong key file) gets
pushes delivered with a token the new key signed, at once, through the real worker and
the strict APNs mock (which verifies every token against the public key registered for
its key id, and refuses a second new token of a key within 20 minutes).

Each test uses a team and key id of its own, registers its keys with the mock beside the
shared test key, and puts the mock's configuration back at its end."""
import contextlib
import hashlib
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from delivery import (add_device, fresh_fixture, header, jwt_claims, push, wait_states,
                      worker)
from herald_stack import sql_str
from hd import once

KEY_ID = "KEYREPLACE"


def new_key():
    """A P-256 key: (its .p8 PEM text, its public key PEM text)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode("ascii")


def new_team():
    return secrets.token_hex(5).upper()


def register_with_apple(ctx, team, public_pem):
    """Make public_pem the key the mock (Apple) holds for (team, KEY_ID)."""
    section = dict(ctx.mocks.sections["apns"])
    section["keys"] = [k for k in section["keys"] if k["key_id"] != KEY_ID] + \
        [{"team_id": team, "key_id": KEY_ID, "public_key_pem": public_pem}]
    ctx.mocks.configure(apns=section)


def set_token_auth(ctx, f, team, private_pem):
    ctx.db.query(f"CALL hd_set_apns_token_auth({sql_str(f.app_uid)}, {sql_str(team)}, "
                 f"{sql_str(KEY_ID)}, {sql_str(private_pem)}, "
                 f"{sql_str(ctx.mocks.keys['apns']['topic'])}, 0)")


def app_with_device(ctx, team, private_pem):
    """A new fixture whose app signs with private_pem under (team, KEY_ID), and an iOS
    device of its user: (fixture, device)."""
    f = fresh_fixture(ctx)
    device = add_device(ctx, f, "ios")
    set_token_auth(ctx, f, team, private_pem)
    return f, device


@contextlib.contextmanager
def apple_holds(ctx, public_pem):
    """A new team whose key KEY_ID the mock (Apple) holds as public_pem for the block;
    yields the team. The mock's APNs configuration is put back at the end."""
    saved = ctx.mocks.sections["apns"]
    team = new_team()
    try:
        register_with_apple(ctx, team, public_pem)
        yield team
    finally:
        ctx.mocks.configure(apns=saved)


def requests_to(ctx, device):
    """What the mock received for device, oldest first: (verdict, status, bearer token)."""
    return [(r["verdict"], r["status"], header(r, "authorization").split(" ", 1)[1])
            for r in ctx.mocks.received("apns") if r["path"] == f"/3/device/{device['token']}"]


def wait_requests(ctx, device, done, timeout=20):
    """Wait until done(requests_to(device)) holds; return the requests."""
    deadline = time.monotonic() + timeout
    while True:
        found = requests_to(ctx, device)
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"APNs mock requests for the device: {found}")
        time.sleep(0.05)


def shared_tokens(ctx, team):
    return ctx.db.query("SELECT key_fingerprint, token FROM provider_tokens"
                        f" WHERE issuer = {sql_str(team)} ORDER BY key_fingerprint")


def fingerprint(ctx, f):
    [(found,)] = ctx.db.query("SELECT apns_key_fingerprint FROM app_credentials"
                              f" WHERE app_id = {f.app_id} AND provider = 'apns'")
    return found


def test_replacing_the_key_under_the_same_team_and_key_id_delivers_at_once_with_a_new_token(ctx):
    old_private, old_public = new_key()
    new_private, new_public = new_key()
    with apple_holds(ctx, old_public) as team:
        f, device = app_with_device(ctx, team, old_private)
        old_fingerprint = fingerprint(ctx, f)
        with worker(ctx):
            push(ctx, f, body="signed with the old key")
            [(state, attempts, _, _)] = wait_states(ctx, last_message(ctx, f)).values()
            assert (state, attempts) == ("delivered", "1")
            [(verdict, status, old_token)] = requests_to(ctx, device)
            assert (verdict, status) == ("ok", 200)
            assert shared_tokens(ctx, team) == [(old_fingerprint, old_token)]

            # The operator fixes the key file; Apple now knows only the new key.
            register_with_apple(ctx, team, new_public)
            set_token_auth(ctx, f, team, new_private)
            assert fingerprint(ctx, f) != old_fingerprint
            assert shared_tokens(ctx, team) == [], "the old key's token was not retired"

            push(ctx, f, body="signed with the new key")
            started = time.monotonic()
            [(state, attempts, status, reason)] = \
                wait_states(ctx, last_message(ctx, f), timeout=60).values()
            took = time.monotonic() - started
    assert (state, attempts, status) == ("delivered", "1", "200"), reason
    # Seconds normally; the old key's token would have failed until it was 50 minutes
    # old. The margin is for a loaded machine.
    assert took < 30, f"delivered after {took:.1f} s"
    requests = requests_to(ctx, device)
    assert len(requests) == 2, requests
    verdict, status, new_token = requests[1]
    assert (verdict, status) == ("ok", 200), requests
    assert new_token != old_token
    assert jwt_claims(new_token)["iss"] == team
    assert shared_tokens(ctx, team) == [(fingerprint(ctx, f), new_token)]


def test_after_invalid_provider_token_the_next_attempt_with_the_fixed_key_uses_a_new_token(ctx):
    wrong_private, _ = new_key()
    right_private, right_public = new_key()
    with apple_holds(ctx, right_public) as team:
        f, device = app_with_device(ctx, team, wrong_private)
        with worker(ctx):
            push(ctx, f, body="first signed with the wrong key")
            message = last_message(ctx, f)
            [(verdict, status, wrong_token)] = wait_requests(ctx, device, lambda r: len(r) >= 1)[:1]
            assert (verdict, status) == ("InvalidProviderToken", 403)

            set_token_auth(ctx, f, team, right_private)
            fixed = time.monotonic()
            [(state, _, status, reason)] = wait_states(ctx, message, timeout=60).values()
            took = time.monotonic() - fixed
    assert (state, status) == ("delivered", "200"), reason
    # The backoff of the first attempts is seconds; a refused token kept for its 20
    # minutes would never get here. The margin is for a loaded machine.
    assert took < 30, f"delivered {took:.1f} s after the fix"
    requests = requests_to(ctx, device)
    refused = [r for r in requests if r[2] == wrong_token]
    assert all(r[:2] == ("InvalidProviderToken", 403) for r in refused), requests
    # Every request after the wrong key's last one carries the new token: the first of
    # them is delivered, and it is the last request.
    assert requests[:len(refused)] == refused, requests
    assert requests[len(refused):] == [("ok", 200, requests[-1][2])], requests
    assert requests[-1][2] != wrong_token


def test_two_apps_with_different_keys_under_one_team_and_key_id_keep_their_own_tokens(ctx):
    wrong_private, _ = new_key()
    right_private, right_public = new_key()
    with apple_holds(ctx, right_public) as team:
        wrong, wrong_device = app_with_device(ctx, team, wrong_private)
        right, right_device = app_with_device(ctx, team, right_private)
        with worker(ctx):
            push(ctx, wrong, body="signed with the wrong key")
            wrong_message = last_message(ctx, wrong)
            [(verdict, _, wrong_token)] = wait_requests(ctx, wrong_device,
                                                        lambda r: len(r) >= 1)[:1]
            assert verdict == "InvalidProviderToken"

            # The app with the right key is not handed the other key's token.
            push(ctx, right, body="signed with the right key")
            [(state, attempts, status, reason)] = \
                wait_states(ctx, last_message(ctx, right)).values()
            assert (state, attempts, status) == ("delivered", "1", "200"), reason
            [(verdict, _, right_token)] = requests_to(ctx, right_device)
            assert verdict == "ok" and right_token != wrong_token
            assert {t for _, t in shared_tokens(ctx, team)} >= {right_token}

            # Fixing the wrong app's key: its delivery goes out with the right key's
            # token, and the wrong key's token is retired.
            set_token_auth(ctx, wrong, team, right_private)
            [(state, _, status, reason)] = wait_states(ctx, wrong_message, timeout=60).values()
            assert (state, status) == ("delivered", "200"), reason
            assert shared_tokens(ctx, team) == [(fingerprint(ctx, right), right_token)]
    verdicts = [v for v, _, _ in requests_to(ctx, wrong_device) + requests_to(ctx, right_device)]
    assert "TooManyProviderTokenUpdates" not in verdicts, verdicts
    assert requests_to(ctx, wrong_device)[-1] == ("ok", 200, right_token)


@once
def test_share_provider_token_hands_back_only_the_token_of_the_offered_key(ctx):
    team = new_team()
    key_a, key_b = (sql_str(secrets.token_hex(32)) for _ in range(2))
    offer = "CALL hd_share_provider_token({team}, 'KEY0000001', {key}, {token}, {iat}, 3000)"
    first = ctx.db.query(offer.format(team=sql_str(team), key=key_a, token="'jwt-a'",
                                      iat="'2026-05-01 12:00:00'"))
    second = ctx.db.query(offer.format(team=sql_str(team), key=key_b, token="'jwt-b'",
                                       iat="'2026-05-01 12:00:01'"))
    again = ctx.db.query(offer.format(team=sql_str(team), key=key_a, token="'jwt-a2'",
                                      iat="'2026-05-01 12:00:02'"))
    assert first == [("jwt-a", "2026-05-01 12:00:00.000000")], first
    assert second == [("jwt-b", "2026-05-01 12:00:01.000000")], second
    assert again == [("jwt-a", "2026-05-01 12:00:00.000000")], again
    ctx.db.query(f"DELETE FROM provider_tokens WHERE issuer = {sql_str(team)}")


def last_message(ctx, f):
    [(mid,)] = ctx.db.query(f"SELECT MAX(id) FROM messages WHERE app_id = {f.app_id}")
    return int(mid)


# Version 6 rows: five teams, each with key id KEY_ID and one shared token; the apps'
# keys (key A, key A again with CRLF line endings, key B) set at 10:00 or 10:10.
V6_KEYS = """
INSERT INTO tenants (id, name) VALUES (7, 'Tenant');
INSERT INTO apps (id, uid, tenant_id, name) VALUES
  (11, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a11', 7, 'one key, token issued after it'),
  (12, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a12', 7, 'one key, token issued before it'),
  (13, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a13', 7, 'two keys: key A'),
  (14, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a14', 7, 'two keys: key B'),
  (15, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a15', 7, 'one key in two apps'),
  (16, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a16', 7, 'one key in two apps, CRLF');
INSERT INTO app_credentials (app_id, provider, apns_auth, team_id, key_id, private_key_pem,
                             topic, updated_at) VALUES
  (11, 'apns', 'token', 'TEAMAFTER1', '{kid}', {a}, 'com.example.app', '2026-05-01 10:00:00'),
  (12, 'apns', 'token', 'TEAMBEFORE', '{kid}', {a}, 'com.example.app', '2026-05-01 10:00:00'),
  (13, 'apns', 'token', 'TEAMTWOKEY', '{kid}', {a}, 'com.example.app', '2026-05-01 10:00:00'),
  (14, 'apns', 'token', 'TEAMTWOKEY', '{kid}', {b}, 'com.example.app', '2026-05-01 10:00:00'),
  (15, 'apns', 'token', 'TEAMSHARED', '{kid}', {a}, 'com.example.app', '2026-05-01 10:00:00'),
  (16, 'apns', 'token', 'TEAMSHARED', '{kid}', {a_crlf}, 'com.example.app', '2026-05-01 10:10:00');
INSERT INTO provider_tokens (issuer, key_id, token, issued_at) VALUES
  ('TEAMAFTER1', '{kid}', 'jwt-after', '2026-05-01 10:30:00'),
  ('TEAMBEFORE', '{kid}', 'jwt-before', '2026-05-01 09:30:00'),
  ('TEAMTWOKEY', '{kid}', 'jwt-two-keys', '2026-05-01 10:30:00'),
  ('TEAMSHARED', '{kid}', 'jwt-shared', '2026-05-01 10:20:00'),
  ('TEAMNOAPPS', '{kid}', 'jwt-no-app', '2026-05-01 10:30:00');
"""


@once
def test_upgrade_keeps_only_shared_tokens_whose_signing_key_is_known(ctx):
    from test_schema_upgrade import scratch_database
    key_a, _ = new_key()
    key_b, _ = new_key()
    with scratch_database(ctx) as db:
        ctx.db.migrate(database=db, to=6)
        ctx.db.query(V6_KEYS.format(kid=KEY_ID, a=sql_str(key_a), b=sql_str(key_b),
                                    a_crlf=sql_str(key_a.replace("\n", "\r\n"))), db)
        ctx.db.migrate(database=db)
        [(fingerprint_a,)] = ctx.db.query(
            "SELECT DISTINCT apns_key_fingerprint FROM app_credentials WHERE app_id IN (11, 15, 16)", db)
        assert fingerprint_a == hashlib.sha256("".join(key_a.split()).encode()).hexdigest()
        kept = ctx.db.query("SELECT issuer, key_id, key_fingerprint, token FROM provider_tokens"
                            " ORDER BY issuer", db)
        assert kept == [("TEAMAFTER1", KEY_ID, fingerprint_a, "jwt-after"),
                        ("TEAMSHARED", KEY_ID, fingerprint_a, "jwt-shared")], kept
