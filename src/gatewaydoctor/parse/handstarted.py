"""Servers started by hand (the agent's `hand.processes`) → HandStarted, and each as a
unit-like fact named `process:<pid>` whose manager is nobody.

The listening sockets it holds are its binds (what it really serves, whatever its command
line says); the file its output goes to (nohup.out) is its journal.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ..evidence import Evidence, Item
from ..facts import Endpoint, HandStarted, JournalEntry, Listener, Unit, signatures
from ..formats import execspec, sources


def _parents(proc: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f"{p.get('comm') or '?'} (pid {p.get('pid')})" for p in proc.get("parents") or ())


def hand_started(item: Item) -> tuple[HandStarted, ...]:
    """The hand-started servers the agent found."""
    return tuple(HandStarted(
        pid=int(p["pid"]), user=p.get("user") or (str(p["uid"]) if p.get("uid") is not None
                                                   else None),
        cwd=p.get("cwd") or None, argv=tuple(str(a) for a in p.get("argv") or ()),
        cgroup=p.get("cgroup") or None, parents=_parents(p), stdout=p.get("stdout") or None,
        stderr=p.get("stderr") or None, source=f"/proc/{p['pid']}")
        for p in (item.data or {}).get("processes", []))


def output_kind(target: str | None) -> str:
    """What a /proc/PID/fd/N link points at, in words."""
    if not target:
        return "not readable"
    if target.startswith(("/dev/pts/", "/dev/tty")):
        return "a terminal: read it there (screen -r, tmux attach, the ssh session)"
    if target.startswith(("pipe:", "socket:")):
        return "a pipe or socket: whatever started it reads it"
    if target == "/dev/null" or target.endswith(" (deleted)"):
        return "discarded" if target == "/dev/null" else "a deleted file"
    return "a file"


def _status(h: HandStarted) -> str:
    """Its record in words: the links from the process to (no) manager."""
    parents = " <- ".join(h.parents) or "init (pid 1): its parent has exited (nohup, &, disown)"
    err = "the same" if h.stderr == h.stdout else f"{h.stderr or '?'} ({output_kind(h.stderr)})"
    return (f"pid {h.pid} runs as {h.user or '?'} in {h.cwd or '?'}; cgroup {h.cgroup or '?'} "
            f"(no service's); started from {parents}; stdout -> {h.stdout or '?'} "
            f"({output_kind(h.stdout)}), stderr -> {err}")


def units(found: tuple[HandStarted, ...], listeners: tuple[Listener, ...] | None) -> list[Unit]:
    """Each hand-started server as a Unit named `process:<pid>`, active and running."""
    out = []
    for h in found:
        argv = execspec.process_argv(list(h.argv))
        held = tuple(li.endpoint for li in listeners or () if h.pid in li.pids)
        out.append(Unit(
            name=h.unit, manager="process", load_state="loaded", active_state="active",
            sub_state="running", result="success", n_restarts=0, exec_main_code=None,
            exec_main_status=None, exec_start=(tuple(argv),), server=execspec.server_of(argv),
            app=execspec.app_target(argv), binds=held or tuple(
                Endpoint.parse(b) for b in execspec.binds(argv)),  # (a script: none)
            working_directory=h.cwd, user=h.user, environment_files=(), fragment_path=None,
            unit_file_state="", main_pid=h.pid, need_daemon_reload=False,
            description=f"started by hand from {h.parents[0] if h.parents else 'init'}",
            source=h.source, status_text=_status(h), output=h.stdout,
        ))
    return out


def journal(ev: Evidence) -> list[JournalEntry]:
    """What each hand-started server wrote to its output file, as the journal of its unit."""
    out = []
    for item in ev.prefixed(sources.HAND_OUTPUT_PREFIX):
        if not item.ok:
            continue
        pid = item.subject.partition(sources.SEP)[0]
        first = 1 if not item.offset else 0
        path = item.path or item.source
        for n, line in enumerate((item.stdout or "").splitlines()):
            num = first and n + 1
            out.append(JournalEntry(unit=f"{sources.HAND_UNIT_PREFIX}{pid}", time=None,
                                    message=line, pid=int(pid) if pid.isdigit() else None,
                                    identifier="output", priority=None,
                                    source=f"{path}:{num}" if num else path))
    return out


def gone_unit(path: str) -> str:
    """The name a server that ran by hand and is gone goes by: its nohup.out's folder."""
    return f"{sources.HAND_UNIT_PREFIX}{os.path.dirname(path) or '/'}"


def nohup_output(item: Item) -> list[JournalEntry]:
    """The lines of a nohup.out no running server writes to (what the one that died said),
    as the journal of the server that wrote them."""
    first = 1 if not item.offset else 0
    path = item.path or item.subject
    return [JournalEntry(unit=gone_unit(path), time=None, message=line, pid=None,
                         identifier="nohup", priority=None,
                         source=f"{path}:{n + 1}" if first else path)
            for n, line in enumerate((item.stdout or "").splitlines())]


def gone_units(paths: list[str]) -> list[Unit]:
    """The servers that ran by hand from a folder and are gone: inactive, their command not
    known (nothing in /proc is left of them), their output in nohup.out."""
    return [Unit(
        name=gone_unit(path), manager="process", load_state="loaded", active_state="inactive",
        sub_state="dead", result="exit-code", n_restarts=0, exec_main_code=None,
        exec_main_status=None, exec_start=(), server=None, app=None, binds=(),
        working_directory=os.path.dirname(path) or "/", user=None, environment_files=(),
        fragment_path=None, unit_file_state="", main_pid=None, need_daemon_reload=False,
        description="a server started by hand from this folder, gone", source=path,
        status_text=f"no process writes to {path} now: the server started by hand from "
                    f"{os.path.dirname(path)} is gone", output=path)
        for path in paths]


def told(unit: Unit, journal: list[JournalEntry]) -> Unit:
    """What a hand-started server's own output adds to what its command says: which server
    wrote it (a gone one's command is not known) and the app target it could not load
    (`manage.py runserver` takes it from settings.WSGI_APPLICATION, not the command line)."""
    if unit.app is not None or unit.server == "python":
        return unit  # a script that serves: its output is not a server's to name
    lines = [e.message for e in journal if e.unit == unit.name]
    server = unit.server or signatures.server_in_output(lines)
    said = signatures.target_in_output(lines) if server else None
    app = execspec.AppTarget(server, said[0], said[1], None, unit.working_directory, ()) \
        if server and said else None
    return dataclasses.replace(unit, server=server, app=app)

