"""The service is stopped or failed, and systemd is not about to start it again."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import FAILED_RE, Facts, Unit, last_matching
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

STOPPED_RE = re.compile(r"^Stopped |Deactivated")

TITLE = N_("{unit} is {active} ({sub}, result {result})")
TITLE_DISABLED = N_("{unit} is {active} ({sub}, result {result}), disabled at boot")


def _failed(title: str) -> Text:
    """How a unit that failed is told: why it exited, then restart it."""
    return Text(title=title,
                explanation=(N_("{unit} failed and systemd is not restarting it."),
                             N_("The last error it printed: {error}"),
                             N_("systemd says: {message}")),
                fix=N_("Fix the error it failed with, then restart it."),
                commands=("{logs}", "{restart}"))


@rule(id="GD-SVC-001", symbol="service-not-running", category="service.not_running",
      severity=Severity.ERROR, layer="unit",
      title=N_("The service is stopped or failed"),
      texts={
          "default": Text(
              title=TITLE,
              explanation=N_(
                  "{unit} is stopped (it exited cleanly or was never started). Nothing listens "
                  "for nginx, which answers 502."),
              fix=N_("Start {unit}."),
              commands=("systemctl start {unit}",)),
          "disabled": Text(
              title=TITLE_DISABLED,
              explanation=N_(
                  "{unit} is stopped (it exited cleanly or was never started) and is not enabled "
                  "(UnitFileState=disabled), so it does not start at boot. Nothing listens for "
                  "nginx, which answers 502."),
              fix=N_("Enable {unit} and start it now."),
              commands=("systemctl enable --now {unit}",)),
          "failed": _failed(TITLE),
          "failed_disabled": _failed(TITLE_DISABLED),
      })
def service_not_running(facts: Facts, units: tuple[Unit, ...]) -> Iterator[Found]:
    """A web app unit (or nginx) that is inactive or failed, and not about to restart."""
    for u in facts.gateway_units():
        if not _stopped(u):
            continue
        failed = u.active_state == "failed" or u.result not in ("success", "")
        error, exited = facts.exit_reason(u)
        yield found(_evidence(facts, u, failed), [Link("unit", u.name)],
                    text=_text(failed, u.unit_file_state == "disabled"),
                    role="symptom" if failed else None,
                    unit=u.name, active=u.active_state, sub=u.sub_state, result=u.result,
                    error=error, message=exited, logs=u.logs_command(50),
                    restart=u.restart_command)


def _stopped(u: Unit) -> bool:
    """Loaded, inactive or failed, and no restart pending."""
    return u.load_state != "not-found" and u.active_state in ("inactive", "failed") \
        and u.sub_state != "auto-restart"


def _text(failed: bool, disabled: bool) -> str:
    if failed:
        return "failed_disabled" if disabled else "failed"
    return "disabled" if disabled else "default"


def _evidence(facts: Facts, u: Unit, failed: bool) -> list[Excerpt]:
    """Its state, and the journal line that says it failed (or stopped)."""
    entries = facts.journal_of(u.name)
    line = (last_matching(entries, FAILED_RE) if failed else None) or \
        last_matching(entries, STOPPED_RE)
    return [u.state_excerpt, *([line.excerpt] if line else [])]
