"""`python -m gatewaydoctor` runs the CLI."""

from .cli import console

console()
