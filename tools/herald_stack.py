#!/usr/bin/python3
"""Start, stop and inspect a private herald stack: MariaDB, lighttpd, Apache.

One module for `tools/herald-local` (a demo stack that outlives the command) and for
the integration tests (a stack per test run, stopped when the run ends):

    python3 tools/herald_stack.py up --run-dir run --program-dir .   [--port 8080]
    python3 tools/herald_stack.py status --run-dir run
    python3 tools/herald_stack.py down --run-dir run

Everything lives under the run directory:

    mariadb/      data directory, socket, error log        (mode 0700)
    herald.conf   the configuration every program reads (HERALD_CONFIG)
    lighttpd/     lighttpd.conf made from httpd-conf/lighttpd.conf.in, logs, web/
    apache/       apache.conf made from httpd-conf/apache.conf.in, logs, web/
      web/        what the server's workers open by path: sockets, document root,
                  runtime files (a link to a directory under /tmp when the run
                  directory is too deep for unix sockets or, as root, out of reach
                  of Apache's workers: Stack.web_dir)
    pids/         one file per process (group) started here, so that any later
                  `down` stops exactly those
    herald.env    the demo's URL and keys as shell assignments (`up` only)

`up` as root (tools/herald-local) is the exception: the services run as their own
user, and what they open lives in that user's home, which run_dir/service points to
(herald_service_user.py has its layout); the run directory keeps herald.env and pids/.

Servers listen on 127.0.0.1 only and MariaDB on its unix socket only. Every daemon
runs in its own session (process group), so stopping one stops its children too.
"""
import argparse
import dataclasses
import grp
import http.client
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import herald_service_user as service
from herald_service_user import make_dir, make_file, own, popen_options

REPO = Path(__file__).resolve().parent.parent
DB_NAME = "herald"
DB_USER = "root"
# The roles herald-migrate makes for a database (schema/grants).
ROLES = ("web", "worker", "admin")
# Program name -> path under the program directory (the build tree). The route of
# each is in the httpd-conf/ templates.
PROGRAMS = {
    "developer": "cgi-bin/developer.fcgi",
    "legacy": "cgi-bin/legacy.fcgi",
    "audience": "cgi-bin/audience.fcgi",
    "devices": "cgi-bin/devices.fcgi",
    "webpush": "cgi-bin/webpush.fcgi",
    "inbox": "cgi-bin/inbox.fcgi",
    "ops": "cgi-bin/ops.fcgi",
}
WORKER = "worker/herald-worker"
PROCS_PER_PROGRAM = 3
# The programs that batch their sends (lib/send/hd_batch.h). A process batches only its
# own request threads' sends, so fewer processes make larger batches
# (docs/performance.md): herald-local and bench/run run one. None: as many as
# PROCS_PER_PROGRAM (the tests, which want several processes of every program).
BATCHING_PROGRAMS = ("developer", "legacy")
SEND_PROCS_PER_PROGRAM = None
APACHE_MODULE_DIR = "/usr/lib/apache2/modules"
WEB_USER = "www-data"  # Apache's workers run as this user when we are root
SUN_PATH_MAX = 107     # longest unix socket path Linux accepts


def send_procs():
    """How many FastCGI processes of each batching program the stack runs."""
    return PROCS_PER_PROGRAM if SEND_PROCS_PER_PROGRAM is None else SEND_PROCS_PER_PROGRAM


def procs_of(program):
    """How many FastCGI processes of program the stack runs."""
    return send_procs() if program in BATCHING_PROGRAMS else PROCS_PER_PROGRAM


class StackError(Exception):
    """Something in the stack failed to start or answer; the message says what."""


def wait_for(check, timeout, what):
    """Call check() until it returns a true value (returned) or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred=None):
    """preferred if it is free on 127.0.0.1, else a port the kernel picks."""
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sql_str(value):
    """A MariaDB literal for a Python str, int or None."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0") + "'"


_BATCH_ESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "0": "\0"}


def _unescape(field):
    """Undo the escaping of `mariadb --batch`; its NULL comes back as None."""
    if field == "NULL":
        return None
    return re.sub(r"\\(.)", lambda m: _BATCH_ESCAPES.get(m.group(1), m.group(1)), field)


# DELIMITER is a command of the mariadb client, not SQL: a script that uses it runs
# through that client.
_CLIENT_SCRIPT = re.compile(r"^\s*DELIMITER\s", re.MULTILINE | re.IGNORECASE)


def _text(value):
    """A value of a result set as `mariadb --batch` gives it: text, or None for NULL."""
    return value.decode() if isinstance(value, bytes) else value


def tail(path, lines=15):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _proc_stat(pid):
    """(state, process group, start time) of pid from /proc, or None if there is no
    such process. The start time (clock ticks after boot) and the pid together name one
    process: a pid is used again, never with the same start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[0], int(fields[2]), int(fields[19])


def thread_states(pid):
    """The state letter (R, S, D, T, ...) of each thread of pid, from
    /proc/<pid>/task/*/stat; [] if there is no such process."""
    states = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return states
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread has just ended
            continue
        states.append(stat[stat.rindex(")") + 2])
    return states


def _alive(pid):
    """True while any thread of process pid is live (not a zombie). A killed process's
    main thread becomes a zombie first, while its other threads may still be finishing
    what they were doing (a write to a data file, say): until the last has ended, the
    process has not ended."""
    return any(state not in "ZX" for state in thread_states(pid))


def _group_alive(pgid):
    """True while any live process is in process group pgid."""
    return any(stat[1] == pgid and _alive(int(pid))
               for pid in filter(str.isdigit, os.listdir("/proc"))
               if (stat := _proc_stat(pid)) is not None)


def _owned(pid, marker):
    """True if pid's command line contains marker or its working directory is marker:
    how pid files written without start times (by an older herald_stack) are told from
    a reused pid. An ending process shows neither, so it counts as gone early."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return False
    return marker in cmdline or cwd == marker


def traversable(path, user):
    """True if user may search every directory from / down to path (what opening a file
    under path by name needs)."""
    pw = pwd.getpwnam(user)
    groups = {g.gr_gid for g in grp.getgrall() if user in g.gr_mem} | {pw.pw_gid}
    for p in [Path(path).resolve(), *Path(path).resolve().parents]:
        st = p.stat()
        if st.st_uid == pw.pw_uid:
            bit = 0o100
        elif st.st_gid in groups:
            bit = 0o010
        else:
            bit = 0o001
        if not st.st_mode & bit:
            return False
    return True


def short_dir(path, longest="developer.sock", web_user=None):
    """Create and return path, a directory for unix sockets (the longest of them named
    longest, relative to path). When that socket would pass the unix socket path
    limit, or web_user (a user name) could not traverse path's parents, path becomes
    a symlink to a fresh directory under /tmp, which is returned instead: /tmp is
    short and every user may search it."""
    path = Path(path)
    reachable = web_user is None or traversable(path.parent, web_user)
    if len(str(path / longest)) <= SUN_PATH_MAX and reachable:
        path.mkdir(parents=True, exist_ok=True)
        return path
    if path.is_symlink() and Path(os.readlink(path)).is_dir():
        return Path(os.readlink(path))
    target = Path(tempfile.mkdtemp(prefix="herald-", dir="/tmp"))
    os.symlink(target, path)
    return target


def remove_dir(path):
    """Remove path; if it is a symlink made by short_dir, remove its target too."""
    path = Path(path)
    if path.is_symlink():
        shutil.rmtree(os.readlink(path), ignore_errors=True)
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def make_secret_file(path, text):
    """Create path (mode 0600) holding text, unless it exists: a secret made once is
    kept, since what it sealed or the account it opens must stay usable across
    restarts. Returns the file's text."""
    path = Path(path)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
    return path.read_text()


def write_credentials_key(path, key_id="local-1"):
    """Create path, a credentials_key_file with one fresh key, unless it exists."""
    make_secret_file(path, "# herald credentials keys (docs/credentials.md): the first one"
                     f" seals.\n{key_id} {secrets.token_hex(32)}\n")


class Processes:
    """The processes a stack started, recorded in run_dir/pids/<name>: first line a
    marker that identifies them (see _owned), then a line per process: its pid and its
    start time (see _proc_stat), which tell it from a later process given the same pid
    for as long as any of its threads runs. Each pid leads its own process group, which
    is what gets signalled."""

    def __init__(self, run_dir):
        self.dir = Path(run_dir) / "pids"
        self.children = {}  # pid -> Popen, for processes this Python process started

    def spawn(self, name, argv, log, marker, env=None, cwd=None, user=None):
        """Start argv in a new session with output to log; record and return it. With
        user (a name), it runs as that user, and log is that user's file (not
        followed if it is a symlink: the user may write its directory)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
        with os.fdopen(fd, "ab") as out:
            if user:
                os.fchown(fd, *service.identity(user))
                cwd = cwd or "/"  # not the caller's, which user may not enter
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    env=env, cwd=cwd, start_new_session=True,
                                    **popen_options(user))
        self.children[proc.pid] = proc
        self.record(name, marker, [proc.pid])
        return proc

    def record(self, name, marker, pids):
        self.dir.mkdir(parents=True, exist_ok=True)
        # A process gone already gets start time 0, which no later process has.
        lines = [f"{p} {(_proc_stat(p) or (0, 0, 0))[2]}" for p in pids]
        (self.dir / name).write_text("\n".join([marker] + lines) + "\n")

    def pids(self, name):
        """The recorded pids of name that are still alive and ours."""
        try:
            marker, *lines = (self.dir / name).read_text().splitlines()
        except (OSError, ValueError):
            return []
        found = []
        for line in lines:
            pid, _, started = line.partition(" ")
            stat = _proc_stat(int(pid))
            ours = (stat is not None and str(stat[2]) == started) if started \
                else _owned(int(pid), marker)
            if ours and self.alive(int(pid)):
                found.append(int(pid))
        return found

    def alive(self, pid):
        proc = self.children.get(pid)
        if proc is not None:
            proc.poll()  # reaps it if it has exited
        return _alive(pid)

    def group_gone(self, pid):
        self.alive(pid)
        return not _group_alive(pid)

    def names(self):
        return sorted(p.name for p in self.dir.iterdir()) if self.dir.is_dir() else []

    def stop(self, name, timeout=30):
        """SIGTERM the process groups of name, SIGKILL what is left after timeout. Waits
        for every process of the groups, so that programs that write a report when
        they exit (LeakSanitizer) have written it."""
        pids = self.pids(name)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                try:
                    os.killpg(pid, sig)
                except ProcessLookupError:
                    pass
            try:
                wait_for(lambda: all(self.group_gone(p) for p in pids), timeout, f"{name} to stop")
                break
            except StackError:
                if sig == signal.SIGKILL:
                    raise
        (self.dir / name).unlink(missing_ok=True)


# What every private MariaDB server (this module's, and each node of the test cluster)
# runs with.
SERVER_OPTIONS = (
    "--skip-name-resolve", "--max-connections=500",
    "--character-set-server=utf8mb4", "--collation-server=utf8mb4_nopad_bin",
    # A 2xx answer means the message is on disk (DESIGN.md section 12).
    "--innodb-flush-log-at-trx-commit=1",
    # Interleaved auto-increment, as Galera requires.
    "--innodb-autoinc-lock-mode=2",
    # Tests kill the server and start another on its files. With io_uring, the kernel
    # does not wait at a process's exit for its reads and writes of ordinary files
    # still in flight, while the server's file locks go with the process: a killed
    # server's last page writes could land after the next server has read those
    # pages (a suspected cause of one failed recovery, not shown). Without native
    # AIO, InnoDB's own I/O threads write with pwrite(), in the background as before,
    # and a write ends before its thread can. The only setting here that a packaged
    # MariaDB does not share.
    "--innodb-use-native-aio=0",
)


class MariaDB:
    """A private MariaDB server: own data directory and socket, no TCP. With user (a
    name), the server runs as that user, and its socket directory is beside its
    directory rather than in it (see herald_service_user)."""

    def __init__(self, run_dir, processes, user=None):
        self.dir = Path(run_dir) / "mariadb"
        self.datadir = self.dir / "data"
        self.log = self.dir / "mariadb.err"
        self.sock_dir = Path(run_dir) / "mariadb-sock" if user else self.dir / "sock"
        self.processes = processes
        self.user = user
        self.socket = None

    def running(self):
        return bool(self.processes.pids("mariadb"))

    def start(self, timeout=60):
        """Start the server (creating the data directory the first time); wait until it
        answers. Starting a running server does nothing."""
        # The socket lets anyone in as root without a password.
        self.dir.mkdir(parents=True, exist_ok=True)
        sock_dir = short_dir(self.sock_dir)
        for d in (self.dir, sock_dir):
            if self.user:
                own(d, self.user, 0o700)
            else:
                d.chmod(0o700)
        self.socket = sock_dir / "mariadb.sock"
        if self.running():
            return
        as_root = ["--user=root"] if os.geteuid() == 0 and not self.user else []
        if not (self.datadir / "mysql").is_dir():
            if self.datadir.exists() and not self.datadir.is_symlink():
                shutil.rmtree(self.datadir)
            result = subprocess.run(
                ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
                 "--auth-root-authentication-method=normal", "--skip-test-db", *as_root],
                capture_output=True, text=True, timeout=120, cwd=self.dir,
                **popen_options(self.user))
            if result.returncode != 0:
                raise StackError(f"mariadb-install-db failed:\n{result.stdout}{result.stderr}")
        # Its own directory for temporary tables too: /tmp is shared with everything
        # else on the machine, and a file removed under the server fails its query.
        tmpdir = self.dir / "tmp"
        if not tmpdir.exists():  # made by root, in a directory the user may write
            os.mkdir(tmpdir, 0o700)
            if self.user:
                os.lchown(tmpdir, *service.identity(self.user))
        proc = self.processes.spawn("mariadb", [
            "mariadbd", "--no-defaults", f"--datadir={self.datadir}", f"--socket={self.socket}",
            f"--tmpdir={tmpdir}",
            f"--pid-file={self.dir / 'mariadb.pid'}", f"--log-error={self.log}",
            "--skip-networking", *SERVER_OPTIONS, *as_root],
            self.dir / "mariadbd.out", marker=f"--datadir={self.datadir}", user=self.user)

        def answers():
            if proc.poll() is not None:
                raise StackError(f"mariadbd exited with {proc.returncode}:\n{tail(self.log)}")
            try:
                return self.query("SELECT 1", database=None, timeout=10) == [("1",)]
            except StackError:
                return False
        wait_for(answers, timeout, "MariaDB to answer")

    def stop(self, timeout=60):
        self.processes.stop("mariadb", timeout)

    def query(self, sql, database=DB_NAME, timeout=60):
        """Run SQL (any number of statements) in a session of its own, as the mariadb
        client would; return the rows of its result sets as tuples of str, None for
        NULL. Raises StackError with the server's message on any error."""
        if _CLIENT_SCRIPT.search(sql):
            return self._client_script(sql, database, timeout)
        # Imported here: bench/deliver installs Debian's python3-pymysql after it has
        # imported this module (tools/herald-common.sh installs it for the rest).
        import pymysql
        from pymysql.constants import CLIENT
        # A connection per call, like a client per call: nothing a call leaves in its
        # session (a transaction, a lock, a variable) reaches the next one. It costs
        # about a millisecond; starting the mariadb client costs about 25.
        rows = []
        try:
            with pymysql.connect(
                    unix_socket=str(self.socket), user=DB_USER, password="", database=database,
                    charset="utf8mb4", autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS,
                    conv={}, connect_timeout=5, read_timeout=timeout,
                    write_timeout=timeout) as conn, conn.cursor() as cursor:
                cursor.execute(sql)
                while True:
                    if cursor.description:
                        rows += [tuple(_text(v) for v in row) for row in cursor.fetchall()]
                    if not cursor.nextset():
                        break
        except pymysql.Error as e:
            raise StackError(f"ERROR {': '.join(str(a) for a in e.args)}") from None
        return rows

    def _client_script(self, sql, database, timeout):
        result = subprocess.run(
            ["mariadb", "--no-defaults", "--protocol=socket", f"--socket={self.socket}",
             f"--user={DB_USER}", "--default-character-set=utf8mb4", "--connect-timeout=5",
             "--batch", "--skip-column-names", *([f"--database={database}"] if database else [])],
            input=sql, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise StackError(result.stderr.strip() or f"mariadb exited with {result.returncode}")
        return [tuple(_unescape(f) for f in line.split("\t")) for line in result.stdout.splitlines()]

    def drop_database(self, database):
        """Drop database and the roles herald-migrate made for it."""
        roles = ", ".join(f"`{database}_{r}`" for r in ROLES)
        self.query(f"DROP DATABASE IF EXISTS `{database}`; DROP ROLE IF EXISTS {roles}",
                   database=None)

    def create_accounts(self, secrets_dir, owner=None, database=DB_NAME):
        """The accounts of docs/accounts.md for a migrated database: users
        <database>-web and <database>-worker on localhost with the roles herald-migrate
        made, each with a password kept in a file in secrets_dir (given to owner), made
        once and kept from then on. Returns the herald.conf settings that use them."""
        settings = {}
        for role, prefix in (("web", ""), ("worker", "worker_")):
            user, path = f"{database}-{role}", Path(secrets_dir) / f"db-{role}.password"
            password = make_secret_file(path, secrets.token_hex(24) + "\n").strip()
            if owner:
                own(path, owner, 0o600)
            account = f"{sql_str(user)}@'localhost'"
            self.query(f"CREATE USER IF NOT EXISTS {account};"
                       f" ALTER USER {account} IDENTIFIED BY {sql_str(password)};"
                       f" GRANT `{database}_{role}` TO {account};"
                       f" SET DEFAULT ROLE `{database}_{role}` FOR {account}", database=None)
            settings.update({f"{prefix}db_user": user, f"{prefix}db_password_file": path})
        return settings

    def migrate(self, database=DB_NAME, to=None, migrations=None):
        """Apply the migrations with tools/herald-migrate; return its output."""
        argv = [str(REPO / "tools" / "herald-migrate"), "--socket", str(self.socket),
                "--database", database, "--user", DB_USER]
        argv += ["--to", str(to)] if to is not None else []
        argv += ["--dir", str(migrations)] if migrations else []
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise StackError(f"herald-migrate failed:\n{result.stdout}{result.stderr}")
        return result.stdout


@dataclasses.dataclass
class Fixture:
    """A tenant with one app, one app user, its devices and keys (plaintext by kind)."""
    tenant_id: int
    app_id: int
    app_uid: str
    user: str
    user_email: str
    user_uid: str
    user_id: int
    device_ids: list
    device_uids: list
    device_tokens: list
    keys: dict
    key_ids: dict

    @property
    def company_id(self):
        return self.tenant_id

    @property
    def server_key(self):
        return self.keys.get("server")

    @property
    def integration_key(self):
        return self.keys.get("integration")

    @property
    def client_key(self):
        return self.keys.get("client")


def _issue_key_sql(kind, label):
    """SQL that issues a key of kind for @t/@a into @k_<kind>, @kid_<kind>."""
    out = f"@kid_{kind}, @k_{kind}"
    if kind == "user_token":  # tenant-level, then granted the app
        return (f"CALL hd_issue_key('user_token', @t, NULL, {sql_str(label)}, {out});\n"
                f"CALL hd_grant_key_app(@kid_{kind}, @a);\n")
    if kind == "bearer":      # bound to the fixture's user
        return f"CALL hd_issue_bearer_key(@a, @u, {sql_str(label)}, {out});\n"
    return f"CALL hd_issue_key({sql_str(kind)}, @t, @a, {sql_str(label)}, {out});\n"


def create_fixture(db, tenant="Test tenant", app="Test app", user="user_123", email=None,
                   devices=1, kinds=("server", "integration", "client")):
    """Create a tenant, an app, an app user with `devices` active iOS devices with push
    permission, and one key of each kind, through the admin procedures."""
    email = email if email is not None else f"{user}@example.com"
    tokens = [secrets.token_hex(32) for _ in range(devices)]
    uids = [secrets.token_hex(16) for _ in range(devices)]
    script = (f"CALL hd_create_tenant({sql_str(tenant)}, @t);\n"
              f"CALL hd_create_app(@t, {sql_str(app)}, @a, @auid);\n"
              f"SET @u = {sql_str(user)};\n"
              f"CALL hd_create_app_user(@a, @u, {sql_str(email)}, @uuid);\n"
              "SET @uid = (SELECT id FROM app_users WHERE uid = @uuid);\n")
    for uid, token in zip(uids, tokens):
        script += ("INSERT INTO devices (uid, app_id, app_user_id, platform, token, token_hash,"
                   " push_permission, status) VALUES "
                   f"({sql_str(uid)}, @a, @uid, 'ios', {sql_str(token)},"
                   f" UNHEX(SHA2({sql_str(token)}, 256)), 1, 'active');\n")
    for kind in kinds:
        script += _issue_key_sql(kind, f"{app} {kind} key")
    script += "SELECT @t, @a, @auid, @uuid, @uid"
    script += "".join(f", @kid_{k}, @k_{k}" for k in kinds) + ";\n"
    script += ("SELECT id FROM devices WHERE uid IN (" + ",".join(map(sql_str, uids)) + ")"
               " ORDER BY id;\n") if uids else ""
    rows = db.query(script)
    t, a, auid, uuid, uid, *keys = rows[0]
    device_ids = sorted(int(r[0]) for r in rows[1:])
    return Fixture(tenant_id=int(t), app_id=int(a), app_uid=auid, user=user, user_email=email,
                   user_uid=uuid, user_id=int(uid), device_ids=device_ids, device_uids=uids,
                   device_tokens=tokens, keys=dict(zip(kinds, keys[1::2])),
                   key_ids={k: int(i) for k, i in zip(kinds, keys[0::2])})


def fill_template(template, values):
    """The text of a template (a file name under httpd-conf/, or a path) with every
    @NAME@ replaced."""
    text = (REPO / "httpd-conf" / template).read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise StackError(f"{template}: no value for {', '.join(sorted(set(left)))}")
    return text


def http_get(url, timeout=5):
    """(status, body) of a GET, or (None, reason) if the server cannot be reached."""
    host, port, path = re.match(r"http://([^:/]+):(\d+)(/.*)", url).groups()
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except OSError as e:
        return None, str(e)
    finally:
        conn.close()


class Stack:
    """A private herald stack under run_dir, running the programs of program_dir.

    Used as a context manager, it stops everything it started when the block ends,
    however it ends. sanitizer_logs: a directory where ASan/UBSan write their reports
    (the programs get ASAN_OPTIONS/UBSAN_OPTIONS pointing there)."""

    def __init__(self, run_dir, program_dir, sanitizer_logs=None):
        self.run_dir = Path(run_dir).resolve()
        self.program_dir = Path(program_dir).resolve()
        # Where the services keep their files: the run directory, or, when its
        # pointer is there (herald-local up as root), a home of their own user's
        # outside the checkout (herald_service_user). home/var is then the user's.
        pointer = self.run_dir / service.POINTER
        self.user = service.SERVICE_USER if pointer.is_symlink() else None
        self.home = Path(os.readlink(pointer)) if self.user else self.run_dir
        self.var_dir = self.home / "var" if self.user else self.run_dir
        self.processes = Processes(self.run_dir)
        self.db = MariaDB(self.home, self.processes, user=self.user)
        self.config_path = self.home / "herald.conf"
        # The table every FastCGI process of the stack counts into, and the worker's
        # textfile-collector file (docs/metrics.md).
        self.metrics_path = self.var_dir / "metrics"
        self.worker_metrics_path = self.var_dir / "herald-worker.prom"
        # The key that seals provider secrets in the database (docs/credentials.md).
        self.credentials_key_path = self.home / "credentials.key"
        self.sanitizer_logs = sanitizer_logs
        # herald.conf's account settings once create_accounts() has run; until then
        # the programs connect as DB_USER.
        self.accounts = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def start_db(self):
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.user:
            make_dir(self.var_dir, self.user)
        self.db.start()

    def create_accounts(self):
        """Give the programs and the worker the least-privileged accounts of
        docs/accounts.md (the database must be migrated), in herald.conf from the next
        write_config() on."""
        self.accounts = self.db.create_accounts(self.home, owner=self.user)

    def write_config(self, **settings):
        """Write herald.conf for this stack; settings add or override keys (None
        leaves a key out)."""
        values = {"db_socket": self.db.socket, "db_name": DB_NAME, "db_user": DB_USER,
                  **self.accounts, "log_level": "info", "metrics_file": self.metrics_path,
                  "worker_metrics_file": self.worker_metrics_path,
                  "credentials_key_file": self.credentials_key_path, **settings}
        if values["credentials_key_file"] == self.credentials_key_path:
            write_credentials_key(self.credentials_key_path)
            if self.user:
                own(self.credentials_key_path, self.user, 0o600)
        lines = ["# herald configuration of the private stack in this directory,",
                 "# written by tools/herald_stack.py. Keys: herald.conf(5), man/herald.conf.5."]
        lines += [f"{k} = {v}" for k, v in values.items() if v is not None]
        self.config_path.write_text("\n".join(lines) + "\n")
        if self.user:
            own(self.config_path, self.user, 0o640, group_only=True)

    def program_env(self):
        """Environment of the FastCGI programs."""
        env = dict(os.environ, HERALD_CONFIG=str(self.config_path))
        if self.sanitizer_logs:
            Path(self.sanitizer_logs).mkdir(parents=True, exist_ok=True)
            env["ASAN_OPTIONS"] = (f"detect_leaks=1:abort_on_error=1:"
                                   f"log_path={self.sanitizer_logs}/asan")
            env["UBSAN_OPTIONS"] = (f"print_stacktrace=1:halt_on_error=1:"
                                    f"log_path={self.sanitizer_logs}/ubsan")
        return env

    def _check_programs(self, program_dir):
        missing = [p for p in PROGRAMS.values() if not os.access(program_dir / p, os.X_OK)]
        if missing:
            raise StackError(f"not built in {program_dir}: {', '.join(missing)}")

    def _serve(self, name, port, start):
        """Run start(port) -> Popen until the server listens on port; when the port was
        not asked for, retry on another if something took it meanwhile."""
        explicit = port is not None
        logs = ""
        for _ in range(3):
            chosen = port if explicit else free_port()
            proc = start(chosen)

            def listening():
                if proc.poll() is not None:
                    return "exited"
                with socket.socket() as s:
                    s.settimeout(1)
                    return "up" if s.connect_ex(("127.0.0.1", chosen)) == 0 else None
            if wait_for(listening, 30, f"{name} to listen on port {chosen}") == "up":
                return f"http://127.0.0.1:{chosen}"
            logs = "\n".join(tail(log, 8) for log in sorted((self.home / name).glob("*.log"))
                             + sorted((self.home / name).glob("*.out")))
            if explicit or "in use" not in logs:
                break
        raise StackError(f"{name} did not start:\n{logs}")

    def web_dir(self, name, web_user):
        """Create, empty, and return the directory of what web server name's workers open
        by path once they run: the FastCGI sockets (sock/), the document root (www/)
        and the runtime files (run/). It is run_dir/<name>/web, or the directory under
        /tmp that this links to when a socket path would be too long or web_user (the
        user the workers switch to, None when they keep ours) could not traverse the
        run directory, as in a clone under `mktemp -d`. web_user gets group search
        permission on it and on sock/; nobody else gets any. With the stack's user,
        that user owns them all instead (lighttpd drops to it)."""
        link = self.home / name / "web"
        remove_dir(link)
        link.parent.mkdir(parents=True, exist_ok=True)
        web = short_dir(link, longest="sock/developer.sock", web_user=web_user)
        subdirs = [web / "sock", web / "www", web / "run"]
        for d in subdirs:
            d.mkdir()
        for d in [web, *subdirs]:
            if web_user:
                os.chown(d, os.getuid(), pwd.getpwnam(web_user).pw_gid)
            d.chmod(0o750 if web_user else 0o700)
            if self.user:
                os.lchown(d, *service.identity(self.user))
        return web

    def start_lighttpd(self, port=None, program_dir=None, name="lighttpd", extra=None):
        """Start lighttpd (which spawns the programs); return its base URL. extra: a
        template (a path) with more configuration, filled in like the main one and
        appended to it (bench/run adds its no-op route so)."""
        program_dir = Path(program_dir or self.program_dir)
        self._check_programs(program_dir)
        sdir = self.home / name
        sdir.mkdir(parents=True, exist_ok=True)
        web = self.web_dir(name, web_user=None)
        sockets = web / "sock"
        if self.user:  # lighttpd reads its configuration as root: the user may not write it
            own(sdir, self.user, 0o750, group_only=True)
            for log in ("lighttpd-error.log", "lighttpd.out"):
                make_file(sdir / log, self.user)

        def start(chosen):
            conf = sdir / "lighttpd.conf"
            values = {"PORT": chosen, "RUN_DIR": sdir, "WEB_DIR": web, "SOCKET_DIR": sockets,
                      "PROGRAM_DIR": program_dir, "HERALD_CONFIG": self.config_path,
                      "PROCS": PROCS_PER_PROGRAM, "SEND_PROCS": send_procs()}
            text = fill_template("lighttpd.conf.in", values)
            if extra:
                text += "\n" + fill_template(extra, values)
            if self.user:
                text += self._lighttpd_user_conf()
            conf.write_text(text)
            check = subprocess.run(["lighttpd", "-tt", "-f", conf], capture_output=True,
                                   text=True, timeout=30)
            if check.returncode != 0:
                raise StackError(f"lighttpd -tt -f {conf}:\n{check.stdout}{check.stderr}")
            return self.processes.spawn(name, ["lighttpd", "-D", "-f", str(conf)],
                                        sdir / "lighttpd.out", marker=str(conf),
                                        env=self.program_env())
        return self._serve(name, port, start)

    def _lighttpd_user_conf(self):
        """What makes lighttpd, started as root, drop to the stack's user after it has
        bound its port and written its pid file; the programs it spawns run as that
        user. Request bodies spool to a directory of the user's."""
        return (f'\n# As root: run as {self.user} (tools/herald_service_user.py).\n'
                f'server.username = "{self.user}"\n'
                f'server.groupname = "{self.user}"\n'
                f'server.upload-dirs := ( "{self.var_dir}" )\n')

    def spawn_programs(self, name, program_dir, sockets):
        """Start every program under spawn-fcgi for Apache server name: run
        procs_of(program) processes listening on sockets/<program>.sock, with
        HERALD_CONFIG in their environment. As root, the sockets belong to group
        www-data so that Apache's workers can connect."""
        owner = ["-G", WEB_USER] if os.geteuid() == 0 else []
        cwd = self.home / name
        for prog, path in PROGRAMS.items():
            pidfile = cwd / f"{prog}.pids"
            pidfile.unlink(missing_ok=True)
            # spawn-fcgi sends the output of the processes it forks to /dev/null; the
            # shell keeps their log (standard error) in <prog>.log instead.
            result = subprocess.run(
                ["spawn-fcgi", "-s", str(sockets / f"{prog}.sock"), "-M", "0660", *owner,
                 "-F", str(procs_of(prog)), "-P", str(pidfile), "-d", str(cwd),
                 "--", "/bin/sh", "-c", 'exec "$0" 2>>"$1"', str(program_dir / path),
                 str(cwd / f"{prog}.log")],
                env=self.program_env(), capture_output=True, text=True, timeout=30)
            pids = [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []
            self.processes.record(f"{name}-{prog}", str(cwd), pids)
            if result.returncode != 0:
                raise StackError(f"spawn-fcgi could not start {path}:\n"
                                 f"{result.stdout}{result.stderr}")

    def dead_programs(self, name="apache"):
        """Programs of Apache server name with fewer processes than were started."""
        dead = []
        for prog in PROGRAMS:
            path = self.processes.dir / f"{name}-{prog}"
            expected = len(path.read_text().splitlines()) - 1 if path.exists() else 0
            if len(self.processes.pids(f"{name}-{prog}")) < expected:
                dead.append(prog)
        return dead

    def start_apache(self, port=None, program_dir=None, name="apache"):
        """Start the programs under spawn-fcgi, then Apache; return its base URL."""
        if self.user:
            raise StackError("only lighttpd runs as the stack's own user")
        program_dir = Path(program_dir or self.program_dir)
        self._check_programs(program_dir)
        sdir = self.home / name
        if os.geteuid() == 0:
            user, group = WEB_USER, WEB_USER
        else:
            user, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
        web = self.web_dir(name, web_user=user if os.geteuid() == 0 else None)
        sockets = web / "sock"
        self.spawn_programs(name, program_dir, sockets)

        def start(chosen):
            conf = sdir / "apache.conf"
            conf.write_text(fill_template("apache.conf.in", {
                "PORT": chosen, "RUN_DIR": sdir, "WEB_DIR": web, "SOCKET_DIR": sockets,
                "MODULE_DIR": APACHE_MODULE_DIR, "USER": user, "GROUP": group}))
            check = subprocess.run(["apache2", "-t", "-f", str(conf)], capture_output=True,
                                   text=True, timeout=30)
            if check.returncode != 0:
                raise StackError(f"apache2 -t -f {conf}:\n{check.stdout}{check.stderr}")
            return self.processes.spawn(name, ["apache2", "-f", str(conf), "-DFOREGROUND"],
                                        sdir / "apache.out", marker=str(conf))
        return self._serve(name, port, start)

    def start_worker(self, name="worker", program_dir=None, config=None):
        """Start a herald-worker (its log: <name>.log in the run directory, or in the
        user's var/); return its Popen. Several workers may run at once under
        different names."""
        program = Path(program_dir or self.program_dir) / WORKER
        if not os.access(program, os.X_OK):
            raise StackError(f"not built: {program}")
        log = self.var_dir / f"{name}.log"
        def starts():  # in either log_format
            text = tail(log, 10**6)
            return text.count(" info: started") + text.count('"level":"info","msg":"started"')
        before = starts()
        env = self.program_env()
        if config:
            env["HERALD_CONFIG"] = str(config)
        # The log file is the marker: it is on the worker's command line.
        proc = self.processes.spawn(name, [str(program), "--log", str(log)], log,
                                    marker=str(log), env=env, user=self.user)
        wait_for(lambda: proc.poll() is not None or starts() > before, 30, f"{name} to start")
        if proc.poll() is not None:
            raise StackError(f"{name} exited at start:\n{tail(log)}")
        return proc

    def stop_worker(self, name="worker", timeout=60):
        """SIGTERM the worker and wait until it has finished what it was sending."""
        self.processes.stop(name, timeout=timeout)

    def stop_server(self, name):
        """Stop web server name and, for Apache, its spawn-fcgi programs."""
        for proc in [name] + [f"{name}-{p}" for p in PROGRAMS]:
            self.processes.stop(proc)
        remove_dir(self.home / name / "web")

    def stop(self):
        """Stop everything started under run_dir (by this or an earlier process)."""
        names = self.processes.names()
        for name in names:
            if name != "mariadb":
                self.processes.stop(name)
        for name in names:
            if name != "mariadb" and (self.home / name / "web").is_symlink():
                remove_dir(self.home / name / "web")
        self.db.stop()
        remove_dir(self.db.sock_dir)


# --- herald-local -------------------------------------------------------------------

ENV_KEYS = ("HERALD_URL", "HERALD_SERVER_KEY", "HERALD_INTEGRATION_KEY",
            "HERALD_COMPANY_ID", "HERALD_CLIENT_KEY", "HERALD_APP_ID")


def env_values(fixture, url):
    values = dict(zip(ENV_KEYS, (url, fixture.server_key, fixture.integration_key,
                                 str(fixture.company_id), fixture.client_key, fixture.app_uid)))
    if fixture.keys.get("bearer"):  # the demo user's inbox (docs/inbox.md)
        values["HERALD_BEARER_KEY"] = fixture.keys["bearer"]
    return values


def write_env(path, values):
    Path(path).write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items()))
    Path(path).chmod(0o600)  # it holds keys


def read_env(path):
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return {}
    pairs = (line.partition("=") for line in lines if "=" in line)
    return {k: shlex.split(v)[0] if v else "" for k, _, v in pairs}


def demo_curl(values):
    """The developer push the README shows, with the demo's values filled in."""
    body = '{"app_user_id":"user_123","title":"Your order has shipped!","body":"Order #4521 is on its way."}'
    return (f"curl -sS -X POST {values['HERALD_URL']}/developer/push "
            f"-H 'Content-Type: application/json' -H 'X-Server-Key: {values['HERALD_SERVER_KEY']}' "
            f"-d '{body}'")


def inbox_curl(values):
    """The seed's POST /notifications example (docs/inbox.md) for the demo user."""
    body = ('{"title": "Deploy Complete", "body": "Successfully deployed to production",'
            ' "source": "github-actions", "source_display_name": "GitHub Actions", "level": "active"}')
    return (f"curl -sS -X POST {values['HERALD_URL']}/notifications "
            f"-H 'Authorization: Bearer {values['HERALD_BEARER_KEY']}' "
            f"-H 'Content-Type: application/json' -d '{body}'")


def _demo_is_valid(db, values):
    """True if the keys in an earlier herald.env still work in this database."""
    names = ("HERALD_SERVER_KEY", "HERALD_INTEGRATION_KEY", "HERALD_CLIENT_KEY", "HERALD_BEARER_KEY")
    keys = [values.get(k) for k in names]
    if not all(keys):
        return False
    hashes = ",".join(f"UNHEX(SHA2({sql_str(k)}, 256))" for k in keys)
    rows = db.query(f"SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND key_hash IN ({hashes})")
    return rows[0][0] == str(len(names))


def up(run_dir, program_dir, port):
    """Start (or restart) the demo stack and print how to use it. As root, the
    services run as their own user, from a copy of the build (herald_service_user)."""
    global SEND_PROCS_PER_PROGRAM
    SEND_PROCS_PER_PROGRAM = 1   # what an installation should run (web-servers.md)
    if os.geteuid() == 0:
        home = service.prepare(run_dir, lambda: Stack(run_dir, program_dir).stop())
        program_dir = service.install_programs(program_dir, home, [*PROGRAMS.values(), WORKER])
    stack = Stack(run_dir, program_dir)
    env_path = stack.run_dir / "herald.env"
    previous = read_env(env_path)
    try:
        stack.start_db()
        print(stack.db.migrate().strip())
        stack.create_accounts()
        stack.write_config()
        if _demo_is_valid(stack.db, previous):
            fixture = None
        else:
            fixture = create_fixture(stack.db, tenant="Demo", app="Demo App", user="user_123",
                                     email="user_123@example.com",
                                     kinds=("server", "integration", "client", "bearer"))
            stack.db.query(f"CALL hd_set_inbox_subscription({fixture.app_id}, 1)")
        stack.stop_server("lighttpd")  # picks up a new build and configuration
        if port is None and previous.get("HERALD_URL"):
            port = int(previous["HERALD_URL"].rsplit(":", 1)[1])
        url = stack.start_lighttpd(port=free_port(port or 8080))
        stack.stop_worker()
        stack.start_worker()
    except BaseException:
        stack.stop()
        raise
    values = env_values(fixture, url) if fixture else dict(previous, HERALD_URL=url)
    values["HERALD_DB_SOCKET"] = str(stack.db.socket)
    write_env(env_path, values)
    status, _ = http_get(f"{url}/health")
    runs_as = f"as {stack.user}, " if stack.user else ""
    print(f"""
herald is running at {url}  (lighttpd; {runs_as}data in {stack.home})
GET /health answers {status}; Prometheus metrics: {url}/metrics and, for the worker,
{stack.worker_metrics_path} (docs/metrics.md)

  CompanyId        {values['HERALD_COMPANY_ID']}
  App id           {values['HERALD_APP_ID']}
  Server key       {values['HERALD_SERVER_KEY']}
  Integration key  {values['HERALD_INTEGRATION_KEY']}
  Client key       {values['HERALD_CLIENT_KEY']}

Send a push to the demo user user_123 (one iOS device):

  {demo_curl(values)}

herald-worker delivers it; the demo app has no provider credentials, so the delivery
ends rejected, and nothing leaves this machine (docs/delivery.md: credentials).

Put a notification into user_123's inbox (docs/inbox.md; bearer key {values['HERALD_BEARER_KEY']}):

  {inbox_curl(values)}

These values, as shell variables: . {env_path}
Stop everything with: tools/herald-local down""")


def status(run_dir):
    """Print what runs under run_dir; return 0 if the demo stack is up."""
    stack = Stack(run_dir, ".")
    names = stack.processes.names()
    for name in names:
        pids = stack.processes.pids(name)
        print(f"{name:20} {'running, pid ' + ' '.join(map(str, pids)) if pids else 'stopped'}")
    if not names:
        print(f"nothing started under {stack.run_dir}")
    url = read_env(stack.run_dir / "herald.env").get("HERALD_URL")
    if url and stack.processes.pids("lighttpd"):
        code, _ = http_get(f"{url}/health")
        print(f"{url}/health answers {code}")
        return 0
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument("--run-dir", default=str(REPO / "run"))
    parser.add_argument("--program-dir", default=str(REPO), help="the build tree")
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    # SIGTERM gets the same clean-up as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if args.command == "up":
            up(args.run_dir, args.program_dir, args.port)
        elif args.command == "down":
            Stack(args.run_dir, args.program_dir).stop()
            print(f"stopped everything under {Path(args.run_dir).resolve()} (data kept; "
                  "remove the directory to start afresh)")
        else:
            return status(args.run_dir)
    except (StackError, service.ServiceUserError) as e:
        print(f"herald_stack: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # `up` has stopped what it started
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
