"""`gatewaydoctor generate`: detection over real app folders (the lab's apps in their stacks'
layouts, and the fixtures in tests/data/generate), the generated text's key lines, and the
validators for real: `systemd-analyze verify`, `nginx -t`, and the generated command run in a
network namespace of its own until the app answers."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatewaydoctor.errors import GatewayDoctorError
from gatewaydoctor.formats.systemd import parse_env_file
from gatewaydoctor.generate import commands, nginxsite, render
from gatewaydoctor.generate.detect import Project, Request, detect, unit_bind
from gatewaydoctor.generate.flow import _verify_unit

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "generate"
LAB = ROOT / "lab" / "gdlab"
APP_USER = "www-data"
PACKAGES = ("fastapi", "uvicorn", "gunicorn", "python-dotenv", "flask", "psycopg2-binary",
            "pyuwsgi")

# The lab's apps, each copied where its stack keeps it (app folder, venv), relative to a
# temporary root: (source, app folder, venv folder).
LAB_LAYOUTS = {
    "lab": (LAB / "backend", "srv/app/backend", "srv/app/backend/venv"),
    "edge": (LAB / "stacks/apps/edge", "opt/shop", "opt/shop/venv"),
    "wsgi": (LAB / "stacks/apps/wsgi", "home/blog/site", "home/blog/.venvs/site"),
    "uwsgi": (LAB / "stacks/apps/uwsgi", "srv/notes/app", "srv/notes/env"),
    "panel": (LAB / "stacks/apps/panel", "www/wwwroot/api.example.cn",
              "www/wwwroot/api.example.cn/venv"),
}
FIXTURES = {
    "relpkg": (DATA / "relpkg", "relpkg/backend", "relpkg/.venv"),
    "flaskfactory": (DATA / "flaskfactory", "flaskfactory", "flaskfactory/env"),
    "djsite": (DATA / "djsite", "djsite", "djsite/venv"),
    "wsapp": (DATA / "wsapp", "wsapp", "wsapp/venv"),
    "twoapps": (DATA / "twoapps", "twoapps", "twoapps/venv"),
    "srcns": (DATA / "srcns", "srcns", "srcns/.venv"),
    "apiws": (DATA / "apiws", "apiws", "apiws/venv"),
}


@pytest.fixture(scope="session")
def real_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real virtualenv with the servers and frameworks installed by pip."""
    path = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(path / "bin/python"),
                          "install", "-q", *PACKAGES], capture_output=True, text=True,
                         check=False, timeout=600)
    if pip.returncode != 0:
        pytest.skip(f"cannot install {PACKAGES} into a test venv: {pip.stderr[-400:]}")
    path.chmod(0o755)
    return path


def place(tmp: Path, layout: tuple[Path, str, str], venv: Path) -> Path:
    """Copy an app to its layout under tmp, link the venv where its layout keeps it, and
    give the tree to the app user (as deployments are); return the app folder."""
    source, app, venv_at = layout
    if source.name == "relpkg":  # the whole package's parent is the fixture
        shutil.copytree(source, tmp / "relpkg")
    else:
        shutil.copytree(source, tmp / app)
    (tmp / venv_at).parent.mkdir(parents=True, exist_ok=True)
    (tmp / venv_at).symlink_to(venv)
    uid = pwd.getpwnam(APP_USER).pw_uid
    for path in [tmp, *tmp.rglob("*")]:
        os.chown(path, uid, uid, follow_symlinks=False)
    return tmp / app


@pytest.fixture
def apps(tmp_path: Path, real_venv: Path) -> Iterator[dict[str, Path]]:
    placed = {name: place(tmp_path / name, layout, real_venv)
              for name, layout in {**LAB_LAYOUTS, **FIXTURES}.items()}
    yield placed


def _project(app: Path, **kw: object) -> Project:
    return detect(Request(app_dir=str(app), port=kw.pop("port", 8123), **kw))  # type: ignore


# name: (target, working directory relative to the app folder, import root or None, server,
#        kind)
EXPECTED = {
    "lab": ("main:app", ".", None, "gunicorn", "asgi"),
    "edge": ("shop.web.asgi:application", ".", "src", "gunicorn", "asgi"),
    "wsgi": ("wsgi:app", ".", None, "gunicorn", "wsgi"),
    "uwsgi": ("notesapp.wsgi:application", ".", None, "gunicorn", "wsgi"),
    "panel": ("app.main:app", ".", None, "gunicorn", "asgi"),
    "relpkg": ("backend.main:app", "..", None, "gunicorn", "asgi"),
    "flaskfactory": ("wsgi:app", ".", None, "gunicorn", "wsgi"),
    "djsite": ("djsite.wsgi:application", ".", None, "gunicorn", "wsgi"),
    "wsapp": ("chat:chat", ".", None, "gunicorn", "asgi"),
    "srcns": ("svc.api.asgi:application", ".", "src", "gunicorn", "asgi"),
    "apiws": ("server:api", ".", None, "gunicorn", "asgi"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detects_target_workdir_server_and_venv(apps: dict[str, Path], name: str) -> None:
    app = apps[name]
    target, workdir, pythonpath, server, kind = EXPECTED[name]
    p = _project(app)
    assert p.target.spec == target
    assert p.workdir == os.path.normpath(app / workdir)
    assert p.pythonpath == (str(app / pythonpath) if pythonpath else None)
    assert (p.server, p.target.kind) == (server, kind)
    assert os.path.realpath(p.venv.python).startswith(os.path.realpath(p.venv.path)) or \
        Path(p.venv.path, "pyvenv.cfg").is_file()
    assert {"uvicorn", "gunicorn"} <= set(p.venv.servers)
    assert (p.user, p.group) == (APP_USER, APP_USER)
    assert p.target.relative == (name in ("relpkg", "srcns"))


def test_relative_imports_run_from_the_packages_parent(apps: dict[str, Path]) -> None:
    """The GD-APP-001 failure mode, avoided: `backend.main:app` from relpkg, not
    `main:app` from relpkg/backend."""
    p = _project(apps["relpkg"])
    text = render.unit(p)
    assert f"WorkingDirectory={apps['relpkg'].parent}\n" in text
    exec_start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_start.endswith(" backend.main:app")
    assert f"EnvironmentFile={apps['relpkg']}/.env\n" in text


def test_where_it_listens_comes_from_the_apps_own_configuration(
        apps: dict[str, Path]) -> None:
    # Procfile's $PORT, from .env; gunicorn.conf.py's bind, on loopback
    assert detect(Request(app_dir=str(apps["flaskfactory"]))).bind == "127.0.0.1:5057"
    assert detect(Request(app_dir=str(apps["wsapp"]))).bind == "127.0.0.1:7311"
    free = detect(Request(app_dir=str(apps["lab"]))).bind
    assert free.startswith("127.0.0.1:") and int(free.rsplit(":", 1)[1]) >= 8000
    sock = detect(Request(app_dir=str(apps["lab"]), socket="/run/backend/app.sock"))
    assert sock.socket == "/run/backend/app.sock"
    assert "RuntimeDirectory=backend\n" in render.unit(sock)


def test_the_site_proxies_where_the_unit_or_program_written_before_listens(
        apps: dict[str, Path], tmp_path: Path) -> None:
    """generate site after generate unit|supervisor (and after the app took its free port):
    the port is read back from what was written, in both managers' spellings."""
    p = detect(Request(app_dir=str(apps["relpkg"]), port=8771, server="gunicorn"))
    (tmp_path / "backend.service").write_text(render.unit(p))
    (tmp_path / "backend.conf").write_text(render.supervisor(p, "/var/log/supervisor"))
    assert "sh -c" in (tmp_path / "backend.conf").read_text()
    for place in ("{name}.service", "{name}.conf"):
        assert unit_bind("backend", (str(tmp_path / place),)) == "127.0.0.1:8771"
    assert unit_bind("other", (str(tmp_path / "{name}.conf"),)) is None


def test_websockets_get_upgrade_headers(apps: dict[str, Path]) -> None:
    # a literal path on the app: its own location; a router's (prefix unknown): every path
    exact = render.site(_project(apps["wsapp"]), "80")
    assert "location = /ws/chat {" in exact and 'proxy_set_header Connection "upgrade";' in exact
    named = render.site(_project(apps["apiws"]), "80")  # on the app, whatever its name
    assert "location = /ws {" in named and "map $http_upgrade" not in named
    # FastAPI's docs where the app puts them, none where it turns them off
    assert "location = /api/docs {" in named and "location = /api/openapi.json {" in named
    assert "location = /docs {" not in named
    anywhere = render.site(_project(apps["relpkg"]), "80")
    assert "map $http_upgrade $gd_backend_connection {" in anywhere
    assert "proxy_set_header Connection $gd_backend_connection;" in anywhere
    plain = render.site(_project(apps["lab"]), "80")
    assert "Upgrade" not in plain and 'proxy_set_header Connection "";' in plain


def test_site_key_lines(apps: dict[str, Path]) -> None:
    p = detect(Request(app_dir=str(apps["lab"]), port=8123, server_name="api.example.org",
                       timeout=90))
    text = render.site(p, "8080")
    for line in ("upstream gd_backend {", "server 127.0.0.1:8123;", "keepalive 16;",
                 "proxy_http_version 1.1;", "proxy_set_header Host $host;",
                 "proxy_set_header X-Real-IP $remote_addr;",
                 "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
                 "proxy_set_header X-Forwarded-Proto $scheme;", "proxy_read_timeout 105s;",
                 "listen 8080;", "server_name api.example.org;", "location = /docs {",
                 "location = /openapi.json {"):
        assert line in text, line
    assert "--timeout 90" in render.unit(p)


def test_unit_key_lines(apps: dict[str, Path], real_venv: Path) -> None:
    p = _project(apps["edge"])
    text = render.unit(p)
    python = f"{apps['edge']}/venv/bin/python"
    for line in (f"User={APP_USER}\n", f"Group={APP_USER}\n",
                 f"WorkingDirectory={apps['edge']}\n", "Restart=on-failure\n",
                 "RestartSec=3\n", "StartLimitIntervalSec=120\n", "StartLimitBurst=5\n",
                 "LimitNOFILE=65536\n", "TimeoutStopSec=40\n",
                 f"ExecStart={python} -m gunicorn --bind 127.0.0.1:8123 ",
                 "--worker-class uvicorn.workers.UvicornWorker",
                 f"--pythonpath {apps['edge']}/src shop.web.asgi:application\n"):
        assert line in text, line
    uvicorn = render.unit(_project(apps["edge"], server="uvicorn"))
    assert f"ExecStart={python} -m uvicorn shop.web.asgi:application " in uvicorn
    assert f"--app-dir {apps['edge']}/src" in uvicorn


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_units_pass_systemd_analyze_verify(apps: dict[str, Path], name: str) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    p = _project(apps[name])
    assert _verify_unit(p.name, render.unit(p)) == []


def test_systemd_analyze_rejects_a_unit_whose_interpreter_is_gone(
        apps: dict[str, Path]) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    p = _project(apps["lab"])
    text = render.unit(p).replace(p.venv.python, "/nonexistent/venv/bin/python")
    with pytest.raises(GatewayDoctorError, match="not executable"):
        _verify_unit(p.name, text)


def _nginx() -> str:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx")
                                       else None)
    if binary is None:
        pytest.skip("nginx is not installed")
    return binary


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sites_pass_nginx_t(apps: dict[str, Path], name: str) -> None:
    ok, said = nginxsite.test_alone(_nginx(), render.site(_project(apps[name]), "80"))
    assert ok, said


def _nginx_tree(tmp: Path, layout: str) -> Path:
    """A whole nginx configuration of our own: a main file including sites from a folder."""
    (tmp / "logs").mkdir(parents=True)
    sites = tmp / layout
    sites.mkdir(parents=True)
    (sites / "other.conf").write_text(
        "upstream gd_backend_taken { server 127.0.0.1:9; }\n"
        "server { listen 127.0.0.1:8081; server_name other; location / { return 204; } }\n")
    conf = tmp / "nginx.conf"
    conf.write_text(f"pid {tmp}/nginx.pid;\nerror_log {tmp}/logs/error.log;\nevents {{}}\n"
                    f"http {{\n    access_log off;\n    include {tmp}/mime.types;\n"
                    f"    include {sites}/*.conf;\n}}\n")
    (tmp / "mime.types").write_text("types { text/html html; }\n")
    return conf


def test_nginx_t_on_the_whole_configuration_writes_nothing(
        apps: dict[str, Path], tmp_path: Path) -> None:
    binary = _nginx()
    conf = _nginx_tree(tmp_path / "nginx", "vhost")
    site = nginxsite.site_dir(str(conf))
    assert site.folder == str(tmp_path / "nginx" / "vhost")
    nginx = nginxsite.Nginx((binary, "-p", str(tmp_path / "nginx")), str(conf), "test")
    before = sorted(os.listdir(site.folder))
    p = _project(apps["lab"])
    ok, said = nginxsite.test(nginx, site, p.name, render.site(p, "127.0.0.1:8082"))
    assert ok, said
    # the same upstream name twice in the whole configuration: nginx -t says no
    clash = render.site(p, "127.0.0.1:8082").replace("gd_backend", "gd_backend_taken")
    ok, said = nginxsite.test(nginx, site, p.name, clash)
    assert not ok and "duplicate upstream" in said
    assert sorted(os.listdir(site.folder)) == before


def test_site_folder_is_the_one_the_http_block_includes(tmp_path: Path) -> None:
    conf = _nginx_tree(tmp_path, "sites-enabled")
    (tmp_path / "sites-available").mkdir()
    (tmp_path / "conf.d").mkdir()
    text = conf.read_text().replace("http {\n", f"http {{\n    include {tmp_path}/conf.d/*.conf;\n")
    conf.write_text(text)
    site = nginxsite.site_dir(str(conf))
    assert site.folder == str(tmp_path / "sites-enabled")
    assert site.available == str(tmp_path / "sites-available")
    bare = tmp_path / "bare.conf"
    bare.write_text("events {}\nhttp { server { listen 1; } }\n")
    with pytest.raises(GatewayDoctorError, match="includes no folder of sites"):
        nginxsite.site_dir(str(bare))


# -- the generated command really serves the app ----------------------------------------

_DRIVER = r"""
import json, subprocess, sys, time, urllib.request
argv, cwd, env, url = json.loads(sys.argv[1])
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE)
out = {"status": 0, "body": ""}
deadline = time.monotonic() + 30
while time.monotonic() < deadline and proc.poll() is None:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            out = {"status": r.status, "body": r.read().decode()}
        break
    except Exception:
        time.sleep(0.2)
proc.terminate()
try:
    _, err = proc.communicate(timeout=20)
except subprocess.TimeoutExpired:
    proc.kill()
    _, err = proc.communicate()
out["stderr"] = err.decode()[-1500:]
print(json.dumps(out))
"""


def serve(argv: list[str], cwd: str, env: dict[str, str], url: str) -> dict[str, object]:
    """Run argv in a network namespace of our own, GET url there, stop it."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare or ip is not installed")
    proc = subprocess.run(["unshare", "--net", sys.executable, "-c", _DRIVER,
                           json.dumps([argv, cwd, env, url])], capture_output=True, text=True,
                          timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def _unit_env(p: Project) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin"}
    if p.env_file:
        env.update(parse_env_file(Path(p.env_file).read_text()))
    return env


@pytest.mark.parametrize(("name", "path", "expect", "server"), [
    ("relpkg", "/hello", "from-env-file", None),
    ("relpkg", "/docs", "swagger", None),
    ("relpkg", "/hello", "from-env-file", "uvicorn"),
    ("flaskfactory", "/posts", "first", None),
    ("flaskfactory", "/posts", "first", "uwsgi"),
    ("uwsgi", "/notes/export", "notes", "uwsgi"),
    ("wsapp", "/", "chat", None),
    ("srcns", "/", "svc", None),
    ("apiws", "/api/docs", "swagger", "uvicorn"),
    ("edge", "/v1/catalog", "oolong", None),
])
def test_the_units_command_serves_the_app(apps: dict[str, Path], name: str, path: str,
                                          expect: str, server: str | None) -> None:
    """ExecStart as generated, in WorkingDirectory with the EnvironmentFile's values."""
    p = detect(Request(app_dir=str(apps[name]), port=8765, server=server))
    assert p.server == (server or "gunicorn")
    env = _unit_env(p)
    if name == "edge":  # its settings need a database URL (nothing connects at import)
        env["SHOP_DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    got = serve(commands.server_argv(p), p.workdir, env, f"http://127.0.0.1:8765{path}")
    assert got["status"] == 200 and expect in str(got["body"]), got


@pytest.mark.parametrize("server", ["uvicorn", "gunicorn"])
def test_supervisors_command_loads_the_env_file_itself(apps: dict[str, Path],
                                                       server: str) -> None:
    """supervisor gets no secrets inlined: uvicorn reads --env-file, gunicorn runs through
    `sh -c 'set -a; . .env; exec ...'`; either way the app sees the file's values."""
    p = detect(Request(app_dir=str(apps["relpkg"]), port=8766, server=server))
    command, note = render.supervisor_command(p)
    assert note and "from-env-file" not in command
    assert ("--env-file" in command) == (server == "uvicorn")
    import shlex

    got = serve(shlex.split(command), p.workdir, {"PATH": "/usr/bin:/bin"},
                "http://127.0.0.1:8766/hello")
    assert got["status"] == 200 and "from-env-file" in str(got["body"]), got
    text = render.supervisor(p, "/var/log/supervisor")
    for line in (f"[program:{p.name}]", f"directory={p.workdir}", f"user={APP_USER}",
                 "autostart=true", "autorestart=true", "stopasgroup=true", "killasgroup=true",
                 "stdout_logfile=/var/log/supervisor/backend.out.log",
                 "stderr_logfile=/var/log/supervisor/backend.err.log"):
        assert line in text, line


def test_an_env_file_sh_would_misread_is_refused_for_supervisor(
        apps: dict[str, Path]) -> None:
    env = apps["relpkg"] / ".env"
    env.write_text("GREETING=two words\n")
    p = detect(Request(app_dir=str(apps["relpkg"]), port=8766, server="gunicorn"))
    with pytest.raises(GatewayDoctorError, match=r"\.env:1: sh would read"):
        render.supervisor_command(p)


# -- what is refused, with one sentence ----------------------------------------------------

def test_two_apps_ask_for_target(apps: dict[str, Path]) -> None:
    with pytest.raises(GatewayDoctorError,
                       match=r"2 apps found .*admin\.py:3.*api\.py:3.*--target"):
        _project(apps["twoapps"])
    p = _project(apps["twoapps"], target="admin:app")
    assert (p.target.spec, p.target.kind) == ("admin:app", "wsgi")


def test_refusals(apps: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    os.chown(empty, pwd.getpwnam(APP_USER).pw_uid, -1)
    with pytest.raises(GatewayDoctorError, match="no app found"):
        _project(empty)
    (empty / "main.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    with pytest.raises(GatewayDoctorError, match="no virtualenv found"):
        _project(empty)
    os.chown(apps["lab"], 0, 0)
    with pytest.raises(GatewayDoctorError, match="owned by root.*--user"):
        _project(apps["lab"])
    assert _project(apps["lab"], user="root").user == "root"
    with pytest.raises(GatewayDoctorError, match="--target must be module:attr"):
        _project(apps["lab"], user="root", target="main.py")
    with pytest.raises(GatewayDoctorError, match="--port and --socket"):
        _project(apps["lab"], user="root", socket="/run/x.sock")
