"""Maintenance and health: git lock files, ``git fsck``, the cheap health probe, packing,
and :meth:`Maintenance.maintenance`, the one nightly routine (``flask procedures
maintenance`` from cron) that clears stale locks, checks every object and packs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import InvalidArgument, StoreCorrupt, StoreError
from .refs import Refs
from .stamps import write_whole
from .values import _FILE_MODES, _HEX40_RE, _TREE_MODE, FsckResult, LockFile, MaintenanceReport, StoreHealth

#: ``clear_stale_locks`` refuses ages below this: a live writer may hold a younger lock.
MIN_STALE_SECONDS = 60.0
#: The age from which :meth:`Maintenance.maintenance` removes a lock file unless told otherwise.
DEFAULT_STALE_SECONDS = 300.0
#: Where :meth:`Maintenance.maintenance` leaves its last result, beside the repository.
MAINTENANCE_FILE = "procdesk-maintenance.json"


@dataclass(frozen=True)
class MaintenanceRecord:
    """The last :meth:`Maintenance.maintenance` run as it left it (:meth:`Maintenance.last_maintenance`):
    when (UTC), git fsck's verdict and error lines, whether packing ran or failed, lock files removed / stuck."""

    at: datetime
    fsck_ok: bool
    fsck_problems: tuple[str, ...]
    packed: bool
    pack_error: str | None
    removed: int
    stuck: int


class Maintenance(Refs):
    """Locks, health, fsck and packing (part of :class:`~repo_store.store.GitStore`)."""

    def maintenance(self, *, stale_locks_after: float = DEFAULT_STALE_SECONDS, pack: bool = True) -> MaintenanceReport:
        """The nightly routine: remove stale lock files, check the store (``git fsck``), then :meth:`pack` it.

        Lock files last modified ``stale_locks_after`` seconds ago or earlier are
        removed (:meth:`clear_stale_locks`); younger ones older than ``lock_patience``
        are reported as ``stuck``. Packing is skipped when fsck finds damage (restore
        the objects first) or ``pack`` is False. Synchronous; safe while the
        application is serving. Raises :class:`InvalidArgument` for a
        ``stale_locks_after`` under :data:`MIN_STALE_SECONDS`.
        """
        removed, kept = self.clear_stale_locks(stale_locks_after)
        stuck = tuple(lock for lock in kept if lock.age >= self.lock_patience)
        fsck = self.fsck()
        packed, pack_error = False, None
        if pack and fsck.ok:
            try:
                self.pack()
                packed = True
            except StoreError as exc:
                pack_error = str(exc)
        report = MaintenanceReport(removed=tuple(removed), stuck=stuck, fsck=fsck, packed=packed,
                                   pack_error=pack_error)
        self._record_maintenance(report)
        return report

    def last_maintenance(self) -> MaintenanceRecord | None:
        """What the last :meth:`maintenance` found (any process or host sharing the store), or None
        before the first run. Cheap: one small file read, so a health page can show the last fsck."""
        try:
            with open(os.path.join(self.git_dir, MAINTENANCE_FILE), "rb") as fh:
                data = json.loads(fh.read(1 << 20))
            return MaintenanceRecord(
                at=datetime.fromtimestamp(float(data["at"]), UTC), fsck_ok=bool(data["fsck_ok"]),
                fsck_problems=tuple(str(p) for p in data.get("fsck_problems", ())),
                packed=bool(data.get("packed")), pack_error=data.get("pack_error") or None,
                removed=int(data.get("removed", 0)), stuck=int(data.get("stuck", 0)))
        except (OSError, ValueError, TypeError, KeyError, OverflowError):
            return None

    def _record_maintenance(self, report: MaintenanceReport) -> None:
        data = json.dumps({"at": time.time(), "fsck_ok": report.fsck.ok, "fsck_problems": report.fsck.problems[:50],
                           "packed": report.packed, "pack_error": report.pack_error,
                           "removed": len(report.removed), "stuck": len(report.stuck)}).encode("utf-8")
        try:
            write_whole(os.path.join(self.git_dir, MAINTENANCE_FILE), data)
        except OSError as exc:
            raise StoreError(f"cannot record the maintenance result in {self.git_dir}: {exc}") from exc

    def pack(self) -> None:
        """Pack loose objects and refresh the commit-graph (part of :meth:`maintenance`).

        Runs ``git repack -d`` (packs reachable loose objects incrementally),
        ``git gc --auto`` (consolidates packs, prunes old garbage) and writes a
        commit-graph with changed-path Bloom filters, which keeps path-limited
        :meth:`history` fast.
        """
        with self._guard("maintenance"):
            self._run("repack", "-d", "-q")
            self._run("gc", "--auto", "--quiet", config=("gc.autoDetach=false",))
            self._run("commit-graph", "write", "--reachable", "--changed-paths")

    def ping(self) -> bool:
        """Return True when the repository is reachable and its refs are readable.

        Cheap enough for a ``/healthz`` probe (no git process is spawned in the
        normal case); never raises.
        """
        try:
            if not (
                os.path.isfile(os.path.join(self.git_dir, "HEAD"))
                and os.path.isdir(os.path.join(self.git_dir, "objects"))
            ):
                return False
            self.head(self.default_branch)
            return True
        except Exception:
            return False

    def lock_files(self, older_than: float = 0.0) -> list[LockFile]:
        """Return git's lock files in the repository last modified at least ``older_than`` seconds ago.

        Looks at ``refs/`` (every ref lock), the top of the git dir (``HEAD.lock``,
        ``packed-refs.lock``, ``index.lock``, ``config.lock``, ...) and
        ``objects/info/`` (commit-graph locks): a few ``stat`` calls, cheap enough
        for a health check. Sorted oldest first.
        """
        found: list[LockFile] = []
        now = time.time()

        def consider(path: str) -> None:
            try:
                st = os.stat(path)
            except OSError:
                return  # released meanwhile
            age = max(0.0, now - st.st_mtime)
            if age >= older_than:
                identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
                name = os.path.relpath(path, self.git_dir).replace(os.sep, "/")
                found.append(LockFile(path=path, name=name, age=age, identity=identity))

        def scan(directory: str, recursive: bool) -> None:
            try:
                entries = list(os.scandir(directory))
            except OSError:
                return
            for entry in entries:
                if entry.name.endswith(".lock"):
                    consider(entry.path)
                elif recursive and entry.is_dir(follow_symlinks=False):
                    scan(entry.path, True)

        scan(self.git_dir, False)
        scan(os.path.join(self.git_dir, "refs"), True)
        scan(os.path.join(self._objects_dir, "info"), True)
        return sorted(found, key=lambda lock: (-lock.age, lock.name))

    def clear_stale_locks(self, older_than: float) -> tuple[list[LockFile], list[LockFile]]:
        """Remove lock files last modified at least ``older_than`` seconds ago; return (removed, kept).

        ``kept`` lists the younger lock files, which are left alone: a writer may
        hold them. ``older_than`` below :data:`MIN_STALE_SECONDS` is refused with
        :class:`InvalidArgument`. A lock file that changed since it was looked at
        (released and taken again) is kept.
        """
        if not isinstance(older_than, int | float) or older_than < MIN_STALE_SECONDS:
            raise InvalidArgument(f"a lock younger than {MIN_STALE_SECONDS:.0f} s may belong to a live writer")
        removed, kept = [], []
        for lock in self.lock_files():
            if lock.age < older_than:
                kept.append(lock)
                continue
            state = self._lock_state(lock.path)
            if state is None or state[0] != lock.identity:
                continue  # released (and maybe taken again) since it was listed
            try:
                os.unlink(lock.path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StoreError(f"cannot remove {lock.path}: {exc}") from exc
            removed.append(lock)
        return removed, kept

    def fsck(self) -> FsckResult:
        """Check every object and its connectivity with ``git fsck --full`` (slow on big stores).

        ``ok`` is git's verdict (exit status 0); ``problems`` are the lines naming
        missing, corrupt or broken objects; ``output`` is everything git printed.
        Dangling objects are normal (abandoned drafts) and not reported.
        """
        try:
            proc = subprocess.run(
                ["git", "--git-dir", self.git_dir, "fsck", "--full", "--no-dangling", "--no-progress"],
                capture_output=True, env={**os.environ, "LC_ALL": "C"}, check=False,
            )
        except OSError as exc:
            raise StoreError(f"cannot run git fsck: {exc}") from exc
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        problems = tuple(
            line.strip() for line in output.splitlines()
            if line.strip() and not line.lower().startswith(("warning", "checking", "notice", "dangling"))
        )
        ok = proc.returncode == 0
        if not ok and not problems:
            problems = (f"git fsck exited with status {proc.returncode}",)
        return FsckResult(ok=ok, problems=problems if not ok else (), output=output)

    def health(self, *, lock_age: float | None = None, verify_seconds: float = 30.0) -> StoreHealth:
        """Cheap check for a ``/healthz`` probe: reachable, not locked, head objects readable.

        Locked: a lock file older than ``lock_age`` (default: ``lock_patience``, the
        time after which writers give up). Corrupt: an object of the default branch's
        head (commit, trees, blobs -- one ``git cat-file --batch-check``, which sees
        deleted and unreadable objects but not damage deep inside a file) is missing,
        or an object this process failed to read is still unreadable. The object
        check is repeated at most every ``verify_seconds`` per process unless the head
        moves. Full verification is :meth:`fsck`'s job. Never raises.
        """
        try:
            if not self.ping():
                return StoreHealth("unreachable")
            head = self.head(self.default_branch)
            locks = tuple(self.lock_files(self.lock_patience if lock_age is None else lock_age))
            damaged = self._damaged_objects(head, verify_seconds)
        except Exception:  # the probe reports, it never fails
            return StoreHealth("unreachable")
        if damaged:
            return StoreHealth("corrupt", locks=locks, damaged=damaged)
        if locks:
            return StoreHealth("locked", locks=locks)
        return StoreHealth("ok")

    def _damaged_objects(self, head: str | None, verify_seconds: float) -> tuple[str, ...]:
        caches = self._caches
        checked_head, checked_at, problems = caches.verified
        now = time.monotonic()
        if checked_head != head or now - checked_at >= verify_seconds:
            problems = self._check_head_objects(head) if head else ()
            # Objects this process failed to read: forget those readable again (repaired).
            for sha in list(caches.damaged)[:16]:
                if self._object_readable(sha):
                    caches.damaged.pop(sha, None)
            caches.verified = (head, now, problems)
        return tuple(dict.fromkeys((*problems, *caches.damaged.values())))

    def _check_head_objects(self, head: str) -> tuple[str, ...]:
        names: dict[str, str] = {head: f"commit {head}"}
        problems: list[str] = []
        try:
            with self._guard("health"):
                root, _ = self._commit_meta(head)
                stack = [(root, "")]
                while stack:
                    tree, prefix = stack.pop()
                    names.setdefault(tree, f"tree {tree}" + (f" ({prefix.rstrip('/')})" if prefix else ""))
                    try:
                        entries = self._tree_entries(tree)
                    except StoreCorrupt:
                        problems.append(names[tree])
                        continue
                    for name, (mode, sha) in entries.items():
                        if mode == _TREE_MODE:
                            stack.append((sha, prefix + name + "/"))
                        elif mode in _FILE_MODES:
                            names.setdefault(sha, f"blob {sha} ({prefix}{name})")
        except StoreCorrupt:
            problems.append(names[head])
        out = self._cat_file("--batch-check", list(names), timeout=60)
        for line in out.decode("ascii", "replace").splitlines():
            sha, _, rest = line.partition(" ")
            if rest.strip() == "missing" and sha in names:
                problems.append(names[sha])
        return tuple(dict.fromkeys(problems))

    def _object_readable(self, sha: str) -> bool:
        # A fresh `git cat-file --batch` (git dies on a damaged object) and the hash check.
        if not _HEX40_RE.match(sha):
            return False
        try:
            proc = subprocess.run(
                ["git", "--git-dir", self.git_dir, "cat-file", "--batch"], input=(sha + "\n").encode("ascii"),
                capture_output=True, env={**os.environ, "LC_ALL": "C"}, timeout=30, check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        header, _, rest = proc.stdout.partition(b"\n")
        parts = header.split()
        if proc.returncode != 0 or len(parts) != 3 or not parts[2].isdigit():
            return False
        size = int(parts[2])
        data = rest[:size]
        h = hashlib.sha1(parts[1] + b" " + parts[2] + b"\0")
        h.update(data)
        return len(data) == size and h.hexdigest() == sha.lower()

