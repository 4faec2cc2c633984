"""nginx configuration from the `nginx -T` dump, read with crossplane.

Each `# configuration file <path>:` section is written into a temporary tree and
parsed on its own by crossplane (includes are resolved against the dump, never
against this machine's files). A file crossplane rejects is read by a tolerant
reader over crossplane's lexer instead, and the config records that it was.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tempfile
from collections.abc import Iterator
from typing import Any

import crossplane  # type: ignore[import-untyped]

from ..agent.nginxscan import proxy_endpoints, split_dump
from ..evidence import Item
from ..facts import (
    Endpoint,
    Listen,
    Location,
    NginxConfig,
    NginxMessage,
    NginxTest,
    ServerBlock,
    UpstreamGroup,
)

Directive = dict[str, Any]


def _tolerant(path: str) -> list[Directive]:
    """Build a directive tree from tokens, closing what is unclosed and skipping stray `}`."""
    root: list[Directive] = []
    stack: list[list[Directive]] = [root]
    words: list[str] = []
    line = 0
    try:
        for token, tline, quoted in crossplane.lex(path):
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
                        {"directive": words[0], "args": words[1:], "line": line, "block": block}
                    )
                stack.append(block)
                words = []
            elif token == "}" and not quoted:
                if len(stack) > 1:
                    stack.pop()
                words = []
            else:
                words.append(token)
    except crossplane.errors.NgxParserBaseException:
        pass
    return root


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
            result = crossplane.parse(
                local, single=True, catch_errors=True, check_ctx=False, check_args=False
            )
            if result["status"] == "ok":
                trees[path] = result["config"][0]["parsed"]
                continue
            for err in result["errors"]:
                text = str(err.get("error", "")).replace(local, path)
                errors.append(text)
            trees[path] = _tolerant(local)
            tolerant.append(path)
    return trees, errors, tolerant


def _expand(pattern: str, main: str, paths: list[str]) -> list[str]:
    if not pattern.startswith("/"):
        pattern = os.path.join(os.path.dirname(main), pattern)
    return sorted(p for p in paths if fnmatch.fnmatchcase(p, pattern))


def _walk(
    trees: dict[str, list[Directive]], path: str, ctx: tuple[str, ...], seen: frozenset[str]
) -> Iterator[tuple[str, tuple[str, ...], Directive]]:
    """Yield (file, context, directive) in reading order, following includes within the dump."""
    main = next(iter(trees))
    for d in trees.get(path, []):
        if d["directive"] == "include" and d["args"]:
            for inc in _expand(d["args"][0], main, list(trees)):
                if inc not in seen:
                    yield from _walk(trees, inc, ctx, seen | {inc})
            continue
        yield path, ctx, d


def _children(
    trees: dict[str, list[Directive]], file: str, block: list[Directive], main: str
) -> Iterator[tuple[str, Directive]]:
    """Yield a block's directives with includes expanded, with the file each came from."""
    for d in block:
        if d["directive"] == "include" and d["args"]:
            for inc in _expand(d["args"][0], main, list(trees)):
                yield from _children(trees, inc, trees[inc], main)
        else:
            yield file, d


def _listen(args: list[str]) -> Listen:
    raw = " ".join(args)
    ep = Endpoint.parse(args[0]) if args else Endpoint(host="*", port=80)
    return Listen(endpoint=ep, ssl="ssl" in args[1:], default_server="default_server" in args[1:],
                  raw=raw)


def _locations(
    trees: dict[str, list[Directive]], file: str, block: list[Directive], main: str,
    groups: dict[str, list[str]], inherited: str | None,
) -> Iterator[Location]:
    for f, d in _children(trees, file, block, main):
        if d["directive"] != "location":
            continue
        args = d["args"]
        modifier, path = (args[0], args[1]) if len(args) > 1 else ("", args[0] if args else "")
        inner = d.get("block", [])
        proxy = next((c["args"][0] for _f, c in _children(trees, f, inner, main)
                      if c["directive"] == "proxy_pass" and c["args"]), None)
        group = None
        endpoints: tuple[Endpoint, ...] = ()
        if proxy:
            m = re.match(r"https?://([^/:]+)", proxy)
            group = m.group(1) if m and m.group(1) in groups else None
            endpoints = tuple(Endpoint.parse(e) for e in proxy_endpoints(proxy, groups))
        yield Location(path=path, modifier=modifier, proxy_pass=proxy, endpoints=endpoints,
                       upstream_group=group, file=f, line=int(d.get("line", 0)))
        yield from _locations(trees, f, inner, main, groups, proxy or inherited)


def read_config(text: str, how: str) -> NginxConfig:
    """Read a dump in `nginx -T` format into servers, locations and upstream groups."""
    files = split_dump(text)
    if not files:
        return NginxConfig(parser="none", note=f"{how}: no configuration file in the output",
                           files=(), servers=(), upstreams=(), error_logs=(), access_logs=())
    trees, errors, tolerant = _parse_files(files)
    main = files[0][0]
    top = list(_walk(trees, main, (), frozenset({main})))
    http_blocks = [(f, d) for f, _c, d in top if d["directive"] == "http"]
    upstreams: list[UpstreamGroup] = []
    server_dirs: list[tuple[str, Directive]] = []
    for f, http in http_blocks:
        for cf, d in _children(trees, f, http.get("block", []), main):
            if d["directive"] == "upstream" and d["args"]:
                servers = tuple(Endpoint.parse(c["args"][0])
                                for _f, c in _children(trees, cf, d.get("block", []), main)
                                if c["directive"] == "server" and c["args"])
                upstreams.append(UpstreamGroup(d["args"][0], servers, cf, int(d["line"])))
            elif d["directive"] == "server":
                server_dirs.append((cf, d))
    groups = {u.name: [s.label for s in u.servers] for u in upstreams}
    blocks = []
    for f, d in server_dirs:
        inner = d.get("block", [])
        kids = list(_children(trees, f, inner, main))
        listens = tuple(_listen(c["args"]) for _f, c in kids if c["directive"] == "listen")
        names = tuple(a for _f, c in kids if c["directive"] == "server_name" for a in c["args"])
        locs = list(_locations(trees, f, inner, main, groups, None))
        direct = next((c["args"][0] for _f, c in kids
                       if c["directive"] == "proxy_pass" and c["args"]), None)
        if direct:
            locs.insert(0, Location("", "", direct, tuple(
                Endpoint.parse(e) for e in proxy_endpoints(direct, groups)), None, f,
                int(d["line"])))
        blocks.append(ServerBlock(f, int(d["line"]), listens, names, tuple(locs)))
    error_logs: list[str] = []
    access_logs: list[str] = []
    for f in trees:
        for d in _all(trees[f]):
            if d["directive"] in ("error_log", "access_log") and d["args"]:
                target = d["args"][0]
                if target.startswith("/"):
                    (error_logs if d["directive"] == "error_log" else access_logs).append(target)
    parser = "crossplane" if not tolerant else "crossplane+tolerant"
    note = how
    if tolerant:
        note += f"; crossplane rejected {', '.join(tolerant)}, read tolerantly"
    return NginxConfig(parser=parser, note=note, files=tuple(trees), servers=tuple(blocks),
                       upstreams=tuple(upstreams),
                       error_logs=tuple(dict.fromkeys(error_logs)),
                       access_logs=tuple(dict.fromkeys(access_logs)), errors=tuple(errors))


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
    return NginxTest(ok=item.rc == 0, rc=item.rc, messages=tuple(messages), source=item.label())
