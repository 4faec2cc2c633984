"""What a rule module declares and returns: its texts (templates, rendered after detection in
the reader's language) and the small frozen records its detector yields.

A detector finds; it never writes prose. It yields `found(evidence, links, **values)`; the
rule's `Text` templates are filled from those values later (`rules/render.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Tuple, Union

from ..findings import Excerpt, Link

# A template, or whole sentences joined as the language joins them (`i18n.sentences`); a
# sentence naming a value that is None or empty is left out.
Template = Union[str, Tuple[str, ...]]


@dataclass(frozen=True)
class Cmd:
    """A fix command with a translated note after it: `restorecon -v /run/x   # check`."""

    line: str
    note: str


@dataclass(frozen=True)
class Text:
    """One way of telling a finding: title, explanation, fix summary and fix commands.

    Templates are marked with `N_()` and filled with `{name}` values after translation. A
    command naming a value that is None or empty is left out; a command that is exactly
    `{name}` whose value is a tuple becomes one command per element (a Cmd's note on each).
    """

    title: Template
    explanation: Template
    fix: Template
    commands: tuple[str | Cmd, ...] = ()


@dataclass(frozen=True)
class Msg:
    """Prose inside a value, translated when the finding is rendered: `msg(N_("port {port}"),
    port=8000)`."""

    text: Template
    values: Mapping[str, object] = field(default_factory=dict)


def msg(text: Template, **values: object) -> Msg:
    """A piece of prose to translate and fill at render time."""
    return Msg(text, values)


@dataclass(frozen=True)
class Found:
    """What a detector yields: the evidence, the links along the request path, the values its
    texts name, which of its texts tells it, and (rarely) a role other than the rule's."""

    evidence: tuple[Excerpt, ...]
    links: tuple[Link, ...]
    values: Mapping[str, object]
    text: str = "default"
    role: str | None = None


def found(evidence: tuple[Excerpt, ...] | list[Excerpt], links: tuple[Link, ...] | list[Link],
          /, **values: object) -> Found:
    """A detector's record: `found([excerpt], [link], unit=u.name, port=8000)`; `text=`
    names which of the rule's texts tells it, `role=` overrides the rule's role."""
    text = str(values.pop("text", "default"))
    role = values.pop("role", None)
    return Found(tuple(evidence), tuple(links), values, text,
                 None if role is None else str(role))
