"""systemd's formats: `systemctl show` output, the ExecStart/Environment/EnvironmentFiles
property values, and EnvironmentFile (.env) contents as systemd reads them."""

import re
import shlex
from typing import Dict, List, Tuple

_ARGV_RE = re.compile(r"argv\[\]=(.*?) ; (?:ignore_errors|flags)=")


def join_argv(argv: List[str]) -> str:
    """An ExecStart= value for argv, each word shell-quoted (what shlex.join, 3.8+, writes)."""
    return " ".join(shlex.quote(word) for word in argv)


def parse_show(text: str) -> List[Dict[str, str]]:
    """Split `systemctl show` output into one property dict per unit (blank line separated)."""
    blocks: List[Dict[str, str]] = []
    current: Dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    return blocks


def exec_argvs(value: str) -> List[List[str]]:
    """Return the argv lists of an `ExecStart=` property as `systemctl show` prints it.

    The form is `{ path=/x ; argv[]=/x -m uvicorn main:app ; ignore_errors=no ; ... }`.
    A bare command line (as in a unit file) is accepted too.
    """
    found = _ARGV_RE.findall(value)
    if not found and value.strip() and "argv[]=" not in value:
        found = [value.strip().lstrip("-@:+!")]
    argvs: List[List[str]] = []
    for cmd in found:
        try:
            argvs.append(shlex.split(cmd))
        except ValueError:
            argvs.append(cmd.split())
    return argvs


def parse_env_file(text: str) -> List[Tuple[str, str]]:
    """Parse an EnvironmentFile/.env into (key, value) pairs, as systemd reads it."""
    pairs: List[Tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        pairs.append((key, value))
    return pairs


def parse_environment(value: str) -> List[Tuple[str, str]]:
    """Parse the `Environment=` property (`A=1 "B=two words"`) into pairs."""
    try:
        words = shlex.split(value)
    except ValueError:
        words = value.split()
    pairs = []
    for w in words:
        key, sep, val = w.partition("=")
        if sep:
            pairs.append((key, val))
    return pairs


def environment_files(value: str) -> List[Tuple[str, bool]]:
    """Parse `EnvironmentFiles=/p (ignore_errors=no)` into (path, optional) pairs."""
    out = []
    for m in re.finditer(r"(\S+) \(ignore_errors=(yes|no)\)", value):
        out.append((m.group(1), m.group(2) == "yes"))
    if not out and value.strip():
        for word in value.split():
            out.append((word.lstrip("-"), word.startswith("-")))
    return out


def clean_path(value: str) -> str:
    """Strip systemd's `-`/`!` prefixes from a path property."""
    return value.lstrip("-!+@")
