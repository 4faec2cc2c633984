"""formats.container reads the container a process runs in from its cgroup, as each runtime
names it (Docker's and Podman's cgroup drivers, containerd/CRI-O under Kubernetes, LXC,
systemd-nspawn); a service's or a session's cgroup is no container."""

from __future__ import annotations

import pytest

from gatewaydoctor.formats.container import container_of

ID = "f526ecf40eace1c6ebb8c480866dcbe0fdb0ddc6a165b5ea4aca0b9ae95c7546"


@pytest.mark.parametrize(("cgroup", "expected"), [
    (f"/system.slice/docker-{ID}.scope", ("docker", ID)),
    (f"/docker/{ID}", ("docker", ID)),
    (f"/machine.slice/libpod-{ID}.scope", ("podman", ID)),
    (f"/libpod_parent/libpod-{ID}", ("podman", ID)),  # recorded: podman 4.3, cgroupfs
    (f"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c.slice/"
     f"cri-containerd-{ID}.scope", ("containerd", ID)),
    (f"/kubepods.slice/kubepods-pod1b2c.slice/crio-{ID}.scope", ("cri-o", ID)),
    (f"/kubepods/besteffort/pod0f1e2d3c-aaaa-bbbb-cccc-000000000000/{ID}", ("kubernetes", ID)),
    ("/kubepods.slice/kubepods-pod1.slice/cri-x.scope", ("kubernetes", "x")),
    ("/lxc.payload.web01", ("lxc", "web01")),
    ("/lxc/web01", ("lxc", "web01")),
    ("/machine.slice/machine-shop\\x2dproxy.scope", ("systemd-nspawn", "shop-proxy")),
])
def test_a_container_cgroup_names_its_runtime_and_id(
        cgroup: str, expected: tuple[str, str]) -> None:
    assert container_of(cgroup) == expected


@pytest.mark.parametrize("cgroup", [
    "/system.slice/nginx.service", "/user.slice/user-1000.slice/session-3.scope", "/", "",
    None, f"/machine.slice/libpod-conmon-{ID}.scope", "/docker", "/system.slice/docker.service",
    "/kubepods.slice/kubepods-burstable.slice",
])
def test_no_container(cgroup: str | None) -> None:
    assert container_of(cgroup) is None
