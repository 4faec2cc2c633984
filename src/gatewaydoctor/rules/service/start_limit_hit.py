"""systemd gave up restarting the service: start request repeated too quickly."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import EXITED_RE, RESTART_RE, Facts, JournalEntry, Unit, last_matching
from ...findings import Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg


@rule(id="GD-SVC-003", symbol="start-limit-hit", category="service.start_limit_hit",
      severity=Severity.ERROR, layer="unit",
      explains=("service.crash_loop", "service.not_running"),
      title=N_("systemd gave up restarting the service (start request repeated too quickly)"),
      texts=Text(
          title=N_("{unit}: start request repeated too quickly; systemd gave up"),
          explanation=(
              N_("{unit} exited {times} times in a row within the start limit "
                 "(StartLimitIntervalSec/StartLimitBurst), so systemd stopped restarting it "
                 "and left it failed. Nothing listens, nginx answers 502. The start limit is "
                 "the consequence: the reason is why each start exited."),
              N_("The last error it printed: {error}"), N_("systemd says: {message}")),
          fix=N_("Find and fix why {unit} exits (its journal before the give-up), then clear "
                 "the failed state and start it again."),
          commands=("{logs}", "systemctl reset-failed {unit}", "systemctl start {unit}")))
def start_limit_hit(facts: Facts, units: tuple[Unit, ...],
                    journal: tuple[JournalEntry, ...]) -> Iterator[Found]:
    """The unit failed too often within StartLimitIntervalSec, so systemd stopped trying."""
    for u in facts.gateway_units():
        hit = facts.gave_up(u)
        if hit is None:
            continue
        entries = facts.journal_of(u.name)
        lines = [e for e in (last_matching(entries, EXITED_RE),
                             last_matching(entries, RESTART_RE)) if e is not None]
        error, exited = facts.exit_reason(u)
        yield found([hit.excerpt, u.state_excerpt, *(e.excerpt for e in lines)],
                    [Link("unit", u.name), Link("log", hit.message)],
                    unit=u.name, times=u.n_restarts or msg(N_("several")), error=error,
                    message=exited, logs=u.logs_command(100))
