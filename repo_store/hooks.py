"""Server-side hooks: installing a hook script into the store, and reading what a push brings.

A ``pre-receive`` hook sees the pushed objects before any ref moves: git keeps them in a
quarantine directory that the hook's environment (``GIT_OBJECT_DIRECTORY``,
``GIT_ALTERNATE_OBJECT_DIRECTORIES``) points at, so everything here runs ``git`` with the
inherited environment and never writes an object. What the rules are (which refs, which
files) is the caller's business; this part only answers "what does this update change".

The app's own writes (plumbing + ``git update-ref``) never pass through ``receive-pack``,
so hooks do not apply to them.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from .errors import InvalidArgument, StoreError
from .refs import Refs
from .stamps import write_whole
from .values import _HEX40_RE, ZERO_SHA, _validate_sha

__all__ = ["RefUpdate", "PushedFile", "RefInfo", "HookState", "parse_ref_updates", "Hooks"]

_HOOK_NAME_RE = re.compile(r"\A(?:pre-receive|update|post-receive|post-update|reference-transaction)\Z")
_CONFIG_KEY_RE = re.compile(r"\A[a-z][a-z0-9-]*\.[A-Za-z][A-Za-z0-9-]*\Z")
_LOG_CONFIG = ("log.follow=false", "log.showSignature=false", "i18n.logOutputEncoding=UTF-8",
               "core.quotePath=false", "log.showRoot=true")


class RefUpdate(NamedTuple):
    """One line of a ``pre-receive`` hook's input. ``old`` is None when the ref is created,
    ``new`` None when it is deleted."""

    ref: str
    old: str | None
    new: str | None


class PushedFile(NamedTuple):
    """One file changed by one first-parent commit of a push: ``status`` ``A``, ``M`` or ``D``
    (renames are D + A); ``blob`` and ``mode`` describe the new content (None for ``D``)."""

    commit: str
    status: str
    path: str
    blob: str | None
    mode: str | None


@dataclass(frozen=True)
class RefInfo:
    """A ref of the store for an overview: full name, commit, commit time (UTC) and subject."""

    ref: str
    sha: str
    committed_at: datetime | None
    subject: str

    @property
    def branch(self) -> str | None:
        return self.ref[len("refs/heads/"):] if self.ref.startswith("refs/heads/") else None


@dataclass(frozen=True)
class HookState:
    """Whether hook ``name`` is in place: ``installed`` (the file holds ``marker``), ``active``
    (installed, executable, and git looks for hooks in the store's own folder: a
    ``core.hooksPath`` elsewhere makes git skip it), ``hooks_path`` that setting if any."""

    name: str
    path: str
    installed: bool
    active: bool
    hooks_path: str | None = None


def parse_ref_updates(data: bytes | str) -> list[RefUpdate]:
    """The ``<old> <new> <ref>`` lines git gives a ``pre-receive`` hook; StoreError on a malformed line."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "surrogateescape")
    updates = []
    for line in data.splitlines():
        if not line.strip():
            continue
        parts = line.split(" ", 2)
        if len(parts) != 3 or not _HEX40_RE.match(parts[0]) or not _HEX40_RE.match(parts[1]) or not parts[2]:
            raise StoreError(f"malformed ref update line: {line[:200]!r}")
        old, new, ref = parts[0].lower(), parts[1].lower(), parts[2]
        updates.append(RefUpdate(ref, None if old == ZERO_SHA else old, None if new == ZERO_SHA else new))
    return updates


class Hooks(Refs):
    """Hook files, store config, and the read side of incoming pushes (part of :class:`~repo_store.store.GitStore`)."""

    # -- hook files --------------------------------------------------------

    def hook_path(self, name: str) -> str:
        """Where git looks for hook ``name`` of this store when ``core.hooksPath`` is not set."""
        if not isinstance(name, str) or not _HOOK_NAME_RE.match(name):
            raise InvalidArgument(f"unknown hook name: {name!r}")
        return os.path.join(self.git_dir, "hooks", name)

    def install_hook(self, name: str, script: str) -> bool:
        """Write ``script`` as hook ``name`` (mode 0755); True when the file changed.

        Idempotent and atomic: an identical hook is left alone (nothing written), a
        different one (an older version, or somebody's own) is replaced by renaming a
        complete temporary file over it, so a push never runs half a script.
        """
        path = self.hook_path(name)
        if not isinstance(script, str) or not script.startswith("#!"):
            raise InvalidArgument("a hook script starts with #!")
        data = script.encode("utf-8")
        try:
            with open(path, "rb") as fh:
                if fh.read(len(data) + 1) == data and os.access(path, os.X_OK):
                    return False
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_whole(path, data, 0o755)
        except OSError as exc:
            raise StoreError(f"cannot install the {name} hook at {path}: {exc}") from exc
        return True

    def hook_state(self, name: str, marker: str) -> HookState:
        """Is hook ``name`` with ``marker`` in its text in place and will git run it? Never raises for a
        missing file; costs one ``git config`` call."""
        path = self.hook_path(name)
        installed = False
        try:
            with open(path, "rb") as fh:
                installed = marker.encode("utf-8") in fh.read(64 * 1024)
            executable = bool(os.stat(path).st_mode & stat.S_IXUSR)
        except OSError:
            executable = False
        hooks_path = self.config_value("core.hooksPath")
        redirected = hooks_path is not None and os.path.realpath(
            os.path.join(self.git_dir, os.path.expanduser(hooks_path))) != os.path.realpath(os.path.dirname(path))
        return HookState(name=name, path=path, installed=installed, active=installed and executable and not redirected,
                         hooks_path=hooks_path)

    def config_value(self, key: str) -> str | None:
        """The value git uses for config ``key`` in this store (its own, global or system config), or None."""
        key = _check_config_key(key)
        with self._guard("config"):
            status, out = self._run("config", "--get", key, ok=(0, 1))
        return out.decode("utf-8", "replace").strip() if status == 0 else None

    def set_config(self, key: str, value: str) -> None:
        """Set ``key`` to ``value`` in the store's own config (``git config --local``)."""
        key = _check_config_key(key)
        if not isinstance(value, str) or "\n" in value or "\x00" in value:
            raise InvalidArgument("config value must be one line of text")
        with self._guard("config"):
            self._run("config", "--local", key, value)

    # -- what a push brings ------------------------------------------------

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when commit ``ancestor`` is reachable from ``descendant`` (a fast-forward from one to the other)."""
        a, d = _validate_sha(ancestor), _validate_sha(descendant)
        with self._guard("is_ancestor"):
            status, _ = self._run("merge-base", "--is-ancestor", a, d, ok=(0, 1))
        return status == 0

    def common_ancestor(self, a: str, b: str) -> str | None:
        """The best common ancestor of two commits given by sha, or None when their histories are unrelated."""
        a, b = _validate_sha(a), _validate_sha(b)
        with self._guard("merge-base"):
            status, out = self._run("merge-base", a, b, ok=(0, 1))
        found = out.decode("ascii", "replace").split()
        return found[0] if status == 0 and found and _HEX40_RE.match(found[0]) else None

    def pushed_files(self, new: str, *, exclude: Sequence[str] = (), max_commits: int = 1000,
                     ) -> tuple[list[PushedFile], int]:
        """The files each first-parent commit from ``new`` back to (not including) ``exclude`` changed.

        ``([PushedFile], commits)``, oldest commit first, each compared with its first
        parent (a root commit with nothing, so every file counts as added); ``commits`` is
        how many commits were walked. ONE ``git log``, stopped after ``max_commits + 1``
        commits: a result with ``commits > max_commits`` is cut short and the caller should
        refuse rather than judge part of it.
        """
        new = _validate_sha(new, "new")
        excluded = [_validate_sha(sha, "exclude") for sha in exclude]
        if not isinstance(max_commits, int) or max_commits < 1:
            raise InvalidArgument("max_commits must be a positive number")
        args = ["log", "--first-parent", "--diff-merges=first-parent", "--no-renames", "--raw", "--no-abbrev",
                "--root", "-z", "--format=%x01%H", f"--max-count={max_commits + 1}", new]
        if excluded:
            args += ["--not", *excluded]
        with self._guard("pushed_files"):
            _, out = self._run(*args, "--", config=_LOG_CONFIG)
        files: list[PushedFile] = []
        records = out.split(b"\x01")[1:]
        for record in reversed(records):
            sha, _sep, rest = record.partition(b"\0")
            commit = sha.decode("ascii").strip()
            fields = rest.lstrip(b"\n").split(b"\0")
            for i in range(0, len(fields) - 1, 2):
                # ":100644 100644 <old blob> <new blob> M"
                meta = fields[i].decode("ascii", "replace").lstrip(":").split()
                if len(meta) < 5:
                    continue
                status = "M" if meta[4][:1] == "T" else meta[4][:1]
                path = fields[i + 1].decode("utf-8", "surrogateescape")
                if status == "D":
                    files.append(PushedFile(commit, "D", path, None, None))
                else:
                    files.append(PushedFile(commit, status, path, meta[3], meta[1]))
        return files, len(records)

    def object_sizes(self, shas: Iterable[str]) -> dict[str, int]:
        """Size in bytes of each existing blob among ``shas`` (ONE ``git cat-file --batch-check``);
        missing objects and non-blobs are left out."""
        wanted = [sha.lower() for sha in dict.fromkeys(shas) if isinstance(sha, str) and _HEX40_RE.match(sha)]
        if not wanted:
            return {}
        out = self._cat_file("--batch-check", wanted)
        sizes = {}
        for line in out.decode("ascii", "replace").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "blob" and parts[2].isdigit():
                sizes[parts[0]] = int(parts[2])
        return sizes

    # -- overview ----------------------------------------------------------

    def refs_overview(self) -> list[RefInfo]:
        """Every ref of the store with its commit, commit time and subject (ONE ``git for-each-ref``)."""
        fmt = "%(refname)%00%(objectname)%00%(*objectname)%00%(committerdate:unix)%00%(contents:subject)"
        with self._guard("refs_overview"):
            _, out = self._run("for-each-ref", f"--format={fmt}", config=("i18n.logOutputEncoding=UTF-8",))
        refs = []
        for line in out.decode("utf-8", "replace").splitlines():
            parts = line.split("\0")
            if len(parts) != 5:
                continue
            ref, sha, peeled, when, subject = parts
            at = datetime.fromtimestamp(int(when), UTC) if when.isdigit() else None
            refs.append(RefInfo(ref=ref, sha=peeled or sha, committed_at=at, subject=subject))
        return refs


def _check_config_key(key: str) -> str:
    if not isinstance(key, str) or not _CONFIG_KEY_RE.match(key):
        raise InvalidArgument(f"invalid config key: {key!r}")
    return key
