"""Run one command or read one file, and record it as an evidence item.

Every item has the same keys, so the evidence model can load any of them:
source, kind, argv, path, rc, stdout, stderr, data, duration, truncated,
offset, size, error, error_kind.
"""

import errno
import grp
import os
import pwd
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional, Tuple, Union

from ..formats import journal as journal_format

MAX_OUTPUT = 512 * 1024
DEFAULT_TIMEOUT = 5.0

Item = Dict[str, Any]


def new_item(source: str, kind: str, **fields: Any) -> Item:
    """Return an evidence item with every key present."""
    item: Item = {
        "source": source,
        "kind": kind,
        "argv": None,
        "path": None,
        "rc": None,
        "stdout": None,
        "stderr": None,
        "data": None,
        "duration": 0.0,
        "truncated": False,
        "offset": None,
        "size": None,
        "error": None,
        "error_kind": None,
    }
    item.update(fields)
    return item


def _decode(raw: bytes, limit: int) -> Tuple[str, bool]:
    if len(raw) > limit:
        return raw[:limit].decode("utf-8", errors="replace"), True
    return raw.decode("utf-8", errors="replace"), False


def run(
    source: str,
    argv: List[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = MAX_OUTPUT,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[str] = None,
    user: Optional[Union[str, int]] = None,
    group: Optional[Union[str, int]] = None,
) -> Item:
    """Run argv (never through a shell) under a timeout and record the outcome."""
    item, proc, began = spawn(source, argv, env=env, cwd=cwd, user=user, group=group)
    return item if proc is None else collect(item, proc, began, timeout=timeout,
                                             max_bytes=max_bytes)


def spawn(
    source: str,
    argv: List[str],
    *,
    env: Optional[Dict[str, str]] = None,
    cwd: Optional[str] = None,
    user: Optional[Union[str, int]] = None,
    group: Optional[Union[str, int]] = None,
) -> "Tuple[Item, Optional[subprocess.Popen[bytes]], float]":
    """Start argv (never through a shell): (item, process, when it began) for collect().
    No process: the item says why."""
    item = new_item(source, "command", argv=list(argv))
    began = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            **_as_account(user, group),
        )
    except FileNotFoundError as exc:
        missing = cwd if cwd and exc.filename == cwd else argv[0]
        item.update(error=f"not found: {missing}", error_kind="missing")
        return item, None, began
    except PermissionError as exc:
        item.update(error=f"permission denied: {exc.filename or argv[0]}",
                    error_kind="permission")
        return item, None, began
    except (OSError, ValueError, KeyError, subprocess.SubprocessError) as exc:
        # KeyError: user= or group= names no account on this host; SubprocessError: the
        # preexec_fn of _as_account could not switch to it (Python before 3.9).
        item.update(error=f"could not start {argv[0]}: {exc}", error_kind="failed")
        return item, None, began
    return item, proc, began


def _as_account(user: Optional[Union[str, int]],
                group: Optional[Union[str, int]]) -> Dict[str, Any]:
    """Popen's arguments that run the child as user and group.

    Python 3.9+ has Popen(user=, group=), set in C between fork and exec. Before it (the
    agent runs on 3.6) a preexec_fn does the same two calls in the same order: setregid,
    then setreuid (supplementary groups kept, as Popen keeps them). It calls nothing but
    those two, so the agent's other threads cannot leave it a lock to wait for. A name no
    account has raises KeyError here, as Popen raises it.
    """
    if user is None and group is None:
        return {}
    if sys.version_info >= (3, 9):
        return {"user": user, "group": group}
    gid = grp.getgrnam(group).gr_gid if isinstance(group, str) else group
    uid = pwd.getpwnam(user).pw_uid if isinstance(user, str) else user

    def drop() -> None:
        if gid is not None:
            os.setregid(gid, gid)
        if uid is not None:
            os.setreuid(uid, uid)

    return {"preexec_fn": drop}


def collect(item: Item, proc: "subprocess.Popen[bytes]", began: float, *,
            timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_OUTPUT) -> Item:
    """Wait (under a timeout, then kill the process group) and record what spawn() started."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        item.update(error=f"timed out after {timeout:g}s", error_kind="timeout")
    item["duration"] = round(time.monotonic() - began, 4)
    item["rc"] = proc.returncode
    item["stdout"], trunc_out = _decode(out, max_bytes)
    item["stderr"], trunc_err = _decode(err, max_bytes)
    item["truncated"] = trunc_out or trunc_err
    return item


def journal(source: str, args: List[str], *, timeout: float = DEFAULT_TIMEOUT) -> Item:
    """Run `journalctl -o json <args>` limited to the fields the parsers read.

    journalctl before systemd 236 has no --output-fields: then the whole records are kept.
    """
    argv = ["journalctl", "-o", "json", f"--output-fields={journal_format.FIELDS}",
            "--no-pager", *args]
    item = run(source, argv, timeout=timeout)
    if item["rc"] not in (None, 0) and "output-fields" in (item["stderr"] or ""):
        item = run(source, [a for a in argv if not a.startswith("--output-fields=")],
                   timeout=timeout)
    if item["stdout"]:
        item["stdout"] = journal_format.strip_noise(item["stdout"])
    return item


def kill(proc: "subprocess.Popen[bytes]") -> None:
    """Kill a process started by spawn() (and its group), and reap it."""
    _kill_group(proc)
    proc.communicate()


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def _file_error(item: Item, exc: OSError) -> Item:
    if exc.errno in (errno.EACCES, errno.EPERM):
        item.update(error=f"permission denied: {item['path']}", error_kind="permission")
    elif exc.errno == errno.ENOENT:
        item.update(error=f"no such file: {item['path']}", error_kind="missing")
    else:
        item.update(error=f"cannot read {item['path']}: {exc.strerror}", error_kind="failed")
    return item


def read_file(source: str, path: str, *, max_bytes: int = MAX_OUTPUT) -> Item:
    """Read a whole (small) file, keeping at most max_bytes from its start."""
    item = new_item(source, "file", path=path)
    start = time.monotonic()
    try:
        with open(path, "rb") as fh:
            raw = fh.read(max_bytes + 1)
            size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        return _file_error(item, exc)
    item["stdout"], item["truncated"] = _decode(raw, max_bytes)
    item.update(offset=0, size=size, duration=round(time.monotonic() - start, 4))
    return item


def read_tail(
    source: str, path: str, *, max_bytes: int = 256 * 1024, max_lines: int = 2000
) -> Item:
    """Read the last lines of a log; the cost is bounded by max_bytes, not the file size.

    `offset` is the byte offset of the first line kept, so offset 0 means the
    line numbers counted from the text are the file's own line numbers.
    """
    item = new_item(source, "file", path=path)
    start = time.monotonic()
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            offset = max(0, size - max_bytes)
            fh.seek(offset)
            raw = fh.read(max_bytes)
    except OSError as exc:
        return _file_error(item, exc)
    truncated = offset > 0
    if offset > 0:
        # Drop the partial first line so every kept line is whole.
        cut = raw.find(b"\n")
        cut = len(raw) if cut < 0 else cut + 1
        offset += cut
        raw = raw[cut:]
    lines = raw.splitlines(keepends=True)
    if len(lines) > max_lines:
        dropped = lines[: len(lines) - max_lines]
        offset += sum(len(x) for x in dropped)
        lines = lines[len(lines) - max_lines :]
        truncated = True
    item["stdout"] = b"".join(lines).decode("utf-8", errors="replace")
    item.update(
        offset=offset, size=size, truncated=truncated, duration=round(time.monotonic() - start, 4)
    )
    return item


def which(
    name: str, extra: Tuple[str, ...] = ("/usr/sbin", "/sbin", "/usr/local/sbin")
) -> Optional[str]:
    """Find an executable on PATH or in the sbin directories a non-login PATH lacks."""
    dirs = os.environ.get("PATH", "").split(os.pathsep) + list(extra)
    for d in dirs:
        if not d:
            continue
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
