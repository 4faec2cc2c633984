"""gatewaydoctor.pyz's entry point (scripts/build-pyz writes this file as the zip's
__main__.py). It must parse and run on any python3 a server may have, so: no annotations,
nothing newer than Python 3.6, and the version check itself
written so that even a Python 3.4 or 3.5 reaches it (no f-strings).

A zip holds no bytecode the host's Python can use, so from the zip every module is compiled
at every start (about 0.3 s more than installed). The first run therefore unpacks the zip into
the user's cache folder ($XDG_CACHE_HOME or ~/.cache, gatewaydoctor/pyz-<sha256 prefix>), where
Python keeps the bytecode it compiles, and later runs import from there. That folder is the
only thing the single file writes; GATEWAYDOCTOR_PYZ_CACHE=0 turns it off, and any failure
(read-only home, full disk) falls back to running from the zip.
"""

import hashlib
import os
import shutil
import sys
import tempfile
import zipfile

OLDEST = (3, 8)


def _digest(path):
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()[:16]


def _ours(path):
    # A folder someone else made (a shared or hostile cache) is never imported from.
    return os.stat(path).st_uid == os.getuid()


def _unpacked(archive):
    """The folder this archive is unpacked in (made now if need be), or None."""
    if os.environ.get("GATEWAYDOCTOR_PYZ_CACHE", "1") == "0" or not zipfile.is_zipfile(archive):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    parent = os.path.join(base, "gatewaydoctor")
    target = os.path.join(parent, "pyz-" + _digest(archive))
    if os.path.isfile(os.path.join(target, ".complete")):
        return target if _ours(target) else None
    os.makedirs(parent, mode=0o700, exist_ok=True)
    if not _ours(parent):
        return None
    for old in os.listdir(parent):  # the copies earlier versions unpacked
        if old.startswith("pyz-"):
            shutil.rmtree(os.path.join(parent, old), ignore_errors=True)
    scratch = tempfile.mkdtemp(prefix=".unpacking-", dir=parent)
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(scratch)
        open(os.path.join(scratch, ".complete"), "w").close()
        os.rename(scratch, target)  # atomic: a run beside this one sees all of it or none
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not os.path.isfile(os.path.join(target, ".complete")):  # not won by another run
            return None
    return target


def main():
    if sys.version_info[:2] < OLDEST:
        # No f-string: a Python 3.4 or 3.5 must parse this file to print it.
        sys.stderr.write(
            "gatewaydoctor needs Python " + ".".join(map(str, OLDEST)) + " or newer; this "
            "python3 is " + ".".join(map(str, sys.version_info[:2])) + ".\n"
            "Run gatewaydoctor.pyz with a newer python (python3.8, python3.9, ... if this host "
            "has one), or gather the evidence here with the agent (it runs on Python 3.6) and "
            "diagnose it elsewhere: see the README.\n")
        return 3
    archive = os.path.dirname(os.path.abspath(__file__))
    try:
        folder = _unpacked(archive)
    except (OSError, zipfile.BadZipFile):
        folder = None
    if folder is not None:
        sys.path[:] = [folder] + [p for p in sys.path if os.path.abspath(p) != archive]
    import gatewaydoctor.cli

    gatewaydoctor.cli.console()
    return 0


if __name__ == "__main__":
    sys.exit(main())
