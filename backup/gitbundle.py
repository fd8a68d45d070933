"""The git side of a backup: the store's refs read at one moment, a bundle of exactly those refs, and
checking and unpacking a bundle. Plain git commands; the live store is only ever read.

A bundle made with ``git bundle create --all`` in the live store would name the refs as they are when
git gets to them, possibly later than the moment the database snapshot belongs to. Instead the refs are
read first (:func:`read_refs`) and the bundle is made in a throw-away repository that borrows the store's
objects (``objects/info/alternates``) and holds exactly those refs (:func:`create_bundle`).
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

#: git run with a fixed language (its messages are matched) and never asking for a password.
_ENV = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}


class GitFailed(Exception):
    """A git command failed; the text is git's own message."""


def git(*args: str, cwd: str | os.PathLike | None = None, timeout: float | None = 3600) -> str:
    """Run ``git args`` and return its output; :class:`GitFailed` with git's message when it fails."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=_ENV, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitFailed(str(exc)) from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} exited {done.returncode}"
        raise GitFailed(message[-2000:])
    return done.stdout.decode("utf-8", "replace")


def read_refs(git_dir: str | os.PathLike) -> dict[str, str]:
    """Every ref of the repository (branches, review branches, the audit anchor, tags) → its object sha."""
    out = git("for-each-ref", "--format=%(objectname) %(refname)", cwd=git_dir)
    refs = {}
    for line in out.splitlines():
        sha, _, name = line.partition(" ")
        if sha and name:
            refs[name] = sha
    return dict(sorted(refs.items()))


def create_bundle(git_dir: str | os.PathLike, refs: dict[str, str], target: str | os.PathLike,
                  workdir: str | os.PathLike) -> None:
    """Write a bundle of ``refs`` (name → sha, as :func:`read_refs` gave them) of the repository at
    ``git_dir`` to ``target``; ``workdir`` holds the throw-away repository. Whatever the refs of the live
    repository do meanwhile, the bundle holds these."""
    snap = Path(tempfile.mkdtemp(prefix="refs-", dir=workdir))
    git("init", "--quiet", "--bare", str(snap))
    objects = Path(git_dir).resolve() / "objects"
    (snap / "objects" / "info" / "alternates").write_text(f"{objects}\n", encoding="utf-8")
    # One transaction of ref updates (``update-ref --stdin``), not one git process per ref.
    commands = "".join(f"create {name} {sha}\n" for name, sha in refs.items())
    _git_stdin(["update-ref", "--stdin"], commands, cwd=snap)
    git("bundle", "create", "--quiet", str(Path(target).resolve()), "--all", cwd=snap)


def _git_stdin(args: list[str], text: str, *, cwd) -> None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=_ENV, input=text.encode("utf-8"), capture_output=True,
                              check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitFailed(str(exc)) from exc
    if done.returncode != 0:
        raise GitFailed(done.stderr.decode("utf-8", "replace").strip()[-2000:])


def bundle_heads(bundle: str | os.PathLike, workdir: str | os.PathLike) -> dict[str, str]:
    """Check ``bundle`` (``git bundle verify`` in an empty repository: complete, nothing missing) and
    return the refs it carries. :class:`GitFailed` when it is damaged or incomplete."""
    empty = Path(tempfile.mkdtemp(prefix="verify-", dir=workdir))
    git("init", "--quiet", "--bare", str(empty))
    git("bundle", "verify", "--quiet", str(Path(bundle).resolve()), cwd=empty)
    heads = {}
    for line in git("bundle", "list-heads", str(Path(bundle).resolve()), cwd=empty).splitlines():
        sha, _, name = line.partition(" ")
        if name and name != "HEAD":
            heads[name] = sha
    return dict(sorted(heads.items()))


def fetch_bundle(bundle: str | os.PathLike, git_dir: str | os.PathLike) -> None:
    """Copy every ref of ``bundle``, with its history, into the (bare) repository at ``git_dir`` (git
    checks every object's hash as it indexes the pack)."""
    git("fetch", "--quiet", "--no-write-fetch-head", str(Path(bundle).resolve()),
        "+refs/*:refs/*", cwd=git_dir)


def is_empty(git_dir: str | os.PathLike) -> bool:
    """True when the repository has no refs and no objects (what ``git init`` leaves)."""
    if read_refs(git_dir):
        return False
    counts = dict(line.split(": ", 1) for line in git("count-objects", "-v", cwd=git_dir).splitlines() if ": " in line)
    return counts.get("count") == "0" and counts.get("in-pack") == "0"
