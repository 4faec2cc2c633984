"""`python -m gatewaydoctor` runs the CLI."""

from .cli import main

raise SystemExit(main())
