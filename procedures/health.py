"""Store health for document controllers: everything in the git store the rules refuse, never skipped silently.

The door (:mod:`procedures.hook`) keeps invalid files out of ``main`` and the review
branches, but not what was there before it, nor what was written around it (a push with
hooks disabled, a copy of the repository, git plumbing). This module finds it:

* the catalogue's problems — every version on ``main`` it could not take, with its commit
  (:func:`procedures.catalog.problems`, recorded by the sync);
* files at ``main``'s head outside the layout or not valid (a change record that is not
  UTF-8 text), with the commit that last touched them;
* on each review branch, the files that differ from ``main`` and break the rules, with the
  branch's commit that last touched them;
* refs the store does not expect (branches other than ``main``, ``reviews/<number>`` and
  ``procdesk/…``, tags);
* whether the hook is installed and active, and the last ``flask procedures maintenance``
  (git fsck) result.

Everything read from git is keyed by commit shas (immutable), so it is cached per process.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from procedures import catalog, document
from procedures.hook import APP_BRANCH_PREFIX, MAIN_BRANCH, Finding, check_files, hook_state, is_review_branch
from repo_store import HookState, MaintenanceRecord, PushedFile, RefInfo, StoreError
from support.caching import LockedLRU
from webapp import dates
from webapp.store import get_store

__all__ = ["StoreReport", "FileProblem", "report", "problem_count", "MAX_BRANCHES"]

#: Review branches checked per page (newest first); the page says when there are more.
MAX_BRANCHES = 200
#: How long the count on the procedures index may lag behind the review branches (seconds).
COUNT_SECONDS = 30.0

_checked = LockedLRU(4096)  # (git dir, what, shas…, date bounds) -> tuple of findings
_counts = LockedLRU(64)     # (git dir, main head) -> (time, count)


@dataclass(frozen=True)
class FileProblem:
    """One file the rules refuse: on ``branch``, last changed by ``commit`` (its subject, author and time)."""

    branch: str
    path: str
    commit: str | None
    errors: dict = field(hash=False, compare=False)
    subject: str = ""
    author: str = ""
    committed_at: datetime | None = None


@dataclass(frozen=True)
class StoreReport:
    """What the store health page shows."""

    hook: HookState | None
    maintenance: MaintenanceRecord | None
    refs: list[RefInfo]
    unexpected_refs: list[RefInfo]
    main_files: list[FileProblem]
    branch_files: list[FileProblem]
    branches_checked: int
    branches_total: int

    @property
    def file_problems(self) -> list[FileProblem]:
        return self.main_files + self.branch_files


def _expected(ref: RefInfo) -> bool:
    branch = ref.branch
    return branch is not None and (branch == MAIN_BRANCH or is_review_branch(branch)
                                   or branch.startswith(APP_BRANCH_PREFIX))


def _bounds_key(bounds) -> tuple:
    return tuple(d.isoformat() for d in bounds)


def _last_commit(store, path: str, rev: str):
    try:
        found = store.history(path, rev=rev, limit=1)
    except StoreError:
        return None
    return found[0] if found else None


def _problems(store, branch: str, rev: str, findings) -> list[FileProblem]:
    out = []
    for f in findings:
        ci = _last_commit(store, f.path, rev) if f.path else None
        out.append(FileProblem(branch=branch, path=f.path or "", commit=ci.sha if ci else f.commit,
                               errors={k: [str(m) for m in v] for k, v in f.errors.items()},
                               subject=ci.summary if ci else "", author=ci.author.name if ci else "",
                               committed_at=ci.committed_at if ci else None))
    return out


def main_findings(store, head: str, bounds) -> tuple[Finding, ...]:
    """Files at ``head`` of main that break the layout or the rules for change records. Procedure files are
    the catalogue's business (it records every invalid version with its commit)."""
    key = (store.git_dir, "main", head, _bounds_key(bounds))
    found = _checked.get(key)
    if found is None:
        files = [PushedFile(head, "A", path, blob, None) for path, blob in store.list_files(head)
                 if document.code_from_path(path) is None]
        found = tuple(check_files(store, "refs/heads/" + MAIN_BRANCH, files, bounds))
        _checked.put(key, found)
    return found


def branch_findings(store, branch: str, tip: str, main: str | None, bounds) -> tuple[Finding, ...]:
    """Files of review branch ``branch`` at ``tip`` that differ from where it left ``main`` and break the rules."""
    key = (store.git_dir, "branch", tip, main, _bounds_key(bounds))
    found = _checked.get(key)
    if found is None:
        base = store.common_ancestor(main, tip) if main else None
        if base is None:
            changes = [("A", path) for path, _blob in store.list_files(tip)]
        else:
            changes = store.diff_paths(base, tip)
        files = []
        for status, path in changes:
            if status == "D":
                files.append(PushedFile(tip, "D", path, None, None))
            else:
                files.append(PushedFile(tip, status, path, store.blob_sha(path, tip), None))
        found = tuple(check_files(store, "refs/heads/" + branch, files, bounds))
        _checked.put(key, found)
    return found


def report(*, max_branches: int = MAX_BRANCHES) -> StoreReport:
    """Everything the store health page shows (the catalogue's problems come from :mod:`procedures.catalog`)."""
    store = get_store()
    bounds = dates.date_bounds()
    refs = store.refs_overview()
    try:
        state = hook_state(store)
    except StoreError:
        state = None
    main = store.head(MAIN_BRANCH)
    main_files = _problems(store, MAIN_BRANCH, main, main_findings(store, main, bounds)) if main else []
    reviews = sorted((r for r in refs if r.branch and is_review_branch(r.branch)),
                     key=lambda r: r.committed_at.timestamp() if r.committed_at else 0.0, reverse=True)
    branch_files = []
    for ref in reviews[:max_branches]:
        branch_files += _problems(store, ref.branch, ref.sha, branch_findings(store, ref.branch, ref.sha, main, bounds))
    return StoreReport(hook=state, maintenance=store.last_maintenance(), refs=refs,
                       unexpected_refs=[r for r in refs if not _expected(r)], main_files=main_files,
                       branch_files=branch_files, branches_checked=min(len(reviews), max_branches),
                       branches_total=len(reviews))


def problem_count() -> int:
    """How many problems the health page lists (catalogue + files + unexpected refs + a missing hook), for
    the notice on the procedures index. The git part is remembered per process for :data:`COUNT_SECONDS`
    while ``main`` does not move; the catalogue's count is always fresh."""
    store = get_store()
    key = (store.git_dir, store.head(MAIN_BRANCH))
    cached = _counts.get(key)
    now = time.monotonic()
    if cached is None or now - cached[0] >= COUNT_SECONDS:
        try:
            found = report()
            count = len(found.file_problems) + len(found.unexpected_refs) + (
                0 if found.hook is not None and found.hook.active else 1)
        except StoreError:
            count = 1
        cached = (now, count)
        _counts.put(key, cached)
    return catalog.open_problems_count() + cached[1]
