"""The healthy stack: nginx → FastAPI on uvicorn (or gunicorn) → PostgreSQL, under systemd.

Everything the lab needs under /etc is staged in a host directory of the lab's own and
bind-mounted privately inside the lab; nothing of the host is edited.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .boot import Lab
from .venv import LAB_VENV_PATH, cache_root, venv_dir

BACKEND_SRC = Path(__file__).parent / "backend"
APP_DIR = "/srv/app/backend"
APP_UID = 1500
DB_PASSWORD = "S3cretLabPassw0rd"
POSTGRES_URL = f"postgresql://app:{DB_PASSWORD}@127.0.0.1:5432/appdb"
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_DATA = "/var/lib/postgresql/15/lab"
GUNICORN_SOCKET = "/run/fastapi/gunicorn.sock"
SERVER_NAME = "app.example.test"

BACKEND_UNIT_UVICORN = f"""\
[Unit]
Description=FastAPI Backend
After=network.target postgresql.service

[Service]
Type=simple
User=app
Group=app
WorkingDirectory={APP_DIR}
EnvironmentFile={APP_DIR}/.env
ExecStart={LAB_VENV_PATH}/bin/python -m uvicorn main:app --host 0.0.0.0 --port 8000
Restart=always
RestartSec=2
StandardOutput=journal
StandardError=journal

[Install]
WantedBy=multi-user.target
"""

BACKEND_UNIT_GUNICORN = f"""\
[Unit]
Description=FastAPI Backend (gunicorn)
After=network.target postgresql.service

[Service]
Type=simple
User=app
Group=www-data
RuntimeDirectory=fastapi
RuntimeDirectoryMode=0755
WorkingDirectory={APP_DIR}
EnvironmentFile={APP_DIR}/.env
ExecStart={LAB_VENV_PATH}/bin/gunicorn -k uvicorn.workers.UvicornWorker -w 2 \\
    --bind unix:{GUNICORN_SOCKET} --timeout 30 main:app
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""

def postgres_unit(port: int = 5432) -> str:
    """A PostgreSQL unit the way Debian runs the cluster, on `port` (the lab's data dir)."""
    return f"""\
[Unit]
Description=PostgreSQL database server
After=network.target

[Service]
Type=notify
User=postgres
RuntimeDirectory=postgresql
RuntimeDirectoryMode=2775
ExecStart={PG_BIN}/postgres -D {PG_DATA} -k /run/postgresql -p {port} \\
    -c listen_addresses=127.0.0.1
KillMode=mixed
TimeoutSec=60

[Install]
WantedBy=multi-user.target
"""


def postgres_provision(port: int, role: str, password: str, db: str) -> str:
    """Shell that makes the cluster, starts it and creates the app's role and database."""
    psql = f"runuser -u postgres -- psql -qX -h /run/postgresql -p {port}"
    return (
        f"install -d -o postgres -g postgres -m 700 {PG_DATA}\n"
        f"runuser -u postgres -- {PG_BIN}/initdb -D {PG_DATA} --auth-local=peer "
        "--auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null\n"
        "systemctl start postgresql.service\n"
        f"{psql} -c \"CREATE ROLE {role} LOGIN PASSWORD '{password}'\"\n"
        f"{psql} -c 'CREATE DATABASE {db} OWNER {role}'\n"
    )


POSTGRES_UNIT = postgres_unit()

LAB_TARGET = """\
[Unit]
Description=gatewaydoctor lab
Wants=systemd-journald.socket systemd-journald.service
AllowIsolate=yes
"""

PROXY_LOCATIONS = ("/api/", "/docs", "/openapi.json", "/health")


def nginx_site(upstream: str) -> str:
    """An nginx site like the ones people write in front of a FastAPI backend."""
    blocks = []
    for path in PROXY_LOCATIONS:
        blocks.append(
            f"    location {path} {{\n"
            f"        proxy_pass {upstream};\n"
            "        include proxy_params;\n"
            "    }\n"
        )
    return (
        "server {\n"
        "    listen 80 default_server;\n"
        "    listen [::]:80 default_server;\n"
        f"    server_name {SERVER_NAME};\n\n"
        "    root /var/www/html;\n"
        "    index index.html;\n\n"
        + "\n".join(blocks)
        + "}\n"
    )


@dataclass
class Stack:
    """A provisioned lab: where its pieces are, and handles to change them."""

    lab: Lab
    stage: Path
    variant: str = "uvicorn"
    timings: dict[str, float] = field(default_factory=dict)

    # Host-side paths of files visible inside the lab.
    @property
    def backend(self) -> Path:
        return self.stage / "srv" / "app" / "backend"

    @property
    def units(self) -> Path:
        return self.stage / "etc-systemd"

    @property
    def nginx_conf(self) -> Path:
        return self.stage / "etc-nginx"

    def url(self, path: str = "/api/health") -> str:
        return f"http://127.0.0.1{path}"

    def curl_status(self, path: str, host: str = SERVER_NAME, timeout: float = 5.0) -> int:
        """What a client on the host sees through nginx (HTTP status; 0 if no answer)."""
        out = self.lab.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", str(timeout),
             "-H", f"Host: {host}", f"http://127.0.0.1{path}"],
            timeout=timeout + 5,
        ).stdout.strip()
        return int(out) if out.isdigit() else 0

    def wait_for(self, path: str, status: int, timeout: float = 30.0) -> int:
        """Poll path through nginx until it answers `status`; return the last status."""
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            seen = self.curl_status(path)
            if seen == status:
                return seen
            time.sleep(0.2)
        return seen

    def journal_has(self, unit: str, text: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.lab.run(["journalctl", "-u", unit, "--no-pager", "-o", "cat"]).stdout
            if text in out:
                return True
            time.sleep(0.3)
        return False

    def systemctl(self, *args: str) -> str:
        return self.lab.run(["systemctl", *args], check=False).stdout


def _stage_files(stage: Path, variant: str) -> None:
    backend = stage / "srv" / "app" / "backend"
    backend.mkdir(parents=True)
    for name in ("main.py", "config.py", "requirements.txt"):
        shutil.copy(BACKEND_SRC / name, backend / name)
    (backend / ".env").write_text(f"POSTGRES_URL={POSTGRES_URL}\nAPP_NAME=FastAPI Backend\n")
    (backend / "venv").mkdir()
    for path in [stage / "srv" / "app", *backend.rglob("*"), backend]:
        path.chmod(0o755 if path.is_dir() else 0o644)
        _chown(path, APP_UID, APP_UID)
    (backend / ".env").chmod(0o640)
    (stage / "srv").chmod(0o755)

    units = stage / "etc-systemd"
    (units / "multi-user.target.wants").mkdir(parents=True)
    backend_unit = BACKEND_UNIT_GUNICORN if variant == "gunicorn" else BACKEND_UNIT_UVICORN
    (units / "fastapi-backend.service").write_text(backend_unit)
    (units / "postgresql.service").write_text(POSTGRES_UNIT)
    (units / "gdlab.target").write_text(LAB_TARGET)
    for name in ("fastapi-backend.service", "postgresql.service"):
        (units / "multi-user.target.wants" / name).symlink_to(f"/etc/systemd/system/{name}")
    (units / "multi-user.target.wants" / "nginx.service").symlink_to(
        "/lib/systemd/system/nginx.service"
    )

    nginx = stage / "etc-nginx"
    shutil.copytree("/etc/nginx", nginx, symlinks=True)
    for old in (nginx / "sites-enabled").iterdir():
        old.unlink()
    upstream = f"http://unix:{GUNICORN_SOCKET}" if variant == "gunicorn" else "http://127.0.0.1:8000"
    (nginx / "sites-available" / "fastapi").write_text(nginx_site(upstream))
    (nginx / "sites-enabled" / "fastapi").symlink_to("/etc/nginx/sites-available/fastapi")

    etc = stage / "etc"
    etc.mkdir()
    (etc / "hosts").write_text(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"127.0.1.1\tgdlab\n127.0.0.1\t{SERVER_NAME}\n"
    )
    (etc / "passwd").write_text(
        Path("/etc/passwd").read_text()
        + f"app:x:{APP_UID}:{APP_UID}:FastAPI app:/srv/app:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text(Path("/etc/group").read_text() + f"app:x:{APP_UID}:\n")
    (etc / "hostname").write_text("gdlab\n")
    for name in ("hosts", "passwd", "group", "hostname"):
        (etc / name).chmod(0o644)


def _chown(path: Path, uid: int, gid: int) -> None:
    import os

    os.chown(path, uid, gid, follow_symlinks=False)


def boot_stack(variant: str = "uvicorn") -> Stack:
    """Boot a lab and bring the healthy stack up; the caller must stop() it."""
    t0 = time.monotonic()
    venv = venv_dir()
    t_venv = time.monotonic()
    runs = cache_root() / "runs"
    runs.mkdir(exist_ok=True)
    import tempfile

    stage = Path(tempfile.mkdtemp(prefix="lab-", dir=runs))
    stage.chmod(0o755)
    _stage_files(stage, variant)
    lab = Lab(stage)
    binds = [
        (stage / "srv", "/srv"),
        (stage / "etc-systemd", "/etc/systemd/system"),
        (stage / "etc-nginx", "/etc/nginx"),
    ]
    etc_files = [(stage / "etc" / name, f"/etc/{name}")
                 for name in ("hosts", "passwd", "group", "hostname")]
    stack = Stack(lab=lab, stage=stage, variant=variant)
    try:
        lab.start(binds, etc_files)
        t_boot = time.monotonic()
        upper = "/run/gdlab-venv"
        lab.sh(
            f"mkdir -p {upper}/upper {upper}/work\n"
            f"mount -t overlay overlay -o lowerdir={venv},upperdir={upper}/upper,"
            f"workdir={upper}/work {LAB_VENV_PATH}\n"
            + postgres_provision(5432, "app", DB_PASSWORD, "appdb")
            + "systemctl start fastapi-backend.service nginx.service\n",
            timeout=120,
        )
        if stack.wait_for("/health", 200, timeout=60) != 200:
            raise RuntimeError(
                "healthy stack did not come up: "
                + lab.run(["journalctl", "--no-pager", "-n", "60"]).stdout[-3000:]
            )
        t_up = time.monotonic()
    except BaseException:
        stop_stack(stack)
        raise
    stack.timings = {
        "venv": t_venv - t0,
        "boot": t_boot - t_venv,
        "provision": t_up - t_boot,
        "total": t_up - t0,
    }
    return stack


def stop_stack(stack: Stack) -> None:
    """Shut the lab down and remove its staging directory."""
    stack.lab.stop()
    shutil.rmtree(stack.stage, ignore_errors=True)
    stack.lab.release()
