"""Request routing as nginx does it, from the configuration alone (no I/O).

`route(config, url)` follows a request the way nginx 1.22 does (ngx_http_core_module's
find_virtual_server, find_location, the rewrite, try_files and error_page phases) and
returns each step with the directive and file:line that decided it, ending in a handler:
a backend (proxy/uwsgi/grpc/fastcgi/scgi pass) with its endpoints, static files, or a
return/redirect. Where the answer depends on the running request (a header, a cookie, a
file on disk that the evidence does not list), the step says so and the common case is taken.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..formats import vhost
from ..formats.vhost import pcre_to_python as pcre_to_python  # (facts exports it)
from .address import Endpoint
from .nginx import (
    HANDLER_KINDS,
    PASS_KINDS,
    IfBlock,
    Listen,
    Location,
    NginxConfig,
    NginxDirective,
    ServerBlock,
)

MAX_REDIRECTS = 10  # nginx's NGX_HTTP_MAX_URI_CHANGES


def _host_port(host: str | None, port: int | None) -> tuple[str, int | None]:
    """Split a Host header (`example.com:8080`, `[::1]:80`) into name and port."""
    if not host:
        return "", port
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest[1:].isdigit() else port
    if host.count(":") > 1:  # a bare IPv6 address
        return host, port
    name, _, tail = host.partition(":")
    return name, int(tail) if tail.isdigit() else port


def _search(pattern: str, text: str, icase: bool = False) -> re.Match[str] | None:
    """A PCRE pattern searched with Python's re (None where re cannot read it)."""
    return vhost.search(pattern, text, icase)


# ---------------------------------------------------------------- route record

@dataclass(frozen=True)
class RouteStep:
    """One decision on the way: what was decided, by which directive, where."""

    kind: str       # listen, server, uri, location, rewrite, return, if, try_files, …
    text: str
    where: str = ""
    runtime: bool = False  # the decision depends on the running request, not the config
    directive: str = ""    # the deciding directive as nginx syntax (`server_name a.test`)

    def __str__(self) -> str:
        """`kind: text (file:line)`, marked when it depends on runtime."""
        at = f" ({self.where})" if self.where else ""
        return f"{self.kind}: {self.text}{at}" + (" [depends on runtime]" if self.runtime
                                                   else "")


@dataclass
class Route:
    """Where nginx sends one request: server block, location, and the handler at the end."""

    scheme: str
    host: str
    port: int
    path: str
    server: ServerBlock | None = None
    location: Location | None = None
    handler: str = "none"   # proxy, uwsgi, grpc, fastcgi, scgi, lua, static, return, none
    directive: NginxDirective | None = None  # the pass or return that ends the route
    status: int | None = None
    redirect: str | None = None
    endpoints: tuple[Endpoint, ...] = ()
    upstream: str | None = None
    steps: list[RouteStep] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)  # every location passed through
    marks: list[int] = field(default_factory=list)  # len(steps) when each location was entered

    def moved_by(self, n: int) -> RouteStep | None:
        """The step that moved the request on from the n-th location (try_files…)."""
        end = self.marks[n + 1] if n + 1 < len(self.marks) else len(self.steps)
        return next((s for s in reversed(self.steps[self.marks[n]:end]) if s.directive), None)

    @property
    def target(self) -> str | None:
        """The pass directive's target as written (`http://app`, `unix:/run/a.sock`)."""
        return self.directive.args[0] if self.directive and self.directive.args and \
            self.handler in PASS_KINDS.values() else None

    @property
    def handler_label(self) -> str:
        """`proxy file:line` of the pass directive, `static`, `return 301`, or `none`."""
        if self.handler in ("static", "none"):
            return self.handler
        if self.handler == "return":
            return f"return {self.status}"
        return f"{self.handler} {self.directive.where}" if self.directive else self.handler

    @property
    def runtime(self) -> bool:
        """Some step depends on the running request."""
        return any(s.runtime for s in self.steps)

    def step(self, kind: str, text: str, where: str = "", runtime: bool = False,
             directive: str = "") -> None:
        """Record one decision."""
        self.steps.append(RouteStep(kind, text, where, runtime, directive))


# ---------------------------------------------------------------- listen and server_name

_WILD = ("*", "0.0.0.0", "::", "")
_IP = re.compile(r"[\d.]+|[0-9A-Fa-f:]+|\*")


def _family(host: str | None) -> int:
    """4 or 6: the address family of a listen's or a connection's host."""
    return 6 if host and ":" in host else 4


def _listens(server: ServerBlock) -> tuple[Listen, ...]:
    """A server's listens; none written means `listen *:80` (nginx run as root)."""
    if server.listens:
        return server.listens
    return (Listen(Endpoint("*", 80), False, False, "*:80"),)


def _reaching(config: NginxConfig, port: int, addr: str | None
              ) -> tuple[list[tuple[ServerBlock, Listen]], str]:
    """The (server, listen) pairs that accept a connection to addr:port, as nginx binds
    them: a listen on that very address wins over the wildcard of its family."""
    if addr is not None and addr.startswith("unix:"):
        on_sock = [(s, li) for s in config.servers for li in _listens(s)
                   if li.endpoint.path == addr[5:]]
        return on_sock, (addr if on_sock else f"nothing listens on {addr}")
    on_port = [(s, li) for s in config.servers for li in _listens(s)
               if li.endpoint.path is None and li.endpoint.port == port]
    if not on_port:
        return [], f"no server block listens on port {port}"
    if addr is not None:
        a = addr.strip("[]")
        exact = [(s, li) for s, li in on_port if (li.endpoint.host or "*") == a]
        if exact:
            return exact, f"{a}:{port}"
        fam = _family(a)
        wild = [(s, li) for s, li in on_port if (li.endpoint.host or "*") in _WILD and (
            _family(li.endpoint.host) == fam or (fam == 4 and li.endpoint.host == "::" and
                                                 "ipv6only=off" in li.raw))]
        if wild:
            return wild, f"*:{port}"
        # `listen myhost:80`: nginx resolved the name when it started; we cannot.
        named = [(s, li) for s, li in on_port if not _IP.fullmatch(li.endpoint.host or "*")]
        if named:
            return named, f"{named[0][1].endpoint.host}:{port} (a name, taken to be {a})"
        return [], f"nothing listens on {a}:{port}"
    wild4 = [(s, li) for s, li in on_port if (li.endpoint.host or "*") in ("*", "0.0.0.0")]
    return (wild4 or on_port), f"*:{port}"


def _names(server: ServerBlock) -> tuple[str, ...]:
    """A server's names; none written is nginx's empty name."""
    return server.names or ("",)


def _match_name(config: NginxConfig, pairs: list[tuple[ServerBlock, Listen]], name: str
                ) -> tuple[ServerBlock, str] | None:
    """nginx's server_name order: exact, longest `*.x`, longest `x.*`, first regex."""
    servers = list(dict.fromkeys(s for s, _li in pairs))
    found = vhost.match_name([_names(s) for s in servers], name)
    if found is None:
        return None
    i, matched, kind = found
    return servers[i], f"server_name {matched} ({kind})"


def _pick_server(config: NginxConfig, r: Route, addr: str | None) -> ServerBlock | None:
    """The listen that takes the connection, then the server block its Host picks."""
    pairs, where = _reaching(config, r.port, addr)
    if not pairs:
        r.step("listen", where)
        return None
    r.step("listen", f"{where}: {len(dict.fromkeys(s for s, _li in pairs))} server block(s)",
           pairs[0][1].where, directive=f"listen {pairs[0][1].raw}")
    name = r.host
    found = _match_name(config, pairs, name) if name else None
    if found:
        server, why = found
        r.step("server", why, server.where, directive=why.split(" (")[0])
        _tls_check(r, server, pairs)
        return server
    default = next(((s, li) for s, li in pairs if li.default_server or
                    " default" in f" {li.raw} "), pairs[0])
    kind = "default_server" if default[1].default_server or " default" in f" {default[1].raw} " \
        else "first server on the port"
    r.step("server", f"no server_name matches {name or '(no Host)'}: {kind}",
           default[0].where, directive=f"listen {default[1].raw}")
    _tls_check(r, default[0], pairs)
    return default[0]


def _tls_check(r: Route, server: ServerBlock, pairs: list[tuple[ServerBlock, Listen]]) -> None:
    """An https URL on a listen without `ssl` (or http on one with it) fails before routing."""
    tls = any(li.ssl for _s, li in pairs) or any(
        d.name == "ssl" and d.args[:1] == ("on",) for d in server.directives)
    if tls != (r.scheme == "https"):
        r.step("listen", f"{r.scheme} to a listen {'with' if tls else 'without'} ssl: the "
               "request fails before any server block answers it", pairs[0][1].where)


# ---------------------------------------------------------------- URI

def normalise(raw: str, merge_slashes: bool = True) -> tuple[str, str, bool]:
    """(uri, args, ok) as nginx makes them: %XX decoded, `//` merged (unless
    `merge_slashes off`), `/./` and `/../` resolved; ok is False where nginx answers 400
    (a `..` above the root)."""
    path, _, args = raw.partition("?")
    path = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), path)
    if not path.startswith("/"):
        path = "/" + path
    if merge_slashes:
        path = re.sub(r"/{2,}", "/", path)
    out: list[str] = []
    parts = path.split("/")
    for i, seg in enumerate(parts[1:], 1):
        last = i == len(parts) - 1
        if seg == ".":
            if last:
                out.append("")
            continue
        if seg == "..":
            if not out:
                return path, args, False
            out.pop()
            if last:
                out.append("")
            continue
        out.append(seg)
    return "/" + "/".join(out), args, True


# ---------------------------------------------------------------- location

def _find(locations: Iterable[Location], uri: str) -> tuple[Location | None, str]:
    """ngx_http_core_find_location over one level (and the levels nested in it)."""
    locs = [loc for loc in locations if not loc.named]
    found: Location | None = None
    why = ""
    prefix: Location | None = None
    for loc in locs:
        if loc.modifier == "=" and uri == loc.path:
            return loc, "exact match ="
    if not any(x.path == uri for x in locs if x.modifier in ("", "^~")):
        for loc in locs:
            # `/api` asked, `location /api/ { proxy_pass …; }`: nginx redirects to `/api/`.
            if loc.modifier in ("", "^~") and loc.path == uri + "/" and loc.handler is not None \
                    and loc.handler.name in PASS_KINDS:
                return loc, "auto_redirect"
    for loc in locs:
        if loc.modifier in ("", "^~") and uri.startswith(loc.path) and (
                prefix is None or len(loc.path) > len(prefix.path)):
            prefix = loc
    noregex = False
    if prefix is not None:
        found, why = prefix, f"longest prefix{' ^~' if prefix.modifier == '^~' else ''}"
        noregex = prefix.modifier == "^~"
        inner, inner_why = _find(prefix.nested, uri)
        if inner is not None:
            if inner_why.startswith(("exact", "regex", "auto")):
                return inner, f"{inner_why}, nested in {prefix.path}"
            found, why = inner, f"{inner_why}, nested in {prefix.path}"
    if noregex:
        return found, why
    for loc in locs:
        if loc.modifier in ("~", "~*") and _search(loc.path, uri, loc.modifier == "~*"):
            inner, inner_why = _find(loc.nested, uri)
            if inner is not None:
                return inner, f"{inner_why}, nested in {loc.path}"
            return loc, f"regex {loc.modifier} (first that matches, in order)"
    return found, why


def _named(server: ServerBlock, name: str) -> Location | None:
    """The named location (`@app`) of a server block."""
    return next((loc for loc in server.locations if loc.path == name), None)


# ---------------------------------------------------------------- variables and conditions

@dataclass
class _Request:
    """The request as the rewrite module sees it."""

    route: Route
    uri: str
    args: str
    raw: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    vars: dict[str, str] = field(default_factory=dict)
    captures: tuple[str, ...] = ()
    files: Collection[str] | None = None
    server: ServerBlock | None = None

    def var(self, name: str) -> tuple[str, bool]:
        """(value, known) of `$name`."""
        r = self.route
        if name.isdigit():
            i = int(name)
            return (self.captures[i - 1] if 0 < i <= len(self.captures) else ""), True
        fixed = {
            "scheme": r.scheme, "https": "on" if r.scheme == "https" else "",
            "host": r.host or (self.server.names[0] if self.server and self.server.names
                               else ""),
            "server_port": str(r.port), "request_uri": self.raw, "uri": self.uri,
            "document_uri": self.uri, "args": self.args, "query_string": self.args,
            "is_args": "?" if self.args else "", "request_method": self.method,
            # nginx lowercases server_name when it reads the configuration.
            "server_name": self.server.names[0].lower() if self.server and self.server.names
            else "",
        }
        if name in self.vars:
            return self.vars[name], True
        if name in fixed:
            return fixed[name], True
        if name.startswith("http_"):
            key = name[5:].replace("_", "-")
            if key == "host":
                return self.headers.get("host", r.host), True
            return self.headers.get(key, ""), False
        return "", False

    def expand(self, text: str) -> tuple[str, bool]:
        """Variables substituted; False when one is unknown before the request runs."""
        known = True

        def sub(m: re.Match[str]) -> str:
            nonlocal known
            value, ok = self.var(m.group(1) or m.group(2))
            known = known and ok
            return value
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text), known

    def exists(self, path: str, directory: bool = False) -> bool | None:
        """Whether a file is there, when the evidence says (None: not known)."""
        if self.files is None:
            return None
        p = path.rstrip("/") if directory else path
        return p in self.files or (directory and any(f.startswith(p + "/") for f in self.files))

    def condition(self, block: IfBlock) -> tuple[bool, bool]:
        """(value, known) of an if condition."""
        args = [a for a in block.args]
        if args:
            args[0] = args[0].lstrip("(")
            args[-1] = args[-1].rstrip(")")
        args = [a for a in args if a]
        if not args:
            return False, True
        if args[0] in ("-f", "!-f", "-d", "!-d", "-e", "!-e", "-x", "!-x"):
            path, ok = self.expand(args[1] if len(args) > 1 else "")
            there = self.exists(path, directory=args[0].endswith("d"))
            neg = args[0].startswith("!")
            if there is None:
                return neg, False  # no file listed: assume absent
            return there != neg, ok
        left, ok = self.expand(args[0])
        if len(args) == 1:
            return left not in ("", "0"), ok
        op, right = args[1], " ".join(args[2:]).strip("'\"")
        if op in ("=", "!="):
            rv, ok2 = self.expand(right)
            return (left == rv) == (op == "="), ok and ok2
        if op in ("~", "~*", "!~", "!~*"):
            m = _search(right, left, "*" in op)
            if m and not op.startswith("!"):
                self.captures = tuple(g or "" for g in m.groups())
            return (m is not None) != op.startswith("!"), ok
        return False, False


# ---------------------------------------------------------------- phases

def _run_script(req: _Request, script: Iterable[NginxDirective | IfBlock],
                in_location: bool) -> tuple[str, IfBlock | None]:
    """Run rewrite/return/set/if in order. Returns (outcome, the if block whose config
    applies): outcome is `next` (go on), `last`, `break`, `return` or `redirect`."""
    r = req.route
    chosen: IfBlock | None = None
    changed = False
    for item in script:
        if isinstance(item, IfBlock):
            value, known = req.condition(item)
            r.step("if", f"if ({item.condition}) is {'true' if value else 'false'}", item.where,
                   runtime=not known)
            if not value:
                continue
            if in_location:
                chosen = item
            inner = [d for d in item.body if d.name in ("rewrite", "return", "set", "break")]
            outcome, _ = _run_script(req, inner, in_location)
            if outcome != "next":
                return outcome, chosen
            continue
        d = item
        if d.name == "set" and len(d.args) >= 2:
            req.vars[d.args[0].lstrip("$")] = req.expand(d.args[1])[0]
        elif d.name == "break":
            r.step("rewrite", "break: rewriting stops here", d.where)
            return "break", chosen
        elif d.name == "return":
            return _return(req, d), chosen
        elif d.name == "rewrite" and len(d.args) >= 2:
            outcome = _rewrite(req, d)
            if outcome == "matched":
                changed = True
                continue
            if outcome != "next":
                return outcome, chosen
        elif d.name.startswith("rewrite_by_lua"):
            r.step("rewrite", f"{d.name}: Lua may redirect the request", d.where, runtime=True)
    return ("changed" if changed else "next"), chosen


def _return(req: _Request, d: NginxDirective) -> str:
    """`return code [text|URL]`: the route ends here (`redirect` for a 3xx with a URL)."""
    r = req.route
    code = d.args[0] if d.args else "444"
    target = d.args[1] if len(d.args) > 1 else ""
    if not code.isdigit():  # `return URL`: a 302
        code, target = "302", code
    r.status = int(code)
    r.directive = d
    r.handler = "return"
    if r.status in (301, 302, 303, 307, 308) and target:
        r.redirect, known = req.expand(target)
        r.step("return", f"return {code} {r.redirect}", d.where, runtime=not known)
        return "redirect"
    r.step("return", f"return {code}", d.where)
    return "return"


def _rewrite(req: _Request, d: NginxDirective) -> str:
    """One rewrite: `next` (no match), `matched` (URI changed, go on), `last`, `break`,
    `redirect`."""
    r = req.route
    regex, repl = d.args[0], d.args[1]
    flag = d.args[2] if len(d.args) > 2 else ""
    m = _search(regex, req.uri)
    if m is None:
        return "next"
    req.captures = tuple(g or "" for g in m.groups())
    new, known = req.expand(repl)
    if new.startswith(("http://", "https://", "$scheme")) or flag in ("redirect", "permanent"):
        # A trailing `?` keeps the old arguments off; otherwise nginx appends them.
        if new.endswith("?"):
            new = new[:-1]
        elif req.args:
            new += ("&" if "?" in new else "?") + req.args
        r.status = 301 if flag == "permanent" else 302
        r.redirect = new
        r.directive = d
        r.handler = "return"
        r.step("rewrite", f"rewrite to {new} ({r.status})", d.where, runtime=not known,
               directive=d.text)
        return "redirect"
    path, _, args = new.partition("?")
    req.uri = path
    if args or repl.endswith("?"):
        req.args = args if repl.endswith("?") else args + ("&" + req.args if req.args else "")
    r.step("rewrite", f"rewrite {req.uri}{' ' + flag if flag else ''}", d.where,
           runtime=not known, directive=d.text)
    if flag in ("last", "break"):
        return flag
    return "matched"


def _error_page(config: NginxConfig, server: ServerBlock, loc: Location | None,
                status: int) -> NginxDirective | None:
    """The error_page in force for a status (location's, else server's, else http's)."""
    for scope in ((loc.directives if loc else ()), server.directives,
                  tuple(d for d in config.globals if d.context == "http")):
        pages = [d for d in scope if d.name == "error_page"]
        if pages:
            return next((d for d in pages if str(status) in d.args[:-1]), None)
    return None


def _endpoints(config: NginxConfig, kind: str, target: str) -> tuple[tuple[Endpoint, ...],
                                                                       str | None]:
    """The endpoints a pass directive reaches, and the upstream group it names."""
    t = re.sub(r"^(https?|grpcs?|s?uwsgi)://", "", target)
    if t.startswith("unix:"):
        path = t[5:].split(":", 1)[0] if kind == "proxy" else t[5:]
        return (Endpoint(path=path),), None
    host = t.split("/", 1)[0]
    name = host.split(":")[0] if not host.startswith("[") else host
    group = next((u for u in config.upstreams if u.name == name), None)
    if group is not None:
        return group.servers, group.name
    if "$" in host:
        return (), None
    default = 443 if target.startswith(("https", "grpcs")) else 80
    return (Endpoint.parse(host, default),), None


def _handle(config: NginxConfig, req: _Request, loc: Location | None,
            chosen: IfBlock | None) -> None:
    """The content handler of the location (or of the if block that matched)."""
    r = req.route
    d = (chosen.handler if chosen else None) or (loc.handler if loc else None)
    if d is None:
        r.handler = "static"
        root = config.setting("alias", r.server, loc) if loc else None
        root = root or config.setting("root", r.server, loc)
        r.step("handler", f"static files under {' '.join(root.args) if root else 'html'}",
               root.where if root else "", directive=root.text if root else "")
        return
    r.handler = HANDLER_KINDS[d.name]
    r.directive = d
    if d.name in PASS_KINDS and d.args:
        r.endpoints, r.upstream = _endpoints(config, r.handler, d.args[0])
        ends = ", ".join(e.label for e in r.endpoints) or "a runtime address"
        via = f" (upstream {r.upstream})" if r.upstream else ""
        r.step("handler", f"{d.name} {d.args[0]}{via} → {ends}", d.where,
               runtime="$" in d.args[0])
        for code in (502, 503, 504):  # what a failing backend turns into, for the diagnosis
            page = _error_page(config, r.server, loc, code) if r.server else None
            if page is not None:
                r.step("error_page", f"if the backend fails ({code}), error_page sends the "
                       f"request to {page.args[-1]}", page.where, runtime=True)
                break
    else:
        r.step("handler", d.name, d.where)


def _internal_redirect(config: NginxConfig, req: _Request, target: str,
                       how: str) -> Location | None | str:
    """Go to a named location or re-find the location for a new URI."""
    server = req.server
    assert server is not None
    if target.startswith("@"):
        named = _named(server, target)
        req.route.step("location", f"{how} to {target}", named.where if named else "")
        return named if named is not None else "missing"
    path, _, args = target.partition("?")
    req.uri, req.args = path, args or req.args
    return None


def route(config: NginxConfig, url: str | tuple[str, str, int, str],
          addr: str | None = None, files: Collection[str] | None = None,
          method: str = "GET", headers: dict[str, str] | None = None) -> Route:
    """Follow a request through nginx's configuration.

    url is a URL or (scheme, Host header name, port, path with query); addr is the local
    address the client connected to (None: any); files lists the files that exist (None:
    not known, so try_files and `-f` tests take the miss and say so)."""
    if isinstance(url, str):
        u = urlsplit(url if "://" in url else "http://" + url)
        scheme = u.scheme or "http"
        port = u.port or (443 if scheme == "https" else 80)
        host = u.hostname or ""
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    else:
        scheme, host, given, path = url
        host, found = _host_port(host, given)
        port = found if found is not None else given
    host = host.lower().rstrip(".")
    if addr is None and (re.fullmatch(r"[\d.]+", host) or ":" in host):
        addr = host  # an IP in the URL is the address the client connects to
    elif addr is None and host == "localhost":
        addr = "127.0.0.1"
    r = Route(scheme, host, port, path)
    server = _pick_server(config, r, addr)
    r.server = server
    if server is None:
        return r
    merge = config.setting("merge_slashes", server)
    uri, args, ok = normalise(path, merge is None or merge.args[:1] != ("off",))
    req = _Request(r, uri, args, path, method, {k.lower(): v for k, v in (headers or {}).items()},
                   files=files, server=server)
    if not ok:
        r.step("uri", f"{path} goes above the root: nginx answers 400")
        r.handler, r.status = "return", 400
        return r
    if uri != path.split("?", 1)[0]:
        r.step("uri", f"normalised to {uri}")
    outcome, _ = _run_script(req, server.script, in_location=False)
    if outcome in ("return", "redirect"):
        return r
    _locate(config, req)
    return r


def _via_error_page(config: NginxConfig, req: _Request, loc: Location | None,
                    status: int) -> tuple[bool, Location | None]:
    """Follow the error_page in force for status: (followed, the named location it goes
    to). Not followed: no error_page (the status stands) or one that redirects outside."""
    r = req.route
    assert req.server is not None
    page = _error_page(config, req.server, loc, status)
    if page is None:
        return False, None
    target = page.args[-1]
    r.step("error_page", f"error_page {status} → {target}", page.where, directive=page.text)
    if target.startswith(("http://", "https://")):
        r.handler, r.status, r.redirect, r.directive = "return", 302, target, page
        return False, None
    r.handler, r.status, r.directive = "none", None, None
    got = _internal_redirect(config, req, target, "error_page")
    if got == "missing":
        return False, None
    return True, got if isinstance(got, Location) else None


def _locate(config: NginxConfig, req: _Request) -> None:
    """Find the location, run its phases, follow internal redirects, pick the handler."""
    r, server = req.route, req.server
    assert server is not None
    named: Location | None = None
    loc: Location | None
    internal = error_done = False
    for _ in range(MAX_REDIRECTS):
        if named is not None:
            loc, named = named, None
        else:
            loc, why = _find(server.top_locations, req.uri)
            if loc is not None and why == "auto_redirect":
                r.step("location", f"{req.uri} is {loc.path} without its slash: nginx "
                       "redirects (301)", loc.where)
                r.location, r.handler, r.status = None, "return", 301
                r.redirect = req.uri + "/"
                return
            if loc is None:
                r.step("location", f"no location matches {req.uri}: the server's own settings")
            else:
                r.step("location", f"{loc.modifier + ' ' if loc.modifier else ''}{loc.path}: "
                       f"{why}", loc.where)
        if loc is not None and loc.internal and not internal:
            r.step("location", f"{loc.path} is internal: 404 to a request from outside",
                   loc.where)
            r.location, r.handler, r.status, r.directive = None, "return", 404, None
            if error_done:
                return
            followed, named = _via_error_page(config, req, loc, 404)
            if not followed:
                return
            error_done = internal = True
            continue
        r.location = loc
        if loc is not None:
            r.locations.append(loc)
            r.marks.append(len(r.steps))
        outcome, chosen = _run_script(req, loc.script if loc else (), in_location=True)
        if outcome in ("last", "changed"):
            internal = True
            continue
        if outcome == "return" and r.status and not error_done:
            followed, named = _via_error_page(config, req, loc, r.status)
            if followed:
                error_done = internal = True
                continue
        if outcome in ("return", "redirect"):
            return
        tries = _try_files(config, req, loc)
        if tries is None:
            _handle(config, req, loc, chosen)
            return
        internal = True
        if tries.startswith("="):
            r.handler, r.directive = "return", None
            r.status = int(tries[1:]) if tries[1:].isdigit() else 404
            if error_done:
                return
            followed, named = _via_error_page(config, req, loc, r.status)
            if not followed:
                return
            error_done = True
            continue
        got = _internal_redirect(config, req, tries, "try_files")
        if got == "missing":
            return
        named = got if isinstance(got, Location) else None
    r.step("location", "more than 10 internal redirects: nginx answers 500")
    r.handler, r.status = "return", 500


def _try_files(config: NginxConfig, req: _Request, loc: Location | None) -> str | None:
    """The fallback try_files goes to (`@name`, a URI, `=404`), or None to stay here."""
    r, server = req.route, req.server
    own = loc.directives if loc is not None else (server.directives if server else ())
    d = next((x for x in own if x.name == "try_files" and len(x.args) >= 2), None)
    if d is None:
        return None
    root = config.setting("root", server, loc)
    base = root.args[0] if root and root.args else "html"
    for arg in d.args[:-1]:
        candidate, _known = req.expand(arg)
        there = req.exists(base.rstrip("/") + candidate, directory=arg.endswith("/"))
        if there:
            r.step("try_files", f"{candidate} exists: served from {loc.path if loc else '/'}",
                   d.where)
            return None
    last = req.expand(d.args[-1])[0]
    if req.files is not None:
        text = f"no file of {' '.join(d.args[:-1])} exists: {last}"
    else:  # both branches: the evidence does not list the document root's files
        text = (f"if a file of {' '.join(d.args[:-1])} exists nginx serves it here; "
                f"otherwise {last}")
    r.step("try_files", text, d.where, runtime=req.files is None, directive=d.text)
    return last


# ---------------------------------------------------------------- the old entry points

def server_for(config: NginxConfig, host: str | None,
               port: int | None = None) -> ServerBlock | None:
    """The server block a request with this Host header (and port) reaches, like nginx:
    exact name, `*.suffix`, `prefix.*`, `~regex`, else the port's default server."""
    name, port = _host_port(host, port)
    if port is None:  # a Host without a port came to 80, else the first port listened on
        ports = [li.endpoint.port for s in config.servers for li in _listens(s)
                 if li.endpoint.port]
        port = 80 if 80 in ports or not ports else ports[0]
    r = route(config, ("http", name, port, "/"))
    if r.server is None and config.servers:
        pairs = [(s, li) for s in config.servers for li in _listens(s)]
        found = _match_name(config, pairs, name.lower().rstrip(".")) if name else None
        return found[0] if found else config.servers[0]
    return r.server


def location_for(config: NginxConfig, path: str, host: str | None = None) -> Location | None:
    """The location nginx picks for path, the way nginx does it (no internal redirects)."""
    server = server_for(config, host)
    if server is None:
        return None
    uri, _args, _ok = normalise(path)
    return _find(server.top_locations, uri)[0]
