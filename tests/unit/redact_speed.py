"""Redaction time per lab recording: this checkout's redactor and another's, side by side.

    python tests/unit/redact_speed.py [REV]     (REV: a git revision, default main)

Both redactors run in this process on the same evidence, alternately, best of N; what a
bundle costs is `Redactor().evidence(recording)`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gatewaydoctor.redact import Redactor

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "tests" / "data" / "lab"
RUNS = 7


def other_redactor(rev: str) -> Any:
    """Redactor of `rev`, loaded as a module of this package (it imports .formats)."""
    for path in ("src/gatewaydoctor/redact.py", "src/gatewaydoctor/redact/__init__.py"):
        shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"],
                               capture_output=True, text=True)
        if shown.returncode == 0:
            break
    else:
        raise SystemExit(f"no redactor at {rev}")
    if "from . import structure" in shown.stdout:
        raise SystemExit(f"{rev} has a redact package: compare it with a checkout instead")
    tmp = Path(tempfile.mkdtemp()) / "redact_other.py"
    tmp.write_text(shown.stdout)
    spec = importlib.util.spec_from_file_location("gatewaydoctor._redact_other", tmp)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "gatewaydoctor"
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Redactor


def best(make: Any, ev: dict[str, Any]) -> float:
    """Best time of RUNS for one redaction of ev."""
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        make().evidence(ev)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    """Print ms per recording, both redactors, and the totals."""
    rev = sys.argv[1] if len(sys.argv) > 1 else "main"
    other = other_redactor(rev)
    total_other = total_this = 0.0
    print(f"{'recording':28} {rev:>9} {'this':>9} {'ratio':>6}")
    for path in sorted(LAB.glob("*.json")):
        ev = json.loads(path.read_text(encoding="utf-8"))
        a, b = best(other, ev), best(Redactor, ev)
        total_other += a
        total_this += b
        print(f"{path.stem:28} {a * 1000:8.2f}ms {b * 1000:8.2f}ms {b / a:6.2f}")
    print(f"{'total':28} {total_other * 1000:8.1f}ms {total_this * 1000:8.1f}ms "
          f"{total_this / total_other:6.2f}")


if __name__ == "__main__":
    main()
