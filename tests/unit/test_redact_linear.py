"""Every pattern of the redactor runs in time linear in its input, on its worst cases.

Each pattern (and each structure scanner, and the whole redactor) is fed texts built to
make it backtrack: runs of what it matches, almost-matches repeated, separators without
values, openings without ends. Its time on 100 KB must be close to four times its time on
25 KB (a quadratic pattern takes sixteen), and within a bound of a trivial pattern's
time over the same text, measured side by side: ratios, never absolute times.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from gatewaydoctor import redact
from gatewaydoctor.redact import Redactor, structure

FRAGMENTS = (
    "a", "A1", "=", "a=", "a:", "a: ", "password", "password=", "PASSWORD:", "pass",
    "://", "a://a:", "a://a:b", "@", "a@", ":", '"', "'", "\\x22", "\\", '\\"', "-",
    "-----BEGIN PRIVATE KEY-----", "-----BEGIN ", "eyJa.", "eyJabcdef.eyJabcdef.",
    "Bearer ", "Basic ", "authorization: ", "cookie=a;", "--", "--password ", "--a-",
    "(b'a', b'", "(b'cookie', b'", "<a>", "<password>", "host name \"a:", "host=a:",
    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0", "Digest username=", "nonce=",
    "response=\"", "set $a ", "proxy_set_header a ", "proxy_set_header X-Token ",
    "secure_link_md5 ", " ", "\n", "\t", "aA1+/", "%", "secret_key", "ｐａｓｓ", "密码",
    "密码：", "xox", "AKIA", "hooks.slack.com/services/", "1234567:AA", "SG.", "mysql -p",
    "curl -u ", "redis-cli -a ", "\x1f", "İ", "?token=", "&sign=", "a.b-c_d",
)


def _inputs(size: int) -> list[str]:
    texts = [(f * (size // len(f) + 1))[:size] for f in FRAGMENTS]
    # pairs: an opening followed by a run of what continues it
    texts += [(a + b * (size // len(b) + 1))[:size]
              for a in ("password=", "a://a:", "-----BEGIN PRIVATE KEY-----", "Bearer ",
                        '"', "(b'cookie', b'", "Digest username=", "eyJ", "host name \"a:")
              for b in ("a", "A1+/", " ", "@", "=", "\"")]
    return texts


def _best(run: Callable[[str], Any], text: str, tries: int = 2) -> float:
    times = []
    for _ in range(tries):
        t = time.perf_counter()
        run(text)
        times.append(time.perf_counter() - t)
    return min(times)


def _patterns() -> dict[str, Callable[[str], Any]]:
    """Every compiled pattern of the redactor's modules, and every scanner, as a function."""
    found: dict[str, Callable[[str], Any]] = {}
    for module in (redact, structure):
        for name, value in vars(module).items():
            if isinstance(value, (re.Pattern, redact._LazyPattern)):
                pattern: Any = value
                found[f"{module.__name__}.{name}"] = \
                    lambda text, p=pattern: sum(1 for _ in p.finditer(text))
    for n, (kind, pattern, repl, _words) in enumerate(redact._PATTERNS):
        found[f"_PATTERNS[{n}] {kind}"] = lambda text, p=pattern, r=repl: p.subn(r, text)
    found["Redactor.text"] = lambda text: Redactor().text(text)
    found["Redactor.text access log"] = \
        lambda text: Redactor().text(text, "nginx.access_log:/var/log/nginx/access.log")
    found["Redactor.item journal"] = lambda text: Redactor().item(
        "journal.unit:a", {"source": "journal.unit:a", "stdout": text})
    return found


PATTERNS = _patterns()
TRIVIAL = re.compile(r"\w+")
PROBE, SMALL, LARGE = 4_000, 25_000, 100_000
PROBES = _inputs(PROBE)


def _worst_cases(run: Callable[[str], Any], count: int = 3) -> list[int]:
    """The inputs (by index) this pattern is slowest on, per character, probed small."""
    times = [_best(run, text, tries=1) for text in PROBES]
    return sorted(range(len(times)), key=lambda i: -times[i])[:count]


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_each_pattern_is_linear_on_its_worst_cases(name: str) -> None:
    run = PATTERNS[name]
    small_inputs, large_inputs = _inputs(SMALL), _inputs(LARGE)
    for i in _worst_cases(run):
        small, large = small_inputs[i], large_inputs[i]
        t_small, t_large = _best(run, small), _best(run, large)
        trivial = _best(TRIVIAL.findall, large)
        # linear: four times the input, about four times the time (quadratic: sixteen)
        assert t_large < 9 * t_small + 0.003, (name, large[:40], t_small, t_large)
        # and within a bounded factor of a trivial scan of the same 100 KB, side by side
        assert t_large < 500 * trivial + 0.003, (name, large[:40], t_large, trivial)
