"""Seeded secrets: plant every kind of secret in the lab; none may reach a bundle or a report.

Planted for real: values in the app's .env (EnvironmentFile), unit `Environment=` lines
(quoted with spaces, a token, a DSN), a DSN and an Authorization header in the journal,
DSNs, header values, a PEM private key and API tokens in the nginx configuration the agent
dumps, Authorization/Cookie headers logged by nginx through a log_format that records
them, and a token spread over a running process's arguments. Then the real CLI runs inside
the lab in every output format, and the bundle written there is read member by member.
The redacted bundle must still give the live diagnosis.
"""

from __future__ import annotations

import base64
import json
import sys
import tarfile
import time
from typing import Any

from gdlab import stop_stack
from gdlab.__main__ import AGENT_CALL
from gdlab.scenarios import SCENARIOS
from gdlab.stack import DB_PASSWORD, SERVER_NAME
from labtools import boot, diagnose_json, run_doctor

from gatewaydoctor.diagnose import diagnose
from gatewaydoctor.evidence import Evidence
from gatewaydoctor.parse import build_facts
from gatewaydoctor.redact import Redactor
from gatewaydoctor.rules import all_rules, run_rules

UNIT = "fastapi-backend.service"
OUT = "/srv/gd-bundles"

SECRETS = {
    "env_file": "EnvFileSecret7Kq2Wz",
    "env_file_token": "sk_live_EnvFileStripe9f8e7d6c5b4a",
    "unit_password": "UnitEnvPassw0rdX9",
    "unit_token": "UnitApiTok3nQ7",
    "unit_dsn": "RedisDsnPw5Lm",
    "journal_dsn": "JournalDsnPw4Hh",
    "journal_bearer": "JournalBearer8Yt6Rr",
    "argv_bearer": "ArgvBearer5Ww2Qq",
    "nginx_dsn": "NginxCommentPw2Bb",
    "nginx_header": "NginxHdrBearer3Cc9",
    "nginx_set_cookie": "NginxSetCookie6Dd",
    "pem_body": "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "aws": "AKIAIOSFODNN7SEEDED2",
    "github": "ghp_SeededGithubToken0123456789abcd",
    "slack": "xoxb-2024-seeded-SlackTok3n",
    "openai": "sk-proj-SeededOpenAiToken0123456789",
    "jwt_sig": "SeededJwtSignature_0123456789abcdef",
    "access_bearer": "AccessBearer1Ee5Ff",
    "access_cookie": "AccessCookie7Gg",
    "access_basic_pw": "AccessBasicPw8Hh",
    "access_query": "AccessQueryTok9Ii",
    "lab_db": DB_PASSWORD,
}
JWT = ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzZWVkZWQtdXNlciJ9." + SECRETS["jwt_sig"])
BASIC = base64.b64encode(f"admin:{SECRETS['access_basic_pw']}".encode()).decode()
LOG_FORMAT = ("log_format withauth '$remote_addr - $remote_user [$time_local] \"$request\" "
              "$status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" "
              "\"$http_authorization\" \"$http_cookie\"';\n")


def _plant(stack: object) -> None:
    s = SECRETS
    backend = stack.backend  # type: ignore[attr-defined]
    env = backend / ".env"
    env.write_text(env.read_text() + f"SECRET_KEY={s['env_file']}\n"
                   f"STRIPE_API_KEY={s['env_file_token']}\n")
    unit = stack.units / UNIT  # type: ignore[attr-defined]
    unit.write_text(unit.read_text().replace("[Service]\n", (
        "[Service]\n"
        f'Environment="DB_PASSWORD={s["unit_password"]} with spaces" '
        f"API_TOKEN={s['unit_token']}\n"
        f"Environment=REDIS_URL=redis://:{s['unit_dsn']}@127.0.0.1:6379/0\n"
        "ExecStartPre=/bin/echo connecting to "
        f"postgresql://app:{s['journal_dsn']}@127.0.0.1:5432/appdb with "
        f"Authorization: Bearer {s['journal_bearer']}\n")))
    site = stack.nginx_conf / "sites-available" / "fastapi"  # type: ignore[attr-defined]
    text = site.read_text()
    text = LOG_FORMAT + (
        f"# reporting DB: postgresql://report:{s['nginx_dsn']}@10.9.8.7:5432/reports\n"
        f"# deploy key {s['github']} slack {s['slack']} aws {s['aws']}\n"
        f"# openai {s['openai']} session {JWT}\n"
        "# -----BEGIN PRIVATE KEY-----\n"
        f"# {s['pem_body']}\n# SeededPemLine2xyz\n"
        "# -----END PRIVATE KEY-----\n") + text
    text = text.replace(f"    server_name {SERVER_NAME};\n", (
        f"    server_name {SERVER_NAME};\n"
        "    access_log /var/log/nginx/access.log withauth;\n"
        f'    proxy_set_header Authorization "Bearer {s["nginx_header"]}";\n'
        f'    add_header Set-Cookie "sid={s["nginx_set_cookie"]}; Path=/";\n'), 1)
    site.write_text(text)
    stack.lab.run(["systemctl", "daemon-reload"], check=True)  # type: ignore[attr-defined]
    # A process whose arguments carry a token, one argument after the word "Bearer": the
    # process table must mask it (an ExecStartPre's echo is caught there only by chance).
    stack.lab.run(["systemd-run", "--unit=argv-secret",  # type: ignore[attr-defined]
                   "/bin/sh", "-c", "sleep 600; :", "sh", "Authorization:", "Bearer",
                   s["argv_bearer"]], check=True)
    stack.lab.run(["nginx", "-t"], check=True)  # type: ignore[attr-defined]
    stack.lab.run(["systemctl", "reload", "nginx.service"], check=True)  # type: ignore[attr-defined]


def _requests_with_headers(stack: object) -> None:
    s = SECRETS
    base = ["curl", "-s", "-o", "/dev/null", "-m", "5", "-H", f"Host: {SERVER_NAME}"]
    run = stack.lab.run  # type: ignore[attr-defined]
    run([*base, "-H", f"Authorization: Bearer {s['access_bearer']}",
         "-H", f"Cookie: session={s['access_cookie']}; theme=dark",
         "http://127.0.0.1/api/health"], check=True)
    run([*base, "-u", f"admin:{s['access_basic_pw']}", "http://127.0.0.1/docs"], check=True)
    run([*base, f"http://127.0.0.1/api/health?access_token={s['access_query']}"], check=True)
    run([*base, "-H", f"Authorization: Bearer {JWT}", "http://127.0.0.1/health"], check=True)


def _causes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["category"], c["rule"]) for c in report["causes"]]


def _diagnosis(evidence: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    ev = Evidence.from_dict(evidence)
    facts = build_facts(ev)
    d = diagnose(facts, run_rules(facts, all_rules()))
    return d.verdict, [(f.category, f.rule) for f in d.causes]


def _leaks(text: str) -> list[str]:
    found = [k for k, v in SECRETS.items() if v in text]
    if BASIC in text:
        found.append("access_basic_b64")
    if "SeededPemLine2xyz" in text:
        found.append("pem_line2")
    return found


def test_no_planted_secret_in_any_bundle_or_report() -> None:
    stack = boot()
    outputs: dict[str, str] = {}
    attempts: list[tuple[list[tuple[str, str]], ...]] = []
    members: dict[str, str] = {}
    try:
        _plant(stack)
        SCENARIOS["relative-import"].inject(stack)
        _requests_with_headers(stack)
        access = (stack.lab.run(["cat", "/var/log/nginx/access.log"]).stdout)
        # The planted values really are on the host for the agent to find.
        assert SECRETS["access_bearer"] in access and BASIC in access
        assert SECRETS["unit_password"] in stack.lab.run(["systemctl", "show", UNIT]).stdout
        assert stack.journal_has(UNIT, SECRETS["journal_dsn"])
        assert SECRETS["argv_bearer"] in stack.lab.run(["ps", "-eo", "args"]).stdout

        url = stack.url("/api/health")
        for args in (("diagnose", url), ("diagnose", url, "--json", "--mask-ips", "--mask-hosts"),
                     ("gather", url), ("gather", url, "--mask-ips", "--mask-hosts")):
            code, out, err = run_doctor(stack, *args)
            outputs[" ".join(args)] = out + err
            assert "Traceback" not in err, err
        stack.lab.run(["mkdir", "-p", OUT], check=True)
        # The unit is crash-looping: its state moves between two runs, so the live diagnosis
        # and the bundle are taken back to back, again if the loop moved in between (at
        # another phase of its RestartSec=2 cycle, so a slow host does not land on the
        # same instant every time).
        for attempt in range(8):
            time.sleep(0.3 * attempt)
            code_live, live = diagnose_json(stack, url)
            outputs["diagnose --json"] = json.dumps(live)
            for name, extra in (("plain", ()), ("masked", ("--mask-ips", "--mask-hosts"))):
                path = f"{OUT}/{name}.tar.gz"
                code, out, err = run_doctor(stack, "bundle", url, "-o", path, *extra)
                assert code == 0, err
                outputs[f"bundle {name}"] = out + err
                for fmt in ((), ("--json",)):
                    code, out, err = run_doctor(stack, "diagnose", "--from", path, *fmt)
                    outputs[f"diagnose --from {name} {fmt}"] = out + err
            code_off, offline = diagnose_json(stack, "--from", f"{OUT}/plain.tar.gz")
            code_masked, masked = diagnose_json(stack, "--from", f"{OUT}/masked.tar.gz")
            attempts.append((_causes(live), _causes(offline), _causes(masked)))
            if _causes(offline) == _causes(live) == _causes(masked):
                break
        # The same evidence, diagnosed unredacted and redacted: redaction alone changes nothing.
        raw = stack.lab.run([sys.executable, "-c", AGENT_CALL, url], timeout=60).stdout
        for name in ("plain", "masked"):
            with tarfile.open(stack.stage / "srv" / "gd-bundles" / f"{name}.tar.gz") as tar:
                for m in tar:
                    if m.isfile():
                        data = tar.extractfile(m).read()  # type: ignore[union-attr]
                        members[m.name] = data.decode("utf-8", errors="replace")
        manifest = json.loads(members["plain/manifest.json"])
    finally:
        stop_stack(stack)

    assert len(members) > 40
    leaks = {where: _leaks(text) for where, text in {**outputs, **members}.items()}
    assert {k: v for k, v in leaks.items() if v} == {}
    # Each kind was met and counted (the counts, never the values).
    counts = manifest["redactions"]
    for kind in ("dsn_password", "auth_header", "bearer_token", "api_token", "jwt",
                 "private_key", "secret_assignment", "url_secret", "cookie"):
        assert counts.get(kind, 0) >= 1, (kind, counts)
    assert not _leaks(json.dumps(counts))
    # The env file is recorded as keys only, and the keys are there.
    env_item = json.loads(members["plain/evidence.json"])["items"]["env.keys:/srv/app/backend/.env"]
    assert {"SECRET_KEY", "STRIPE_API_KEY", "POSTGRES_URL"} <= set(env_item["data"]["keys"])
    # Redaction does not change the diagnosis: the bundle's is the live one ...
    for report, code in ((offline, code_off), (masked, code_masked)):
        assert (code, report["verdict"]) == (code_live, live["verdict"])
        assert _causes(report) == _causes(live), attempts
    # ... and on one and the same evidence, redacted or not, rule for rule.
    assert _leaks(raw), "the unredacted evidence should hold the planted secrets"
    plain = _diagnosis(json.loads(raw))
    assert _diagnosis(Redactor().evidence(json.loads(raw))) == plain
    assert _diagnosis(Redactor(mask_ips=True, mask_hosts=True).evidence(json.loads(raw))) == plain
    assert live["causes"][0]["category"] == "app.relative_import"
    assert "app.example.test" not in json.dumps(masked) and masked["host"] != "gdlab"
