"""A real stack with a real container: nginx → uvicorn, one of them (or nginx with the host's
network) in a Podman container; then the real agent gathers the evidence.

Run as `unshare --pid --fork --mount-proc --net python container_stack.py SCENARIO DIR OUT`
(tests/unit/test_containers.py does): a private process table and network, so the agent sees
this stack and nothing else of the host. The container's root is the host's own root under an
overlay (`--rootfs /:O`: writes inside stay in the container), since no image can be pulled
here; its network is `none` (a namespace with only its own loopback: what a container's
127.0.0.1 is) or `host`. Podman keeps its state under DIR (--root) and a tmpfs of this
mount namespace's own (--runroot, --tmpdir).

Scenarios:
- nginx-in-container: nginx in a container proxies to 127.0.0.1:8000; uvicorn listens on the
  stack's (the "host's") 127.0.0.1:8000.
- app-in-container: nginx on the host proxies to 127.0.0.1:8000; uvicorn listens on the
  container's own 127.0.0.1:8000.
- both-in-containers: nginx in one container, uvicorn in another, each with its own network.
- host-network: nginx in a container run with --network host: healthy.
- app-container: uvicorn in a container on the host's network behind nginx on the host:
  healthy, the container a service like a unit.
- app-container-crashed: the same container's app imports a module its environment lacks:
  it exited at start, and nginx answers 502.
- nat-forwarded: no container, but what runtimes do for a published port when no proxy
  process listens (Docker without its userland proxy, Podman's CNI portmap): a DNAT rule
  sends 127.0.0.1:8000 to the app on 127.0.0.1:8001, where nothing listens at 8000. Healthy.
- docker-<scenario>: the same with a real Docker daemon instead of Podman.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from managed_stack import APP, BIN, NGINX_PORT, PORT, _listening, _wait

NAME = {"nginx-in-container": ("gd-proxy",), "app-in-container": ("gd-api",),
        "both-in-containers": ("gd-proxy", "gd-api"), "host-network": ("gd-proxy",),
        "app-container": ("gd-api",), "app-container-crashed": ("gd-api",),
        "nat-forwarded": ()}
NETWORK = {"nginx-in-container": "none", "app-in-container": "none",
           "both-in-containers": "none", "host-network": "host", "app-container": "host",
           "app-container-crashed": "host", "nat-forwarded": "host"}
# The kernel here refuses podman's default rlimits (above the hard limit) and cgroup v1/v2
# hybrids defeat crun: runc, with limits it may set.
# podman wants a run root of at most 50 characters: a tmpfs of this mount namespace's own.
RUNROOT = "/mnt"
# The kernel here refuses podman's default rlimits (above the hard limit) and cgroup v1/v2
# hybrids defeat crun: runc, with limits it may set. Set through the environment, so the
# agent's own `podman ps` reads the same store, as a user's shell would.
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
[engine]
runtime = "runc"
tmp_dir = "{run}/tmp"
events_logger = "none"
"""
STORAGE_CONF = """[storage]
driver = "overlay"
graphroot = "{base}/store"
runroot = "{run}/run"
"""


def configure(base: Path) -> None:
    """Point podman (this script's and the agent's) at a store under base."""
    (base / "containers.conf").write_text(CONTAINERS_CONF.format(run=RUNROOT))
    (base / "storage.conf").write_text(STORAGE_CONF.format(base=base, run=RUNROOT))
    os.environ["CONTAINERS_CONF"] = str(base / "containers.conf")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(base / "storage.conf")


RUNTIME = ["podman"]  # the CLI the scenario's containers run with: podman, or docker


def podman(base: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The scenario's container CLI (podman configured by configure(), or docker talking to
    the daemon start_docker() started)."""
    done = subprocess.run([*RUNTIME, *args], capture_output=True, text=True, timeout=120,
                          check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{RUNTIME[0]} {' '.join(args)}: exit {done.returncode}\n"
                           f"{done.stderr}")
    return done


def start_docker(base: Path) -> None:
    """A real dockerd of this namespace's own: its data under base, its sockets and
    containerd's on tmpfs (/run, /etc/docker and /opt hidden from the host's by this
    mount namespace), no bridge or packet-filter rules; an empty image, the host's files mounted
    read-only in each container instead (no image can be pulled here)."""
    for where in ("/run", "/etc/docker", "/opt"):  # /opt: containerd's plugin folders
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", where], check=True, timeout=10)
    log = (base / "dockerd.log").open("ab")
    subprocess.Popen(["dockerd", "--data-root", str(base / "docker"), "--exec-root",
                      f"{RUNROOT}/docker", "-H", f"unix://{RUNROOT}/docker.sock", "--pidfile",
                      f"{RUNROOT}/docker.pid", "--iptables=false", "--ip6tables=false",
                      "--bridge=none", "--storage-driver=vfs"],
                     stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                     start_new_session=True)
    os.environ["DOCKER_HOST"] = f"unix://{RUNROOT}/docker.sock"
    RUNTIME[:] = ["docker"]
    _wait(lambda: podman(base, "version", check=False).returncode == 0, "dockerd",
          log=base / "dockerd.log")
    empty = subprocess.run(["tar", "cf", "-", "--files-from", "/dev/null"], check=True,
                           capture_output=True, timeout=10).stdout
    subprocess.run(["docker", "import", "-", "gd-empty"], input=empty, check=True,
                   capture_output=True, timeout=60)


def _docker_mounts(base: Path) -> list[str]:
    """What a container of the empty image needs from the host: the system, this Python and
    its venv, read-only; the stack's folder, writable (nginx's logs land there)."""
    ro = {"/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", sys.base_prefix, sys.prefix,
          str(Path(__file__).resolve().parents[2])}
    out = [f"-v{p}:{p}:ro" for p in sorted(ro) if Path(p).exists()]
    return [*out, f"-v{base}:{base}"]


def _nginx_conf(base: Path) -> Path:
    temps = "".join(f"    {k}_temp_path {base}/{k};\n"
                    for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = base / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\nerror_log {base}/error.log;\npid {base}/nginx.pid;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{\n    access_log {base}/access.log;\n{temps}"
        f"    server {{\n        listen 127.0.0.1:{NGINX_PORT};\n        root {base}/app;\n"
        f"        location / {{ proxy_pass http://127.0.0.1:{PORT}; }}\n    }}\n}}\n")
    return conf


def _run(base: Path, name: str, network: str, *command: str) -> None:
    where = ["--rootfs", "/:O"] if RUNTIME == ["podman"] else [*_docker_mounts(base),
                                                                "gd-empty"]
    podman(base, "run", "-d", "--name", name, "--network", network, "-w", str(base / "app"),
           *where, *command)


def _pid_in(base: Path, name: str) -> int:
    out = podman(base, "inspect", "--format", "{{.State.Pid}}", name).stdout.strip()
    return int(out)


def _get(url: str, netns_pid: int | None = None) -> int:
    """GET url (from inside the network namespace of netns_pid, when given): its status."""
    if netns_pid is not None:
        code = ("import urllib.request, urllib.error\ntry:\n"
                f"    print(urllib.request.urlopen({url!r}, timeout=5).status)\n"
                "except urllib.error.HTTPError as e:\n    print(e.code)\n"
                "except OSError:\n    print(0)\n")
        out = subprocess.run(["nsenter", "-t", str(netns_pid), "-n", sys.executable, "-c", code],
                             capture_output=True, text=True, timeout=30, check=True)
        return int(out.stdout.strip())
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


NAT_RULES = f"""table ip gdnat {{
    chain output {{
        type nat hook output priority -100; policy accept;
        ip daddr 127.0.0.1 tcp dport {PORT} dnat to 127.0.0.1:{PORT + 1}
    }}
}}
"""


def _nat_forwarded(base: Path, conf: Path) -> dict[str, object]:
    """uvicorn on PORT + 1, reached at PORT through a DNAT rule of this namespace's own."""
    subprocess.run(["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"], check=True,
                   timeout=10)
    subprocess.run(["nft", "-f", "-"], input=NAT_RULES, text=True, check=True, timeout=10)
    log = base / "uvicorn.out"
    subprocess.Popen([str(BIN / "uvicorn"), "main:app", "--host", "127.0.0.1", "--port",
                      str(PORT + 1)], cwd=base / "app", stdout=log.open("ab"),
                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    _wait(lambda: _listening(PORT), "uvicorn through the DNAT rule", log=log)
    subprocess.run(["/usr/sbin/nginx", "-c", str(conf)], check=True, timeout=20)
    url = f"http://127.0.0.1:{NGINX_PORT}/"
    _wait(lambda: _get(url) == 200, "nginx's 200")
    return {"status": _get(url)}


def _state(base: Path, scenario: str) -> dict[str, object]:
    conf = _nginx_conf(base)
    if scenario == "nat-forwarded":
        return _nat_forwarded(base, conf)
    uvicorn = [str(BIN / "uvicorn"), "main:app", "--host", "127.0.0.1", "--port", str(PORT)]
    nginx = ["/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"]
    url = f"http://127.0.0.1:{NGINX_PORT}/"
    if scenario == "app-container-crashed":
        (base / "app" / "main.py").write_text("import stripe_payments_sdk\n\n" + APP)
        _run(base, "gd-api", NETWORK[scenario], *uvicorn)
        _wait(lambda: podman(base, "inspect", "--format", "{{.State.Status}}",
                             "gd-api").stdout.strip() == "exited", "the app's container to exit")
    elif "gd-api" in NAME[scenario]:
        _run(base, "gd-api", NETWORK[scenario], *uvicorn)
        pid = _pid_in(base, "gd-api")
        _wait(lambda: _get(f"http://127.0.0.1:{PORT}/", pid) == 200, "uvicorn in the container")
    else:
        log = base / "uvicorn.out"
        subprocess.Popen(uvicorn, cwd=base / "app", stdout=log.open("ab"),
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)
        _wait(lambda: _listening(PORT), "uvicorn", log=log)
    if "gd-proxy" not in NAME[scenario]:
        subprocess.run(["/usr/sbin/nginx", "-c", str(conf)], check=True, timeout=20)
        want = 200 if scenario == "app-container" else 502
        _wait(lambda: _get(url) == want, f"nginx's {want}")
        return {"status": _get(url)}
    _run(base, "gd-proxy", NETWORK[scenario], *nginx)
    pid = _pid_in(base, "gd-proxy")
    want = 200 if scenario == "host-network" else 502
    _wait(lambda: _get(url, pid) == want, f"nginx in the container answering {want}")
    return {"status": _get(url, pid)}


def main(scenario: str, base: Path, out: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=10)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=700", "tmpfs", RUNROOT], check=True,
                   timeout=10)
    (base / "app").mkdir(parents=True)
    (base / "app" / "main.py").write_text(APP)
    configure(base)
    if scenario.startswith("docker-"):
        start_docker(base)
        scenario = scenario[len("docker-"):]
    try:
        seen = _state(base, scenario)
        from gatewaydoctor.agent.gather import gather

        evidence = gather()
        evidence["test_seen"] = seen
        out.write_text(json.dumps(evidence), encoding="utf-8")
    finally:
        podman(base, "rm", "-f", *NAME[scenario], check=False)
        if RUNTIME == ["docker"]:
            docker = Path(f"{RUNROOT}/docker.pid")
            if docker.exists():
                os.kill(int(docker.read_text()), 15)
                _wait(lambda: not docker.exists(), "dockerd to stop")
        if "gd-proxy" not in NAME[scenario] and (base / "nginx.pid").exists():
            subprocess.run(["/usr/sbin/nginx", "-c", str(base / "nginx.conf"), "-s", "stop"],
                           timeout=20, check=False)
        time.sleep(0.2)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
