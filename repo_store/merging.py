"""Merging a review branch: a two-parent merge commit from ``git merge-tree --write-tree``
(git >= 2.38), or a per-file three-way ``git merge-file`` on older git.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

import git

from .errors import (
    Conflict,
    InvalidArgument,
    InvalidPath,
    MergeConflict,
    NotFound,
    NothingToCommit,
    StoreError,
)
from .messages import _build_message, _sig_line
from .values import _HEX40_RE, Signature, _validate_sha, validate_branch
from .writing import Writing

_GIT_VERSION: tuple[int, ...] | None = None


def _git_version() -> tuple[int, ...]:
    global _GIT_VERSION
    if _GIT_VERSION is None:
        try:
            _GIT_VERSION = tuple(git.Git().version_info)
        except Exception:  # unknown git: assume old, the fallback path always works
            _GIT_VERSION = (0,)
    return _GIT_VERSION


class Merging(Writing):
    """Merging branches (part of :class:`~repo_store.store.GitStore`)."""

    #: Merge with ``git merge-tree --write-tree`` (set by ``GitStore.__init__`` when git >= 2.38).
    #: False takes the per-file ``git merge-file`` fallback that older git gets; a documented
    #: switch so that the tests can exercise both ways on any git.
    use_merge_tree: bool

    def merge(
        self,
        source_branch: str,
        *,
        into: str = "main",
        author: Signature,
        summary: str,
        body: str = "",
        trailers: Iterable[tuple[str, str]] = (),
        base: str | None = None,
    ) -> str:
        """Three-way merge ``source_branch`` into ``into`` with a two-parent merge commit.

        A merge commit is always created (never a fast-forward), so the publish
        and its trailers stay visible on ``into``. Uses ``git merge-tree
        --write-tree`` (git >= 2.38) or a per-file ``git merge-file`` fallback.
        Raises :class:`MergeConflict` (``.paths``) on content conflicts,
        :class:`NothingToCommit` if the source is already merged, and
        :class:`Conflict` if ``into`` is not at ``base`` (default: the head read at
        the start). Returns the merge commit sha; the source branch is kept.
        """
        source_branch = validate_branch(source_branch)
        into = validate_branch(into)
        base = _validate_sha(base, "base") if base is not None else None
        message = _build_message(summary, body, trailers)
        _sig_line(author, 0)
        with self._guard("merge"):
            ours = self.head(into)
            if ours is None:
                raise NotFound(f"no such branch: {into}")
            if base is not None and ours != base:
                raise Conflict(current=ours, expected=base)
            theirs = self.head(source_branch)
            if theirs is None:
                raise NotFound(f"no such branch: {source_branch}")
            status, _ = self._run("merge-base", "--is-ancestor", theirs, ours, ok=(0, 1))
            if status == 0:
                raise NothingToCommit(f"{source_branch} is already merged into {into}")
            if self.use_merge_tree:
                tree, conflicts = self._merge_tree(ours, theirs)
            else:
                tree, conflicts = self._merge_fallback(ours, theirs)
            if conflicts:
                raise MergeConflict(conflicts, current=ours, expected=ours)
            sha = self._write_commit(tree, [ours, theirs], author, message)
            self._cas(into, sha, ours)
        self._after_write()
        return sha

    def _merge_tree(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        status, out = self._run(
            "merge-tree", "--write-tree", "--no-messages", "--name-only", "-z", ours, theirs, ok=(0, 1)
        )
        fields = out.split(b"\0")
        tree = fields[0].decode().strip()
        if not _HEX40_RE.match(tree):
            raise StoreError("unexpected git merge-tree output")
        conflicts = list(dict.fromkeys(f.decode("utf-8", "replace") for f in fields[1:] if f))
        if status == 1 and not conflicts:
            conflicts = ["<unknown>"]
        return tree, conflicts

    def _merge_fallback(self, ours: str, theirs: str) -> tuple[str, list[str]]:
        # Per-file three-way merge for git < 2.38 (no `merge-tree --write-tree`).
        status, out = self._run("merge-base", ours, theirs, ok=(0, 1))
        if status != 0:
            raise StoreError("branches have no common ancestor")
        mb = out.decode().split()[0]
        flat_b = self._flat(self._commit_meta(mb)[0]).entries
        ours_tree = self._commit_meta(ours)[0]
        flat_o = self._flat(ours_tree).entries
        flat_t = self._flat(self._commit_meta(theirs)[0]).entries
        changes: dict[tuple[str, ...], tuple[str | None, str] | None] = {}
        conflicts: list[str] = []
        for p in sorted(flat_b.keys() | flat_o.keys() | flat_t.keys()):
            b, o, t = flat_b.get(p), flat_o.get(p), flat_t.get(p)
            if o == t or t == b:
                continue  # ours already has the result
            if o == b:
                changes[tuple(p.split("/"))] = t  # only theirs changed (maybe deleted)
                continue
            if o is None or t is None:
                conflicts.append(p)  # modify/delete
                continue
            if o[0] == t[0]:
                mode = o[0]
            elif b is not None and o[0] == b[0]:
                mode = t[0]
            elif b is not None and t[0] == b[0]:
                mode = o[0]
            else:
                conflicts.append(p)
                continue
            if o[1] == t[1]:
                changes[tuple(p.split("/"))] = (mode, o[1])
                continue
            merged = self._merge_file(b[1] if b else None, o[1], t[1])
            if merged is None:
                conflicts.append(p)
            else:
                changes[tuple(p.split("/"))] = (mode, self._store_object("blob", merged))
        if conflicts:
            return "", conflicts
        try:
            return self._changes_to_tree(ours_tree, changes), []
        except InvalidPath as exc:  # file/directory clash
            return "", [str(exc)]

    def _merge_file(self, base: str | None, ours: str, theirs: str) -> bytes | None:
        return self.merge_text(self._blob_data(base) if base else b"", self._blob_data(ours), self._blob_data(theirs))

    def merge_base(self, rev_a: str, rev_b: str) -> str | None:
        """The best common ancestor of two revisions (``git merge-base``), or None when they share none."""
        a, b = self.resolve(rev_a), self.resolve(rev_b)
        with self._guard("merge_base"):
            status, out = self._run("merge-base", a, b, ok=(0, 1))
        found = out.decode("ascii", "replace").split()
        return found[0] if status == 0 and found and _HEX40_RE.match(found[0]) else None

    def merge_text(self, base: bytes | None, ours: bytes, theirs: bytes) -> bytes | None:
        """Three-way merge of one file's contents (``git merge-file``): the merged bytes, or None on a conflict.

        ``base`` is the common ancestor's content (None or ``b""``: the file did not exist).
        Nothing is written to the repository.
        """
        for value in (ours, theirs, base or b""):
            if not isinstance(value, (bytes, bytearray)):
                raise InvalidArgument("merge_text takes bytes")
        with tempfile.TemporaryDirectory(prefix="procdesk-merge-") as tmp:
            names = []
            for label, data in (("ours", ours), ("base", base or b""), ("theirs", theirs)):
                fn = os.path.join(tmp, label)
                with open(fn, "wb") as fh:
                    fh.write(data)
                names.append(fn)
            with self._guard("merge_text"):
                status, out = self._run(
                    "merge-file",
                    "-p",
                    "--quiet",
                    "-L",
                    "ours",
                    "-L",
                    "base",
                    "-L",
                    "theirs",
                    *names,
                    ok=range(0, 256),
                )
        return out if status == 0 else None
