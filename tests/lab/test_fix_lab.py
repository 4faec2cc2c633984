"""`gatewaydoctor fix` on every stack, for every fault family whose fix is safe to automate:
the real CLI, run inside the booted stack after the fault is injected for real.

Per stack, one boot; per family, in turn:
- the dry run changes nothing (files, modes, owners, unit states and enablement compared);
- `fix URL --apply --yes` turns the stack healthy: re-diagnosis `healthy`, the URL answers 200
  through nginx;
- `fix --rollback ID` puts every touched file back byte for byte, with its mode and owner (the
  fault is back);
- the fix is applied again where the fault is back, so the next family starts healthy.
And a fix whose verification fails rolls back by itself: a second module made unreadable,
which the first fix (ownership of the first) cannot cure.
"""

from __future__ import annotations

from typing import Any

import pytest
from gdlab.families import FAMILIES
from gdlab.matrix import pairs
from gdlab.stacks import STACKS, Deployed, boot, stop
from labtools import as_json, run_doctor

# The families whose fix is safe to carry out automatically, in the order they run on a stack.
# (permission-code last: rolled back under a running app, its fault stays latent until the
# app restarts.)
AUTOMATIC = ("app-stopped", "missing-dependency", "upstream-mismatch", "upstream-slow",
             "permission-code")
# Cells where the plan names a step a person takes instead, and why.
GONE = "a server started by hand and killed leaves no command line to start it again"
BY_HAND = {("panel", "app-stopped"): GONE, ("panel", "missing-dependency"): GONE}
# What the person does where the plan says it is theirs to do.
PERSON = {"app-stopped": lambda d: d.manage("restart"),
          "missing-dependency": lambda d: (d.sh(f"{d.spec.venv}/bin/python -m pip install -q "
                                                f"-r {d.spec.app_dir}/requirements.txt"),
                                           d.manage("restart"))}
# Misses not fixed yet, each with why; they run, and must fail, so a fix shows up here.
KNOWN: dict[tuple[str, str], str] = {}
# Misses seen in some runs, not all (so not strict), each with why; after one, the stack's
# later families are not run (it may be left broken).
STALE = ("after the missing-dependency family the app's restarts can meet systemd's start "
         "limit, and the diagnosis then names the missing package of the family before, not "
         "the unreadable module (stop 13's note)")
UNSTABLE = {("lab", "permission-code"): STALE, ("wsgi", "permission-code"): STALE,
            ("wsgi", "missing-dependency"):
            "on a loaded machine the re-diagnosis after the fix still found the stack broken "
            "within its wait (stop 13's note)"}
WATCHED = ("/etc/nginx", "/etc/systemd/system", "/run/systemd/system", "/etc/supervisor",
           "/www/server/nginx/conf", "/www/server/panel/vhost")


def doctor(d: Deployed, *args: str, timeout: float = 180) -> tuple[int, str, str]:
    return run_doctor(d, *args, timeout=timeout)


def host_state(d: Deployed) -> str:
    """What must not change: each file's digest, mode and owner under the watched folders,
    the app's folder and nginx's (not the logs, where the app and nginx write our probes);
    every unit's state (but the app's own, which its manager's restart policy changes by
    itself) and enablement."""
    nginx = [c.rsplit("/", 1)[0] for c in (d.spec.site, d.spec.nginx[-1]) if "/" in c]
    folders = " ".join(sorted({*WATCHED, d.spec.app_dir, *nginx}))
    return d.sh(
        f"for p in {folders}; do [ -e \"$p\" ] && find \"$p\" -path '*/venv' -prune -o "
        "-path '*/__pycache__' -prune -o -name '*.log' -o -name nohup.out -o "
        "-type f -printf '%p %m %U %G ' -exec sha256sum {} \\; ; "
        "done 2>/dev/null | sort -u; systemctl list-units --all --no-legend --plain | "
        f"awk '$1 != \"{d.spec.app}\" {{print $1, $3, $4}}' | sort; "
        "systemctl list-unit-files --no-legend | sort",
        timeout=60)


def files_of(report: dict[str, Any]) -> list[str]:
    return sorted({s["path"] for r in report["remedies"] for s in r["steps"]
                   if s["kind"] == "file"})


def fix_family(d: Deployed, family: str) -> None:
    """Inject, plan (changing nothing), apply, check healthy, roll back, apply again."""
    fam = FAMILIES[family]
    fam.inject(d)
    url = fam.url(d) or d.url(d.spec.path)
    before = host_state(d)
    code, out, err = doctor(d, "diagnose", url, "--json")
    assert code == 1 and host_state(d) == before, f"{family}: diagnose changed the host"
    code, out, err = doctor(d, "fix", url, "--json")
    plan = as_json(out, err)
    assert code == 1, (family, code, err[-500:])
    first = plan["remedies"][0]
    assert first["category"] == fam.category, (family, plan)
    if (d.spec.name, family) in BY_HAND:
        assert not first["automatic"] and "manual" in [s["kind"] for s in first["steps"]], plan
        assert host_state(d) == before
        PERSON[family](d)  # what the plan tells the person to do
        assert d.wait_for(d.spec.path, 200) == 200
        return
    assert first["automatic"], (family, first)
    touched = files_of(plan)
    assert host_state(d) == before, f"{family}: the dry run changed the host"
    snapshot = d.sh(" ".join(["stat -c '%n %a %u %g'", *touched, "&& sha256sum", *touched])
                    ) if touched else ""
    run = apply(d, url, family)
    # rollback: the touched files as they were (the fault is back)
    code, out, err = doctor(d, "fix", "--rollback", run["id"])
    assert code == 0, (family, out, err)
    if touched:
        assert d.sh(" ".join(["stat -c '%n %a %u %g'", *touched, "&& sha256sum", *touched])
                    ) == snapshot, f"{family}: rollback did not restore {touched}"
    listed = as_json(*doctor(d, "fix", "--list", "--json")[1:])
    assert [r["status"] for r in listed if r["id"] == run["id"]] == ["rolled-back"]
    # healthy again for the next family (a fault the rollback brought back is fixed again,
    # once a user has met it, as the family's injection had)
    d.curl_status("/" + url.split("/", 3)[3], timeout=10)
    code, out, err = doctor(d, "fix", url, "--json")
    if any(r["automatic"] for r in as_json(out, err)["remedies"]):
        apply(d, url, family)


def apply(d: Deployed, url: str, family: str) -> dict[str, Any]:
    """`fix URL --apply --yes`: applied, re-diagnosed healthy, the URL answers 200."""
    code, out, err = doctor(d, "fix", url, "--apply", "--yes", "--json")
    run = as_json(out, f"{family}: {err}")
    assert "status" in run, (family, "nothing to apply", run)
    assert run["status"] == "applied" and code == 0, (
        family, run["reason"], [st.get("line") or st.get("path") for st in run["steps"]],
        err[-1500:])
    assert run["verdict_after"] == "healthy", (family, run)
    path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
    assert d.wait_for("/" + path, 200, timeout=20) == 200, family
    return dict(run)


# One rerun on a freshly booted stack (pytest-rerunfailures; the summary counts it as
# "rerun"): some cells fail in some runs on timing not yet understood (stop 13's note).
@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize("stack", [s for s in STACKS
                                   if any(f in AUTOMATIC and r is None
                                          for s2, f, r in pairs([s]) if s2 == s)])
def test_fix_on_stack(stack: str) -> None:
    d = boot(stack)
    known: list[str] = []
    try:
        for _s, family, reason in pairs([stack], list(AUTOMATIC)):
            if reason is not None:
                continue
            if (stack, family) in UNSTABLE:
                try:
                    fix_family(d, family)
                except AssertionError:
                    known.append(f"{family}: {UNSTABLE[stack, family]}; the families after "
                                 "it were not run")
                    break
                continue
            if (stack, family) not in KNOWN:
                fix_family(d, family)
                continue
            with pytest.raises(AssertionError):  # strict: a known miss that passes fails
                fix_family(d, family)
            known.append(f"{family}: {KNOWN[stack, family]}")
    finally:
        stop(d)
    if known:
        pytest.xfail("; ".join(known))


def test_failed_verification_rolls_back() -> None:
    """The app's first module and the one it imports next are unreadable for its user: the
    fix gives back the first, the app still dies on the second (the same rule, the same
    unit), so the fix rolls itself back: the first is root's and 0600 again."""
    d = boot("lab")
    try:
        spec = d.spec
        second = spec.code_file.rsplit("/", 1)[0] + "/config.py"
        FAMILIES["permission-code"].inject(d)
        # and no bytecode of it to fall back on: Python reads a matching .pyc without
        # opening the source, so the app would import it after all
        d.sh(f"chown root:root {second} && chmod 600 {second} && "
             f"rm -rf {second.rsplit('/', 1)[0]}/__pycache__")
        d.manage("restart")
        before = d.sh(f"stat -c '%a %u %g' {spec.code_file} {second} && "
                      f"sha256sum {spec.code_file} {second}")
        code, out, err = doctor(d, "fix", d.url(spec.path), "--apply", "--yes", "--json",
                                "--wait", "15")
        run = as_json(out, err)
        assert code == 1 and run["status"] == "failed", run
        assert "permission-denied" in run["reason"], run
        assert run["rolled_back"], run
        assert d.sh(f"stat -c '%a %u %g' {spec.code_file} {second} && "
                    f"sha256sum {spec.code_file} {second}") == before
    finally:
        stop(d)
