"""Where a new nginx site goes and whether nginx accepts it: the running master's
configuration (else an init script's nginx, else `nginx -V`'s --conf-path), the folder its
http block already includes sites from (sites-enabled, conf.d, a Baota vhost folder), and
`nginx -t` over the whole configuration with the new site in place — seen through a private
mount namespace, so nothing is written on the host before nginx has said yes."""

from __future__ import annotations

import fnmatch
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from ..agent import nginxscan
from ..errors import GatewayDoctorError
from ..formats.nginx import tree
from ..i18n import _

TEST_TIMEOUT = 30.0
# Folders of sites by the names layouts give them, most specific first.
_SITE_DIRS = ("sites-enabled", "vhost", "vhosts", "conf.d", "http.d", "servers")


@dataclass(frozen=True)
class Nginx:
    """The nginx that serves this host: how to run it and where its configuration is."""

    argv: tuple[str, ...]  # binary with the master's -p/-c/-g
    conf: str
    found_by: str


@dataclass(frozen=True)
class SiteDir:
    """A folder the http block includes with a glob, and the pattern it uses."""

    folder: str
    pattern: str  # the include's glob, absolute

    def path_for(self, name: str) -> str:
        return os.path.join(self.folder, f"{name}.conf")

    def loads(self, path: str) -> bool:
        return fnmatch.fnmatch(path, self.pattern)

    @property
    def available(self) -> str | None:
        """Debian's sites-available beside sites-enabled: the file goes there, linked."""
        if os.path.basename(self.folder) != "sites-enabled":
            return None
        other = os.path.join(os.path.dirname(self.folder), "sites-available")
        return other if os.path.isdir(other) else None


def _version(binary: str) -> str:
    try:
        proc = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stderr + proc.stdout


def find() -> Nginx:
    """The running master's nginx, else an init script's, else the one on PATH."""
    master = nginxscan.chosen(nginxscan.masters())
    how = _("the running master (pid {pid})").format(pid=master["pid"]) if master else ""
    if master is None:
        master = next(iter(nginxscan.from_init_scripts()), None)
        how = _("the init script {path}").format(path=master["cmdline"]) if master else ""
    argv = nginxscan.command(master)
    if master is None and not shutil.which(argv[0]):
        raise GatewayDoctorError(_("no nginx found: none runs, no init script starts one, "
                                   "none on PATH; install nginx or write the site with "
                                   "--output FILE"))
    conf = nginxscan.conf_path(_version(argv[0]), master)
    if "-c" in argv:  # the configuration is named apart: test() and the hints add it
        at = argv.index("-c")
        argv = argv[:at] + argv[at + 2:]
    return Nginx(tuple(argv), conf, how or _("{binary} -V").format(binary=argv[0]))


def _included(conf: str, pattern: str) -> str:
    return pattern if pattern.startswith("/") else os.path.join(os.path.dirname(conf), pattern)


def _read(path: str) -> list[dict[str, Any]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return tree(fh.read())
    except OSError:
        return []


def site_dirs(conf: str) -> list[SiteDir]:
    """Every folder the http block includes sites from with a glob, in the file's order."""
    out: list[SiteDir] = []
    seen: set[str] = set()

    def visit(block: list[dict[str, Any]], in_http: bool) -> None:
        for d in block:
            if d["directive"] == "http":
                visit(d.get("block") or [], True)
            elif d["directive"] == "include" and d["args"] and in_http:
                pattern = _included(conf, d["args"][0])
                if glob.has_magic(os.path.basename(pattern)) and \
                        os.path.isdir(os.path.dirname(pattern)):
                    out.append(SiteDir(os.path.dirname(pattern), pattern))
                for path in sorted(glob.glob(pattern)):
                    if path not in seen and len(seen) < 200:
                        seen.add(path)
                        visit(_read(path), True)

    if not os.path.isfile(conf):
        raise GatewayDoctorError(_("nginx's configuration {conf} is not there").format(
            conf=conf))
    visit(_read(conf), False)
    return list({s.folder: s for s in out}.values())


def site_dir(conf: str) -> SiteDir:
    """The folder a new site goes to: the one named as layouts name it, else the first."""
    found = site_dirs(conf)
    if not found:
        raise GatewayDoctorError(_(
            "{conf} includes no folder of sites in its http block (an `include dir/*.conf;`): "
            "add one, or write the site with --output FILE and include it yourself").format(
            conf=conf))
    for name in _SITE_DIRS:
        for site in found:
            if os.path.basename(site.folder) == name:
                return site
    return found[0]


def test(nginx: Nginx, site: SiteDir, name: str, text: str) -> tuple[bool, str]:
    """`nginx -t` on the whole configuration with the new site in place (and the old one of
    that name gone), in a private mount namespace: the site folder is a copy with it."""
    with tempfile.TemporaryDirectory(prefix="gatewaydoctor-site-") as tmp:
        copy = os.path.join(tmp, "sites")
        shutil.copytree(site.folder, copy, symlinks=True)
        new = os.path.join(copy, os.path.basename(site.path_for(name)))
        if os.path.lexists(new):
            os.unlink(new)
        with open(new, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(copy, 0o755)
        os.chmod(new, 0o644)
        return _in_namespace([("bind", copy, site.folder)],
                             [*nginx.argv, "-c", nginx.conf, "-t"])


def test_alone(binary: str, text: str) -> tuple[bool, str]:
    """`nginx -t` of the site alone in a minimal configuration (for --output FILE)."""
    with tempfile.TemporaryDirectory(prefix="gatewaydoctor-site-") as tmp:
        site = os.path.join(tmp, "site.conf")
        with open(site, "w", encoding="utf-8") as fh:
            fh.write(text)
        main = os.path.join(tmp, "nginx.conf")
        with open(main, "w", encoding="utf-8") as fh:
            fh.write(f"pid {tmp}/nginx.pid;\nerror_log {tmp}/error.log;\nevents {{}}\n"
                     f"http {{\n    access_log off;\n    include {site};\n}}\n")
        return _run([binary, "-p", tmp, "-c", main, "-t"])


def _run(argv: list[str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TEST_TIMEOUT,
                              check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    return proc.returncode == 0, (proc.stderr + proc.stdout).strip()


def _in_namespace(binds: list[tuple[str, str, str]], argv: list[str]) -> tuple[bool, str]:
    script = "mount --make-rprivate / && " + " && ".join(
        f'mount --bind "${i + 1}" "${i + 2}"' for i in range(0, 2 * len(binds), 2)
    ) + f' && shift {2 * len(binds)} && exec "$@"'
    args = [a for _k, src, dst in binds for a in (src, dst)]
    unshare = ["unshare", "--mount"] if os.geteuid() == 0 else \
        ["unshare", "--user", "--map-root-user", "--mount"]
    return _run([*unshare, "/bin/sh", "-c", script, "sh", *args, *argv])
