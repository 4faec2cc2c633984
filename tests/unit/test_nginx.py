"""nginx configuration dump, `nginx -t` and error.log lines in their real formats."""

from __future__ import annotations

from gatewaydoctor.evidence import Item
from gatewaydoctor.facts import location_for
from gatewaydoctor.parse.nginx_config import read_config, read_test
from gatewaydoctor.parse.nginx_logs import access_entries, error_entries

DUMP = """# configuration file /etc/nginx/nginx.conf:
events { worker_connections 768; }
http {
    error_log /var/log/nginx/error.log;
    include /etc/nginx/sites-enabled/*;
}

# configuration file /etc/nginx/sites-enabled/fastapi:
upstream backend { server unix:/run/app/gunicorn.sock; }
server {
    listen 80 default_server;
    server_name app.example.test;
    location /api/ {
        proxy_pass http://127.0.0.1:8000;
    }
    location /docs { proxy_pass http://backend; }
}
"""


def test_read_config_with_crossplane() -> None:
    cfg = read_config(DUMP, "read from nginx -T")
    assert cfg.parser == "crossplane"
    [server] = cfg.servers
    assert server.names == ("app.example.test",) and server.file.endswith("fastapi")
    api, docs = server.locations
    assert (api.path, api.line, [e.label for e in api.endpoints]) == (
        "/api/", 5, ["127.0.0.1:8000"])
    assert docs.upstream_group == "backend"
    assert [e.label for e in docs.endpoints] == ["unix:/run/app/gunicorn.sock"]
    assert cfg.error_logs == ("/var/log/nginx/error.log",)
    assert location_for(cfg, "/api/health", "app.example.test") == api


def test_broken_file_is_read_tolerantly_and_said_so() -> None:
    broken = DUMP.replace("proxy_pass http://127.0.0.1:8000;\n    }", "proxy_pass http://127.0.0.1:8000;")
    cfg = read_config(broken, "read from the files on disk")
    assert cfg.parser == "crossplane+tolerant" and "fastapi" in (cfg.note or "")
    assert cfg.errors
    assert any(loc.proxy_pass == "http://127.0.0.1:8000"
               for s in cfg.servers for loc in s.locations)


def test_nginx_t_failure_with_debian_envelope() -> None:
    item = Item.from_dict({"source": "nginx.test", "kind": "command", "argv": ["nginx", "-t"],
                           "rc": 1, "stderr": (
        '2026/11/23 20:32:56 [emerg] 20773#20773: unknown directive "proxy_pas" in '
        "/etc/nginx/sites-enabled/fastapi:10\n"
        "nginx: configuration file /etc/nginx/nginx.conf test failed\n")})
    t = read_test(item)
    assert not t.ok
    [m] = t.messages
    assert (m.level, m.text, m.file, m.line) == (
        "emerg", 'unknown directive "proxy_pas"', "/etc/nginx/sites-enabled/fastapi", 10)


ERROR_LINE = (
    '2026/11/23 20:30:13 [error] 234#234: *7 connect() failed (111: Connection refused) while '
    'connecting to upstream, client: 127.0.0.1, server: app.example.test, request: '
    '"GET /api/health HTTP/1.1", upstream: "http://127.0.0.1:8000/api/health", '
    'host: "app.example.test"'
)


def test_error_log_line() -> None:
    item = Item.from_dict({"source": "nginx.error_log:/var/log/nginx/error.log", "kind": "file",
                           "path": "/var/log/nginx/error.log", "offset": 0,
                           "stdout": "garbage\n" + ERROR_LINE + "\n"})
    [e] = error_entries(item)
    assert e.message == "connect() failed (111: Connection refused)"
    assert e.action == "connecting to upstream" and e.cid == 7
    assert e.upstream == "http://127.0.0.1:8000/api/health"
    assert e.where == "/var/log/nginx/error.log:2"


def test_error_log_tail_says_where_from_the_end() -> None:
    item = Item.from_dict({"source": "nginx.error_log:/l", "kind": "file", "path": "/l",
                           "offset": 5000, "stdout": ERROR_LINE + "\nx\n"})
    assert error_entries(item)[0].where == "/l (2 lines before the end)"


def test_access_log_combined() -> None:
    line = ('127.0.0.1 - - [23/Nov/2026:09:07:15 +0000] "GET /timeout HTTP/1.1" 504 167 "-" '
            '"curl/7.88.1"')
    [a] = access_entries(Item.from_dict({"source": "a", "kind": "file", "stdout": line}))
    assert (a.status, a.path, a.agent) == (504, "/timeout", "curl/7.88.1")
