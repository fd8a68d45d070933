"""Refs: reading branch heads straight from the ref files, resolving revisions, and moving
branches with an atomic compare-and-swap (``git update-ref <ref> <new> <old>``).

Ref values are never cached, so a plain ``git push`` into the bare repository is
visible on the very next call.
"""

from __future__ import annotations

import os
import random
import re
import time

from .errors import Conflict, InvalidArgument, InvalidPath, NotFound, StoreError, StoreLocked
from .objects import ObjectStore, _GitFailed
from .values import (
    _BRANCH_RE,
    _HEX40_BYTES_RE,
    _HEX40_RE,
    ZERO_SHA,
    _validate_sha,
    validate_branch,
    validate_rev,
)

#: git's complaint about a lock file it could not create ("Unable to create '<path>.lock': File exists.").
_LOCK_ERR_RE = re.compile(r"'([^'\n]+\.lock)': File exists")


class Refs(ObjectStore):
    """Branch heads and their compare-and-swap moves (part of :class:`~repo_store.store.GitStore`)."""

    # Set by GitStore.__init__.
    default_branch: str
    lock_patience: float
    _fast_refs: bool  # False for reftable repositories: no ref files to read

    def head(self, branch: str = "main") -> str | None:
        """Return the commit sha ``branch`` currently points to, or None if it does not exist.

        FAST: reads ``refs/heads/<branch>`` or ``packed-refs`` straight from disk
        (falls back to ``git rev-parse`` for symbolic refs / reftable). The value
        is never cached, so commits pushed with plain git are seen immediately.
        """
        return self._ref_value("refs/heads/" + validate_branch(branch))

    def resolve(self, rev: str) -> str:
        """Resolve a validated revision (sha, short sha, branch, tag, ``HEAD``) to a full commit sha.

        Full 40-hex shas are checked to exist and be commits; branch names use the
        fast ref reader; anything else is handed to ``git rev-parse --verify``.
        Raises :class:`InvalidPath` for unacceptable input, :class:`NotFound` if
        nothing matches.
        """
        rev = validate_rev(rev)
        with self._guard("resolve"):
            if _HEX40_RE.match(rev):
                sha = rev.lower()
                self._commit_meta(sha, referenced=False)  # NotFound unless it is an existing commit
                return sha
            if rev.startswith("refs/heads/"):
                sha = self._ref_value(rev)
            elif not rev.startswith("refs/") and _BRANCH_RE.match(rev) and rev != "HEAD":
                sha = self._ref_value("refs/heads/" + rev)
            else:
                sha = None
            if sha is not None:
                return sha
            status, out = self._run(
                "rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}", ok=(0, 1, 128)
            )
            if status != 0:
                raise NotFound(f"unknown revision: {rev}")
            return out.decode().strip()

    def create_branch(self, name: str, start: str = "main") -> str:
        """Create branch ``name`` at revision ``start`` and return its commit sha.

        Raises :class:`Conflict` (``current`` = its head) if the branch already
        exists, :class:`NotFound` if ``start`` does not resolve.
        """
        name = validate_branch(name)
        sha = self.resolve(start)
        with self._guard("create_branch"):
            self._cas(name, sha, None)
        return sha

    def delete_branch(self, name: str, expected: str | None = None) -> None:
        """Delete branch ``name``; if ``expected`` is given only while it still points there.

        Raises :class:`NotFound` if the branch does not exist, :class:`Conflict`
        if it moved away from ``expected``, and :class:`InvalidArgument` for the
        store's default branch (which is never deleted through this API).
        """
        name = validate_branch(name)
        if name == self.default_branch:
            raise InvalidArgument(f"refusing to delete the default branch {name!r}")
        expected = _validate_sha(expected, "expected") if expected is not None else None
        with self._guard("delete_branch"):
            current = self.head(name)
            if current is None:
                raise NotFound(f"no such branch: {name}")
            if expected is not None and current != expected:
                raise Conflict(current=current, expected=expected)
            self._cas(name, ZERO_SHA, expected or current, delete=True)

    def branches(self, prefix: str = "") -> list[str]:
        """Return the sorted short names of all branches starting with ``prefix``.

        E.g. ``branches("reviews/")`` lists open review branches. Uses
        ``git for-each-ref`` so loose and packed refs are both seen.
        """
        if not isinstance(prefix, str):
            raise InvalidArgument("prefix must be a string")
        with self._guard("branches"):
            _, out = self._run("for-each-ref", "--format=%(refname)", "refs/heads/")
        names = [line[len("refs/heads/") :] for line in out.decode("utf-8", "replace").splitlines() if line]
        return sorted(n for n in names if n.startswith(prefix))

    def _ref_value(self, refname: str) -> str | None:
        # FAST path: a loose ref is a 41-byte file, written by git via lock file +
        # rename, so reading it is atomic. Never cached: pushes must show up.
        if self._fast_refs:
            raw = None
            try:
                fd = os.open(os.path.join(self.git_dir, refname), os.O_RDONLY)
                try:
                    raw = os.read(fd, 256)
                finally:
                    os.close(fd)
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                # Not a loose ref ("reviews" while "reviews/1" exists is a
                # directory): it can only be in packed-refs, if anywhere.
                return self._packed_refs().get(refname)
            except OSError:
                pass
            if raw is not None and _HEX40_BYTES_RE.match(raw):
                return raw[:40].decode("ascii").lower()
            # symbolic ref, unreadable or odd content: let git resolve it
        return self._ref_value_slow(refname)

    def _ref_value_slow(self, refname: str) -> str | None:
        with self._guard("resolve ref"):
            status, out = self._run("rev-parse", "--verify", "--quiet", refname + "^{commit}", ok=(0, 1))
        return out.decode().strip() if status == 0 else None

    def _packed_refs(self) -> dict[str, str]:
        path = os.path.join(self.git_dir, "packed-refs")
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        try:
            st = os.fstat(fd)
            ident = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            cached_ident, refs = self._caches.packed
            if cached_ident == ident:
                return refs
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        finally:
            os.close(fd)
        refs = {}
        for line in b"".join(chunks).decode("utf-8", "replace").splitlines():
            if not line or line[0] in "#^":
                continue  # header or peeled-tag line
            sha, _, name = line.partition(" ")
            if len(sha) == 40:
                refs[name] = sha.lower()
        self._caches.packed = (ident, refs)
        return refs

    def _cas(self, branch: str, new: str, old: str | None, *, delete: bool = False) -> None:
        """Atomically move ``refs/heads/<branch>`` from ``old`` to ``new`` or raise Conflict."""
        ref = "refs/heads/" + branch
        args = ["update-ref", "-d", ref, old or ""] if delete else ["update-ref", ref, new, old or ZERO_SHA]
        if delete and old is None:
            args = ["update-ref", "-d", ref]
        deadline = time.monotonic() + 10.0
        delay = 0.002
        seen: tuple[tuple, float] | None = None  # (lock file identity, when first seen)
        while True:
            try:
                self._run(*args)
                return
            except _GitFailed as exc:
                current = self._ref_value(ref)
                if current != old:
                    raise Conflict(current=current, expected=old) from None
                err = exc.stderr
                if "exists; cannot create" in err or "cannot process" in err:
                    raise InvalidPath(f"branch name {branch!r} clashes with an existing branch") from None
                if "File exists" not in err:
                    raise StoreError(f"cannot update {ref}: {err.strip()}") from None
                # Another writer holds the lock (git already waits core.filesRefLockTimeout)
                # and its outcome decides whether we conflict -- or a crashed process left
                # the lock behind. Live writers hold it for milliseconds and each one makes
                # a new file, so the same file for lock_patience seconds (or one last
                # modified longer ago than that) is stale: say so now, not after 10 s.
                m = _LOCK_ERR_RE.search(err)
                lock_path = m.group(1) if m else os.path.join(self.git_dir, ref + ".lock")
                now = time.monotonic()
                found = self._lock_state(lock_path)
                if found is not None:
                    identity, age = found
                    if seen is None or seen[0] != identity:
                        seen = (identity, now)
                    if age >= self.lock_patience or now - seen[1] >= self.lock_patience or now > deadline:
                        raise StoreLocked(lock_path, age=age, ref=ref) from None
                elif now > deadline:
                    raise StoreLocked(lock_path, ref=ref) from None
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.05)

    @staticmethod
    def _lock_state(lock_path: str) -> tuple[tuple, float] | None:
        """(identity, seconds since last modified) of a lock file, None when it is gone."""
        try:
            st = os.stat(lock_path)
        except OSError:
            return None
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        return identity, max(0.0, time.time() - st.st_mtime)

