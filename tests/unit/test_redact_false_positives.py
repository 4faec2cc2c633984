"""The false-positive budget: what diagnoses a host is never masked.

Ordinary evidence (exception names, paths, unit names and properties, addresses, nginx
directives, the decisive line of every lab recording) comes out of the redactor as it
went in, nothing counted; a whole lab recording too (the lab holds no secret). And the
diagnosis of every recording, and of recordings with the whole secret corpus planted in
them, is the same before and after redaction: causes, categories, rules and the chain.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from report_cases import RECORDINGS, decisive_line
from secret_corpus import KINDS
from test_secret_corpus import PLACES, recording

from gatewaydoctor.diagnose import diagnose
from gatewaydoctor.evidence import Evidence
from gatewaydoctor.parse import build_facts
from gatewaydoctor.redact import Redactor
from gatewaydoctor.rules.registry import all_rules, run_rules

ROOT = Path(__file__).resolve().parents[2]

ORDINARY = [
    # exceptions, also those that name a secret without holding one
    "KeyError: 'SECRET_KEY'", "KeyError: 'DATABASE_URL'", "TokenError: invalid",
    "ModuleNotFoundError: No module named 'jwt'",
    "ImportError: attempted relative import with no known parent package",
    "jwt.exceptions.ExpiredSignatureError: Signature has expired", "invalid signature",
    "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings",
    "secret_key\n  Field required [type=missing, input_value={}, input_type=dict]",
    'FATAL:  password authentication failed for user "app"',
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "
    '"127.0.0.1", port 5432 failed: Connection refused',
    'could not translate host name "db" to address: Name or service not known',
    "Authorization header missing", "Not authenticated", "password=None",
    "credentials=None", "secret_key: str", "db_password: SecretStr = Field(...)",
    "x_api_key: str = Header(...)", 'api_key_header = APIKeyHeader(name="X-API-Key")',
    '  File "/srv/app/backend/main.py", line 7, in <module>\n    from .config import settings',
    '  File "/srv/app/backend/venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", '
    "line 145, in __init__",
    # systemd
    "KillSignal=SIGTERM", "KeyringMode=private", "SendSIGKILL=yes", "RestartKillSignal=15",
    "Environment=PYTHONUNBUFFERED=1", "LoadCredential=", "[Service]", "User=app",
    "TOKEN_EXPIRE_MINUTES=30", "ACCESS_TOKEN_EXPIRE_MINUTES=30", "JWT_ALGORITHM=HS256",
    "PASSWORD_MIN_LENGTH=8", "sig: 15", "token_type: bearer", "AUTH_TYPE=basic",
    "ExecStart=/srv/app/venv/bin/gunicorn -k uvicorn.workers.UvicornWorker main:app "
    "--keep-alive 5",
    "Main process exited, code=killed, status=9/KILL",
    # nginx
    'auth_basic "Restricted";', "auth_basic_user_file /etc/nginx/.htpasswd;",
    "ssl_certificate_key /etc/ssl/private/x.key;", "ssl_session_cache shared:SSL:10m;",
    "proxy_set_header Authorization $http_authorization;", "set $upstream_key $host;",
    "proxy_pass http://unix:/run/gunicorn.sock:/;", "proxy_pass http://[::1]:8000;",
    "proxy_pass http://localhost:{$PORT};", "proxy_cache_key $scheme$host$request_uri;",
    "fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;",
    "auth_request /auth;", "auth_request_set $user $upstream_http_x_user;",
    "keepalive_timeout 65;", "limit_req_zone $binary_remote_addr zone=api:10m rate=5r/s;",
    'add_header Strict-Transport-Security "max-age=31536000" always;',
    'upstream: "http://127.0.0.1:8000/api/@me"',
    'nginx: [emerg] unknown directive "proxy_passs" in /etc/nginx/sites-enabled/app:12',
    "2026/11/23 21:10:12 [crit] 247#247: *1 connect() to unix:/run/app.sock failed "
    "(13: Permission denied)",
    # commands, the kernel, addresses
    "curl -sS http://127.0.0.1:8000/health", "mysql -h db -u root appdb", "redis-cli ping",
    "Out of memory: Killed process 4242 (python) total-vm:1234kB, anon-rss:600000kB",
    "[UFW BLOCK] IN=lo OUT= SRC=127.0.0.1 DST=127.0.0.1 PROTO=TCP SPT=4242 DPT=8000",
    'type=AVC msg=audit(1700000000.000:42): avc:  denied  { name_connect } for  pid=1 '
    'comm="nginx" dest=8000 scontext=system_u:system_r:httpd_t:s0',
    "host=127.0.0.1 port=5432", "[::1]:8000 0.0.0.0:80 127.0.0.1:5432",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_evidence_is_never_masked(text: str) -> None:
    r = Redactor()
    assert r.text(text) == text and not r.counts, r.text(text)


def test_the_nginx_configurations_of_the_suite_are_never_masked() -> None:
    files = [p for p in (ROOT / "tests" / "data" / "nginx").rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            assert Redactor().text(line) == line, (path, line)


@pytest.mark.parametrize("name", RECORDINGS)
def test_a_lab_recording_and_its_decisive_line_are_never_masked(name: str) -> None:
    ev = recording(name)
    r = Redactor()
    assert r.evidence(ev) == ev and not r.counts, dict(r.counts)
    line = decisive_line(name)
    if line is not None:
        assert Redactor().text(line) == line


def _diagnosis(ev: dict[str, Any]) -> tuple[Any, ...]:
    facts = build_facts(Evidence.from_dict(copy.deepcopy(ev)))
    d = diagnose(facts, run_rules(facts, all_rules()))
    return (d.verdict, [(f.category, f.rule, f.severity) for f in d.causes],
            sorted((f.category, f.rule) for f in d.findings),
            [[(h.layer, h.status) for h in c.hops] for c in d.chains])


@pytest.mark.parametrize("name", RECORDINGS)
def test_redaction_keeps_the_diagnosis_of_every_recording(name: str) -> None:
    ev = recording(name)
    before = _diagnosis(ev)
    assert _diagnosis(Redactor().evidence(ev)) == before
    assert _diagnosis(Redactor(mask_ips=True, mask_hosts=True).evidence(ev)) == before


@pytest.mark.parametrize("place", sorted(n for n, p in PLACES.items() if not p.single))
def test_masking_the_corpus_keeps_the_diagnosis(place: str) -> None:
    """Every kind planted at once, then masked: the parsers still read what they read."""
    ev = recording(PLACES[place].recording)
    PLACES[place].plant(ev, list(KINDS))
    red = Redactor().evidence(json.loads(json.dumps(ev)))
    assert _diagnosis(red) == _diagnosis(ev)
