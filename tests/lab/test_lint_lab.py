"""`gatewaydoctor lint` (no FILES: the host's own, found from what runs) inside each booted
lab stack: for every fault family whose cause is in a file, injected for real, lint reports
the rule diagnose names for that family; on the healthy stack it reports no error, and only
the warnings listed here, each with why; and lint changes nothing: no file (size, mtime,
mode, owner), no unit's state or enablement.

One boot per stack: the families are injected one after the other, and the stack is put
back between them (the site's text written back, the drop-in removed, nginx restarted, the
page answering 200 again) — each family changes only files lint reads, and nginx.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from gdlab.families import FAMILIES
from gdlab.matrix import pairs
from gdlab.stacks import Deployed, boot, stop

# Family → the rule diagnose names for it (its category's rule).
EXPECTED = {"upstream-mismatch": "GD-NGX-003", "upstream-slow": "GD-NGX-009",
            "nginx-config-invalid": "GD-NGX-001", "nginx-private-network": "GD-NET-002"}

# Warnings lint gives on a healthy stack, and why each is right to give (measured on the six
# stacks: this one, and nothing else).
HEALTHY_WARNINGS: dict[str, str] = {
    # The edge, panel and wsgi sites proxy without one of Host, X-Forwarded-For,
    # X-Forwarded-Proto (the panel's /api/ has no X-Forwarded-Proto, the blog's no
    # X-Forwarded-For, edge's /healthz none): the apps answer, but they see nginx as the
    # client or http as the scheme. Real-shaped sites with a real omission, not an artefact.
    "proxy-headers-missing": "a site proxies without Host / X-Forwarded-* headers",
}

STACKS = sorted({s for s, f, why in pairs(families=list(EXPECTED)) if why is None})
WATCHED = "/etc/nginx /etc/systemd/system /run/systemd/system /etc/supervisor /www /opt"


def _lint(d: Deployed) -> tuple[int, dict[str, Any], str]:
    proc = d.lab.run([sys.executable, "-m", "gatewaydoctor", "lint", "--format", "json"],
                     timeout=120)
    try:
        return proc.returncode, json.loads(proc.stdout), proc.stderr
    except json.JSONDecodeError:
        return proc.returncode, {"findings": [], "error": proc.stderr[-500:]}, proc.stderr


def _state(d: Deployed) -> str:
    """What lint must not change: every file's size, mtime, mode and owner where units, sites
    and apps live, and every unit's state and enablement."""
    return d.sh(f"find {WATCHED} -xdev -printf '%p %s %T@ %m %u\\n' 2>/dev/null | sort; "
                "systemctl list-units --all --plain --no-legend --no-pager; "
                "systemctl list-unit-files --no-legend --no-pager", check=False)


def _restorer(d: Deployed) -> Callable[[], None]:
    """How to put the stack back as booted after a family: the site's text, no drop-in on
    nginx's unit, nginx restarted, the page answering 200."""
    site = d.spec.site
    text = d.sh(f"cat {site}")

    def restore() -> None:
        d.lab.run(["python3", "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
                   site, text], check=True)
        kind, *how = d.spec.nginx
        if kind == "systemd":
            d.sh(f"rm -f /run/systemd/system/{how[0]}.d/hardening.conf; systemctl daemon-reload; "
                 f"systemctl restart {how[0]}", check=False)
        else:  # nginx_do("restart") stops at its pkill when no master runs (sh -e)
            binary, conf = how
            d.sh(f"pkill -QUIT -f '[n]ginx: master process {binary}' || true; sleep 1; "
                 f"{binary} -c {conf}", check=False)
        assert d.wait_for(d.spec.path, 200, timeout=45) == 200, "the stack did not come back"

    return restore


def _loud(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(f["severity"], f["symbol"], f"{f['file']}:{f['line']}")
            for f in report["findings"]]


@pytest.mark.parametrize("stack", STACKS)
def test_lint_reports_the_rule_diagnose_names(stack: str) -> None:
    families = [f for s, f, why in pairs([stack], list(EXPECTED)) if why is None]
    d = boot(stack)
    try:
        before = _state(d)
        code, healthy, err = _lint(d)
        after = _state(d)
        assert after == before, [ln for ln in after.splitlines()
                                 if ln not in before.splitlines()][:10]
        errors = [f for f in _loud(healthy) if f[0] == "error"]
        assert errors == [], (errors, err)
        unlisted = {s for sev, s, _ in _loud(healthy) if s not in HEALTHY_WARNINGS}
        assert unlisted == set(), _loud(healthy)
        assert code == (1 if healthy["findings"] else 0)
        assert healthy["files"], "lint found none of the host's files"
        restore = _restorer(d)
        for family in families:
            FAMILIES[family].inject(d)
            code, report, err = _lint(d)
            rules = {f["rule"] for f in report["findings"]}
            assert EXPECTED[family] in rules, (family, _loud(report), err)
            assert code == 1
            restore()
    finally:
        stop(d)
