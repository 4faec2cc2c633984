"""The single-file build beside the installed tool: the size of gatewaydoctor.pyz, and how
long `python3 gatewaydoctor.pyz --version` and `... diagnose --from <example bundle>` take
next to the installed `gatewaydoctor` doing the same.

Run from the checkout:  python3 bench/pyz.py [--runs N]

Both run on one interpreter, Debian's /usr/bin/python3 (what a server has): the pyz as a
user runs it, and gatewaydoctor installed by pip into a venv of that python3 (bytecode
compiled, as pip installs it; gdlab's doctor_venv). The two commands alternate, run after
run, so a busy moment of the (shared, noisy) machine falls on both; the median and the
fastest of N runs are printed, with the ratio. The pyz is built first by scripts/build-pyz
(its build time is printed too). A zip holds no bytecode for the host's Python, so from the
zip every module is compiled from source at each start; the file's first run therefore
unpacks it into the user's cache (scripts/pyz_main.py), and later runs import from there with
bytecode. Three columns: the pyz from the zip (GATEWAYDOCTOR_PYZ_CACHE=0), the pyz from its
unpacked copy (the usual case after the first run, whose time is printed once), installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lab"))

from gdlab.venv import BASE_PYTHON, doctor_venv  # noqa: E402

EXAMPLE = ROOT / "src" / "gatewaydoctor" / "examples" / "relative-import.tar.gz"
COMMANDS = {"--version": ["--version"], "diagnose --from <example>":
            ["diagnose", "--from", str(EXAMPLE)]}


def _timed(argv: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          timeout=300, check=False)
    took = time.perf_counter() - began
    if proc.returncode not in (0, 1):  # diagnose exits 1: the example is a broken host
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pyz-") as tmp:
        began = time.perf_counter()
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build-pyz"), "--out", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        built = time.perf_counter() - began
        pyz = Path(tmp) / "gatewaydoctor.pyz"
        size = pyz.stat().st_size
        installed = str(doctor_venv().parent / "gatewaydoctor")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               "HOME": tmp}
        variants = {"pyz (zip)": ([BASE_PYTHON, str(pyz)],
                                  {**env, "GATEWAYDOCTOR_PYZ_CACHE": "0"}),
                    "pyz (unpacked)": ([BASE_PYTHON, str(pyz)], env),
                    "installed": ([installed], env)}
        first = _timed([BASE_PYTHON, str(pyz), "--version"], env)
        print(f"gatewaydoctor.pyz: {size} bytes ({size / 2**20:.2f} MiB), built in "
              f"{built:.1f} s by scripts/build-pyz; its first run (unpacking, compiling) "
              f"{first:.3f} s")
        print(f"interpreter: {BASE_PYTHON}; {args.runs} runs each, alternating; median "
              "seconds (fastest), ratio to installed")
        print(f"{'command':<28}" + "".join(f"{v:>24}" for v in variants))
        for name, argv in COMMANDS.items():
            times: dict[str, list[float]] = {v: [] for v in variants}
            for _ in range(args.runs):
                for variant, (prefix, variant_env) in variants.items():
                    times[variant].append(_timed([*prefix, *argv], variant_env))
            base = statistics.median(times["installed"])
            cells = []
            for t in times.values():
                median = statistics.median(t)
                cells.append(f"{median:.3f} ({min(t):.3f}) {median / base:.1f}x")
            print(f"{name:<28}" + "".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
