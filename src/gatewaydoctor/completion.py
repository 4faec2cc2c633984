"""Shell completion scripts for bash, zsh and fish, generated from the argparse tree.

`gatewaydoctor completion bash|zsh|fish` prints one. Subcommands, options, choices and
file arguments come from the parser itself, so a new option completes without an edit
here; rule IDs/symbols (for --skip, --only, explain) and example names (for --example)
are the ones this installation knows.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field

SHELLS = ("bash", "zsh", "fish")
PROG = "gatewaydoctor"
# Option or positional destinations whose values are files.
FILE_DESTS = {"from_file", "evidence", "output"}


@dataclass
class Opt:
    """One option (or positional) of a command, as completion needs it."""

    flags: list[str]
    help: str
    takes_value: bool
    repeat: bool = False  # nargs + or *: several values follow
    values: list[str] = field(default_factory=list)
    files: bool = False


@dataclass
class Command:
    name: str
    help: str
    options: list[Opt]
    positional_values: list[str]
    positional_files: bool = False


def _rule_names() -> list[str]:
    try:
        from .rules import all_rules

        return [name for r in all_rules() for name in (r.symbol, r.id)]
    except Exception:  # noqa: BLE001 - completion works without the rule list
        return []


def _example_names() -> list[str]:
    try:
        from . import examples

        return ["list", *examples.available()]
    except Exception:  # noqa: BLE001
        return ["list"]


def _values(action: argparse.Action, dynamic: dict[str, Callable[[], list[str]]]) -> list[str]:
    if action.choices is not None:
        return [str(c) for c in action.choices]
    if action.dest in dynamic:
        return dynamic[action.dest]()
    return []


def _help(action: argparse.Action) -> str:
    text = action.help if isinstance(action.help, str) and action.help != argparse.SUPPRESS \
        else ""
    return " ".join(text.split()).split(" (")[0][:70]


def commands(parser: argparse.ArgumentParser) -> tuple[list[Opt], list[Command]]:
    """(top-level options, subcommands) of the parser."""
    dynamic = {"skip": _rule_names, "only": _rule_names, "rule": _rule_names,
               "example": _example_names}
    top: list[Opt] = []
    cmds: list[Command] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                opts, pos_values, pos_files = [], [], False
                for a in sub._actions:
                    if a.help == argparse.SUPPRESS and a.option_strings:
                        continue
                    if a.option_strings:
                        opts.append(Opt(
                            flags=list(a.option_strings), help=_help(a),
                            takes_value=a.nargs != 0, repeat=a.nargs in ("+", "*"),
                            values=_values(a, dynamic), files=a.dest in FILE_DESTS))
                    else:
                        pos_values += _values(a, dynamic)
                        pos_files = pos_files or a.dest in FILE_DESTS
                cmds.append(Command(name, " ".join(str(helps.get(name, "")).split())[:70],
                                    opts, pos_values, pos_files))
        elif action.option_strings:
            top.append(Opt(list(action.option_strings), _help(action), action.nargs != 0,
                           values=_values(action, dynamic)))
    return top, cmds


def _words(items: list[str]) -> str:
    return " ".join(items)


def bash(parser: argparse.ArgumentParser) -> str:
    top, cmds = commands(parser)
    top_valued = "|".join(f for o in top if o.takes_value for f in o.flags) or "--"
    top_cases = [f'                {"|".join(o.flags)}) COMPREPLY=($(compgen -W '
                 f'"{_words(o.values)}" -- "$cur")); return ;;'
                 for o in top if o.takes_value]
    lines = [
        f"# bash completion for {PROG}; load with: eval \"$({PROG} completion bash)\"",
        f"_{PROG}() {{",
        "    local cur prev cmd i last",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '    cmd=""',
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        case "${COMP_WORDS[i]}" in',
        f"            {top_valued}) ((i++)) ;;",
        "            -*) ;;",
        '            *) cmd="${COMP_WORDS[i]}"; break ;;',
        "        esac",
        "    done",
        '    last=""',
        "    for ((i = COMP_CWORD - 1; i > 0; i--)); do",
        '        case "${COMP_WORDS[i]}" in -*) last="${COMP_WORDS[i]}"; break ;; esac',
        "    done",
        '    case "$cmd" in',
        '        "")',
        *(['            case "$prev" in', *top_cases, "            esac"] if top_cases else []),
        f'            COMPREPLY=($(compgen -W "{_words([c.name for c in cmds] + [f for o in top for f in o.flags])}" -- "$cur"))',  # noqa: E501
        "            return ;;",
    ]
    for c in cmds:
        lines.append(f"        {c.name})")
        value_cases: list[str] = []
        repeat_cases: list[str] = []
        for o in c.options:
            if not o.takes_value:
                continue
            pattern = "|".join(o.flags)
            if o.files:
                action = 'COMPREPLY=($(compgen -f -- "$cur"))'
            elif o.values:
                action = f'COMPREPLY=($(compgen -W "{_words(o.values)}" -- "$cur"))'
            else:
                action = "COMPREPLY=()"
            value_cases.append(f"                {pattern}) {action}; return ;;")
            if o.repeat and o.values:
                repeat_cases.append(f"                {pattern}) {action}; return ;;")
        if value_cases:
            lines += ['            case "$prev" in', *value_cases, "            esac"]
        flags = _words([f for o in c.options for f in o.flags])
        lines += ['            if [[ "$cur" == -* ]]; then',
                  f'                COMPREPLY=($(compgen -W "{flags}" -- "$cur")); return',
                  "            fi"]
        if repeat_cases:
            lines += ['            case "$last" in', *repeat_cases, "            esac"]
        if c.positional_files:
            lines.append('            COMPREPLY=($(compgen -f -- "$cur")) ;;')
        else:
            lines.append(f'            COMPREPLY=($(compgen -W "{_words(c.positional_values)}" '
                         '-- "$cur")) ;;')
    lines += ["    esac", "}", f"complete -o default -F _{PROG} {PROG}", ""]
    return "\n".join(lines)


def _zq(text: str) -> str:
    """Text inside a zsh _arguments spec in single quotes: no [ ] : there, ' quoted."""
    return re.sub(r"[\[\]:]", "", text).replace("\\", "").replace("'", "'\\''")


def _zvalue(o: Opt) -> str:
    """The `:message:action` part of an option's spec ("" for a flag)."""
    if not o.takes_value:
        return ""
    if o.files:
        action = "_files"
    elif o.values:
        action = "(" + " ".join(o.values) + ")"
    else:
        action = " "
    return f":{_zq(o.flags[-1].lstrip('-'))}:{action}"


def zsh(parser: argparse.ArgumentParser) -> str:
    top, cmds = commands(parser)
    lines = [
        f"#compdef {PROG}",
        f"# zsh completion for {PROG}; load with: source <({PROG} completion zsh)",
        f"_{PROG}() {{",
        "    local curcontext=\"$curcontext\" state line",
        "    local -a commands",
        "    commands=(",
        *[f"        '{c.name}:{_zq(c.help)}'" for c in cmds],
        "    )",
        "    _arguments -C \\",
        *[f"        '{f}[{_zq(o.help)}]{_zvalue(o)}' \\" for o in top for f in o.flags],
        "        '1: :->command' \\",
        "        '*:: :->args'",
        '    case "$state" in',
        "        command) _describe -t commands 'gatewaydoctor command' commands; return ;;",
        "    esac",
        '    case "$line[1]" in',
    ]
    for c in cmds:
        specs = []
        for o in c.options:
            suffix = _zvalue(o)
            star = "*" if o.repeat else ""
            if len(o.flags) > 1:
                specs.append(f"'{star}({' '.join(o.flags)})'{{{','.join(o.flags)}}}"
                             f"'[{_zq(o.help)}]{suffix}'")
            else:
                specs.append(f"'{star}{o.flags[0]}[{_zq(o.help)}]{suffix}'")
        if c.positional_files:
            specs.append("'*:file:_files'")
        elif c.positional_values:
            specs.append(f"'1:value:({' '.join(c.positional_values)})'")
        lines.append(f"        {c.name})")
        lines.append("            _arguments -s \\")
        lines += [f"                {s} \\" for s in specs]
        lines.append("                && return 0 ;;")
    lines += ["    esac", "}", "", f'if [[ "$funcstack[1]" = "_{PROG}" ]]; then',
              f'    _{PROG} "$@"', "else", f"    compdef _{PROG} {PROG}", "fi", ""]
    return "\n".join(lines)


def _fq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish(parser: argparse.ArgumentParser) -> str:
    top, cmds = commands(parser)
    names = " ".join(c.name for c in cmds)
    lines = [f"# fish completion for {PROG}; load with: {PROG} completion fish | source",
             f"complete -c {PROG} -f"]
    for c in cmds:
        lines.append(f"complete -c {PROG} -n 'not __fish_seen_subcommand_from {names}' "
                     f"-a {c.name} -d {_fq(c.help)}")
    for o in top:
        values = f" -x -a {_fq(' '.join(o.values))}" if o.takes_value else ""
        lines.append(f"complete -c {PROG} -n 'not __fish_seen_subcommand_from {names}' "
                     + _fish_flags(o.flags) + values + f" -d {_fq(o.help)}")
    for c in cmds:
        cond = f"-n '__fish_seen_subcommand_from {c.name}'"
        for o in c.options:
            spec = _fish_flags(o.flags)
            if o.takes_value and o.files:
                spec += " -r -F"
            elif o.takes_value and o.values:
                spec += f" -x -a {_fq(' '.join(o.values))}"
            elif o.takes_value:
                spec += " -x"
            lines.append(f"complete -c {PROG} {cond} {spec} -d {_fq(o.help)}")
        if c.positional_files:
            lines.append(f"complete -c {PROG} {cond} -F")
        elif c.positional_values:
            lines.append(f"complete -c {PROG} {cond} -a {_fq(' '.join(c.positional_values))}")
    return "\n".join(lines) + "\n"


def _fish_flags(flags: list[str]) -> str:
    out = []
    for f in flags:
        if f.startswith("--"):
            out.append(f"-l {f[2:]}")
        else:
            out.append(f"-s {f[1:]}")
    return " ".join(out)


def script(shell: str, parser: argparse.ArgumentParser) -> str:
    """The completion script for shell (bash, zsh or fish)."""
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser)
