"""The package's own files (message catalogs, rule pages, the report schema, the examples),
read where the package is: a folder when installed, a zip in the single-file build
(`gatewaydoctor.pyz`, scripts/build-pyz). In the zip, `open()` cannot reach them (the zip
file stands where a folder would be), but the importer that loaded this module can.

Callers keep spelling their files as paths under the package (`Path(__file__).parent / ...`),
so the installed case reads them as before, with one `open()`.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path


def read_bytes(path: Path) -> bytes:
    """The file at path, a path under the package's folder; OSError when there is none."""
    try:
        return path.read_bytes()
    except NotADirectoryError:
        loader = __spec__.loader if __spec__ else None
        archive = getattr(loader, "archive", None)  # zipimport's importers have one
        if archive is None:
            raise
        # zipimport finds a member by its name in the archive; both paths resolved alike
        # (Python 3.8 names the archive as given on the command line, `./x.pyz`).
        member = path.resolve().relative_to(Path(archive).resolve()).as_posix()
        data: bytes = getattr(loader, "get_data")(member)  # noqa: B009 - typeshed's Loader has none
        return data


@contextlib.contextmanager
def as_file(path: Path) -> Iterator[Path]:
    """path itself when it is a file on disk; from a zip, a temporary copy, removed after."""
    if path.is_file():
        yield path
        return
    data = read_bytes(path)
    with tempfile.TemporaryDirectory(prefix="gatewaydoctor-") as tmp:
        copy = Path(tmp) / path.name
        copy.write_bytes(data)
        yield copy
