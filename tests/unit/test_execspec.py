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


# Real command lines of every server people run behind nginx: which server, where it binds,
# which app it imports (each server's defaults from its own CLI source; docs/signatures.md).
@pytest.mark.parametrize(("cmd", "server", "binds", "target"), [
    ("/usr/bin/uwsgi --http :8000 --module app.wsgi:application --master --processes 4",
     "uwsgi", ["0.0.0.0:8000"], ("app.wsgi", "application", None, None)),
    ("/usr/bin/uwsgi_python3 --socket /run/uwsgi/app.sock --wsgi-file /srv/app/wsgi.py "
     "--callable app --chdir /srv/app -M --vacuum", "uwsgi", ["unix:/run/uwsgi/app.sock"],
     ("wsgi", "app", "/srv/app", "/srv/app")),
    ("/srv/venv/bin/uwsgi --http-socket 127.0.0.1:9100 -w main:app --enable-threads",
     "uwsgi", ["127.0.0.1:9100"], ("main", "app", None, None)),
    ("/srv/venv/bin/python -m pyuwsgi --socket=127.0.0.1:3031 --wsgi-file=wsgi.py "
     "--chdir=/srv/site", "uwsgi", ["127.0.0.1:3031"], ("wsgi", "application", "/srv/site",
                                                        "/srv/site")),
    ("/srv/venv/bin/waitress-serve --listen=127.0.0.1:8080 --listen=*:9000 app:app",
     "waitress-serve", ["127.0.0.1:8080", "0.0.0.0:9000"], ("app", "app", None, None)),
    ("/srv/venv/bin/waitress-serve --port 9000 --call app:create_app", "waitress-serve",
     ["0.0.0.0:9000"], ("app", "create_app", None, None)),
    ("/srv/venv/bin/python -m waitress --unix-socket=/run/w.sock --app=app:app",
     "waitress-serve", ["unix:/run/w.sock"], ("app", "app", None, None)),
    ("/srv/venv/bin/granian --interface asgi --host 0.0.0.0 --port 9000 --workers 2 main:app",
     "granian", ["0.0.0.0:9000"], ("main", "app", None, None)),
    ("/srv/venv/bin/granian --interface wsgi --uds /run/g.sock --working-dir /srv/app app:app",
     "granian", ["unix:/run/g.sock"], ("app", "app", None, "/srv/app")),
    ("/srv/venv/bin/python manage.py runserver 0.0.0.0:8001", "django", ["0.0.0.0:8001"], None),
    ("/srv/venv/bin/python -u manage.py runserver --noreload", "django", ["127.0.0.1:8000"],
     None),
    ("/srv/venv/bin/django-admin runserver 9000 --settings=proj.settings", "django",
     ["127.0.0.1:9000"], None),
    ("/srv/venv/bin/flask --app hello:app run --host 0.0.0.0 --port 8080", "flask",
     ["0.0.0.0:8080"], ("hello", "app", None, None)),
    ("/srv/venv/bin/python -m flask --app hello run", "flask", ["127.0.0.1:5000"], None),
    ("/srv/venv/bin/daphne -b 0.0.0.0 -p 8001 proj.asgi:application", "daphne",
     ["0.0.0.0:8001"], ("proj.asgi", "application", None, None)),
    ("/srv/venv/bin/daphne -e unix:/run/d.sock -e tcp:port=8002:interface=127.0.0.1 "
     "--proxy-headers proj.asgi:application", "daphne", ["unix:/run/d.sock", "127.0.0.1:8002"],
     ("proj.asgi", "application", None, None)),
    ("/srv/venv/bin/hypercorn --bind 0.0.0.0:9000 --insecure-bind 127.0.0.1:9001 main:app",
     "hypercorn", ["0.0.0.0:9000", "127.0.0.1:9001"], ("main", "app", None, None)),
    ("/srv/venv/bin/hypercorn -w 2 --keep-alive 5 main:app", "hypercorn", ["127.0.0.1:8000"],
     ("main", "app", None, None)),
])
def test_every_server(cmd: str, server: str, binds: list[str],
                      target: tuple[str, str, str | None, str | None] | None) -> None:
    argv = cmd.split()
    assert execspec.server_of(argv) == server
    assert execspec.binds(argv) == binds
    t = execspec.app_target(argv)
    assert (t and (t.module, t.attr, t.app_dir, t.chdir)) == target


@pytest.mark.parametrize("cmd", ["/srv/venv/bin/python manage.py migrate", "flask routes",
                                 "/srv/venv/bin/python -m flask shell"])
def test_management_commands_do_not_serve(cmd: str) -> None:
    assert execspec.server_of(cmd.split()) in (None, "python")


def test_uwsgi_ini_file() -> None:
    argv = ["/usr/bin/uwsgi", "--ini", "/etc/uwsgi/apps-enabled/site.ini"]
    assert execspec.server_of(argv) == "uwsgi" and execspec.binds(argv) == []
    assert execspec.uwsgi_config_files(argv) == ["/etc/uwsgi/apps-enabled/site.ini"]
    assert execspec.uwsgi_config_files(["uwsgi", "site.ini"]) == ["site.ini"]
    text = ("[uwsgi]\nchdir = /srv/site\nmodule = site.wsgi:application\nmaster = true\n"
            "; a comment\nsocket = /run/uwsgi/site.sock\nhttp = :8080\n[other]\nsocket = x\n")
    full = argv + execspec.uwsgi_ini_args(text)
    assert execspec.binds(full) == ["0.0.0.0:8080", "unix:/run/uwsgi/site.sock"]
    t = execspec.app_target(full)
    assert t is not None and (t.module, t.attr, t.chdir) == ("site.wsgi", "application",
                                                             "/srv/site")
