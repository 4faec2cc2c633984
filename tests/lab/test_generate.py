"""Generated files run each lab stack's app healthy under the lab's own systemd (or
supervisor) and nginx.

For each stack: boot it healthy, stop the stack's own app (and take its own site away), run
the real `gatewaydoctor generate unit|supervisor --write` and `site --write` inside the lab
on the app folder, activate them the manager's way (daemon-reload and start;
supervisorctl reread and update), reload nginx, then the stack's URL answers 200 through
nginx and `gatewaydoctor diagnose URL --json` says healthy. Writes under /etc land in the
lab's private /etc overlay, never on the host.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator

import pytest
from gdlab.stacks import Deployed, boot, stop

DOCTOR = [sys.executable, "-m", "gatewaydoctor"]


@pytest.fixture
def deployed(request: pytest.FixtureRequest) -> Iterator[Deployed]:
    d = boot(request.param)
    try:
        yield d
    finally:
        stop(d)


def generate(d: Deployed, *args: str, ok: bool = True) -> str:
    """Run the real CLI inside the lab; return its stderr (what it said)."""
    proc = d.lab.run([*DOCTOR, "generate", *args], timeout=120)
    assert (proc.returncode == 0) == ok, (args, proc.returncode, proc.stderr[-2000:])
    return proc.stderr


def healthy_through_nginx(d: Deployed) -> None:
    status = d.wait_for(d.spec.path, 200, timeout=60)
    assert status == 200, (status, d.sh("journalctl --no-pager -n 80", check=False)[-4000:])
    proc = d.lab.run([*DOCTOR, "diagnose", d.url(d.spec.path), "--json"], timeout=180)
    report = json.loads(proc.stdout)
    causes = [(c["category"], c["title"]) for c in report.get("causes", [])]
    assert report["verdict"] == "healthy", causes
    assert proc.returncode == 0


def _systemd_unit(d: Deployed, name: str, *extra: str) -> None:
    """Replace the stack's unit by ours (a stopped unit left behind on the same port is
    something diagnose rightly reports), start it the way systemd is told to."""
    d.sh(f"systemctl disable --now {d.spec.app} && rm /etc/systemd/system/{d.spec.app} && "
         "systemctl daemon-reload")
    said = generate(d, "unit", d.spec.app_dir, "--name", name, "--write", *extra)
    assert f"wrote /etc/systemd/system/{name}.service" in said
    # written once: again without --force is refused, the file unchanged
    before = d.sh(f"sha256sum /etc/systemd/system/{name}.service")
    again = generate(d, "unit", d.spec.app_dir, "--name", name, "--write", *extra, ok=False)
    assert "exists: --force replaces it" in again
    assert d.sh(f"sha256sum /etc/systemd/system/{name}.service") == before
    d.sh(f"systemctl daemon-reload && systemctl enable --now {name}.service")


def _site(d: Deployed, name: str, remove: str, *extra: str) -> str:
    """Take the stack's own site away, write ours where its nginx includes sites, reload."""
    d.sh(f"rm -f {shlex.quote(remove)}")
    said = generate(d, "site", d.spec.app_dir, "--name", name, "--server-name",
                    d.spec.server_name, "--listen", str(d.spec.port), "--write", *extra)
    d.nginx_do("reload")
    return said


@pytest.mark.parametrize("deployed", ["lab"], indirect=True)
def test_first_stack_unit_and_site(deployed: Deployed) -> None:
    d = deployed
    _systemd_unit(d, "backend")
    unit = d.sh("cat /etc/systemd/system/backend.service")
    assert "User=app\n" in unit and "EnvironmentFile=/srv/app/backend/.env\n" in unit
    said = _site(d, "backend", "/etc/nginx/sites-enabled/fastapi")
    assert "wrote /etc/nginx/sites-available/backend.conf" in said
    assert "linked /etc/nginx/sites-enabled/backend.conf" in said
    healthy_through_nginx(d)
    assert d.curl_status("/docs") == 200 and d.curl_status("/openapi.json") == 200


@pytest.mark.parametrize("deployed", ["edge"], indirect=True)
def test_edge_unit_on_the_socket_its_nginx_uses(deployed: Deployed) -> None:
    """src/ layout, env file outside the app, nginx's own -c configuration with an
    upstream on a unix socket and no folder of sites: the unit serves that socket, and the
    site is refused with the reason (nothing to include it)."""
    d = deployed
    _systemd_unit(d, "shop", "--socket", "/run/shop/api.sock", "--env-file",
                  "/etc/shop/api.env")
    unit = d.sh("cat /etc/systemd/system/shop.service")
    assert "--pythonpath /opt/shop/src shop.web.asgi:application" in unit
    assert "RuntimeDirectory=shop\n" in unit
    site = d.lab.run([*DOCTOR, "generate", "site", d.spec.app_dir, "--write",
                      "--socket", "/run/shop/api.sock"], timeout=60)
    assert site.returncode == 2 and "includes no folder of sites" in site.stderr
    healthy_through_nginx(d)


@pytest.mark.parametrize("deployed", ["wsgi"], indirect=True)
def test_wsgi_supervisor_program_and_site(deployed: Deployed) -> None:
    """Flask on gunicorn under supervisord: its secret moved from the program's
    environment= to .env, which the program reads through sh, never inlined."""
    d = deployed
    app = d.spec.app_dir
    d.sh(f"supervisorctl stop {d.spec.app} && rm /etc/supervisor/conf.d/blog.conf && "
         f"supervisorctl reread && supervisorctl update\n"
         f"printf 'BLOG_DSN=postgresql://blog:BlogPg-2024@localhost/blog\\n' > {app}/.env\n"
         f"chown blog:blog {app}/.env && chmod 600 {app}/.env")
    said = generate(d, "supervisor", app, "--name", "blog-site", "--write")
    assert "wrote /etc/supervisor/conf.d/blog-site.conf" in said
    program = d.sh("cat /etc/supervisor/conf.d/blog-site.conf")
    assert "BlogPg-2024" not in program and f"{app}/.env" in program
    d.sh("supervisorctl reread && supervisorctl update blog-site")
    _site(d, "blog-site", "/etc/nginx/conf.d/blog.conf")
    healthy_through_nginx(d)
    # RUNNING once it stayed up startsecs=5 (it answers before that: STARTING)
    status = d.sh("for i in $(seq 30); do supervisorctl status blog-site | grep -q RUNNING "
                  "&& break; sleep 0.5; done; supervisorctl status blog-site", check=False)
    assert "RUNNING" in status, status


@pytest.mark.parametrize("deployed", ["uwsgi"], indirect=True)
def test_uwsgi_stack_runs_on_a_generated_unit(deployed: Deployed) -> None:
    """The venv in the app folder's parent; the uwsgi_pass site replaced by a proxy_pass
    one on the stack's own port."""
    d = deployed
    d.sh("printf 'NOTES_DATABASE_URL=postgresql://notes:N0tesDbPass@127.0.0.1:5434/notes\\n'"
         f" > {d.spec.app_dir}/.env && chown notes:notes {d.spec.app_dir}/.env")
    _systemd_unit(d, "notes")
    assert "/srv/notes/env/bin/python -m gunicorn" in d.sh(
        "cat /etc/systemd/system/notes.service")
    _site(d, "notes", "/etc/nginx/sites-enabled/notes.conf")
    healthy_through_nginx(d)


@pytest.mark.parametrize("deployed", ["panel", "panel-pm2"], indirect=True)
def test_panel_hand_started_app_gets_a_unit_and_its_vhost_replaced(
        deployed: Deployed) -> None:
    """The Baota layout: uvicorn started by hand as root (or by pm2) becomes a unit as the
    folder's owner; the site goes to the panel's vhost folder, where one of that name
    exists: refused without --force, replaced with a backup with it."""
    d = deployed
    if d.spec.manager == "pm2":  # taken out of pm2's list, not left there stopped
        d.sh(f"runuser -u {d.spec.app_user} -- env HOME=/home/{d.spec.app_user} "
             f"PM2_HOME={d.spec.pm2_home} pm2 delete {d.spec.app}")
    else:
        d.manage("stop")
    said = generate(d, "unit", d.spec.app_dir, "--write")
    assert "wrote /etc/systemd/system/api.example.cn.service" in said
    d.sh("systemctl daemon-reload && systemctl start api.example.cn.service")
    vhost = d.spec.site
    old, old_stat = d.sh(f"cat {vhost}"), d.sh(f"stat -c %a:%U:%G {vhost}")
    refused = generate(d, "site", d.spec.app_dir, "--server-name", d.spec.server_name,
                       "--write", ok=False)
    assert f"{vhost} exists" in refused
    said = generate(d, "site", d.spec.app_dir, "--server-name", d.spec.server_name,
                    "--write", "--force")
    backup = d.sh(f"ls {vhost}.gatewaydoctor-*.bak").strip()
    assert d.sh(f"cat {backup}") == old
    assert d.sh(f"stat -c %a:%U:%G {backup}") == old_stat
    assert "wrote " + vhost in said
    d.nginx_do("reload")
    healthy_through_nginx(d)
