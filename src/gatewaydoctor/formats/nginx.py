"""The `nginx -T` dump: its `# configuration file <path>:` sections, and a tolerant,
Lua-aware reading of each into a crossplane-shaped directive tree.

The parse layer reads the dump with crossplane and falls back to tree() for files
crossplane rejects (Lua blocks it cannot lex, `*_by_lua_block` directives newer than it);
the agent uses tree() to know which logs to tail and what to probe. It never has to be
exact, only never to give up.
"""

import os
import re
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Tuple

Directive = Dict[str, Any]
Token = Tuple[str, int, bool]

FILE_MARK = "# configuration file "
# Every `*_by_lua_block` holds Lua, not nginx syntax (openresty adds new ones over time).
LUA_BLOCK_RE = re.compile(r"_by_lua_block$")
_LONG_OPEN_RE = re.compile(r"\[(=*)\[")
_SPECIAL = "{};"


def split_dump(text: str) -> List[Tuple[str, str]]:
    """Split `nginx -T` stdout into (path, content) pairs."""
    files: List[Tuple[str, str]] = []
    path: Optional[str] = None
    lines: List[str] = []
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


def _lua_body(text: str, i: int) -> Tuple[str, int]:
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
    stmt: List[str] = []
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


def tree(text: str) -> List[Directive]:
    """Build a crossplane-shaped directive tree; close what is unclosed, skip a stray `}`."""
    root: List[Directive] = []
    stack: List[List[Directive]] = [root]
    words: List[str] = []
    line = 0
    for token, tline, quoted in lex(text):
        if not words:
            line = tline
        if token == ";" and not quoted:
            if words:
                stack[-1].append({"directive": words[0], "args": words[1:], "line": line})
            words = []
        elif token == "{" and not quoted:
            block: List[Directive] = []
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


def expand(pattern: str, main: str, paths: List[str]) -> List[str]:
    """The dumped files an `include` pattern names (relative to the main file's directory)."""
    import fnmatch

    if not pattern.startswith("/"):
        pattern = os.path.join(os.path.dirname(main), pattern)
    return sorted(p for p in paths if fnmatch.fnmatchcase(p, pattern))


def children(trees: Dict[str, List[Directive]], file: str, block: List[Directive], main: str,
             seen: FrozenSet[str] = frozenset()) -> Iterator[Tuple[str, Directive]]:
    """Yield a block's directives with includes expanded in place, with the file of each."""
    for d in block:
        if d["directive"] == "include" and d["args"]:
            for inc in expand(d["args"][0], main, list(trees)):
                if inc not in seen:
                    yield from children(trees, inc, trees[inc], main, seen | {inc})
        else:
            yield file, d


def proxy_endpoints(target: str, upstreams: Dict[str, List[str]]) -> List[str]:
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
