"""Secrets found by the structure that holds them, and names that mean "secret".

Each scanner here reads one structure and masks its secret parts: URLs and DSNs (RFC 3986
userinfo, with libpq's rule that the password runs to the last `@` before the host),
assignments in their many spellings (`K=V`, `K: V`, `"k": "v"`, `'k': 'v'`, `k := v`,
full-width `：`/`＝`) whose name means a secret, nginx directives, ASGI header tuples,
command lines (flags taking a secret attached or separate, per tool), PEM/PGP blocks and
their lines on their own, and token formats the secret scanners publish (gitleaks'
config/gitleaks.toml, detect-secrets' plugins: the formats, not their code).

A scanner is `subn(text) -> (text, n)`, its patterns linear: no quantified group whose
body can match what its neighbour matches, so no input makes one backtrack more than a
bounded distance (tests/unit/test_redact_linear.py feeds each one 100 KB of its worst case).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any, cast

MASK = "***"


class _LazyPattern:
    """A regex compiled on first use: most patterns here serve only some inputs (masks,
    access logs, one kind of secret), and compiling them all costs ~6 ms at every start."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)
        self._compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


def _lazy(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return cast("re.Pattern[str]", _LazyPattern(pattern, flags))



# -- names by meaning -------------------------------------------------------------------
# A name means a secret when one of its words (split at any separator and at camelCase) is
# one of these, or holds one of the STRONG ones, or holds a CJK word below.
VOCABULARY = frozenset({
    "pass", "passwd", "password", "passphrase", "pwd", "auth", "authorization",
    "token", "secret", "key", "apikey", "sign", "signature", "sig", "credential",
    "credentials", "cookie", "sessionid", "dbpass", "dbpwd", "authtoken", "accesstoken",
    "secretkey", "accesskey", "privatekey", "clientsecret", "sessionkey", "accountkey",
})
STRONG = ("password", "passwd", "secret", "passphrase", "credential", "token")
CJK = ("密码", "口令", "密钥", "秘钥", "令牌", "凭证", "签名")
# Names that hold a vocabulary word and name no secret.
NOT_SECRET = frozenset({
    "auth_basic", "auth_basic_user_file", "auth_request", "auth_request_set", "auth_delay",
    "keyring_mode", "key_file", "keyfile", "key_path", "ssl_certificate_key", "public_key",
    "publickey", "sort_key", "primary_key", "foreign_key", "key_id", "keyid", "keys",
    "token_type", "sign_in", "signin", "sign_up", "signup", "sig_alg", "auth_type",
    "authtype", "auth_method", "auth_mode", "password_file", "passwordfile", "token_url",
    "token_file", "secret_file", "secrets_dir", "credential_file", "credentials_file",
    "credentials_directory", "password_hash", "auth_source", "authsource", "auth_url",
    "keepalive", "authentication", "authenticated", "authorized", "authorizer",
})
# A name ending in one of these names something about a secret, not the secret (KeyError,
# TOKEN_EXPIRE_MINUTES, password_file, ExpiredSignatureError).
_NOT_SECRET_LAST = frozenset({
    "file", "path", "dir", "url", "type", "mode", "id", "length", "len", "hash", "algorithm",
    "alg", "method", "name", "required", "expiry", "expires", "expire", "expiration", "ttl",
    "timeout", "set", "header", "enabled", "policy", "error", "errors", "exception",
    "warning", "missing", "invalid", "minutes", "seconds", "hours", "days", "lifetime",
    "age", "count", "size", "max", "min", "limit", "version", "format", "field", "prefix",
    "str", "bytes",
})
_SPLIT = _lazy(r"[^0-9a-zA-Z\u4e00-\u9fff]+|(?<=[a-z0-9])(?=[A-Z])")


# Every word above holds one of these (lowercased): most names hold none and cost one scan.
STEMS = ("pass", "pwd", "auth", "token", "secret", "key", "sig", "credential", "cookie",
         "session") + CJK
_STEM = _lazy("|".join(STEMS))
# The same in full-width letters (ＰＡＳＳＷＯＲＤ lowercased): the words that tell a text
# may hold such a name before it is read as ASCII.
FULLWIDTH_STEMS = tuple("".join(chr(ord(c) + 0xFEE0) for c in w) for w in STEMS
                        if w.isascii())


def secret_name(name: str) -> bool:
    """Whether a name (a variable, key, header, flag or field) means a secret."""
    if name.isascii() and not _STEM.search(name.lower()):
        return False
    name = unicodedata.normalize("NFKC", name).strip("\"'`$-\\ ")
    if any(w in name for w in CJK):
        return True
    words = [w.lower() for w in _SPLIT.split(name) if w]
    if not words:
        return False
    flat = "_".join(words)
    if flat in NOT_SECRET or "".join(words) in NOT_SECRET:
        return False
    if words[-1] in _NOT_SECRET_LAST:
        return False
    return any(w in VOCABULARY or any(s in w for s in STRONG) for w in words)


# -- values -----------------------------------------------------------------------------
# A value: quoted (also JSON-escaped quotes inside a JSON string, Python bytes), or a run
# of characters that end no structure. Each alternative begins with a different character.
_VALUE = (r"(?:\\\"(?:[^\"\\\n]|\\[^\"\n])*\\\"|\"(?:[^\"\\\n]|\\.)*\"|"
          r"'(?:[^'\\\n]|\\.)*'|"
          r"(?:[^\s\"',;&)}\]<>|\\{\[]|\\x[0-9a-fA-F]{2})"  # not an object: its keys are read
          r"(?:[^\s\"',;&)}\]<>|\\]|\\x[0-9a-fA-F]{2})*)")  # \x20: systemd
_TYPE_NAMES = frozenset({"str", "int", "bytes", "bool", "SecretStr", "SecretBytes", "Optional",
                         "Any", "None", "PostgresDsn", "RedisDsn", "AnyUrl", "HttpUrl"})
_NOT_VALUES = frozenset({"", "-", "null", "none", "(null)", "nil", "true", "false", "yes",
                         "no", "0", "1", MASK, "[]", "{}"})


def _masked_value(value: str) -> str | None:
    """The value with its secret part masked (quotes kept), or None: nothing to mask."""
    quote = ""
    inner = value
    for q in ('\\"', '"', "'"):
        if len(value) >= 2 * len(q) and value.startswith(q) and value.endswith(q):
            quote, inner = q, value[len(q):-len(q)]
            break
    low = inner.strip().lower()
    if inner.strip() in _TYPE_NAMES or inner.isdigit() and len(inner) <= 5:
        return None  # a type annotation (secret_key: str), a small number (sig: 15)
    if low in _NOT_VALUES or inner.startswith(("$", "${", MASK, "%(", "{{")) or \
            inner.startswith("<") and inner.endswith(">"):
        return None
    if inner.startswith("/") and " " not in inner and inner.count("/") > 1:
        return None  # a path (--password-file, EnvironmentFile): no secret in it
    return quote + MASK + quote


# -- assignments ------------------------------------------------------------------------
_ASSIGN = _lazy(
    r"(?<![\w.\-])(-{0,2}[^\W\d][\w.\-]*)"  # the name (any script: \w is Unicode), --flag=
    r"(\\?[\"']?[ \t]*(?::=|[=:：＝])[ \t]*(?:b(?=['\"]))?)")  # the separator
_ASSIGN_SIGN = _lazy(r"[=:：＝]")
_ASSIGNED = _lazy(r"(?:(?i:bearer|basic|token|bot)[ \t]+)?" + _VALUE)  # "Bearer x": one


class Assignments:
    """`NAME=value` in every spelling, when the name means a secret."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the values; return the text and how many."""
        out: list[str] = []
        pos = n = 0
        for m in self._heads(text):
            if m.start() < pos or not secret_name(m.group(1)):
                continue
            value = _ASSIGNED.match(text, m.end())
            if value is None or value.group(0).startswith("//"):
                continue  # scheme://: the URL scanner's
            masked = _masked_value(value.group(0))
            if masked is None:
                continue
            end = value.end()
            quote = text[m.start() - 1:m.start()]
            if quote in ("\"", "'") and masked == MASK:
                # "SECRET_KEY=a b": systemd quotes the whole assignment, spaces and all
                close = text.find(quote, end, text.find("\n", end) % (len(text) + 1))
                if close >= 0 and not _ASSIGN_SIGN.search(text, end, close):
                    end = close  # (not past another assignment's start)
            out += [text[pos:m.end()], masked]
            pos = end
            n += 1
        out.append(text[pos:])
        return "".join(out), n

    @staticmethod
    def _heads(text: str) -> Iterator[re.Match[str]]:
        """`name<separator>` where the name holds a stem of the vocabulary, in order.

        One pass of _ASSIGN (its lookbehind lets a name start only at a word's start, so
        a long word is read once); the value of a name that is no secret is not skipped,
        as it may hold an assignment that is ("MESSAGE":"DB_PASS=x", Environment=K=x).
        """
        for a, b in stem_lines(text):
            for m in _ASSIGN.finditer(text, a, b):
                if _STEM.search(m.group(1).lower()):
                    yield m


def stem_lines(text: str) -> Iterator[tuple[int, int]]:
    """The (start, end) of each line holding a stem of the vocabulary: a name that means a
    secret lies within one line, and most lines (a `systemctl show`) hold none."""
    low = text.lower()
    if len(low) != len(text):  # a character lowercased to two: positions would differ
        yield 0, len(text)
        return
    pos = 0
    while (hit := _STEM.search(low, pos)) is not None:
        start = low.rfind("\n", 0, hit.start()) + 1
        end = low.find("\n", hit.end())
        end = len(low) if end < 0 else end
        yield start, end
        pos = end + 1


_XML = _lazy(r"<([\w:.\-]{1,64})>([^<\n]{1,512})</\1>")
_HOST_USERINFO = _lazy(r"(?i)\b(host(?:[ _]?name)?[ \t]*[=:]?[ \t]*[\"']?)"
                            r"([^\s\"':@/]{1,64}):([^\s\"']{1,128})@(?=[\w\[])")


class Elements:
    """`<password>x</password>`, and a DSN's userinfo pasted into a host name (libpq:
    could not translate host name "app:pw@db")."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the values; return the text and how many."""
        n = 0

        def element(m: re.Match[str]) -> str:
            nonlocal n
            if not secret_name(m.group(1)) or m.group(2) == MASK:
                return m.group(0)
            n += 1
            return f"<{m.group(1)}>{MASK}</{m.group(1)}>"

        def host(m: re.Match[str]) -> str:
            nonlocal n
            if m.group(3) == MASK:
                return m.group(0)
            n += 1
            return m.group(1) + m.group(2) + ":" + MASK + "@"

        text = _XML.sub(element, text)
        return _HOST_USERINFO.sub(host, text), n


# -- URLs and DSNs ----------------------------------------------------------------------
_SCHEME = _lazy(r"\b[a-zA-Z][a-zA-Z0-9+.\-]{0,31}://")
_HOSTCHAR = _lazy(r"[\w\[.\-%]")
_PORT_PATH = _lazy(r"\d{1,5}/")
_CONFIG_CHARS = _lazy(r"[;{}$()<>]")  # localhost:{$PORT}; a template, no password
_PORT_REST = _lazy(r"\d{1,5}(?:[/\"'?#;,)\]]|$)")
_TOKENISH_USER = _lazy(r"[0-9a-fA-F]{24,}|[A-Za-z0-9_\-]{24,}")


class Urls:
    """`scheme://user:password@host`: the password (to the last `@` before the host, as
    libpq reads it: `@`, `/`, `+`, quotes allowed), and a bare token as the user (Sentry)."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask userinfo secrets; return the text and how many."""
        out: list[str] = []
        pos = n = 0
        for m in _SCHEME.finditer(text):
            start = m.end()
            if start < pos:
                continue
            end = self._userinfo_end(text, start)
            if end is None:
                continue
            userinfo = text[start:end]
            user, colon, password = userinfo.partition(":")
            if colon and password and password != MASK:
                out += [text[pos:start], user, ":", MASK]
                pos = end
                n += 1
            elif not colon and _TOKENISH_USER.fullmatch(user):
                out += [text[pos:start], MASK]
                pos = end
                n += 1
        out.append(text[pos:])
        return "".join(out), n

    @staticmethod
    def _userinfo_end(text: str, start: int) -> int | None:
        """Where the userinfo after `scheme://` ends (at its last `@`), or None."""
        line_end = text.find("\n", start)
        line_end = len(text) if line_end < 0 else line_end
        limit = min(line_end, start + 256)
        # The authority ends at the first whitespace; a password may hold spaces, so
        # past it only an `@` before the next `://` and within 64 characters counts.
        space = start
        while space < limit and not text[space].isspace():
            space += 1
        at = text.rfind("@", start, space)
        if at < 0 and space == len(text):
            # cut off inside the authority (a report shortens long evidence): user:rest
            # to the end is a password unless rest is a port
            colon = text.find(":", start, space)
            rest = text[colon + 1:space]
            if colon >= 0 and text.find("/", start, colon) < 0 and rest and \
                    text[start] != "[" and not rest.startswith("/") and \
                    not _PORT_REST.match(rest) and not _CONFIG_CHARS.search(rest):
                return space
        if at < 0:
            nxt = text.find("://", start, limit)
            stop = min(limit, start + 64, nxt if nxt >= 0 else limit)
            at = text.find("@", space, stop)
            if at < 0 or '"' in text[space:at] or ":" not in text[start:at]:
                return None
        if text.find("://", start, at) >= 0:
            return None
        if at + 1 < len(text) and not _HOSTCHAR.match(text, at + 1):
            return None
        head = text[start:at]
        colon = head.find(":")
        slash = head.find("/")
        if 0 <= slash < (colon if colon >= 0 else len(head)):
            return None  # a path before any ':': an '@' in the path, no userinfo
        if colon >= 0 and _PORT_PATH.match(head, colon + 1):
            return None  # host:port/path@...: an '@' in the path
        return at


# -- nginx directives -------------------------------------------------------------------
_NGINX = _lazy(
    r"(?i)(?<![\w$])((?:proxy|grpc|fastcgi|uwsgi|scgi)_set_header|add_header|"
    r"(?:fastcgi|uwsgi|scgi)_param|more_set_headers|set|env)([ \t]+)"
    r"(\$?[\w\-]+)([ \t]+)(\"[^\"\n]*\"|'[^'\n]*'|[^\s;\"'][^\s;]*)")
_SECURE_LINK = _lazy(r"(?i)\b(secure_link_md5|secure_link_secret)([ \t]+)"
                          r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s;\"'][^\s;]*)")
_VARIABLES_ONLY = _lazy(r"^[\"']?(?:\$\{?\w+\}?|[\s:/._\-])*[\"']?$")


class NginxDirectives:
    """A header, parameter or variable whose name means a secret, and secure_link's key."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the directives' values; return the text and how many."""
        n = 0

        def one(m: re.Match[str]) -> str:
            nonlocal n
            value = m.group(5)
            if not secret_name(m.group(3)) or _VARIABLES_ONLY.match(value) or MASK in value:
                return m.group(0)
            n += 1
            q = value[0] if value[0] in "\"'" else ""
            return m.group(1) + m.group(2) + m.group(3) + m.group(4) + q + MASK + q

        def link(m: re.Match[str]) -> str:
            nonlocal n
            value = m.group(3)
            if MASK in value:
                return m.group(0)
            n += 1
            q = value[0] if value[0] in "\"'" else ""
            return m.group(1) + m.group(2) + q + MASK + q

        out: list[str] = []
        pos = 0
        for a, b in stem_lines(text):
            out += [text[pos:a], _NGINX.sub(one, text[a:b])]
            pos = b
        text = "".join(out) + text[pos:]
        if "secure_link" in text:
            text = _SECURE_LINK.sub(link, text)
        return text, n


# -- ASGI/WSGI header tuples, Digest ----------------------------------------------------
_ASGI = _lazy(r"\(b?'([\w\-]{1,64})',[ \t]*b?'([^'\\\n]*)'\)")
_DIGEST = _lazy(r"(?i)\b(digest[ \t]+)(username=[^\r\n'\]]*)")
_DIGEST_RESPONSE = _lazy(r"(?i)\b((?:response|cnonce)=\"?)([0-9a-f]{8,})")
_HEADER_NAMES = frozenset({"cookie", "set-cookie", "authorization", "proxy-authorization"})


class HeaderTuples:
    """`(b'cookie', b'...')` in an ASGI scope, `Digest username=...` credentials."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the values; return the text and how many."""
        n = 0

        def one(m: re.Match[str]) -> str:
            nonlocal n
            name = m.group(1).lower()
            if name not in _HEADER_NAMES and not secret_name(name) or not m.group(2):
                return m.group(0)
            n += 1
            return m.group(0)[:m.start(2) - m.start()] + MASK + m.group(0)[m.end(2) - m.start():]

        text = _ASGI.sub(one, text)

        def digest(m: re.Match[str]) -> str:
            nonlocal n
            n += 1
            return m.group(1) + MASK

        text = _DIGEST.sub(digest, text)
        if "nonce=" in text.lower():
            text, k = _DIGEST_RESPONSE.subn(r"\1" + MASK, text)
            n += k
        return text, n


# -- command lines ----------------------------------------------------------------------
# Flags that take a secret, per tool: attached (`-pSECRET`) or the next argument.
_ATTACHED = {"mysql": ("-p",), "mysqldump": ("-p",), "mysqladmin": ("-p",),
             "mariadb": ("-p",), "mariadb-dump": ("-p",)}
_SEPARATE = {"sshpass": ("-p",), "redis-cli": ("-a",), "twine": ("-p",),
             "keydb-cli": ("-a",), "htpasswd": ()}
_USERPASS = {"curl": ("-u", "--user", "--proxy-user", "-U"), "wget": ()}
_TOOLS = frozenset(_ATTACHED) | frozenset(_SEPARATE) | frozenset(_USERPASS)
_ARG = _lazy(r"[^\s\x1f]+")
_FLAG_STEM = _lazy(r"--[a-z0-9_\-]{0,40}?(?:" + "|".join(STEMS) + ")")
_TOOL_CUT = _lazy(r"[/=\"':\[\]{}\udc80-\udcff\ufffd]")


def _bare(arg: str) -> str:
    return arg.strip("\"'")


class CommandLines:
    """Flags taking a secret: `-pSECRET`, `sshpass -p X`, `redis-cli -a X`, `curl -u u:pw`,
    `--db-pass X` / `--client-secret=X` (any flag whose name means a secret)."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the flags' values; return the text and how many."""
        low = text.lower()
        if not _FLAG_STEM.search(low) and not any(t in low for t in _TOOLS):
            return text, 0  # no flag named for a secret, no tool taking one
        args = list(_ARG.finditer(text))
        masks: list[tuple[int, int]] = []
        tool = ""
        expect = False
        for i, m in enumerate(args):
            arg = _bare(m.group(0))
            base = _TOOL_CUT.split(arg)[-1]  # /usr/bin/curl, ExecStart=curl, "MESSAGE":"curl
            if base in _TOOLS:
                tool = base
                expect = False
                continue
            if expect:
                expect = False
                if not arg.startswith("-") and MASK not in arg:
                    masks.append(self._inner(m))
                continue
            if arg.startswith("--") and "=" not in arg and secret_name(arg[2:]) and \
                    i + 1 < len(args) and not _bare(args[i + 1].group(0)).startswith("-"):
                expect = True
                continue
            if tool in _USERPASS and arg in _USERPASS[tool] and i + 1 < len(args):
                nxt = args[i + 1]
                user, colon, pw = _bare(nxt.group(0)).partition(":")
                if colon and pw and pw != MASK:
                    s = nxt.start() + nxt.group(0).index(":") + 1
                    masks.append((s, s + len(pw)))
                continue
            for flag in _ATTACHED.get(tool, ()):
                if arg.startswith(flag) and len(arg) > len(flag) and arg != flag + MASK:
                    s = m.start() + m.group(0).index(flag) + len(flag)
                    masks.append((s, s + len(arg) - len(flag)))
            if arg in _SEPARATE.get(tool, ()):
                expect = True
        if not masks:
            return text, 0
        out: list[str] = []
        pos = 0
        for s, e in masks:
            out += [text[pos:s], MASK]
            pos = e
        out.append(text[pos:])
        return "".join(out), len(masks)

    @staticmethod
    def _inner(m: re.Match[str]) -> tuple[int, int]:
        arg = m.group(0)
        q = 1 if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'" else 0
        return m.start() + q, m.end() - q


# -- blocks and lines of key material ---------------------------------------------------
_BEGIN = _lazy(r"-----BEGIN ([A-Z0-9 ]{0,40})PRIVATE KEY( BLOCK)?-----")
# A line that is only base64 (a PEM or PGP body line, a key on its own), maybe commented.
_B64_LINE = _lazy(
    r"(?m)^([ \t#>\udc80-\udcff\ufffd]*)([A-Za-z0-9+/]{40,}={0,2})([ \t]*)$")
B64_RUN = _lazy(r"[A-Za-z0-9+/]{40}")


def _high_entropy(s: str) -> bool:
    return any(c.isupper() for c in s) and any(c.islower() for c in s) and \
        any(c.isdigit() for c in s)


class KeyBlocks:
    """PEM and PGP private key blocks, to their END or to the text's end."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the key material; return the text and how many."""
        n = 0
        out: list[str] = []
        pos = 0
        for m in _BEGIN.finditer(text):
            if m.start() < pos:
                continue
            label = m.group(1) + "PRIVATE KEY" + (m.group(2) or "")
            end_marker = f"-----END {label}-----"
            end = text.find(end_marker, m.end())
            stop = len(text) if end < 0 else end
            if text[m.end():stop] == MASK:
                continue
            out += [text[pos:m.end()], MASK]
            pos = stop
            n += 1
        out.append(text[pos:])
        return "".join(out), n


def key_lines(text: str) -> tuple[str, int]:
    """Mask lines that are nothing but high-entropy base64 (a key block's lines, each in a
    journal record of its own, or commented out); return the text and how many."""
    n = 0

    def line(m: re.Match[str]) -> str:
        nonlocal n
        if not _high_entropy(m.group(2)):
            return m.group(0)
        n += 1
        return m.group(1) + MASK + m.group(3)

    return _B64_LINE.sub(line, text), n


# -- token formats ----------------------------------------------------------------------
# Every alternative starts with a literal prefix, so a match is tried only where one is.
_TOKENS = _lazy(
    r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}"
    r"|(?:discord(?:app)?\.com|discordapp\.com)/api/webhooks/\d+/[A-Za-z0-9_\-]{20,}"
    r"|open\.(?:feishu\.cn|larksuite\.com)/open-apis/bot/v2/hook/[A-Za-z0-9\-]{8,}"
    r"|\bSG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}"
    r"|\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{16,}"
    r"|\bwhsec_[A-Za-z0-9+/=]{16,}"
    r"|\bhf_[A-Za-z0-9]{30,}"
    r"|\bnpm_[A-Za-z0-9]{30,}"
    r"|(?<!\d)\d{6,12}:AA[A-Za-z0-9_\-]{30,}"  # a Telegram bot token
    r"|\bxox[abposre]-[A-Za-z0-9\-]{8,}"
    r"|\bxapp-\d-[A-Za-z0-9\-]{8,}")
_AWS_SECRET = _lazy(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])")


class TokenFormats:
    """Tokens that say what they are, and a bare AWS secret key next to its key id."""

    def subn(self, text: str) -> tuple[str, int]:
        """Mask the tokens; return the text and how many."""
        text, n = _TOKENS.subn(MASK, text)
        if "AKIA" in text or "ASIA" in text or "aws" in text.lower():
            def aws(m: re.Match[str]) -> str:
                nonlocal n
                if not _high_entropy(m.group(0)):
                    return m.group(0)
                n += 1
                return MASK

            text = _AWS_SECRET.sub(aws, text)
        return text, n


# -- full-width forms -------------------------------------------------------------------
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
FULLWIDTH_LETTER = _lazy("[\uff21-\uff3a\uff41-\uff5a]")


def halfwidth(text: str) -> str:
    """Full-width ASCII (ＰＡＳＳＷＯＲＤ＝) as ASCII, one character for one."""
    return text.translate(_FULLWIDTH)
