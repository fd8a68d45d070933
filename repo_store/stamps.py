"""Change stamps: small files beside the repository, not git at all.

A stamp is a name with an opaque value that gets a new unique value whenever what it
stands for changes. Every process and host sharing the store shares the stamps, so a
per-process cache of anything (account data, a rebuilt catalogue) keys itself by a
stamp and drops its copies when the value moves.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid

from .errors import InvalidPath, StoreError

_STAMP_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


class Stamps:
    """The stamps kept in ``directory`` (the store uses ``<git dir>/procdesk-stamps``)."""

    def __init__(self, directory: str):
        """Stamps in ``directory``, created on the first :meth:`bump`."""
        self.directory = directory

    def get(self, name: str) -> str:
        """The current value of stamp ``name`` (``""`` before its first :meth:`bump`).

        FAST: one read of a small file, never cached.
        """
        try:
            fd = os.open(self._path(name), os.O_RDONLY)
        except FileNotFoundError:
            return ""
        except OSError as exc:
            raise StoreError(f"cannot read stamp {name}: {exc}") from exc
        try:
            return os.read(fd, 128).decode("ascii", "replace").strip()
        finally:
            os.close(fd)

    def bump(self, name: str) -> str:
        """Give stamp ``name`` a new unique value and return it (written to a temporary file, then
        renamed over the old one, so a reader sees the old or the new value, never half)."""
        path = self._path(name)
        value = uuid.uuid4().hex
        try:
            os.makedirs(self.directory, exist_ok=True)
            write_whole(path, value.encode("ascii"))
        except OSError as exc:
            raise StoreError(f"cannot write stamp {name}: {exc}") from exc
        return value

    def _path(self, name: str) -> str:
        if not isinstance(name, str) or not _STAMP_NAME_RE.match(name):
            raise InvalidPath(f"bad stamp name: {name!r}")
        return os.path.join(self.directory, name)


def write_whole(path: str, data: bytes, mode: int = 0o644) -> None:
    """Write ``path`` whole or not at all: a temporary file in the same folder, renamed over the old one,
    so a reader (or git running a hook) sees the old or the new content, never half. Raises OSError."""
    directory, name = os.path.split(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    try:
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
