"""The delivery engine's database calls (schema/migrations/0004_delivery.sql) where a
test needs what a single SQL script cannot give: the result sets the engine reads,
several connections at once, and a database holding nothing but the test's own
deliveries (claims of any message would otherwise take other tests' rows). The
state changes each call makes are tested in tests/sql/."""
import contextlib
import secrets
import subprocess
import threading
import time

import herald_stack
from hd import once, timeout

CLAIM_COLUMNS = ["delivery_id", "attempt", "app_id", "platform", "token", "p256dh",
                 "auth_secret", "title", "body", "data", "sound", "priority", "expires_at",
                 "extras", "creds_updated_at"]
# A web device's subscription keys (p256dh and auth, base64url: RFC 8291 Appendix A's).
WEB_P256DH = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"
WEB_AUTH = "tBHItJI5svbpez7KI4CCXg"


@contextlib.contextmanager
def fresh_database(ctx):
    """A database of its own, migrated to the latest version, dropped afterwards."""
    name = "claims_" + secrets.token_hex(4)
    try:
        ctx.db.migrate(database=name)
        yield name
    finally:
        ctx.db.drop_database(name)


def query_with_names(ctx, sql, database=herald_stack.DB_NAME):
    """(column names, rows) of the one result set sql produces."""
    result = subprocess.run(
        ["mariadb", "--no-defaults", "--protocol=socket", f"--socket={ctx.db.socket}",
         f"--user={herald_stack.DB_USER}", "--default-character-set=utf8mb4", "--batch",
         f"--database={database}"],
        input=sql, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


class Session:
    """A mariadb client with one connection that runs the statements given to send()
    as they arrive, so that a test can hold a transaction or a lock open across its
    own steps. Killed at the end of a with-block if it still runs."""

    def __init__(self, ctx, database):
        self.proc = subprocess.Popen(
            ["mariadb", "--no-defaults", "--protocol=socket", f"--socket={ctx.db.socket}",
             f"--user={herald_stack.DB_USER}", "--batch", "--unbuffered",
             f"--database={database}"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def send(self, sql):
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def running(self):
        """True while the client runs; fails with its errors once it has exited."""
        assert self.proc.poll() is None, self.proc.stderr.read()
        return True

    def end(self):
        """Close the session after what was sent; fails with its errors if any failed."""
        self.proc.stdin.close()
        assert self.proc.wait(30) == 0, self.proc.stderr.read()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def lock_holders(ctx, db, name):
    """Whether a session holds the user lock name: [(None,)] when none does."""
    return ctx.db.query(f"SELECT IS_USED_LOCK('{name}')", db)


def app_with_devices(devices, tag):
    """SQL that creates a tenant, app @a (uid @auid), user @u and, per entry of
    devices (platform, status, push_permission), a device with token
    '<tag>-<n>' (n from 1); @d1, @d2, ... are their ids."""
    sql = (f"SET time_zone = '+00:00';\n"
           f"CALL hd_create_tenant('{tag}', @t);\n"
           f"CALL hd_create_app(@t, '{tag}', @a, @auid);\n"
           f"CALL hd_create_app_user(@a, 'user', NULL, @uuid);\n"
           "SET @u = (SELECT id FROM app_users WHERE uid = @uuid);\n")
    for n, (platform, status, permission) in enumerate(devices, 1):
        token = f"{tag}-{n}"
        web = f", '{WEB_P256DH}', '{WEB_AUTH}'" if platform == "web" else ", NULL, NULL"
        sql += ("INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash, p256dh,"
                " auth_secret, status, push_permission) VALUES "
                f"(LOWER(HEX(RANDOM_BYTES(16))), @a, @u, '{platform}', '{token}',"
                f" UNHEX(SHA2('{token}', 256)){web}, '{status}', {permission});\n"
                f"SET @d{n} = LAST_INSERT_ID();\n")
    return sql


def claim_ids(rows):
    return [int(row[0]) for row in rows]


@once
def test_claim_answers_one_row_per_claimed_delivery_with_the_engine_columns_in_order(ctx):
    tag = "claim-columns-" + secrets.token_hex(4)
    owner = secrets.token_hex(16)
    setup = app_with_devices([("ios", "active", 1), ("web", "active", 1), ("android", "inactive", 1)], tag)
    setup += (
        "CALL hd_set_wns_credentials(@auid, 'ms-app://s-1-15-2-1', 'secret');\n"
        "UPDATE app_credentials SET updated_at = '2026-03-04 05:06:07.123456' WHERE app_id = @a;\n"
        "INSERT INTO messages (app_id, source, title, body, data, sound, ttl_s, priority,"
        " schedule_at, extras) VALUES (@a, 'developer', 'Shipped', 'Order #4521', '{\"order\":4521}',"
        " 'chime.caf', 600, 8, UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE,"
        " '{\"badge\":3,\"thread_id\":\"orders\"}');\n"
        "SET @m = LAST_INSERT_ID();\n"
        "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at, attempts) VALUES"
        " (@m, @d1, @a, 8, UTC_TIMESTAMP(6) - INTERVAL 2 SECOND, 2),"
        " (@m, @d2, @a, 8, UTC_TIMESTAMP(6) - INTERVAL 1 SECOND, 0),"
        " (@m, @d3, @a, 8, UTC_TIMESTAMP(6) - INTERVAL 3 SECOND, 0);\n")
    names, rows = query_with_names(ctx, setup + f"CALL hd_claim_deliveries('{owner}', 60, 10, @m);\n")
    assert names == CLAIM_COLUMNS, names

    ids = ctx.db.query(f"SELECT d.id FROM deliveries d JOIN devices v ON v.id = d.device_id"
                       f" WHERE v.token LIKE '{tag}-%' ORDER BY v.token")
    ios, web, inactive = (int(i) for (i,) in ids)
    # The inactive device's delivery is gone, not answered; the rest, longest due first.
    assert claim_ids(rows) == [ios, web], rows
    app_id, expires = ctx.db.query(f"SELECT a.id, m.schedule_at + INTERVAL 600 SECOND FROM messages m"
                                   f" JOIN apps a ON a.id = m.app_id WHERE a.name = '{tag}'")[0]
    assert rows[0] == [str(ios), "3", app_id, "ios", f"{tag}-1", "NULL", "NULL", "Shipped",
                       "Order #4521", '{"order":4521}', "chime.caf", "8", expires,
                       '{"badge":3,"thread_id":"orders"}', "2026-03-04 05:06:07.123456"], rows[0]
    assert rows[1][:7] == [str(web), "1", app_id, "web", f"{tag}-2", WEB_P256DH, WEB_AUTH], rows[1]
    assert ctx.db.query(f"SELECT state, reason FROM deliveries WHERE id = {inactive}") == \
        [("gone", "device not active")]


@once
def test_claim_answers_no_expiry_without_ttl_and_the_schedule_time_with_ttl_0(ctx):
    tag = "claim-expiry-" + secrets.token_hex(4)
    owner = secrets.token_hex(16)
    sql = app_with_devices([("ios", "active", 1)], tag)
    for ttl in ("NULL", "0"):
        sql += ("INSERT INTO messages (app_id, source, title, ttl_s, schedule_at)"
                f" VALUES (@a, 'developer', 'ttl {ttl}', {ttl}, '2026-01-01 00:00:00.5');\n"
                "SET @m = LAST_INSERT_ID();\n"
                "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)"
                " VALUES (@m, @d1, @a, 5, UTC_TIMESTAMP(6));\n"
                f"CALL hd_claim_deliveries('{owner}', 60, 10, @m);\n")
    rows = ctx.db.query(sql)
    # expires_at, then creds_updated_at (the app has no credentials).
    assert [(r[12], r[14]) for r in rows] == [(None, None), ("2026-01-01 00:00:00.500000", None)], rows


@once
def test_claim_of_any_message_takes_the_highest_priority_then_the_longest_due_first(ctx):
    owner = secrets.token_hex(16)
    with fresh_database(ctx) as db:
        # (name, state, priority, due in seconds from now, lease end in seconds)
        rows = [("p10-older", "queued", 10, -30, None), ("p10-newer", "queued", 10, -5, None),
                ("p10-later", "queued", 10, 3600, None), ("p7-lease-over", "sending", 7, -600, -1),
                ("p7-lease-live", "sending", 7, -600, 60), ("p5-oldest", "queued", 5, -900, None),
                ("p5-newer", "queued", 5, -1, None), ("p1", "queued", 1, -3600, None),
                ("p5-done", "delivered", 5, -7200, None)]
        sql = app_with_devices([("ios", "active", 1)] * len(rows), "any-message")
        sql += ("INSERT INTO messages (app_id, source, title, schedule_at)"
                " VALUES (@a, 'developer', 'm', UTC_TIMESTAMP(6));\nSET @m = LAST_INSERT_ID();\n")
        for n, (name, state, priority, due, lease) in enumerate(rows, 1):
            lease_sql = "NULL" if lease is None else f"UTC_TIMESTAMP(6) + INTERVAL {lease} SECOND"
            owner_sql = "NULL" if lease is None else "'crashed-worker'"
            sql += ("INSERT INTO deliveries (message_id, device_id, app_id, state, priority, due_at,"
                    " lease_owner, lease_until, reason) VALUES"
                    f" (@m, @d{n}, @a, '{state}', {priority}, UTC_TIMESTAMP(6) + INTERVAL {due} SECOND,"
                    f" {owner_sql}, {lease_sql}, '{name}');\n")
        ctx.db.query(sql, db)
        by_id = dict(ctx.db.query("SELECT id, reason FROM deliveries", db))

        first = ctx.db.query(f"CALL hd_claim_deliveries('{owner}', 60, 4, NULL)", db)
        assert [by_id[r[0]] for r in first] == ["p10-older", "p10-newer", "p7-lease-over", "p5-oldest"], first
        rest = ctx.db.query(f"CALL hd_claim_deliveries('{owner}', 60, 100, NULL)", db)
        assert [by_id[r[0]] for r in rest] == ["p5-newer", "p1"], rest
        assert ctx.db.query(f"CALL hd_claim_deliveries('{owner}', 60, 100, NULL)", db) == []
        states = dict(ctx.db.query("SELECT reason, CONCAT(state, ' ', IFNULL(lease_owner, '-'))"
                                   " FROM deliveries", db))
        assert states["p10-later"] == "queued -" and states["p7-lease-live"] == "sending crashed-worker", states
        assert states["p7-lease-over"] == f"sending {owner}", states


def run_claims(ctx, db, owner, calls, limit, go, out, errors):
    """One worker: `calls` claims in one connection once the user lock go is free;
    out[owner] = (ids, start, end)."""
    try:
        sql = f"DO GET_LOCK('{go}', 120);\nDO RELEASE_LOCK('{go}');\n"
        sql += f"CALL hd_claim_deliveries('{owner}', 300, {limit}, NULL);\n" * calls
        start = time.monotonic()
        ids = claim_ids(ctx.db.query(sql, db))
        out[owner] = (ids, start, time.monotonic())
    except Exception as e:  # reported by the test's thread
        errors.append(e)


@once
@timeout(180)
def test_concurrent_claims_never_take_one_delivery_twice(ctx):
    workers, calls, limit, total = 8, 100, 5, 3000
    with fresh_database(ctx) as db:
        ctx.db.query(app_with_devices([("android", "active", 1)], "race") + (
            "INSERT INTO messages (app_id, source, title, schedule_at)"
            f" SELECT @a, 'developer', 'race', UTC_TIMESTAMP(6) FROM seq_1_to_{total};\n"
            "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)"
            " SELECT m.id, @d1, @a, 1 + m.id % 10, UTC_TIMESTAMP(6) - INTERVAL m.id % 97 SECOND"
            " FROM messages m;\n"), db)
        out, errors = {}, []
        # The workers start claiming together when the test lets go of a user lock
        # that each waits for: on a loaded machine, one started late could otherwise
        # find the others done.
        go = "claims-go-" + secrets.token_hex(4)
        with Session(ctx, db) as starter:
            starter.send(f"DO GET_LOCK('{go}', 0);")
            herald_stack.wait_for(
                lambda: starter.running() and lock_holders(ctx, db, go) != [(None,)], 30,
                "the test to hold the starting lock")
            threads = [threading.Thread(target=run_claims, args=(
                ctx, db, secrets.token_hex(16), calls, limit, go, out, errors))
                for _ in range(workers)]
            for t in threads:
                t.start()
            waiting = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                       f" WHERE STATE = 'User lock' AND INFO LIKE '%{go}%'")
            herald_stack.wait_for(lambda: errors or ctx.db.query(waiting, db) == [(str(workers),)],
                                  60, "every worker to wait for the start")
            starter.send(f"DO RELEASE_LOCK('{go}');")
            for t in threads:
                t.join()
            starter.end()
        assert not errors, errors
        assert len(out) == workers
        # The workers claimed side by side: each started before any had finished.
        assert max(start for _, start, _ in out.values()) < min(end for *_, end in out.values())
        claimed = [i for ids, *_ in out.values() for i in ids]
        assert len(claimed) == len(set(claimed)), "a delivery was claimed twice"
        # 8 x 100 x 5 = 4000 > 3000: every delivery was claimed, each by exactly one.
        assert len(claimed) == total, len(claimed)
        stored = {int(i): owner for i, owner in ctx.db.query(
            "SELECT id, lease_owner FROM deliveries WHERE state = 'sending' AND attempts = 1", db)}
        assert stored == {i: owner for owner, (ids, *_) in out.items() for i in ids}


@once
@timeout(120)
def test_claim_skips_deliveries_locked_by_another_transaction_without_waiting(ctx):
    owner = secrets.token_hex(16)
    lock_name = "claims-holder-" + secrets.token_hex(4)
    with fresh_database(ctx) as db:
        ctx.db.query(app_with_devices([("ios", "active", 1)] * 4, "locked") + (
            "INSERT INTO messages (app_id, source, title, schedule_at)"
            " VALUES (@a, 'developer', 'locked', UTC_TIMESTAMP(6));\n"
            "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)"
            " SELECT LAST_INSERT_ID(), id, @a, 10, UTC_TIMESTAMP(6) - INTERVAL id SECOND"
            " FROM devices;\n"), db)
        ids = [int(i) for (i,) in ctx.db.query("SELECT id FROM deliveries ORDER BY due_at", db)]
        held = ids[:2]  # the two that every claim would take first

        # Another worker's claim transaction, held open until this test ends it.
        with Session(ctx, db) as holder:
            # One primary-key lookup per row: exactly these rows are locked. The named
            # lock, taken last, says that they are.
            holder.send("START TRANSACTION;\n"
                        f"SELECT id FROM deliveries WHERE id = {held[0]} FOR UPDATE;\n"
                        f"SELECT id FROM deliveries WHERE id = {held[1]} FOR UPDATE;\n"
                        f"SELECT GET_LOCK('{lock_name}', 0);")
            herald_stack.wait_for(
                lambda: holder.running() and lock_holders(ctx, db, lock_name) != [(None,)],
                30, "the other transaction to hold its rows")

            # A claim that waited for a locked row would wait out the lock wait timeout
            # (30 s here) and fail; one that skips them answers at once. 10 s tells the
            # two apart on a loaded machine.
            start = time.monotonic()
            rows = ctx.db.query("SET SESSION innodb_lock_wait_timeout = 30;\n"
                                f"CALL hd_claim_deliveries('{owner}', 60, 10, NULL);", db)
            took = time.monotonic() - start
            assert sorted(claim_ids(rows)) == sorted(ids[2:]), (rows, ids, held)
            assert took < 10, f"the claim waited {took:.1f}s for the locked rows"
            holder.send("COMMIT;")
            holder.end()

        # Once the other transaction ends, its rows are claimable again.
        rows = ctx.db.query(f"CALL hd_claim_deliveries('{owner}', 60, 10, NULL);", db)
        assert sorted(claim_ids(rows)) == sorted(held), rows


@once
def test_finish_answers_the_new_state_or_lost(ctx):
    tag = "finish-answers-" + secrets.token_hex(4)
    owner, other = secrets.token_hex(16), secrets.token_hex(16)
    sql = app_with_devices([("ios", "active", 1)] * 6, tag)
    sql += ("INSERT INTO messages (app_id, source, title, ttl_s, schedule_at)"
            " VALUES (@a, 'developer', 'finish', 600, UTC_TIMESTAMP(6));\nSET @m = LAST_INSERT_ID();\n"
            "INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)"
            " SELECT @m, id, @a, 5, UTC_TIMESTAMP(6) - INTERVAL id SECOND FROM devices WHERE app_id = @a;\n"
            f"CALL hd_claim_deliveries('{owner}', 60, 10, @m);\n")
    ids = claim_ids(ctx.db.query(sql))
    assert len(ids) == 6, ids
    calls = [(ids[0], owner, "'delivered', 200, NULL, NULL", "delivered"),
             (ids[1], owner, "'gone', 410, 'Unregistered', NULL", "gone"),
             (ids[2], owner, "'rejected', 400, 'BadDeviceToken', NULL", "rejected"),
             (ids[3], owner, "'retry', 503, 'busy', UTC_TIMESTAMP(6) + INTERVAL 1 MINUTE", "queued"),
             (ids[4], owner, "'retry', 503, 'busy', UTC_TIMESTAMP(6) + INTERVAL 1 HOUR", "expired"),
             (ids[5], other, "'delivered', 200, NULL, NULL", "lost"),
             (ids[0], owner, "'delivered', 200, NULL, NULL", "lost")]
    script = "START TRANSACTION;\n" + "".join(
        f"CALL hd_finish_delivery({i}, '{who}', {args}, NULL, 5);\n" for i, who, args, _ in calls) + "COMMIT;\n"
    assert ctx.db.query(script) == [(want,) for *_, want in calls]


def offer_token(ctx, team, candidate, answers, errors):
    try:
        answers[candidate] = ctx.db.query(
            f"CALL hd_share_provider_token('{team}', 'KEY0000001', SHA2('key', 256), '{candidate}',"
            " '2026-05-01 12:00:00', 3000)")[0]
    except Exception as e:  # reported by the test's thread
        errors.append(e)


@once
def test_share_provider_token_gives_concurrent_callers_one_token(ctx):
    team = secrets.token_hex(5).upper()
    answers, errors = {}, []
    threads = [threading.Thread(target=offer_token, args=(ctx, team, f"jwt-{n}", answers, errors))
               for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    stored = ctx.db.query(f"SELECT token, issued_at FROM provider_tokens WHERE issuer = '{team}'")
    assert len(stored) == 1 and stored[0][0].startswith("jwt-"), stored
    assert set(answers.values()) == {stored[0]}, answers
    assert stored[0][1] == "2026-05-01 12:00:00.000000", stored
