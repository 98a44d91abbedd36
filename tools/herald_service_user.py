"""The unprivileged user of a private stack started as root (tools/herald-local up).

As root, `tools/herald-local up` runs MariaDB, lighttpd, the FastCGI programs and
herald-worker as SERVICE_USER, never as root. That user must reach every file they
open, wherever the checkout is: a clone under `mktemp -d` sits in a mode 0700
directory that no other user can enter, and we never change the permissions of the
invoking user's directories. So their files live in a home outside the checkout,
keyed to the run directory's path, with a stable pointer in the run directory:

    <run dir>/service -> /var/lib/herald-local/<checkout>-<hash of the run dir>/

The run directory itself stays root's (herald.env with the demo keys, which root
sources; pids/; build.log): the service user must not be able to write anything root
later reads, runs or sources. The home (root, group SERVICE_USER, 0750) holds:

    herald.conf      root:SERVICE_USER 0640
    credentials.key  SERVICE_USER 0600 (the key that seals provider secrets)
    programs/        root 0755: a copy of the build's programs, made at every `up`
    mariadb/         SERVICE_USER 0700: data directory, temporary files, logs
    mariadb-sock/    SERVICE_USER 0700: the server's socket
    lighttpd/        root:SERVICE_USER 0750: lighttpd.conf and its pid file (root
                     writes both before lighttpd drops to SERVICE_USER), its logs
                     (SERVICE_USER), web/ (SERVICE_USER: sockets, document root)
    var/             SERVICE_USER 0700: worker logs, the metrics files, lighttpd's
                     request-body spool

Directories the service user owns are always direct children of root-owned ones, so
it cannot swap them for symlinks that root would then follow; root opens files in
them with O_NOFOLLOW and changes their ownership with lchown.

Why not the Debian package's `herald` user: the package removes that user when it
is purged (tools/herald-package-test does so on CI machines), which would leave this
stack's files to a dangling uid, and `herald` may read /etc/herald/herald.conf and
its database password: a demo stack has no business holding those rights.
"""
import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

SERVICE_USER = "herald-local"
STATE_ROOT = Path("/var/lib/herald-local")
POINTER = "service"


class ServiceUserError(Exception):
    """The service user or its home could not be set up; the message says why."""


def ensure_user(name=SERVICE_USER):
    """Create the system user and group name unless they exist; return its pwd entry."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    result = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "herald local stack (tools/herald-local)", name],
        capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise ServiceUserError(f"useradd {name} failed: {result.stderr.strip()}")
    return pwd.getpwnam(name)


def identity(user):
    """(uid, gid) of user."""
    pw = pwd.getpwnam(user)
    return pw.pw_uid, pw.pw_gid


def popen_options(user):
    """subprocess options that run a child as user with its group only ({} for None)."""
    if user is None:
        return {}
    uid, gid = identity(user)
    return {"user": uid, "group": gid, "extra_groups": []}


def own(path, user, mode, group_only=False):
    """Give path to user, or with group_only to root and user's group, with mode.
    Through a descriptor opened without following a symlink: path may be one that
    user could have replaced (a directory of user's under /tmp)."""
    uid, gid = identity(user)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        os.fchown(fd, 0 if group_only else uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def make_dir(path, user, mode=0o700, group_only=False):
    """Create path if missing (in a directory user cannot write) and own it so."""
    Path(path).mkdir(exist_ok=True)
    own(path, user, mode, group_only)
    return Path(path)


def make_file(path, user, mode=0o640):
    """Create path empty if missing and give it to user: a log that a process opens
    after dropping to user, in a directory only root may write."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, mode))
    own(path, user, mode)


def home_for(run_dir):
    """The home of the services of run_dir: its name says which checkout it is for,
    its hash tells apart run directories of the same name."""
    run_dir = Path(run_dir).absolute()
    run_dir = run_dir.parent.resolve() / run_dir.name  # not through the pointer
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:12]
    return STATE_ROOT / f"{run_dir.parent.name[:40]}-{run_dir.name[:20]}-{digest}"


def _give_tree(path, user):
    """lchown a tree that root created (an earlier layout's data) to user."""
    uid, gid = identity(user)
    os.lchown(path, uid, gid)
    for parent, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


def prepare(run_dir, stop_earlier, user=SERVICE_USER):
    """Create user, its home for run_dir and the pointer to it; return the home.

    Without a pointer, run_dir is new, or was run by root before the services had
    their own user (stop_earlier() stops what that started, and its database and
    credentials key move to the new home), or its pointer was removed with it, which
    means "start from nothing": a home left behind is removed."""
    ensure_user(user)
    run_dir = Path(run_dir).absolute()
    run_dir.mkdir(parents=True, exist_ok=True)
    pointer = run_dir / POINTER
    home = home_for(run_dir)
    STATE_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
    if not pointer.is_symlink():
        stop_earlier()
        if home.exists():
            shutil.rmtree(home)
        make_dir(home, user, 0o750, group_only=True)
        for name in ("mariadb", "credentials.key"):
            earlier = run_dir / name
            if earlier.exists() and not earlier.is_symlink():
                shutil.move(earlier, home / name)
                _give_tree(home / name, user)
        for name in ("herald.conf", "metrics", "herald-worker.prom"):  # made anew in home
            (run_dir / name).unlink(missing_ok=True)
        shutil.rmtree(run_dir / "lighttpd", ignore_errors=True)
        os.symlink(home, pointer)
    make_dir(home, user, 0o750, group_only=True)
    return home


def install_programs(program_dir, home, paths):
    """Copy the programs at paths (relative to program_dir, the build tree) into
    home/programs, where the service user can run them, and return that directory.
    Each replaces the earlier copy by rename, so a program still running keeps its
    own file."""
    dest = home / "programs"
    for rel in paths:
        target = dest / rel
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        fresh = target.with_name(target.name + ".new")
        shutil.copyfile(Path(program_dir) / rel, fresh)
        fresh.chmod(0o755)
        os.replace(fresh, target)
    return dest
