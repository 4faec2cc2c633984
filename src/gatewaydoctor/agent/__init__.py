"""The agent: gathers raw evidence on the host it runs on, standard library only.

It imports nothing from the rest of gatewaydoctor but formats/ (the key and format
knowledge the parsers share), so it can be shipped to a remote python3 as three pieces
kept in their places: gatewaydoctor/__init__.py, gatewaydoctor/formats/ and
gatewaydoctor/agent/, imported as `gatewaydoctor.agent` (test_layers.py checks both that
this runs alone and what each layer imports). It never changes the host.

Those three pieces run on Python 3.6 and newer (CentOS 7 and RHEL 8 ship 3.6; the rest of
the tool needs 3.8). So: no `from __future__ import annotations` (a SyntaxError there), no
dataclasses, walrus, positional-only parameters, `subprocess.run(capture_output=, text=)`,
`Popen(user=, group=)` (runner.spawn switches account itself before 3.9), `str.removesuffix`,
`shlex.join` (formats.systemd.join_argv), `asyncio.run`, and the like. Annotations are
written with typing's generics (`List[str]`, `Optional[Item]`), not quoted `list[str]`:
3.6 evaluates function and module annotations, so a 3.9+ annotation fails at import there
and the test on a real 3.6 catches it; a quoted one would hide it from everything but the
type checker. Quoted only: a class that takes no [...] at run time before 3.9
(`"subprocess.Popen[bytes]"`), or a name only the checker has. Checked by vermin in
scripts/test and by tests/unit/test_agent_python36.py, which runs the shipped copy with
python3.6 (and 3.7) on a real nginx stack and compares its evidence with this Python's.
"""

from .gather import SCHEMA, gather

__all__ = ["SCHEMA", "gather"]
