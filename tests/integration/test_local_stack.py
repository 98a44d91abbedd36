"""`tools/herald-local up` (herald_stack.py up) as the README's reader runs it: as root,
every service runs as the stack's own user, even from a checkout in a mode 0700
directory (a clone under `mktemp -d`); as anyone else, as that user."""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import herald_service_user as service
import herald_stack
from hd import once, timeout

STACK = Path(herald_stack.__file__).resolve()


def local(command, run_dir, *args, timeout_s=300):
    """herald_stack.py command for run_dir, as herald-local runs it; its stdout."""
    result = subprocess.run([sys.executable, str(STACK), command, "--run-dir", str(run_dir), *args],
                            capture_output=True, text=True, timeout=timeout_s)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}{result.stderr}"
    return result.stdout


def copy_build(program_dir, checkout):
    """The built programs, laid out as in a build tree under checkout."""
    for rel in [*herald_stack.PROGRAMS.values(), herald_stack.WORKER]:
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(program_dir / rel, checkout / rel)


def printed_curl(output):
    lines = [line.strip() for line in output.splitlines() if "/developer/push" in line]
    assert len(lines) == 1 and lines[0].startswith("curl "), output
    return lines[0]


def curl_status(curl):
    """Run the printed curl as printed, plus the status line; (status, JSON answer)."""
    result = subprocess.run(["bash", "-c", curl + " -w '\\n%{http_code}'"], capture_output=True,
                            text=True, timeout=30)
    body, _, code = result.stdout.rpartition("\n")
    return int(code), json.loads(body)


def ids(pid):
    """(real, effective, saved, filesystem uids), the same gids, and the
    supplementary groups of pid, from /proc/<pid>/status."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return (tuple(map(int, fields["Uid"].split())), tuple(map(int, fields["Gid"].split())),
            sorted(map(int, fields["Groups"].split())))


def processes_of_group(pgid):
    """{pid: program name} of the live processes in process group pgid."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:  # gone meanwhile, or a kernel thread
            continue
        if int(stat[stat.rindex(")") + 2:].split()[2]) == pgid:
            found[int(pid)] = Path(exe).name
    return found


def stack_processes(run_dir):
    """{pid: program name} of every process the stack of run_dir runs: MariaDB, the
    worker, lighttpd and the FastCGI programs it spawned (each daemon leads a group)."""
    stack = herald_stack.Stack(run_dir, ".")
    found = {}
    for name in ("mariadb", "lighttpd", "worker"):
        for pid in stack.processes.pids(name):
            found.update(processes_of_group(pid))
    return found


def every_program_runs(run_dir):
    names = set(stack_processes(run_dir).values())
    wanted = {"mariadbd", "lighttpd", "herald-worker",
              *(Path(p).name for p in herald_stack.PROGRAMS.values())}
    return wanted <= names


def processes_mentioning(text):
    """Pids whose command line or working directory holds text."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if text in cmdline or cwd.startswith(text):
            pids.append(int(pid))
    return pids


def owner(path):
    st = os.lstat(path)
    return pwd.getpwuid(st.st_uid).pw_name, st.st_gid, st.st_mode & 0o777


@once
@timeout(600)
def test_herald_local_up_runs_every_service_unprivileged_from_a_0700_checkout(ctx):
    as_root = os.geteuid() == 0
    top = Path(tempfile.mkdtemp(prefix="herald-clone-"))  # mode 0700, as `mktemp -d`
    checkout = top / "herald"
    run_dir = checkout / "run"
    home = service.home_for(run_dir) if as_root else run_dir
    try:
        assert os.stat(top).st_mode & 0o777 == 0o700
        copy_build(ctx.stack.program_dir, checkout)
        port = str(herald_stack.free_port())
        first = local("up", run_dir, "--program-dir", str(checkout), "--port", port)
        user = service.SERVICE_USER if as_root else pwd.getpwuid(os.getuid()).pw_name
        uid, gid = service.identity(user)
        herald_stack.wait_for(lambda: every_program_runs(run_dir), 60, "every program to run")
        found = stack_processes(run_dir)
        for pid, program in found.items():
            uids, gids, groups = ids(pid)
            assert uids == (uid,) * 4 and gids == (gid,) * 4, (program, pid, uids, gids)
            if as_root:
                assert groups in ([], [gid]), (program, pid, groups)
        status, answer = curl_status(printed_curl(first))
        assert status == 201 and answer["push_count"] == 1, (status, answer)

        env = herald_stack.read_env(run_dir / "herald.env")
        if as_root:
            # The services' files are theirs; what root reads, sources or runs is not.
            assert (run_dir / service.POINTER).resolve() == home
            assert owner(home)[::2] == ("root", 0o750) and owner(home)[1] == gid
            assert owner(home / "credentials.key") == (user, gid, 0o600)
            assert owner(home / "herald.conf") == ("root", gid, 0o640)
            assert owner(run_dir / "herald.env") == ("root", 0, 0o600)
            assert owner(home / "programs" / herald_stack.WORKER)[0] == "root"
            for path in (home / "mariadb" / "data", home / "var", home / "var" / "worker.log",
                         Path(env["HERALD_DB_SOCKET"]), home / "lighttpd" / "lighttpd-error.log"):
                assert owner(path)[0] == user, (path, owner(path))

        # Again: a restart with the build as it is now, same data and keys.
        again = local("up", run_dir, "--program-dir", str(checkout))
        assert herald_stack.read_env(run_dir / "herald.env") == env
        herald_stack.wait_for(lambda: every_program_runs(run_dir), 60, "every program to run")
        assert all(ids(pid)[0] == (uid,) * 4 for pid in stack_processes(run_dir))
        status, answer = curl_status(printed_curl(again))
        assert status == 201 and answer["push_count"] == 1, (status, answer)
        assert "health answers 200" in local("status", run_dir)
        ours = list(stack_processes(run_dir))

        local("down", run_dir)
        assert not any(herald_stack._alive(pid) for pid in ours)
        assert processes_mentioning(str(home)) == [] and processes_mentioning(str(checkout)) == []
    finally:
        subprocess.run([sys.executable, str(STACK), "down", "--run-dir", str(run_dir)],
                       capture_output=True, timeout=300)
        shutil.rmtree(top, ignore_errors=True)
        if as_root:
            shutil.rmtree(home, ignore_errors=True)
