"""The multi-target send (schema/migrations/0010_send_targets.sql, lib/send/hd_send_targets.h)
that the audience, webpush and inbox dialects store through: each way of naming devices
finds its devices and no others, each device once; quotas refuse the send whole; dedupe
answers a repeat with the first message; the inbox mode stores without devices.

The procedure is called the way hd_send_targets() calls it, through the database; the
dialects' own tests cover the C side end to end."""
import json
import secrets

from hd import once
from herald_stack import sql_str

KINDS = {"all": 0, "device_uid": 1, "token": 2, "idfa": 3, "idfv": 4, "advertising_id": 5,
         "android_id": 6, "serial_id": 7, "external_id": 8, "user_uid": 9, "user_number": 10,
         "email": 11}
PF = {"ios": 1, "android": 2, "web": 4, "windows": 8}


def add_user(ctx, f, external_id, email=None):
    uid = ctx.db.query(f"CALL hd_create_app_user({f.app_id}, {sql_str(external_id)},"
                       f" {sql_str(email) if email else 'NULL'}, @u); SELECT @u")[0][0]
    row = ctx.db.query(f"SELECT id FROM app_users WHERE uid = {sql_str(uid)}")[0]
    return int(row[0]), uid


def add_device(ctx, f, user_id, platform="ios", status="active", permission=1, **idents):
    uid, token = secrets.token_hex(16), secrets.token_hex(32)
    cols = "".join(f", {k}" for k in idents)
    vals = "".join(f", {sql_str(v)}" for v in idents.values())
    ctx.db.query("INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash,"
                 f" push_permission, status{cols}) VALUES ({sql_str(uid)}, {f.app_id},"
                 f" {user_id}, {sql_str(platform)}, {sql_str(token)},"
                 f" UNHEX(SHA2({sql_str(token)}, 256)), {permission}, {sql_str(status)}{vals})")
    row = ctx.db.query(f"SELECT id FROM devices WHERE uid = {sql_str(uid)}")[0]
    return {"id": int(row[0]), "uid": uid, "token": token}


def send(ctx, f, items, dedupe=None, window=600, hourly=None, daily=None, inbox=0,
         no_push=0, title="Hello"):
    """items: (group, kind name, platform names, value). Returns the procedure's row as
    (message_id or None, push_count, replayed, users, retry or None, {group: devices})."""
    targets = [{"g": g, "k": KINDS[k], "p": sum(PF[p] for p in pfs), "v": v}
               for g, k, pfs, v in items]
    opt = lambda v: "NULL" if v is None else str(v)  # noqa: E731
    row = ctx.db.query(
        f"CALL hd_send_targets({f.app_id}, 'audience', {sql_str(json.dumps(targets))},"
        f" {sql_str(title)}, 'Body', NULL, NULL, NULL, 5, NULL, 'spring', NULL,"
        f" {sql_str(dedupe) if dedupe else 'NULL'}, {window}, {opt(hourly)}, {opt(daily)},"
        f" {inbox}, {no_push})")[0]
    groups = json.loads(row[5]) if row[5] else {}
    return (int(row[0]) if row[0] else None, int(row[1]), int(row[2]), int(row[3]),
            int(row[4]) if row[4] else None, {int(k): v for k, v in groups.items()})


def delivered_devices(ctx, message_id):
    return sorted(int(r[0]) for r in ctx.db.query(
        f"SELECT device_id FROM deliveries WHERE message_id = {message_id}"))


@once
def test_each_kind_of_identifier_finds_its_devices_on_the_asked_platforms_each_once(ctx):
    f = ctx.fixture(devices=0)
    other = ctx.fixture(tenant="Other tenant", app="Other app", devices=0)
    ann, ann_uid = add_user(ctx, f, "ann", "ann@example.com")
    bob, _ = add_user(ctx, f, "bob", "bob@example.com")
    ann_ios = add_device(ctx, f, ann, "ios", idfa="IDFA-1", idfv="IDFV-1")
    ann_android = add_device(ctx, f, ann, "android", advertising_id="ADID-1",
                             android_id="AID-1", serial_id="SER-1")
    bob_web = add_device(ctx, f, bob, "web")
    bob_off = add_device(ctx, f, bob, "ios", permission=0, idfa="IDFA-OFF")
    add_device(ctx, f, bob, "windows", status="unregistered")
    # The same identifiers in another tenant's app are never reached.
    stranger, _ = add_user(ctx, other, "ann", "ann@example.com")
    add_device(ctx, other, stranger, "ios", idfa="IDFA-1")

    cases = [
        ([(0, "idfa", [], "IDFA-1")], [ann_ios]),
        ([(0, "idfv", [], "IDFV-1")], [ann_ios]),
        ([(0, "advertising_id", [], "ADID-1")], [ann_android]),
        ([(0, "android_id", [], "AID-1")], [ann_android]),
        ([(0, "serial_id", [], "SER-1")], [ann_android]),
        ([(0, "token", [], bob_web["token"])], [bob_web]),
        ([(0, "device_uid", [], ann_ios["uid"])], [ann_ios]),
        ([(0, "external_id", [], "ann")], [ann_ios, ann_android]),
        ([(0, "external_id", ["android"], "ann")], [ann_android]),
        ([(0, "user_uid", [], ann_uid)], [ann_ios, ann_android]),
        ([(0, "user_number", [], str(ann))], [ann_ios, ann_android]),
        ([(0, "email", [], "ANN@example.com")], [ann_ios, ann_android]),
        ([(0, "all", ["web"], "")], [bob_web]),
        ([(0, "all", [], "")], [ann_ios, ann_android, bob_web]),
        ([(0, "idfa", ["android"], "IDFA-1")], []),
        ([(0, "idfa", [], "IDFA-OFF")], []),
        ([(0, "user_number", [], "12abc")], []),
        # One device named three ways, in two groups: one delivery, counted per group.
        ([(0, "idfa", [], "IDFA-1"), (0, "external_id", ["ios"], "ann"),
          (1, "token", [], ann_ios["token"])], [ann_ios]),
    ]
    for items, expected in cases:
        message_id, count, replayed, users, retry, groups = send(ctx, f, items)
        want = sorted(d["id"] for d in expected)
        assert (count, replayed, retry) == (len(want), 0, None), (items, count)
        if want:
            assert delivered_devices(ctx, message_id) == want, items
        else:
            assert message_id is None, items
    # Group counts: distinct devices per group.
    _, _, _, users, _, groups = send(ctx, f, [(0, "external_id", [], "ann"),
                                              (1, "external_id", [], "bob"),
                                              (1, "idfa", [], "IDFA-1")])
    assert groups == {0: 2, 1: 2} and users == 2
    # Users are counted when named even without a device; a bad device finds no user.
    _, count, _, users, _, _ = send(ctx, f, [(0, "external_id", ["windows"], "bob"),
                                             (1, "idfa", [], "nobody")])
    assert (count, users) == (0, 1)
    stranger_devices = ctx.db.query(
        f"SELECT COUNT(*) FROM deliveries WHERE app_id = {other.app_id}")[0][0]
    assert stranger_devices == "0"
    assert bob_off  # named for the case above: no permission, never reached


@once
def test_a_quota_refuses_a_send_to_more_devices_than_remain_whole_and_stores_nothing(ctx):
    f = ctx.fixture(devices=0)
    ann, _ = add_user(ctx, f, "ann")
    for _ in range(3):
        add_device(ctx, f, ann)
    before = ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")[0][0]
    message_id, count, _, _, retry, _ = send(ctx, f, [(0, "external_id", [], "ann")], hourly=2)
    assert message_id is None and count == 0 and 0 < retry <= 3600
    message_id, count, _, _, retry, _ = send(ctx, f, [(0, "external_id", [], "ann")], daily=2)
    assert message_id is None and count == 0 and 0 < retry <= 86400
    assert ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")[0][0] == before
    assert ctx.db.query(f"SELECT COUNT(*) FROM quota_usage WHERE app_id = {f.app_id}") == [("0",)]
    message_id, count, _, _, retry, _ = send(ctx, f, [(0, "external_id", [], "ann")],
                                             hourly=4, daily=4)
    assert message_id and count == 3 and retry is None
    message_id, count, _, _, retry, _ = send(ctx, f, [(0, "external_id", [], "ann")],
                                             hourly=4, daily=4)
    assert message_id is None and retry
    assert ctx.db.query(f"SELECT period, used FROM quota_usage WHERE app_id = {f.app_id}"
                        " ORDER BY period") == [("hour", "3"), ("day", "3")]


@once
def test_a_repeated_dedupe_key_answers_with_the_first_message_and_stores_nothing_new(ctx):
    f = ctx.fixture(devices=0)
    ann, _ = add_user(ctx, f, "ann")
    add_device(ctx, f, ann)
    add_device(ctx, f, ann)
    key = "pack-" + secrets.token_hex(4)
    first = send(ctx, f, [(0, "external_id", [], "ann")], dedupe=key)
    again = send(ctx, f, [(0, "external_id", [], "ann")], dedupe=key, title="Other")
    assert first[0] and first[1:3] == (2, 0)
    assert again[0] == first[0] and again[1:3] == (2, 1)
    # A repeat that finds no device still answers as the first did.
    gone = send(ctx, f, [(0, "external_id", [], "nobody")], dedupe=key)
    assert gone[0] == first[0] and gone[1:3] == (2, 1)
    assert ctx.db.query(f"SELECT COUNT(*) FROM messages WHERE dedupe_key = {sql_str(key)}"
                        f" AND app_id = {f.app_id}") == [("1",)]
    # Once the window is over, the key sends again.
    ctx.db.query(f"UPDATE dedupe SET created_at = NOW(6) - INTERVAL 11 MINUTE"
                 f" WHERE app_id = {f.app_id} AND dedupe_key = {sql_str(key)}")
    later = send(ctx, f, [(0, "external_id", [], "ann")], dedupe=key)
    assert later[0] and later[0] != first[0] and later[1:3] == (2, 0)


@once
def test_an_inbox_send_is_stored_for_its_user_with_or_without_devices_and_pushes_only_when_asked(ctx):
    f = ctx.fixture(devices=0)
    ann, ann_uid = add_user(ctx, f, "ann")
    bob, bob_uid = add_user(ctx, f, "bob")
    add_device(ctx, f, bob)
    # No device: stored in the inbox, nothing to deliver.
    message_id, count, _, users, _, _ = send(ctx, f, [(0, "user_uid", [], ann_uid)], inbox=1)
    assert message_id and (count, users) == (0, 1)
    assert ctx.db.query(f"SELECT app_user_id, app_id, read_at FROM inbox_items"
                        f" WHERE message_id = {message_id}") == [(str(ann), str(f.app_id), None)]
    assert ctx.db.query(f"SELECT app_user_id FROM messages WHERE id = {message_id}") == [(str(ann),)]
    # A device and push: one delivery beside the inbox row.
    message_id, count, _, _, _, _ = send(ctx, f, [(0, "user_uid", [], bob_uid)], inbox=1)
    assert count == 1 and len(delivered_devices(ctx, message_id)) == 1
    # push false: the inbox row only.
    message_id, count, _, _, _, _ = send(ctx, f, [(0, "user_uid", [], bob_uid)], inbox=1,
                                         no_push=1)
    assert message_id and count == 0 and delivered_devices(ctx, message_id) == []
    assert ctx.db.query(f"SELECT COUNT(*) FROM inbox_items WHERE message_id = {message_id}") == [("1",)]
    # An unknown user: nothing stored.
    message_id, count, _, users, _, _ = send(ctx, f, [(0, "user_uid", [], "0" * 32)], inbox=1)
    assert (message_id, count, users) == (None, 0, 0)
