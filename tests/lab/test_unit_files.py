"""The agent reads a unit's files itself: byte for byte what `systemctl cat` shows, in the
lab's real systemd, for a unit with a drop-in and for one changed on disk since loaded."""

from __future__ import annotations

import json
import sys
from typing import Any

from gdlab import stop_stack
from labtools import boot

UNIT = "fastapi-backend.service"
CAT = (
    "import json, sys\n"
    "from gatewaydoctor.agent import unitscan\n"
    "from gatewaydoctor.formats import systemd\n"
    "from gatewaydoctor.agent.runner import run\n"
    "unit = sys.argv[1]\n"
    "show = run('s', ['systemctl', 'show', unit, '--no-pager'])['stdout']\n"
    "props = systemd.parse_show(show)[0]\n"
    "json.dump({'ours': unitscan.cat('c', unit, props),\n"
    "           'systemctl': run('c', ['systemctl', 'cat', unit, '--no-pager']),\n"
    "           'reload': props.get('NeedDaemonReload')}, sys.stdout)\n"
)


def _both(stack: Any, unit: str) -> dict[str, Any]:
    out = stack.lab.run([sys.executable, "-c", CAT, unit], timeout=60, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def test_unit_files_read_as_systemctl_cat_shows_them() -> None:
    stack = boot()
    try:
        dropin = stack.units / f"{UNIT}.d"
        dropin.mkdir(exist_ok=True)
        (dropin / "10-limits.conf").write_text("[Service]\nLimitNOFILE=4096\n")
        (dropin / "20-env.conf").write_text("[Service]\nEnvironment=A=1\n")
        stack.lab.run(["systemctl", "daemon-reload"], check=True)
        for unit in (UNIT, "nginx.service"):
            got = _both(stack, unit)
            assert got["ours"]["error"] is None, got["ours"]
            assert got["ours"]["stdout"] == got["systemctl"]["stdout"], unit
        assert "# /etc/systemd/system/fastapi-backend.service.d/20-env.conf" in \
            _both(stack, UNIT)["ours"]["stdout"]

        # Changed on disk, not reloaded: the files as they are now, as systemctl shows them.
        unit_file = stack.units / UNIT
        unit_file.write_text(unit_file.read_text().replace("RestartSec=2", "RestartSec=3"))
        got = _both(stack, UNIT)
        assert got["reload"] == "yes"
        assert "RestartSec=3" in got["ours"]["stdout"]
        assert got["ours"]["stdout"] == got["systemctl"]["stdout"]
    finally:
        stop_stack(stack)
