"""Provider secrets sealed at rest (docs/credentials.md, migration 0016): the worker
seals what operators store within a pass, a dump of app_credentials then holds no
private key or client secret, deliveries open them, and rotating the key re-seals every
row and keeps deliveries flowing. The stack's herald.conf names a credentials_key_file
with one key, "local-1" (tools/herald_stack.py)."""
import json
import os
import secrets
import subprocess
from pathlib import Path

import herald_stack
from delivery import (FINAL_STATES, _pem, add_device, deliveries, fresh_fixture,
                      set_credentials, wait_states, worker)
from hd import once, timeout
from test_batching import own_lighttpd
from test_delivery_faults import message_of, wait_until
from test_log_secrets import pem_lines
import test_webpush_send as wps

PROVIDERS = {"apns": "ios", "fcm": "android", "webpush": "web", "wns": "windows"}


def sealed_with(ctx, f):
    """{provider: (sealed_key_id, whether plain text is left)} of the fixture's app."""
    rows = ctx.db.query("SELECT provider, sealed_key_id, private_key_pem IS NOT NULL"
                        " OR client_secret IS NOT NULL FROM app_credentials"
                        f" WHERE app_id = {f.app_id}")
    return {p: (key, plain == "1") for p, key, plain in rows}


def wait_sealed(ctx, f, key_id, timeout_s=30):
    def sealed():
        found = sealed_with(ctx, f)
        return found if found and all(v == (key_id, False) for v in found.values()) else None
    return wait_until(sealed, timeout_s, f"the credentials of app {f.app_id} sealed with {key_id}")


def secret_texts(ctx):
    """Every piece of the mock providers' secrets that must not appear in a dump."""
    keys = ctx.mocks.keys
    return (pem_lines(Path(keys["apns"]["key_path"]).read_text())
            + pem_lines(json.loads(Path(keys["fcm"]["service_account_path"]).read_text())
                        ["private_key"])
            + pem_lines(_pem(keys["vapid"]["private_key"]))
            + [keys["wns"]["client_secret"], "PRIVATE KEY"])


def push_to_every_platform(ctx, f, devices):
    status, _, body = ctx.request("POST", "/developer/push",
                                  {"app_user_id": f.user, "title": "sealed", "body": "hi"},
                                  headers={"X-Server-Key": f.server_key})
    assert status in (200, 201), (status, body)
    found = wait_states(ctx, message_of(ctx, f), timeout=30)
    assert {found[d["id"]][0] for d in devices} == {"delivered"}, found


def key_file(ctx, name, *lines):
    path = ctx.stack.run_dir / name
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("".join(line + "\n" for line in lines))
    return path


def config_with_key(ctx, name, key_path):
    text = ctx.stack.config_path.read_text().splitlines()
    lines = [l for l in text if l.partition("=")[0].strip() != "credentials_key_file"]
    path = ctx.stack.run_dir / name
    path.write_text("\n".join(lines + [f"credentials_key_file = {key_path}"]) + "\n")
    return path


@once
@timeout(120)
def test_the_worker_seals_stored_secrets_and_a_dump_holds_none_of_them(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f)
    assert all(plain for _, plain in sealed_with(ctx, f).values())
    devices = [add_device(ctx, f, platform) for platform in PROVIDERS.values()]
    ctx.mocks.reset()
    with worker(ctx):
        wait_sealed(ctx, f, "local-1")
        dump = subprocess.run(
            ["mariadb-dump", "--no-defaults", "--protocol=socket", f"--socket={ctx.db.socket}",
             f"--user={herald_stack.DB_USER}", "--skip-extended-insert",
             herald_stack.DB_NAME, "app_credentials"],
            capture_output=True, timeout=60)
        assert dump.returncode == 0, dump.stderr
        text = dump.stdout.decode("latin-1")
        assert f"({f.app_id},'apns'" in text  # the dump has the app's rows
        leaked = [s for s in secret_texts(ctx) if s in text]
        assert not leaked, leaked
        push_to_every_platform(ctx, f, devices)
    shown = {p: (k, has) for p, k, has in ctx.db.query(
        "SELECT provider, sealed_with, has_private_key FROM hd_credentials"
        f" WHERE app_id = {f.app_id}")}
    assert shown == {"apns": ("local-1", "1"), "fcm": ("local-1", "1"),
                     "webpush": ("local-1", "1"), "wns": ("local-1", "0")}, shown
    [(public_key,)] = ctx.db.query(
        f"SELECT public_key FROM hd_webpush_vapid WHERE app_id = {f.app_id}")
    assert public_key == ctx.mocks.keys["vapid"]["public_key"]


@once
@timeout(180)
def test_rotating_the_key_reseals_every_row_and_deliveries_keep_flowing(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f)
    devices = [add_device(ctx, f, platform) for platform in PROVIDERS.values()]
    old = ctx.stack.credentials_key_path.read_text().split("\n")
    old_line = next(l for l in old if l.startswith("local-1 "))
    new_line = f"rotated-2 {secrets.token_hex(32)}"
    both_new_first = config_with_key(ctx, "rotate-1.conf",
                                     key_file(ctx, "rotate-1.key", new_line, old_line))
    new_only = config_with_key(ctx, "rotate-2.conf", key_file(ctx, "rotate-2.key", new_line))
    back = config_with_key(ctx, "rotate-3.conf",
                           key_file(ctx, "rotate-3.key", old_line, new_line))
    ctx.mocks.reset()
    try:
        with worker(ctx):
            wait_sealed(ctx, f, "local-1")
        # Step 1: the new key first, the old one kept to open what it sealed.
        with worker(ctx, "rotating-worker", config=both_new_first):
            wait_sealed(ctx, f, "rotated-2")
            push_to_every_platform(ctx, f, devices)
        # Step 2: the old key removed; nothing needs it any more.
        [(left,)] = ctx.db.query(
            "SELECT COUNT(*) FROM app_credentials WHERE sealed_key_id = 'local-1'")
        assert left == "0", left
        with worker(ctx, "rotated-worker", config=new_only):
            push_to_every_platform(ctx, f, devices)
    finally:
        # The stack's own key seals everything again, for the tests after this one.
        with worker(ctx, "restoring-worker", config=back):
            wait_until(lambda: not ctx.db.query("SELECT 1 FROM app_credentials"
                                                " WHERE sealed_key_id = 'rotated-2' LIMIT 1"),
                       60, "no row sealed with rotated-2")


@once
def test_new_credentials_set_while_a_pass_runs_are_not_overwritten_by_it(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "wns")
    [(secret,)] = ctx.db.query("SELECT client_secret FROM app_credentials"
                               f" WHERE app_id = {f.app_id}")
    # The pass read the old secret; an operator sets a new one before it writes back.
    ctx.db.query(f"CALL hd_set_wns_credentials('{f.app_uid}', "
                 f"'{ctx.mocks.keys['wns']['client_id']}', 'the-new-secret')")
    [(stored,)] = ctx.db.query(
        f"CALL hd_seal_credentials({f.app_id}, 'wns', NULL, SHA2('{secret}', 256), NULL,"
        " 'local-1', x'01020304')")
    assert stored == "0"
    [(plain, sealed)] = ctx.db.query("SELECT client_secret, sealed IS NOT NULL"
                                     f" FROM app_credentials WHERE app_id = {f.app_id}")
    assert (plain, sealed) == ("the-new-secret", "0")


@once
@timeout(120)
def test_a_web_host_without_the_key_leaves_synchronous_sends_to_the_workers(ctx):
    f = wps.fixture(ctx)
    two = wps.clients(ctx, f, 2)
    with worker(ctx):
        wait_sealed(ctx, f, "local-1")
        # Its programs could not open the sealed VAPID key: had they delivered, both
        # deliveries would have failed to load credentials.
        with own_lighttpd(ctx, "keyless", 1, credentials_key_file=None,
                          sync_delivery="worker") as (url, log):
            status, _, doc = wps.post(ctx.on(url), f.keys["secret"], wps.note(target_all=True))
            assert "sealed with key" not in log.read_text()
    assert status == 200, doc
    assert doc["status"] == "completed" and doc["successful_sends"] == 2, doc
    assert doc["failed_sends"] == 0 and doc["invalid_registrations"] == [], doc
    assert len(wps.payloads(ctx, two)) == 2


@once
@timeout(120)
def test_a_worker_without_the_key_retries_that_platform_and_delivers_the_others(ctx):
    f = fresh_fixture(ctx)
    set_credentials(ctx, f, "apns")
    ios = add_device(ctx, f, "ios")
    windows = add_device(ctx, f, "windows")
    with worker(ctx):
        wait_sealed(ctx, f, "local-1")
    # Set after the APNs row was sealed: the other worker seals this one with its key.
    set_credentials(ctx, f, "wns")
    local_line = next(l for l in ctx.stack.credentials_key_path.read_text().splitlines()
                      if l.startswith("local-1 "))
    other_line = f"other-1 {secrets.token_hex(32)}"
    other = config_with_key(ctx, "other-key.conf", key_file(ctx, "other-key.key", other_line))
    back = config_with_key(ctx, "other-back.conf",
                           key_file(ctx, "other-back.key", local_line, other_line))
    ctx.mocks.reset()
    status, _, body = ctx.request("POST", "/developer/push",
                                  {"app_user_id": f.user, "title": "half", "body": "sealed"},
                                  headers={"X-Server-Key": f.server_key})
    assert status in (200, 201), (status, body)
    message = message_of(ctx, f)

    def ios_attempts():
        return ctx.db.query("SELECT outcome, reason FROM delivery_attempts"
                            f" WHERE delivery_id = (SELECT id FROM deliveries"
                            f" WHERE message_id = {message} AND device_id = {ios['id']})"
                            " ORDER BY attempt")

    def settled():
        # The Windows delivery finished, and the iOS one was tried at least once.
        found = deliveries(ctx, message)
        return found[windows["id"]][0] in FINAL_STATES and ios_attempts()
    try:
        with worker(ctx, "other-key-worker", config=other):
            wait_until(settled, 30, "the Windows delivery final and an iOS attempt recorded")
        found = deliveries(ctx, message)
        assert found[windows["id"]][0] == "delivered", found
        # Retried, with the reason: never sent, never given up on.
        assert found[ios["id"]][0] in ("queued", "sending"), found
        tried = ios_attempts()
        assert all(outcome == "retry" for outcome, _ in tried), tried
        assert all("sealed with a key this process does not hold" in reason
                   for _, reason in tried), tried
        assert not [r for r in ctx.mocks.received("apns") if r["target"] == ios["target"]]
        assert sealed_with(ctx, f) == {"apns": ("local-1", False), "wns": ("other-1", False)}
    finally:
        # The stack's own key seals the WNS row again, for the workers of later tests,
        # and the retried delivery goes: nothing is left queued for them.
        with worker(ctx, "other-back-worker", config=back):
            wait_sealed(ctx, f, "local-1")
            wait_states(ctx, message, ("delivered",), timeout=60)
