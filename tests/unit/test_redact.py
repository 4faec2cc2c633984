"""The redactor masks planted secrets in every format we print."""

from __future__ import annotations

from gatewaydoctor.redact import redact, redact_obj

SECRET = "S3cretLabPassw0rd"


def test_dsn_password() -> None:
    out = redact(f"connection to postgresql://app:{SECRET}@127.0.0.1:5432/appdb failed")
    assert SECRET not in out and "postgresql://app:***@127.0.0.1" in out


def test_headers_and_tokens() -> None:
    text = f"Authorization: Bearer {SECRET}\nCookie: session={SECRET}\nGET /x?token={SECRET}&a=1"
    assert SECRET not in redact(text)


def test_env_assignments_and_json() -> None:
    obj = {"a": [f"POSTGRES_PASSWORD={SECRET}", f'"api_key": "{SECRET}"'], "n": 3}
    out = redact_obj(obj)
    assert SECRET not in repr(out) and out["n"] == 3


def test_plain_text_untouched() -> None:
    line = "ImportError: attempted relative import with no known parent package"
    assert redact(line) == line
