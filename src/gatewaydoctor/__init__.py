"""gatewaydoctor: tells why nginx answers 502/503/504 in front of a Python backend."""

__version__ = "0.1.0"
