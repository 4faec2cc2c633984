"""The gatewaydoctor lab: a real systemd + nginx + FastAPI + PostgreSQL stack in namespaces."""

from .boot import Lab, LabUnavailable, lab_unavailable_reason
from .stack import Stack, boot_stack, stop_stack

__all__ = ["Lab", "LabUnavailable", "Stack", "boot_stack", "lab_unavailable_reason", "stop_stack"]
