"""Tests for repo_store (pure library: no Flask app involved)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import threading
import zlib
from datetime import UTC

import pytest

from repo_store import (
    EMPTY_TREE,
    CommitInfo,
    Conflict,
    GitStore,
    InvalidArgument,
    InvalidPath,
    MergeConflict,
    NotFound,
    NothingToCommit,
    Signature,
    StoreError,
    validate_path,
    validate_rev,
)
from repo_store.caches import forget_all

ALICE = Signature("Alice Zhang", "alice@example.com")
LI = Signature("李华", "li@example.com")


@pytest.fixture
def repo_path(tmp_path):
    return str(tmp_path / "docs.git")


@pytest.fixture
def store(repo_path):
    s = GitStore.open_or_init(repo_path)
    yield s
    s.close()


def run_git(*args, cwd=None, env_extra=None):
    """Run plain git like an external user would (no GitPython, no store)."""
    env = dict(os.environ)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Ext User",
        GIT_AUTHOR_EMAIL="ext@example.com",
        GIT_COMMITTER_NAME="Ext User",
        GIT_COMMITTER_EMAIL="ext@example.com",
    )
    env.update(env_extra or {})
    res = subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        check=True,
    )
    return res.stdout.decode().strip()


# ---------------------------------------------------------------------------
# init / basic read-write
# ---------------------------------------------------------------------------


def test_open_or_init_is_idempotent(repo_path):
    s1 = GitStore.open_or_init(repo_path)
    assert s1.head() is None
    assert s1.ping()
    sha = s1.commit({"a.md": "x"}, summary="first", author=ALICE, base=None)
    s2 = GitStore.open_or_init(repo_path)
    assert s2.head() == sha
    assert s2.read("a.md").text == "x"
    assert run_git("--git-dir", repo_path, "rev-parse", "--is-bare-repository") == "true"
    assert run_git("--git-dir", repo_path, "symbolic-ref", "HEAD") == "refs/heads/main"
    # No leftover temporary init directories next to the repo.
    assert os.listdir(os.path.dirname(repo_path)) == ["docs.git"]
    s1.close()
    s2.close()


def _init_worker(path, barrier, queue):
    try:
        barrier.wait()
        s = GitStore.open_or_init(path)
        queue.put(("ok", s.ping()))
    except Exception as exc:  # reported to the parent
        queue.put(("error", repr(exc)))


def test_open_or_init_race_between_processes(repo_path):
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_init_worker, args=(repo_path, barrier, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == [("ok", True)] * 4
    assert os.listdir(os.path.dirname(repo_path)) == ["docs.git"]


def test_open_existing_non_repo_raises_store_error(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file").write_text("x")
    with pytest.raises(StoreError):
        GitStore(str(tmp_path / "junk"))
    with pytest.raises(StoreError):
        GitStore.open_or_init(str(tmp_path / "junk"))


TRAILERS = (
    ("Procedure", "QP-CS-001"),
    ("Version", "A/1"),
    ("Approved-by", "Li Hua <li@x>"),
    ("Effective", "2026-12-01"),
)


@pytest.fixture
def c1(store):
    """The first commit: a procedure and an index, by Li, with a body and four trailers."""
    return store.commit(
        {"procedures/QP-CS-001.md": "# Complaint handling\n", "index.yml": b"- QP-CS-001\n"},
        summary="Publish QP-CS-001 A/1",
        body="Initial release.\n\nSecond paragraph.",
        trailers=list(TRAILERS),
        author=LI,
        base=None,
    )


@pytest.fixture
def c2(store, c1):
    """The second commit on top of :func:`c1`: the procedure changed by Alice, two approvers, no body."""
    return store.commit(
        {"procedures/QP-CS-001.md": "# Complaint handling v2\n"},
        summary="Publish QP-CS-001 A/2",
        trailers=[("Version", "A/2"), ("Approved-by", "X <x@x>"), ("Approved-by", "Y <y@y>")],
        author=ALICE,
        base=c1,
    )


def test_commit_returns_the_new_head_of_main(store, c1):
    assert len(c1) == 40 and store.head() == c1 == store.head("main")


def test_read_gives_the_text_its_blob_and_commit(store, c1):
    fv = store.read("procedures/QP-CS-001.md")
    assert fv.text == "# Complaint handling\n" and fv.commit == c1 and fv.path == "procedures/QP-CS-001.md"
    assert fv.blob == store.blob_sha("procedures/QP-CS-001.md")
    assert store.read("index.yml", rev=c1).data == b"- QP-CS-001\n"


def test_list_files_filters_by_prefix_and_suffix(store, c1):
    blob = store.blob_sha("procedures/QP-CS-001.md")
    assert store.list_files() == sorted(
        [("index.yml", store.blob_sha("index.yml")), ("procedures/QP-CS-001.md", blob)]
    )
    assert store.list_files(prefix="procedures/", suffix=".md") == [("procedures/QP-CS-001.md", blob)]
    assert store.list_files(suffix=".txt") == []


def test_history_of_a_file_is_newest_first_with_authors_parents_and_utc_times(store, c1, c2):
    hist = store.history("procedures/QP-CS-001.md")
    assert [h.sha for h in hist] == [c2, c1]
    newest, oldest = hist
    assert isinstance(oldest, CommitInfo)
    assert oldest.author == LI and newest.author == ALICE
    assert newest.parents == (c1,) and oldest.parents == ()
    assert newest.authored_at.tzinfo == UTC and newest.committed_at.tzinfo == UTC


def test_history_keeps_summary_body_and_trailers(store, c1, c2):
    newest, oldest = store.history("procedures/QP-CS-001.md")
    assert oldest.summary == "Publish QP-CS-001 A/1"
    assert oldest.body == "Initial release.\n\nSecond paragraph."
    assert oldest.trailers == TRAILERS
    assert oldest.trailer("approved-by") == "Li Hua <li@x>"
    assert oldest.trailer("Missing") is None
    assert newest.trailer_all("Approved-by") == ("X <x@x>", "Y <y@y>")
    assert newest.trailer("Approved-by") == "Y <y@y>"
    assert newest.body == ""


def test_history_by_path_limit_and_rev_and_reading_an_older_rev(store, c1, c2):
    assert [h.sha for h in store.history("index.yml")] == [c1]
    assert [h.sha for h in store.history(limit=1)] == [c2]
    assert [h.sha for h in store.history(rev=c1)] == [c1]
    assert store.read("procedures/QP-CS-001.md", rev=c1).text == "# Complaint handling\n"


def test_git_itself_reads_the_trailers_we_wrote(store, c1):
    parsed = run_git(
        "--git-dir", store.git_dir, "log", "-1", "--format=%(trailers:key=Version,valueonly)", c1
    )
    assert parsed == "A/1"


def test_committer_identity(repo_path):
    s = GitStore.open_or_init(repo_path, committer=Signature("ProcDesk", "procdesk@example.com"))
    sha = s.commit({"a": "1"}, summary="s", author=LI, base=None)
    out = run_git("--git-dir", repo_path, "log", "-1", "--format=%an|%ae|%cn|%ce", sha)
    assert out == "李华|li@example.com|ProcDesk|procdesk@example.com"
    s.close()


def test_nested_paths_and_delete(store):
    c1 = store.commit(
        {"a/b/c/d.md": "deep", "a/b/e.md": "mid", "a/x.md": "top", "z.md": "root"},
        summary="nested",
        author=ALICE,
        base=None,
    )
    assert store.read("a/b/c/d.md").text == "deep"
    assert [p for p, _ in store.list_files(prefix="a/")] == ["a/b/c/d.md", "a/b/e.md", "a/x.md"]

    c2 = store.commit({"a/b/c/d.md": None, "a/b/e.md": "mid2"}, summary="del", author=ALICE, base=c1)
    with pytest.raises(NotFound):
        store.read("a/b/c/d.md")
    assert store.read("a/b/c/d.md", rev=c1).text == "deep"
    assert store.read("a/b/e.md").text == "mid2"
    assert [p for p, _ in store.list_files()] == ["a/b/e.md", "a/x.md", "z.md"]
    assert store.diff_paths(c1, c2) == [("D", "a/b/c/d.md"), ("M", "a/b/e.md")]
    assert store.diff_paths(c2, c1) == [("A", "a/b/c/d.md"), ("M", "a/b/e.md")]

    # Deleting everything leaves an empty tree (empty directories vanish).
    c3 = store.commit({"a/b/e.md": None, "a/x.md": None, "z.md": None}, summary="wipe", author=ALICE, base=c2)
    assert store.list_files() == []
    assert run_git("--git-dir", store.git_dir, "rev-parse", c3 + "^{tree}") == EMPTY_TREE
    run_git("--git-dir", store.git_dir, "fsck", "--strict")


def test_file_directory_clash_is_rejected(store):
    c1 = store.commit({"a/b.md": "x"}, summary="s", author=ALICE, base=None)
    with pytest.raises(InvalidPath):
        store.commit({"a": "file over dir"}, summary="s", author=ALICE, base=c1)
    with pytest.raises(InvalidPath):
        store.commit({"a/b.md/c": "dir under file"}, summary="s", author=ALICE, base=c1)
    assert store.head() == c1
    # Replacing a file by a directory is fine when the file is deleted explicitly.
    store.commit({"a/b.md": None, "a/b.md/c": "now a dir"}, summary="s", author=ALICE, base=c1)
    assert store.read("a/b.md/c").text == "now a dir"


def test_chinese_content_paths_and_grep(store):
    text = "质量手册\n第一章 不合格品控制程序\nCustomer Complaint\n"
    store.commit(
        {
            "程序/不合格品.md": text,
            "other/en.md": "nothing here\ncustomer complaint lower\n",
            "bin.dat": b"\0\1\2",
        },
        summary="中文提交",
        author=LI,
        base=None,
    )
    assert store.read("程序/不合格品.md").text == text
    assert store.history("程序/不合格品.md")[0].summary == "中文提交"
    hits = store.grep("不合格")
    assert [(h.path, h.line_no, h.line) for h in hits] == [("程序/不合格品.md", 2, "第一章 不合格品控制程序")]
    hits = store.grep("CUSTOMER complaint")
    assert sorted((h.path, h.line_no) for h in hits) == [("other/en.md", 2), ("程序/不合格品.md", 3)]
    assert store.grep("CUSTOMER complaint", ignore_case=False) == []
    assert [h.path for h in store.grep("complaint", paths=["other"])] == ["other/en.md"]
    assert [h.line_no for h in store.grep(r"^第.章", fixed=False)] == [2]
    assert store.grep("not present anywhere") == []
    with pytest.raises(InvalidArgument):
        store.grep("(unclosed", fixed=False)
    with pytest.raises(InvalidPath):
        store.grep("x", paths=["../etc"])
    # A pattern that looks like an option is just a pattern.
    assert store.grep("--output=x") == []


# ---------------------------------------------------------------------------
# CAS / conflicts
# ---------------------------------------------------------------------------


def test_stale_base_raises_conflict_and_never_overwrites(store):
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    c2 = store.commit({"a.md": "2"}, summary="2", author=ALICE, base=c1)
    with pytest.raises(Conflict) as ei:
        store.commit({"a.md": "stale"}, summary="3", author=ALICE, base=c1)
    assert ei.value.current == c2 and ei.value.expected == c1
    with pytest.raises(Conflict) as ei:
        store.commit({"b.md": "new"}, summary="4", author=ALICE, base=None)
    assert ei.value.current == c2 and ei.value.expected is None
    assert store.head() == c2 and store.read("a.md").text == "2"


def test_base_on_missing_branch_conflicts(store):
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    with pytest.raises(Conflict) as ei:
        store.commit({"a.md": "x"}, summary="s", author=ALICE, base=c1, branch="reviews/none")
    assert ei.value.current is None and ei.value.expected == c1


def test_nothing_to_commit(store):
    with pytest.raises(NothingToCommit):
        store.commit({}, summary="empty", author=ALICE, base=None)
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    with pytest.raises(NothingToCommit):
        store.commit({"a.md": "1"}, summary="same", author=ALICE, base=c1)
    with pytest.raises(NothingToCommit):
        store.commit({"missing.md": None}, summary="delete missing", author=ALICE, base=c1)
    assert store.head() == c1
    assert len(store.history()) == 1


def test_bad_commit_arguments(store):
    for kwargs in (
        {"summary": ""},
        {"summary": "two\nlines"},
        {"summary": "ok", "trailers": [("Bad Key", "v")]},
        {"summary": "ok", "trailers": [("Key", "multi\nline")]},
        {"summary": "ok", "author": Signature("Evil <x>", "e@x")},
        {"summary": "ok", "author": Signature("", "e@x")},
    ):
        args = {"author": ALICE, "base": None, **kwargs}
        with pytest.raises(InvalidArgument):
            store.commit({"a.md": "1"}, **args)
    with pytest.raises(InvalidPath):
        store.commit({"a.md": "1"}, summary="s", author=ALICE, base="main")  # base must be a sha
    with pytest.raises(InvalidArgument):
        store.commit({"a.md": 123}, summary="s", author=ALICE, base=None)
    assert store.head() is None


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

BAD_PATHS = [
    "../x",
    "/etc/passwd",
    "-rf",
    "a/../b",
    ".git/config",
    "a/.git/config",
    "a/.GIT/x",
    "",
    "a//b",
    "a/",
    "./a",
    "a\\b",
    "a\0b",
    "a\nb",
]
BAD_REVS = [
    "--output=x",
    "main..x",
    "HEAD@{1}",
    "-x",
    "main^",
    "main~1",
    "a:b",
    "x.lock",
    "a b",
    "",
    "main/",
    ".hidden",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_invalid_paths_rejected(store, path):
    with pytest.raises(InvalidPath):
        validate_path(path)
    with pytest.raises(InvalidPath):
        store.read(path)
    with pytest.raises(InvalidPath):
        store.commit({path: "x"}, summary="s", author=ALICE, base=None)
    assert store.head() is None


@pytest.mark.parametrize("rev", BAD_REVS)
def test_invalid_revs_rejected(store, rev):
    with pytest.raises(InvalidPath):
        validate_rev(rev)
    with pytest.raises(InvalidPath):
        store.resolve(rev)
    with pytest.raises(InvalidPath):
        store.read("a.md", rev=rev)
    with pytest.raises(InvalidPath):
        store.history(rev=rev)
    with pytest.raises(InvalidPath):
        store.head(rev)
    with pytest.raises(InvalidPath):
        store.create_branch(rev)


def test_valid_paths_and_revs_accepted():
    for p in ("a.md", "procedures/QP-CS-001.md", "程序/文件.md", "a/-b", "a.b/c..d", ".gitignore"):
        assert validate_path(p) == p
    for r in ("main", "reviews/42", "HEAD", "deadbeef", "0" * 40, "refs/tags/v1.0", "release-2026.1"):
        assert validate_rev(r) == r


def test_not_found(store):
    with pytest.raises(NotFound):
        store.read("a.md")  # no main yet
    c1 = store.commit({"a.md": "1", "dir/b.md": "2"}, summary="1", author=ALICE, base=None)
    with pytest.raises(NotFound):
        store.read("missing.md")
    with pytest.raises(NotFound):
        store.read("dir")  # a directory is not a file
    with pytest.raises(NotFound):
        store.read("a.md/x")
    with pytest.raises(NotFound):
        store.read("a.md", rev="nope")
    with pytest.raises(NotFound):
        store.resolve("ab" * 20)
    with pytest.raises(NotFound):
        store.resolve(store.blob_sha("a.md"))  # exists, but is not a commit
    with pytest.raises(NotFound):
        store.history(rev="reviews/none")
    with pytest.raises(NotFound):
        store.list_files(rev="nope")
    assert store.resolve(c1[:8]) == c1
    assert store.resolve("HEAD") == c1
    assert isinstance(NotFound("x"), LookupError)


# ---------------------------------------------------------------------------
# branches and merges
# ---------------------------------------------------------------------------


def test_branch_create_delete_list(store):
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    assert store.branches() == ["main"]
    assert store.create_branch("reviews/1") == c1
    assert store.create_branch("reviews/2", start=c1) == c1
    assert store.head("reviews/1") == c1
    assert store.branches() == ["main", "reviews/1", "reviews/2"]
    assert store.branches("reviews/") == ["reviews/1", "reviews/2"]
    with pytest.raises(Conflict) as ei:
        store.create_branch("reviews/1")
    assert ei.value.current == c1
    with pytest.raises(NotFound):
        store.create_branch("reviews/3", start="nope")

    r = store.commit({"a.md": "draft"}, summary="draft", author=ALICE, base=c1, branch="reviews/1")
    assert store.read("a.md", rev="reviews/1").text == "draft"
    assert store.read("a.md").text == "1"
    with pytest.raises(Conflict):
        store.delete_branch("reviews/1", expected=c1)
    store.delete_branch("reviews/1", expected=r)
    store.delete_branch("reviews/2")
    assert store.branches() == ["main"] and store.head("reviews/1") is None
    with pytest.raises(NotFound):
        store.delete_branch("reviews/1")
    with pytest.raises(InvalidArgument):
        store.delete_branch("main")


def test_branch_directory_clash(store):
    store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    store.create_branch("reviews/1")
    assert store.head("reviews") is None
    with pytest.raises(InvalidPath):
        store.create_branch("reviews")


@pytest.fixture(params=["merge-tree", "merge-file"])
def merge_store(request, store):
    # Exercise both the `git merge-tree --write-tree` path and the fallback.
    store.use_merge_tree = request.param == "merge-tree"
    return store


def test_merge_clean(merge_store):
    s = merge_store
    c1 = s.commit(
        {"a.md": "l1\nl2\nl3\n", "b.md": "b\n", "gone.md": "x"}, summary="1", author=ALICE, base=None
    )
    s.create_branch("reviews/7")
    r1 = s.commit(
        {"a.md": "l1\nREVIEW\nl3\n", "new/c.md": "c\n", "gone.md": None},
        summary="draft",
        author=LI,
        base=c1,
        branch="reviews/7",
    )
    m1 = s.commit({"b.md": "b main\n"}, summary="main moved", author=ALICE, base=c1)
    merge = s.merge(
        "reviews/7",
        author=LI,
        summary="Publish QP A/2",
        trailers=[("Version", "A/2"), ("Approved-by", "Li Hua <li@x>")],
    )
    assert s.head() == merge
    info = s.history(limit=1)[0]
    assert info.parents == (m1, r1)
    assert info.trailer("Version") == "A/2" and info.author == LI
    assert s.read("a.md").text == "l1\nREVIEW\nl3\n"
    assert s.read("b.md").text == "b main\n"
    assert s.read("new/c.md").text == "c\n"
    with pytest.raises(NotFound):
        s.read("gone.md")
    # first_parent history shows the publish (merge) commit, not the draft.
    assert [h.sha for h in s.history("a.md", first_parent=True)] == [merge, c1]
    with pytest.raises(NothingToCommit):
        s.merge("reviews/7", author=LI, summary="again")
    run_git("--git-dir", s.git_dir, "fsck", "--strict")


def test_merge_when_target_did_not_move_still_creates_merge_commit(merge_store):
    s = merge_store
    c1 = s.commit({"a.md": "1\n"}, summary="1", author=ALICE, base=None)
    s.create_branch("reviews/1")
    r1 = s.commit({"a.md": "2\n"}, summary="draft", author=ALICE, base=c1, branch="reviews/1")
    merge = s.merge("reviews/1", author=ALICE, summary="publish", base=c1)
    assert merge not in (c1, r1)
    assert s.history(limit=1)[0].parents == (c1, r1)
    assert s.read("a.md").text == "2\n"


def test_merge_conflict(merge_store):
    s = merge_store
    c1 = s.commit({"a.md": "l1\nl2\nl3\n", "ok.md": "x"}, summary="1", author=ALICE, base=None)
    s.create_branch("reviews/1")
    s.commit(
        {"a.md": "l1\nREVIEW\nl3\n", "ok.md": "y"}, summary="d", author=ALICE, base=c1, branch="reviews/1"
    )
    m1 = s.commit({"a.md": "l1\nMAIN\nl3\n"}, summary="m", author=ALICE, base=c1)
    with pytest.raises(MergeConflict) as ei:
        s.merge("reviews/1", author=ALICE, summary="publish")
    assert ei.value.paths == ("a.md",)
    assert isinstance(ei.value, Conflict)
    assert s.head() == m1 and s.read("a.md").text == "l1\nMAIN\nl3\n"


def test_merge_stale_base_and_missing_branches(store):
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    store.create_branch("reviews/1")
    store.commit({"b.md": "2"}, summary="d", author=ALICE, base=c1, branch="reviews/1")
    c2 = store.commit({"a.md": "2"}, summary="m", author=ALICE, base=c1)
    with pytest.raises(Conflict) as ei:
        store.merge("reviews/1", author=ALICE, summary="publish", base=c1)
    assert ei.value.current == c2 and not isinstance(ei.value, MergeConflict)
    with pytest.raises(NotFound):
        store.merge("reviews/none", author=ALICE, summary="publish")
    with pytest.raises(NotFound):
        store.merge("reviews/1", into="nope", author=ALICE, summary="publish")
    assert store.head() == c2


# ---------------------------------------------------------------------------
# git interoperability
# ---------------------------------------------------------------------------


@pytest.fixture
def clone(store, tmp_path):
    """A plain git clone of a store holding one commit the store has already read (caches warm)."""
    c1 = store.commit({"procedures/a.md": "v1\n"}, summary="1", author=ALICE, base=None)
    assert store.read("procedures/a.md").text == "v1\n"  # warm the caches
    assert store.history("procedures/a.md")[0].sha == c1
    work = str(tmp_path / "clone")
    run_git("clone", "-q", store.git_dir, work)
    return work, c1


def _push_an_edit(work: str) -> str:
    """Change a file and add one in the clone, commit with a trailer, push; returns the pushed sha."""
    with open(os.path.join(work, "procedures", "a.md"), "w") as fh:
        fh.write("v2 from git\n")
    os.makedirs(os.path.join(work, "new"))
    with open(os.path.join(work, "new", "b.md"), "w") as fh:
        fh.write("pushed\n")
    run_git("add", "-A", cwd=work)
    run_git("commit", "-q", "-m", "external edit\n\nVersion: B/1", cwd=work)
    run_git("push", "-q", "origin", "main", cwd=work)
    return run_git("rev-parse", "HEAD", cwd=work)


def test_external_clone_commit_push_shows_up(store, clone):
    work, c1 = clone
    pushed = _push_an_edit(work)
    assert store.head() == pushed
    assert store.read("procedures/a.md").text == "v2 from git\n"
    assert store.read("new/b.md").text == "pushed\n"
    hist = store.history("procedures/a.md")
    assert [h.sha for h in hist] == [pushed, c1]
    assert hist[0].author == Signature("Ext User", "ext@example.com")
    assert hist[0].trailer("Version") == "B/1"
    run_git("--git-dir", store.git_dir, "fsck", "--strict")


def test_our_commit_on_a_pushed_one_reaches_the_clone_on_pull(store, clone):
    work, _c1 = clone
    pushed = _push_an_edit(work)
    c3 = store.commit({"new/b.md": "edited in app\n"}, summary="3", author=ALICE, base=pushed)
    run_git("pull", "-q", "--ff-only", cwd=work)
    assert run_git("rev-parse", "HEAD", cwd=work) == c3


def test_annotated_tags_are_peeled_to_their_commit(store):
    c1 = store.commit({"new/b.md": "edited in app\n"}, summary="1", author=ALICE, base=None)
    run_git("--git-dir", store.git_dir, "tag", "-a", "v1", "-m", "release", c1)
    assert store.resolve("v1") == store.resolve("refs/tags/v1") == c1
    assert store.read("new/b.md", rev="v1").text == "edited in app\n"


def test_packed_refs_are_read_by_the_fast_path_too(store):
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    assert store.head() == c1  # the loose ref file, read once before git packs it
    run_git("--git-dir", store.git_dir, "pack-refs", "--all", "--prune")
    assert not os.path.exists(os.path.join(store.git_dir, "refs", "heads", "main"))
    assert store.head() == c1
    c2 = store.commit({"x.md": "x"}, summary="2", author=ALICE, base=c1)
    assert store.head() == c2


def test_git_gc_keeps_everything_readable(store):
    c1 = store.commit({"a.md": "1"}, summary="1", author=ALICE, base=None)
    run_git("--git-dir", store.git_dir, "tag", "-a", "v1", "-m", "release", c1)
    c2 = store.commit({"x.md": "x"}, summary="2", author=ALICE, base=c1)
    assert store.read("x.md").text == "x"  # read before gc moves the objects into a pack
    run_git("--git-dir", store.git_dir, "gc", "-q")
    assert store.read("x.md").text == "x" and store.head() == c2
    assert store.read("a.md", rev="v1").text == "1"
    run_git("--git-dir", store.git_dir, "fsck", "--strict")


def test_maintenance_keeps_everything_readable(store):
    base = None
    for i in range(5):
        base = store.commit({"a.md": f"{i}\n"}, summary=str(i), author=ALICE, base=base)
    report = store.maintenance()
    assert report.ok and report.packed and report.fsck.ok and not report.removed
    stats = run_git("--git-dir", store.git_dir, "count-objects", "-v")
    assert "in-pack: 0" not in stats and "\ncount: 0" in "\n" + stats
    forget_all()  # what a worker started now knows: nothing, so it reads from the new pack
    assert store.read("a.md").text == "4\n"
    assert len(store.history("a.md")) == 5
    base = store.commit({"a.md": "after\n"}, summary="after", author=ALICE, base=base)
    assert store.read("a.md").text == "after\n"


def test_auto_gc_does_not_disturb_writes(repo_path):
    s = GitStore.open_or_init(repo_path, auto_gc_every=1)
    base = None
    for i in range(4):
        base = s.commit({f"f{i}.md": str(i)}, summary=str(i), author=ALICE, base=base)
    assert len(s.list_files()) == 4 and s.head() == base
    s.close()


def test_maintenance_removes_stale_locks_and_never_packs_a_damaged_store(store):
    c1 = store.commit({"a.md": "alpha\n"}, summary="1", author=ALICE, base=None)
    lock = os.path.join(store.git_dir, "packed-refs.lock")
    open(lock, "w").close()
    os.utime(lock, (0, 0))  # left by a git process killed long ago
    with pytest.raises(InvalidArgument):
        store.maintenance(stale_locks_after=5)
    report = store.maintenance(pack=False)
    assert [found.name for found in report.removed] == ["packed-refs.lock"] and not os.path.exists(lock)
    assert report.ok and not report.packed
    blob = store.blob_sha("a.md", c1)
    os.unlink(os.path.join(store.git_dir, "objects", blob[:2], blob[2:]))
    report = store.maintenance()
    assert not report.ok and not report.fsck.ok and not report.packed and blob in report.fsck.output


# ---------------------------------------------------------------------------
# bulk reads (a catalogue sync)
# ---------------------------------------------------------------------------


def test_changes_since_lists_each_first_parent_commit_with_new_blobs(store):
    c1 = store.commit({"a.md": "1", "d/b.md": "b"}, summary="1", author=ALICE, base=None)
    c2 = store.commit({"a.md": "2", "d/b.md": None, "c.md": "c"}, summary="2", author=ALICE, base=c1)
    store.create_branch("reviews/1", c2)
    r1 = store.commit({"e.md": "e"}, summary="draft", author=ALICE, base=c2, branch="reviews/1")
    store.commit({"e.md": "e2"}, summary="draft 2", author=ALICE, base=r1, branch="reviews/1")
    m = store.merge("reviews/1", author=ALICE, summary="publish")
    changes = store.changes_since(None)
    assert list(changes) == [m, c2, c1]  # newest first; the drafts are not first-parent commits
    assert changes[c1] == [("A", "a.md", store.blob_sha("a.md", c1)), ("A", "d/b.md", store.blob_sha("d/b.md", c1))]
    assert sorted(changes[c2]) == [("A", "c.md", store.blob_sha("c.md", c2)), ("D", "d/b.md", None),
                                   ("M", "a.md", store.blob_sha("a.md", c2))]
    assert changes[m] == [("A", "e.md", store.blob_sha("e.md", m))]  # the merge against its first parent
    assert changes[m][0].status == "A" and changes[m][0].path == "e.md"
    assert list(store.changes_since(c2)) == [m] and store.changes_since(m) == {}
    for status, path, _blob in changes[c2]:  # the same as the cached tree comparison
        assert (status, path) in store.diff_paths(c1, c2)
    with pytest.raises(InvalidPath):
        store.changes_since("main")  # a sha, not a revision


def test_read_blobs_reads_many_at_once_and_leaves_out_what_it_cannot(store):
    c1 = store.commit({f"f{i}.md": f"content {i}\n" for i in range(20)}, summary="1", author=ALICE, base=None)
    blobs = {path: blob for path, blob in store.list_files(c1)}
    store.read("f0.md")  # one from the cache, the rest from git
    found = store.read_blobs([*blobs.values(), "ab" * 20, c1, "not-a-sha", blobs["f1.md"]])
    assert found == {blob: f"content {path[1:-3]}\n".encode() for path, blob in blobs.items()}
    assert store.read_blobs([]) == {}
    # Bit rot is left out, not served: read() then says what is wrong.
    path = os.path.join(store.git_dir, "objects", blobs["f5.md"][:2], blobs["f5.md"][2:])
    os.chmod(path, 0o644)
    with open(path, "wb") as fh:
        fh.write(zlib.compress(b"blob 5\0wrong"))
    assert blobs["f5.md"] not in store.read_blobs([blobs["f5.md"], blobs["f6.md"]])


# ---------------------------------------------------------------------------
# concurrency
# ---------------------------------------------------------------------------


def _publish_with_retry(store, tag):
    """Append one line to log.txt on top of the current head; retry only on Conflict."""
    attempts = 0
    while True:
        attempts += 1
        base = store.head()
        current = store.read("log.txt", rev=base).text if base else ""
        try:
            sha = store.commit(
                {"log.txt": current + tag + "\n", f"entries/{tag}.md": tag},
                summary=f"publish {tag}",
                trailers=[("Tag", tag)],
                author=ALICE,
                base=base,
            )
            return sha, attempts
        except Conflict:
            continue


def _process_worker(path, worker, count, barrier, queue):
    try:
        store = GitStore(path)
        barrier.wait()
        queue.put(("ok", [_publish_with_retry(store, f"p{worker}-{j}") for j in range(count)]))
    except Exception as exc:
        queue.put(("error", repr(exc)))


def _assert_linear_and_complete(store, results, expected_tags):
    shas = [sha for sha, _ in results]
    assert len(set(shas)) == len(shas) == len(expected_tags)
    hist = store.history()
    assert len(hist) == len(expected_tags)
    assert all(len(h.parents) == 1 for h in hist[:-1]) and hist[-1].parents == ()
    for newer, older in zip(hist, hist[1:], strict=False):
        assert newer.parents == (older.sha,)  # a single linear chain
    assert sorted(h.sha for h in hist) == sorted(shas)  # each success exactly once
    assert sorted(h.trailer("Tag") for h in hist) == sorted(expected_tags)
    # No lost update: every append survived.
    assert sorted(store.read("log.txt").text.splitlines()) == sorted(expected_tags)
    assert len(store.list_files(prefix="entries/")) == len(expected_tags)
    run_git("--git-dir", store.git_dir, "fsck", "--strict")


def test_concurrent_publishes_from_processes(store):
    workers, per_worker = 4, 5
    # The parent used the store before forking: children must not reuse its
    # GitPython handles (cat-file pipes).
    assert store.head() is None and store.branches() == []
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_process_worker, args=(store.git_dir, w, per_worker, barrier, queue))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    outcomes = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [o for o in outcomes if o[0] != "ok"]
    assert not errors, errors
    results = [r for _, rs in outcomes for r in rs]
    total_attempts = sum(a for _, a in results)
    assert total_attempts >= workers * per_worker
    print(f"{workers * per_worker} publishes took {total_attempts} attempts")
    tags = [f"p{w}-{j}" for w in range(workers) for j in range(per_worker)]
    _assert_linear_and_complete(store, results, tags)
    # The parent's own handles still work after the children exited.
    assert store.read("log.txt").text.count("\n") == workers * per_worker


def test_threads_sharing_one_store(store):
    workers, per_worker = 6, 5
    results, errors = [], []
    barrier = threading.Barrier(workers)

    def run(w):
        try:
            barrier.wait()
            for j in range(per_worker):
                results.append(_publish_with_retry(store, f"t{w}-{j}"))
                # Readers interleaved with writers on the same instance.
                assert store.read(f"entries/t{w}-{j}.md").text == f"t{w}-{j}"
                store.history("log.txt", limit=3)
                store.list_files()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    tags = [f"t{w}-{j}" for w in range(workers) for j in range(per_worker)]
    _assert_linear_and_complete(store, results, tags)


def test_commits_while_git_gc_runs(store):
    """Objects written by the store survive a concurrent `git gc` / prune-packed."""
    stop = threading.Event()
    gc_errors = []

    def gc_loop():
        while not stop.is_set():
            try:
                run_git("--git-dir", store.git_dir, "gc", "-q")
            except subprocess.CalledProcessError as exc:  # e.g. gc lock held
                gc_errors.append(exc)

    t = threading.Thread(target=gc_loop)
    t.start()
    try:
        base = None
        for i in range(40):
            base = store.commit(
                {f"d{i % 7}/f{i}.md": f"{i}\n", "shared/log.md": f"{i}\n"},
                summary=str(i),
                author=ALICE,
                base=base,
            )
            assert store.read(f"d{i % 7}/f{i}.md").text == f"{i}\n"
    finally:
        stop.set()
        t.join(timeout=60)
    assert len(store.history()) == 40 and len(store.list_files()) == 41
    run_git("--git-dir", store.git_dir, "fsck", "--strict")


# --------------------------------------------------------------------------
# change stamps
# --------------------------------------------------------------------------

def test_change_stamps_are_shared_by_every_instance(repo_path, store):
    other = GitStore(repo_path)
    assert store.stamp("accounts") == other.stamp("accounts") == ""
    first = store.bump_stamp("accounts")
    assert first and other.stamp("accounts") == first
    second = other.bump_stamp("accounts")
    assert second != first and store.stamp("accounts") == second
    assert store.stamp("other") == ""  # stamps are independent
    # No temporary files are left behind.
    assert not [n for n in os.listdir(os.path.join(store.git_dir, "procdesk-stamps")) if n.startswith(".")]


@pytest.mark.parametrize("name", ["", "../x", "a/b", "-x", "A", "x" * 41, None])
def test_bad_stamp_names_are_refused(store, name):
    with pytest.raises(InvalidPath):
        store.stamp(name)
    with pytest.raises(InvalidPath):
        store.bump_stamp(name)
