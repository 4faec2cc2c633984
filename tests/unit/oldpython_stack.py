"""A real stack for the agent on old Pythons: nginx → uvicorn started by hand, and a pm2
daemon run by nobody (so the agent switches user to ask it); then the agent, shipped as a
remote host gets it, gathers with each interpreter named, one after the other.

Run as `unshare --pid --fork --mount-proc --net --mount python oldpython_stack.py DIR SHIP
OUT PYTHON...` (tests/unit/test_agent_python36.py does): a private process table and
network, so every interpreter sees the same stack and nothing of the host. SHIP holds
gatewaydoctor/ with __init__.py, formats/ and agent/ only; OUT gets one JSON per PYTHON.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from managed_stack import (
    APP,
    _by_hand,
    _listening,
    _nginx,
    _pm2,
    _pm2_status,
    _through_nginx,
    _user_base,
    _wait,
)

# Runs in the old interpreter, isolated (-I -S: no site-packages, no PYTHON* variables):
# every module of the agent and of formats imported (a lazily imported one too), then the
# agent's gather.
GATHER = r"""
import json, pkgutil, importlib, sys
ship, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, ship)
import gatewaydoctor.agent, gatewaydoctor.formats
modules = []
for pkg in (gatewaydoctor.agent, gatewaydoctor.formats):
    for info in pkgutil.iter_modules(pkg.__path__):
        modules.append(importlib.import_module(pkg.__name__ + "." + info.name).__name__)
assert all(m.__file__.startswith(ship) for n, m in sys.modules.items()
           if n.startswith("gatewaydoctor")), "imported from outside the shipped copy"
evidence = gatewaydoctor.agent.gather()
with open(out, "w") as fh:
    json.dump({"python": list(sys.version_info[:3]), "modules": sorted(modules),
               "self_pid": evidence["items"]["proc.processes"]["data"]["self_pid"],
               "evidence": evidence}, fh)
"""


def main(base: Path, ship: Path, out: Path, pythons: list[str]) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    (base / "app").mkdir(parents=True)
    (base / "app" / "main.py").write_text(APP)
    _nginx(base)
    where = _user_base()
    try:
        _by_hand(base, "main:app")
        _wait(lambda: _listening(8000), "the hand-started uvicorn")
        assert _through_nginx() == 200
        _pm2(where, "start", "/bin/sleep", "--name", "idle", "--interpreter", "none", "--",
             "600")
        _wait(lambda: _pm2_status(where) == "online", "sleep under nobody's pm2")
        for n, python in enumerate(pythons):
            path = out / f"{n}.json"
            ran = subprocess.run([python, "-I", "-S", "-c", GATHER, str(ship), str(path)],
                                 stderr=subprocess.PIPE, timeout=180, cwd="/", check=False)
            if ran.returncode != 0:  # the test says which interpreter failed, and how
                path.write_text(json.dumps({"failed": ran.stderr.decode(errors="replace")}))
                continue
            # What asking nobody's pm2 left there that nobody does not own: the agent ran
            # pm2 as root, had it not switched user.
            run = json.loads(path.read_text())
            run["foreign_files"] = [str(p) for p in (where / "pm2").rglob("*")
                                    if p.lstat().st_uid != 65534]
            path.write_text(json.dumps(run))
    finally:
        if (where / "pm2").exists():
            _pm2(where, "kill")
        pid = base / "nginx.pid"
        if pid.exists():
            os.kill(int(pid.read_text()), signal.SIGTERM)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
