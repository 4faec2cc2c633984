"""Run real nginx on public configurations and ask it where it routes requests.

Each configuration is rewritten into a temporary prefix so that nginx starts anywhere and
names its own routing decisions instead of proxying:

- every server block first runs `set $gd_server "file:line"`, every location
  `set $gd_loc "file:line"` (the original file:line, as gatewaydoctor reads it), and an
  access log of our own records both with the status, the final URI and the Location header;
- every handler (proxy_pass, uwsgi_pass, grpc_pass, fastcgi_pass, scgi_pass, content_by_lua…)
  becomes `echo "GDROUTE <kind> <file:line>"` (the echo module), a location without one
  echoes `GDROUTE static`;
- absolute includes, roots and cache paths point into the prefix (no document exists, so
  try_files never finds a file), TLS uses a self-signed certificate made for the run,
  upstream and listen host names become 127.0.0.1, and logs, pid and temp paths are ours.

Listens keep their addresses and ports: nginx runs in a network namespace of its own
(`unshare --net --pid`), whose loopback carries those addresses, so nothing listens on the
host and every process dies with the namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODULES = Path("/usr/lib/nginx/modules")
NGINX = Path("/usr/sbin/nginx")

HANDLERS = {"proxy_pass": "proxy", "uwsgi_pass": "uwsgi", "grpc_pass": "grpc",
            "fastcgi_pass": "fastcgi", "scgi_pass": "scgi", "memcached_pass": "memcached",
            "content_by_lua": "lua", "content_by_lua_block": "lua",
            "content_by_lua_file": "lua", "empty_gif": "empty_gif", "stub_status": "stub_status",
            "echo": "echo"}
# Directives that would make the copy fail to start or act outside its prefix.
DROP = frozenset({
    "user", "pid", "daemon", "master_process", "worker_processes", "error_log", "access_log",
    "lock_file", "load_module", "client_body_temp_path", "proxy_temp_path",
    "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path", "ssl_dhparam",
    "ssl_password_file", "ssl_stapling_file", "ssl_session_ticket_key", "ssl_crl",
    "ssl_stapling", "ssl_stapling_verify", "ssl_ecdh_curve",
    "auth_basic", "auth_basic_user_file",
    "auth_request", "allow", "deny", "init_by_lua", "init_by_lua_block", "init_by_lua_file",
    "init_worker_by_lua", "init_worker_by_lua_block", "init_worker_by_lua_file",
    "lua_shared_dict_file", "geoip_country", "geoip_city", "geoip2", "debug_connection",
    "working_directory", "worker_rlimit_core", "env", "lua_code_cache", "ssl_ct",
})
PATHS = frozenset({"root", "alias", "proxy_cache_path", "fastcgi_cache_path",
                   "uwsgi_cache_path", "scgi_cache_path", "include"})
CERTS = frozenset({"ssl_certificate", "ssl_trusted_certificate", "ssl_client_certificate",
                   "lua_ssl_trusted_certificate"})


def corpus_dir() -> Path | None:
    """The shared corpus: $GD_NGINX_CORPUS, else ../shared beside the checkout."""
    for cand in (os.environ.get("GD_NGINX_CORPUS"),
                 str(ROOT.parent / "shared" / "nginx-corpus"),
                 str(ROOT.parents[1] / "shared" / "nginx-corpus"), "/work/shared/nginx-corpus"):
        if cand and Path(cand, "_stock").is_dir():
            return Path(cand)
    return None


def unavailable() -> str | None:
    """Why real nginx cannot be run here, or None."""
    if os.geteuid() != 0:
        return "not root: cannot make a network namespace"
    for what in (NGINX, MODULES / "ngx_http_echo_module.so"):
        if not what.exists():
            return f"{what} missing (scripts/test installs nginx and libnginx-mod-http-echo)"
    for tool in ("unshare", "ip", "openssl"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    probe = subprocess.run(["unshare", "--net", "--pid", "--fork", "true"],
                           capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"unshare --net failed: {probe.stderr.strip()}"
    return None


@dataclass
class Entry:
    """One configuration: its files by deployed path and its main file."""

    name: str
    files: dict[str, str]
    main: str
    source: Path | None = None
    asks: list[Ask] | None = None  # chosen from the configuration when None

    def dump(self) -> str:
        """The files in `nginx -T` form, main first (what gatewaydoctor reads)."""
        order = [self.main] + sorted(p for p in self.files if p != self.main)
        return "".join(f"# configuration file {p}:\n{self.files[p]}\n" for p in order)


def _tree(base: Path) -> dict[str, str]:
    """Every file under base, by its path as deployed."""
    out: dict[str, str] = {}
    for p in sorted(base.rglob("*")):
        if p.is_file():
            out["/" + str(p.relative_to(base))] = p.read_text(errors="replace")
    return out


def corpus_entries(corpus: Path) -> list[Entry]:
    """Every corpus configuration laid over the stock files it is deployed with."""
    entries = []
    for src in sorted(corpus.glob("*/SOURCE.json")):
        if src.parent.name.startswith("_"):
            continue
        meta = json.loads(src.read_text())
        files: dict[str, str] = {}
        if meta.get("stock") == "docker":
            files.update(_tree(corpus / "_stock_docker"))
            files.update({p: t for p, t in _tree(corpus / "_stock").items()
                          if p.endswith(("mime.types", "_params", "fastcgi.conf"))})
        elif meta.get("stock") == "debian" or not meta.get("main"):
            files.update(_tree(corpus / "_stock"))  # a site file alone: Debian's main
        files.update(_tree(src.parent / "files"))
        # The stock echo module loader: our copy loads its modules itself.
        files = {p: t for p, t in files.items() if "modules-enabled" not in p}
        main = meta.get("main") or "/etc/nginx/nginx.conf"
        entries.append(Entry(src.parent.name, files, main, src))
    return entries


def own_entries(data: Path) -> list[Entry]:
    """Our small configurations (tests/data/nginx-routing/NAME.conf, an http{} main)."""
    out = []
    for p in sorted(data.glob("*.conf")):
        text = p.read_text()
        asks = [parse_ask(*line.split("# ask:", 1)[1].split())
                for line in text.splitlines() if line.startswith("# ask:")]
        out.append(Entry(p.stem, {"/etc/nginx/nginx.conf": text}, "/etc/nginx/nginx.conf", p,
                         asks))
    return out


def parse_ask(url: str, addr: str = "127.0.0.1") -> Ask:
    """`http://host:port/path?q` (the path kept as written) and where to connect."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    default = 443 if u.scheme == "https" else 80
    path = (u.path or "/") + (f"?{u.query}" if u.query else "")
    return Ask(u.scheme, u.hostname or "", u.port or default, path, addr)


# ---------------------------------------------------------------- rewriting

def _d(name: str, *args: str) -> dict[str, Any]:
    """A directive for crossplane.build."""
    return {"directive": name, "args": list(args), "line": 0}


@dataclass
class Rewriter:
    """Rewrites one configuration's files into prefix, keeping the original file:line."""

    prefix: str
    cert: str
    key: str
    files: tuple[str, ...] = ()
    main: str = ""
    lua: bool = False
    addresses: set[str] = field(default_factory=set)

    def known(self, file: str, pattern: str) -> bool:
        """An include names a file of the configuration, or is a glob (may match none)."""
        if any(c in pattern for c in "*?["):
            return True
        full = pattern if pattern.startswith("/") else os.path.join(
            os.path.dirname(self.main), pattern)
        return full in self.files

    def path(self, p: str) -> str:
        """An absolute path moved into the prefix; a relative one is left to -p."""
        return self.prefix + "/root" + p if p.startswith("/") else p

    def block(self, file: str, block: list[dict[str, Any]], ctx: str,
              handler: str | None = None) -> list[dict[str, Any]]:
        """A block's directives rewritten (see the module docstring)."""
        out: list[dict[str, Any]] = []
        for d in block:
            name, args = d["directive"], [str(a) for a in d.get("args", [])]
            if "lua" in name:
                self.lua = True
            if name in DROP or (name in CERTS and ctx == "if"):
                continue
            if name in HANDLERS and ctx in ("location", "if"):
                continue  # replaced by the echo added below
            if name == "include" and args and not self.known(file, args[0]):
                continue  # a file the corpus does not have (nginx would refuse to start)
            if name.startswith(("upload_progress", "track_uploads", "report_uploads")):
                continue  # a third-party module Debian does not ship
            if name in PATHS and args:
                args[0] = self.path(args[0])
                if name.endswith("_cache_path"):
                    Path(args[0]).parent.mkdir(parents=True, exist_ok=True)
            elif name in CERTS:
                args = [self.cert]
            elif name == "ssl_certificate_key":
                args = [self.key]
            elif name == "ssl_ciphers" and len(args) == 1:
                args = ["ALL:@SECLEVEL=0"]  # what OpenSSL 3 still offers to an old client
            elif name == "ssl_protocols" and all(a.startswith(("SSL", "TLS")) for a in args):
                args = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
            elif name == "listen" and ctx == "server" and args:
                args = self.listen(args)
            elif name == "server" and ctx == "upstream" and args:
                args[0] = _upstream_host(args[0])
                args = [a for a in args if a not in ("resolve",) and not a.startswith(
                    ("service=", "route=", "slow_start="))]
            new = dict(d, args=args)
            if "block" in d:
                new["block"] = self.inner(file, d, name, ctx, handler)
            out.append(new)
        return out

    def inner(self, file: str, d: dict[str, Any], name: str, ctx: str,
              handler: str | None) -> list[dict[str, Any]]:
        """The body of a block directive: server and location blocks get their markers."""
        where = f"{file}:{d.get('line', 0)}"
        body = d["block"]
        if name == "server" and ctx == "http":
            return [_d("set", "$gd_server", where), _d("set", "$gd_loc", "-")] + \
                self.block(file, body, "server")
        if name == "location":
            own = _handler(file, body) or "static"
            return [_d("set", "$gd_loc", where)] + self.block(file, body, "location", own) + \
                [_d("echo", "GDROUTE " + own)]
        if name == "if" and handler is not None:
            own = _handler(file, body) or handler
            return self.block(file, body, "if", own) + [_d("echo", "GDROUTE " + own)]
        if name == "http":
            return self.http_head() + self.block(file, body, name, handler)
        return self.block(file, body, name, handler)

    def http_head(self) -> list[dict[str, Any]]:
        """What every http block starts with: our log, certificate and temp paths."""
        p = self.prefix
        return [
            _d("log_format", "gdroute",
               "$http_x_gd_id|$gd_server|$gd_loc|$status|$uri|$sent_http_location"),
            _d("access_log", f"{p}/gd.log", "gdroute"),
            _d("ssl_certificate", self.cert), _d("ssl_certificate_key", self.key),
            *(_d(n, f"{p}/tmp/{n}") for n in (
                "client_body_temp_path", "proxy_temp_path", "fastcgi_temp_path",
                "uwsgi_temp_path", "scgi_temp_path")),
        ]

    def listen(self, args: list[str]) -> list[str]:
        """Listen arguments nginx can bind inside the namespace (addresses noted for lo)."""
        addr = args[0]
        host, _sep, port = addr.rpartition(":") if not addr.startswith("unix:") else ("", "", "")
        if host and not host.startswith("[") and not re.fullmatch(r"[\d.]+|\*", host):
            args[0] = "127.0.0.1:" + port  # a host name nginx would resolve
        elif host.startswith("[") and host not in ("[::]", "[::1]"):
            self.addresses.add(host[1:-1])
        elif re.fullmatch(r"[\d.]+", host) and host != "0.0.0.0" and not host.startswith("127."):
            self.addresses.add(host)
        elif addr.startswith("unix:"):
            args[0] = "unix:" + self.path(addr[5:])
        drop = ("spdy", "proxy_protocol", "quic", "http3", "reuseport")
        return [a for a in args if a not in drop]


def _upstream_host(addr: str) -> str:
    """An upstream server's host name becomes 127.0.0.1 (nginx resolves it at start)."""
    if addr.startswith("unix:"):
        return addr
    host, _sep, port = addr.rpartition(":") if not addr.endswith("]") else (addr, "", "")
    if not host:
        host, port = addr, "80"
    if re.fullmatch(r"[\d.]+|\[[0-9a-fA-F:]+\]", host):
        return addr
    return f"127.0.0.1:{port}"


def _handler(file: str, body: list[dict[str, Any]]) -> str | None:
    """`kind file:line` of a block's own handler directive."""
    for d in body:
        if d["directive"] in HANDLERS:
            return f"{HANDLERS[d['directive']]} {file}:{d.get('line', 0)}"
    return None


def rewrite(entry: Entry, prefix: Path, cert: str, key: str) -> tuple[str, list[str], str]:
    """Write the rewritten copy under prefix; return (main path, addresses, problems)."""
    import crossplane  # type: ignore[import-untyped]

    rw = Rewriter(str(prefix), cert, key, tuple(entry.files), entry.main)
    problems = []
    for path, text in entry.files.items():
        dest = Path(rw.path(path))
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".orig")
        tmp.write_text(text)
        res = crossplane.parse(str(tmp), single=True, catch_errors=True, check_ctx=False,
                               check_args=False, comments=False)
        tmp.unlink()
        if res["status"] != "ok":
            dest.write_text(text)
            if path == entry.main or path.endswith((".conf",)) or "sites-" in path:
                problems.append(f"{path}: {res['errors'][0].get('error')}")
            continue
        parsed = res["config"][0]["parsed"]
        ctx = "main" if path == entry.main else _guess_ctx(parsed)
        new = rw.block(path, parsed, ctx)
        if path == entry.main:
            mods = ["ngx_http_echo_module.so"]
            if rw.lua or any("lua" in t for t in entry.files.values()):
                mods = ["ndk_http_module.so", "ngx_http_lua_module.so", *mods]
            new = [_d("load_module", str(MODULES / m)) for m in mods] + [
                _d("pid", f"{prefix}/nginx.pid"), _d("worker_processes", "1"),
                _d("error_log", f"{prefix}/error.log", "warn"), _d("daemon", "off")] + new
            if not any(d["directive"] == "events" for d in new):
                new.append({"directive": "events", "args": [], "line": 0, "block": []})
        dest.write_text(crossplane.build(new, indent=2) + "\n")
    return rw.path(entry.main), sorted(rw.addresses), "; ".join(problems)


def _guess_ctx(parsed: list[dict[str, Any]]) -> str:
    """The context an included file is written for, from what it contains."""
    names = {d["directive"] for d in parsed}
    if "http" in names or "events" in names:
        return "main"
    if names & {"server", "upstream", "map", "log_format"}:
        return "http"
    if "location" in names or "listen" in names or "server_name" in names:
        return "server"
    return "location"


# ---------------------------------------------------------------- running

@dataclass(frozen=True)
class Ask:
    """One request: URL parts, the address the client connects to, the Host header sent."""

    scheme: str
    host: str
    port: int
    path: str
    addr: str

    @property
    def url(self) -> str:
        """The URL as a person would write it."""
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{h}:{self.port}{self.path}"


@dataclass
class Answer:
    """What nginx did: the server and location that ran, the handler it echoed, status."""

    server: str
    location: str
    handler: str
    status: int
    uri: str
    redirect: str
    error: str = ""


def run_all(jobs: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    """Run every job's nginx in one private network namespace; return answers by job."""
    plan = workdir / "plan.json"
    plan.write_text(json.dumps(jobs))
    out = subprocess.run(["unshare", "--net", "--pid", "--fork", "--kill-child", sys.executable,
                          __file__, str(plan)], capture_output=True, text=True, timeout=600,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"namespace run failed: {out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _serve(plan: Path) -> None:
    """Inside the namespace: bring lo up, run each job's nginx, ask, stop it."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    jobs = json.loads(plan.read_text())
    added: set[str] = set()
    results: dict[str, Any] = {}
    for job in jobs:
        for a in job["addresses"]:
            if a not in added:
                fam = "-6" if ":" in a else "-4"
                subprocess.run(["ip", fam, "addr", "add", a + ("/128" if ":" in a else "/32"),
                                "dev", "lo", "nodad"] if ":" in a else
                               ["ip", fam, "addr", "add", a + "/32", "dev", "lo"],
                               capture_output=True, check=False)
                added.add(a)
        results[job["name"]] = _one(job)
    print(json.dumps(results))


def _one(job: dict[str, Any]) -> dict[str, Any]:
    """Start one configuration's nginx, ask its URLs, stop it."""
    import time

    prefix = Path(job["prefix"])
    for sub in ("tmp", "logs"):
        (prefix / sub).mkdir(exist_ok=True)
    log = prefix / "gd.log"
    proc = subprocess.Popen([str(NGINX), "-p", str(prefix) + "/", "-c", job["main"], "-e",
                             str(prefix / "error.log")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 5
        while not (prefix / "nginx.pid").exists() and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        time.sleep(0.1)
        if proc.poll() is not None:
            err = (proc.stderr.read() if proc.stderr else "") + _read(prefix / "error.log")
            return {"error": "nginx did not start: " + err.strip()[-600:]}
        answers = []
        for n, ask in enumerate(job["asks"]):
            answers.append(_ask(ask, str(n), log))
        return {"answers": answers}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _read(p: Path) -> str:
    """A file's text, empty when it is not there."""
    return p.read_text(errors="replace") if p.exists() else ""


def _ask(ask: dict[str, Any], rid: str, log: Path) -> dict[str, Any]:
    """Send one request and read what nginx logged and echoed for it."""
    import http.client
    import socket
    import ssl
    import time

    before = len(_read(log).splitlines())
    addr = ask["addr"]
    body, status, error = "", 0, ""
    try:
        conn = http.client.HTTPConnection(addr, ask["port"], timeout=3)
        sock = socket.create_connection((addr, ask["port"]), timeout=3)
        if ask["scheme"] == "https":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            # Old configurations allow only TLSv1: accept what they offer.
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.set_ciphers("ALL:@SECLEVEL=0")
            # SNI names the Host the way a browser would (never an IP literal).
            name = ask["host"].rstrip(".")
            sni = None if re.fullmatch(r"[\d.]+|.*:.*", name) else name
            sock = ctx.wrap_socket(sock, server_hostname=sni)
        conn.sock = sock
        conn.putrequest("GET", ask["path"], skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", ask["host_header"])
        conn.putheader("X-GD-Id", rid)
        conn.endheaders()
        resp = conn.getresponse()
        status = resp.status
        body = resp.read(2000).decode(errors="replace")
        conn.close()
    except Exception as exc:  # noqa: BLE001 - nginx may close (444): its log still says why
        error = f"{type(exc).__name__}: {exc}"
    line = ""
    for _ in range(50):
        lines = _read(log).splitlines()[before:]
        line = next((ln for ln in lines if ln.startswith(rid + "|")), "")
        if line:
            break
        time.sleep(0.02)
    if not line:
        return asdict(Answer("", "", "", status, "", "", error or "no access log line"))
    parts = (line.split("|") + [""] * 6)[:6]
    handler = body.strip()[len("GDROUTE "):] if body.startswith("GDROUTE ") else ""
    return asdict(Answer(parts[1], "" if parts[2] in ("-", "") else parts[2], handler,
                         int(parts[3]) if parts[3].isdigit() else status, parts[4],
                         "" if parts[5] == "-" else parts[5]))


def iter_jobs(entries: list[Entry], asks: dict[str, list[Ask]], workdir: Path, cert: str,
              key: str) -> Iterator[dict[str, Any]]:
    """A namespace job per entry: its rewritten copy and the requests to ask it."""
    for e in entries:
        prefix = workdir / e.name
        prefix.mkdir()
        main, addrs, problems = rewrite(e, prefix, cert, key)
        yield {"name": e.name, "prefix": str(prefix), "main": main, "addresses": addrs,
               "problems": problems,
               "asks": [dict(asdict(a), host_header=_host_header(a)) for a in asks[e.name]]}


def _host_header(a: Ask) -> str:
    """The Host header a browser sends for the URL (the port only when not the default)."""
    default = {"http": 80, "https": 443}[a.scheme]
    h = f"[{a.host}]" if ":" in a.host else a.host
    return h if a.port == default else f"{h}:{a.port}"


def make_cert(workdir: Path) -> tuple[str, str]:
    """A throwaway self-signed certificate and key for every TLS listen."""
    cert, key = workdir / "gd.crt", workdir / "gd.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=gatewaydoctor-test", "-keyout", str(key), "-out", str(cert)],
                   capture_output=True, check=True)
    return str(cert), str(key)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]))
