"""repo_store for a review's release: a commit with extra parents, merge bases, one file's three-way merge."""

from __future__ import annotations

import subprocess

import pytest

from repo_store import GitStore, InvalidArgument, InvalidPath, NotFound, Signature

ALICE = Signature("Alice Zhang", "alice@example.com")
TEXT = "".join(f"line {n}\n" for n in range(1, 11))


@pytest.fixture
def store(tmp_path):
    s = GitStore.open_or_init(str(tmp_path / "docs.git"))
    yield s
    s.close()


def _main_and_branch(store):
    """``(root, tip)``: main with a.md and b.md, and ``reviews/1`` changing a.md."""
    root = store.commit({"a.md": TEXT, "b.md": "b\n"}, summary="root", author=ALICE, base=None)
    start = store.create_branch("reviews/1")
    tip = store.commit({"a.md": TEXT + "draft\n"}, summary="draft", author=ALICE, base=start, branch="reviews/1")
    return root, tip


def test_a_commit_with_an_extra_parent_is_a_merge_with_the_given_tree(store):
    root, tip = _main_and_branch(store)
    main = store.commit({"b.md": "b2\n"}, summary="main moves", author=ALICE, base=root)
    sha = store.commit({"a.md": "merged\n", "record.md": "r\n"}, summary="release", author=ALICE, base=main,
                       parents=[tip], trailers=[("Review", "1")])
    assert store.head() == sha
    [info] = store.history(rev=sha, limit=1)
    assert info.parents == (main, tip) and info.trailer("Review") == "1"
    # The tree is main's with the changes: the branch's own content of a.md is not merged in.
    assert store.read("a.md", sha).text == "merged\n" and store.read("b.md", sha).text == "b2\n"
    assert sorted(p for _s, p in store.diff_paths(main, sha)) == ["a.md", "record.md"]
    # The draft commit is reachable from main now; the first-parent chain still skips it.
    assert tip in {c.sha for c in store.history(rev=sha)}
    assert tip not in {c.sha for c in store.history(rev=sha, first_parent=True)}
    out = subprocess.run(["git", "--git-dir", store.git_dir, "log", "--merges", "--format=%H", "main"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [sha]


def test_extra_parents_are_checked(store):
    root, tip = _main_and_branch(store)
    with pytest.raises(InvalidPath):
        store.commit({"a.md": "x\n"}, summary="s", author=ALICE, base=root, parents=["not-a-sha"])
    with pytest.raises(NotFound):
        store.commit({"a.md": "x\n"}, summary="s", author=ALICE, base=root, parents=["1" * 40])
    with pytest.raises(InvalidArgument):
        store.commit({"a.md": "x\n"}, summary="s", author=ALICE, base=root, parents=[root])
    with pytest.raises(InvalidArgument):
        store.commit({"c.md": "x\n"}, summary="s", author=ALICE, base=None, branch="other", parents=[tip])
    with pytest.raises(InvalidArgument):
        store.commit({"a.md": "x\n"}, summary="s", author=ALICE, base=root, parents=tip)
    assert store.head() == root


def test_merge_base(store):
    root, tip = _main_and_branch(store)
    main = store.commit({"b.md": "b2\n"}, summary="main moves", author=ALICE, base=root)
    assert store.merge_base(main, tip) == root
    assert store.merge_base("main", "reviews/1") == root
    assert store.merge_base(root, tip) == root
    other = store.commit({"x.md": "x\n"}, summary="unrelated", author=ALICE, base=None, branch="orphan")
    assert store.merge_base(other, main) is None


def test_merge_text_merges_separate_changes_and_reports_conflicts(store):
    base = TEXT.encode()
    ours = base.replace(b"line 2\n", b"line two\n")
    theirs = base.replace(b"line 9\n", b"line nine\n")
    merged = store.merge_text(base, ours, theirs)
    assert merged == base.replace(b"line 2\n", b"line two\n").replace(b"line 9\n", b"line nine\n")
    assert store.merge_text(base, ours, ours) == ours  # the same change on both sides
    assert store.merge_text(base, ours, base.replace(b"line 2\n", b"line deux\n")) is None
    assert store.merge_text(None, b"new\n", b"new\n") == b"new\n"
    with pytest.raises(InvalidArgument):
        store.merge_text("text", ours, theirs)  # type: ignore[arg-type]
