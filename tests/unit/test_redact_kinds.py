"""Every kind of secret the redactor must catch, in the formats it meets them; stable masking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatewaydoctor.agent import pyapp
from gatewaydoctor.redact import Redactor, redact

S = "Zq7sEcretValue99"
ACCESS = ('203.0.113.9 - - [23/Nov/2026:20:30:13 +0000] "GET /api/health HTTP/1.1" 200 15 '
          '"-" "curl/7.88.1"')

CASES = {
    "dsn_password": [f"postgresql://app:{S}@127.0.0.1:5432/appdb",
                     f"redis://:{S}@cache:6379/0", f"mysql+pymysql://u:{S}@db/x?charset=utf8",
                     f"amqp://guest:{S}@mq:5672//"],
    "auth_header": [f"Authorization: Bearer {S}", f"cookie: session={S}; theme=dark",
                    f"Set-Cookie: sid={S}; Path=/; HttpOnly", f"> Proxy-Authorization: {S}",
                    f"X-Api-Key: {S}", f"proxy_set_header Authorization \"Basic {S}\";",
                    f"proxy_set_header Authorization {S};", f"grpc_set_header x-api-key {S};",
                    f"proxy_set_header Cookie session={S};", f"add_header Set-Cookie sid={S};"],
    "bearer_token": [f"token was Bearer {S} at login", "curl -u x -H 'Basic dXNlcjpwYXNz'",
                     f'ExecStart="/bin/sh" "-c" "sleep 600" "Authorization:" "Bearer" "{S}"'],
    "api_token": ["sk-proj-" + S * 2, "sk_live_" + S * 2, "ghp_" + S + "abcdefghij",
                  "github_pat_" + S + "_" + S, "AKIAIOSFODNN7EXAMPLE", "xoxb-1234-" + S,
                  "glpat-" + S + "xyz"],
    "jwt": ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3"],
    "private_key": [f"-----BEGIN RSA PRIVATE KEY-----\nMIIE{S}\n-----END RSA PRIVATE KEY-----",
                    f"-----BEGIN OPENSSH PRIVATE KEY-----\\nb3Bl{S}\\n",
                    f"-----BEGIN EC PRIVATE KEY-----\n{S}\n-----END EC PRIVATE KEY-----"],
    "secret_assignment": [f"Environment=POSTGRES_PASSWORD={S}", f'Environment="SECRET_KEY={S} x"',
                          f"Environment=API_TOKEN={S} PATH=/usr/bin", f"SIGNING_KEY={S}",
                          f'"client_secret": "{S}"', f"Environment=DJANGO_SECRET_KEY={S}\\x20z",
                          f"host=db password={S} dbname=x", f"app --token {S} --port 1",
                          f'ExecStart="/srv/app" "--db-password" "{S}"', f"app --api-key={S}"],
    "url_secret": [f"GET /cb?code=1&access_token={S} HTTP/1.1", f"/x?api_key={S}"],
}


@pytest.mark.parametrize("kind,text", [(k, t) for k, ts in CASES.items() for t in ts])
def test_every_kind_is_masked_and_counted(kind: str, text: str) -> None:
    r = Redactor()
    out = r.text(text)
    assert S not in out and "dXNlcjpwYXNz" not in out and "AKIAIOSFODNN7EXAMPLE" not in out
    assert "dozjgNryP4J3" not in out, out
    assert r.counts[kind] >= 1, (dict(r.counts), out)
    assert S not in json.dumps(r.counts)


@pytest.mark.parametrize("text", [
    "ImportError: attempted relative import with no known parent package",
    "2026/11/23 20:30:13 [error] 31#31: *1 connect() failed (111: Connection refused) while "
    'connecting to upstream, client: 127.0.0.1, server: app.example.test, request: '
    '"GET /api/health HTTP/1.1", upstream: "http://127.0.0.1:8000/api/health"',
    "\t##\n\t# Basic Settings\n\t##",
    "limit_req_zone $binary_remote_addr zone=docs:10m rate=1r/m;",
    "ExecStart=/srv/app/backend/venv/bin/python -m uvicorn main:app --port 8000",
    "EnvironmentFile=/srv/app/backend/.env",
    "proxy_set_header Authorization $http_authorization;",
    "ExecStart=/usr/bin/app --no-password --port 8000",
])
def test_what_rules_read_is_left_alone(text: str) -> None:
    r = Redactor()
    assert r.text(text) == text and not r.counts


def test_access_log_cookie_and_token_fields() -> None:
    line = f'{ACCESS} "Bearer {S}" "session={S}; csrftoken={S}" "{S}abc1" "-" "0.004"'
    r = Redactor()
    out = r.text(line, "nginx.access_log:/var/log/nginx/access.log")
    assert S not in out
    assert out.startswith(ACCESS) and out.endswith('"-" "0.004"')
    assert '"session=***; csrftoken=***"' in out
    assert r.counts["cookie"] == 1


def test_journal_json_records_stay_json() -> None:
    rec = {"MESSAGE": f'connect to "postgresql://app:{S}@db/x" failed', "_PID": "7",
           "PASSWORD": S}
    text = json.dumps(rec) + "\n" + json.dumps({"MESSAGE": "ok"})
    ev = {"host": "h", "items": {"journal.unit:a.service": {
        "source": "journal.unit:a.service", "kind": "command", "stdout": text}}}
    out = Redactor().evidence(ev)["items"]["journal.unit:a.service"]["stdout"]
    assert S not in out
    first = json.loads(out.splitlines()[0])
    assert first["_PID"] == "7" and "postgresql://app:***@db/x" in first["MESSAGE"]


def test_mask_ips_is_consistent_and_keeps_loopback() -> None:
    r = Redactor(mask_ips=True)
    out = r.text("proxy_pass http://10.0.3.7:8000; listen 10.0.3.7:8000 via 10.0.3.8, "
                 "127.0.0.1:8000 [::1]:80 [2a01:4f8::5]:443 0.0.0.0:80 version 1.22.1")
    words = out.split()
    assert "10.0.3.7" not in out and "2a01:4f8::5" not in out
    assert words[1].startswith("http://")
    assert words[1][len("http://"):].rstrip(";") == words[3].rstrip(";")
    assert "192.0.2.1:8000" in out and "192.0.2.2," in out
    assert "127.0.0.1:8000" in out and "[::1]:80" in out and "0.0.0.0:80" in out
    assert "1.22.1" in out
    # /proc/net/tcp's little-endian hex addresses get the same placeholder.
    tcp = r.text("   0: 0703000A:1F40 00000000:0000 0A", "proc.net.tcp")
    assert "0102000A" not in tcp and "010200C0:1F40" in tcp  # 192.0.2.1


def test_mask_hosts_is_consistent_and_keeps_localhost() -> None:
    r = Redactor(mask_hosts=True, hosts=["web01"])
    r.learn_hosts_from(["server_name api.corp.example.com www.corp.example.com;",
                        "proxy_pass http://localhost:8000; proxy_pass http://backend;"])
    out = r.text("web01 api.corp.example.com /srv/app/backend localhost web01-venv "
                 "host: \"api.corp.example.com\"")
    assert "corp.example.com" not in out and "web01 " not in out
    assert out.count("host-2.example") == 2 and out.startswith("host-1.example ")
    assert "/srv/app/backend" in out and "localhost" in out and "web01-venv" in out


def test_module_functions_use_the_same_redactor() -> None:
    assert redact(f"password={S}") == "password=***"


def test_env_file_values_are_never_recorded(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(f"POSTGRES_URL=postgresql://app:{S}@db/x\nexport API_TOKEN='{S}'\nA=plain\n")
    item = pyapp.env_keys("env.keys:x", str(env))
    assert S not in json.dumps(item) and "plain" not in json.dumps(item)
    assert item["data"]["keys"] == ["POSTGRES_URL", "API_TOKEN", "A"]


def test_journal_fast_path_equals_record_by_record_redaction() -> None:
    """The whole-line shortcut must mask exactly what redacting each field would."""
    import glob

    from gatewaydoctor.redact import Redactor

    pem = ("-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n"
           "-----END PRIVATE KEY-----")
    planted = [
        '{"MESSAGE":"conn postgresql://app:Hunter2pw@db/app","_PID":"1"}',
        '{"MESSAGE":"' + pem + '","_PID":"2"}',
        '{"MESSAGE":"Authorization: Bearer abcdefghijklmnop","_PID":"3"}',
        '{"MESSAGE":"plain line","_PID":"4"}',
        # Escapes: a JSON-escaped quote, newline, \\u and \\/ must not hide a secret.
        '{"MESSAGE":"password=\\"Hunter3pw\\"","_PID":"5"}',
        '{"MESSAGE":"x\\nsk-live_abcdefghijklmnopqrstu","_PID":"6"}',
        '{"MESSAGE":"\\u0070assword=Hunter4pw","_PID":"7"}',
        '{"MESSAGE":"postgresql:\\/\\/app:Hunter5pw@db\\/app","_PID":"8"}',
    ]
    texts = ["\n".join(planted)]
    for path in sorted(glob.glob("tests/data/lab/*.json"))[:6]:
        ev = json.loads(Path(path).read_text())
        texts += [it["stdout"] for key, it in ev["items"].items()
                  if key.startswith("journal.") and it.get("stdout")]
    for text in texts:
        fast_redactor = Redactor()
        fast = fast_redactor._json_lines(text, "journal.unit:x")
        slow_redactor = Redactor()
        slow = [json.dumps(slow_redactor.obj(json.loads(line), "journal.unit:x"),
                           ensure_ascii=False, separators=(",", ":"))
                if line.startswith("{") else slow_redactor.text(line, "journal.unit:x")
                for line in text.split("\n")]
        assert [json.loads(x) if x.startswith("{") else x for x in fast.split("\n")] == \
            [json.loads(x) if x.startswith("{") else x for x in slow]
        assert fast_redactor.counts == slow_redactor.counts
    masked = Redactor()._json_lines("\n".join(planted), "journal.unit:x")
    for secret in ("Hunter2pw", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "abcdefghijklmnop",
                   "Hunter3pw", "abcdefghijklmnopqrstu", "Hunter4pw", "Hunter5pw"):
        assert secret not in masked
    assert "plain line" in masked


def test_trigger_trie_matches_exactly_where_a_word_occurs() -> None:
    """The one-scan trigger finds a text iff one of the patterns' words occurs in it."""
    import random

    from gatewaydoctor.redact import _ANY_TRIGGER, _PATTERNS, _words_in

    words = sorted({w for *_p, ws in _PATTERNS for w in ws})
    rng = random.Random(7)
    alphabet = "".join(sorted(set("".join(words)))) + " x"
    texts = [w for w in words] + [w[:-1] for w in words] + [w[1:] for w in words]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
              for _ in range(20000)]
    for text in texts:
        assert bool(_ANY_TRIGGER.search(text)) == any(w in text for w in words), text
        # and the one scan that tells which words occur tells it exactly
        assert _words_in(text) == {w for w in words if w in text}, text


def test_structures_with_nothing_to_mask_are_kept_as_walking_them_would(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The one-scan shortcut for `data` gives what a walk over every string gives."""
    import glob

    from gatewaydoctor.redact import Redactor

    items = []
    for path in sorted(glob.glob("tests/data/lab/*.json"))[:8]:
        items += list(json.loads(Path(path).read_text())["items"].values())
    planted = {"source": "proc.processes", "kind": "listing", "data": {"processes": [
        {"pid": 7, "cmdline": ["app", "--db", "postgresql://u:Hunter6pw@db/x"]},
        {"pid": 8, "env": {"API_TOKEN": "tok-Hunter7pw"},
         "note": "line\nsk-live_abcdefghijklmnopqrst"},
    ]}}
    items.append(planted)
    fast = Redactor()
    with_shortcut = [fast.item(str(i["source"]), i) for i in items]
    walked_redactor = Redactor()
    monkeypatch.setattr(Redactor, "_holds_nothing", lambda self, value, source: False)
    walked = [walked_redactor.item(str(i["source"]), i) for i in items]
    assert with_shortcut == walked
    assert fast.counts == walked_redactor.counts
    text = json.dumps(with_shortcut[-1])
    for secret in ("Hunter6pw", "Hunter7pw", "abcdefghijklmnopqrst"):
        assert secret not in text


@pytest.mark.parametrize("argv", [
    ["/bin/echo", "connecting", "with", "Authorization:", "Bearer", S],
    ["curl", "-H", "Authorization: Bearer", S, "http://127.0.0.1/"],
    ["psql", "postgresql://app:" + S + "@db/x"],
    ["app", "--header", "Cookie:", f"session={S}"],
])
def test_a_secret_spanning_argv_elements_is_masked(argv: list[str]) -> None:
    # Seen for real: an ExecStartPre's echo caught in the process table, its bearer token
    # one argument after the word "Bearer".
    proc = {"pid": 7, "comm": argv[0], "cmdline": argv}
    for r, out in ((Redactor(), None), (Redactor(mask_ips=True, mask_hosts=True), None)):
        out = r.obj({"processes": [proc]})
        assert S not in json.dumps(out), out
        assert out["processes"][0]["cmdline"][0] == argv[0] and r.counts
        _key, item = r.item("db.login", {"source": "db.login", "argv": argv})
        assert S not in json.dumps(item), item


def test_argv_without_secrets_keeps_its_elements() -> None:
    argv = ["/srv/app/venv/bin/python", "-m", "uvicorn", "main:app", "--host", "0.0.0.0",
            "--port", "8000", "two words"]
    r = Redactor()
    assert r.obj({"cmdline": argv}) == {"cmdline": argv} and not r.counts


def test_anchored_patterns_substitute_exactly_as_the_plain_regex() -> None:
    """Matching only near an anchor gives re.subn's result, on lab recordings and on
    random texts dense with anchors, quotes, separators and case-changing characters."""
    import glob
    import random
    import re

    from gatewaydoctor.redact import _PATTERNS, _Anchored

    texts: list[str] = []

    def strings(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                strings(v)
        elif isinstance(value, list):
            for v in value:
                strings(v)

    for path in sorted(glob.glob("tests/data/lab/*.json"))[:10]:
        strings(json.loads(Path(path).read_text()))
    pieces = ["PASSWORD", "token", "_KEY", "Api-Key", "://", "u:p@", "Bearer ", "Basic ",
              "--", '"', "'", " ", "=", ":", "\n", "x", "9", ".", "-", "secret", "Ab1+/",
              "***", "abc123XYZ", "İ", "ſ", "K"]  # the last three change length or case
    rng = random.Random(11)
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 14)))
              for _ in range(6000)]
    anchored = [(p, repl) for _k, p, repl, _w in _PATTERNS if isinstance(p, _Anchored)]
    assert len(anchored) >= 3
    for pattern, repl in anchored:
        plain = re.compile(pattern._pattern.pattern)
        for text in texts:
            assert pattern.subn(repl, text) == plain.subn(repl, text), (plain.pattern, text)


@pytest.mark.parametrize(("name", "secret"), [
    ("DB_PASS", True), ("REDIS_AUTH", True), ("dbPassword", True), ("x-api-key", True),
    ("spring.datasource.password", True), ("WECHAT_PAY_SIGN", True), ("X-Amz-Signature", True),
    ("数据库密码", True), ("访问令牌", True), ("ＰＡＳＳＷＯＲＤ", True), ("--client-secret", True),
    ("AccountKey", True), ("sessionid", True),
    ("KeyError", False), ("KillSignal", False), ("KeyringMode", False), ("auth_basic", False),
    ("TOKEN_EXPIRE_MINUTES", False), ("password_file", False), ("_AUDIT_SESSION", False),
    ("SIGNAL", False), ("design", False), ("host", False),
])
def test_names_mean_a_secret_by_their_words(name: str, secret: bool) -> None:
    from gatewaydoctor.redact.structure import secret_name

    assert secret_name(name) is secret


@pytest.mark.parametrize(("text", "masked"), [
    # libpq: the password runs to the last @ before the host
    ("postgresql://app:p@ss/w+rd@db:5432/x", "postgresql://app:***@db:5432/x"),
    ("postgresql://app:two words@db/x failed", "postgresql://app:***@db/x failed"),
    ("https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/2",
     "https://***@o1.ingest.sentry.io/2"),
    # cut off by a report before the host: still a password
    ("connecting to postgresql://app:Secr", "connecting to postgresql://app:***"),
    # no userinfo: an @ in the path, a port, a template
    ("http://127.0.0.1:8000/api/@me", "http://127.0.0.1:8000/api/@me"),
    ("proxy_pass http://localhost:8000", "proxy_pass http://localhost:8000"),
    ("proxy_pass http://localhost:{$PORT};", "proxy_pass http://localhost:{$PORT};"),
])
def test_urls_by_rfc_3986_and_libpq(text: str, masked: str) -> None:
    assert Redactor().text(text) == masked
