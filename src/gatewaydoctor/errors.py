"""The one base class of every error bad input raises, caught once by the CLI and reported as
one sentence (exit 2). A module of its own, so the bundle writer (which must load fast) can
name them without loading the evidence model."""

from __future__ import annotations


class GatewayDoctorError(Exception):
    """Bad input or a request that cannot be carried out: its message is the whole story."""


class UsageError(GatewayDoctorError):
    """Options that cannot be carried out together, or a value of the wrong shape."""


class EvidenceError(GatewayDoctorError, ValueError):
    """The evidence cannot be loaded (wrong schema or shape)."""
