"""Rules about the systemd service: stopped, failed, restarting in a loop."""

from __future__ import annotations

from collections.abc import Iterator

from ..facts import Facts, Unit
from ..findings import Excerpt, Fix, Hit, Link, Severity
from .common import EXITED_RE, FAILED_RE, RESTART_RE, journal_excerpt, last_matching
from .registry import rule


def _relevant(facts: Facts) -> list[Unit]:
    return [u for u in facts.units or () if u.is_web_app or u.name.startswith("nginx")]


def _state_line(u: Unit) -> Excerpt:
    text = (f"ActiveState={u.active_state} SubState={u.sub_state} Result={u.result} "
            f"NRestarts={u.n_restarts} ExecMainStatus={u.exec_main_status} "
            f"UnitFileState={u.unit_file_state}")
    return Excerpt(u.source, text)


def _underlying(facts: Facts, u: Unit) -> str:
    tbs = facts.tracebacks_of(u.name)
    if tbs:
        return f" The last error it printed: {tbs[-1].last_line}"
    exited = last_matching(facts.journal_of(u.name), EXITED_RE)
    if exited:
        return f" systemd: {exited.message}"
    return ""


def crash_looping(facts: Facts, u: Unit) -> bool:
    """Restarting again and again: auto-restart now, or restarts still being scheduled."""
    if u.sub_state == "auto-restart":
        return True
    if u.active_state in ("inactive", "failed") or u.n_restarts < 2:
        return False
    entries = facts.journal_of(u.name)
    systemd_lines = [e for e in entries if EXITED_RE.search(e.message) or
                     RESTART_RE.search(e.message) or "Started " in e.message]
    # Type=simple units read as active/running for the instant between start and crash;
    # the journal tells whether the last thing that happened was a crash.
    return bool(systemd_lines) and not systemd_lines[-1].message.lstrip().startswith("Started")


@rule(id="GD-SVC-001", symbol="service-not-running", category="service.not_running",
      severity=Severity.ERROR, needs=("units",), layer="unit",
      title="The service is stopped or failed")
def not_running(facts: Facts) -> Iterator[Hit]:
    """A web app unit (or nginx) that is inactive or failed, and not about to restart."""
    for u in _relevant(facts):
        if u.load_state == "not-found":
            continue
        if u.active_state not in ("inactive", "failed") or u.sub_state == "auto-restart":
            continue
        failed = u.active_state == "failed" or u.result not in ("success", "")
        evidence = [_state_line(u)]
        last = last_matching(facts.journal_of(u.name), FAILED_RE)
        if last:
            evidence.append(journal_excerpt(last))
        commands = [f"systemctl start {u.name}"]
        if u.unit_file_state == "disabled":
            commands.insert(0, f"systemctl enable {u.name}")
        if failed:
            commands = [f"journalctl -u {u.name} -n 50 --no-pager", f"systemctl restart {u.name}"]
        yield Hit(
            title=f"{u.name} is {u.active_state} ({u.sub_state}, result {u.result})",
            evidence=tuple(evidence),
            explanation=(
                f"{u.name} failed and systemd is not restarting it." + _underlying(facts, u)
                if failed else
                f"{u.name} is stopped (it exited cleanly or was never started)"
                + (" and is not enabled at boot." if u.unit_file_state == "disabled" else ".")
            ),
            fix=Fix(
                summary=("Fix the error it failed with, then restart it." if failed
                         else f"Start {u.name}" + (" and enable it." if
                                                   u.unit_file_state == "disabled" else ".")),
                commands=tuple(commands),
            ),
            links=(Link("unit", u.name),),
            role="symptom" if failed else "cause",
        )


@rule(id="GD-SVC-002", symbol="crash-loop", category="service.crash_loop",
      severity=Severity.ERROR, needs=("units",), layer="unit", role="symptom",
      title="The service restarts again and again")
def crash_loop(facts: Facts) -> Iterator[Hit]:
    """Restart= keeps restarting a unit whose main process exits."""
    for u in _relevant(facts):
        if not crash_looping(facts, u):
            continue
        entries = facts.journal_of(u.name)
        evidence = [_state_line(u)]
        restarts = u.n_restarts
        for pattern in (EXITED_RE, RESTART_RE):
            e = last_matching(entries, pattern)
            if e:
                evidence.append(journal_excerpt(e))
                m = RESTART_RE.search(e.message)
                restarts = max(restarts, int(m.group(1)) if m else 0)
        count = f"{restarts} restarts" if restarts else "waiting to restart"
        yield Hit(
            title=f"{u.name} is in a restart loop ({count})",
            evidence=tuple(evidence),
            explanation=(
                f"{u.name} exits soon after each start and Restart= starts it again, so it "
                "never listens for long and nginx gets `connection refused`."
                + _underlying(facts, u)
            ),
            fix=Fix(
                summary="Fix the error the process exits with (see the cause above); "
                "the loop stops by itself once the app starts.",
                commands=(f"journalctl -u {u.name} -n 80 --no-pager",),
            ),
            links=(Link("unit", u.name),),
        )
