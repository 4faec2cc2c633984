"""Fixtures for tests that run the real lab (systemd + nginx + uvicorn + PostgreSQL)."""

from __future__ import annotations

import os

import pytest
from gdlab import lab_unavailable_reason
from labtools import IN_CI


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test here as a lab test; skip where no lab can run, but never in CI."""
    reason = lab_unavailable_reason()
    for item in items:
        if "tests/lab/" not in str(item.fspath).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.lab)
        if reason and not IN_CI:
            item.add_marker(pytest.mark.skip(reason=f"lab unavailable: {reason}"))
        # In CI nothing is skipped: boot() fails the test, so a missing lab is never a pass.


