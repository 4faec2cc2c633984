"""The agent: gathers raw evidence on the host it runs on, standard library only.

It imports nothing from the rest of gatewaydoctor but formats/ (the key and format
knowledge the parsers share), so it can be shipped to a remote python3 as three pieces
kept in their places: gatewaydoctor/__init__.py, gatewaydoctor/formats/ and
gatewaydoctor/agent/, imported as `gatewaydoctor.agent` (test_layers.py checks both that
this runs alone and what each layer imports). It never changes the host.
"""

from .gather import SCHEMA, gather

__all__ = ["SCHEMA", "gather"]
