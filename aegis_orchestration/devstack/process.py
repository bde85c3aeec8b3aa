"""Start, probe and stop local server processes, recording exactly what was started."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil


def free_port() -> int:
    """A port the kernel just handed out on loopback; good enough for a test session."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(
    probe: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    log: Path | None = None,
    pid: int | None = None,
) -> None:
    """Poll ``probe`` until it answers True; fail with the server's log tail otherwise.

    With ``pid``, a server process that exits while we wait fails at once instead of at the timeout.
    """
    deadline = time.monotonic() + timeout
    reason = f"did not become healthy within {timeout:.0f}s"
    while time.monotonic() < deadline:
        if pid is not None and not alive(pid):
            reason = "exited while starting"
            break
        try:
            if probe():
                return
        except Exception:  # nosec B110 # a failing probe means not up yet; the deadline reports it
            pass
        time.sleep(0.2)
    tail = ""
    if log is not None and log.exists():
        tail = "\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise TimeoutError(f"{what} {reason}{tail}")


def spawn(
    cmd: Sequence[str], *, log: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> int:
    """Start ``cmd`` detached in its own session, output to ``log``; return its pid."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(  # nosec B603 # argv lists built by the devstack, never a shell
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    return proc.pid


def alive(pid: int | None, expect: str | None = None) -> bool:
    """Is ``pid`` running, and (if given) is ``expect`` part of its command line?

    Checking the command line keeps ``down`` from killing an unrelated process that reused a pid.
    """
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return expect is None or expect in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def terminate(pid: int, expect: str | None = None, timeout: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left after ``timeout``."""
    if not alive(pid, expect):
        return
    try:
        # Taken first: a child that started a session of its own (the Milvus launcher's server)
        # escapes killpg and would keep its ports after its parent is gone.
        descendants = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        psutil.Process(pid).wait(timeout=timeout)
    except psutil.TimeoutExpired:
        os.killpg(pid, signal.SIGKILL)
        psutil.Process(pid).wait(timeout=timeout)
    except psutil.NoSuchProcess:
        pass
    # Reap it if we are its parent, so it does not linger as a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    for child in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    _, left = psutil.wait_procs(descendants, timeout=timeout)
    for child in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(left, timeout=timeout)
