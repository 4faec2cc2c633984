"""The agent: gathers raw evidence on the host it runs on, standard library only.

It imports nothing from the rest of gatewaydoctor, so it can be shipped as one
blob to a remote python3. It never changes the host.
"""

from .gather import SCHEMA, gather

__all__ = ["SCHEMA", "gather"]
