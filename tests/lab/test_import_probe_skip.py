"""The import probe is not repeated for a service that runs the code on disk, and is for a
deploy not yet restarted: in the lab, with the real agent, systemd and the FastAPI app."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from gdlab import stop_stack
from gdlab.__main__ import AGENT_CALL
from labtools import boot

from gatewaydoctor.agent.pyapp import STABLE_SECONDS

UNIT = "fastapi-backend.service"


def _gather(stack: Any) -> dict[str, Any]:
    url = stack.url("/api/health")
    out = stack.lab.run([sys.executable, "-c", AGENT_CALL, url], timeout=60, check=True).stdout
    return json.loads(out)["items"]  # type: ignore[no-any-return]


def test_running_unchanged_code_is_not_imported_again_changed_code_is() -> None:
    stack = boot()
    try:
        assert stack.curl_status("/api/health") == 200
        time.sleep(STABLE_SECONDS + 1)  # the service has now run long enough
        items = _gather(stack)
        probe = items[f"python.import:{UNIT}"]
        assert probe["error_kind"] == "skipped", probe
        assert "no .py file under /srv/app/backend changed since" in probe["error"]
        # The same run of the app's interpreter still logged in and told its version.
        assert items[f"db.check:{UNIT}:POSTGRES_URL"]["data"]["login"]["ok"] is True
        assert items[f"python.version:{UNIT}"]["stdout"].startswith("Python 3.")

        # A deploy not yet restarted: main.py is newer than the running process.
        stack.lab.run(["touch", "/srv/app/backend/main.py"], check=True)
        probe = _gather(stack)[f"python.import:{UNIT}"]
        assert probe["error"] is None, probe
        assert probe["data"]["result"]["ok"] is True
    finally:
        stop_stack(stack)
