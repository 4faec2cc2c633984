"""Which layer answered a probe, for the legacy nginx rules not yet moved (the probe-failed
rule is rules/probe/probe_failed.py; the predicate itself is Facts.answered_by)."""

from __future__ import annotations

from collections.abc import Callable

from ...facts import Facts, Probe
from ...i18n import N_


def _same(message: str) -> str:
    return message


def answered_by(facts: Facts, p: Probe, tr: Callable[[str], str] = _same) -> str:
    """Which layer produced this probe's answer: nginx itself, the app, or something else.

    English for evidence; `tr=_` in the reader's language (the chain's URL hop).
    """
    if p.status is None:
        return tr(N_("nobody answered"))
    if p.via == "upstream":
        return tr(N_("the app at {endpoint}")).format(endpoint=p.endpoint)
    server = (p.server or "").lower()
    if not server.startswith("nginx"):
        owner = _owner(facts, p.endpoint)
        said = (tr(N_("the Server header says {server}")).format(server=repr(p.server))
                if p.server else tr(N_("no nginx Server header")))
        if owner:
            return tr(N_("not nginx ({said}): {owner}")).format(said=said, owner=owner)
        return tr(N_("not nginx ({said})")).format(said=said)
    if p.status >= 400 and p.body_head and "<center>nginx" in p.body_head:
        return tr(N_("nginx itself (its own error page)"))
    return tr(N_("the app, relayed by nginx"))


def _owner(facts: Facts, endpoint: str) -> str | None:
    """The process listening at a `host:port`, as `comm (pid N)`."""
    from ...facts import Endpoint

    for li in facts.listeners_at(Endpoint.parse(endpoint)):
        for pid in li.pids[:1]:
            proc = facts.process(pid)
            if proc is not None:
                return f"{proc.comm} (pid {proc.pid}) listens at {li.endpoint.label}"
    return None
