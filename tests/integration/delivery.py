"""Helpers for the delivery tests: provider credentials for a fixture's app, devices of
every platform pointing at the mock providers, a worker for the length of a test, and
waiting for deliveries to reach a state.

The runner starts the mock providers (tests/mocks) once and points herald.conf at them
(run.py, provider_settings); ctx.mocks drives them. No worker runs between tests, so
tests that look at queued deliveries see them as the send left them."""
import base64
import contextlib
import json
import secrets
import time
from pathlib import Path

import ece
import herald_stack
from herald_stack import sql_str

FINAL_STATES = ("delivered", "gone", "rejected", "expired")


def _pem(key):
    from cryptography.hazmat.primitives import serialization
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


def set_credentials(ctx, f, *providers):
    """Give the fixture's app the mock providers' credentials for providers
    ("apns", "fcm", "webpush", "wns"; default all)."""
    keys = ctx.mocks.keys
    calls = {
        "apns": (f"CALL hd_set_apns_token_auth({sql_str(f.app_uid)}, "
                 f"{sql_str(keys['apns']['team_id'])}, {sql_str(keys['apns']['key_id'])}, "
                 f"{sql_str(Path(keys['apns']['key_path']).read_text())}, "
                 f"{sql_str(keys['apns']['topic'])}, 0)"),
        "fcm": (f"CALL hd_set_fcm_service_account({sql_str(f.app_uid)}, "
                f"{sql_str(Path(keys['fcm']['service_account_path']).read_text())})"),
        "webpush": (f"CALL hd_set_vapid_key({sql_str(f.app_uid)}, 'mailto:ops@example.com', "
                    f"{sql_str(_pem(keys['vapid']['private_key']))})"),
        "wns": (f"CALL hd_set_wns_credentials({sql_str(f.app_uid)}, "
                f"{sql_str(keys['wns']['client_id'])}, {sql_str(keys['wns']['client_secret'])})"),
    }
    ctx.db.query(";\n".join(calls[p] for p in (providers or calls)))


def add_device(ctx, f, platform, user=None):
    """Register a device of platform for the fixture's user (or user) through POST
    /devices, as an app would. Returns a dict: id (database), uid, token, and for web
    the subscription's private key and auth secret for decrypting."""
    device = {"platform": platform, "app_user_id": user or f.user}
    extra = {}
    if platform == "ios":
        device["token"] = secrets.token_hex(32)
    elif platform == "android":
        device["token"] = "fcm-" + secrets.token_urlsafe(60)
    elif platform == "windows":
        device["token"] = f"https://wns.mock.test/wns/channel/{secrets.token_hex(8)}"
    elif platform == "web":
        key, p256dh, auth = ece.make_subscription()
        endpoint = f"https://push.mock.test/wp/{secrets.token_hex(8)}"
        device["subscription"] = {"endpoint": endpoint, "expirationTime": None,
                                  "keys": {"p256dh": p256dh, "auth": auth}}
        extra = {"private_key": key, "auth": auth, "token": endpoint}
    status, _, body = ctx.request("POST", "/devices", device,
                                  headers={"X-Client-Key": f.client_key})
    assert status == 201, (status, body)
    uid = json.loads(body)["id"]
    [(device_id,)] = ctx.db.query(f"SELECT id FROM devices WHERE uid = {sql_str(uid)}")
    found = {"id": int(device_id), "uid": uid, "token": device.get("token"), **extra}
    # What the mocks match a scripted answer's "target" against.
    found["target"] = found["token"].rsplit("/", 1)[1] if platform in ("web", "windows") \
        else found["token"]
    return found


def push(ctx, f, **fields):
    """POST /developer/push to the fixture's user; returns the answer's JSON."""
    body = {"app_user_id": f.user, "title": "Hello", "body": "World", **fields}
    status, _, data = ctx.request("POST", "/developer/push", body,
                                  headers={"X-Server-Key": f.server_key})
    assert status in (200, 201), (status, data)
    return json.loads(data)


def deliveries(ctx, message_id):
    """{device_id: (state, attempts, provider_status, reason)} of a message."""
    rows = ctx.db.query("SELECT device_id, state, attempts, provider_status, reason"
                        f" FROM deliveries WHERE message_id = {int(message_id)}")
    return {int(r[0]): tuple(r[1:]) for r in rows}


def message_id(ctx, answer):
    """The database id of the message a push answer names."""
    [(mid,)] = ctx.db.query("SELECT message_id FROM dedupe WHERE dedupe_key = "
                            f"{sql_str(answer['dedupe_key'])}") if answer.get("dedupe_key") else \
        ctx.db.query("SELECT MAX(id) FROM messages")
    return int(mid)


def wait_states(ctx, message, states=FINAL_STATES, timeout=30):
    """Wait until every delivery of message is in one of states; return deliveries()."""
    deadline = time.monotonic() + timeout
    while True:
        found = deliveries(ctx, message)
        if found and all(s[0] in states for s in found.values()):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries of message {message} not in {states}: {found}")
        time.sleep(0.1)


@contextlib.contextmanager
def worker(ctx, name="worker", config=None):
    """A herald-worker (reading config, if given, instead of the stack's herald.conf)
    for the block; stopped (SIGTERM, drained) at its end."""
    ctx.stack.start_worker(name, config=config)
    try:
        yield
    finally:
        ctx.stack.stop_worker(name)


def decrypt(record, device):
    """The plaintext of a Web Push request the mock recorded, decrypted with the
    subscription's private key by tests/mocks/ece.py (not herald's code)."""
    body = base64.b64decode(record["body"])
    return ece.decrypt(body, device["private_key"], device["auth"])


def header(record, name):
    """The value of header name in a request the mock recorded, or None."""
    found = [v for k, v in record["headers"] if k.lower() == name.lower()]
    return found[-1] if found else None


def jwt_claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def fresh_fixture(ctx, **options):
    """A fixture whose user has no device yet (devices are added per platform)."""
    return herald_stack.create_fixture(ctx.db, tenant=f"tenant of {ctx.test_id}",
                                       devices=0, **options)
