"""Object I/O: the per-thread ``git.Repo`` handles, running git, and reading and writing
git objects (commits, trees, blobs) through the per-process caches.

:class:`ObjectStore` is the base of :class:`~repo_store.store.GitStore`: every other part
(refs, reading, writing, merging, maintenance) builds on the methods here. Objects are
read from GitPython's persistent ``git cat-file`` pipe and checked against their sha;
they are written as loose objects directly (no git process), atomically.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
import weakref
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import git
import gitdb.exc

from .caches import _MISS, _caches_for
from .errors import NotFound, StoreCorrupt, StoreError
from .values import _FILE_MODES, _TREE_MODE

#: git's ways of saying an object is missing or damaged (LC_ALL=C: GitPython runs git untranslated).
_CORRUPT_ERR_RE = re.compile(
    r"(?i)\bcorrupt|bad object|unable to read|could not read [0-9a-f]{40}|inflate|unable to unpack|"
    r"hash mismatch|sha1 mismatch|missing (?:blob|tree|commit)|object file .* is empty|bad (?:tree|commit) object|"
    r"could not parse commit|invalid object"
)
_SHA_IN_TEXT_RE = re.compile(r"\b[0-9a-f]{40}\b")
_MAX_DAMAGED = 100


class _GitFailed(Exception):
    def __init__(self, args: Sequence[str], status: int, stderr: str):
        self.status = status
        self.stderr = stderr
        super().__init__(f"git {' '.join(args[:2])} exited {status}: {stderr.strip()[:500]}")


@dataclass(frozen=True)
class _Flat:
    files: tuple[tuple[str, str], ...]  # (path, blob) sorted by path
    entries: Mapping[str, tuple[str, str]]  # path -> (mode, blob)


class ObjectStore:
    """Git processes, thread-local repository handles and the object database of one repository."""

    def __init__(self, path: str | os.PathLike):
        """Bind to the repository at ``path`` (bare repo dir, or a work tree's top); StoreError if there is none."""
        self.path = os.path.abspath(os.fspath(path))
        try:
            repo = git.Repo(self.path)
        except (git.exc.GitError, OSError) as exc:
            raise StoreError(f"not a git repository: {self.path}") from exc
        try:
            self.git_dir = os.path.abspath(repo.common_dir)
        finally:
            repo.close()
        self._caches = _caches_for(self.git_dir)
        self._local = threading.local()
        self._repos_lock = threading.Lock()
        self._repos: list[tuple[int, weakref.ref[git.Repo]]] = []
        self._objects_dir = os.path.join(self.git_dir, "objects")

    # -- plumbing helpers -------------------------------------------------

    def _repo(self) -> git.Repo:
        # One Repo per (thread, process): GitPython objects and their persistent
        # cat-file pipes must never be shared between threads, and a forked child
        # must not talk to its parent's cat-file processes.
        loc = self._local
        pid = os.getpid()
        repo = getattr(loc, "repo", None)
        if repo is None or loc.pid != pid:
            repo = git.Repo(self.git_dir)
            # Explicit GIT_DIR skips repository discovery (and its safe.directory
            # ownership check when the repo is owned by another uid).
            repo.git.update_environment(GIT_DIR=self.git_dir)
            loc.repo, loc.pid = repo, pid
            # Weak references only: when a thread ends, its thread-local Repo is
            # collected and GitPython terminates its cat-file helpers.
            with self._repos_lock:
                self._repos = [(p, r) for p, r in self._repos if p == pid and r() is not None]
                self._repos.append((pid, weakref.ref(repo)))
        return repo

    def _discard_repo(self) -> None:
        repo = getattr(self._local, "repo", None)
        if repo is not None and self._local.pid == os.getpid():
            self._local.repo = None
            with self._repos_lock:
                self._repos = [(p, r) for p, r in self._repos if r() is not repo]
            try:
                repo.close()
            except Exception:
                pass

    def close(self) -> None:
        """Close the ``git.Repo`` handles (and their cat-file helpers) of this process.

        Call at shutdown or in tests when no other thread is using the store; the
        store stays usable afterwards (handles are re-opened lazily).
        """
        pid = os.getpid()
        with self._repos_lock:
            mine = [r() for p, r in self._repos if p == pid]
            self._repos = []
        self._local = threading.local()
        for repo in mine:
            try:
                if repo is not None:
                    repo.close()
            except Exception:
                pass

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        # Single choke point that turns GitPython / gitdb / OS errors into
        # StoreError so they never leak to callers.
        try:
            yield
        except StoreError:
            raise
        except _GitFailed as exc:
            if _CORRUPT_ERR_RE.search(exc.stderr):
                m = _SHA_IN_TEXT_RE.search(exc.stderr)
                if m:
                    self._note_damaged(m.group(0), "object")
                raise StoreCorrupt(f"{what}: {exc}", object=m.group(0) if m else None) from exc
            raise StoreError(f"{what}: {exc}") from exc
        except (git.exc.GitError, gitdb.exc.ODBError, OSError, ValueError, EOFError) as exc:
            self._discard_repo()  # the cat-file pipe may be out of sync now
            raise StoreError(f"{what} failed: {exc}") from exc

    def _cat_file(self, option: str, shas: Sequence[str], *, timeout: float = 300) -> bytes:
        """What ONE ``git cat-file <option>`` (``--batch`` or ``--batch-check``) prints for ``shas``.

        A plain subprocess with the inherited environment (inside a pre-receive hook that is what
        makes pushed objects visible); StoreError when git cannot run or fails (it dies on a
        damaged object)."""
        try:
            proc = subprocess.run(
                ["git", "--git-dir", self.git_dir, "cat-file", option],
                input="".join(sha + "\n" for sha in shas).encode("ascii"),
                capture_output=True, env={**os.environ, "LC_ALL": "C"}, timeout=timeout, check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise StoreError(f"cannot run git cat-file: {exc}") from exc
        if proc.returncode != 0:
            raise StoreError(f"git cat-file {option} exited {proc.returncode}: {proc.stderr[:300]!r}")
        return proc.stdout

    def _run(
        self,
        *args: str,
        ok: Sequence[int] = (0,),
        config: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        cmd = ["git"]
        for c in config:
            cmd += ["-c", c]
        cmd += list(args)
        status, out, err = self._repo().git.execute(
            cmd,
            with_extended_output=True,
            with_exceptions=False,
            stdout_as_string=False,
            strip_newline_in_stdout=False,
            env=env,
        )
        if status not in ok:
            raise _GitFailed(cmd[1 + 2 * len(config) :], status, err if isinstance(err, str) else repr(err))
        return status, out

    def _read_object(self, sha: str, kind: str, *, referenced: bool = True) -> bytes:
        # ``referenced``: the sha was named by a ref or another object, so its absence
        # means damage (StoreCorrupt), not a wrong guess by the caller (NotFound).
        try:
            _, typ, size, data = self._repo().git.get_object_data(sha)
        except ValueError as exc:
            if "missing" not in str(exc):
                raise
            if referenced:
                self._note_damaged(sha, kind)
                raise StoreCorrupt(object=sha, kind=kind) from None
            raise NotFound(f"no such object: {sha}") from None
        if isinstance(typ, bytes):
            typ = typ.decode()
        if len(data) != size:
            # cat-file died half way through inflating it (truncated or damaged
            # file); its pipe is useless now.
            self._discard_repo()
            self._note_damaged(sha, kind)
            raise StoreCorrupt(object=sha, kind=kind)
        if typ != kind:
            raise NotFound(f"{sha} is a {typ}, not a {kind}")
        if len(sha) == 40:
            # Bit rot that still inflates: cheap (hashing runs at ~1 GB/s, once per
            # object and process thanks to the caches) and it keeps wrong content
            # from ever being served as this version.
            h = hashlib.sha1(f"{typ} {size}\0".encode("ascii"))
            h.update(data)
            if h.hexdigest() != sha.lower():
                self._note_damaged(sha, kind)
                raise StoreCorrupt(f"store damaged: {kind} {sha} does not match its hash", object=sha, kind=kind)
        return data

    def _note_damaged(self, sha: str, kind: str, path: str | None = None) -> None:
        damaged = self._caches.damaged
        if sha in damaged or len(damaged) < _MAX_DAMAGED:
            damaged[sha] = f"{kind} {sha}" + (f" ({path})" if path else "")

    def _store_object(self, kind: str, data: bytes) -> str:
        # Equivalent of `git hash-object -w` without spawning a process: a loose
        # object written to a temp file and renamed into place, which is atomic
        # and idempotent, so concurrent writers of one object cannot corrupt it.
        header = f"{kind} {len(data)}\0".encode("ascii")
        h = hashlib.sha1(header)
        h.update(data)
        sha = h.hexdigest()
        obj_dir = os.path.join(self._objects_dir, sha[:2])
        obj_path = os.path.join(obj_dir, sha[2:])
        try:
            # Already there: "freshen" it like git does, so a concurrent
            # `git gc --prune` cannot delete it before our ref points to it.
            os.utime(obj_path)
            return sha
        except FileNotFoundError:
            pass
        except OSError:
            return sha  # exists but owned by someone else; nothing to write
        for attempt in range(5):
            os.makedirs(obj_dir, exist_ok=True)
            try:
                # "tmp_obj_" like git, so `git gc` removes leftovers of crashes.
                fd, tmp = tempfile.mkstemp(prefix="tmp_obj_", dir=obj_dir)
                break
            except FileNotFoundError:
                # A concurrent `git prune-packed` (gc) removed the empty fan-out
                # directory between makedirs and mkstemp: create it again.
                if attempt == 4:
                    raise
        try:
            with os.fdopen(fd, "wb") as fh:
                z = zlib.compressobj()
                fh.write(z.compress(header))
                fh.write(z.compress(data))
                fh.write(z.flush())
            os.chmod(tmp, 0o444)
            os.replace(tmp, obj_path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return sha

    def _commit_meta(self, commit: str, *, referenced: bool = True) -> tuple[str, tuple[str, ...]]:
        meta = self._caches.commit_tree.get(commit, _MISS)
        if meta is _MISS:
            raw = self._read_object(commit, "commit", referenced=referenced)
            tree, parents = "", []
            for line in raw.split(b"\n"):
                if not line:
                    break
                if line.startswith(b"tree "):
                    tree = line[5:].decode()
                elif line.startswith(b"parent "):
                    parents.append(line[7:].decode())
            meta = (tree, tuple(parents))
            self._caches.commit_tree.put(commit, meta)
        return meta

    def _tree_entries(self, tree: str) -> dict[str, tuple[str, str]]:
        entries = self._caches.trees.get(tree, _MISS)
        if entries is _MISS:
            raw = self._read_object(tree, "tree")
            entries = {}
            i, n = 0, len(raw)
            while i < n:  # "<mode> <name>\0<20-byte sha>" repeated
                sp = raw.index(b" ", i)
                nul = raw.index(b"\0", sp)
                name = raw[sp + 1 : nul].decode("utf-8", "surrogateescape")
                mode = raw[i:sp].decode()
                if mode == "040000":  # zero-padded tree mode written by some old tools
                    mode = _TREE_MODE
                entries[name] = (mode, raw[nul + 1 : nul + 21].hex())
                i = nul + 21
            self._caches.trees.put(tree, entries, 1)
        return entries

    def _write_tree(self, entries: Mapping[str, tuple[str, str]]) -> str:
        def sort_key(item: tuple[str, tuple[str, str]]) -> bytes:
            # git orders tree entries bytewise, comparing directories as "name/".
            name, (mode, _) = item
            b = name.encode("utf-8", "surrogateescape")
            return b + b"/" if mode == _TREE_MODE else b

        raw = b"".join(
            mode.encode() + b" " + name.encode("utf-8", "surrogateescape") + b"\0" + bytes.fromhex(sha)
            for name, (mode, sha) in sorted(entries.items(), key=sort_key)
        )
        sha = self._store_object("tree", raw)
        self._caches.trees.put(sha, dict(entries), 1)
        return sha

    def _blob_at(self, commit: str, path: str) -> str:
        key = (commit, path)
        blob = self._caches.blob_at.get(key, _MISS)
        if blob is _MISS:
            tree, _ = self._commit_meta(commit)
            parts = path.split("/")
            entry = None
            for i, part in enumerate(parts):
                entry = self._tree_entries(tree).get(part)
                if entry is None:
                    raise NotFound(f"{path} not found at {commit[:12]}")
                if i < len(parts) - 1:
                    if entry[0] != _TREE_MODE:
                        raise NotFound(f"{path} not found at {commit[:12]}")
                    tree = entry[1]
            if entry is None or entry[0] not in _FILE_MODES:
                raise NotFound(f"{path} is not a file at {commit[:12]}")
            blob = entry[1]
            self._caches.blob_at.put(key, blob)
        return blob

    def _blob_data(self, blob: str) -> bytes:
        data = self._caches.blobs.get(blob, _MISS)
        if data is _MISS:
            data = self._read_object(blob, "blob")
            self._caches.blobs.put(blob, data, len(data) + 64)
        return data

    def _flat(self, tree: str) -> _Flat:
        flat = self._caches.flat.get(tree, _MISS)
        if flat is _MISS:
            entries: dict[str, tuple[str, str]] = {}

            def walk(t: str, prefix: str) -> None:
                for name, (mode, sha) in self._tree_entries(t).items():
                    if mode == _TREE_MODE:
                        walk(sha, prefix + name + "/")
                    elif mode in _FILE_MODES:
                        entries[prefix + name] = (mode, sha)

            walk(tree, "")
            files = tuple(sorted((p, s) for p, (_, s) in entries.items()))
            flat = _Flat(files=files, entries=entries)
            self._caches.flat.put(tree, flat, 1)
        return flat

