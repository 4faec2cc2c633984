"""A crude scan of `nginx -T` output: enough to know which logs to tail and what to probe.

The parse layer reads the same dump properly with crossplane; this scan only
has to be tolerant, never exact.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN_RE = re.compile(
    r"""\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([{};])|([^\s{};"'#]+))"""
)
FILE_MARK = "# configuration file "


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


def _statements(text: str) -> list[tuple[list[str], str]]:
    """Yield (context path, words) statements; context is like ['http', 'server']."""
    out: list[tuple[list[str], str]] = []
    stack: list[str] = []
    words: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        comment, quoted, punct, word = m.groups()
        if comment:
            continue
        if quoted:
            words.append(quoted[1:-1])
        elif word:
            words.append(word)
        elif punct == ";":
            if words:
                out.append((list(stack), " ".join(words)))
            words = []
        elif punct == "{":
            out.append((list(stack), "{ " + " ".join(words)))
            stack.append(" ".join(words))
            words = []
        elif punct == "}":
            if stack:
                stack.pop()
            words = []
    return out


def scan(dump: str) -> dict[str, Any]:
    """Return servers (listen, server_name, locations with proxy_pass), upstreams and log paths."""
    servers: list[dict[str, Any]] = []
    upstreams: dict[str, list[str]] = {}
    error_logs: list[str] = []
    access_logs: list[str] = []
    # Files are scanned in dump order; server blocks only exist inside http{}, and
    # included files have no http{} of their own, so a server block is any block
    # whose header is "server" outside an upstream block.
    for _path, content in split_dump(dump) or [("", dump)]:
        current: dict[str, Any] | None = None
        depth_of_server = -1
        location: str | None = None
        for stack, stmt in _statements(content):
            words = stmt.split()
            if depth_of_server >= 0 and len(stack) <= depth_of_server:
                current, depth_of_server = None, -1
            if stmt.startswith("{ "):
                head = words[1:]
                if head[:1] == ["server"] and not any(s.startswith("upstream") for s in stack):
                    current = {"listen": [], "server_name": [], "locations": []}
                    servers.append(current)
                    depth_of_server = len(stack)
                elif head[:1] == ["location"] and current is not None:
                    location = " ".join(head[1:])
                    current["locations"].append({"path": location, "proxy_pass": None})
                elif head[:1] == ["upstream"] and len(head) > 1:
                    upstreams.setdefault(head[1], [])
                continue
            name, args = words[0], words[1:]
            in_upstream = [s for s in stack if s.startswith("upstream ")]
            if in_upstream and name == "server" and args:
                upstreams.setdefault(in_upstream[-1].split()[1], []).append(args[0])
            elif name == "error_log" and args:
                error_logs.append(args[0])
            elif name == "access_log" and args:
                access_logs.append(args[0])
            elif current is not None and name == "listen" and args:
                current["listen"].append(" ".join(args))
            elif current is not None and name == "server_name":
                current["server_name"].extend(args)
            elif current is not None and name == "proxy_pass" and args:
                locs = current["locations"]
                if locs and any(s.startswith("location") for s in stack):
                    locs[-1]["proxy_pass"] = args[0]
                else:
                    locs.append({"path": "", "proxy_pass": args[0]})
    return {
        "servers": servers,
        "upstreams": upstreams,
        "error_logs": _dedupe(error_logs),
        "access_logs": _dedupe(access_logs),
    }


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
    import glob
    import os

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
        for _ctx, stmt in _statements(content):
            words = stmt.split()
            if words[:1] == ["include"] and len(words) > 1:
                pattern = words[1]
                if not pattern.startswith("/"):
                    pattern = os.path.join(os.path.dirname(main), pattern)
                queue.extend(sorted(glob.glob(pattern)))
    return "".join(out)


def conf_path(version_text: str) -> str:
    """Return the --conf-path from `nginx -V` output, or the usual default."""
    m = re.search(r"--conf-path=(\S+)", version_text)
    return m.group(1) if m else "/etc/nginx/nginx.conf"
