"""Contributor entry point: `python3 -m gdlab up|list|record` (run as root, from lab/)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .boot import lab_unavailable_reason
from .scenarios import SCENARIOS
from .stack import boot_stack, stop_stack

RECORD_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "lab"
# The checkout's own package, so `record` runs this agent whether or not it is installed.
SOURCE_DIR = Path(__file__).resolve().parents[2] / "src"
EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "src" / "gatewaydoctor" / "examples"
EXAMPLES = ("healthy", "relative-import", "db-down-health", "upstream-mismatch",
            "rate-limit-docs")
AGENT_CALL = (
    "import json, sys\n"
    "from gatewaydoctor.agent import gather\n"
    "json.dump(gather(sys.argv[1] or None), sys.stdout, indent=1, sort_keys=True)\n"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m gdlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="boot the stack, inject a scenario, open a shell inside")
    up.add_argument("scenario", nargs="?", default="healthy", choices=sorted(SCENARIOS))
    sub.add_parser("list", help="list the scenarios")
    rec = sub.add_parser("record", help="record the agent's evidence for scenarios")
    rec.add_argument("scenarios", nargs="*", help="default: all")
    rec.add_argument("-o", "--output", type=Path, default=RECORD_DIR)
    ex = sub.add_parser("examples", help="write recordings as the package's example bundles")
    ex.add_argument("names", nargs="*", default=list(EXAMPLES))
    args = parser.parse_args(argv)

    if args.command == "examples":
        return _examples(args.names)
    if args.command == "list":
        for name in sorted(SCENARIOS):
            s = SCENARIOS[name]
            print(f"{name:32} {s.category or 'healthy':28} {s.description}")
        return 0
    reason = lab_unavailable_reason()
    if reason:
        print(f"gdlab: cannot boot a lab here: {reason}", file=sys.stderr)
        return 2
    if args.command == "up":
        return _up(args.scenario)
    return _record(args.scenarios or sorted(SCENARIOS), args.output)


def _up(name: str) -> int:
    scenario = SCENARIOS[name]
    stack = boot_stack(scenario.variant)
    try:
        scenario.inject(stack)
        print(f"lab up ({stack.timings['total']:.1f} s), scenario {name}; "
              f"exit the shell to power it off", file=sys.stderr)
        assert stack.lab.pid is not None
        subprocess.run(["nsenter", "-t", str(stack.lab.pid), "-a", "/bin/bash", "-l"],
                       check=False)
    finally:
        stop_stack(stack)
    return 0


def _examples(names: list[str]) -> int:
    """Ship recordings as example bundles, through the product's own bundle writer."""
    import calendar

    from gatewaydoctor import bundle
    from gatewaydoctor.redact import Redactor

    index = {}
    for name in names:
        evidence = json.loads((RECORD_DIR / f"{name}.json").read_text())
        evidence.pop("lab", None)
        # Deterministic archives: the bundle's time is the recording's.
        taken = calendar.timegm(time.strptime(evidence["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        bundle.write(evidence, EXAMPLE_DIR / f"{name}.tar.gz", Redactor(), created=taken)
        (EXAMPLE_DIR / f"{name}.json").unlink(missing_ok=True)
        index[name] = SCENARIOS[name].description
    (EXAMPLE_DIR / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return 0


def _record(names: list[str], output: Path) -> int:
    output.mkdir(parents=True, exist_ok=True)
    for name in names:
        scenario = SCENARIOS[name]
        stack = boot_stack(scenario.variant)
        try:
            scenario.inject(stack)
            started = time.monotonic()
            proc = stack.lab.run([sys.executable, "-c", AGENT_CALL, stack.url(scenario.path)],
                                 timeout=120,
                                 env={"PYTHONPATH": os.pathsep.join([str(SOURCE_DIR), *sys.path])})
            took = time.monotonic() - started
        finally:
            stop_stack(stack)
        if proc.returncode != 0:
            print(f"{name}: agent failed: {proc.stderr[-1500:]}", file=sys.stderr)
            return 1
        evidence = json.loads(proc.stdout)
        evidence["lab"] = {"scenario": name, "category": scenario.category}
        (output / f"{name}.json").write_text(json.dumps(evidence, indent=1, sort_keys=True) + "\n")
        print(f"{name}: recorded in {took:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
