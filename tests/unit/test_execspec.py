"""ExecStart, app targets and binds as systemd and the servers spell them."""

from __future__ import annotations

import pytest

from gatewaydoctor.formats import execspec, systemd

SHOW_EXECSTART = (
    "{ path=/srv/app/backend/venv/bin/python ; argv[]=/srv/app/backend/venv/bin/python -m uvicorn "
    "main:app --host 0.0.0.0 --port 8000 ; ignore_errors=no ; start_time=[n/a] ; "
    "stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }"
)


def test_exec_argvs_reads_systemctl_show_format() -> None:
    assert systemd.exec_argvs(SHOW_EXECSTART) == [[
        "/srv/app/backend/venv/bin/python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0",
        "--port", "8000"]]


@pytest.mark.parametrize(("cmd", "server", "module", "attr", "app_dir", "chdir"), [
    ("/v/bin/python -m uvicorn main:app --port 8000", "uvicorn", "main", "app", None, None),
    ("/v/bin/uvicorn --app-dir src pkg.main:api", "uvicorn", "pkg.main", "api", "src", None),
    ("/v/bin/gunicorn -k uvicorn.workers.UvicornWorker --bind unix:/run/app/gunicorn.sock "
     "main:app", "gunicorn", "main", "app", None, None),
    ("/v/bin/gunicorn --chdir /srv/app -w 2 backend.main:app", "gunicorn", "backend.main",
     "app", None, "/srv/app"),
    ("/usr/bin/python3 -u -m gunicorn wsgi", "gunicorn", "wsgi", "application", None, None),
])
def test_app_target(cmd: str, server: str, module: str, attr: str, app_dir: str | None,
                    chdir: str | None) -> None:
    t = execspec.app_target(cmd.split())
    assert t is not None
    assert (t.server, t.module, t.attr, t.app_dir, t.chdir) == (server, module, attr, app_dir,
                                                                 chdir)


def test_not_a_web_server() -> None:
    assert execspec.app_target(["/usr/bin/python3", "/usr/bin/networkd-dispatcher"]) is None
    assert execspec.server_of(["/usr/sbin/nginx", "-g", "daemon off;"]) is None


@pytest.mark.parametrize(("cmd", "binds"), [
    ("python -m uvicorn main:app --host 0.0.0.0 --port 8000", ["0.0.0.0:8000"]),
    ("uvicorn main:app", ["127.0.0.1:8000"]),
    ("uvicorn main:app --uds /run/app.sock", ["unix:/run/app.sock"]),
    ("gunicorn -k uvicorn.workers.UvicornWorker --bind unix:/run/app/gunicorn.sock main:app",
     ["unix:/run/app/gunicorn.sock"]),
    ("gunicorn -b 127.0.0.1:9000 -b [::1]:9000 main:app", ["127.0.0.1:9000", "[::1]:9000"]),
    ("gunicorn main:app", ["127.0.0.1:8000"]),
])
def test_binds(cmd: str, binds: list[str]) -> None:
    assert execspec.binds(cmd.split()) == binds


def test_env_file_keys_and_quotes() -> None:
    text = '# c\nPOSTGRES_URL="postgresql://app:pw@127.0.0.1/appdb"\nexport APP_NAME=x\nbad line\n'
    assert systemd.parse_env_file(text) == [
        ("POSTGRES_URL", "postgresql://app:pw@127.0.0.1/appdb"), ("APP_NAME", "x")]


def test_environment_files_property() -> None:
    assert systemd.environment_files("/srv/app/backend/.env (ignore_errors=no)") == [
        ("/srv/app/backend/.env", False)]


# How the process table shows a server started through its script's shebang (the kernel
# runs `INTERPRETER SCRIPT ARGS`): recorded from the wsgi and panel-pm2 lab stacks.
@pytest.mark.parametrize(("cmdline", "server", "target", "binds"), [
    ("/home/blog/.venvs/site/bin/python /home/blog/.venvs/site/bin/gunicorn --workers 3 "
     "--bind 127.0.0.1:5050 --timeout 20 --access-logfile - wsgi:app",
     "gunicorn", "wsgi:app", ["127.0.0.1:5050"]),
    ("/www/wwwroot/api.example.cn/venv/bin/python /www/wwwroot/api.example.cn/venv/bin/uvicorn "
     "app.main:app --host 127.0.0.1 --port 8008", "uvicorn", "app.main:app", ["127.0.0.1:8008"]),
    ("/usr/bin/python3 -u /opt/venv/bin/uvicorn main:app", "uvicorn", "main:app",
     ["127.0.0.1:8000"]),
])
def test_a_server_run_through_its_shebang(cmdline: str, server: str, target: str | None,
                                          binds: list[str] | None) -> None:
    argv = cmdline.split()
    assert execspec.server_of(argv) == server
    app = execspec.app_target(argv)
    assert (f"{app.module}:{app.attr}" if app else None) == target
    if binds is not None:
        assert execspec.binds(argv) == binds
