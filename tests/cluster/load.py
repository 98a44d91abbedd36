"""Load for the cluster tests and bench/cluster: devices in bulk, messages queued
straight into the database (as the send path stores them), the Galera conflict
counters, and waiting for deliveries to end."""
import secrets
import time

# Galera counters of a node: local transactions that failed certification, and local
# transactions aborted by a replicated one (both reach the client as 1213).
CONFLICT_COUNTERS = ("wsrep_local_cert_failures", "wsrep_local_bf_aborts")


def create_devices(db, app_id, user_id, count, tag):
    """count active iOS devices with push permission for the user, in one statement."""
    db.query(f"""
        INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash,
                             push_permission, status)
        SELECT MD5(CONCAT('{tag}-', seq)), {app_id}, {user_id}, 'ios', t.token,
               UNHEX(SHA2(t.token, 256)), 1, 'active'
          FROM (SELECT seq, SHA2(CONCAT('{tag}-token-', seq), 256) AS token
                  FROM seq_1_to_{count}) t""", timeout=300)


def queue_message(db, app_id, user_id):
    """One message to every device of the user, due now; returns its delivery count."""
    rows = db.query(f"""
        INSERT INTO messages (app_id, app_user_id, source, title, body, priority, schedule_at)
          VALUES ({app_id}, {user_id}, 'developer', 'Cluster', 'claims', 10, UTC_TIMESTAMP(6));
        SET @m = LAST_INSERT_ID();
        INSERT INTO deliveries (message_id, device_id, app_id, priority, due_at)
          SELECT @m, id, app_id, 10, UTC_TIMESTAMP(6) FROM devices
           WHERE app_user_id = {user_id} AND status = 'active' AND push_permission = 1;
        SELECT COUNT(*) FROM deliveries WHERE message_id = @m;""", timeout=300)
    return int(rows[0][0])


def users_with_devices(ctx, f, users, devices):
    """users app users of fixture f's app with devices each; returns their ids."""
    ids = []
    for n in range(users):
        name = f"cluster-{secrets.token_hex(4)}-{n}"
        rows = ctx.db.query(f"CALL hd_create_app_user({f.app_id}, '{name}', NULL, @u);"
                            "SELECT id FROM app_users WHERE uid = @u")
        uid = int(rows[-1][0])
        create_devices(ctx.db, f.app_id, uid, devices, f"{name}")
        ids.append(uid)
    return ids


def conflicts(cluster):
    """The sum of the conflict counters over every node."""
    total = 0
    for node in cluster.nodes.values():
        status = node.status()
        total += sum(int(status.get(c, 0)) for c in CONFLICT_COUNTERS)
    return total


def wait_final(db, app_id, timeout):
    """Wait until no delivery of app_id is queued or sending; return {state: count}."""
    deadline = time.monotonic() + timeout
    while True:
        rows = db.query(f"SELECT state, COUNT(*) FROM deliveries WHERE app_id = {app_id}"
                        " GROUP BY state")
        states = {s: int(n) for s, n in rows}
        if not states.get("queued") and not states.get("sending"):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"deliveries of app {app_id} not final after {timeout}s: {states}")
        time.sleep(0.2)
