"""Probes made from inside another network namespace: nginx's, when it runs in one of its
own (a container, a unit with PrivateNetwork=). Its listen addresses and its upstreams'
127.0.0.1 are that namespace's, so that is where they are asked.

The probe is this package's own (probes.py), run by this Python under `nsenter -t PID -n`
(only the network namespace changes: the files, and so this code, stay the host's); it
prints the item as JSON. Needs the right to enter the namespace (root); standard library.
"""

import json
import os
import sys
from typing import Any, Callable, Dict, List

from . import probes
from .runner import Item, new_item, run, which

PROBES: Dict[str, Callable[..., Item]] = {"http": probes.http_probe,
                                          "connect": probes.tcp_probe}
STARTUP = 5.0  # the interpreter's start and imports, on top of the probe's own timeout


def run_in(pid: int, kind: str, source: str, **kwargs: Any) -> Item:
    """The probe `kind` (http, connect) made from the network namespace of process pid."""
    timeout = float(kwargs.get("timeout") or probes.PROBE_TIMEOUT)
    argv = [which("nsenter") or "nsenter", "-t", str(pid), "-n", "--", sys.executable, "-m",
            __name__, kind, json.dumps({"source": source, **kwargs})]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = run(source, argv, timeout=timeout + STARTUP, env=env)
    try:
        item: Item = json.loads(done["stdout"] or "")
    except ValueError:
        why = done["error"] or (done["stderr"] or "").strip()[-300:] or f"exit {done['rc']}"
        item = new_item(source, "probe", argv=argv,
                        error=f"cannot probe from the network namespace of pid {pid}: {why}",
                        error_kind="unavailable")
        return item
    item["argv"] = argv
    (item.get("data") or {})["netns_of"] = pid
    return item


def main(args: List[str]) -> int:
    """`python -m ...nsprobe KIND JSON`: run one probe here, print its item."""
    kwargs = json.loads(args[1])
    source = kwargs.pop("source")
    print(json.dumps(PROBES[args[0]](source, **kwargs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
