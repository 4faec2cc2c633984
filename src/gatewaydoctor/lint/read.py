"""Read unit files, supervisor programs and nginx configurations into what the checks read,
with every setting's file:line.

nginx files go through the parse layer (`parse.nginx_config.read_config`, crossplane) in
`nginx -T` form, so lint and diagnose read a configuration the same way; a file that is only
a `server {}` (a site) is read as nginx reads it, inside `http {}`, and a file of locations
inside `server {}`. Syntax and argument errors are crossplane's, with nginx's own wording.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence

from ..errors import UsageError
from ..formats import execspec
from ..formats.nginx import FILE_MARK, tree
from ..i18n import _
from .model import NginxError, ServiceFile, Setting

MAX_BYTES = 1 << 20
_SECTION_RE = re.compile(r"^\[([^\]]+)\]\s*$")
# Directives that live in the http context (a site file) and in server (a snippet).
HTTP_LEVEL = frozenset({"server", "upstream", "map", "geo", "limit_req_zone",
                        "limit_conn_zone", "proxy_cache_path", "split_clients"})
MAIN_LEVEL = frozenset({"http", "events", "stream", "mail", "worker_processes", "user", "pid",
                        "load_module", "env", "daemon", "master_process", "worker_rlimit_nofile",
                        "pcre_jit", "thread_pool", "lock_file", "working_directory"})
# crossplane's message ends with where: `... in /etc/nginx/site.conf:12`.
_WHERE_RE = re.compile(r" in (\S+):(\d+)$")


def read_text(path: str) -> str:
    """A file's text; UsageError naming it when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(MAX_BYTES)
    except OSError as exc:
        raise UsageError(_("cannot read {path}: {error}").format(
            path=path, error=exc.strerror or exc)) from None


def kind_of(path: str, text: str) -> str:
    """`unit`, `dropin`, `supervisor`, `nginx` or `other` (an ini file of another program),
    from the name and the sections."""
    sections = {m.group(1).strip() for m in map(_SECTION_RE.match, text.splitlines()) if m}
    if any(s.startswith(("program:", "fcgi-program:")) for s in sections):
        return "supervisor"
    if os.path.basename(os.path.dirname(os.path.abspath(path))).endswith(".service.d"):
        return "dropin"
    if path.endswith(".service") or {"Service", "Unit", "Install"} & sections:
        return "unit"
    # An ini file of another program (uwsgi's, supervisord's own settings): nothing to read.
    return "other" if sections and not re.search(r"[{};]\s*$", text, re.M) else "nginx"


def ini(text: str, file: str, systemd: bool) -> Iterator[tuple[str | None, Setting]]:
    """(section, setting) of each assignment of a unit file (`\\` continues a line) or of a
    supervisor ini (an indented line continues the value; `;`/`#` start comments)."""
    section: str | None = None
    pending: tuple[str, list[str], int] | None = None
    for n, raw in enumerate([*text.splitlines(), ""], 1):
        if pending is not None:
            if _continues(pending[1], raw, systemd):
                pending[1].append(raw.rstrip("\\").strip() if systemd else raw.strip())
                continue
            yield section, Setting(pending[0], _joined(pending[1], systemd), file, pending[2])
            pending = None
        line = raw.strip()
        m = _SECTION_RE.match(line)
        if m:
            section = m.group(1).strip()
        elif line and not line.startswith(("#", ";")) and "=" in line:
            key, _sep, value = line.partition("=")
            pending = (key.strip(), [value.strip()], n)


def _continues(parts: list[str], raw: str, systemd: bool) -> bool:
    """Whether raw continues the value: systemd's trailing `\\`, an ini's indented line."""
    if systemd:
        return parts[-1].endswith("\\")
    return raw[:1] in (" ", "\t") and bool(raw.strip())


def _joined(parts: list[str], systemd: bool) -> str:
    if systemd:
        return " ".join(p.rstrip("\\").strip() for p in parts).strip()
    first = re.split(r"\s+[;#]", parts[0], maxsplit=1)[0]  # supervisor's inline comments
    return " ".join([first, *parts[1:]]).strip()


def section_line(text: str, section: str) -> int:
    """The line of a `[section]` header (1 when there is none)."""
    for n, raw in enumerate(text.splitlines(), 1):
        m = _SECTION_RE.match(raw.strip())
        if m and m.group(1).strip() == section:
            return n
    return 1


def unit(path: str, text: str, dropins: Sequence[tuple[str, str]] = (),
         name: str | None = None) -> ServiceFile:
    """A systemd unit: its [Service] settings, then its drop-ins' (applied in order)."""
    settings = [s for f, t in ((path, text), *dropins) for sec, s in ini(t, f, True)
                if sec == "Service"]
    return ServiceFile("systemd", name or os.path.basename(path), path,
                       section_line(text, "Service"), tuple(settings))


def programs(path: str, text: str) -> list[ServiceFile]:
    """Each `[program:x]` of a supervisor file (`%(here)s` and `%(program_name)s` expanded)."""
    here = os.path.dirname(os.path.abspath(path))
    by_section: dict[str, list[Setting]] = {}
    for sec, s in ini(text, path, False):
        if sec and sec.startswith(("program:", "fcgi-program:")):
            name = sec.split(":", 1)[1]
            value = (s.value.replace("%(here)s", here).replace("%(program_name)s", name)
                     .replace("%(process_num)d", "0").replace("%(process_num)02d", "00"))
            by_section.setdefault(sec, []).append(Setting(s.key, value, s.file, s.line))
    return [ServiceFile("supervisor", sec.split(":", 1)[1], path, section_line(text, sec),
                        tuple(found)) for sec, found in by_section.items()]


def with_ini(service: ServiceFile, offline: bool) -> ServiceFile:
    """uwsgi's options from the ini files its command loads (`--ini app.ini`), where they
    can be read: its socket and harakiri are written there as often as on the command."""
    if offline or service.server != "uwsgi":
        return service
    workdir = service.get("workdir")
    base = workdir.value.lstrip("-") if workdir else os.path.dirname(service.file)
    extra: list[str] = []
    for conf in execspec.uwsgi_config_files(service.argv):
        full = conf if conf.startswith("/") else os.path.join(base, conf)
        if conf.endswith(".ini") and os.path.isfile(full):
            extra += execspec.uwsgi_ini_args(read_text(full))
    return ServiceFile(service.manager, service.name, service.file, service.line,
                       service.settings, tuple(extra))


def context_of(text: str) -> str:
    """What a file is written for: `main` (nginx.conf), `http` (a site), `server` (a file of
    locations) or `fragment` (directives an include puts who knows where: a snippet),
    from its top-level directives."""
    top = {d["directive"] for d in tree(text)}
    if top & MAIN_LEVEL or not top:
        return "main"
    if top & HTTP_LEVEL:
        return "http"
    return "server" if "location" in top else "fragment"


# How a site or a snippet is wrapped to be read in its context (one line each).
WRAPS = {"main": ("", ""), "http": ("http {", "}"), "server": ("http { server {", "} }"),
         "fragment": ("", "")}


def nginx_dump(path: str, text: str) -> str:
    """The file in `nginx -T` form, inside the context a site or a snippet is written for
    (an include in a file of its own, so its lines stay its own), for the parse layer."""
    body = f"{FILE_MARK}{path}:\n{text}\n"
    context = context_of(text)
    if context in ("main", "fragment"):
        return body
    head, tail = WRAPS[context]
    return f"{FILE_MARK}<lint>:\n{head} include {_quoted(path)}; {tail}\n{body}"


def _quoted(path: str) -> str:
    return f'"{path}"' if re.search(r"[\s;{}]", path) else path


def nginx_errors(path: str, text: str) -> list[NginxError]:
    """What crossplane rejects in one file (syntax, a directive where nginx does not allow
    it, a wrong number of arguments), read in the context the file is written for."""
    import tempfile

    import crossplane  # type: ignore[import-untyped]

    context = context_of(text)
    head, tail = WRAPS[context]
    shift = 1 if head else 0
    lines = text.count("\n") + 1
    with tempfile.TemporaryDirectory(prefix="gatewaydoctor-lint-") as tmp:
        local = os.path.join(tmp, "file.conf")
        with open(local, "w", encoding="utf-8") as fh:
            fh.write(f"{head}\n{text}\n{tail}\n" if head else text)
        try:
            result = crossplane.parse(local, single=True, catch_errors=True,
                                      check_ctx=context != "fragment",
                                      check_args=True, comments=False)
        except Exception as exc:  # noqa: BLE001 - crossplane's own bugs must not stop lint
            return [NginxError(path, 1, f"{type(exc).__name__}: {exc}")]
    out = []
    for err in result.get("errors", ()):
        message = _WHERE_RE.sub("", str(err.get("error") or "")).replace(local, path) or \
            "crossplane cannot read the file as nginx configuration"
        line = min(max(int(err.get("line") or 1) - shift, 1), lines)
        out.append(NginxError(path, line, message))
    return out


def opaque_blocks(path: str, text: str, known: Sequence[str]) -> set[tuple[str, int]]:
    """(path, line) of each server and location block of the file that includes a file
    not among those given (`include proxy_params;`): what it sets is unknown to lint."""
    import fnmatch

    out: set[tuple[str, int]] = set()

    def walk(block: list[dict[str, object]], owners: tuple[int, ...]) -> None:
        for d in block:
            name, args = d["directive"], d.get("args") or []
            if name == "include" and isinstance(args, list) and args and not any(
                    fnmatch.fnmatchcase(k, args[0]) or k.endswith("/" + str(args[0]))
                    for k in known):
                out.update((path, line) for line in owners)
            inner = d.get("block")
            if isinstance(inner, list):
                mine = (int(str(d.get("line", 0))),) if name in ("server", "location") else ()
                walk(inner, owners + mine)

    walk(tree(text), ())
    return out
