"""The one redactor: every output path (reports, bundles, manifests, errors) goes through it.

Secrets are always masked, found by the structure that holds them (structure.py): URLs and
DSNs (the password to the last `@` before the host, as libpq reads it), assignments in any
spelling whose name means a secret (a vocabulary matched by word, any separator, full-width
and Chinese names), nginx directives, HTTP headers and ASGI header tuples, command-line
flags that take a secret, PEM/PGP blocks and their lines on their own, and token formats
the secret scanners publish. What is encoded is decoded first: journald's byte arrays,
nginx's \\xHH in access log fields, JSON documents in a string. On request, IP addresses and
host names are mapped to stable placeholders: the same input always gives the same
placeholder (an address of the same family from the documentation ranges, a name under
`.example`), so a diagnosis of redacted evidence still links the nginx upstream to the
listener and the unit.

A Redactor counts what it masked, by kind, never keeping the values. Every pattern is
linear (tests/unit/test_redact_linear.py); tests/unit/test_secret_corpus.py plants 136
kinds of secret in every place a host holds one, and test_redact_false_positives.py keeps
what diagnoses a host unmasked.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from ..formats import sources
from . import structure
from .structure import _lazy, _LazyPattern, halfwidth  # noqa: F401 (_LazyPattern: tests)

MASK = "***"


class _Anchored:
    """A pattern tried only around the places its anchor (a word every match holds) occurs.

    re's own scan tries the whole pattern at every position of the text, and a pattern
    that starts with a run like `[A-Z0-9_.-]*(?:PASSWORD|...)` backtracks over every word
    of it: most of a redaction's time. Here the anchor (lowercase, searched in the
    lowercased text: a case-insensitive alternation is 8x slower) is found first, and the
    pattern is matched only at the starts a match holding that anchor could have: back
    from the anchor over characters that may precede it in a match (`run`, a superset),
    then `lead` more. subn() returns exactly what the pattern's own subn() would: the
    leftmost match at each step, the same replacement.
    """

    __slots__ = ("_pattern", "_anchor", "_anchor_any_case", "_run", "_lead", "_reach")

    def __init__(self, pattern: str, anchor: str, run: Callable[[str], bool] | None = None,
                 lead: int = 0, reach: int = 1 << 62) -> None:
        self._pattern = _lazy(pattern)
        self._anchor = _lazy(anchor)
        self._anchor_any_case = _lazy("(?i)" + anchor)
        self._run = run
        self._lead = lead
        self._reach = reach  # how far before its anchor a match can start, at most

    def subn(self, repl: str | Callable[[re.Match[str]], str], text: str,
             low: str | None = None) -> tuple[str, int]:
        """`low` is text.lower() when the caller has it."""
        low = text.lower() if low is None else low
        if len(low) == len(text):
            haystack, anchor = low, self._anchor
        else:  # a few characters lowercase to two: positions would not line up
            haystack, anchor = text, self._anchor_any_case
        out: list[str] = []
        pos = n = 0
        at = 0
        match = self._pattern.match
        while (hit := anchor.search(haystack, at)) is not None:
            first = hit.start()
            if self._run is not None:
                while first > pos and hit.start() - first < self._reach and \
                        self._run(text[first - 1]):
                    first -= 1
            first = max(pos, first - self._lead)
            for start in range(first, hit.start() + 1):
                m = match(text, start)
                if m is not None:
                    break
            else:
                at = hit.start() + 1
                continue
            out.append(text[pos:m.start()])
            out.append(repl(m) if callable(repl) else m.expand(repl))
            pos = at = m.end()
            n += 1
        if not n:
            return text, 0
        out.append(text[pos:])
        return "".join(out), n


def _name_char(ch: str) -> bool:
    """What `[A-Z0-9_.-]` matches under re.IGNORECASE, and \\w, and more."""
    return ch.isalnum() or ch in "_.-+"


class _Scanner:
    """A structure scanner (redact/structure.py) in the shape of a pattern: subn(_, text)."""

    __slots__ = ("_scan",)

    def __init__(self, scan: Any) -> None:
        self._scan = scan

    def subn(self, _repl: object, text: str) -> tuple[str, int]:
        """What the scanner masks in text, and how many."""
        result: tuple[str, int] = self._scan.subn(text)
        return result


# The words that may name a secret (structure.VOCABULARY, by their stems) and the tools
# whose flags take one: a text holding none of them holds no assignment or flag to mask.
_NAME_WORDS = structure.STEMS + structure.FULLWIDTH_STEMS
_TOOL_WORDS = ("mysql", "mariadb", "sshpass", "redis-cli", "keydb-cli", "twine", "curl",
               "wget")

# (kind, pattern, replacement, words one of which the lowercased text must hold, or () for
# always); applied in this order. The words make most strings (journal fields) cost nothing.
_PATTERNS: tuple[tuple[str, re.Pattern[str] | _Anchored | _Scanner,
                       str | Callable[[re.Match[str]], str], tuple[str, ...]], ...] = (
    # Tokens that say what they are (first: a bare AWS secret is found next to its key id)
    ("api_token", _Scanner(structure.TokenFormats()), "",
     ("hooks.slack.com", "discord", "open.feishu", "open.larksuite", "sg.", "pypi-",
      "whsec_", "hf_", "npm_", ":aa", "xox", "xapp-", "akia", "asia")),
    # PEM and PGP blocks, to their END or the text's end (found with str.find: linear)
    ("private_key", _Scanner(structure.KeyBlocks()), "", ("private key",)),
    # postgresql://user:SECRET@host/db, redis://:SECRET@host, mysql+pymysql://u:p@h
    ("dsn_password", _Anchored(r"(\b[a-zA-Z][\w+.-]{0,31}://[^:/@\s'\"]*:)([^@\s'\"/]+)(@)",
                               "://", _name_char, reach=32),
     r"\1" + MASK + r"\3", ("://",)),
    # nginx: proxy_set_header Authorization x; (unquoted; quoted values are the next one's,
    # $variables are not secrets)
    ("auth_header", _lazy(
        r"(?i)\b((?:proxy|grpc|fastcgi|uwsgi|scgi)_set_header|add_header)(\s+)"
        r"(proxy-authorization|authorization|cookie|set-cookie|x-api-key|x-auth-token)(\s+)"
        r"([^\s;\"'$][^\s;\"']*)"),
     r"\1\2\3\4" + MASK, ("authorization", "cookie", "api-key", "auth-token")),
    # Authorization: Bearer x, Cookie: a=b, Set-Cookie: ... (headers, curl -v output)
    ("auth_header", _lazy(
        r"(?i)\b(proxy-authorization|authorization|cookie|set-cookie|x-api-key|x-auth-token)"
        r"(\s*[:=]\s*|\s+(?=[\"']))([Dd]igest\s[^\r\n]*|"  # Digest's parameters are quoted
        r"\"[^\"\n]*[^\"\s][^\"\n]*\"|'[^'\n]*[^'\s][^'\n]*'|[^\r\n\"]+)"),
     lambda m: m.group(1) + m.group(2) + _quoted_mask(m.group(3)),
     ("authorization", "cookie", "api-key", "auth-token")),
    ("jwt", _lazy(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), MASK,
     ("eyj",)),
    # (also across a quoted argv: "Bearer" "x", as systemd writes a transient unit's ExecStart)
    ("bearer_token", _Anchored(r"\b([Bb]earer|BEARER)([\"']?\s+[\"']?)[A-Za-z0-9._~+/=-]{8,}",
                               "bearer"),
     r"\1\2" + MASK, ("bearer",)),
    # Basic base64: not the English word ("# Basic Settings" in nginx.conf)
    ("bearer_token", _Anchored(r"\b([Bb]asic|BASIC)\s+(?=[A-Za-z0-9+/]*(?:[0-9+/=]|[a-z][A-Z]))"
                               r"[A-Za-z0-9+/]{8,}={0,2}", "basic"), r"\1 " + MASK,
     ("basic",)),
    ("api_token", _lazy(
        r"\b(?:sk|pk|rk)[-_](?:live_|test_|proj-)?[A-Za-z0-9_-]{16,}"
        r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}"
        r"|\bglpat-[A-Za-z0-9_-]{16,}|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
        r"|\bxox[abposr]-[A-Za-z0-9-]{8,}|\bAIza[0-9A-Za-z_-]{30,}"), MASK,
     ("sk-", "sk_", "pk-", "pk_", "rk-", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
      "github_pat_", "glpat-", "akia", "asia", "xox", "aiza")),
    # ?token=x&password=y in URLs
    ("url_secret", _lazy(r"(?i)([?&](?:token|access_token|api_key|apikey|key|password|"
                              r"secret|sig|signature|auth)=)[^&\s\"']+"), r"\1" + MASK,
     ("token=", "key=", "password=", "secret=", "sig=", "signature=", "auth=")),
    # What the patterns above do not know, found by the structure holding it.
    ("dsn_password", _Scanner(structure.Urls()), "", ("://",)),
    ("auth_header", _Scanner(structure.HeaderTuples()), "", ("', b'", "',b'", "digest")),
    ("nginx_secret", _Scanner(structure.NginxDirectives()), "",
     ("set_header", "add_header", "_param", "set ", "env ", "secure_link", "set_headers")),
    ("secret_assignment", _Scanner(structure.CommandLines()), "", _TOOL_WORDS + _NAME_WORDS),
    ("secret_assignment", _Scanner(structure.Assignments()), "", _NAME_WORDS),
    ("secret_assignment", _Scanner(structure.Elements()), "",
     ("</", "host name", "host=", "host:", 'host "', "host '")),
)


def _trie(words: Iterable[str], *, longest: bool = False) -> str:
    """A regex matching any of words, as a trie: a few branches tried per position, not all.

    It matches the shortest word at a position, or with `longest` the longest one.
    """
    words = set(words)
    if "" in words and not longest:
        return ""  # a shorter word already matched
    groups: dict[str, list[str]] = {}
    for word in words:
        if word:
            groups.setdefault(word[0], []).append(word[1:])
    alts = []
    for first, rests in sorted(groups.items()):
        sub = _trie(rests, longest=longest)
        alts.append(re.escape(first) + (f"(?:{sub})" if "|" in sub or "?" in sub else sub))
    body = "|".join(alts)
    if "" in words:  # longest: this word ends here, a longer one may go on
        return f"(?:{body})?" if body else ""
    return body


_WORDS = frozenset(w for *_p, words in _PATTERNS for w in words)
# Every word of every pattern: a string (lowercased) none of them occurs in holds no secret
# any pattern masks, so most strings cost one scan. No word holds a character JSON escapes.
_ANY_TRIGGER = _lazy(_trie(_WORDS))
# The longest word starting at every position (a lookahead: occurrences may overlap), so
# one scan tells every word present: those found and the words they begin with.
_EVERY_TRIGGER = _lazy("(?=(" + _trie(_WORDS, longest=True) + "))")
_PREFIXES = {w: frozenset(p for p in _WORDS if w.startswith(p)) for w in _WORDS}


def _words_in(low: str) -> set[str]:
    """The patterns' words that occur in low."""
    found: set[str] = set()
    for word in set(_EVERY_TRIGGER.findall(low)):
        found |= _PREFIXES[word]
    return found


# Extra fields of a `combined`-prefixed access log line ("$http_cookie", "$http_x_api_key").
_ACCESS_PREFIX = _lazy(
    r'^\S+ \S+ \S+ \[[^\]]+\] "(?:[^"\\]|\\.)*" \d{3} (?:\d+|-) "(?:[^"\\]|\\.)*" '
    r'"(?:[^"\\]|\\.)*"')


def _sub_quoted(text: str, repl: Callable[[str], str | None]) -> str:
    """Each "double-quoted field" (backslash escapes) replaced by `"` + repl(inner) + `"`
    (None: kept). One pass: an unterminated quote runs to the end, and is a field too."""
    out: list[str] = []
    pos = 0
    while (start := text.find('"', pos)) >= 0:
        i = start + 1
        while True:
            q, b = text.find('"', i), text.find("\\", i)
            if 0 <= b < q or q < 0 <= b:
                i = b + 2
                continue
            break
        end = len(text) if q < 0 else q
        new = repl(text[start + 1:end])
        out.append(text[pos:start])
        out.append(text[start:end + 1] if new is None else '"' + new + ('"' if q >= 0 else ""))
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)
_COOKIE = _lazy(r"^\s*[^=\s;]+=[^;]*(?:;\s*[^=\s;]+(?:=[^;]*)?)*$")  # HttpOnly: no =
_SCHEME_VALUE = _lazy(r"^(?:Bearer|Basic|Token|Digest|Bot|token|bearer)\s+\S")
_NGINX_ESCAPE = _lazy(r"\\x([0-9A-Fa-f]{2})")
_TOKENISH = _lazy(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_+/=.~-]{16,}$")

# Fields holding an argv: a secret may span its elements ("-H", "Authorization: Bearer", "x"
# or "Bearer", "x"), so they are redacted as one command line, the elements joined by a
# character no argument holds and every pattern reads as a space.
_ARGV_KEYS = frozenset({"cmdline", "argv"})
_ARG_SEP = "\x1f"

_SECRET_KEY_NAME = _lazy(r"(?i)(passw|secret|token|api_?key|private_?key|authorization|"
                              r"^cookie$|set-cookie|credential)")

_IPV4 = _lazy(r"(?<![\w.])((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
                   r"(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})(?![\w]|\.\d)")
_IPV6 = _lazy(r"(?<![\w:.])((?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4})(?![\w:.])")
_PROC_V4 = _lazy(r"\b([0-9A-F]{8}):([0-9A-F]{4})\b")
_PROC_V6 = _lazy(r"\b([0-9A-F]{32}):([0-9A-F]{4})\b")
_SERVER_NAME = _lazy(r"\bserver_name\s+([^;{}]+);")
_URL_HOST = _lazy(r"\b[a-zA-Z][\w+.-]{0,31}://(?:[^@/\s'\"]*@)?([A-Za-z0-9][A-Za-z0-9.-]*)")
_HOST_FIELD = _lazy(r"(?i)\b(?:host\s*[:=]\s*\"?|host_header\"?\s*:\s*\")"
                         r"([A-Za-z0-9][A-Za-z0-9.-]*)")
_NAME = _lazy(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$")
_KEEP_HOSTS = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback",
                         "unix", "_", "default_server"})


# A journal field whose whole value is base64 key material (a key block's line).
_B64_FIELD = _lazy(r'":"[ #]*[A-Za-z0-9+/]{40,}={0,2}"')


def _is_bytes(value: object) -> bool:
    return isinstance(value, list) and bool(value) and \
        all(isinstance(x, int) and 0 <= x < 256 for x in value)


def _quoted_mask(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[0] + MASK + value[0]
    return MASK


def _kept_ip(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback and unspecified addresses say nothing about the host and drive rules."""
    return addr.is_loopback or addr.is_unspecified


class Redacted(NamedTuple):
    """One item redacted on its own: the item it came from, its new key, itself, the counts."""

    raw: Mapping[str, Any]
    source: str
    item: dict[str, Any]
    counts: Counter[str]


class Redactor:
    """Masks secrets (always) and, on request, IPs and host names; counts masks by kind."""

    def __init__(self, *, mask_ips: bool = False, mask_hosts: bool = False,
                 hosts: Iterable[str] = ()) -> None:
        self.mask_ips = mask_ips
        self.mask_hosts = mask_hosts
        self.counts: Counter[str] = Counter()
        self._ips: dict[str, str] = {}
        self._hosts: dict[str, str] = {}
        self._host_re: re.Pattern[str] | None = None
        for name in hosts:
            self.learn_host(name)

    # -- host names ---------------------------------------------------------------------
    def learn_host(self, name: str, *, single_label: bool = True) -> None:
        """Add a host name to mask (when masking host names); placeholders are stable.

        Single-label names (upstream block names, `backend`) are only learnt when asked,
        as they would also match path components.
        """
        name = name.strip().strip('"').rstrip(".").lower()
        if not single_label and "." not in name:
            return
        if name.startswith("*."):
            name = name[2:]
        if (not self.mask_hosts or not name or name in _KEEP_HOSTS or name in self._hosts
                or not _NAME.match(name) or _IPV4.fullmatch(name) or name.isdigit()):
            return
        self._hosts[name] = f"host-{len(self._hosts) + 1}.example"
        names = sorted(self._hosts, key=len, reverse=True)
        self._host_re = re.compile(
            r"(?i)(?<![\w.-])(" + "|".join(re.escape(n) for n in names) + r")(?![\w-]|\.\w)")

    def learn_hosts_from(self, texts: Iterable[str]) -> None:
        """Find server_name values, URL hosts and Host headers in texts."""
        if not self.mask_hosts:
            return
        for text in texts:
            for m in _SERVER_NAME.finditer(text):
                for word in m.group(1).split():
                    if not word.startswith("~"):
                        self.learn_host(word, single_label=False)
            for rx in (_URL_HOST, _HOST_FIELD):
                for m in rx.finditer(text):
                    self.learn_host(m.group(1), single_label=False)

    # -- IP addresses -------------------------------------------------------------------
    def _map_ip(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
        key = str(addr)
        if key not in self._ips:
            n = sum(1 for v in self._ips.values() if (":" in v) == (addr.version == 6)) + 1
            if addr.version == 4:
                base = int(ipaddress.IPv4Address("192.0.2.0"))
                self._ips[key] = str(ipaddress.IPv4Address(base + n if n < 255 else
                                                           int(ipaddress.IPv4Address(
                                                               "240.0.0.0")) + n))
            else:
                self._ips[key] = str(ipaddress.IPv6Address(
                    int(ipaddress.IPv6Address("2001:db8::")) + n))
        self.counts["ip"] += 1
        return self._ips[key]

    def _ip_text(self, text: str) -> str:
        def v6(m: re.Match[str]) -> str:
            try:
                addr = ipaddress.IPv6Address(m.group(1))
            except ValueError:
                return m.group(0)
            return m.group(0) if _kept_ip(addr) else self._map_ip(addr)

        def v4(m: re.Match[str]) -> str:
            addr = ipaddress.IPv4Address(m.group(1))
            return m.group(0) if _kept_ip(addr) else self._map_ip(addr)

        return _IPV4.sub(v4, _IPV6.sub(v6, text))

    def _proc_net(self, text: str) -> str:
        """/proc/net/tcp{,6} write addresses in little-endian hex: map those too."""

        def v4(m: re.Match[str]) -> str:
            addr = ipaddress.IPv4Address(bytes.fromhex(m.group(1))[::-1])
            if _kept_ip(addr):
                return m.group(0)
            new = ipaddress.IPv4Address(self._map_ip(addr))
            return f"{new.packed[::-1].hex().upper()}:{m.group(2)}"

        def v6(m: re.Match[str]) -> str:
            raw = bytes.fromhex(m.group(1))
            packed = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
            addr = ipaddress.IPv6Address(packed)
            if _kept_ip(addr) or addr.ipv4_mapped and _kept_ip(addr.ipv4_mapped):
                return m.group(0)
            new = ipaddress.IPv6Address(self._map_ip(addr)).packed
            back = b"".join(new[i:i + 4][::-1] for i in range(0, 16, 4))
            return f"{back.hex().upper()}:{m.group(2)}"

        return _PROC_V4.sub(v4, _PROC_V6.sub(v6, text))

    # -- text ---------------------------------------------------------------------------
    def _access_line(self, line: str) -> str:
        m = _ACCESS_PREFIX.match(line)
        if not m:
            return line

        def field(value: str) -> str | None:
            if value in ("", "-") or value == MASK:
                return None
            if _COOKIE.match(value):
                self.counts["cookie"] += 1
                return re.sub(r"=[^;]*", "=" + MASK, value)
            if _TOKENISH.match(value) or _SCHEME_VALUE.match(value):
                self.counts["api_token"] += 1
                return MASK
            return None

        return line[:m.end()] + _sub_quoted(line[m.end():], field)

    def _escaped_field(self, value: str) -> str | None:
        """An access log field as the client sent it (nginx writes `"`, a backslash and
        bytes outside ASCII as \\xHH): redacted as such, written back the same way."""
        if "\\x" not in value:
            return None
        raw = _NGINX_ESCAPE.sub(lambda e: chr(int(e.group(1), 16)), value)
        raw = raw.encode("latin-1", "replace").decode("utf-8", "replace")
        red = self.text(raw)
        if red == raw:
            return None
        return "".join(f"\\x{b:02X}" if b in (0x22, 0x5C) or b < 0x20 or b > 0x7E
                       else chr(b) for b in red.encode())

    def text(self, text: str, source: str = "") -> str:
        """Redact one string; `source` (an evidence key) enables format-aware passes."""
        if "\\x" in text and source.startswith(sources.NGINX_ACCESS_LOG_PREFIX):
            # before any pattern reads \\x22 as part of a value
            text = _sub_quoted(text, self._escaped_field)
        if ("\\u" in text or '\\"' in text) and text.lstrip()[:1] in ("{", "["):
            decoded = self._json_text(text, source)
            if decoded is not None:
                return decoded
        if structure.FULLWIDTH_LETTER.search(text):
            text = halfwidth(text)  # ＰＡＳＳＷＯＲＤ＝x reads as PASSWORD=x
        low = text.lower()
        if _ANY_TRIGGER.search(low):
            fresh = True  # low is text.lower()
            present = _words_in(low)
            for kind, pattern, repl, words in _PATTERNS:
                if words and present.isdisjoint(words):
                    continue
                if isinstance(pattern, _Anchored):
                    text, n = pattern.subn(repl, text, low if fresh else None)
                else:
                    text, n = pattern.subn(repl, text)
                if n:
                    self.counts[kind] += n
                    fresh = False
        if len(text) >= 40 and structure.B64_RUN.search(text):
            text, n = structure.key_lines(text)
            if n:
                self.counts["private_key"] += n
        if source.startswith(sources.NGINX_ACCESS_LOG_PREFIX):
            text = "\n".join(self._access_line(x) for x in text.split("\n"))
        if self.mask_ips:
            if source.startswith(sources.PROC_NET_PREFIX + "tcp"):
                text = self._proc_net(text)
            text = self._ip_text(text)
        if self.mask_hosts and self._host_re is not None:
            text, n = self._host_re.subn(lambda m: self._hosts[m.group(1).lower()], text)
            self.counts["host"] += n
        return text

    def _json_text(self, text: str, source: str) -> str | None:
        """A JSON document in a string (a response body): its strings redacted as the
        text they stand for (escapes decoded), or None when it is no JSON."""
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not isinstance(doc, (dict, list)):
            return None
        red = self.obj(doc, source)
        return text if red == doc else json.dumps(red, ensure_ascii=False)

    def obj(self, obj: Any, source: str = "") -> Any:
        """Redact every string in a JSON-like structure; values of secret-named keys go whole."""
        if isinstance(obj, str):
            return self.text(obj, source)
        if isinstance(obj, Mapping):
            out: dict[Any, Any] = {}
            for k, v in obj.items():
                if isinstance(v, str) and isinstance(k, str) and _SECRET_KEY_NAME.search(k) \
                        and v and v != MASK:
                    self.counts["secret_field"] += 1
                    out[k] = MASK
                elif k in _ARGV_KEYS:
                    out[k] = self._argv(v, source)
                elif isinstance(k, str) and k.isupper() and _is_bytes(v):
                    out[k] = self._bytes(v, source)
                else:
                    out[k] = self.obj(v, source)
            return out
        if isinstance(obj, (list, tuple)):
            return [self.obj(v, source) for v in obj]
        return obj

    def _bytes(self, values: list[int], source: str) -> list[int]:
        """journald's array of byte values (a field that is not UTF-8): redacted as text."""
        decoded = bytes(values).decode("utf-8", "surrogateescape")
        red = self.text(decoded, source)
        return values if red == decoded else list(red.encode("utf-8", "surrogateescape"))

    def _argv(self, argv: Any, source: str) -> Any:
        if not isinstance(argv, list) or not argv or \
                not all(isinstance(a, str) and _ARG_SEP not in a for a in argv):
            return self.obj(argv, source)
        return self.text(_ARG_SEP.join(argv), source).split(_ARG_SEP)

    def _json_lines(self, text: str, source: str) -> str:
        """journalctl -o json: redact each record's values, keep one record per line."""
        out = []
        plain = not (self.mask_ips or self.mask_hosts)
        for line in text.split("\n"):
            if plain and "\\u" not in line and "\\/" not in line and '":[' not in line and \
                    not _ANY_TRIGGER.search(line.lower()) and not _B64_FIELD.search(line):
                # The other JSON escapes decode to characters no trigger word holds, so a
                # word in a decoded value is in the raw line too: nothing here to mask.
                # (Secret-named keys hold a word as well.)
                out.append(line)
                continue
            if line.startswith("{") and "\\" not in line and '":[' not in line and \
                    not _B64_FIELD.search(line) and not _SECRET_KEY_NAME.search(line):
                # Most records hold nothing to mask: one pass over the raw line tells, and
                # saves parsing and redacting every field (the bulk of a bundle's time).
                # Without a backslash, every JSON string in the line is its value verbatim,
                # so a pattern that would match inside a value matches the line too.
                counts = self.counts.copy()
                if self.text(line, source) == line:
                    out.append(line)
                    continue
                self.counts = counts
            try:
                rec = json.loads(line) if line.startswith("{") else None
            except ValueError:
                rec = None
            if isinstance(rec, dict):
                out.append(json.dumps(self.obj(rec, source), ensure_ascii=False,
                                      separators=(",", ":")))
            else:
                out.append(self.text(line, source))
        return "\n".join(out)

    def item(self, source: str, item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """Redact one evidence item: (its redacted source key, the redacted item)."""
        new_source = self.text(source, source)
        new_item: dict[str, Any] = {}
        for field, v in item.items():
            if field in ("stdout", "stderr") and isinstance(v, str) and \
                    source.startswith(sources.JOURNAL_PREFIX):
                new_item[field] = self._json_lines(v, source)
            elif field == "source":
                new_item[field] = new_source
            elif field in _ARGV_KEYS:
                new_item[field] = self._argv(v, source)
            else:
                new_item[field] = self.whole(v, source)
        return new_source, new_item

    def whole(self, value: Any, source: str = "") -> Any:
        """obj(value); a structure found to hold nothing to mask is returned as it is."""
        if isinstance(value, (Mapping, list)) and self._holds_nothing(value, source):
            return value
        return self.obj(value, source)

    def _holds_nothing(self, value: Any, source: str) -> bool:
        """Nothing in this structure (keys and strings) would be masked: one scan of its
        JSON text tells, instead of a walk calling text() on every string (a process table
        has thousands). JSON escapes only quotes, backslashes and control characters, none
        of which a trigger word holds; secret-named keys hold one too."""
        if self.mask_ips or self.mask_hosts or source.startswith(sources.NGINX_ACCESS_LOG_PREFIX):
            return False
        try:
            dumped = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            return False
        return not _ANY_TRIGGER.search(dumped.lower()) and not structure.B64_RUN.search(dumped) \
            and not structure.FULLWIDTH_LETTER.search(dumped)

    def evidence(self, ev: Mapping[str, Any],
                 early: Mapping[str, Redacted] | None = None) -> dict[str, Any]:
        """Redact an agent evidence dict (item keys and values alike), ready to be written.

        `early` holds items already redacted while the gathering went on (by a Redactor
        that masks no IPs or host names): used as they are when they are the very item.
        """
        if early and (self.mask_ips or self.mask_hosts):
            raise ValueError("items redacted early cannot be masked consistently")
        items = ev.get("items") or {}
        if self.mask_hosts:
            self.learn_host(str(ev.get("host") or ""))
            self.learn_hosts_from(t for it in items.values() for t in (
                it.get("stdout") or "", it.get("stderr") or "", json.dumps(it.get("data"))))
            self.learn_hosts_from([str(ev.get("target_url") or ""), *items])
        out: dict[str, Any] = {}
        for key, value in ev.items():
            if key == "items":
                red = {}
                for source, item in items.items():
                    done = (early or {}).get(source)
                    if done is not None and done.raw is item:
                        self.counts.update(done.counts)
                        red[done.source] = done.item
                        continue
                    new_source, new_item = self.item(source, item)
                    red[new_source] = new_item
                out[key] = red
            elif key == "host" and isinstance(value, str):
                out[key] = self.text(value)
            else:
                out[key] = self.obj(value)
        return out


def redact(text: str) -> str:
    """Mask passwords, tokens and secret-looking values in text."""
    return Redactor().text(text)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside a JSON-like structure (keys are kept as they are)."""
    return Redactor().obj(obj)
