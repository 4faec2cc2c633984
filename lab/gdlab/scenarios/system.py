"""Faults of the host under the app: OOM kill, full disk, a firewall rule, a server run by hand."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

from ..stack import APP_DIR, SERVER_NAME, Stack
from ..venv import LAB_VENV_PATH
from . import UNIT, scenario, wait_status
from .app import append_to_main

MEMORY_MAX = "150M"
HOG = (
    "\n\n@app.get(\"/api/report\")\n"
    "def report() -> dict[str, int]:\n"
    "    rows = [b\"x\" * (1 << 20) for _ in range(600)]  # a whole table read into memory\n"
    "    return {\"rows\": len(rows)}\n"
)
WRITE_AT_STARTUP = (
    "\n\nimport json as _json\nimport os as _os\n\n\n"
    "@app.on_event(\"startup\")\n"
    "def write_state() -> None:\n"
    "    _os.makedirs(\"data\", exist_ok=True)\n"
    "    with open(\"data/state.json\", \"w\") as fh:\n"
    "        fh.write(_json.dumps({\"started\": True, \"pad\": \"x\" * 65536}))\n"
)
CLIENT_ADDR, LAB_ADDR = "10.200.0.2", "10.200.0.1"


def _journal_k_has(stack: Stack, text: str, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in stack.lab.run(["journalctl", "-k", "--no-pager", "-o", "cat"]).stdout:
            return True
        time.sleep(0.3)
    return False


def _request_too_much_memory(stack: Stack) -> None:
    """MemoryMax= on the unit and an endpoint that allocates more; ask it, expect 502."""
    dropin = stack.units / f"{UNIT}.d"
    dropin.mkdir(exist_ok=True)
    (dropin / "memory.conf").write_text(f"[Service]\nMemoryMax={MEMORY_MAX}\n")
    append_to_main(stack, HOG)
    stack.lab.run(["systemctl", "daemon-reload"], check=True)
    stack.lab.run(["systemctl", "restart", UNIT], check=True)
    wait_status(stack, "/api/health", 200)
    limit = stack.systemctl("show", UNIT, "-p", "MemoryMax").strip()
    if limit != "MemoryMax=157286400":
        raise AssertionError(f"the memory limit did not apply: {limit}")
    seen = stack.curl_status("/api/report", timeout=20)
    if seen != 502:
        raise AssertionError(f"/api/report answered {seen}, expected 502 from the OOM kill")


@scenario(
    name="oom-killed",
    category="system.oom_killed",
    description=f"MemoryMax={MEMORY_MAX} on the unit; /api/report allocates 600 MiB and the "
    "kernel OOM killer ends uvicorn (502).",
    path="/api/report",
    status=502,
    decisive=("Memory cgroup out of memory: Killed process",),
)
def oom_killed(stack: Stack) -> None:
    _request_too_much_memory(stack)
    if not _journal_k_has(stack, "Memory cgroup out of memory: Killed process"):
        raise AssertionError("the kernel logged no memory-cgroup OOM kill")
    wait_status(stack, "/api/health", 200)


@scenario(
    name="gunicorn-worker-oom",
    category="system.oom_killed",
    description=f"gunicorn under MemoryMax={MEMORY_MAX}; /api/report allocates 600 MiB: the "
    "kernel kills the worker, the master stays active and starts another (502).",
    variant="gunicorn",
    path="/api/report",
    status=502,
    decisive=("was sent SIGKILL! Perhaps out of memory?",),
)
def gunicorn_worker_oom(stack: Stack) -> None:
    _request_too_much_memory(stack)
    if not stack.journal_has(UNIT, "Perhaps out of memory?"):
        raise AssertionError("gunicorn never logged the worker's SIGKILL")
    state = stack.systemctl("show", UNIT, "-p", "ActiveState", "-p", "SubState").split()
    if state != ["ActiveState=active", "SubState=running"]:
        raise AssertionError(f"the gunicorn master should stay up, but: {state}")
    wait_status(stack, "/api/health", 200)


@scenario(
    name="disk-full",
    category="system.disk_full",
    description="The app writes data/state.json at start-up; data/ is a full 256 KiB tmpfs, "
    "so it fails with ENOSPC and crash-loops (502).",
    status=502,
    decisive=("No space left on device",),
)
def disk_full(stack: Stack) -> None:
    append_to_main(stack, WRITE_AT_STARTUP)
    data = f"{APP_DIR}/data"
    stack.lab.sh(
        f"mkdir -p {data} && chown app:app {data}\n"
        f"mount -t tmpfs -o size=256k,mode=0755,uid=1500,gid=1500 gdlab-data {data}\n"
        f"dd if=/dev/zero of={data}/cache.bin bs=4k 2>/dev/null || true\n"
        f"chown app:app {data}/cache.bin\n"
    )
    stack.lab.run(["systemctl", "restart", UNIT])
    if not stack.journal_has(UNIT, "No space left on device"):
        raise AssertionError("ENOSPC never reached the journal")
    wait_status(stack, "/api/health", 502)


def _host(argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{argv} failed: {proc.stderr.strip()}")
    return proc


def _client_status(client: list[str], timeout: float = 3.0) -> int:
    out = _host([*client, "curl", "-s", "-o", "/dev/null", "-w",
                 "%{http_code}", "-m", str(timeout), "-H", f"Host: {SERVER_NAME}",
                 f"http://{LAB_ADDR}/api/health"], check=False).stdout.strip()
    return int(out) if out.isdigit() else 0


@scenario(
    name="firewall-drop",
    category="network.firewall",
    description="An nft rule drops tcp dport 80 for traffic not from lo: a client in a second "
    "network namespace times out, while probes over lo pass.",
    status=200,
    decisive=('iifname != "lo" tcp dport 80 drop',),
)
def firewall_drop(stack: Stack) -> None:
    assert stack.lab.pid is not None
    tag = uuid.uuid4().hex[:6]
    lab_if, client_if = f"gdl{tag}", f"gdc{tag}"
    lab_net = ["nsenter", "-t", str(stack.lab.pid), "-n"]
    # The client's network namespace lives as long as this process: no `ip netns add`,
    # which would leave a /run/netns mount on the host.
    holder = subprocess.Popen(["unshare", "--net", "sleep", "300"])
    try:
        client = ["nsenter", "-t", str(holder.pid), "-n"]
        for _ in range(50):
            if os.readlink(f"/proc/{holder.pid}/ns/net") != os.readlink("/proc/self/ns/net"):
                break
            time.sleep(0.02)
        # Both ends are created inside namespaces made for this test: none is on the host.
        _host([*lab_net, "ip", "link", "add", lab_if, "type", "veth", "peer", "name",
               client_if, "netns", str(holder.pid)])
        _host([*lab_net, "ip", "addr", "add", f"{LAB_ADDR}/30", "dev", lab_if])
        _host([*lab_net, "ip", "link", "set", lab_if, "up"])
        _host([*client, "ip", "addr", "add", f"{CLIENT_ADDR}/30", "dev", client_if])
        _host([*client, "ip", "link", "set", client_if, "up"])
        _host([*client, "ip", "link", "set", "lo", "up"])
        before = _client_status(client)
        if before != 200:
            raise AssertionError(f"the client namespace cannot reach nginx even before: {before}")
        stack.lab.sh(
            "nft add table inet filter\n"
            "nft 'add chain inet filter input { type filter hook input priority filter; "
            "policy accept; }'\n"
            "nft add rule inet filter input iifname != lo tcp dport 80 drop\n"
        )
        after = _client_status(client)
        if after != 0:
            raise AssertionError(f"the client still reaches nginx through the rule: {after}")
    finally:
        holder.kill()
        holder.wait(timeout=10)
        _host([*lab_net, "ip", "link", "del", lab_if], check=False)


@scenario(
    name="hand-started-died",
    category="service.not_running",
    description="The unit is disabled and stopped; uvicorn was started by hand with nohup as "
    "user app, then died (SIGKILL): nothing listens and no unit manages it (502).",
    status=502,
    decisive=("no process listens at 127.0.0.1:8000", "no unit manages the server"),
)
def hand_started_died(stack: Stack) -> None:
    stack.lab.run(["systemctl", "disable", "--now", UNIT], check=True)
    wait_status(stack, "/api/health", 502)
    pidfile = "/tmp/gdlab-uvicorn.pid"
    stack.lab.sh(
        f"cd {APP_DIR} && runuser -u app -- setsid sh -c 'echo $$ > {pidfile}.tmp; exec nohup "
        f"{LAB_VENV_PATH}/bin/uvicorn main:app --host 127.0.0.1 --port 8000' "
        "</dev/null >nohup.out 2>&1 &\n"
    )
    wait_status(stack, "/api/health", 200)
    pid = stack.lab.sh(f"cat {pidfile}.tmp").strip()
    if not pid.isdigit():
        raise AssertionError(f"no pid for the hand-started uvicorn: {pid!r}")
    stack.lab.sh(f"kill -9 {pid}; rm -f {pidfile}.tmp")
    wait_status(stack, "/api/health", 502)
