"""Carrying a plan out, and taking it back: every file backed up before it is touched, every
command's output recorded under the run's id, one fix at a time.

A run lives in `<state>/fixes/<id>/`: `run.json` (what was planned, run, changed and how it
ended) and `files/N` (each touched file as it was, byte for byte; its mode and owner are in
run.json). `rollback(id)` writes those back, runs the undo lines of the commands that ran,
and restores the systemd units' enablement.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import GatewayDoctorError
from ..i18n import _
from ..redact import redact
from .edits import apply_edits
from .steps import Command, FileChange, Plan

OUTPUT_KEPT = 4000  # characters of a command's output kept in run.json


class FixError(GatewayDoctorError):
    """A fix that cannot start or cannot be taken back (busy, unknown id, changed files)."""


def state_dir() -> Path:
    """Where runs are kept: $GATEWAYDOCTOR_STATE_DIR, else /var/lib/gatewaydoctor (root) or
    the user's state folder."""
    env = os.environ.get("GATEWAYDOCTOR_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/gatewaydoctor")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "gatewaydoctor"


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Hold the host's fix lock; FixError at once if another fix holds it."""
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(state / "fix.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise FixError(_("another gatewaydoctor fix is running (pid {pid}); wait for it "
                             "to end").format(pid=holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


@dataclass
class Run:
    """One fix run as run.json keeps it."""

    id: str
    started: str
    host: str
    url: str | None
    causes: list[str]
    verdict_before: str
    status: str = "running"  # applied, failed, rolled-back
    reason: str = ""  # why it was rolled back or failed
    steps: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # enablement before
    verdict_after: str | None = None
    rolled_back: str | None = None  # when

    @property
    def folder(self) -> Path:
        """Its folder under the state directory."""
        return state_dir() / "fixes" / self.id

    def save(self) -> None:
        """Write run.json (private: it names files and units of the host)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.folder / "run.json.tmp"
        tmp.write_text(json.dumps(self.__dict__, indent=1, ensure_ascii=False))
        os.replace(tmp, self.folder / "run.json")

    @classmethod
    def load(cls, run_id: str) -> Run:
        """The run of that id; FixError naming the runs' folder if there is none."""
        path = state_dir() / "fixes" / os.path.basename(run_id) / "run.json"
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            raise FixError(_("no fix run {id} in {folder} (`gatewaydoctor fix --list` shows "
                             "them)").format(id=run_id, folder=path.parent.parent)) from None


def runs() -> list[Run]:
    """Every recorded run, newest first."""
    folder = state_dir() / "fixes"
    found = []
    for path in sorted(folder.glob("*/run.json"), reverse=True) if folder.is_dir() else ():
        with contextlib.suppress(FixError):
            found.append(Run.load(path.parent.name))
    return found


def new_run(plan: Plan) -> Run:
    """A run for this plan, its id the UTC time and a random suffix."""
    now = time.gmtime()
    return Run(id=time.strftime("%Y%m%d-%H%M%S", now) + "-" + secrets.token_hex(2),
               started=time.strftime("%Y-%m-%dT%H:%M:%SZ", now), host=plan.host, url=plan.url,
               causes=[r.symbol for r in plan.remedies if r.automatic],
               verdict_before=plan.verdict)


Progress = Callable[[str], None]


def apply(plan: Plan, run: Run, say: Progress) -> bool:
    """Carry out the plan's actions in order; on the first failure roll back what was done
    and return False. The units' enablement is recorded first."""
    run.units = {u: _enablement(u) for u in plan.services}
    run.save()
    for step in plan.actions:
        try:
            if isinstance(step, FileChange):
                say(_("changing {path}").format(path=step.path))
                _change_file(run, step)
            else:
                say(f"$ {step.line}")
                if not _command(run, step):
                    raise FixError(_("`{line}` failed").format(line=step.line))
        except (OSError, GatewayDoctorError) as exc:
            run.status, run.reason = "failed", str(exc)
            run.save()
            rollback(run, say)
            return False
    run.status = "applied"
    run.save()
    return True


def rollback(run: Run, say: Progress, force: bool = False) -> None:
    """Put back every file the run touched (content, mode, owner; removed if it did not
    exist), run the undo lines of its commands in reverse, restore unit enablement."""
    changed = [f["path"] for f in run.files if f.get("after") and _sha(f["path"]) != f["after"]]
    if changed and not force:
        raise FixError(_("{paths} changed since fix {id}: rolling back would lose that; look "
                         "at them, then run again with --force").format(
            paths=", ".join(changed), id=run.id))
    for record in reversed(run.files):
        say(_("restoring {path}").format(path=record["path"]))
        _restore(run, record)
    for step in reversed([s for s in run.steps if s.get("undo") and s.get("rc") == 0]):
        say(f"$ {step['undo']}")
        _shell(step["undo"], 120.0)
    for unit, state in run.units.items():
        if state in ("enabled", "disabled") and _enablement(unit) != state:
            verb = "enable" if state == "enabled" else "disable"
            say(f"$ systemctl {verb} {unit}")
            _shell(f"systemctl {verb} {unit}", 60.0)
    run.rolled_back = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if run.status in ("applied", "running"):
        run.status = "rolled-back"
    run.save()


def _change_file(run: Run, change: FileChange) -> None:
    """Back the file up (content, mode, owner), then change it in place (the inode, and so
    hard links, bind mounts and security labels, stay)."""
    path = Path(change.path)
    st = path.stat()
    # a directory's mode or owner only (one its service's user must enter or write in)
    current = b"" if path.is_dir() else path.read_bytes()
    n = len(run.files)
    backup = run.folder / "files" / str(n)
    backup.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup.write_bytes(current)
    record = {"path": change.path, "backup": f"files/{n}", "mode": st.st_mode & 0o7777,
              "uid": st.st_uid, "gid": st.st_gid, "sha256": _digest(current), "after": None}
    run.files.append(record)
    run.save()
    if change.edits:
        new = apply_edits(current, change.edits, change.path)
        with open(path, "r+b") as f:
            f.write(new)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
    if change.owner is not None:
        os.chown(path, *change.owner)
    if change.mode is not None:
        os.chmod(path, change.mode)
    record["after"] = _sha(change.path)
    run.steps.append({"kind": "file", "path": change.path, "why": change.why,
                      "diff": redact(change.diff()), "rc": 0})
    run.save()


def _restore(run: Run, record: dict[str, Any]) -> None:
    """The file as the run found it: bytes, owner, mode."""
    path = Path(record["path"])
    if not path.is_dir():
        old = (run.folder / record["backup"]).read_bytes()
        with open(path, "r+b") as f:
            f.write(old)
            f.truncate()
    os.chown(path, record["uid"], record["gid"])
    os.chmod(path, record["mode"])


def _command(run: Run, step: Command) -> bool:
    """Run a step's line, record its exit status and (redacted) output; True on success."""
    rc, out = _shell(step.line, step.timeout)
    run.steps.append({"kind": "command", "line": step.line, "why": step.why, "undo": step.undo,
                      "rc": rc, "output": redact(out[-OUTPUT_KEPT:])})
    run.save()
    return rc == 0


def _shell(line: str, timeout: float) -> tuple[int, str]:
    """`sh -c line` with a timeout: (exit status, stdout and stderr); 124 on timeout."""
    try:
        proc = subprocess.run(["sh", "-c", line], capture_output=True, text=True,
                              errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
                              check=False)
    except subprocess.TimeoutExpired:
        return 124, _("timed out after {seconds} s").format(seconds=f"{timeout:.0f}")
    except OSError as exc:
        return 127, str(exc)
    return proc.returncode, proc.stdout + proc.stderr


def _enablement(unit: str) -> str:
    """`systemctl is-enabled` of a unit (enabled, disabled, static, ...; '' if unknown)."""
    rc, out = _shell(f"systemctl is-enabled {unit}", 15.0)
    return out.strip().splitlines()[0] if out.strip() else ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha(path: str) -> str | None:
    try:
        return _digest(Path(path).read_bytes())
    except OSError:
        return None
