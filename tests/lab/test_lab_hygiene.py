"""The lab must leave the host exactly as it found it (DESIGN.md, "Hazard")."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gdlab import stop_stack
from labtools import boot, host_listeners


def _cgroup_state() -> tuple[list[str], str]:
    root = Path("/sys/fs/cgroup")
    mount = next(
        line for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split(" ")[4] == "/sys/fs/cgroup"
    )
    return sorted(os.listdir(root)), mount.split(" - ")[1]


def test_lab_run_leaves_host_tmp_ports_and_cgroups_unchanged() -> None:
    fd, marker_name = tempfile.mkstemp(prefix="gdlab-hygiene-", dir="/tmp")
    os.write(fd, b"still here\n")
    os.close(fd)
    marker = Path(marker_name)
    listeners_before = host_listeners()
    cgroups_before = _cgroup_state()
    hostname_before = Path("/proc/sys/kernel/hostname").read_text()
    try:
        stack = boot()
        try:
            # The stack really runs: nginx on :80 and the app on :8000, inside the lab only.
            inside = stack.lab.run(["ss", "-Htln"]).stdout
            assert ":80 " in inside and ":8000 " in inside
            assert stack.curl_status("/health") == 200
            # ...and the lab's private /tmp does not show the host's file.
            assert stack.lab.run(["test", "-e", str(marker)]).returncode != 0
        finally:
            stop_stack(stack)
        assert marker.read_text() == "still here\n"
        assert host_listeners() == listeners_before
        assert _cgroup_state() == cgroups_before
        assert Path("/proc/sys/kernel/hostname").read_text() == hostname_before
        # Only this lab's cgroups: other labs may be running beside this one.
        ours = f"gdlab-{stack.lab.id}"
        leftovers = [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                     if ours in line]
        # os.walk, not glob: other labs' cgroups may vanish while we walk.
        for top, dirs, _ in os.walk("/sys/fs/cgroup", onerror=lambda _: None):
            leftovers += [os.path.join(top, d) for d in dirs if d == ours]
        assert leftovers == []
    finally:
        marker.unlink(missing_ok=True)
