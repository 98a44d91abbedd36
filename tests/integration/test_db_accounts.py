"""Least privilege in the database (docs/accounts.md).

The stack runs as an operator following docs/accounts.md would: the FastCGI programs
connect as herald-web (role herald_web), the worker and the programs' inline deliverers
as herald-worker (role herald_worker), both made by herald-migrate's roles. So every
other test of the suite is also a test that those grants are enough; these prove that
they are no more than that, and that herald-migrate keeps them so.
"""
import re
import subprocess
from pathlib import Path

import delivery
import herald_stack
from hd import once
from herald_stack import sql_str

REPO = Path(__file__).resolve().parent.parent.parent
SOURCES = [p for d in ("lib", "cgi-bin", "worker") for p in (REPO / d).rglob("*.c")]

# MariaDB's refusals: access to a database (1044), command denied on a table (1142),
# a column (1143) or a routine (1370).
DENIED = {"1044", "1142", "1143", "1370"}


def run_as(ctx, role, sql):
    """(error code or None, output) of sql run by the stack's account for role."""
    user = ctx.stack.accounts[("" if role == "web" else "worker_") + "db_user"]
    password_file = ctx.stack.accounts[("" if role == "web" else "worker_") + "db_password_file"]
    result = subprocess.run(
        ["mariadb", "--no-defaults", "--protocol=socket", f"--socket={ctx.db.socket}",
         f"--user={user}", f"--database={herald_stack.DB_NAME}", "--batch",
         "--skip-column-names", "-e", sql],
        env={"MYSQL_PWD": Path(password_file).read_text().strip(), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60)
    if result.returncode == 0:
        return None, result.stdout
    code = re.search(r"ERROR (\d+)", result.stderr)
    assert code, f"{user}: {sql}: {result.stderr}"
    return code.group(1), result.stderr


def assert_denied(ctx, role, sql):
    code, out = run_as(ctx, role, sql)
    assert code in DENIED, f"{role} account ran {sql!r}: {code} {out}"


def grants_file():
    """{role: {procedure}} as schema/grants lists them."""
    wanted = {"web": set(), "worker": set()}
    for line in (REPO / "schema" / "grants").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            role, proc = line.split()
            wanted[role].add(proc)
    return wanted


def held_grants(ctx, database=herald_stack.DB_NAME):
    """{role: {procedure}} as the server holds them for database's roles."""
    held = {"web": set(), "worker": set()}
    for user, proc in ctx.db.query(
            "SELECT User, Routine_name FROM mysql.procs_priv WHERE Host = '' AND Db = "
            f"{herald_stack.sql_str(database)}", database=None):
        role = user[len(database) + 1:]
        if role in held:
            held[role].add(proc)
    return held


@once
def test_the_web_account_cannot_read_credentials_key_hashes_or_any_table(ctx):
    f = ctx.fixture()
    # The account works: it runs what the request path runs, and its role holds
    # nothing but those procedures.
    code, out = run_as(ctx, "web", "CALL hd_backlog_due(30)")
    assert code is None, out
    code, out = run_as(ctx, "web", f"SHOW GRANTS FOR `{herald_stack.DB_NAME}_web`")
    assert code is None, out
    role = f"`{herald_stack.DB_NAME}_web`"
    procedures = set()
    for line in out.splitlines():
        if line == f"GRANT USAGE ON *.* TO {role}":
            continue
        granted = re.fullmatch(rf"GRANT EXECUTE ON PROCEDURE `{herald_stack.DB_NAME}`\.`(\w+)`"
                               rf" TO {role}", line)
        assert granted, f"the web role holds {line!r}"
        procedures.add(granted.group(1))
    assert procedures == grants_file()["web"], procedures
    for sql in ("SELECT * FROM app_credentials",
                "SELECT client_secret FROM app_credentials",
                "SELECT key_hash FROM api_keys",
                "SELECT * FROM devices",
                "SELECT * FROM hd_credentials",
                "SELECT * FROM hd_keys",
                "SELECT * FROM mysql.user",
                f"INSERT INTO messages (app_id, payload) VALUES ({f.app_id}, '{{}}')",
                f"UPDATE apps SET quota_daily = NULL WHERE id = {f.app_id}",
                "DELETE FROM deliveries",
                "DELETE FROM rate_limit",
                "CREATE TABLE stolen (a INT)",
                "SET PASSWORD FOR 'herald-worker'@'localhost' = PASSWORD('x')",
                f"CALL hd_app_credentials({f.app_id})",
                "CALL hd_credentials_to_seal('k', 'k', 10)",
                "CALL hd_claim_deliveries('0123456789abcdef0123456789abcdef', 30, 10, NULL)",
                "CALL hd_create_tenant('Mine', @t)",
                f"CALL hd_issue_key('server', {f.tenant_id}, {f.app_id}, 'mine', @k, @secret)",
                f"CALL hd_set_quota({f.app_id}, NULL, NULL)",
                "CALL hd_purge(1000)"):
        assert_denied(ctx, "web", sql)


@once
def test_the_worker_account_reads_credentials_but_cannot_administer_or_write_tables(ctx):
    f = ctx.fixture()
    ctx.db.query(f"CALL hd_set_wns_credentials({sql_str(f.app_uid)}, 'ms-app://s-1-15-2-2',"
                 " 'wns-secret-2')")
    code, out = run_as(ctx, "worker", f"CALL hd_app_credentials({f.app_id})")
    assert code is None and "ms-app://s-1-15-2-2" in out, out
    for sql in ("SELECT key_hash FROM api_keys",
                "SELECT * FROM app_credentials",
                f"UPDATE deliveries SET state = 'delivered' WHERE app_id = {f.app_id}",
                "CALL hd_create_tenant('Mine', @t)",
                f"CALL hd_issue_key('server', {f.tenant_id}, {f.app_id}, 'mine', @k, @secret)",
                f"CALL hd_set_wns_credentials({sql_str(f.app_uid)}, 'ms-app://x', 'mine')",
                "CALL hd_register_device(1, 'a', 'b', NULL, 'c', 'ios', 't', 'h', NULL, NULL,"
                " 1, NULL, NULL, NULL, NULL, NULL, NULL)"):
        assert_denied(ctx, "worker", sql)


def test_the_programs_and_the_worker_connect_with_their_own_accounts(ctx):
    f = delivery.fresh_fixture(ctx)
    delivery.set_credentials(ctx, f, "apns")
    delivery.add_device(ctx, f, "ios")
    message = delivery.message_id(ctx, delivery.push(ctx, f))
    # The programs that answered (POST /devices, POST /developer/push) hold their
    # connections open, and so does the worker while it runs: nothing else is connected
    # once the test's own earlier sessions (root), closed by now, have left the list.
    users = lambda: {u for (u,) in ctx.db.query(
        "SELECT USER FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID()"
        " AND USER NOT IN ('system user', 'event_scheduler')", database=None)}
    with delivery.worker(ctx):
        assert [s[0] for s in delivery.wait_states(ctx, message).values()] == ["delivered"]
        try:
            herald_stack.wait_for(lambda: users() == {"herald-web", "herald-worker"}, 30,
                                  "only the programs' and the worker's accounts")
        except herald_stack.StackError:
            raise AssertionError(f"connected: {users()}") from None


@once
def test_every_statement_herald_runs_is_a_procedure_its_role_may_execute(ctx):
    wanted = grants_file()
    called, direct = set(), []
    literal = re.compile(r'"((?:[^"\\]|\\.)*)"')
    for path in SOURCES:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for text in literal.findall(line):
                called.update(re.findall(r"\bCALL (hd_\w+)", text))
                if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH)\s+\S", text):
                    direct.append(f"{path.relative_to(REPO)}:{n}: {text}")
    assert not direct, "statements that are not procedures:\n" + "\n".join(direct)
    assert called, "no CALL found in the sources"
    missing = called - wanted["web"] - wanted["worker"]
    assert not missing, f"called but granted to no role: {sorted(missing)}"
    assert held_grants(ctx) == wanted, "the server's grants differ from schema/grants"


@once
def test_herald_migrate_revokes_a_procedure_grant_that_schema_grants_does_not_list(ctx):
    from test_schema_upgrade import scratch_database
    with scratch_database(ctx) as db:
        ctx.db.migrate(database=db)
        assert held_grants(ctx, db) == grants_file()
        ctx.db.query(f"GRANT EXECUTE ON PROCEDURE `{db}`.hd_create_tenant TO `{db}_web`;"
                     f" REVOKE EXECUTE ON PROCEDURE `{db}`.hd_claim_deliveries FROM `{db}_worker`",
                     database=None)
        ctx.db.migrate(database=db)
        assert held_grants(ctx, db) == grants_file()
        admin = ctx.db.query(f"SHOW GRANTS FOR `{db}_admin`", database=None)
        assert (f"GRANT SELECT, EXECUTE ON `{db}`.* TO `{db}_admin`",) in admin, admin
