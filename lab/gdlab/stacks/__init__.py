"""Stacks built differently from the lab's first one, sharing nothing with it but the software.

A stack is a way a real server is put together (which nginx and how it is started, which
Python server, socket or port, which manager, where files live, names and ports). Fault
families (families.py) are written once against the small interface of `Deployed` and run
on every stack: the matrix stack × family is what bench/scenarios.py prints.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..boot import Lab
from ..venv import cache_root, venv_dir

APPS = Path(__file__).parent / "apps"
REQUIREMENTS = Path(__file__).parent / "requirements.txt"


@dataclass(frozen=True)
class StackSpec:
    """How one stack is built, and the handles fault families need."""

    name: str
    description: str
    manager: str  # who runs the app: systemd, supervisor, pm2, process (by hand)
    app: str  # its unit, program or pm2 name; for a hand-started app, a label
    app_dir: str  # its working directory
    app_user: str
    code_file: str  # the module its server imports first
    venv: str
    bind: str  # what it listens on: "127.0.0.1:5050" or "unix:/run/shop/api.sock"
    server_name: str
    port: int  # where nginx listens
    site: str  # the nginx file holding proxy_pass / the upstream
    path: str  # a URL path users complain about
    health: str  # a path that checks the database
    slow: str  # a path that takes 5 s
    nginx: tuple[str, ...]  # ("systemd", UNIT) or ("binary", BIN, CONF)
    stage: Callable[[Path], list[tuple[Path, str]]]  # write files, return (stage dir, lab dir)
    provision: str  # shell run inside the booted lab to bring the stack up
    start: str = ""  # shell starting a hand-run app (manager "process")
    start_pattern: str = ""  # what `pkill -f` finds it by
    pm2_home: str = ""
    etc: dict[str, str] = field(default_factory=dict)  # lab path under /etc → text
    # What a client sees after a family, where this stack's server answers otherwise than
    # the usual status (family name → status; 0: no answer in time).
    statuses: dict[str, int] = field(default_factory=dict)


def copy_tree(src: Path, dst: Path, uid: int, gid: int) -> None:
    """Copy an app's sources, owned by its user, readable by all (as deployments are)."""
    shutil.copytree(src, dst, dirs_exist_ok=True)
    for path in [dst, *dst.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        os.chown(path, uid, gid, follow_symlinks=False)


def units_dir(stage: Path, units: dict[str, str], packaged: tuple[str, ...] = ()) -> Path:
    """The lab's /etc/systemd/system: the stack's units (enabled), the lab's target, and
    enabled units of the host's packages (`packaged`, e.g. nginx.service)."""
    from ..stack import LAB_TARGET

    path = stage / "etc-systemd"
    wants = path / "multi-user.target.wants"
    wants.mkdir(parents=True)
    (path / "gdlab.target").write_text(LAB_TARGET)
    for name, text in units.items():
        (path / name).write_text(text)
        (wants / name).symlink_to(f"/etc/systemd/system/{name}")
    for name in packaged:
        (wants / name).symlink_to(f"/lib/systemd/system/{name}")
    return path


def accounts(users: dict[str, int], hosts: list[str]) -> dict[str, str]:
    """/etc/passwd, /etc/group and /etc/hosts for the lab: the host's plus the stack's."""
    passwd = Path("/etc/passwd").read_text() + "".join(
        f"{u}:x:{uid}:{uid}::/home/{u}:/usr/sbin/nologin\n" for u, uid in users.items())
    group = Path("/etc/group").read_text() + "".join(
        f"{u}:x:{uid}:\n" for u, uid in users.items())
    hosts_text = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                  "127.0.1.1\tgdlab\n" + "".join(f"127.0.0.1\t{h}\n" for h in hosts))
    return {"/etc/passwd": passwd, "/etc/group": group, "/etc/hosts": hosts_text,
            "/etc/hostname": "gdlab\n"}


@dataclass
class Deployed:
    """A booted stack, and the operations its operators would run on it."""

    spec: StackSpec
    lab: Lab
    stage: Path
    made: list[str] = field(default_factory=list)  # mount points created on the host
    timings: dict[str, float] = field(default_factory=dict)

    def url(self, path: str, name: str | None = None) -> str:
        port = "" if self.spec.port == 80 else f":{self.spec.port}"
        return f"http://{name or self.spec.server_name}{port}{path}"

    def sh(self, script: str, timeout: float = 60.0, check: bool = True) -> str:
        return self.lab.sh(script, timeout=timeout, check=check)

    def curl_status(self, path: str, timeout: float = 8.0) -> int:
        """What a client sees through nginx (0: no answer), asking for the stack's name."""
        out = self.lab.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", str(timeout),
             "-H", f"Host: {self.spec.server_name}", f"http://127.0.0.1:{self.spec.port}{path}"],
            timeout=timeout + 5).stdout.strip()
        return int(out) if out.isdigit() else 0

    def wait_for(self, path: str, status: int, timeout: float = 40.0) -> int:
        deadline = time.monotonic() + timeout
        seen = -1
        while time.monotonic() < deadline:
            seen = self.curl_status(path)
            if seen == status:
                return seen
            time.sleep(0.3)
        return seen

    # -- the app, through its own manager ------------------------------------------------
    def manage(self, action: str) -> None:
        """start, stop or restart the app the way its manager does."""
        s = self.spec
        if s.manager == "systemd":
            self.sh(f"systemctl {action} {s.app}", check=False)
        elif s.manager == "supervisor":
            self.sh(f"supervisorctl -c /etc/supervisor/supervisord.conf {action} {s.app}",
                    check=False)
        elif s.manager == "pm2":
            self.sh(f"runuser -u {s.app_user} -- env HOME=/home/{s.app_user} "
                    f"PM2_HOME={s.pm2_home} pm2 {action} {s.app}", check=False)
        else:  # by hand: kill what holds the port, start it again the way it was
            if action in ("stop", "restart"):
                # [u]vicorn: the pattern must not match the shell running pkill.
                pattern = f"[{s.start_pattern[0]}]{s.start_pattern[1:]}"
                self.sh(f"pkill -9 -f '{pattern}' || true")
                time.sleep(0.5)
            if action in ("start", "restart"):
                self.sh(s.start)

    def nginx_do(self, action: str) -> None:
        """reload or restart nginx the way this server's nginx is run."""
        kind, *rest = self.spec.nginx
        if kind == "systemd":
            self.sh(f"systemctl {action} {rest[0]}", check=False)
            return
        binary, conf = rest
        if action == "reload":
            self.sh(f"{binary} -c {conf} -s reload", check=False)
            return
        # `-s stop` reads the configuration first (and refuses a broken one): signal the
        # master, as init scripts do. [n]ginx: the pattern must not match this shell.
        self.sh(f"pkill -QUIT -f '[n]ginx: master process {binary}'; sleep 1; "
                f"{binary} -c {conf} || true", check=False)

    def edit(self, path: str, old: str, new: str, count: int = -1) -> None:
        """Replace text in a file inside the lab (it must be there)."""
        script = ("import sys; p=sys.argv[1]; t=open(p).read(); o=sys.argv[2]\n"
                  "assert o in t, (p, o)\n"
                  "open(p,'w').write(t.replace(o, sys.argv[3], int(sys.argv[4])))")
        proc = self.lab.run(["python3", "-c", script, path, old, new, str(count)])
        if proc.returncode != 0:
            raise AssertionError(f"cannot edit {path}: {proc.stderr[-500:]}")


STACKS: dict[str, StackSpec] = {}


def register(spec: StackSpec) -> StackSpec:
    STACKS[spec.name] = spec
    return spec


def boot(name: str) -> Deployed:
    """Boot a lab and bring the named stack up, healthy; the caller must stop() it."""
    spec = STACKS[name]
    t0 = time.monotonic()
    if name == "lab":
        from ..stack import boot_stack

        first = boot_stack("uvicorn")
        return Deployed(spec=spec, lab=first.lab, stage=first.stage,
                        timings={"total": time.monotonic() - t0})
    venv = venv_dir(spec.venv, REQUIREMENTS)
    runs = cache_root() / "runs"
    runs.mkdir(exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=runs))
    stage.chmod(0o755)
    booted = Lab(stage)  # waits for the host's lab slot before making anything on the host
    binds = spec.stage(stage)
    etc_dir = stage / "etc-files"
    etc_dir.mkdir()
    etc_files = []
    for n, (lab_path, text) in enumerate(spec.etc.items()):
        host_file = etc_dir / f"{n}-{Path(lab_path).name}"
        host_file.write_text(text)
        host_file.chmod(0o644)
        etc_files.append((host_file, lab_path))
    # Mount points the host lacks (/www, /opt/shop) are made for the lab and removed after;
    # each folder made is listed, parents first, so that only those go (not the host's /srv).
    made: list[str] = []
    for _, lab in binds:
        missing = []
        path = lab
        while not os.path.exists(path):
            missing.append(path)
            path = os.path.dirname(path)
        made += reversed(missing)
        os.makedirs(lab, exist_ok=True)
    deployed = Deployed(spec=spec, lab=booted, stage=stage, made=made)
    try:
        deployed.lab.start(binds, etc_files)
        t1 = time.monotonic()
        upper = "/run/gdlab-venv"
        deployed.sh(
            f"mkdir -p {upper}/upper {upper}/work {spec.venv}\n"
            f"mount -t overlay overlay -o lowerdir={venv},upperdir={upper}/upper,"
            f"workdir={upper}/work {spec.venv}\n" + spec.provision, timeout=180)
        if deployed.wait_for(spec.path, 200, timeout=60) != 200:
            raise RuntimeError(f"stack {name} did not come up: " + deployed.lab.run(
                ["journalctl", "--no-pager", "-n", "60"]).stdout[-3000:])
    except BaseException:
        stop(deployed)
        raise
    deployed.timings = {"boot": t1 - t0, "total": time.monotonic() - t0}
    return deployed


def stop(deployed: Deployed) -> None:
    """Power the lab off, remove its stage and the mount points made for it."""
    deployed.lab.stop()
    shutil.rmtree(deployed.stage, ignore_errors=True)
    for path in reversed(deployed.made):
        with contextlib.suppress(OSError):
            os.rmdir(path)
    deployed.lab.release()


def _load_all() -> None:
    from . import edge, first, panel, uwsgi, wsgi  # noqa: F401 - registering is the import's effect

    # The first stack first: the matrix reads from the known to the new.
    order = sorted(STACKS, key=lambda name: name != "lab")
    STACKS.update({name: STACKS.pop(name) for name in order})


_load_all()
