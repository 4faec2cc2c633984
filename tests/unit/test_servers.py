"""Every Python web server people put behind nginx, run for real: hypercorn, daphne, waitress,
granian, `flask run` and `manage.py runserver`, each started by hand behind a real nginx in
namespaces of its own (tests/unit/servers_stack.py), healthy or failing as that server fails;
the real agent gathers and the real rules name the first cause.

The stacks run in parallel (each has its own process table and network, so the same ports),
once per session; one stack takes a few seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from gatewaydoctor.diagnose import Diagnosis, diagnose
from gatewaydoctor.evidence import load
from gatewaydoctor.facts import Facts
from gatewaydoctor.facts import signatures as sig
from gatewaydoctor.parse import build_facts
from gatewaydoctor.rules import all_rules, run_rules

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SERVERS = ("hypercorn", "daphne", "waitress", "granian", "flask", "django")
# What each server's command is called in the process table and in execspec.
SERVER_NAMES = {"waitress": "waitress-serve"}
SCRIPTS = ("hypercorn", "daphne", "waitress-serve", "granian", "flask", "django-admin")
FAULTS = ("healthy", "missing-dependency", "wrong-target", "port-conflict")
# The first cause each fault must be named by (None: healthy, no finding at all).
EXPECTED = {"healthy": None, "missing-dependency": "app.missing_dependency",
            "wrong-target": "app.wrong_target", "port-conflict": "port.conflict"}
PARALLEL = 6

Run = Tuple[Dict[str, Any], Facts, Diagnosis]


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces)"
    absent = [t for t in ("unshare", "ip") if shutil.which(t) is None]
    if not Path("/usr/sbin/nginx").exists():
        absent.append("nginx")
    absent += [f"{s} in the test venv" for s in SCRIPTS if not (BIN / s).exists()]
    return f"missing: {', '.join(absent)} (pip install -e '.[dev]')" if absent else None


def _run(base: Path, server: str, fault: str) -> Path:
    """One stack, in its own namespaces: the evidence file the agent wrote."""
    out = base / f"{server}-{fault}.json"
    proc = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", "--net", sys.executable,
         str(HERE / "servers_stack.py"), server, fault, str(base / f"{server}-{fault}"),
         str(out)], capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, f"{server} {fault}: {proc.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Run]:
    """Every server × fault, gathered and diagnosed (the stacks started side by side)."""
    why = _missing()
    if why and IN_CI:
        pytest.fail(f"nginx, the servers and namespaces are needed in CI: {why}")
    if why:
        pytest.skip(why)
    base = tmp_path_factory.mktemp("servers")
    combos = [(s, f) for s in SERVERS for f in FAULTS]
    with ThreadPoolExecutor(PARALLEL) as pool:
        files = list(pool.map(lambda sf: _run(base, *sf), combos))
    runs = {}
    for combo, path in zip(combos, files):
        facts = build_facts(load(str(path)))
        runs[combo] = (json.loads(path.read_text()), facts,
                       diagnose(facts, run_rules(facts, all_rules())))
    return runs


def _first(d: Diagnosis) -> str | None:
    return d.causes[0].category if d.causes else None


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("server", SERVERS)
def test_first_cause(stacks: dict[tuple[str, str], Run], server: str, fault: str) -> None:
    _ev, _facts, d = stacks[(server, fault)]
    if fault == "healthy":
        assert d.verdict == "healthy" and not d.findings, [f.title for f in d.findings]
    else:
        assert d.verdict == "broken"
        assert _first(d) == EXPECTED[fault], [(f.category, f.title) for f in d.causes]


@pytest.mark.parametrize("server", SERVERS)
def test_healthy_server_is_its_own_service(stacks: dict[tuple[str, str], Run],
                                           server: str) -> None:
    """The server started by hand is a service: which server, its port, in the chain."""
    _ev, facts, d = stacks[(server, "healthy")]
    (service,) = [u for u in facts.units or () if u.manager == "process"]
    assert service.state == "active/running"
    assert service.server == SERVER_NAMES.get(server, server)
    assert [b.port for b in service.binds] == [8000]
    hops = [(h.layer, h.name) for c in d.chains for h in c.hops]
    assert ("unit", service.name) in hops


@pytest.mark.parametrize("server", SERVERS)
def test_port_conflict_names_the_squatter(stacks: dict[tuple[str, str], Run],
                                          server: str) -> None:
    """Whatever the server's line says (some name no address), the port and the process
    that holds it are named, and the fix stops that process."""
    _ev, facts, d = stacks[(server, "port-conflict")]
    (squatter,) = [p for p in facts.processes or () if "http.server" in p.cmdline]
    top = d.causes[0]
    assert top.symbol == "port-conflict"
    assert f"port 8000 is already in use by pid {squatter.pid}" in top.title
    assert f"kill {squatter.pid}" in top.fix.commands


@pytest.mark.parametrize("server", SERVERS)
def test_wrong_target_names_the_target(stacks: dict[tuple[str, str], Run], server: str) -> None:
    """The target the server could not load, from its own words (a gone server's command is
    lost; Django's target is in its settings)."""
    _ev, _facts, d = stacks[(server, "wrong-target")]
    want = "site_conf.wsgi:app" if server == "django" else "main:application"
    assert d.causes[0].title.endswith(f"cannot load {want}")


@pytest.mark.parametrize("server", SERVERS)
def test_missing_dependency_names_the_module(stacks: dict[tuple[str, str], Run],
                                             server: str) -> None:
    """The module, and the Python to install it into: a gone server's own (its traceback's
    site-packages frames), not python3; waitress prints no traceback."""
    _ev, _facts, d = stacks[(server, "missing-dependency")]
    assert "the module 'gd_missing_package' is not installed" in d.causes[0].title
    install = d.causes[0].fix.commands[0]
    if server == "waitress":
        assert install.startswith("python3 -m pip install gd_missing_package")
    else:
        assert install.startswith(f"{BIN}/python"), install


# What a gone server's output alone tells (facts/signatures.py), on lines these servers wrote
# in the runs above.

@pytest.mark.parametrize(("lines", "server", "target"), [
    (["[2026-12-01 21:50:03 +0000] [8] [INFO] Running on http://127.0.0.1:8000 (CTRL + C to "
      "quit)", "Traceback (most recent call last):",
      '  File "/root/.pyenv/versions/3.11.7/lib/python3.11/multiprocessing/process.py", '
      "line 314, in _bootstrap",
      '  File "/v/lib/python3.11/site-packages/hypercorn/asyncio/run.py", line 186, in '
      "asyncio_worker",
      "hypercorn.utils.NoAppError: Cannot load application from 'main:application', "
      "application not found."], "hypercorn", ("main", "application")),
    (['  File "/v/lib/python3.11/site-packages/daphne/utils.py", line 22, in import_by_path',
      "    target = getattr(target, bit)", "             ^^^^^^^^^^^^^^^^^^^^",
      "AttributeError: module 'main' has no attribute 'application'"],
     "daphne", ("main", "application")),
    (["[INFO] Starting granian (main PID: 6)",
      '  File "/v/lib/python3.11/site-packages/granian/_internal.py", line 68, in load_target',
      "    rv = getattr(rv, element)", "AttributeError: module 'main' has no attribute 'nope'"],
     "granian", ("main", "nope")),
    (["Usage:", "", "    waitress-serve [OPTS] MODULE:OBJECT", "",
      "There was an exception (AttributeError) importing your module.", "",
      "It had these arguments: ", "1. module 'main' has no attribute 'application'"],
     "waitress-serve", ("main", "application")),
    (["Usage: flask run [OPTIONS]", "Try 'flask run --help' for help.", "",
      "Error: Failed to find attribute 'application' in 'main'."], "flask",
     ("main", "application")),
    (["django.core.exceptions.ImproperlyConfigured: WSGI application 'site_conf.wsgi.app' "
      "could not be loaded; Error importing module."], None, ("site_conf.wsgi", "app")),
    # The app's own AttributeError, outside any server's loader, names no target.
    (['  File "/srv/app/main.py", line 3, in <module>', "    settings.nope",
      "AttributeError: module 'settings' has no attribute 'nope'"], None, None),
])
def test_what_a_servers_output_says(lines: list[str], server: str | None,
                                    target: tuple[str, str] | None) -> None:
    assert sig.server_in_output(lines) == server
    assert sig.target_in_output(lines) == target


@pytest.mark.parametrize(("frame", "python"), [
    ('  File "/srv/app/.venv/lib/python3.11/site-packages/hypercorn/run.py", line 39, in run',
     "/srv/app/.venv/bin/python3.11"),
    ('  File "/usr/local/lib/python3.12/site-packages/flask/cli.py", line 1, in main',
     "/usr/local/bin/python3.12"),
    ('  File "/home/u/.local/lib/python3.11/site-packages/flask/cli.py", line 1, in main', None),
    ('  File "/usr/lib/python3/dist-packages/flask/cli.py", line 1, in main', None),
])
def test_the_python_a_traceback_ran_in(frame: str, python: str | None) -> None:
    assert sig.interpreter_of(f"Traceback (most recent call last):\n{frame}\n") == python
