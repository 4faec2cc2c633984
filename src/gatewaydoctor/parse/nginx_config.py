"""nginx configuration from the `nginx -T` dump, read with crossplane.

Each `# configuration file <path>:` section is written into a temporary tree and
parsed on its own by crossplane (includes are resolved against the dump, never
against this machine's files). A file crossplane rejects (a Lua block its lexer
cannot follow, a `*_by_lua_block` directive newer than it) is read by the tolerant,
Lua-aware reader of formats/nginx.py instead, and the config records that it was.
"""

from __future__ import annotations

import os
import re
import shlex
import tempfile
from collections.abc import Iterator, Mapping
from typing import Any, Dict

import crossplane  # type: ignore[import-untyped]

from ..evidence import Item
from ..facts import (
    HANDLER_KINDS,
    NOT_INHERITED,
    SCRIPT,
    Endpoint,
    FileStamp,
    IfBlock,
    Listen,
    Location,
    NginxConfig,
    NginxControl,
    NginxDirective,
    NginxMaster,
    NginxMessage,
    NginxProcess,
    NginxRuntime,
    NginxTest,
    NginxUser,
    PathStat,
    Process,
    ServerBlock,
    Service,
    UpstreamGroup,
)
from ..formats.nginx import LUA_BLOCK_RE, children, proxy_endpoints, split_dump, tree

Directive = Dict[str, Any]
# Simple directives a rule may ask for, kept with their file:line.
SIMPLE_SKIP = frozenset({"include", "location", "server", "upstream", "if", "limit_except"})


def _parse_files(files: list[tuple[str, str]]) -> tuple[dict[str, list[Directive]], list[str],
                                                         list[str]]:
    """Parse every dumped file; return trees by path, crossplane errors, tolerant-read files."""
    trees: dict[str, list[Directive]] = {}
    errors: list[str] = []
    tolerant: list[str] = []
    with tempfile.TemporaryDirectory(prefix="gatewaydoctor-nginx-") as tmp:
        for n, (path, content) in enumerate(files):
            local = os.path.join(tmp, f"{n}.conf")
            with open(local, "w", encoding="utf-8") as fh:
                fh.write(content)
            try:
                result = crossplane.parse(
                    local, single=True, catch_errors=True, check_ctx=False, check_args=False
                )
            except Exception as exc:  # noqa: BLE001 - crossplane's own bugs must not stop us
                result = {"status": "failed", "errors": [{"error": f"{type(exc).__name__}: "
                                                                   f"{exc}"}]}
            if result["status"] == "ok":
                parsed = result["config"][0]["parsed"]
                misread = _misread_lua(parsed)
                if misread is None:
                    trees[path] = parsed
                    continue
                # crossplane "succeeded" but read Lua as nginx syntax, swallowing what follows.
                result = {"status": "failed", "errors": [{"error": (
                    f"crossplane does not know {misread['directive']} and read its Lua code "
                    f"as nginx directives in {path}:{misread['line']}")}]}
            for err in result["errors"]:
                text = str(err.get("error", "")).replace(local, path)
                errors.append(text)
            trees[path] = tree(content)
            tolerant.append(path)
    return trees, errors, tolerant


def _misread_lua(tree: list[Directive]) -> Directive | None:
    """A `*_by_lua_block` that crossplane parsed as an nginx block instead of Lua code."""
    for d in tree:
        if "block" in d:
            if LUA_BLOCK_RE.search(d["directive"]):
                return d
            found = _misread_lua(d["block"])
            if found is not None:
                return found
    return None


def _simple(trees: dict[str, list[Directive]], file: str, block: list[Directive], main: str,
            context: str) -> tuple[NginxDirective, ...]:
    """The simple (non-block) directives of a block, includes expanded."""
    return tuple(
        NginxDirective(d["directive"], tuple(str(a) for a in d["args"]), f, int(d.get("line", 0)),
                       context)
        for f, d in children(trees, file, block, main)
        if "block" not in d and d["directive"] not in SIMPLE_SKIP
    )


def _listen(args: list[str], where: str = "") -> Listen:
    raw = " ".join(args)
    ep = Endpoint.parse(args[0]) if args else Endpoint(host="*", port=80)
    return Listen(endpoint=ep, ssl="ssl" in args[1:],
                  default_server=bool({"default_server", "default"} & set(args[1:])), raw=raw,
                  where=where)


def _location_args(args: list[str]) -> tuple[str, str]:
    """(modifier, path) of `location [modifier] path`."""
    if len(args) > 1:
        return args[0], args[1]
    return "", args[0] if args else ""


def _proxy(own: tuple[NginxDirective, ...], groups: dict[str, list[str]]
           ) -> tuple[str | None, str | None, tuple[Endpoint, ...]]:
    """(proxy_pass or uwsgi_pass, the upstream group it names, the endpoints it reaches) of a
    block."""
    d = next((c for c in own if c.name in ("proxy_pass", "uwsgi_pass") and c.args), None)
    if d is None or not d.args[0]:
        return None, None, ()
    proxy = d.args[0]
    # uwsgi_pass takes an address as it is (or uwsgi://, suwsgi://), no http:// part.
    url = proxy if d.name == "proxy_pass" else "http://" + re.sub(r"^s?uwsgi://", "", proxy)
    m = re.match(r"https?://([^/:]+)", url)
    group = m.group(1) if m and m.group(1) in groups else None
    return proxy, group, tuple(Endpoint.parse(e) for e in proxy_endpoints(url, groups))


def _inherit(inherited: tuple[NginxDirective, ...], own: tuple[NginxDirective, ...]
             ) -> tuple[NginxDirective, ...]:
    """A nested location inherits what its parent location sets (handlers, try_files,
    internal and the rewrite script excepted: nginx does not merge those)."""
    names = {c.name for c in own}
    return tuple(c for c in inherited if c.name not in names
                 and c.name not in NOT_INHERITED) + own


def _script(trees: dict[str, list[Directive]], file: str, block: list[Directive], main: str,
            context: str) -> tuple[NginxDirective | IfBlock, ...]:
    """The rewrite-phase directives of a block in order, `if` blocks with their bodies."""
    out: list[NginxDirective | IfBlock] = []
    for f, d in children(trees, file, block, main):
        args = tuple(str(a) for a in d.get("args", ()))
        if d["directive"] == "if":
            out.append(IfBlock(args, f, int(d.get("line", 0)),
                               _simple(trees, f, d.get("block", []), main, "if")))
        elif d["directive"] in SCRIPT:
            out.append(NginxDirective(d["directive"], args, f, int(d.get("line", 0)), context))
    return tuple(out)


def _location(trees: dict[str, list[Directive]], f: str, d: Directive, main: str,
              groups: dict[str, list[str]], inherited: tuple[NginxDirective, ...],
              depth: int) -> Location:
    """One location block with the locations nested in it."""
    modifier, path = _location_args(d["args"])
    inner = d.get("block", [])
    own = _simple(trees, f, inner, main, "location")
    proxy, group, endpoints = _proxy(own, groups)
    directives = _inherit(inherited, own)
    nested = tuple(_location(trees, cf, c, main, groups, directives, depth + 1)
                   for cf, c in children(trees, f, inner, main) if c["directive"] == "location")
    return Location(path=path, modifier=modifier, proxy_pass=proxy, endpoints=endpoints,
                    upstream_group=group, file=f, line=int(d.get("line", 0)),
                    directives=directives, depth=depth, nested=nested,
                    script=_script(trees, f, inner, main, "location"),
                    handler=next((c for c in own if c.name in HANDLER_KINDS), None))


def _flatten(loc: Location) -> Iterator[Location]:
    """A location, then every location nested in it, depth first."""
    yield loc
    for n in loc.nested:
        yield from _flatten(n)


def _locations(
    trees: dict[str, list[Directive]], file: str, block: list[Directive], main: str,
    groups: dict[str, list[str]], inherited: tuple[NginxDirective, ...],
) -> Iterator[Location]:
    """Every location of a server block, each followed by those nested in it."""
    for f, d in children(trees, file, block, main):
        if d["directive"] == "location":
            yield from _flatten(_location(trees, f, d, main, groups, inherited, 0))


def _globals(trees: dict[str, list[Directive]], main: str, top: list[tuple[str, Directive]],
             http_blocks: list[tuple[str, Directive]]) -> tuple[NginxDirective, ...]:
    """The simple directives of the main, events and http contexts, in that order."""
    found = list(_simple(trees, main, trees[main], main, "main"))
    for f, d in top:
        if d["directive"] == "events":
            found += _simple(trees, f, d.get("block", []), main, "events")
    for f, http in http_blocks:
        found += _simple(trees, f, http.get("block", []), main, "http")
    return tuple(found)


def _upstream(trees: dict[str, list[Directive]], main: str, file: str,
              d: Directive) -> UpstreamGroup:
    servers = tuple(Endpoint.parse(c["args"][0])
                    for _f, c in children(trees, file, d.get("block", []), main)
                    if c["directive"] == "server" and c["args"])
    return UpstreamGroup(d["args"][0], servers, file, int(d["line"]))


def _http_contents(trees: dict[str, list[Directive]], main: str,
                   http_blocks: list[tuple[str, Directive]]
                   ) -> tuple[list[UpstreamGroup], list[tuple[str, Directive]]]:
    """The upstream groups and the server blocks (with their files) of the http blocks."""
    upstreams: list[UpstreamGroup] = []
    servers: list[tuple[str, Directive]] = []
    for f, http in http_blocks:
        for cf, d in children(trees, f, http.get("block", []), main):
            if d["directive"] == "upstream" and d["args"]:
                upstreams.append(_upstream(trees, main, cf, d))
            elif d["directive"] == "server":
                servers.append((cf, d))
    return upstreams, servers


def _server_block(trees: dict[str, list[Directive]], main: str, f: str, d: Directive,
                  groups: dict[str, list[str]]) -> ServerBlock:
    inner = d.get("block", [])
    own = _simple(trees, f, inner, main, "server")
    listens = tuple(_listen(list(c.args), c.where) for c in own if c.name == "listen")
    names = tuple(a for c in own if c.name == "server_name" for a in c.args)
    locs = list(_locations(trees, f, inner, main, groups, ()))
    direct, _group, endpoints = _proxy(own, groups)
    if direct:  # proxy_pass in the server block itself: a location of its own, first
        locs.insert(0, Location("", "", direct, endpoints, None, f, int(d["line"])))
    return ServerBlock(f, int(d["line"]), listens, names, tuple(locs), own,
                       _script(trees, f, inner, main, "server"))


def _log_paths(trees: dict[str, list[Directive]]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(error logs, access logs) every file names by absolute path."""
    logs: dict[str, list[str]] = {"error_log": [], "access_log": []}
    for f in trees:
        for d in _all(trees[f]):
            if d["directive"] in logs and d["args"] and d["args"][0].startswith("/"):
                logs[d["directive"]].append(d["args"][0])
    return (tuple(dict.fromkeys(logs["error_log"])), tuple(dict.fromkeys(logs["access_log"])))


def read_config(text: str, how: str) -> NginxConfig:
    """Read a dump in `nginx -T` format into servers, locations and upstream groups."""
    files = split_dump(text)
    if not files:
        return NginxConfig(parser="none", note=f"{how}: no configuration file in the output",
                           files=(), servers=(), upstreams=(), error_logs=(), access_logs=())
    trees, errors, tolerant = _parse_files(files)
    main = files[0][0]
    top = list(children(trees, main, trees[main], main, frozenset({main})))
    http_blocks = [(f, d) for f, d in top if d["directive"] == "http"]
    upstreams, server_dirs = _http_contents(trees, main, http_blocks)
    groups = {u.name: [s.label for s in u.servers] for u in upstreams}
    error_logs, access_logs = _log_paths(trees)
    note = how
    if tolerant:
        note += (f"; crossplane rejected {', '.join(tolerant)} ({errors[0] if errors else '?'}),"
                 " read by the tolerant reader")
    return NginxConfig(parser="crossplane+tolerant" if tolerant else "crossplane", note=note,
                       files=tuple(trees),
                       servers=tuple(_server_block(trees, main, f, d, groups)
                                     for f, d in server_dirs),
                       upstreams=tuple(upstreams), error_logs=error_logs,
                       access_logs=access_logs, errors=tuple(errors),
                       globals=_globals(trees, main, top, http_blocks))


def _all(block: list[Directive]) -> list[Directive]:
    """Flatten a tree (includes not followed: every file is flattened on its own)."""
    out: list[Directive] = []
    for d in block:
        if d["directive"] == "include":
            continue
        out.append(d)
        out.extend(_all(d.get("block", [])))
    return out


def config_from(dump: Item | None, files: Item | None) -> NginxConfig | None:
    """Read the config from `nginx -T`, or from the files on disk when -T failed."""
    if dump is not None and dump.rc == 0 and dump.stdout:
        return read_config(dump.stdout, "read from nginx -T")
    if files is not None and files.stdout:
        return read_config(files.stdout, "read from the files on disk (nginx -T failed)")
    return None


def control_from(dump: Item | None, processes: tuple[Process, ...] | None,
                 units: tuple[Service, ...] | None) -> NginxControl | None:
    """How nginx is run: the argv -T ran with (the running master's binary and flags, or
    the unit's that would start it), and the unit of the running master (or that unit; or,
    when neither is known, the packaged nginx.service if there is one)."""
    if dump is None or not dump.argv:
        return None
    argv = tuple(dump.argv[:-1] if dump.argv[-1] in ("-T", "-t") else dump.argv)
    inside = None
    if argv and argv[0].rpartition("/")[2] == "nsenter" and "--" in argv:
        # -T ran in a container's mount namespace: `nsenter -t PID -m -- nginx ...`.
        at = argv.index("--")
        inside, argv = shlex.join(("nsenter", *argv[1:at + 1])), argv[at + 1:]
    master = (dump.data or {}).get("master") or {}
    unit = master.get("unit") if isinstance(master.get("unit"), str) else None
    running = [p for p in processes or () if p.command.startswith("nginx: master process")]
    pid = master.get("pid")
    # The master -T ran for, whatever its title (one found by its sockets says otherwise);
    # the first titled master only for evidence that does not say which.
    proc = next((p for p in processes or () if p.pid == pid), None) if pid is not None \
        else running[0] if running else None
    if proc is not None:
        unit = proc.unit if proc.unit and proc.unit.endswith(".service") else None
    if unit is not None:
        unit = _without_service(unit)
    elif not master and proc is None and \
            any(_without_service(u.name) == "nginx" for u in units or ()):
        unit = "nginx"  # evidence from before the agent said which nginx it read
    return NginxControl(argv=argv, unit=unit, source=dump.label(),
                        pid=proc.pid if proc is not None else None, inside=inside)


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _master(m: dict[str, Any], item: Item | None, serving: bool, why: object) -> NginxMaster:
    """One master as an item's data records it (the agent's nginxscan.summary)."""
    def text(key: str) -> str | None:
        return str(m[key]) if isinstance(m.get(key), (str, int)) else None

    argv = tuple(a for a in item.argv or () if a != "-T") if item is not None and item.argv \
        else tuple(a for a in (text("path"),) if a)
    if "--" in argv:  # run in a container's mount namespace: nsenter -t PID -m -- nginx ...
        argv = argv[argv.index("--") + 1:]
    pid = m.get("pid")
    return NginxMaster(pid=pid if isinstance(pid, int) else None, argv=argv, conf=text("conf"),
                       ports=_strs(m.get("ports")), found_by=text("found_by"), serving=serving,
                       why=str(why) if serving and isinstance(why, str) else None,
                       source=item.source if item is not None else None,
                       dump_ok=(item.rc == 0) if item is not None and item.rc is not None
                       else None)


def masters_from(dump: Item | None, items: Mapping[str, Item]) -> tuple[NginxMaster, ...]:
    """Every running master the agent found: the serving one (whose `nginx -T` is `dump`)
    first, then the others with their own dumps (`nginx.dump:<pid>`)."""
    data = (dump.data or {}) if dump is not None else {}
    main = data.get("master")
    if not isinstance(main, dict):
        return ()
    out = [_master(main, dump, True, data.get("serving"))]
    for other in data.get("others") or ():
        if isinstance(other, dict):
            key = other.get("source")
            out.append(_master(other, items.get(key) if isinstance(key, str) else None,
                               False, None))
    return tuple(out)


_TEST_RE = re.compile(
    r"\[(emerg|alert|crit|error|warn|notice|info|debug)\] (?:\d+#\d+: )?(.*?)(?: in (\S+):(\d+))?$"
)


def read_test(item: Item) -> NginxTest:
    """Read `nginx -t` output (stderr) into messages with file:line."""
    messages = []
    for raw in (item.stderr or "").splitlines():
        m = _TEST_RE.search(raw)
        if m:
            messages.append(NginxMessage(level=m.group(1), text=m.group(2), file=m.group(3),
                                         line=int(m.group(4)) if m.group(4) else None, raw=raw))
    ok = item.rc == 0 or _only_privilege_errors(item.stderr or "", messages)
    return NginxTest(ok=ok, rc=item.rc, messages=tuple(messages), source=item.label())


def _only_privilege_errors(stderr: str, messages: list[NginxMessage]) -> bool:
    """`nginx -t` run as a user: the syntax is fine, only the pid/log files were refused."""
    emerg = [m for m in messages if m.level in ("emerg", "alert", "crit")]
    return ("syntax is ok" in stderr and bool(emerg)
            and all("(13: Permission denied)" in m.text and m.file is None for m in emerg))


def _process(p: dict[str, Any]) -> NginxProcess:
    return NginxProcess(pid=int(p["pid"]), ppid=p.get("ppid"), role=str(p.get("role", "other")),
                        start_time=p.get("start_time"), uid=p.get("uid"), gid=p.get("gid"),
                        groups=tuple(p.get("groups") or ()))


def _stamp(f: dict[str, Any]) -> FileStamp:
    """A config file and when it last changed (the file or the symlink to it, the later)."""
    return FileStamp(path=str(f["path"]), error=f.get("error"),
                     mtime=max((t for t in (f.get("mtime"), f.get("lmtime")) if t is not None),
                               default=None))


def _user(u: dict[str, Any] | None) -> NginxUser | None:
    if not u:
        return None
    return NginxUser(name=str(u.get("name", "")), uid=u.get("uid"), gid=u.get("gid"),
                     groups=tuple(u.get("groups") or ()), configured=bool(u.get("configured")),
                     error=u.get("error"))


def _chain(s: dict[str, Any]) -> tuple[PathStat, ...]:
    """Owner and mode of a unix socket and of every directory above it."""
    return tuple(
        PathStat(path=str(c["path"]), kind=c.get("type"), mode=c.get("mode"), uid=c.get("uid"),
                 gid=c.get("gid"), owner=c.get("owner"), group=c.get("group"),
                 error=c.get("error"))
        for c in s.get("chain") or ())


def runtime_from(item: Item) -> NginxRuntime | None:
    """Read the agent's `nginx.runtime` item."""
    d = item.data
    if not d:
        return None
    return NginxRuntime(
        source=item.source, now=d.get("now"),
        processes=tuple(map(_process, d.get("processes") or ())),
        files=tuple(map(_stamp, d.get("files") or ())), user=_user(d.get("user")),
        sockets={str(s["socket"]): _chain(s) for s in d.get("sockets") or ()})


def _without_service(name: str) -> str:
    return name[:-len(".service")] if name.endswith(".service") else name
