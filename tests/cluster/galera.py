"""A MariaDB Galera cluster of N nodes on loopback, for the cluster tests.

    cluster = Galera(run_dir / "galera", nodes=3)
    cluster.start()            # bootstrap node 1, join the others, wait until synced
    cluster.nodes[1].query(sql) # a herald_stack.MariaDB-like node: socket, query, migrate
    cluster.kill(2)            # kill -9 one node
    cluster.restart(2)         # bring it back; it catches up by IST (or SST)
    cluster.stop()

Each node has its own data directory and unix socket under run_dir/nodeN, and four
consecutive ports below the ephemeral range: P for clients, then from base port B =
P+1: B group communication (gmcast), B+1 IST, B+2 SST (rsync). Durability is herald's (DESIGN.md section 12):
innodb_flush_log_at_trx_commit=1, plus what Galera needs (binlog_format=ROW,
interleaved auto-increment).

Start-up without a full state transfer: node 1 is initialised and bootstrapped, shut
down cleanly (its grastate.dat then names the cluster and its position), and its data
directory is copied to the others, which join at that very position and need no SST.
When a node comes back after kill -9 it has a position of its own and catches up by
IST from a donor's gcache.

As root, the servers run as the mysql user: the rsync SST starts an rsync daemon,
which as root would switch to "nobody" and fail to write the data directory. When
mysql cannot reach run_dir (a checkout in a 0700 `mktemp -d`), run_dir is a symlink to
a directory under /tmp. stop() removes the data directories, keeping the logs.
"""
import os
import pwd
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tools"))
import herald_stack  # noqa: E402
from herald_stack import StackError, tail, wait_for  # noqa: E402

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
CLUSTER_NAME = "herald-test"
SYNC_TIMEOUT_S = 120


def _ports(count):
    """A port P with P..P+count-1 free on 127.0.0.1, below the kernel's ephemeral range:
    a node killed and restarted binds its ports again, and by then an outgoing
    connection may hold an ephemeral port that free_port() had picked."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        base = random.randrange(max(1024, low - 12000), low - count)
        if all(herald_stack.port_is_free(base + i) for i in range(count)):
            return base
    raise StackError(f"no {count} consecutive free ports below {low}")


class Node(herald_stack.MariaDB):
    """One Galera node. It reuses herald_stack.MariaDB's client (query, migrate) and
    process records; only how it starts differs."""

    def __init__(self, cluster, number):
        super().__init__(cluster.dir / f"node{number}", cluster.processes)
        self.dir = cluster.dir / f"node{number}"  # MariaDB puts it under run_dir/mariadb
        self.datadir = self.dir / "data"
        self.log = self.dir / "mariadb.err"
        self.cluster = cluster
        self.number = number
        self.name = f"node{number}"
        # The client port, then Galera's: group communication, IST, SST.
        taken = {n.port + i for n in cluster.nodes.values() for i in range(4)}
        self.port = _ports(4)
        while taken & set(range(self.port, self.port + 4)):
            self.port = _ports(4)
        self.base_port = self.port + 1
        self.proc = None

    def running(self):
        return bool(self.processes.pids(self.name))

    def argv(self, bootstrap):
        user = "--user=mysql" if os.geteuid() == 0 else None
        peers = ",".join(f"127.0.0.1:{n.base_port}" for n in self.cluster.nodes.values())
        b = self.base_port
        options = (f"base_port={b};gmcast.listen_addr=tcp://127.0.0.1:{b};"
                   f"ist.recv_addr=127.0.0.1:{b + 1};gcache.size=128M;"
                   # Loopback: a node that stops answering is declared gone quickly, so
                   # the survivors keep a primary component and go on.
                   "evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;"
                   "evs.inactive_check_period=PT1S;evs.keepalive_period=PT1S")
        return [
            "mariadbd", "--no-defaults", *filter(None, [user]),
            f"--datadir={self.datadir}", f"--socket={self.socket}", f"--port={self.port}",
            "--bind-address=127.0.0.1", f"--tmpdir={self.dir / 'tmp'}",
            f"--pid-file={self.dir / 'mariadb.pid'}", f"--log-error={self.log}",
            *herald_stack.SERVER_OPTIONS, "--binlog-format=ROW", "--innodb-buffer-pool-size=128M",
            "--wsrep-on=ON", f"--wsrep-provider={PROVIDER}",
            f"--wsrep-cluster-name={CLUSTER_NAME}", f"--wsrep-cluster-address=gcomm://{peers}",
            f"--wsrep-node-name={self.name}", f"--wsrep-node-address=127.0.0.1:{b}",
            f"--wsrep-provider-options={options}",
            f"--wsrep-sst-receive-address=127.0.0.1:{b + 2}", "--wsrep-sst-method=rsync",
            *(["--wsrep-new-cluster"] if bootstrap else []),
        ]

    def recover(self):
        """The position (uuid:seqno) this node's InnoDB holds, as Debian's
        galera_recovery finds it after a crash: a node that was killed has no position
        in grastate.dat, and without one it would need a full state transfer."""
        log = self.dir / "recover.err"
        log.unlink(missing_ok=True)
        argv = [a for a in self.argv(False) if not a.startswith("--log-error=")]
        subprocess.run([*argv, f"--log-error={log}", "--wsrep-recover"], capture_output=True,
                       timeout=120)
        found = re.findall(r"Recovered position: ([0-9a-f-]{36}:-?\d+)", tail(log, 50))
        return found[-1] if found else None

    def start(self, bootstrap=False, timeout=SYNC_TIMEOUT_S, recover=False):
        """Start this node and wait until it is synced with the cluster and ready;
        recover: start from the position InnoDB recovers (after kill -9), so that the
        node catches up by IST."""
        self.socket = herald_stack.short_dir(self.dir / "sock") / "mariadb.sock"
        (self.dir / "tmp").mkdir(parents=True, exist_ok=True)
        self.datadir.mkdir(parents=True, exist_ok=True)
        self.cluster.own(self.dir)
        self.cluster.own(self.socket.parent)
        position = self.recover() if recover else None
        argv = self.argv(bootstrap) + ([f"--wsrep-start-position={position}"] if position else [])
        self.proc = self.processes.spawn(self.name, argv, self.dir / "mariadbd.out",
                                         marker=f"--datadir={self.datadir}")
        self.wait_ready(timeout)

    def status(self):
        """{name: value} of the wsrep status variables, {} when the node does not answer."""
        try:
            return dict(self.query("SHOW GLOBAL STATUS LIKE 'wsrep_%'", database=None,
                                   timeout=10))
        except StackError:
            return {}

    def wait_ready(self, timeout=SYNC_TIMEOUT_S, size=None):
        def ready():
            if self.proc is not None and self.proc.poll() is not None:
                raise StackError(f"{self.name} exited with {self.proc.returncode}:\n{tail(self.log)}")
            s = self.status()
            return (s.get("wsrep_ready") == "ON" and s.get("wsrep_local_state_comment") == "Synced"
                    and (size is None or s.get("wsrep_cluster_size") == str(size)))
        wait_for(ready, timeout, f"{self.name} to be synced")

    def stop(self, timeout=60):
        self.processes.stop(self.name, timeout)

    def kill(self):
        """kill -9: no shutdown, no goodbye to the cluster."""
        for pid in self.processes.pids(self.name):
            os.kill(pid, 9)
        wait_for(lambda: not self.running(), 30, f"{self.name} to die")
        (self.processes.dir / self.name).unlink(missing_ok=True)


class Galera:
    def __init__(self, run_dir, nodes=3):
        mysql = "mysql" if os.geteuid() == 0 else None
        self.dir = herald_stack.short_dir(run_dir, "node1/sock/mariadb.sock", mysql).resolve()
        self.processes = herald_stack.Processes(self.dir)
        self.nodes = {}
        for n in range(1, nodes + 1):
            self.nodes[n] = Node(self, n)

    def own(self, path):
        """As root, hand path (and what is in it) to the mysql user."""
        if os.geteuid() != 0:
            return
        mysql = pwd.getpwnam("mysql")
        for root, dirs, files in os.walk(path):
            for name in [root, *(os.path.join(root, x) for x in dirs + files)]:
                os.lchown(name, mysql.pw_uid, mysql.pw_gid)

    def _seed(self):
        """Node 1's data directory, initialised and bootstrapped once (so it carries the
        cluster's id and position), copied to every other node."""
        first = self.nodes[1]
        first.dir.mkdir(parents=True, exist_ok=True)
        self.own(first.dir)
        user = ["--user=mysql"] if os.geteuid() == 0 else []
        result = subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={first.datadir}",
             "--auth-root-authentication-method=normal", "--skip-test-db", *user],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise StackError(f"mariadb-install-db failed:\n{result.stdout}{result.stderr}")
        first.start(bootstrap=True)
        first.stop()
        for node in list(self.nodes.values())[1:]:
            herald_stack.remove_dir(node.datadir)
            shutil.copytree(first.datadir, node.datadir, symlinks=True,
                            ignore=shutil.ignore_patterns("gvwstate.dat", "*.pid"))

    def start(self):
        """Bootstrap node 1 and join the others; wait until all are synced in one
        cluster of len(nodes)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.own(self.dir)
        self._seed()
        self.nodes[1].start(bootstrap=True)
        # One joiner at a time: a donor serves one state transfer at once, and a
        # second joiner asking meanwhile is refused and gives up.
        for node in list(self.nodes.values())[1:]:
            node.start()
        for node in self.nodes.values():
            node.wait_ready(size=len(self.nodes))

    def wait_synced(self, timeout=SYNC_TIMEOUT_S):
        """Wait until every node is synced and sees all of them, and every node has
        applied what any had committed when this was called."""
        for node in self.nodes.values():
            node.wait_ready(timeout, size=len(self.nodes))
        for node in self.nodes.values():
            # wsrep_sync_wait makes this read wait for the node to apply everything
            # the cluster had committed before it.
            node.query("SET SESSION wsrep_sync_wait = 1; SELECT 1", database=None)

    def kill(self, number):
        self.nodes[number].kill()

    def restart(self, number, timeout=SYNC_TIMEOUT_S):
        """Start a killed node again from its recovered position (IST)."""
        self.nodes[number].start(timeout=timeout, recover=True)

    def stop(self):
        for node in reversed(list(self.nodes.values())):
            node.stop()
        for node in self.nodes.values():
            herald_stack.remove_dir(node.dir / "sock")
            herald_stack.remove_dir(node.datadir)
