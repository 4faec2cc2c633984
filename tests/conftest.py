"""Options shared by the whole suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--update-golden` rewrites tests/golden/ from what the code says now (review the diff)."""
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the golden findings and reports in tests/golden/")
