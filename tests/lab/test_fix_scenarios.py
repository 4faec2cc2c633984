"""`gatewaydoctor fix` on every fault scenario of the first stack, and db-down on every stack.

Per boot, scenario after scenario: the fault is injected for real, then
- the dry run (`fix URL`) changes nothing (files with digest, mode and owner; unit states and
  enablement compared);
- a fault whose fix is safe to automate: `fix URL --apply --yes` turns the stack healthy
  (re-diagnosis `healthy`, the URL answers through nginx), and `fix --rollback ID` puts every
  touched file back byte for byte, with its mode and owner;
- a fault whose fix is not safe to automate: the plan's first remedy is a manual step that
  names what a person does;
and the stack is put back as it booted (its files, units, database and logs) for the next one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from gdlab import Stack, stop_stack
from gdlab.families import FAMILIES
from gdlab.matrix import pairs
from gdlab.scenarios import SCENARIOS, UNIT
from gdlab.stacks import STACKS, Deployed
from gdlab.stacks import boot as boot_deployed
from gdlab.stacks import stop as stop_deployed
from labtools import as_json, boot, run_doctor

WATCHED = "/etc/nginx /etc/systemd/system /srv/app"

# Safe to automate: the plan's first remedy is carried out and verified.
AUTOMATIC = ("service-stopped", "service-disabled", "unit-changed-no-reload",
             "nginx-not-reloaded", "upstream-mismatch", "localhost-ipv6", "rate-limit-docs",
             "worker-connections", "upstream-slow", "permission-write", "permission-code",
             "db-down-health", "db-down-startup", "header-too-big", "supervisor-stopped",
             "gunicorn-worker-timeout")
# Not safe to automate: what the plan's first (manual) step must name.
MANUAL = {
    "port-conflict": ("pid", "debug-server.service"),  # someone else's process: named
    "exec-missing": ("/srv/app/venv",),
    "workdir-missing": ("/srv/app/backend-v2",),
    "wrong-target": ("module",),
    "startup-failure": ("ranker.bin",),
    "python-version": ("3.12",),
    "env-file-missing": ("/srv/app/backend/.env",),  # its secrets are not ours to invent
    "env-var-unset": ("POSTGRES_URL",),  # its value neither
    "relative-import": ("from config import settings",),  # a code change
    "nginx-config-invalid": ("/etc/nginx/sites-enabled/fastapi:",),  # its intent is unknown
    "db-auth-health": ("password",),
    "db-auth-startup": ("password",),
    "db-missing-health": ("appdb_prod",),
    "db-missing-startup": ("appdb_prod",),
    "crash-loop-unknown": ("WorkingDirectory",),
    "supervisor-relative-import": ("from config import settings",),
    # Group= changes what the service may read, RuntimeDirectoryMode=0755 opens the socket to
    # every local user: a choice about who may reach the app, the person's
    "socket-permission": ("www-data",),
}
# Code changes offered as a patch, applied under `fix --with-code`. Empty for now: the
# relative-import rule still reads the traceback written before the fix while the unit runs
# (verification then rolls back), and reading it only while the unit fails made the
# diagnosis itself flaky in a crash loop caught "running"; the rule needs the unit's start
# time against the traceback's first.
WITH_CODE: tuple[str, ...] = ()
# A fix that is safe but cannot hold: the app exits at import without a word, so starting it
# after the start limit fails again; the run must roll itself back.
ROLLS_BACK = ("start-limit-hit",)
# Not here: relative-import-rotated (relative-import's plan), oom-killed, gunicorn-worker-oom,
# disk-full and firewall-drop (limits of the host: their plans are the rules' own manual
# steps), hand-started-died (test_fix_lab.py's panel cells cover a server started by hand),
# missing-dependency (test_fix_lab.py's family on every stack; the venv overlay it changes is not
# put back by reset()).
# The gunicorn group is one boot: socket-permission after the worker timeout's reset.

GROUPS = {
    "nginx": ("nginx-not-reloaded", "upstream-mismatch", "localhost-ipv6", "rate-limit-docs",
              "worker-connections", "upstream-slow", "header-too-big", "nginx-config-invalid"),
    "service": ("service-stopped", "service-disabled", "unit-changed-no-reload",
                "start-limit-hit", "exec-missing", "workdir-missing", "crash-loop-unknown",
                "port-conflict", "supervisor-stopped"),
    "app": ("permission-write", "permission-code", "wrong-target", "startup-failure",
            "python-version", "env-file-missing", "env-var-unset", "relative-import",
            "supervisor-relative-import"),
    "database": ("db-down-health", "db-down-startup", "db-auth-health", "db-auth-startup",
                 "db-missing-health", "db-missing-startup"),
    "gunicorn": ("gunicorn-worker-timeout", "socket-permission"),
}
# What reset() puts back: the stage folders bound into the lab (host side).
STAGED = ("srv", "etc-systemd", "etc-nginx")


def doctor(stack: Stack | Deployed, *args: str, timeout: float = 180
           ) -> tuple[int, str, str]:
    return run_doctor(stack, *args, timeout=timeout)


def host_state(stack: Stack) -> str:
    """Each file's digest, mode and owner (the venv and bytecode aside); every unit's state
    (the app's own aside: its restart policy changes it by itself) and enablement."""
    return stack.lab.sh(
        f"for p in {WATCHED}; do find \"$p\" -path '*/venv' -prune -o -path '*/__pycache__' "
        "-prune -o -type f -printf '%p %m %U %G ' -exec sha256sum {} \\; ; done 2>/dev/null "
        "| sort; systemctl list-units --all --no-legend --plain | "
        f"awk '$1 != \"{UNIT}\" {{print $1, $3, $4}}' | sort; "
        "systemctl list-unit-files --no-legend | sort", timeout=60)


def files_of(plan: dict[str, Any]) -> list[str]:
    return sorted({s["path"] for r in plan["remedies"] for s in r["steps"]
                   if s["kind"] == "file"})


def stat_files(stack: Stack | Deployed, paths: list[str]) -> str:
    """Mode and owner of each path, and the digest of each that is a file (a directory's
    mode or owner is what a fix may change)."""
    if not paths:
        return ""
    return stack.lab.sh(" ".join(["stat -c '%n %a %u %g'", *paths, "&& find", *paths,
                                  "-maxdepth 0 -type f -exec sha256sum {} +"]))


def keep_pristine(stack: Stack) -> Path:
    """The stage's files as the healthy stack booted (host side, modes and owners kept)."""
    pristine = stack.stage / "pristine"
    pristine.mkdir()
    for name in STAGED:
        subprocess.run(["cp", "-a", str(stack.stage / name), str(pristine / name)], check=True)
    return pristine


def reset(stack: Stack, pristine: Path) -> None:
    """Back to the healthy stack: its files (in place: they are bind mounts), no supervisor
    program nor debug server, the unit enabled and running, PostgreSQL up, fresh logs."""
    stack.lab.sh("systemctl disable --now supervisor.service >/dev/null 2>&1; "
                 "systemctl stop debug-server.service >/dev/null 2>&1; "
                 "rm -f /etc/supervisor/conf.d/*.conf; true", check=False)
    for name in STAGED:
        sync(pristine / name, stack.stage / name)
    stack.lab.sh(
        "systemctl daemon-reload; systemctl reset-failed; "
        f"systemctl enable {UNIT} >/dev/null 2>&1; systemctl start postgresql.service; "
        ": > /var/log/nginx/error.log; : > /var/log/nginx/access.log; "
        "journalctl --rotate >/dev/null 2>&1; journalctl --vacuum-time=1s >/dev/null 2>&1; "
        f"systemctl restart {UNIT}; systemctl restart nginx.service", timeout=120,
        check=False)
    for path in ("/health", "/api/health"):
        assert stack.wait_for(path, 200, timeout=60) == 200, f"reset: {path} is not healthy"


def sync(pristine: Path, live: Path) -> None:
    """live as pristine, in place, the venv aside (the lab mounts an overlay on it: removing
    its folder here would take it from under the app)."""
    for child in live.iterdir():
        if child.name != "venv" and not (pristine / child.name).exists() and \
                not (pristine / child.name).is_symlink():
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    for child in pristine.iterdir():
        twin = live / child.name
        if child.name == "venv":
            continue
        if child.is_dir() and not child.is_symlink() and twin.is_dir() and \
                not twin.is_symlink():
            sync(child, twin)
            st = child.stat()
            os.chown(twin, st.st_uid, st.st_gid)
            os.chmod(twin, st.st_mode & 0o7777)
            continue
        if twin.is_dir() and not twin.is_symlink():
            shutil.rmtree(twin)
        elif twin.exists() or twin.is_symlink():
            twin.unlink()
        subprocess.run(["cp", "-a", str(child), str(twin)], check=True)


def answers(stack: Stack, path: str) -> int:
    """What nginx answers path within 30 s, each request given 15 s (the handler of
    gunicorn-worker-timeout takes 8 s: answering slowly is what its fix allows)."""
    seen = 0
    for _ in range(3):
        seen = stack.curl_status(path, timeout=15.0)
        if seen == 200:
            break
    return seen


def fix_scenario(stack: Stack, name: str) -> None:
    """Inject, plan (changing nothing), then apply and roll back, or check the manual step."""
    scenario = SCENARIOS[name]
    scenario.inject(stack)
    url = stack.url(scenario.path)
    before = host_state(stack)
    code, out, err = doctor(stack, "fix", url, "--json")
    plan = as_json(out, err)
    assert code == 1, (name, code, err[-500:])
    assert host_state(stack) == before, f"{name}: the dry run changed the host"
    first = plan["remedies"][0]
    if name in MANUAL:
        manual = [s for s in first["steps"] if s["kind"] == "manual"]
        assert not first["automatic"] and manual, (name, first)
        said = "\n".join(s["text"] + "\n" + "\n".join(s.get("commands", [])) for s in manual)
        for text in MANUAL[name]:
            assert text in said, (name, text, said)
        if name not in WITH_CODE:
            return
        code, out, err = doctor(stack, "fix", url, "--with-code", "--json")
        plan = as_json(out, err)
        assert host_state(stack) == before, f"{name}: the dry run changed the host"
        first = plan["remedies"][0]
    assert first["automatic"], (name, first)
    touched = files_of(plan)
    snapshot = stat_files(stack, touched)
    code, out, err = doctor(stack, "fix", url, "--apply", "--yes", "--json",
                            *(["--with-code"] if name in WITH_CODE else []))
    run = as_json(out, err)
    if name in ROLLS_BACK:
        assert code == 1 and run["status"] == "failed" and run["rolled_back"], (name, run)
        assert stat_files(stack, touched) == snapshot
        return
    assert code == 0 and run["status"] == "applied", (name, run, err[-2000:])
    assert run["verdict_after"] == "healthy", (name, run, err[-1500:])
    assert answers(stack, scenario.path) == 200, name
    code, out, err = doctor(stack, "fix", "--rollback", run["id"])
    assert code == 0, (name, out, err)
    assert stat_files(stack, touched) == snapshot, f"{name}: rollback did not restore {touched}"


# One rerun on a freshly booted stack (pytest-rerunfailures; the summary counts it as
# "rerun"): some cells fail in some runs on timing not yet understood (stop 13's note).
@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_fix_scenarios(group: str) -> None:
    """Each scenario of the group in turn on one boot, the stack reset between them; every
    failure is reported, not only the first."""
    names = GROUPS[group]
    stack = boot(SCENARIOS[names[0]].variant)
    failures: list[str] = []
    try:
        pristine = keep_pristine(stack)
        for name in names:
            try:
                fix_scenario(stack, name)
            except Exception as exc:  # noqa: BLE001 - each scenario's failure is reported
                failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:1500]}")
            reset(stack, pristine)
    finally:
        stop_stack(stack)
    assert not failures, "\n\n".join(failures)


def test_every_scenario_is_placed() -> None:
    """Each scenario of the first stack is automatic, manual, rolls back, or said to be
    left out above (and each group's scenarios share one variant)."""
    placed = {*AUTOMATIC, *MANUAL, *ROLLS_BACK}
    grouped = [n for names in GROUPS.values() for n in names]
    assert sorted(grouped) == sorted(placed)
    left_out = {"relative-import-rotated", "oom-killed", "gunicorn-worker-oom", "disk-full",
                "firewall-drop", "hand-started-died", "missing-dependency"}
    faults = {n for n, s in SCENARIOS.items() if s.category is not None}
    assert faults - placed == left_out
    for names in GROUPS.values():
        assert len({SCENARIOS[n].variant for n in names}) == 1, names


# Stacks whose DSN the agent does not read (uWSGI's ini `env =`, a supervisor program's
# `environment=`): the database is known only from the app's log, its units are not gathered,
# and the plan is the rule's manual step.
NO_DSN = ("uwsgi", "wsgi")


@pytest.mark.parametrize("stack", [s for s, _f, reason in pairs(list(STACKS), ["db-down"])
                                   if reason is None])
def test_db_down_is_fixed_on_every_stack(stack: str) -> None:
    """PostgreSQL stopped under each stack's app (systemd, supervisor, pm2, uWSGI, a panel's
    nginx...): the plan starts the database's own unit and restarts the app with its own
    manager; applied, the stack is healthy; rolled back, the database is stopped again."""
    d = boot_deployed(stack)
    try:
        fam = FAMILIES["db-down"]
        fam.inject(d)
        url = fam.url(d) or d.url(d.spec.path)
        code, out, err = doctor(d, "fix", url, "--json")
        first = as_json(out, err)["remedies"][0]
        assert code == 1 and first["symbol"] == "database-unreachable", first
        if stack in NO_DSN:
            assert not first["automatic"] and first["steps"][0]["kind"] == "manual", first
            assert any("systemctl start postgresql" in c
                       for c in first["steps"][0]["commands"]), first
            return
        assert first["automatic"], first
        lines = [s["line"] for s in first["steps"] if s["kind"] == "command"]
        assert lines[0] == "systemctl start postgresql.service", lines
        code, out, err = doctor(d, "fix", url, "--apply", "--yes", "--json")
        run = as_json(out, err)
        assert code == 0 and run["status"] == "applied", (run, err[-2000:])
        assert run["verdict_after"] == "healthy", run
        assert d.wait_for(d.spec.health, 200, timeout=20) == 200
        code, out, err = doctor(d, "fix", "--rollback", run["id"])
        assert code == 0, (out, err)
        assert d.sh("systemctl is-active postgresql.service", check=False).strip() == \
            "inactive"
    finally:
        stop_deployed(d)
