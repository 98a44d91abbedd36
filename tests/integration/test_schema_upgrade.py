"""tools/herald-migrate: upgrading a database that holds data, and failing safely.
Each test uses a database of its own on the stack's MariaDB."""
import contextlib
import secrets
import shutil
import tempfile
from pathlib import Path

import herald_stack
from hd import once

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "schema" / "migrations"
VERSIONS = sorted(int(p.name[:4]) for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))
SERVER_KEY = "hd_srv_" + "ab" * 24


@contextlib.contextmanager
def scratch_database(ctx):
    name = "upgrade_" + secrets.token_hex(4)
    try:
        yield name
    finally:
        ctx.db.drop_database(name)


# Rows written with plain SQL against schema version 1, before any procedure exists.
V1_DATA = f"""
INSERT INTO tenants (id, name) VALUES (7, 'Old tenant');
INSERT INTO apps (id, uid, tenant_id, name) VALUES
  (11, '3f2b8a52-4e1c-4b8e-9d1a-5c6e7f809a1b', 7, 'Old app');
INSERT INTO app_users (id, uid, app_id, external_id, email) VALUES
  (21, '0123456789abcdef0123456789abcdef', 11, 'user_123', 'user_123@example.com');
INSERT INTO devices (id, uid, app_id, app_user_id, platform, token, token_hash) VALUES
  (31, 'fedcba9876543210fedcba9876543210', 11, 21, 'ios', 'tok-31', UNHEX(SHA2('tok-31', 256)));
INSERT INTO api_keys (id, key_hash, kind, tenant_id, app_id, label) VALUES
  (41, UNHEX(SHA2('{SERVER_KEY}', 256)), 'server', 7, 11, 'old key');
INSERT INTO messages (id, app_id, app_user_id, source, title, body, priority, schedule_at) VALUES
  (51, 11, 21, 'developer', 'Your order has shipped!', 'Order #4521', 8, '2026-01-02 03:04:05');
INSERT INTO deliveries (id, message_id, device_id, app_id, state, priority, due_at) VALUES
  (61, 51, 31, 11, 'queued', 8, '2026-01-02 03:04:05');
"""

SNAPSHOT = """
SELECT id, name, created_at FROM tenants;
SELECT id, uid, tenant_id, name, push_enabled, dedupe_window_s, quota_hourly, quota_daily FROM apps;
SELECT id, uid, app_id, external_id, email FROM app_users;
SELECT id, uid, app_id, app_user_id, platform, token, HEX(token_hash), status, push_permission FROM devices;
SELECT id, HEX(key_hash), kind, tenant_id, app_id, label, revoked_at FROM api_keys;
SELECT id, app_id, app_user_id, source, title, body, priority, schedule_at FROM messages;
SELECT id, message_id, device_id, state, priority, due_at, attempts FROM deliveries;
"""


@once
def test_upgrade_from_version_1_keeps_data_and_adds_working_procedures(ctx):
    with scratch_database(ctx) as db:
        ctx.db.migrate(database=db, to=1)
        assert ctx.db.query("SELECT version FROM schema_migrations", db) == [("1",)]
        ctx.db.query(V1_DATA, db)
        before = ctx.db.query(SNAPSHOT, db)

        ctx.db.migrate(database=db)
        versions = [int(v) for (v,) in ctx.db.query("SELECT version FROM schema_migrations ORDER BY version", db)]
        assert versions == VERSIONS, versions
        assert ctx.db.query(SNAPSHOT, db) == before

        # The new procedures work on the old rows.
        rows = ctx.db.query("""
            CALL hd_create_app_user(11, 'user_456', 'user_456@example.com', @u);
            CALL hd_issue_key('server', 7, 11, 'new key', @kid, @key);
            CALL hd_revoke_key(41);
            CALL hd_create_app(7, 'New app', @app, @app_uid);
            SELECT @u, @kid, @key, @app;
            SELECT kind, app_id FROM api_keys WHERE key_hash = UNHEX(SHA2(@key, 256));
            SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = 41;
            SELECT COUNT(*) FROM app_users WHERE app_id = 11;""", db)
        user_uid, key_id, key, app = rows[0]
        assert len(user_uid) == 32 and key.startswith("hd_srv_") and int(app) > 11, rows[0]
        assert rows[1:] == [("server", "11"), ("1",), ("2",)], rows[1:]

        assert "(0 applied now)" in ctx.db.migrate(database=db)


@once
def test_migrate_stops_at_the_first_failing_migration(ctx):
    with scratch_database(ctx) as db, tempfile.TemporaryDirectory() as migrations:
        shutil.copy(MIGRATIONS / "0001_core.sql", migrations)
        Path(migrations, "0002_broken.sql").write_text(
            "CREATE TABLE before_error (a INT);\nSELECT no_such_column FROM tenants;\n")
        Path(migrations, "0003_later.sql").write_text("CREATE TABLE later (a INT);\n")
        try:
            ctx.db.migrate(database=db, migrations=migrations)
            raise AssertionError("herald-migrate succeeded over a broken migration")
        except herald_stack.StackError as e:
            assert "migration 0002_broken failed" in str(e), e
        assert ctx.db.query("SELECT version FROM schema_migrations", db) == [("1",)]
        assert ctx.db.query("SHOW TABLES LIKE 'later'", db) == []
