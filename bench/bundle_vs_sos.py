"""`gatewaydoctor bundle` against `sos report`, side by side on the same lab host.

Run as root from the checkout:  python3 bench/bundle_vs_sos.py [--runs N] [SCENARIO]

Needs Debian's sos report (not run in CI, so not in scripts/test):

    apt-get install --no-install-recommends sosreport

(PyPI's `sos` is a different project, Script of Scripts.) Both tools run *inside* one
lab (systemd + nginx + uvicorn + PostgreSQL in namespaces), so they collect the lab, not
this machine. sos is limited to the plugins that cover the sources gatewaydoctor reads:
nginx, systemd, networking and logs. It writes only under the lab's private /run
(`--tmp-dir`), which disappears with the lab; it is run without
`--allow-system-changes`, so it loads no kernel module. Each tool runs N times (first
run included: neither keeps a cache), and the median wall time and the archive size are
printed, with the ratios. A figure, not a pass/fail test: the machine is shared and noisy.

Both tools run on the same Python: gatewaydoctor is installed by pip (as users install
it) into a venv of the interpreter sos runs on (its script's #! line: Debian's python3).
The checkout's development .venv (another interpreter here, e.g. a pyenv build) is timed
too, as a second row, so the two interpreters' share of the figure shows.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

from compiled import compile_package  # noqa: E402
from gdlab import boot_stack, lab_unavailable_reason, stop_stack  # noqa: E402
from gdlab.scenarios import SCENARIOS  # noqa: E402
from gdlab.venv import doctor_venv  # noqa: E402

SOS_PLUGINS = "nginx,systemd,networking,logs"
# Also what gatewaydoctor reads besides: processes, the app's Python, PostgreSQL, memory.
# (Debian's sos 4.0 has no selinux, firewall or supervisord plugin; networking lists the
# packet filter.)
SOS_ALL = SOS_PLUGINS + ",process,python,postgresql,memory"
SOS_DIR = "/run/gd-bench-sos"  # the lab's private /run: gone when the lab stops
BUNDLE_DIR = "/run/gd-bench-bundle"


def _size(stack: object, path: str) -> int:
    out = stack.lab.run(["stat", "-c", "%s", path], check=True).stdout  # type: ignore[attr-defined]
    return int(out.strip())


SETTLE = 1.0  # seconds between runs, so one tool's tail (page cache, journald) is not timed
#              as the next one's


def _timed(stack: object, argv: list[str]) -> tuple[float, str, str, int]:
    time.sleep(SETTLE)
    t0 = time.monotonic()
    proc = stack.lab.run(argv, timeout=900)  # type: ignore[attr-defined]
    return time.monotonic() - t0, proc.stdout, proc.stderr, proc.returncode


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="relative-import", choices=sorted(SCENARIOS))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sos-plugins", default=SOS_PLUGINS,
                    help=f"sos plugins to run (default: {SOS_PLUGINS}, the issue's list; "
                    f"{SOS_ALL} covers every source gatewaydoctor reads)")
    args = ap.parse_args(argv)
    reason = lab_unavailable_reason()
    if reason:
        print(f"cannot run the lab here: {reason}", file=sys.stderr)
        return 2
    sos = shutil.which("sos") or shutil.which("sosreport")
    if sos is None:
        print("sos report is not installed: apt-get install --no-install-recommends sosreport",
              file=sys.stderr)
        return 2
    compile_package()
    sos_python = Path(sos).read_text(errors="replace").split("\n", 1)[0].removeprefix("#!")
    sos_python = sos_python.split()[0] if sos_python.strip() else "/usr/bin/python3"
    installed = doctor_venv(sos_python).parent / "gatewaydoctor"  # the console script
    script = Path(sys.executable).parent / "gatewaydoctor"
    dev = [str(script)] if script.exists() else [sys.executable, "-m", "gatewaydoctor"]
    doctors = {"gatewaydoctor bundle": ([str(installed)], []),
               "gatewaydoctor bundle --no-exec": ([str(installed)], ["--no-exec"]),
               "gatewaydoctor bundle (dev .venv)": (dev, [])}
    scenario = SCENARIOS[args.scenario]
    stack = boot_stack(scenario.variant)
    rows: dict[str, list[tuple[float, int]]] = {label: [] for label in doctors}
    rows["sos report"] = []
    sos_version = ""
    try:
        scenario.inject(stack)
        url = stack.url(scenario.path)
        stack.lab.run(["mkdir", "-p", SOS_DIR, BUNDLE_DIR], check=True)
        sos_version = stack.lab.run(["dpkg-query", "-W", "-f", "${Version}",
                                     "sosreport"]).stdout.strip()
        for n in range(args.runs):
            for i, (label, (doctor, extra)) in enumerate(doctors.items()):
                out = f"{BUNDLE_DIR}/b{n}-{i}.tar.gz"
                took, _o, err, rc = _timed(stack, [*doctor, "bundle", url, "-o", out, *extra])
                if rc != 0:
                    print(f"{label} failed: {err[-800:]}", file=sys.stderr)
                    return 1
                rows[label].append((took, _size(stack, out)))
            took, o, err, rc = _timed(stack, [sos, "report", "--batch", "--only-plugins",
                                              args.sos_plugins, "--tmp-dir", SOS_DIR])
            m = re.search(r"(/\S+/sosreport-\S+\.tar\.\w+)", o)
            if rc != 0 or not m:
                print(f"sos report failed (rc {rc}): {o[-800:]} {err[-800:]}", file=sys.stderr)
                return 1
            rows["sos report"].append((took, _size(stack, m.group(1))))
            stack.lab.run(["sh", "-c", f"rm -rf {SOS_DIR}/* {BUNDLE_DIR}/*"])
    finally:
        stop_stack(stack)

    print(f"scenario {args.scenario}, {args.runs} runs each, inside one lab; "
          f"sos {sos_version or '?'} plugins {args.sos_plugins}; both on {sos_python} "
          f"(dev .venv: {sys.executable})")
    print(f"{'tool':34} {'median s':>9} {'min s':>7} {'max s':>7} {'archive KiB':>12}")
    med: dict[str, tuple[float, float]] = {}
    for label, vals in rows.items():
        times = [t for t, _ in vals]
        size = statistics.median(s for _, s in vals) / 1024
        med[label] = (statistics.median(times), size)
        print(f"{label:34} {med[label][0]:9.2f} {min(times):7.2f} {max(times):7.2f} "
              f"{size:12.1f}")
    sos_t, sos_s = med["sos report"]
    for label in doctors:
        t, s = med[label]
        print(f"sos report / {label}: {sos_t / t:.1f}x the wall time, {sos_s / s:.1f}x the size")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
