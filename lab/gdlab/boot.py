"""Boot a real systemd as PID 1 in new namespaces, without touching the host.

The namespace shares the host's root filesystem, so every place systemd or the
stack writes to is covered by a private mount first (see DESIGN.md, "Hazard").
Two hazards were met for real while building this:

* a stock boot empties the host's /tmp (systemd-tmpfiles) and starts host units;
* systemd mounts cgroup hierarchies into /sys/fs/cgroup and remounts it read-only.
  Because a tmpfs superblock is shared, that flips the *host's* /sys/fs/cgroup to
  read-only and litters it. The lab therefore mounts its own sysfs and cgroup
  tmpfs, and enters a cgroup namespace rooted at lab-owned cgroups that are removed
  at shutdown.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

SYSTEMD = Path("/lib/systemd/systemd")

# Units the lab keeps from the host's /lib/systemd/system; everything else is masked.
KEPT_UNITS = frozenset(
    {
        "systemd-journald.service",
        "systemd-journald.socket",
        "systemd-journald-dev-log.socket",
        "systemd-poweroff.service",
        "nginx.service",
    }
)
UNIT_SUFFIXES = (".service", ".socket", ".timer", ".path", ".mount", ".automount", ".swap")

# Private mounts inside the lab: (mount point, tmpfs mode).
PRIVATE_TMPFS = (
    ("/run", "755"),
    ("/tmp", "1777"),
    ("/var/tmp", "1777"),
    ("/var/log", "755"),
    ("/var/lib/nginx", "755"),
    ("/var/lib/postgresql", "755"),
)


class LabUnavailable(RuntimeError):
    """This machine cannot host a lab (reason in the message)."""


def lab_unavailable_reason() -> str | None:
    """Say why this machine cannot host a lab, or None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root (namespaces, mounts, cgroups)"
    for tool in ("unshare", "nsenter", "nginx", "mount", "runuser"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"`{tool}` is not installed"
    if not SYSTEMD.exists():
        return f"no systemd binary at {SYSTEMD}"
    if not Path("/usr/lib/postgresql").is_dir():
        return "PostgreSQL server binaries are not installed (/usr/lib/postgresql)"
    return None


def _host_v1_hierarchies() -> dict[str, tuple[Path, str]]:
    """Map each cgroup-v1 controller list to (host mount point, our cgroup path)."""
    ours: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hid, controllers, path = line.split(":", 2)
        if hid != "0":
            ours[controllers] = path
    mounts: dict[str, tuple[Path, str]] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype, _source, options = right.split(" ", 2)
        if fstype != "cgroup":
            continue
        mount_point = Path(left.split(" ")[4])
        opts = options.split(",")
        for controllers, path in ours.items():
            wanted = controllers.split(",")
            names = [c[5:] if c.startswith("name=") else c for c in wanted]
            if all(c in opts or f"name={c}" in opts for c in names):
                mounts[controllers] = (mount_point, path)
    return mounts


class Lab:
    """One booted lab: systemd as PID 1 in its own pid/mount/uts/net/cgroup namespaces."""

    def __init__(self, stage: Path) -> None:
        """Wait for the host's lab slot, held until release(): one lab at a time on a host
        (two labs of one stack would share its mount points there, /www or /opt/shop, and
        tests, benches and helpers run labs from separate processes). The lock file is in
        the lab's own cache, not the host's /run."""
        from .venv import cache_root

        self._slot: int | None = os.open(cache_root() / "lab.lock",
                                         os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._slot, fcntl.LOCK_EX)
        self.id = uuid.uuid4().hex[:8]
        self.stage = stage  # host directory bind-mounted into the lab (see stack.py)
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._cgroups: list[Path] = []
        self.boot_seconds = 0.0

    # -- life cycle -------------------------------------------------------------------

    def start(self, binds: Sequence[tuple[Path, str]] = (),
              etc_files: Sequence[tuple[Path, str]] = (), timeout: float = 60.0) -> None:
        """Boot systemd; `binds` are (host dir, lab dir) bind mounts made before boot and
        `etc_files` (host file, lab path) are copied into the lab's private /etc overlay."""
        reason = lab_unavailable_reason()
        if reason:
            raise LabUnavailable(reason)
        started = time.monotonic()
        self._make_cgroups()
        script = self.stage / "boot.sh"
        script.write_text(self._boot_script(binds, etc_files))
        script.chmod(0o700)
        log = open(self.stage / "boot.log", "wb")  # noqa: SIM115 - kept open for the child
        self._proc = subprocess.Popen(
            ["unshare", "--cgroup", "--pid", "--fork", "--mount", "--uts", "--net",
             "--mount-proc", "--propagation", "private", "/bin/sh", str(script)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=self._enter_cgroups,  # noqa: PLW1509 - must run before exec
        )
        log.close()
        self.pid = self._find_pid1(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run(["systemctl", "is-system-running"], timeout=10).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.1)
        else:
            raise LabUnavailable(f"lab systemd did not come up: {self.boot_log()}")
        self.boot_seconds = time.monotonic() - started

    def stop(self, timeout: float = 20.0) -> None:
        """Power the lab off (kill PID 1 if it does not go) and remove its cgroups."""
        if self.pid is not None and self._proc is not None and self._proc.poll() is None:
            subprocess.run(
                ["nsenter", "-t", str(self.pid), "-a", "systemctl", "poweroff", "--no-block"],
                capture_output=True, timeout=10, check=False,
            )
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, 9)
                self._proc.wait(timeout=10)
        self.pid = None
        self._remove_cgroups()

    def release(self) -> None:
        """Give the host's lab slot to the next lab (after what this one made is gone)."""
        if self._slot is not None:
            os.close(self._slot)
            self._slot = None

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.release()

    # -- running things inside ----------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        timeout: float = 60.0,
        input: bytes | None = None,  # noqa: A002 - mirrors subprocess
        check: bool = False,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run argv inside every namespace of the lab."""
        assert self.pid is not None, "lab not started"
        full_env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
        if env:
            full_env.update(env)
        proc = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-a", "--", *argv],
            input=input, capture_output=True, timeout=timeout, env=full_env, check=False,
        )
        result = subprocess.CompletedProcess(
            proc.args, proc.returncode,
            proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"lab command {list(argv)} failed ({result.returncode}): {result.stderr.strip()}"
            )
        return result

    def sh(self, script: str, timeout: float = 60.0, check: bool = True) -> str:
        """Run a shell snippet inside the lab and return its stdout."""
        return self.run(["/bin/sh", "-ec", script], timeout=timeout, check=check).stdout

    def boot_log(self) -> str:
        path = self.stage / "boot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    # -- internals ------------------------------------------------------------------------

    def _find_pid1(self, timeout: float) -> int:
        """The namespace's PID 1 is the only child of `unshare --fork`."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children")
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise LabUnavailable(f"lab boot failed: {self.boot_log()}")
            try:
                pids = children.read_text().split()
            except OSError:
                pids = []
            if pids:
                pid = int(pids[0])
                try:
                    if Path(f"/proc/{pid}/exe").resolve() == SYSTEMD.resolve():
                        return pid
                except OSError:
                    pass
            time.sleep(0.05)
        raise LabUnavailable(f"lab systemd did not start: {self.boot_log()}")

    def _make_cgroups(self) -> None:
        """Create lab-owned cgroups in every host hierarchy; the lab's cgroupns is rooted there."""
        root = Path("/sys/fs/cgroup")
        targets: list[Path] = []
        if (root / "cgroup.controllers").exists():  # pure cgroup v2 host
            targets.append(root / self._v2_path().lstrip("/") / f"gdlab-{self.id}")
        else:
            if (root / "unified").is_dir():
                targets.append(root / "unified" / self._v2_path().lstrip("/") / f"gdlab-{self.id}")
            for mount_point, path in _host_v1_hierarchies().values():
                targets.append(mount_point / path.lstrip("/") / f"gdlab-{self.id}")
        for target in targets:
            target.mkdir(exist_ok=True)
            # A v1 cpuset cgroup accepts no task until it has cpus and mems.
            for knob in ("cpuset.cpus", "cpuset.mems"):
                if (target / knob).exists() and not (target / knob).read_text().strip():
                    (target / knob).write_text((target.parent / knob).read_text())
            self._cgroups.append(target)

    @staticmethod
    def _v2_path() -> str:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return line[3:]
        return "/"

    def _enter_cgroups(self) -> None:
        pid = str(os.getpid())
        for target in self._cgroups:
            (target / "cgroup.procs").write_text(pid)

    def _remove_cgroups(self) -> None:
        for target in self._cgroups:
            for sub in sorted((p for p in target.rglob("*") if p.is_dir()),
                              key=lambda p: len(p.parts), reverse=True):
                _rmdir_quietly(sub)
            _rmdir_quietly(target)
        self._cgroups = []

    def _boot_script(self, binds: Sequence[tuple[Path, str]],
                     etc_files: Sequence[tuple[Path, str]] = ()) -> str:
        masks = sorted(
            {
                unit.name
                for unit_dir in (Path("/lib/systemd/system"), Path("/usr/lib/systemd/system"))
                if unit_dir.is_dir()
                for unit in unit_dir.iterdir()
                if unit.name.endswith(UNIT_SUFFIXES) and unit.name not in KEPT_UNITS
            }
        )
        generators = sorted(
            {
                g.name
                for gen_dir in (Path("/lib/systemd/system-generators"),
                                Path("/usr/lib/systemd/system-generators"))
                if gen_dir.is_dir()
                for g in gen_dir.iterdir()
            }
        )
        covered = [point for point, _ in PRIVATE_TMPFS]
        kept = _paths_to_keep(self.stage, covered)
        lines = [
            "set -eu",
            "mount --make-rprivate /",
            # Our own sysfs and cgroup tree: never remount the host's (see module doc).
            "mount -t sysfs sysfs /sys",
            "mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup",
            "mkdir /sys/fs/cgroup/unified /sys/fs/cgroup/systemd",
            "mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup/unified",
            "mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd",
        ]
        for controllers in _host_v1_hierarchies():
            if controllers.startswith("name="):
                continue
            lines.append(f"mkdir -p /sys/fs/cgroup/{controllers}")
            lines.append(f"mount -t cgroup -o {controllers} cgroup /sys/fs/cgroup/{controllers}")
        # A checkout (or Python) under /tmp would vanish under the private /tmp: hold it
        # aside and put it back at the same path.
        if kept:
            lines.append("mount -t tmpfs -o mode=700 tmpfs /mnt")
        for n, path in enumerate(kept):
            lines.append(f"mkdir /mnt/keep{n} && mount --rbind {path} /mnt/keep{n}")
        for point, mode in PRIVATE_TMPFS:
            lines.append(f"mkdir -p {point}")
            lines.append(f"mount -t tmpfs -o mode={mode} tmpfs {point}")
        for n, path in enumerate(kept):
            lines.append(f"mkdir -p {path} && mount --move /mnt/keep{n} {path}")
        if kept:
            lines.append("umount /mnt")
        # /etc is an overlay: the lab may change files there, the host never sees it. (A file
        # bind-mounted over /etc/passwd would be detached when the host renames a new
        # passwd over it, e.g. apt adding a user while a lab runs.)
        lines += [
            "mkdir -p /run/gdlab-etc/upper /run/gdlab-etc/work",
            "mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/gdlab-etc/upper,"
            "workdir=/run/gdlab-etc/work /etc",
        ]
        for host_file, lab_path in etc_files:
            lines.append(f"cat {host_file} > {lab_path}")
        for host_path, lab_path in binds:
            lines.append(f"[ -e {lab_path} ] || mkdir -p {lab_path}")
            lines.append(f"mount --bind {host_path} {lab_path}")
        lines += [
            "mkdir -p /run/systemd/system /run/systemd/system-generators /var/log/nginx",
            "mkdir -p /var/log/journal",
        ]
        lines += [f"ln -s /dev/null /run/systemd/system-generators/{g}" for g in generators]
        lines += [f"ln -s /dev/null /run/systemd/system/{u}" for u in masks]
        lines += [
            "hostname gdlab",
            "export container=gdlab",
            f"exec {SYSTEMD} --system --unit=gdlab.target",
        ]
        return "\n".join(lines) + "\n"


def _paths_to_keep(stage: Path, covered: Sequence[str]) -> list[Path]:
    """Paths the lab must still see that lie under a mount point it covers with tmpfs."""
    wanted = {stage.resolve(), Path(__file__).resolve().parents[2],
              Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
              Path(sys.executable).resolve().parent}
    under = [p for p in wanted if any(p.is_relative_to(c) for c in covered)]
    # Keep the outermost ones only: an inner path travels with its parent.
    return sorted(p for p in under if not any(p != q and p.is_relative_to(q) for q in under))


def _rmdir_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
