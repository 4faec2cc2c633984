"""Which container a process runs in, read from its cgroup path (standard library only).

Each runtime names the cgroup it puts a container in after the container's id:
- Docker: `/system.slice/docker-<id>.scope` (systemd cgroup driver) or `/docker/<id>`
  (cgroupfs driver);
- Podman: `/machine.slice/libpod-<id>.scope` or `/libpod_parent/libpod-<id>`
  (`libpod-conmon-<id>.scope` holds podman's monitor, not the container);
- containerd and CRI-O under Kubernetes: `cri-containerd-<id>.scope`, `crio-<id>.scope`,
  or `/kubepods/<qos>/pod<uid>/<id>`;
- LXC: `/lxc.payload.<name>` (LXC 4+) or `/lxc/<name>`;
- systemd-nspawn and machinectl: `/machine.slice/machine-<name>.scope` (the name escaped
  as systemd escapes unit names: `-` is `\x2d`).
"""

import re
from typing import Optional, Tuple

_SCOPE_RE = re.compile(
    r"^(?P<kind>docker|libpod|cri-containerd|crio)-(?P<id>[0-9a-f]{12,64})(?:\.scope)?$")
_HEX_ID_RE = re.compile(r"^[0-9a-f]{64}$")
RUNTIMES = {"docker": "docker", "libpod": "podman", "cri-containerd": "containerd",
            "crio": "cri-o"}


def container_of(cgroup: Optional[str]) -> Optional[Tuple[str, str]]:
    """(runtime, id or name) of the container whose cgroup this is; None outside one."""
    parts = [p for p in (cgroup or "").split("/") if p]
    for i, part in enumerate(parts):
        m = _SCOPE_RE.match(part)
        if m:
            return RUNTIMES[m.group("kind")], m.group("id")
        if part.startswith("lxc.payload."):
            return "lxc", part[len("lxc.payload."):]
        if part.startswith("machine-") and part.endswith(".scope") and "libpod" not in part:
            return "systemd-nspawn", part[len("machine-"):-len(".scope")].replace("\\x2d", "-")
        following = parts[i + 1] if i + 1 < len(parts) else ""
        if part == "lxc" and following:
            return "lxc", following
        if part == "docker" and _HEX_ID_RE.match(following):
            return "docker", following
    if len(parts) > 2 and parts[0].startswith("kubepods") and "pod" in parts[-2]:
        # A pod's container, whatever its runtime calls the leaf.
        leaf = parts[-1][:-len(".scope")] if parts[-1].endswith(".scope") else parts[-1]
        return "kubernetes", leaf.rpartition("-")[2]
    return None
