"""Accuracy and speed of `gatewaydoctor diagnose` over every lab scenario.

Run as root from the checkout:  python3 bench/scenarios.py [NAME ...]
                           or:  python3 bench/scenarios.py --matrix [STACK ...]
Prints, for each scenario: lab boot and provisioning time, fault injection time,
expected vs found category (causes[0]), and the diagnosis wall time; then accuracy.
Each diagnosis runs twice, side by side: with gatewaydoctor as users install it (pip, into
a venv of Debian's python3: the accuracy and the first figure are this run's), and with the
interpreter running this script (e.g. the checkout's development .venv).
--matrix runs every fault family (lab/gdlab/families.py) on every stack (lab/gdlab/stacks/)
and prints the matrix stack × family → first cause, accuracy per stack, and how long one
scenario takes per stack (boot, injection, diagnosis).
A figure, not a pass/fail test: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lab"))

from compiled import compile_package  # noqa: E402
from gdlab import boot_stack, lab_unavailable_reason, stop_stack  # noqa: E402
from gdlab.matrix import Cell, pairs, run_cell  # noqa: E402
from gdlab.scenarios import SCENARIOS  # noqa: E402
from gdlab.venv import doctor_venv  # noqa: E402


def main(argv: list[str]) -> int:
    reason = lab_unavailable_reason()
    if reason:
        print(f"cannot run the lab here: {reason}", file=sys.stderr)
        return 2
    compile_package()
    installed = str(doctor_venv())
    if argv[:1] == ["--matrix"]:
        return matrix(argv[1:], installed)
    names = argv or sorted(SCENARIOS)
    rows = []
    print(f"{'scenario':28} {'expected':30} {'found':30} {'ok':3} {'boot':>6} {'inject':>7} "
          f"{'diagnose':>9} {'dev':>6}")
    for name in names:
        scenario = SCENARIOS[name]
        stack = boot_stack(scenario.variant)
        try:
            t0 = time.monotonic()
            scenario.inject(stack)
            t1 = time.monotonic()
            proc = stack.lab.run(
                [installed, "-m", "gatewaydoctor", "diagnose", stack.url(scenario.path),
                 "--json"], timeout=120)
            t2 = time.monotonic()
            stack.lab.run([sys.executable, "-m", "gatewaydoctor", "diagnose",
                           stack.url(scenario.path), "--json"], timeout=120)
            t3 = time.monotonic()
        finally:
            stop_stack(stack)
        try:
            report = json.loads(proc.stdout)
        except json.JSONDecodeError:
            report = {"verdict": "error", "causes": []}
            print(f"{name}: exit {proc.returncode}, no JSON; stderr: {proc.stderr[-800:]!r}",
                  file=sys.stderr)
        expected = scenario.category or "healthy"
        if scenario.category is None:
            found = "healthy" if report["verdict"] == "healthy" else report["verdict"]
        else:
            found = report["causes"][0]["category"] if report["causes"] else report["verdict"]
        ok = found == expected
        rows.append((name, ok, stack.timings, t1 - t0, t2 - t1, t3 - t2))
        print(f"{name:28} {expected:30} {found:30} {'yes' if ok else 'NO':3} "
              f"{stack.timings['total']:6.2f} {t1 - t0:7.2f} {t2 - t1:9.2f} {t3 - t2:6.2f}",
              flush=True)
    right = sum(1 for r in rows if r[1])
    diag = [r[4] for r in rows]
    boots = [r[2]["total"] for r in rows]
    print(f"\naccuracy: {right}/{len(rows)} = {right / len(rows):.0%}")
    dev = [r[5] for r in rows]
    print(f"diagnosis wall time (installed, Debian python3): median "
          f"{statistics.median(diag):.2f} s, max {max(diag):.2f} s")
    print(f"diagnosis wall time ({sys.executable}): median {statistics.median(dev):.2f} s, "
          f"max {max(dev):.2f} s")
    print(f"lab boot + provision: median {statistics.median(boots):.2f} s, "
          f"max {max(boots):.2f} s (first run also builds the backend venv once)")
    return 0


def matrix(stacks: list[str], installed: str) -> int:
    """Every family on every stack: the first cause found, per cell and per stack."""
    cells: dict[str, list[Cell]] = {}
    skipped: list[str] = []
    for stack, family, reason in pairs(stacks or None):
        if reason is not None:
            skipped.append(f"{stack} × {family}: {reason}")
            print(f"{stack:10} {family:22} n/a: {reason}", flush=True)
            continue
        cell = run_cell(stack, family, [installed, "-m", "gatewaydoctor"])
        cells.setdefault(stack, []).append(cell)
        print(f"{stack:10} {family:22} {cell.expected:26} {cell.found:26} "
              f"{'yes' if cell.ok else 'NO':3} boot {cell.boot:5.2f} inject {cell.inject:5.2f} "
              f"diagnose {cell.diagnose:5.2f}", flush=True)
    families = list(dict.fromkeys(c.family for row in cells.values() for c in row))
    print("\nmatrix (✓ = expected first cause; otherwise what was found first):")
    print(f"{'family':22} " + " ".join(f"{s:>24}" for s in cells))
    for family in families:
        marks = []
        for row in cells.values():
            cell = next((c for c in row if c.family == family), None)
            marks.append("n/a" if cell is None else "✓" if cell.ok else cell.found)
        print(f"{family:22} " + " ".join(f"{m[:24]:>24}" for m in marks))
    total = right = 0
    print()
    for stack, row in cells.items():
        ok = sum(c.ok for c in row)
        total, right = total + len(row), right + ok
        print(f"{stack:10} {ok}/{len(row)} = {ok / len(row):.0%}; one scenario: boot median "
              f"{statistics.median(c.boot for c in row):.1f} s, inject median "
              f"{statistics.median(c.inject for c in row):.1f} s, diagnose median "
              f"{statistics.median(c.diagnose for c in row):.2f} s (max "
              f"{max(c.diagnose for c in row):.2f} s)")
    print(f"all stacks: {right}/{total} = {right / max(total, 1):.0%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
