"""The import probe runs the unit's interpreter the way uvicorn would, for real."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gatewaydoctor.agent import appprobe
from gatewaydoctor.agent.pyapp import env_keys
from gatewaydoctor.evidence import Item
from gatewaydoctor.parse.python import import_probe as read_probe
from gatewaydoctor.parse.python import probe_tracebacks


def import_probe(source: str, props: dict[str, str], argv: list[str]) -> dict[str, Any] | None:
    """The import probe's item: the app probe with no database to log in to."""
    items = appprobe.run(source.partition(":")[2], props, argv, [])
    return items[0] if items else None


def _props(workdir: Path, envfile: Path) -> dict[str, str]:
    return {"WorkingDirectory": str(workdir),
            "EnvironmentFiles": f"{envfile} (ignore_errors=no)"}


def test_relative_import_reproduced(tmp_path: Path) -> None:
    (tmp_path / "config.py").write_text("settings = 1\n")
    (tmp_path / "main.py").write_text("from .config import settings\napp = object()\n")
    env = tmp_path / ".env"
    env.write_text("DB_PASSWORD=hunter2hunter2\n")
    argv = [sys.executable, "-m", "uvicorn", "main:app", "--port", "8000"]
    item = import_probe("python.import:api.service", _props(tmp_path, env), argv)
    assert item is not None and item["rc"] == 1
    probe = read_probe(Item.from_dict(item))
    assert probe is not None and not probe.ok and probe.cwd == str(tmp_path)
    assert probe.exc_type == "ImportError"
    [tb] = probe_tracebacks(probe)
    assert tb.last_line == "ImportError: attempted relative import with no known parent package"


def test_ok_and_secrets_scrubbed(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "import os, sys\nsys.stderr.write(os.environ['DB_PASSWORD'])\napp = object()\n")
    env = tmp_path / ".env"
    env.write_text("DB_PASSWORD=hunter2hunter2\n")
    item = import_probe("python.import:api.service", _props(tmp_path, env),
                        [sys.executable, "-m", "uvicorn", "main:app"])
    assert item is not None and item["rc"] == 0 and item["data"]["result"]["ok"]
    assert "hunter2hunter2" not in item["stderr"]
    keys = env_keys("env.keys:x", str(env))
    assert keys["data"] == {"keys": ["DB_PASSWORD"]} and keys["stdout"] is None


def test_missing_attribute(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("application = object()\n")
    item = import_probe("python.import:api.service", _props(tmp_path, tmp_path / "none"),
                        [sys.executable, "-m", "uvicorn", "main:app"])
    assert item is not None
    probe = read_probe(Item.from_dict(item))
    assert probe is not None and (probe.stage, probe.exc_type) == ("attribute", "AttributeError")


def test_pydantic_echo_of_env_values_is_scrubbed(tmp_path: Path) -> None:
    """pydantic's ValidationError prints every setting it got, .env values included."""
    (tmp_path / "main.py").write_text(
        "import os\n"
        "from pydantic import BaseModel\n"
        "class Settings(BaseModel):\n"
        "    postgres_url: str\n"
        "Settings(**{'postgres_urll': os.environ['POSTGRES_URLL'],"
        " 'app_name': os.environ['APP_NAME']})\n"
        "app = object()\n")
    env = tmp_path / ".env"
    env.write_text("POSTGRES_URLL=postgresql://app:Planted-Pw-42@db/app\n"
                   "APP_NAME=internal-codename-zebra\n")
    item = import_probe("python.import:api.service", _props(tmp_path, env),
                        [sys.executable, "-m", "uvicorn", "main:app"])
    assert item is not None and item["rc"] == 1
    assert "postgres_url" in item["stderr"] and "Field required" in item["stderr"]
    for planted in ("Planted-Pw-42", "internal-codename-zebra"):
        assert planted not in item["stderr"]
        assert planted not in str(item["data"])
