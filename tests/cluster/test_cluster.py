"""herald on a 3-node Galera cluster: web1 (lighttpd) writes through node 1, web2
(Apache) through node 2, worker-a claims on node 1 and worker-b on node 2 (run.py).
Each test proves one promise of DESIGN.md section 12 across nodes."""
import concurrent.futures
import os
import re
import secrets
import time

import delivery
import load
from test_quotas import set_quota

WEBS = ("web1", "web2")
# Deliveries in the claims test (CI's size; bench/cluster counts double sends over
# 20,000 the same way).
CLAIM_DELIVERIES = int(os.environ.get("HERALD_CLUSTER_DELIVERIES", "3000"))


def push(ctx, web, f, **fields):
    body = {"app_user_id": f.user, "title": "Hello", "body": "World", **fields}
    return ctx.request(web, "POST", "/developer/push", body, headers={"X-Server-Key": f.server_key})


def at_once(calls):
    """Run every call at the same moment (each in its own thread); their results."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda c: c(), calls))


def delivered_by_worker(ctx):
    """{worker: deliveries it delivered since it started}: stops the workers (each
    logs its totals when it stops) and starts them again."""
    ctx.runner.stop_workers()
    found = {}
    for name, web in ctx.runner.WORKERS.items():
        text = (ctx.stacks[web].run_dir / f"{name}.log").read_text()
        found[name] = int(re.findall(r"stopping: delivered (\d+)", text)[-1])
    ctx.runner.start_workers()
    return found


def counts_on_every_node(ctx, sql):
    ctx.cluster.wait_synced()
    return [node.query(sql)[0][0] for node in ctx.cluster.nodes.values()]


def test_one_dedupe_key_sent_at_once_through_both_web_hosts_stores_one_message(ctx):
    f = ctx.fixture()
    before = load.conflicts(ctx.cluster)
    rounds, per_round = 8, 12
    for r in range(rounds):
        key = f"cluster-{r}-{secrets.token_hex(6)}"
        answers = at_once([lambda i=i: push(ctx, WEBS[i % 2], f, dedupe_key=key)
                           for i in range(per_round)])
        statuses = sorted(a[0] for a in answers)
        assert all(s in (200, 201) for s in statuses), [(a[0], a[2][:200]) for a in answers]
        assert statuses.count(201) == 1, statuses
    stored = counts_on_every_node(ctx, f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")
    assert stored == [str(rounds)] * 3, stored
    print(f"  dedupe: {rounds * per_round} sends, {rounds} stored, "
          f"{load.conflicts(ctx.cluster) - before} Galera conflicts retried")


def test_quota_is_never_exceeded_by_concurrent_sends_through_both_web_hosts(ctx):
    f = ctx.fixture()
    quota, sends = 25, 60
    set_quota(ctx, f, quota, None)
    answers = at_once([lambda i=i: push(ctx, WEBS[i % 2], f) for i in range(sends)])
    statuses = [a[0] for a in answers]
    assert set(statuses) <= {201, 429, 503}, statuses
    accepted = statuses.count(201)
    assert accepted <= quota, statuses
    # A send refused with 503 (conflicts past the retries) is the client's to repeat;
    # all the others are decided: the quota fills exactly.
    assert accepted + statuses.count(503) >= quota, statuses
    stored = counts_on_every_node(ctx, f"SELECT COUNT(*) FROM messages WHERE app_id = {f.app_id}")
    assert stored == [str(accepted)] * 3, (stored, accepted)


def test_two_workers_on_two_nodes_never_send_a_delivery_twice(ctx):
    f = ctx.fixture(devices=0)
    delivery.set_credentials(ctx, f, "apns")
    users = load.users_with_devices(ctx, f, 10, CLAIM_DELIVERIES // 10)
    ctx.cluster.wait_synced()
    ctx.mocks.reset()
    before = load.conflicts(ctx.cluster)
    started = time.monotonic()
    ctx.restart_workers()  # so that their totals count this test's deliveries only
    queued = 0
    # Queued through both nodes, a message at a time, while both workers claim.
    for n, user in enumerate(users):
        queued += load.queue_message(ctx.cluster.nodes[1 + n % 2], f.app_id, user)
    states = load.wait_final(ctx.db, f.app_id, timeout=600)
    seconds = time.monotonic() - started
    assert states == {"delivered": queued}, states
    sent = ctx.mocks.stats()["providers"]["apns"]["requests"]
    [(attempts,)] = ctx.db.query(f"SELECT SUM(attempts) FROM deliveries WHERE app_id = {f.app_id}")
    by_worker = delivered_by_worker(ctx)
    print(f"  claims: {queued} deliveries, {sent} APNs requests, {sent - queued} double sends, "
          f"{load.conflicts(ctx.cluster) - before} Galera conflicts, {queued / seconds:.0f} "
          f"delivered/s, by worker {by_worker}")
    assert sent == queued, (sent, queued)
    assert all(by_worker.values()), by_worker
    assert int(attempts) == queued, (attempts, queued)


def test_rate_limit_per_address_is_per_web_host_node(ctx):
    """docs/scale-out.md: the rate_limit table is MEMORY, which Galera does not
    replicate, so each node counts the requests of the web hosts that use it. One
    address gets at most rate_limit_per_address in a second through each node, and so
    at most twice that through both."""
    f = ctx.fixture()
    source = ctx.source()
    body = {"app_user_id": f.user, "title": "t", "body": "b"}

    def send(web):
        return web, ctx.request(web, "POST", "/developer/push", body,
                                headers={"X-Server-Key": f.server_key}, source=source)[0]
    # Start at the beginning of a second of the clock, as the table counts by second.
    time.sleep(1 - time.time() % 1)
    first = int(time.time())
    answers = at_once([lambda i=i: send(WEBS[i % 2]) for i in range(4 * ctx.rate_limit)])
    seconds = int(time.time()) - first + 1
    assert {status for _, status in answers} <= {201, 429}, answers
    accepted = {web: sum(1 for w, s in answers if w == web and s == 201) for web in WEBS}
    # Each node admits at most the limit in each second the burst took...
    assert all(n <= ctx.rate_limit * seconds for n in accepted.values()), (seconds, accepted)
    assert any(s == 429 for _, s in answers), answers
    # ... and counts only its own: together they admit more than one node would.
    if seconds == 1:
        assert sum(accepted.values()) > ctx.rate_limit, accepted
    print(f"  rate limit: {len(answers)} requests from one address in {seconds}s, "
          f"accepted {accepted} with rate_limit_per_address = {ctx.rate_limit}")


def test_apns_token_is_shared_by_workers_on_two_nodes(ctx):
    f = ctx.fixture(devices=0)
    ctx.runner.stop_workers()
    # A token history that starts now: the mock forgets the tokens it accepted, the
    # cluster forgets its shared token, and the workers start without one.
    ctx.mocks.reset(tokens=True)
    ctx.db.query("DELETE FROM provider_tokens")
    delivery.set_credentials(ctx, f, "apns")
    users = load.users_with_devices(ctx, f, 4, 500)
    for n, user in enumerate(users):
        load.queue_message(ctx.cluster.nodes[1 + n % 2], f.app_id, user)
    ctx.cluster.wait_synced()
    ctx.runner.start_workers()
    states = load.wait_final(ctx.db, f.app_id, timeout=120)
    statuses = ctx.mocks.stats()["providers"]["apns"]["statuses"]
    assert states == {"delivered": 2000}, (states, statuses)
    assert set(statuses) == {"200"}, statuses
    [(tokens,)] = ctx.db.query("SELECT COUNT(*) FROM provider_tokens")
    assert tokens == "1", tokens
    by_worker = delivered_by_worker(ctx)
    assert all(by_worker.values()), by_worker
    print(f"  apns token: 2000 deliveries, by worker {by_worker}, one shared token, "
          f"APNs statuses {statuses}")
