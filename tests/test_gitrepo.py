"""The git adapter: a commit's tree and the index, read from git objects only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from volsync_kit.adapters import gitrepo
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.adapters.gitrepo import GitError, GitTreeRepo, IndexRepo, resolve_rev
from volsync_kit.core.flux import RepoModel, walk
from volsync_kit.core.model import ModelError, to_plain
from volsync_kit.core.ports import RepoReader

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "home-ops"
PV = "kubernetes/flux/components/volsync/repository/pv.yaml"
RADARR_HELMRELEASE = "kubernetes/apps/media/radarr/app/helmrelease.yaml"
ADDED = "kubernetes/apps/media/radarr/app/extra.yaml"
COMPONENTS = "kubernetes/flux/components/volsync"

Git = Callable[..., str]  # git(root, *args) -> stdout


def git_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    global_config = tmp / "gitconfig"
    global_config.touch()
    env.update(
        GIT_AUTHOR_NAME="Test Author",
        GIT_AUTHOR_EMAIL="author@example.com",
        GIT_COMMITTER_NAME="Test Committer",
        GIT_COMMITTER_EMAIL="committer@example.com",
        GIT_CONFIG_GLOBAL=str(global_config),
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


@pytest.fixture
def git(tmp_path: Path) -> Git:
    env = git_env(tmp_path)

    def run(root: Path, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
        return out.stdout

    return run


@pytest.fixture
def example(tmp_path: Path, git: Git) -> Path:
    """The bundled example, committed once on ``main``."""
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "home-ops")
    return root


def summary(model: RepoModel) -> dict[str, Any]:
    """What a run renders: per Kustomization, its status, resources and problems."""
    return {
        "results": {
            r.ks.ref: (r.status, [to_plain(res.node) for res in r.resources], r.problems) for r in model.results
        },
        "problems": model.problems,
        "inactive": model.inactive,
        "entries": model.entries,
    }


def root_paths(model: RepoModel) -> set[str]:
    """Every PersistentVolume's CephFS rootPath in a run."""
    found: set[str] = set()
    for result in model.results:
        for res in result.resources:
            plain = to_plain(res.node)
            if isinstance(plain, dict) and plain.get("kind") == "PersistentVolume":
                spec: Any = plain["spec"]
                found.add(str(spec["csi"]["volumeAttributes"]["rootPath"]))
    return found


def rendered_kinds(model: RepoModel, name: str) -> list[str]:
    (result,) = [r for r in model.results if r.ks.ref.name == name]
    return [res.kind for res in result.resources]


def snapshot(root: Path, git: Git) -> tuple[str, dict[str, tuple[int, int]]]:
    """git status and the mtime and size of every file, .git included."""
    status = git(root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    stats: dict[str, tuple[int, int]] = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            stats[path.relative_to(root).as_posix()] = (st.st_mtime_ns, st.st_size)
    return status, stats


# -- the committed tree renders what the work tree renders ---------------------------


def test_a_commit_renders_exactly_what_its_checkout_renders(example: Path, git: Git) -> None:
    sha = resolve_rev(example, "HEAD")
    assert sha == git(example, "rev-parse", "HEAD").strip()
    assert len(sha) == 40
    files = FileRepo(example)
    expected = summary(walk(files))
    with GitTreeRepo(example, sha) as tree:
        reader: RepoReader = tree
        actual = summary(walk(reader))
        assert list(tree.yaml_files()) == list(files.yaml_files())
        for folder in ("kubernetes", COMPONENTS, "kubernetes/apps/media"):
            assert tree.listdir(folder) == files.listdir(folder)
        dirs, top = files.listdir("")
        assert tree.listdir("") == (tuple(d for d in dirs if d != ".git"), top)
        assert tree.text(PV) == files.text(PV)
    assert actual == expected
    # The comparison is not vacuous: the example renders VolSync volumes.
    assert sum(len(res) for _, res, _ in expected["results"].values()) > 20
    assert "/volsync/radarr" in root_paths(walk(FileRepo(example)))


def test_a_subfolder_root_sees_only_its_part_of_the_tree(example: Path) -> None:
    sub = example / "kubernetes" / "apps"
    with GitTreeRepo(sub, "main") as tree, IndexRepo(sub) as index:
        expected = list(FileRepo(sub).yaml_files())
        assert list(tree.yaml_files()) == expected
        assert list(index.yaml_files()) == expected
        assert tree.kind("media/radarr/ks.yaml") == "file"
        assert tree.kind("../flux") == "missing"


# -- uncommitted changes ------------------------------------------------------------


def test_the_work_tree_and_index_are_read_but_never_touched(example: Path, git: Git) -> None:
    committed = summary(walk(FileRepo(example)))
    pv = example / PV
    pv.write_text(pv.read_text(encoding="utf-8").replace("rootPath: /volsync/", "rootPath: /changed/"), "utf-8")
    (example / RADARR_HELMRELEASE).unlink()
    (example / ADDED).write_text("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n", "utf-8")
    work_tree = walk(FileRepo(example))
    # The three changes are real: the work tree renders them.
    assert "/changed/sonarr" in root_paths(work_tree)
    assert "HelmRelease" not in rendered_kinds(work_tree, "radarr")
    assert ADDED in list(FileRepo(example).yaml_files())

    before = snapshot(example, git)
    with GitTreeRepo(example, "HEAD") as tree, IndexRepo(example) as index:
        assert summary(walk(tree)) == committed
        assert summary(walk(index)) == committed  # nothing staged yet
        assert ADDED not in list(tree.yaml_files())
    assert snapshot(example, git) == before

    git(example, "add", PV)
    staged = snapshot(example, git)
    assert staged != before  # the index changed, so the snapshot can see a change
    with GitTreeRepo(example, "HEAD") as tree, IndexRepo(example) as index:
        assert summary(walk(tree)) == committed
        in_index = walk(index)
        assert "/changed/sonarr" in root_paths(in_index)
        assert "/volsync/sonarr" not in root_paths(in_index)
        assert "HelmRelease" in rendered_kinds(in_index, "radarr")  # the deletion is not staged
        assert index.kind(ADDED) == "missing"  # nor is the new file
        assert index.kind(RADARR_HELMRELEASE) == "file"
    assert snapshot(example, git) == staged
    assert git(example, "stash", "list") == ""


def test_a_moved_component_is_read_at_both_commits(example: Path, git: Git) -> None:
    first = resolve_rev(example, "HEAD")
    before = summary(walk(FileRepo(example)))
    git(example, "mv", f"{COMPONENTS}/repository", f"{COMPONENTS}/repo-volume")
    for ks in example.glob("kubernetes/apps/*/*/ks.yaml"):
        text = ks.read_text(encoding="utf-8")
        ks.write_text(text.replace("components/volsync/repository", "components/volsync/repo-volume"), "utf-8")
    git(example, "commit", "-q", "-a", "-m", "move the repository component")
    second = resolve_rev(example, "HEAD")
    assert second != first

    with GitTreeRepo(example, first) as old, GitTreeRepo(example, second) as new:
        assert summary(walk(old)) == before
        moved = walk(new)
        assert summary(moved) == summary(walk(FileRepo(example)))

        # The same objects, from the component's new folder (the app
        # Kustomizations that cluster-apps renders name the folder).
        def objects(model: dict[str, Any]) -> dict[str, str]:
            return {
                ref.name: json.dumps([status, resources]) for ref, (status, resources, _) in model["results"].items()
            }

        assert {
            name: text.replace("/repo-volume", "/repository") for name, text in objects(summary(moved)).items()
        } == (objects(before))
        assert "/volsync/sonarr" in root_paths(moved)
        assert old.kind(f"{COMPONENTS}/repository") == "dir"
        assert old.kind(f"{COMPONENTS}/repo-volume") == "missing"
        assert new.kind(f"{COMPONENTS}/repository") == "missing"
        assert new.kind(f"{COMPONENTS}/repo-volume") == "dir"
        assert new.listdir(f"{COMPONENTS}/repo-volume") == ((), ("kustomization.yaml", "pv.yaml", "pvc.yaml"))
        assert any("repo-volume/pv.yaml" in f for r in moved.results for f in r.files)


# -- errors -------------------------------------------------------------------------


def test_an_unknown_revision_says_what_to_use(example: Path) -> None:
    message = "unknown revision 'nope': use a branch, tag or commit that exists (git fetch it first)"
    with pytest.raises(GitError) as err:
        resolve_rev(example, "nope")
    assert str(err.value) == message
    with pytest.raises(GitError) as err:
        GitTreeRepo(example, "nope")
    assert str(err.value) == message


def test_a_revision_that_is_not_a_commit_is_refused(example: Path, git: Git) -> None:
    blob = git(example, "rev-parse", f"HEAD:{PV}").strip()
    with pytest.raises(GitError, match=r"names a blob, not a commit"):
        resolve_rev(example, blob)
    with pytest.raises(GitError, match=r"^invalid revision '--all'"):
        resolve_rev(example, "--all")


def test_a_repository_without_commits(tmp_path: Path, git: Git) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q")
    with pytest.raises(GitError) as err:
        resolve_rev(root, "HEAD")
    assert str(err.value) == "the repository has no commits yet: commit first; plan compares with a git base"
    # The index of a repository without commits is readable: it may hold staged files.
    (root / "a.yaml").write_text("a: 1\n", "utf-8")
    git(root, "add", "a.yaml")
    with IndexRepo(root) as index:
        assert list(index.yaml_files()) == ["a.yaml"]
        assert index.text("a.yaml") == "a: 1\n"


def test_history_missing_from_a_shallow_clone(tmp_path: Path, git: Git) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "-q", "-b", "main")
    for n in (1, 2):
        (origin / "a.yaml").write_text(f"n: {n}\n", "utf-8")
        git(origin, "add", "a.yaml")
        git(origin, "commit", "-q", "-m", f"commit {n}")
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{origin}", "clone")
    clone = tmp_path / "clone"
    assert resolve_rev(clone, "HEAD") == resolve_rev(origin, "HEAD")
    with pytest.raises(GitError) as err:
        resolve_rev(clone, "HEAD~1")
    assert (
        str(err.value) == "'HEAD~1' is not available in this shallow clone: fetch more history (git fetch --unshallow)"
    )
    # The full repository does have it: the message is about the clone.
    assert resolve_rev(origin, "HEAD~1") != resolve_rev(origin, "HEAD")


def test_outside_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    with pytest.raises(GitError, match=r"is not inside a git repository: "):
        resolve_rev(folder, "HEAD")
    with pytest.raises(GitError, match=r"is not inside a git repository: "):
        IndexRepo(folder)


# -- symlinks and submodules --------------------------------------------------------


@pytest.fixture
def linked(tmp_path: Path, git: Git) -> Path:
    root = tmp_path / "linked"
    (root / "real" / "dir").mkdir(parents=True)
    (root / "nested").mkdir()
    (root / "real" / "dir" / "a.yaml").write_text("a: 1\n", "utf-8")
    (tmp_path / "outside.yaml").write_text("secret: 1\n", "utf-8")
    (root / "link-dir").symlink_to("real/dir")
    (root / "nested" / "up.yaml").symlink_to("../real/dir/a.yaml")
    (root / "nested" / "chain").symlink_to("../link-dir")
    (root / "escape.yaml").symlink_to("../outside.yaml")
    (root / "escape-dir").symlink_to("..")
    (root / "loop-a.yaml").symlink_to("loop-b.yaml")
    (root / "loop-b.yaml").symlink_to("loop-a.yaml")
    (root / "self").symlink_to("self/x")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "links")
    return root


PATHS = (
    "link-dir",
    "link-dir/a.yaml",
    "nested/up.yaml",
    "nested/chain",
    "nested/chain/a.yaml",
    "escape.yaml",
    "escape-dir",
    "escape-dir/outside.yaml",
    "loop-a.yaml",
    "loop-b.yaml",
    "self",
    "self/x",
    "real/dir/a.yaml",
    "real/dir/nothing",
)


def test_symlinks_resolve_inside_the_tree_as_on_disk(linked: Path) -> None:
    files = FileRepo(linked)
    with GitTreeRepo(linked, "HEAD") as tree, IndexRepo(linked) as index:
        for repo in (tree, index):
            assert repo.kind("link-dir") == "dir"
            assert repo.listdir("link-dir") == ((), ("a.yaml",))
            assert repo.text("link-dir/a.yaml") == "a: 1\n"
            assert repo.text("nested/up.yaml") == "a: 1\n"
            assert repo.kind("nested/chain/a.yaml") == "file"
            for missing in ("escape.yaml", "escape-dir", "loop-a.yaml", "self/x"):
                assert repo.kind(missing) == "missing", missing
            with pytest.raises(ModelError) as err:
                repo.text("escape.yaml")
            assert err.value.code == "file-missing"
            with pytest.raises(ModelError) as err:
                repo.text("loop-a.yaml")
            assert err.value.code == "file-missing"
            assert [(p, repo.kind(p)) for p in PATHS] == [(p, files.kind(p)) for p in PATHS]
            dirs, top = files.listdir("")
            assert repo.listdir("") == (tuple(d for d in dirs if d != ".git"), top)
            assert repo.listdir("nested") == files.listdir("nested")
            assert list(repo.yaml_files()) == list(files.yaml_files())


def test_a_submodule_reads_as_a_missing_folder(tmp_path: Path, git: Git) -> None:
    root = tmp_path / "super"
    (root / "apps").mkdir(parents=True)
    (root / "apps" / "a.yaml").write_text("a: 1\n", "utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "one")
    head = git(root, "rev-parse", "HEAD").strip()
    git(root, "update-index", "--add", "--cacheinfo", f"160000,{head},apps/vendored")
    git(root, "commit", "-q", "-m", "submodule")
    assert "160000 commit" in git(root, "ls-tree", "HEAD", "apps/")
    with GitTreeRepo(root, "HEAD") as tree, IndexRepo(root) as index:
        for repo in (tree, index):
            assert repo.kind("apps/vendored") == "missing"
            assert repo.kind("apps/vendored/a.yaml") == "missing"
            assert repo.listdir("apps") == ((), ("a.yaml",))
            assert list(repo.yaml_files()) == ["apps/a.yaml"]


# -- contents -----------------------------------------------------------------------


@pytest.mark.parametrize("drain", [True, False], ids=["read-through", "reader-restarted"])
def test_bad_files_raise_model_errors_and_the_reader_stays_in_step(
    tmp_path: Path,
    git: Git,
    monkeypatch: pytest.MonkeyPatch,
    drain: bool,
) -> None:
    root = tmp_path / "bad"
    root.mkdir()
    (root / "big.yaml").write_text("a: " + "x" * 500 + "\n", "utf-8")
    (root / "latin1.yaml").write_bytes(b"a: 1\nb: caf\xe9\n")
    (root / "ok.yaml").write_text("ok: 1\n", "utf-8")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bad")
    monkeypatch.setattr(gitrepo, "MAX_FILE_BYTES", 100)
    # A blob over the limit is read through and dropped, or, past _DRAIN_BYTES,
    # ends the cat-file process, and the next read starts another.
    monkeypatch.setattr(gitrepo, "_DRAIN_BYTES", 1 << 20 if drain else 200)
    with GitTreeRepo(root, "HEAD") as tree, IndexRepo(root) as index:
        for repo in (tree, index):  # each learns the size from cat-file, and reads on past the blob
            with pytest.raises(ModelError) as err:
                repo.text("big.yaml")
            assert (err.value.code, err.value.message) == (
                "file-too-large",
                "file is 504 bytes, over the 100-byte limit",
            )
            assert (repo._cat._process is None) is not drain  # ended, to be started again
            with pytest.raises(ModelError) as err:
                repo.text("latin1.yaml")
            assert err.value.code == "encoding"
            assert err.value.loc is not None
            assert (err.value.loc.line, err.value.loc.col) == (2, 7)
            assert repo.text("ok.yaml") == "ok: 1\n"
            assert repo.documents("ok.yaml") is repo.documents("ok.yaml")  # parsed once


def test_a_merge_conflict_in_the_index_is_reported(tmp_path: Path, git: Git) -> None:
    root = tmp_path / "conflict"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "a.yaml").write_text("a: 0\n", "utf-8")
    git(root, "add", "a.yaml")
    git(root, "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "other")
    (root / "a.yaml").write_text("a: 1\n", "utf-8")
    git(root, "commit", "-q", "-a", "-m", "other")
    git(root, "checkout", "-q", "main")
    (root / "a.yaml").write_text("a: 2\n", "utf-8")
    git(root, "commit", "-q", "-a", "-m", "main")
    merge = subprocess.run(["git", "merge", "-q", "other"], cwd=root, env=git_env(tmp_path), capture_output=True)
    assert merge.returncode != 0
    with IndexRepo(root) as index:
        assert index.kind("a.yaml") == "file"
        with pytest.raises(ModelError) as err:
            index.text("a.yaml")
        assert err.value.code == "file-unreadable"
        assert "merge conflicts" in err.value.message


# -- processes ----------------------------------------------------------------------


def test_reading_every_file_spawns_a_bounded_number_of_processes(
    example: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[subprocess.Popen[bytes]] = []
    original = subprocess.Popen

    class Counting(original):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            super().__init__(args, *rest, **kwargs)
            started.append(self)

    monkeypatch.setattr(subprocess, "Popen", Counting)
    for make in (lambda: GitTreeRepo(example, "HEAD"), lambda: IndexRepo(example)):
        started.clear()
        with make() as repo:
            paths = list(repo.yaml_files())
            for path in paths:
                repo.documents(path)
            walk(repo)
            assert len(paths) > 50
            assert all(repo.text(p) for p in paths)
        assert 1 <= len(started) <= 5, [p.args for p in started]
        assert all(isinstance(p.args, list) and p.args[0] == "git" for p in started)
        assert all(p.returncode is not None for p in started), "close() leaves no git process running"
        with pytest.raises(GitError, match=r"closed"):
            repo.text("README.md")
        assert repo.text(PV)  # what was read stays readable


def test_a_tree_without_links_resolves_paths_as_the_link_walk_does(example: Path) -> None:
    """Without a symbolic link in the tree, a path is resolved by normalising
    it (the fast path plan's base takes for every question): the same answer
    as walking it a component at a time, for every mix of ".", ".." and ""."""
    import itertools

    segments = ["kubernetes", "apps", ".", "..", "", "ks.yaml", "...", "..x"]
    with GitTreeRepo(example, "HEAD") as tree:
        assert not tree._links
        paths = ["/".join(parts) for n in range(6) for parts in itertools.product(segments, repeat=n)]
        fast = [tree._resolve(path) for path in paths]
        tree._links = True  # the walk that follows links, which the fast path stands in for
        assert fast == [tree._resolve(path) for path in paths]
    assert None in fast
    assert "" in fast
