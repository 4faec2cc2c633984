"""Settings from the process environment (the unit's EnvironmentFile)."""

import os

DATABASE_URL = os.environ["SHOP_DATABASE_URL"]
