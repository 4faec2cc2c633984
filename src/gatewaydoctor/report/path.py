"""The request path as every report draws it: each hop green, red or grey, in one place.

`diagnose.build_chains` records what was seen along URL → server block → location →
upstream → listener → process → unit → log line (each hop "ok", "failed" or "unknown", and
the rules about it). This module turns a chain into the path a reader looks at, the same
for the HTML picture, the terminal tree and the Markdown list:

- every layer is there: a layer the chain has no hop for is drawn grey, "not looked at",
  or "not reached" when a hop before it is broken;
- a hop is broken (red) when its own check failed, or when a root cause sits on it: a
  cause's layer names its hop (an `app` cause the log line, a `system` one the unit, an
  `nginx` one the server block), the hop the cause links to first;
- "nothing listens" is told where it is true: when a service is configured to serve the
  upstream's address (the chain found its unit by its binds), the upstream is right and
  the listener is what is missing;
- a log hop holding a journal line but no traceback was read and is fine;
- the top cause's evidence (the decisive evidence) and rule go on its hop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..diagnose import Chain, Diagnosis, Hop
from ..findings import Excerpt, Finding
from ..i18n import N_, _

# The request path, outside in: the layers a chain's hops have (findings.LINK_KINDS).
ORDER = ("url", "server", "location", "upstream", "listener", "process", "unit", "log")
OK, BROKEN, UNKNOWN = "ok", "broken", "unknown"
STATES = (OK, BROKEN, UNKNOWN)
STATE_WORDS = {OK: N_("fine"), BROKEN: N_("broken"), UNKNOWN: N_("not looked at")}
# The hops a root cause of a layer with no hop of its own sits on, in order of preference.
CAUSE_HOPS = {"nginx": ("server",), "app": ("log", "unit"), "system": ("unit", "log")}


@dataclass(frozen=True)
class PathHop:
    """One hop as drawn: its layer, what it is, its state, and why."""

    layer: str
    name: str
    state: str
    detail: str
    evidence: tuple[Excerpt, ...] = ()
    findings: tuple[str, ...] = ()  # rule IDs about this hop
    cause: Finding | None = None  # the top cause, on the hop it sits on
    seen: bool = True  # False: the chain had no hop for this layer

    @property
    def state_word(self) -> str:
        """The state in the reader's language ("not reached" for a grey hop after a red one)."""
        if self.state == UNKNOWN and self.detail == _("not reached"):
            return self.detail
        return _(STATE_WORDS[self.state])


@dataclass(frozen=True)
class Path:
    """One request path, hop by hop."""

    request: str
    hops: tuple[PathHop, ...]

    @property
    def decisive(self) -> PathHop | None:
        """The hop holding the top cause, else the first broken hop."""
        return next((h for h in self.hops if h.cause is not None),
                    next((h for h in self.hops if h.state == BROKEN), None))


def slots(hops: Sequence[Hop]) -> list[Hop | str]:
    """The chain's hops in order with every missing layer in its place. A second upstream
    (nginx's next server) starts again at the upstream once the first one's path is whole."""
    out: list[Hop | str] = []
    pos = 0
    for hop in hops:
        i = ORDER.index(hop.layer)
        if i < pos - 1 or (i == pos - 1 and hop.layer == "upstream"):
            out += ORDER[pos:]
            pos = i
        out += ORDER[pos:i]
        out.append(hop)
        pos = i + 1
    return out + list(ORDER[pos:])


def _root_causes(d: Diagnosis) -> list[Finding]:
    """Root causes, most likely first; the top symptom when no root cause was found."""
    roots = [f for f in d.causes if f.role == "cause"]
    return roots or list(d.causes[:1])


def _cause_slot(found: list[Hop | str], cause: Finding) -> int | None:
    """Where on the path a cause sits: the deepest hop of its layer it links to, else the
    first hop of its layer."""
    seen = {i: s for i, s in enumerate(found) if isinstance(s, Hop)}
    for layer in CAUSE_HOPS.get(cause.layer, (cause.layer,)):
        at = [i for i, s in seen.items() if s.layer == layer]
        linked = [i for i in at if cause.rule in seen[i].findings]
        if linked:
            return linked[-1]
        if at:
            return at[0]
    return None


def _hop(s: Hop) -> PathHop:
    """A seen hop with its own check's state."""
    if s.status == "failed":
        state = BROKEN
    elif s.status == "ok" or (s.layer == "log" and s.evidence):
        state = OK  # a log read with no traceback in it: fine as far as it tells
    else:
        state = UNKNOWN
    return PathHop(s.layer, s.name, state, s.detail, s.evidence, s.findings)


def _nothing_listens(found: list[Hop | str], hops: list[PathHop]) -> None:
    """An upstream where nothing listens, while a service of this chain binds it: the
    listener is what is missing (the upstream points at the right place)."""
    for i, s in enumerate(found[:-1]):
        if not (isinstance(s, Hop) and s.layer == "upstream" and s.status == "failed"
                and found[i + 1] == "listener"):
            continue
        rest = found[i + 1:]
        end = next((k for k, x in enumerate(rest) if isinstance(x, Hop) and x.layer == "upstream"),
                   len(rest))
        served = any(isinstance(x, Hop) and x.layer == "unit" for x in rest[:end])
        if served and hops[i].cause is None and hops[i].state == BROKEN:
            hops[i + 1] = PathHop("listener", s.name, BROKEN, _("nothing listens here"),
                                  s.evidence, seen=False)
            hops[i] = replace(hops[i], state=OK, detail=_("a service is configured to listen "
                                                          "here"), evidence=())


def _unseen(hops: list[PathHop]) -> None:
    """Name the layers nobody looked at: "not reached" after a broken hop of the same
    request (the URL's failure is what every broken path shows, so it does not count)."""
    broken = upstreams = False
    for i, h in enumerate(hops):
        if h.layer == "upstream" and h.seen:
            broken = broken and not upstreams  # nginx's next upstream is tried afresh
            upstreams = True
        if not h.seen and h.state == UNKNOWN:
            hops[i] = replace(h, detail=_("not reached") if broken else _("not looked at"))
        broken = broken or (h.state == BROKEN and h.layer != "url")


def path_of(chain: Chain, causes: Sequence[Finding]) -> Path:
    """One chain as a path: every layer, each with its state; the top cause on its hop."""
    found = slots(chain.hops)
    hops = [_hop(s) if isinstance(s, Hop) else PathHop(s, "", UNKNOWN, "", seen=False)
            for s in found]
    for n, cause in enumerate(causes):
        i = _cause_slot(found, cause)
        if i is None:
            continue
        # Every root cause reddens its hop; the top one's evidence is the decisive evidence.
        hops[i] = replace(hops[i], state=BROKEN, cause=cause if n == 0 else hops[i].cause)
    _nothing_listens(found, hops)
    _unseen(hops)
    return Path(chain.request, tuple(hops))


def paths(d: Diagnosis) -> list[Path]:
    """Every chain of the diagnosis as a path, hop states derived from the chain and the
    ranked causes."""
    causes = _root_causes(d)
    return [path_of(c, causes) for c in d.chains]
