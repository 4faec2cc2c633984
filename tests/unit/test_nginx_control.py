"""How nginx is run, and the commands fixes give for it (a custom -c, a panel's own binary,
Debian's unit that repeats the defaults with -g)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewaydoctor.agent.nginxscan import from_init_scripts, from_units
from gatewaydoctor.facts import NginxControl, nginx_commands


@pytest.mark.parametrize(("argv", "unit", "test", "reload"), [
    (("/usr/sbin/nginx", "-g", "daemon on; master_process on;"), "nginx", "nginx -t",
     "systemctl reload nginx"),
    (("/usr/sbin/nginx", "-c", "/opt/edge/nginx.conf"), "edge-proxy",
     "nginx -c /opt/edge/nginx.conf -t", "systemctl reload edge-proxy"),
    (("/www/server/nginx/sbin/nginx", "-c", "/www/server/nginx/conf/nginx.conf"), None,
     "/www/server/nginx/sbin/nginx -c /www/server/nginx/conf/nginx.conf -t",
     "/www/server/nginx/sbin/nginx -c /www/server/nginx/conf/nginx.conf -s reload"),
    (("/usr/local/openresty/nginx/sbin/nginx", "-p", "/usr/local/openresty/nginx/", "-g",
      "daemon off; error_log stderr;"), None,
     "/usr/local/openresty/nginx/sbin/nginx -p /usr/local/openresty/nginx/ -g "
     "'daemon off; error_log stderr;' -t",
     "/usr/local/openresty/nginx/sbin/nginx -p /usr/local/openresty/nginx/ -g "
     "'daemon off; error_log stderr;' -s reload"),
])
def test_commands_name_the_nginx_that_runs(argv: tuple[str, ...], unit: str | None, test: str,
                                           reload: str) -> None:
    commands = nginx_commands(NginxControl(argv=argv, unit=unit, source="nginx -T"))
    assert commands["nginx_test"] == test
    assert commands["nginx_reload"] == reload


def test_unknown_nginx_is_the_packaged_one() -> None:
    assert nginx_commands(None)["nginx_restart"] == "systemctl restart nginx"


def test_units_that_would_start_nginx_are_read_with_their_own_flags() -> None:
    units = [
        {"name": "nginx.service", "masked": False,
         "exec_start": ["/usr/sbin/nginx -g 'daemon on; master_process on;'"]},
        {"name": "edge-proxy.service", "masked": False,
         "exec_start": ["/usr/sbin/nginx -c /opt/edge/nginx.conf"]},
        {"name": "shop-api.service", "masked": False,
         "exec_start": ["/opt/shop/venv/bin/gunicorn shop.web.asgi:application"]},
        {"name": "old-nginx.service", "masked": True, "exec_start": []},
    ]
    found = {m["unit"]: m for m in from_units(units)}
    assert set(found) == {"nginx.service", "edge-proxy.service"}
    assert found["edge-proxy.service"]["conf"] == "/opt/edge/nginx.conf"
    assert found["nginx.service"]["globals"] == "daemon on; master_process on;"
    assert found["edge-proxy.service"]["pid"] is None


def test_an_init_script_names_the_panels_nginx(tmp_path: Path) -> None:
    """Baota's /etc/init.d/nginx (LNMP's script): variables expanded, comments ignored."""
    binary = tmp_path / "www" / "server" / "nginx" / "sbin" / "nginx"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    init = tmp_path / "init.d"
    init.mkdir()
    (init / "nginx").write_text(
        "#!/bin/bash\n# Description: put in /etc/init.d, chmod +x /etc/init.d/nginx\n"
        f"NAME=nginx\nNGINX_BIN={binary.parent}/$NAME\n"
        "CONFIGFILE=/www/server/nginx/conf/$NAME.conf\n"
        'case "$1" in\n  start)\n    $NGINX_BIN -c $CONFIGFILE\n    ;;\nesac\n')
    (init / "ssh").write_text(f"#!/bin/sh\n{binary} -c /etc/other.conf\n")
    found = from_init_scripts(str(init))
    assert [(m["path"], m["conf"]) for m in found] == [
        (str(binary), "/www/server/nginx/conf/nginx.conf")]
