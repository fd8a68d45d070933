"""Writing: commits built from objects written directly (no index, no work tree) and a
branch moved to them with a compare-and-swap, so concurrent writers never lose an update.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from .errors import Conflict, InvalidArgument, InvalidPath, NothingToCommit, StoreError
from .messages import _build_message, _sig_line
from .refs import Refs
from .values import (
    _DEFAULT_FILE_MODE,
    _FILE_MODES,
    _TREE_MODE,
    EMPTY_TREE,
    Signature,
    _validate_sha,
    validate_branch,
    validate_path,
)


class Writing(Refs):
    """The write API (part of :class:`~repo_store.store.GitStore`)."""

    # Set by GitStore.__init__.
    committer: Signature | None
    auto_gc_every: int
    _writes: int

    def commit(
        self,
        changes: Mapping[str, bytes | str | None],
        *,
        summary: str,
        author: Signature,
        base: str | None,
        branch: str = "main",
        body: str = "",
        trailers: Iterable[tuple[str, str]] = (),
        parents: Sequence[str] = (),
    ) -> str:
        """Commit ``changes`` on top of ``base`` and move ``branch`` there atomically.

        ``changes`` maps paths to new content (``str`` is UTF-8 encoded) or to
        ``None`` to delete the file (deleting a missing file is a no-op).
        ``base`` must be the branch head the caller started from (40-hex sha), or
        ``None`` meaning "the branch must not exist yet". Raises :class:`Conflict`
        (with ``current``) when the branch is elsewhere - nothing is overwritten;
        :class:`NothingToCommit` when the tree would not change. Returns the new
        commit sha. The message is ``summary``, ``body`` and git ``trailers``.

        ``parents``: further parents after ``base`` (existing commits, e.g. the tip of a
        review branch whose content the caller merged itself), making a merge commit
        whose tree is ``base``'s with ``changes``; needs a ``base``.
        """
        branch = validate_branch(branch)
        base = _validate_sha(base, "base") if base is not None else None
        if isinstance(parents, str):
            raise InvalidArgument("parents must be a sequence of commit shas")
        extra = list(dict.fromkeys(_validate_sha(p, "parent") for p in parents))
        if extra and (base is None or base in extra):
            raise InvalidArgument("extra parents need a base, and must differ from it")
        if not isinstance(changes, Mapping):
            raise InvalidArgument("changes must be a mapping of path -> content")
        normalized: dict[str, bytes | None] = {}
        for p, v in changes.items():
            p = validate_path(p)
            if v is None:
                normalized[p] = None
            elif isinstance(v, str):
                normalized[p] = v.encode("utf-8")
            elif isinstance(v, (bytes, bytearray, memoryview)):
                normalized[p] = bytes(v)
            else:
                raise InvalidArgument(f"content of {p} must be bytes, str or None")
        if not normalized:
            raise NothingToCommit("no changes given")
        message = _build_message(summary, body, trailers)
        _sig_line(author, 0)  # validate before writing any object

        with self._guard("commit"):
            current = self.head(branch)
            if current != base:  # cheap early exit; the CAS below is authoritative
                raise Conflict(current=current, expected=base)
            base_tree = self._commit_meta(base)[0] if base else None
            for p in extra:
                self._commit_meta(p, referenced=False)  # NotFound unless it is an existing commit
            tree_changes: dict[tuple[str, ...], tuple[str | None, str] | None] = {}
            for p, data in normalized.items():
                tree_changes[tuple(p.split("/"))] = (
                    None if data is None else (None, self._store_object("blob", data))
                )
            tree = self._changes_to_tree(base_tree, tree_changes)
            if tree == (base_tree or EMPTY_TREE):
                raise NothingToCommit("the change does not modify any file")
            sha = self._write_commit(tree, [base, *extra] if base else [], author, message)
            self._cas(branch, sha, base)
        self._after_write()
        return sha

    def _changes_to_tree(
        self, base_tree: str | None, changes: Mapping[tuple[str, ...], tuple[str | None, str] | None]
    ) -> str:
        tree = self._apply(base_tree, changes, ())
        if tree is None:
            return self._write_tree({})
        return tree

    def _apply(
        self,
        tree: str | None,
        changes: Mapping[tuple[str, ...], tuple[str | None, str] | None],
        prefix: tuple[str, ...],
    ) -> str | None:
        # Rebuild only the trees on the changed paths; untouched subtrees are
        # reused by sha. Returns None when the resulting tree is empty (git does
        # not store empty directories).
        original = self._tree_entries(tree) if tree else {}
        entries = dict(original)
        direct: dict[str, tuple[str | None, str] | None] = {}
        nested: dict[str, dict[tuple[str, ...], tuple[str | None, str] | None]] = {}
        for parts, value in changes.items():
            if len(parts) == 1:
                direct[parts[0]] = value
            else:
                nested.setdefault(parts[0], {})[parts[1:]] = value

        def shown(name: str) -> str:
            return "/".join(prefix + (name,))

        for name, value in direct.items():
            cur = entries.get(name)
            if value is None:
                if cur is None:
                    continue  # deleting a missing file is a no-op
                if cur[0] == _TREE_MODE and name not in nested:
                    raise InvalidPath(f"{shown(name)} is a directory")
                if cur[0] != _TREE_MODE:
                    del entries[name]
                continue
            if name in nested:
                raise InvalidPath(f"{shown(name)} cannot be both a file and a directory")
            if cur is not None and cur[0] == _TREE_MODE:
                raise InvalidPath(f"{shown(name)} is a directory")
            mode, sha = value
            if mode is None:  # keep e.g. the executable bit of an existing file
                mode = cur[0] if cur is not None and cur[0] in _FILE_MODES else _DEFAULT_FILE_MODE
            entries[name] = (mode, sha)

        for name, sub in nested.items():
            cur = entries.get(name)
            if cur is not None and cur[0] != _TREE_MODE:
                raise InvalidPath(f"{shown(name)} is a file")
            new_sub = self._apply(cur[1] if cur else None, sub, prefix + (name,))
            if new_sub is None:
                entries.pop(name, None)
            else:
                entries[name] = (_TREE_MODE, new_sub)

        if not entries:
            return None
        if entries == original:
            return tree
        return self._write_tree(entries)

    def _write_commit(
        self,
        tree: str,
        parents: Sequence[str],
        author: Signature,
        message: str,
    ) -> str:
        now = int(time.time())
        author_line = _sig_line(author, now)
        committer_line = _sig_line(self.committer, now) if self.committer else author_line
        head = [f"tree {tree}"] + [f"parent {p}" for p in parents]
        head += [f"author {author_line}", f"committer {committer_line}"]
        raw = ("\n".join(head) + "\n\n" + message).encode("utf-8")
        sha = self._store_object("commit", raw)
        self._caches.commit_tree.put(sha, (tree, tuple(parents)))
        return sha

    def _after_write(self) -> None:
        # Every commit leaves a handful of loose objects, and path-limited
        # `git log` over thousands of loose objects is several times slower than
        # over a pack. Git porcelain runs `gc --auto` after commits; we do the
        # same, with a lower threshold. gc takes its own lock (concurrent runs
        # just skip) and detaches, so the publishing request does not wait.
        self._writes += 1
        if self.auto_gc_every and self._writes % self.auto_gc_every == 0:
            try:
                with self._guard("auto gc"):
                    self._run("gc", "--auto", "--quiet", config=("gc.auto=1000", "gc.autoDetach=true"))
            except StoreError:
                pass  # housekeeping must never fail a publish

