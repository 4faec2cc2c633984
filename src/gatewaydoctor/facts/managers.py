"""A service's manager in the words a fix needs: the commands that restart it, show it, read
its output and change how it starts, and what its manager does when it exits — for a systemd
unit, a supervisor program, a pm2 app, or a server started by hand (nohup), which nothing
restarts.

The registry gives every finding that names a service (its `unit` value) these placeholders,
as it gives the nginx commands (`nginx_commands`); a rule's own values win.
"""

from __future__ import annotations

import shlex
from dataclasses import replace

from ..i18n import N_
from .services import Service

# What each manager does and shows, as a clause a rule's sentence ends with. N_(): English
# here, translated (program catalog) when the finding is rendered.
WORDS: dict[str, dict[str, str]] = {
    "systemd": {
        "restarts": N_("systemd restarts it"),
        "keeps_restarting": N_("systemd keeps restarting it"),
        "shown_active": N_("systemd shows the unit active"),
        "definition": N_("the unit"),
        "command_key": N_("ExecStart"),
    },
    "supervisor": {
        "restarts": N_("supervisord restarts it"),
        "keeps_restarting": N_("supervisord keeps restarting it (until it gives up: FATAL)"),
        "shown_active": N_("supervisorctl shows the program RUNNING"),
        "definition": N_("its [program] section"),
        "command_key": N_("its command="),
    },
    "pm2": {
        "restarts": N_("pm2 restarts it"),
        "keeps_restarting": N_("pm2 keeps restarting it (until it gives up: errored)"),
        "shown_active": N_("pm2 shows the app online"),
        "definition": N_("its ecosystem file"),
        "command_key": N_("its pm2 start command"),
    },
    "process": {
        "restarts": N_("nothing restarts it: it was started by hand"),
        "keeps_restarting": N_("it stays down: it was started by hand, and nothing starts it "
                               "again"),
        "shown_active": N_("its process is still running"),
        "definition": N_("the shell that starts it"),
        "command_key": N_("its command line"),
    },
    "container": {
        "restarts": N_("its restart policy restarts it (if it has one)"),
        "keeps_restarting": N_("its restart policy keeps restarting it (if it has one)"),
        "shown_active": N_("the container is still running"),
        "definition": N_("the container's run options (docker run, a compose file)"),
        "command_key": N_("the container's command"),
    },
}


# The name of a setting in its manager's definition: the folder it starts in, its environment.
KEYS: dict[str, dict[str, str]] = {
    "systemd": {"folder_key": "WorkingDirectory", "env_key": "Environment"},
    "supervisor": {"folder_key": "directory", "env_key": "environment"},
    "pm2": {"folder_key": "cwd", "env_key": "env"},
    "process": {"folder_key": "cwd", "env_key": "env"},
    "container": {"folder_key": "working_dir", "env_key": "environment"},
}


def setting_keys(s: Service) -> dict[str, str]:
    """{folder_key} and {env_key}: what its manager calls its folder and its environment."""
    return KEYS.get(s.manager, KEYS["systemd"])


def systemd_unit(name: str) -> Service:
    """A unit known only by name (its `systemctl show` was not read): systemd's, as a unit
    name says."""
    return Service(name=name, load_state="", active_state="", sub_state="", result="",
                   n_restarts=0, exec_main_code=None, exec_main_status=None, exec_start=(),
                   server=None, app=None, binds=(), working_directory=None, user=None,
                   environment_files=(), fragment_path=None, unit_file_state="", main_pid=None,
                   need_daemon_reload=False, description="", source="")


def service_commands(s: Service) -> dict[str, object]:
    """The command placeholders of a finding about s: {restart}, {status}, {logs},
    {recent_logs} (its output of the last minutes, to grep), {reconfigure} (change how it
    starts, then start it so); {systemd_unit} for a unit only, {rerun} ({reconfigure}) for
    any other manager only; {folder_key}, {env_key}."""
    systemd = s.manager == "systemd"
    return {"restart": s.restart_command, "status": s.status_command, "logs": s.logs_command(50),
            "recent_logs": recent_logs(s), "reconfigure": restart_with(s),
            # for the steps only systemd has (a drop-in, MemoryMax=), and the other
            # managers' way instead
            "systemd_unit": s.name if systemd else None,
            "systemd_restart": s.restart_command if systemd else None,
            "rerun": None if systemd else restart_with(s), **setting_keys(s)}


def service_words(s: Service) -> dict[str, str]:
    """The prose placeholders of a finding about s ({restarts}, {keeps_restarting},
    {shown_active}, {definition}, {command_key}): N_() templates, translated when
    rendered."""
    return WORDS.get(s.manager, WORDS["systemd"])


def recent_logs(s: Service) -> str:
    """Its output of the last minutes, for a grep to follow."""
    if s.manager == "systemd":
        return f"journalctl -u {s.name} --since -10min --no-pager"
    return s.logs_command(200)


def restart_with(s: Service, workdir: str | None = None, target: str | None = None,
                 option: tuple[str, str] | None = None) -> tuple[str, ...]:
    """Change how s starts — its folder, its app target (`module:attr`), one `--option value`
    — and start it so: the unit's or program's file to edit, or for pm2 and a server started
    by hand the command line itself, changed."""
    if s.manager in ("pm2", "process", "container"):
        return _rerun(s, workdir, _argv(s, target, option))
    folder, command = ("directory", "command") if s.manager == "supervisor" else (
        "WorkingDirectory", "ExecStart")
    change = target or (" ".join(option) if option else None)
    said = ", ".join([*([f"{folder}={workdir}"] if workdir else []),
                      *([f"{command}=... {change} ..."] if change else [])])
    if s.manager == "supervisor":
        conf = s.fragment_path or "/etc/supervisor/conf.d/"
        return (f"editor {conf}   # [program:{s.program}]" + (f" {said}" if said else ""),
                f"supervisorctl reread && supervisorctl update {s.program}")
    return (f"systemctl edit --full {s.name}" + (f"   # {said}" if said else ""),
            f"systemctl daemon-reload && systemctl restart {s.name}")


def _argv(s: Service, target: str | None, option: tuple[str, str] | None) -> list[str]:
    """Its command line with the target or one option changed."""
    argv = list(s.exec_start[0]) if s.exec_start else []
    old = f"{s.app.module}:{s.app.attr}" if s.app else None
    if target and old in argv:
        argv[argv.index(old)] = target
    if option:
        name, value = option
        at = next((i for i, a in enumerate(argv) if a == name or a.startswith(name + "=")), None)
        if at is None:
            argv += [name, value]
        elif argv[at] == name and at + 1 < len(argv):
            argv[at + 1] = value
        else:
            argv[at] = f"{name}={value}"
    return argv


def _rerun(s: Service, workdir: str | None, argv: list[str]) -> tuple[str, ...]:
    """pm2: delete the app and start it again with the command changed (then save the list);
    by hand: stop the process by its pid and start the command again in the background; a
    container: created again with the command changed."""
    folder = shlex.quote(workdir or s.working_directory or "/")
    if s.manager == "container":
        # its command is part of how it was created: look, remove, create it again
        return (f"{s.control} inspect --format '{{{{.Config.Image}}}} {{{{json .Config.Cmd}}}} "
                f"{{{{.Config.WorkingDir}}}}' {s.program}",
                f"{s.control} rm -f {s.program}   # then create it again (docker run, compose "
                f"up -d) with: {shlex.join(argv) if argv else '<its command>'}"
                + (f", working_dir {workdir}" if workdir else ""))
    if s.manager == "process":
        again = replace(s, exec_start=(tuple(argv),) if argv else (),
                        working_directory=workdir or s.working_directory)
        # its socket is free once it has exited (gunicorn lets requests finish first)
        stop = (f"kill {s.main_pid} && while kill -0 {s.main_pid} 2>/dev/null; do sleep 1; "
                "done") if s.main_pid else None
        return tuple(c for c in (stop, again.start_by_hand) if c)
    head, rest = (argv[0], argv[1:]) if argv else ("<script>", [])
    pm2 = f"{s.control}pm2"
    return (f"{pm2} delete {s.program}",
            f"cd {folder} && {pm2} start {shlex.quote(head)} --name {s.program} "
            f"--interpreter none -- {shlex.join(rest)}", f"{pm2} save")
