"""systemd cannot enter the service's WorkingDirectory (status=200/CHDIR)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...categories import LOOP_SYMPTOMS
from ...facts import DirListing, Facts, JournalEntry, Unit, last_matching
from ...facts.signatures import CHDIR_DENIED_RE
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found

STATUS_RE = re.compile(r"status=200/CHDIR\b")
CHDIR_FAIL_RE = re.compile(r"Changing to the requested working directory failed")


@rule(id="GD-SVC-005", symbol="workdir-missing", category="service.workdir_missing",
      severity=Severity.ERROR, layer="unit",
      explains=LOOP_SYMPTOMS + ("app.startup_failed",),
      title=N_("WorkingDirectory does not exist (status=200/CHDIR)"),
      texts=Text(
          title=N_("{unit}: WorkingDirectory={workdir} does not exist (status=200/CHDIR)"),
          explanation=N_(
              "systemd could not change into {workdir} to start {unit} (200/CHDIR is "
              "systemd's own exit code, the app never ran). The folder was renamed, moved or "
              "not deployed."),
          fix=N_("Set WorkingDirectory= to the folder that holds the app, or deploy it "
                 "to {workdir}; then daemon-reload and restart."),
          commands=("ls -ld {workdir} {parent}/*",
                    "systemctl edit --full {unit}   # WorkingDirectory=",
                    "systemctl daemon-reload && {restart}")))
def workdir_missing(facts: Facts, units: tuple[Unit, ...],
                    listings: tuple[DirListing, ...] = ()) -> Iterator[Found]:
    """systemd cannot chdir into WorkingDirectory= before starting the unit."""
    for u in facts.gateway_units():
        entries = facts.journal_of(u.name)
        line = last_matching(entries, STATUS_RE)
        detail = last_matching(entries, CHDIR_FAIL_RE)
        if not _missing(u, line, detail):
            continue
        wd = u.working_directory or "?"
        error = next((d.error for d in listings if d.path == wd), None)
        yield found(_evidence(u, line, detail, error),
                    [Link("unit", u.name), Link("log", line.message if line else wd)],
                    unit=u.name, workdir=wd, parent=wd.rsplit("/", 1)[0] or "/",
                    restart=u.restart_command)


def _missing(u: Unit, line: JournalEntry | None, detail: JournalEntry | None) -> bool:
    """200/CHDIR, and not for a directory that is there but the user may not enter (that is
    exec-denied: a mode to fix, not a path)."""
    if line is None and u.exec_main_status != 200:
        return False
    return detail is None or not CHDIR_DENIED_RE.search(detail.message)


def _evidence(u: Unit, line: JournalEntry | None, detail: JournalEntry | None,
              listing_error: str | None) -> list[Excerpt]:
    """The 200/CHDIR line (else the unit's state), systemd's detail, WorkingDirectory=, and
    why listing it failed."""
    wd = u.working_directory or "?"
    return [line.excerpt if line else u.state_excerpt,
            *([detail.excerpt] if detail else []),
            Excerpt(u.source, f"WorkingDirectory={wd}"),
            *([Excerpt(f"fs.listing:{wd}", listing_error)] if listing_error else [])]
