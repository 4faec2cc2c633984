"""Build the backend's virtualenv once and reuse it across labs.

The venv is created *at the path the lab uses* (/srv/app/backend/venv) inside a
throw-away mount namespace where that path is bound to the cache directory, so the
interpreter paths baked into its scripts are right inside every lab.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

LAB_VENV_PATH = "/srv/app/backend/venv"
BASE_PYTHON = "/usr/bin/python3"  # Debian's, readable by the lab's non-root users
REQUIREMENTS = Path(__file__).parent / "backend" / "requirements.txt"


def cache_root() -> Path:
    """Where lab artefacts are cached (GDLAB_CACHE, else .lab-cache in the checkout)."""
    env = os.environ.get("GDLAB_CACHE")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / ".lab-cache"
    root.mkdir(parents=True, exist_ok=True)
    return root


def venv_dir(path: str = LAB_VENV_PATH, requirements: Path = REQUIREMENTS) -> Path:
    """Return the cached venv for `requirements` built at `path`, building it if needed."""
    digest = hashlib.sha256(requirements.read_bytes() + BASE_PYTHON.encode()
                            + (b"" if path == LAB_VENV_PATH else path.encode())).hexdigest()[:12]
    target = cache_root() / f"venv-{digest}"
    if (target / ".complete").exists():
        _mirror(target, requirements)
        return target
    target.mkdir(parents=True, exist_ok=True)
    # A private tmpfs over the path's top directory (created for the while if the host has
    # none, e.g. /www, and removed after), so nothing is written under the host's.
    top = "/" + path.strip("/").split("/")[0]
    made = not os.path.exists(top)
    if made:
        os.mkdir(top)
    script = f"""
set -eu
mount --make-rprivate /
mount -t tmpfs tmpfs {top}
mkdir -p {path}
mount --bind {target} {path}
{BASE_PYTHON} -m venv --clear {path}
{path}/bin/python -m pip install --quiet --disable-pip-version-check -r {requirements}
"""
    try:
        proc = subprocess.run(
            ["unshare", "--mount", "/bin/sh", "-c", script],
            capture_output=True, text=True, timeout=900, check=False,
        )
    finally:
        if made:
            os.rmdir(top)
    if proc.returncode != 0:
        raise RuntimeError(f"building the lab venv at {path} failed: {proc.stderr[-2000:]}")
    os.chmod(target, 0o755)
    (target / ".complete").write_text("ok\n")
    _mirror(target, requirements)
    return target


def _mirror(venv: Path, requirements: Path) -> None:
    """Give the venv the package index the lab can reach: a folder of the requirements'
    wheels, named in the venv's own pip.conf (as servers behind a mirror or offline are set
    up), so `pip install -r requirements.txt` inside the lab, which has no network, works."""
    conf = venv / "pip.conf"
    if conf.exists():
        return
    wheels = venv.parent / (venv.name.replace("venv-", "wheels-", 1))
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "download", "--quiet",
         "--disable-pip-version-check", "-r", str(requirements), "-d", str(wheels)],
        capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"downloading the lab's wheels failed: {proc.stderr[-2000:]}")
    subprocess.run(["chmod", "-R", "a+rX", str(wheels)], check=True)
    conf.write_text(f"[global]\nno-index = true\nfind-links = {wheels}\n")


def doctor_venv(base_python: str = BASE_PYTHON) -> Path:
    """gatewaydoctor installed from this checkout by pip (as users install it, bytecode
    compiled) into a venv of base_python; any user may run it. Reinstalled at every call,
    so it is the checkout's code."""
    name = "doctor-venv" if base_python == BASE_PYTHON else \
        "doctor-venv-" + hashlib.sha256(base_python.encode()).hexdigest()[:8]
    venv = cache_root() / name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([base_python, "-m", "venv", str(venv)], check=True, timeout=120)
    checkout = str(Path(__file__).resolve().parents[2])
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # The package itself always (its version does not change between commits), then
    # whatever dependency is missing.
    subprocess.run([*pip, "--force-reinstall", "--no-deps", checkout], check=True, timeout=600)
    subprocess.run([*pip, checkout], check=True, timeout=600)
    subprocess.run(["chmod", "-R", "a+rX", str(cache_root())], check=True)
    return python
