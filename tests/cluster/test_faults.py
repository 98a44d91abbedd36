"""A Galera node killed under load and brought back. Every program and worker has
db_addresses listing all three nodes, its own first (run.py), so the loss of a node
is a reconnect, not a restart. Runs last: it leaves node 1 rejoined by IST."""
import datetime
import secrets
import threading
import time

import delivery
import load
from hd import timeout

WEBS = ("web1", "web2")
# Sends per second the load aims at, through both web hosts together.
LOAD_PER_S = 20


class Load:
    """Sends through both web hosts from a thread until stopped: every third one
    scheduled two seconds ahead, each with a dedupe key. Keeps every answer."""

    def __init__(self, ctx, f):
        self.ctx, self.f = ctx, f
        self.answers = []  # (dedupe key, web, status, when)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def send(self, n):
        key = f"fault-{n}-{secrets.token_hex(4)}"
        body = {"app_user_id": self.f.user, "title": "Fault", "body": str(n), "dedupe_key": key}
        if n % 3 == 0:
            at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
            body["schedule_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        web = WEBS[n % 2]
        try:
            status = self.ctx.request(web, "POST", "/developer/push", body,
                                      headers={"X-Server-Key": self.f.server_key}, timeout=10)[0]
        except OSError as e:
            status = f"no answer: {e}"
        self.answers.append((key, web, status, time.monotonic()))

    def run(self):
        n = 0
        while not self.stopping.is_set():
            started = time.monotonic()
            self.send(n)
            n += 1
            time.sleep(max(0.0, 1 / LOAD_PER_S - (time.monotonic() - started)))

    def wait_sent(self, count, web=None, since=0.0):
        """Wait until count more answers came (through web, if given) after since."""
        def enough():
            return sum(1 for _, w, s, t in self.answers
                       if t >= since and (web is None or w == web) and s in (200, 201)) >= count
        deadline = time.monotonic() + 60
        while not enough():
            assert time.monotonic() < deadline, f"fewer than {count} answers through {web}"
            time.sleep(0.1)


@timeout(300)
def test_a_node_killed_under_load_loses_no_accepted_send_and_herald_reconnects(ctx):
    f = ctx.fixture()
    delivery.set_credentials(ctx, f, "apns")
    ctx.cluster.wait_synced()
    ctx.mocks.reset()
    traffic = Load(ctx, f)
    traffic.thread.start()
    try:
        traffic.wait_sent(40)
        killed_at = time.monotonic()
        ctx.cluster.kill(1)  # web1's and worker-a's own node
        # web1 answers again without a restart, through the next node of its list.
        traffic.wait_sent(1, web="web1", since=killed_at)
        down_s = time.monotonic() - killed_at
        traffic.wait_sent(40, web="web1", since=killed_at)
        back_at = time.monotonic()
        ctx.cluster.restart(1)
        rejoin_s = time.monotonic() - back_at
        traffic.wait_sent(40, since=time.monotonic())
    finally:
        traffic.stopping.set()
        traffic.thread.join()
    ctx.cluster.wait_synced()
    log = ctx.cluster.nodes[1].log.read_text()
    rejoin = log[log.rindex("Starting MariaDB"):]  # what the last start logged
    # The rsync script says which it did: "rsync IST completed", or "rsync SST
    # completed" when the donor had to send the data directory.
    ist = "IST completed on joiner" in rejoin

    statuses = [s for _, _, s, _ in traffic.answers]
    accepted = {k for k, _, s, _ in traffic.answers if s in (200, 201)}
    # While the cluster has not yet declared node 1 gone (evs.suspect_timeout), writes
    # wait on every node; a send that waits past db_query_timeout_s answers 503.
    assert all(s in (200, 201, 503) for s in statuses), sorted(set(map(str, statuses)))
    # Every delivery of the test's app ends delivered.
    states = load.wait_final(ctx.db, f.app_id, timeout=120)
    stored = dict(ctx.db.query(
        "SELECT d.dedupe_key, l.state FROM dedupe d JOIN deliveries l ON l.message_id = d.message_id"
        f" WHERE d.app_id = {f.app_id}"))
    # Every 2xx's message is stored and delivered. A send answered 503 may be stored
    # too: its commit went on after herald stopped waiting (the client sends again
    # with the same dedupe key and gets the first answer).
    assert accepted <= set(stored), accepted - set(stored)
    assert set(stored.values()) == {"delivered"} and states == {"delivered": len(stored)}, states
    late = set(stored) - accepted
    assert late <= {k for k, _, s, _ in traffic.answers if s == 503}, late
    sent = ctx.mocks.stats()["providers"]["apns"]["requests"]
    print(f"  faults: {len(statuses)} sends, {len(accepted)} answered 2xx, "
          f"{statuses.count(503)} answered 503 ({len(late)} of them stored); node 1 killed, "
          f"web1's first 2xx after it {down_s:.1f}s later, node 1 rejoined in {rejoin_s:.1f}s "
          f"({'IST' if ist else 'SST'}); {sent} APNs requests for {len(stored)} deliveries: "
          f"{sent - len(stored)} double sends")
    assert ist, "node 1 did not catch up by IST"
