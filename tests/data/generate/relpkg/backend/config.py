"""Settings from the environment (the unit's EnvironmentFile)."""

import os

GREETING = os.environ.get("GREETING", "hello")
