"""`fix --from BUNDLE --script`: the plan as a bash script for the person on the host, when
the diagnosis was made elsewhere. It backs up each file it touches (content, mode, owner)
under a folder of its own, checks that every line it edits still reads as the bundle saw it,
stops at the first failing command and rolls back; `bash fix.sh rollback` takes it all back.
"""

from __future__ import annotations

import shlex

from ..diagnose import Diagnosis
from ..i18n import _
from .steps import Command, FileChange, Manual, Plan

PRELUDE = r'''set -Eeuo pipefail
RUN=${GATEWAYDOCTOR_STATE_DIR:-/var/lib/gatewaydoctor}/fixes/script-$STAMP
mkdir -p "$RUN" && chmod 700 "$RUN"

gd_backup() {  # FILE: keep it (bytes, mode, owner) before the first change
  local n
  [ -e "$RUN/files.list" ] && grep -qxF -- "$1" "$RUN/files.list" && return 0
  mkdir -p "$RUN/files"
  n=$(wc -l < "$RUN/files.list" 2>/dev/null || echo 0)
  cp -p -- "$1" "$RUN/files/$n"
  printf '%s\n' "$1" >> "$RUN/files.list"
}

gd_line() {  # FILE LINE OLD NEW: line LINE of FILE, which must read OLD, becomes NEW
  local cur tmp
  cur=$(sed -n "${2}p" -- "$1")
  if [ "$cur" != "$3" ]; then
    echo "$1:$2 no longer reads: $3 (the file changed since the bundle; nothing done)" >&2
    return 1
  fi
  tmp=$(mktemp)
  NEW=$4 awk -v n="$2" 'NR == n { print ENVIRON["NEW"]; next } { print }' "$1" > "$tmp"
  cat "$tmp" > "$1"
  rm -f "$tmp"
}

gd_run() {  # UNDO-LINE COMMAND...: run it; remember how to take it back
  local undo=$1; shift
  echo "\$ $*"
  bash -c "$*"
  [ -z "$undo" ] || printf '%s\n' "$undo" >> "$RUN/undo.list"
}

gd_rollback() {  # put back every file kept, then the undo lines, newest first
  local n=0 f u
  if [ -e "$RUN/files.list" ]; then
    while IFS= read -r f; do
      echo "restoring $f"; cp -p -- "$RUN/files/$n" "$f"; n=$((n + 1))
    done < "$RUN/files.list"
  fi
  if [ -e "$RUN/undo.list" ]; then
    tac "$RUN/undo.list" | while IFS= read -r u; do echo "\$ $u"; bash -c "$u" || true; done
  fi
}
'''


def script(plan: Plan, before: Diagnosis) -> str:
    """The reviewed shell script of a plan."""
    head = ["#!/usr/bin/env bash",
            "# " + _("gatewaydoctor fix plan for {host}, made from {source}").format(
                host=plan.host, source=before.offline or _("this host")),
            "# " + _("Review it before running it: bash fix.sh  (rollback: bash fix.sh "
                     "rollback <stamp>)"), ""]
    for n, r in enumerate(plan.remedies, 1):
        head.append(f"# {n}. {r.title} [{r.symbol}]")
    body = ['STAMP=${2:-$(date -u +%Y%m%d-%H%M%S)}', PRELUDE]
    apply_lines, manual = _apply_lines(plan)
    body += ["gd_apply() {", *("  " + line for line in apply_lines or [":"]), "}", ""]
    body += ['if [ "${1:-apply}" = rollback ]; then gd_rollback; exit 0; fi',
             "trap 'echo \"a step failed: rolling back\" >&2; gd_rollback; exit 1' ERR",
             "gd_apply", "trap - ERR",
             'echo "done; to take it back: bash $0 rollback $STAMP"']
    if plan.url:
        body.append(f"curl -s -o /dev/null -w 'URL answers %{{http_code}}\\n' -m 10 "
                    f"{shlex.quote(plan.url)} || true")
    if manual:
        body += ["", "# " + _("By hand (not safe to automate):"),
                 *(f"#   {line}" for line in manual)]
    return "\n".join(head + [""] + body) + "\n"


def _apply_lines(plan: Plan) -> tuple[list[str], list[str]]:
    """The lines of gd_apply, and what a person does by hand (as comments)."""
    lines: list[str] = []
    manual: list[str] = []
    for r in plan.remedies:
        lines.append(f"# {r.symbol}: {r.title}")
        for step in r.steps:
            if isinstance(step, Manual):
                manual += [step.text, *(f"  $ {c}" for c in step.commands)]
            elif isinstance(step, Command):
                lines += [f"# {step.why}",
                          f"gd_run {shlex.quote(step.undo or '')} {shlex.quote(step.line)}"]
            else:
                lines += _file_lines(step)
    return lines, manual


def _file_lines(change: FileChange) -> list[str]:
    """Back the file up, then its line edits (last line first, so numbers hold), owner,
    mode."""
    path = shlex.quote(change.path)
    lines = [f"# {change.why}", f"gd_backup {path}"]
    for e in sorted(change.edits, key=lambda e: -e.line):
        lines.append(f"gd_line {path} {e.line} {shlex.quote(e.old)} {shlex.quote(e.new)}")
    if change.owner is not None:
        lines.append(f"chown {change.owner[0]}:{change.owner[1]} {path}")
    if change.mode is not None:
        lines.append(f"chmod {oct(change.mode)[2:]} {path}")
    return lines
