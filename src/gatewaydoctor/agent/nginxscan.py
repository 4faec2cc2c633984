"""A tolerant reading of `nginx -T` output, and what the running nginx looks like.

The parse layer reads the dump with crossplane; this module is the standard-library
fallback it uses for files crossplane rejects (Lua blocks it cannot lex, `*_by_lua_block`
directives newer than it), and what the agent uses to know which logs to tail and what
to probe. It never has to be exact, only never to give up.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import time
from collections.abc import Iterator
from typing import Any

from .runner import Item, new_item

FILE_MARK = "# configuration file "
# Every `*_by_lua_block` holds Lua, not nginx syntax (openresty adds new ones over time).
LUA_BLOCK_RE = re.compile(r"_by_lua_block$")
_LONG_OPEN_RE = re.compile(r"\[(=*)\[")
_SPECIAL = "{};"

Directive = dict[str, Any]
Token = tuple[str, int, bool]


def split_dump(text: str) -> list[tuple[str, str]]:
    """Split `nginx -T` stdout into (path, content) pairs."""
    files: list[tuple[str, str]] = []
    path: str | None = None
    lines: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith(FILE_MARK) and line.rstrip().endswith(":"):
            if path is not None:
                files.append((path, "".join(lines)))
            path = line[len(FILE_MARK):].rstrip()[:-1]
            lines = []
        elif path is not None:
            lines.append(line)
    if path is not None:
        files.append((path, "".join(lines)))
    return files


def _lua_body(text: str, i: int) -> tuple[str, int]:
    """Return the Lua code from i up to its closing `}` and the index after that brace.

    Lua strings (with escapes), long strings `[==[ ]==]` and comments may hold braces;
    an unclosed block runs to the end of the text.
    """
    n, depth, start = len(text), 1, i
    while i < n:
        c = text[i]
        if c in "\"'":
            i += 1
            while i < n and text[i] != c and text[i] != "\n":
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if c == "-" and text.startswith("--", i):
            m = _LONG_OPEN_RE.match(text, i + 2)
            if m:
                end = text.find(f"]{m.group(1)}]", m.end())
                i = n if end < 0 else end + len(m.group(1)) + 2
            else:
                end = text.find("\n", i)
                i = n if end < 0 else end
            continue
        if c == "[":
            m = _LONG_OPEN_RE.match(text, i)
            if m:
                end = text.find(f"]{m.group(1)}]", m.end())
                i = n if end < 0 else end + len(m.group(1)) + 2
                continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[start:i], i + 1
        i += 1
    return text[start:], n


def lex(text: str) -> Iterator[Token]:
    """Yield (token, line, quoted) like crossplane's lexer, but never raise."""
    i, n, line = 0, len(text), 1
    stmt: list[str] = []
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c.isspace():
            i += 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif c in _SPECIAL:
            lua = bool(stmt) and LUA_BLOCK_RE.search(stmt[0]) is not None
            if c == "{" and lua:
                body, i2 = _lua_body(text, i + 1)
                yield body, line, True
                line += text.count("\n", i, i2)
                yield ";", line, False
                i = i2
            else:
                yield c, line, False
                i += 1
            stmt = []
        elif c in "\"'":
            j, buf, start_line = i + 1, [], line
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n and text[j + 1] in (c, "\\"):
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if text[j] == "\n":
                    line += 1
                buf.append(text[j])
                j += 1
            token = "".join(buf)
            stmt.append(token)
            yield token, start_line, True
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in _SPECIAL:
                if text[j] == "$" and j + 1 < n and text[j + 1] == "{":
                    close = text.find("}", j)
                    j = n if close < 0 else close + 1
                    continue
                j += 1
            token = text[i:j]
            stmt.append(token)
            yield token, line, False
            i = j


def tree(text: str) -> list[Directive]:
    """Build a crossplane-shaped directive tree; close what is unclosed, skip a stray `}`."""
    root: list[Directive] = []
    stack: list[list[Directive]] = [root]
    words: list[str] = []
    line = 0
    for token, tline, quoted in lex(text):
        if not words:
            line = tline
        if token == ";" and not quoted:
            if words:
                stack[-1].append({"directive": words[0], "args": words[1:], "line": line})
            words = []
        elif token == "{" and not quoted:
            block: list[Directive] = []
            if words:
                stack[-1].append(
                    {"directive": words[0], "args": words[1:], "line": line, "block": block})
            stack.append(block)
            words = []
        elif token == "}" and not quoted:
            if len(stack) > 1:
                stack.pop()
            words = []
        else:
            words.append(token)
    return root


def expand(pattern: str, main: str, paths: list[str]) -> list[str]:
    """The dumped files an `include` pattern names (relative to the main file's directory)."""
    import fnmatch

    if not pattern.startswith("/"):
        pattern = os.path.join(os.path.dirname(main), pattern)
    return sorted(p for p in paths if fnmatch.fnmatchcase(p, pattern))


def children(trees: dict[str, list[Directive]], file: str, block: list[Directive], main: str,
             seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, Directive]]:
    """Yield a block's directives with includes expanded in place, with the file of each."""
    for d in block:
        if d["directive"] == "include" and d["args"]:
            for inc in expand(d["args"][0], main, list(trees)):
                if inc not in seen:
                    yield from children(trees, inc, trees[inc], main, seen | {inc})
        else:
            yield file, d


def _scan_locations(trees: dict[str, list[Directive]], file: str, block: list[Directive],
                    main: str, out: list[dict[str, Any]]) -> None:
    for f, d in children(trees, file, block, main):
        if d["directive"] == "location":
            inner = d.get("block", [])
            proxy = next((c["args"][0] for _f, c in children(trees, f, inner, main)
                          if c["directive"] == "proxy_pass" and c["args"]), None)
            out.append({"path": " ".join(d["args"]), "proxy_pass": proxy})
            _scan_locations(trees, f, inner, main, out)


def scan(dump: str) -> dict[str, Any]:
    """Return servers (listen, server_name, locations with proxy_pass), upstreams, log paths."""
    files = split_dump(dump) or [("", dump)]
    trees = {path: tree(content) for path, content in files}
    main = files[0][0]
    servers: list[dict[str, Any]] = []
    upstreams: dict[str, list[str]] = {}
    user: list[str] = []

    def visit(file: str, block: list[Directive], ctx: tuple[str, ...]) -> None:
        for f, d in children(trees, file, block, main, frozenset({main})):
            name, inner = d["directive"], d.get("block")
            if name == "user" and not ctx and d["args"]:
                user[:] = d["args"]
            if inner is None:
                continue
            if name == "upstream" and d["args"]:
                upstreams[d["args"][0]] = [c["args"][0] for _f, c in children(trees, f, inner, main)
                                           if c["directive"] == "server" and c["args"]]
            elif name == "server" and ctx and ctx[-1] == "http":
                kids = list(children(trees, f, inner, main))
                server: dict[str, Any] = {
                    "listen": [" ".join(c["args"]) for _f, c in kids
                               if c["directive"] == "listen" and c["args"]],
                    "server_name": [a for _f, c in kids if c["directive"] == "server_name"
                                    for a in c["args"]],
                    "locations": [],
                }
                direct = next((c["args"][0] for _f, c in kids
                               if c["directive"] == "proxy_pass" and c["args"]), None)
                if direct:
                    server["locations"].append({"path": "", "proxy_pass": direct})
                _scan_locations(trees, f, inner, main, server["locations"])
                servers.append(server)
            else:
                visit(f, inner, (*ctx, name))

    visit(main, trees[main], ())
    error_logs: list[str] = []
    access_logs: list[str] = []
    for content in trees.values():
        for d in _flatten(content):
            if d["directive"] == "error_log" and d["args"]:
                error_logs.append(d["args"][0])
            elif d["directive"] == "access_log" and d["args"]:
                access_logs.append(d["args"][0])
    return {
        "servers": servers,
        "upstreams": upstreams,
        "error_logs": _dedupe(error_logs),
        "access_logs": _dedupe(access_logs),
        "user": user,
    }


def _flatten(block: list[Directive]) -> Iterator[Directive]:
    for d in block:
        yield d
        yield from _flatten(d.get("block") or [])


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def proxy_endpoints(target: str, upstreams: dict[str, list[str]]) -> list[str]:
    """Resolve a proxy_pass URL to `host:port` / `unix:/path` endpoints, expanding upstreams."""
    m = re.match(r"(https?)://(unix:[^:]+|\[[^\]]+\](?::\d+)?|[^/:$]+(?::\d+)?)", target)
    if not m:
        return []
    scheme, hostpart = m.groups()
    if hostpart.startswith("unix:"):
        return [hostpart]
    name = hostpart.split(":")[0] if not hostpart.startswith("[") else hostpart
    if name in upstreams:
        return [s if s.startswith("unix:") or ":" in s.lstrip("[") else s + ":80"
                for s in upstreams[name]]
    if ":" in hostpart.lstrip("[").split("]")[-1] or hostpart.rsplit(":", 1)[-1].isdigit():
        return [hostpart]
    return [hostpart + (":443" if scheme == "https" else ":80")]


def read_config_files(main: str, *, max_files: int = 200, max_bytes: int = 1 << 20) -> str:
    """Read main and the files it includes into `nginx -T` format (used when -T fails)."""
    out: list[str] = []
    seen: set[str] = set()
    queue = [main]
    while queue and len(seen) < max_files:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                content = fh.read(max_bytes)
        except OSError:
            continue
        out.append(f"{FILE_MARK}{path}:\n{content}\n")
        for d in _flatten(tree(content)):
            if d["directive"] == "include" and d["args"]:
                pattern = d["args"][0]
                if not pattern.startswith("/"):
                    pattern = os.path.join(os.path.dirname(main), pattern)
                queue.extend(sorted(glob.glob(pattern)))
    return "".join(out)


def conf_path(version_text: str) -> str:
    """Return the --conf-path from `nginx -V` output, or the usual default."""
    m = re.search(r"--conf-path=(\S+)", version_text)
    return m.group(1) if m else "/etc/nginx/nginx.conf"


# --- the running nginx: processes, when they started, and the files they were started from

def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(65536)
    except OSError:
        return None


def _boot_time() -> float | None:
    """Boot time to the hundredth of a second (/proc/stat's btime is whole seconds)."""
    uptime = _read("/proc/uptime")
    if not uptime:
        return None
    return time.time() - float(uptime.split()[0])


def _nginx_processes() -> tuple[list[dict[str, Any]], str | None]:
    btime = _boot_time()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError as exc:
        return [], f"cannot list /proc: {exc.strerror}"
    out: list[dict[str, Any]] = []
    for pid in pids:
        stat = _read(f"/proc/{pid}/stat")
        if not stat:
            continue
        head, _, tail = stat.rpartition(")")
        if head.partition("(")[2] != "nginx":
            continue
        fields = tail.split()
        cmdline = (_read(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()
        ids: dict[str, list[int]] = {}
        for line in (_read(f"/proc/{pid}/status") or "").splitlines():
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                ids[key] = [int(v) for v in value.split() if v.isdigit()]
        start = int(fields[19]) if len(fields) > 19 else None
        out.append({
            "pid": int(pid),
            "ppid": int(fields[1]) if len(fields) > 1 else None,
            "role": ("master" if "master process" in cmdline else
                     "worker" if "worker process" in cmdline else "other"),
            "cmdline": cmdline,
            "start_time": round(btime + start / ticks, 3) if btime and start is not None else None,
            "uid": ids["Uid"][0] if ids.get("Uid") else None,
            "gid": ids["Gid"][0] if ids.get("Gid") else None,
            "groups": ids.get("Groups", []),
        })
    out.sort(key=lambda p: p["pid"])
    return out, None


def _stat(path: str) -> dict[str, Any]:
    import grp
    import pwd
    import stat

    try:
        st = os.lstat(path)
    except OSError as exc:
        return {"path": path, "error": f"[Errno {exc.errno}] {exc.strerror}"}
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    kind = ("socket" if stat.S_ISSOCK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode)
            else "symlink" if stat.S_ISLNK(st.st_mode) else "file")
    return {"path": path, "type": kind, "mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid,
            "gid": st.st_gid, "owner": owner, "group": group, "mtime": st.st_mtime}


def _user(names: list[str]) -> dict[str, Any]:
    """Resolve nginx's `user` (and group) to ids and the groups the user is in."""
    import grp
    import pwd

    name = names[0] if names else "nobody"
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return {"name": name, "error": f"no user {name!r} in the password database"}
    gids = {pw.pw_gid} | {g.gr_gid for g in grp.getgrall() if name in g.gr_mem}
    if len(names) > 1:
        with contextlib.suppress(KeyError):
            gids.add(grp.getgrnam(names[1]).gr_gid)
    return {"name": name, "configured": bool(names), "uid": pw.pw_uid, "gid": pw.pw_gid,
            "groups": sorted(gids)}


def runtime(source: str, dump: str, scanned: dict[str, Any]) -> Item:
    """Record nginx's processes and start times, the config files' mtimes, and for each unix
    socket upstream the mode and owner of the socket and of every directory above it."""
    item = new_item(source, "listing")
    started = time.monotonic()
    procs, error = _nginx_processes()
    files = []
    for path, _content in split_dump(dump):
        entry: dict[str, Any] = {"path": path}
        try:
            entry["mtime"] = os.stat(path).st_mtime
            entry["lmtime"] = os.lstat(path).st_mtime
        except OSError as exc:
            entry["error"] = f"[Errno {exc.errno}] {exc.strerror}"
        files.append(entry)
    sockets = []
    for server in scanned.get("servers", []):
        for loc in server["locations"]:
            for ep in proxy_endpoints(loc["proxy_pass"] or "", scanned.get("upstreams", {})):
                if ep.startswith("unix:") and ep[5:] not in sockets:
                    sockets.append(ep[5:])
    paths = []
    for sock in sockets[:8]:
        chain = [sock]
        parent = os.path.dirname(sock)
        while parent and parent not in chain:
            chain.append(parent)
            if parent == "/":
                break
            parent = os.path.dirname(parent)
        paths.append({"socket": sock, "chain": [_stat(p) for p in chain]})
    item["data"] = {"now": time.time(), "processes": procs, "process_error": error,
                    "files": files, "user": _user(list(scanned.get("user") or [])),
                    "sockets": paths}
    item["duration"] = round(time.monotonic() - started, 4)
    return item
