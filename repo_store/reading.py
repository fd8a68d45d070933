"""Reading: file contents, listings, history, diffs and search at a revision, and the bulk
reads (:meth:`Reading.changes_since`, :meth:`Reading.read_blobs`) a catalogue sync needs.

The hot path (``read`` with a warm cache) costs one ref-file read and a few dictionary
look-ups; no git process is involved.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from .caches import _MISS
from .errors import InvalidArgument, StoreCorrupt
from .messages import _LOG_FORMAT, _parse_log
from .objects import _CORRUPT_ERR_RE, _GitFailed
from .refs import Refs
from .values import (
    _CTRL_RE,
    _HEX40_RE,
    CommitInfo,
    FileChange,
    FileVersion,
    GrepHit,
    _validate_sha,
    validate_path,
)

_UTF8_ENV = {"LC_ALL": "C.UTF-8"}  # glibc falls back to "C" if unavailable
#: Repository/user config must not change the ``git log`` output the store parses.
_LOG_CONFIG = ("log.follow=false", "log.showSignature=false", "i18n.logOutputEncoding=UTF-8")


class Reading(Refs):
    """The read API (part of :class:`~repo_store.store.GitStore`)."""

    def read(self, path: str, rev: str = "main") -> FileVersion:
        """Return the content of ``path`` at ``rev`` (raises :class:`NotFound` if missing).

        ``FileVersion.commit`` is the commit ``rev`` resolved to (not the commit
        that last changed the file). With a warm cache this costs one ref-file
        read plus two dictionary look-ups; no git process is involved.
        """
        path = validate_path(path)
        commit = self.resolve(rev)
        with self._guard("read"):
            blob = self._blob_at(commit, path)
            try:
                data = self._blob_data(blob)
            except StoreCorrupt as exc:
                self._note_damaged(blob, "blob", path)
                raise StoreCorrupt(object=blob, kind="blob", path=path) from exc
            return FileVersion(path=path, commit=commit, blob=blob, data=data)

    def blob_sha(self, path: str, rev: str = "main") -> str:
        """Return the blob sha of ``path`` at ``rev`` without loading its content.

        Useful as a cheap ETag or to detect whether two revisions differ for a file.
        Raises :class:`NotFound` when the file does not exist at ``rev``.
        """
        path = validate_path(path)
        commit = self.resolve(rev)
        with self._guard("blob_sha"):
            return self._blob_at(commit, path)

    def list_files(self, rev: str = "main", prefix: str = "", suffix: str = "") -> list[tuple[str, str]]:
        """Return ``(path, blob sha)`` of every file at ``rev``, sorted by path.

        ``prefix`` / ``suffix`` are plain string filters on the full path (e.g.
        ``prefix="procedures/"``, ``suffix=".md"``). The complete listing is
        cached per root tree sha, so repeated calls on an unchanged branch cost
        one ref read plus a filter pass.
        """
        if not isinstance(prefix, str) or not isinstance(suffix, str):
            raise InvalidArgument("prefix and suffix must be strings")
        commit = self.resolve(rev)
        with self._guard("list_files"):
            tree, _ = self._commit_meta(commit)
            files = self._flat(tree).files
        if not prefix and not suffix:
            return list(files)
        return [(p, s) for p, s in files if p.startswith(prefix) and p.endswith(suffix)]
    def history(
        self,
        path: str | None = None,
        rev: str = "main",
        limit: int | None = None,
        *,
        first_parent: bool = False,
    ) -> list[CommitInfo]:
        """Return the commits reachable from ``rev``, newest first, optionally limited to ``path``.

        Implemented as ONE ``git log -z`` call with a custom format, parsed in
        Python, and cached by (head sha, path, limit, first_parent). A path-limited
        history uses git's default history simplification (commits that changed the
        path); pass ``first_parent=True`` to list only the commits of the branch
        itself, i.e. the merge commits of reviews instead of the review's drafts.
        """
        if path is not None:
            path = validate_path(path)
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise InvalidArgument(f"invalid limit: {limit!r}")
        head = self.resolve(rev)
        key = (head, path, limit, bool(first_parent))
        cached = self._caches.history.get(key, _MISS)
        if cached is not _MISS:
            return list(cached)
        args = ["log", "-z", "--format=" + _LOG_FORMAT]
        if limit is not None:
            args.append(f"--max-count={limit}")
        if first_parent:
            args.append("--first-parent")
        args.append(head)
        if path is not None:
            args += ["--", path]
        with self._guard("history"):
            _, out = self._run(
                "--literal-pathspecs",
                *args,
                config=_LOG_CONFIG,
            )
            result = tuple(_parse_log(out))
        self._caches.history.put(key, result, len(result) + 1)
        return list(result)

    def diff_paths(self, rev_a: str, rev_b: str) -> list[tuple[str, str]]:
        """Return ``(status, path)`` for every file that differs from ``rev_a`` to ``rev_b``.

        Status is ``A`` (only in b), ``D`` (only in a) or ``M`` (content or mode
        changed); renames are reported as D + A. Sorted by path. Computed from the
        cached flat listings of both trees, so no git process is spawned when warm.
        """
        a, b = self.resolve(rev_a), self.resolve(rev_b)
        with self._guard("diff_paths"):
            ea = self._flat(self._commit_meta(a)[0]).entries
            eb = self._flat(self._commit_meta(b)[0]).entries
        out = []
        for p in sorted(ea.keys() | eb.keys()):
            x, y = ea.get(p), eb.get(p)
            if x == y:
                continue
            out.append(("A" if x is None else "D" if y is None else "M", p))
        return out

    def grep(
        self,
        pattern: str,
        rev: str = "main",
        *,
        fixed: bool = True,
        ignore_case: bool = True,
        paths: Sequence[str] = (),
    ) -> list[GrepHit]:
        """Search file contents at ``rev`` with ``git grep`` (works on the bare repo).

        ``fixed=True`` matches a literal string, otherwise ``pattern`` is a POSIX
        extended regex (invalid ones raise :class:`InvalidArgument`). ``paths``
        restricts the search to files/directories (literal, no globbing). Binary
        files are skipped; matching is bytewise, so UTF-8 (e.g. Chinese) works.
        Results are cached per (tree sha, query).
        """
        if not isinstance(pattern, str) or not pattern or len(pattern) > 1000 or _CTRL_RE.search(pattern):
            raise InvalidArgument("invalid search pattern")
        if isinstance(paths, str):
            paths = (paths,)
        paths = tuple(validate_path(p) for p in paths)
        commit = self.resolve(rev)
        with self._guard("grep"):
            tree, _ = self._commit_meta(commit)
            key = (tree, pattern, bool(fixed), bool(ignore_case), paths)
            cached = self._caches.grep.get(key, _MISS)
            if cached is not _MISS:
                return list(cached)
            args = ["--literal-pathspecs", "grep", "-z", "-n", "-I", "--no-color"]
            args.append("-F" if fixed else "-E")
            if ignore_case:
                args.append("-i")
            args += ["-e", pattern, tree, "--", *paths]
            try:
                # GitPython forces LC_ALL=C, under which regex "." and -i work
                # on bytes; a UTF-8 locale makes them character-aware (Chinese).
                status, out = self._run(*args, ok=(0, 1), env=_UTF8_ENV)
            except _GitFailed as exc:
                if not fixed and exc.status == 128 and not _CORRUPT_ERR_RE.search(exc.stderr):
                    raise InvalidArgument(f"invalid regular expression: {pattern!r}") from None
                raise
        hits: list[GrepHit] = []
        if status == 0:
            strip = len(tree) + 1  # output paths are "<tree>:<path>"
            for m in re.finditer(rb"([^\0]*)\0(\d+)\0([^\n]*)\n", out):
                hits.append(
                    GrepHit(
                        path=m.group(1)[strip:].decode("utf-8", "replace"),
                        line_no=int(m.group(2)),
                        line=m.group(3).decode("utf-8", "replace").rstrip("\r"),
                    )
                )
        result = tuple(hits)
        self._caches.grep.put(key, result, len(result) + 1)
        return list(result)

    def changes_since(self, since: str | None, rev: str = "main") -> dict[str, list[FileChange]]:
        """The files changed by each first-parent commit after ``since`` up to ``rev``, from ONE ``git log``.

        ``{commit sha: [FileChange(status, path, blob)]}``: status ``A``, ``M`` (a type
        change counts as one) or ``D``, renames as D + A, merges compared with their first
        parent; ``since=None`` means the whole first-parent history. For walking many
        commits at once (a first catalogue sync: thousands of root trees would otherwise
        be parsed); for a few, :meth:`diff_paths` on the cached trees is cheaper.
        """
        since = _validate_sha(since, "since") if since is not None else None
        head = self.resolve(rev)
        with self._guard("changes_since"):
            _, out = self._run(
                "log", "--first-parent", "--diff-merges=first-parent", "--no-renames", "--raw", "--no-abbrev",
                "-z", "--format=%x01%H", f"{since}..{head}" if since else head, "--",
                config=(*_LOG_CONFIG, "core.quotePath=false"),
            )
        result: dict[str, list[FileChange]] = {}
        for record in out.split(b"\x01")[1:]:
            sha, _sep, rest = record.partition(b"\0")
            fields = rest.lstrip(b"\n").split(b"\0")
            changes = []
            for i in range(0, len(fields) - 1, 2):
                # ":100644 100644 <old blob> <new blob> M"
                meta = fields[i].decode("ascii", "replace").split()
                if len(meta) < 5:
                    continue
                status = "M" if meta[4][:1] == "T" else meta[4][:1]
                path = fields[i + 1].decode("utf-8", "surrogateescape")
                changes.append(FileChange(status, path, meta[3] if status != "D" else None))
            result[sha.decode("ascii")] = changes
        return result

    def read_blobs(self, blobs: Iterable[str]) -> dict[str, bytes]:
        """The contents of many blobs by sha: cached ones from memory, the rest from ONE ``git cat-file --batch``.

        Shas that are missing, not blobs, damaged or not 40 hex digits are left out:
        :meth:`read` of such a file says what is wrong. What is read here is not cached,
        so loading thousands of files (a catalogue sync) never flushes the blob cache.
        """
        result: dict[str, bytes] = {}
        wanted = []
        for sha in dict.fromkeys(blobs):
            if not isinstance(sha, str) or not _HEX40_RE.match(sha):
                continue
            data = self._caches.blobs.get(sha, _MISS)
            if data is _MISS:
                wanted.append(sha)
            else:
                result[sha] = data
        if not wanted:
            return result
        out, pos = self._cat_file("--batch", wanted), 0
        asked = {sha.lower(): sha for sha in wanted}
        while pos < len(out):
            eol = out.find(b"\n", pos)
            header = out[pos:eol].split() if eol >= 0 else []
            if len(header) != 3 or not header[2].isdigit():  # "<sha> missing"
                if eol < 0:
                    break
                pos = eol + 1
                continue
            sha, kind, size = header[0].decode("ascii", "replace"), header[1], int(header[2])
            data = out[eol + 1 : eol + 1 + size]
            pos = eol + 1 + size + 1
            # Checked like every object the store reads: bit rot must not pass as a version.
            h = hashlib.sha1(kind + b" " + header[2] + b"\0")
            h.update(data)
            if kind == b"blob" and len(data) == size and h.hexdigest() == sha and sha in asked:
                result[asked[sha]] = data
        return result
