"""The on-disk cache (issue 6): a warm run gives what a run without the cache
gives, an edit is never served stale, and a cache that is corrupt, of another
version, read-only or written by several runs at once is never an error.

Commands run as real processes (``python -m volsync_kit``) on real repositories:
the example, and a 30-app repository from the benchmark generator.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_repo import committed_example

from volsync_kit.adapters.cache import DiskCache
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.app import walk
from volsync_kit.core import render

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
COMPONENT_PV = "kubernetes/flux/components/volsync/repository/pv.yaml"


def run(args: list[str], cache_dir: Path | None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if cache_dir is not None:
        env["VOLSYNC_KIT_CACHE_DIR"] = str(cache_dir)
    return subprocess.run(
        [sys.executable, "-m", "volsync_kit", *args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )


def outputs(repo: Path, cache_dir: Path | None) -> dict[str, tuple[int, str, str]]:
    """What lint, render and plan say about ``repo`` (a git repository)."""
    extra = [] if cache_dir is not None else ["--no-cache"]
    commands = {
        "lint": ["lint", "--repo", str(repo), "--format", "json", *extra],
        "render": ["render", "--repo", str(repo), "--format", "json", *extra],
        "plan": ["plan", "--repo", str(repo), "--format", "json", *extra],
    }
    results = {}
    for name, args in commands.items():
        done = run(args, cache_dir)
        assert "Traceback" not in done.stderr, done.stderr
        results[name] = (done.returncode, done.stdout, done.stderr)
    return results


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return committed_example(tmp_path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("gen") / "repo"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "make_repo.py"), "30", str(repo), "--defects", "--plan-change"],
        check=True,
        capture_output=True,
    )
    return repo


def entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("which", ["example", "generated"])
def test_cold_and_warm_runs_equal_a_run_without_cache(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    repo: Path = request.getfixturevalue(which)
    cache_dir = tmp_path / "cache"
    expected = outputs(repo, None)
    assert expected["lint"][0] in (0, 1)
    assert expected["render"][1]
    assert not cache_dir.exists()  # --no-cache writes nothing
    assert outputs(repo, cache_dir) == expected  # cold: writes the cache
    written = entries(cache_dir)
    assert written
    assert outputs(repo, cache_dir) == expected  # warm: reads it
    assert entries(cache_dir) == written


def test_an_edited_file_is_never_served_stale(example: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    outputs(example, cache_dir)
    pv = example / COMPONENT_PV
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /volsync/moved/${APP}"))
    warm = outputs(example, cache_dir)
    assert warm == outputs(example, None)
    assert "/volsync/moved/" in warm["render"][1]
    assert '"replace"' in warm["plan"][1]


def test_a_new_file_in_a_folder_without_kustomization_is_seen(tmp_path: Path) -> None:
    """Flux generates the kustomization of a folder that has none from its
    listing, so a file added next to the others changes the build."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    app = repo / "kubernetes/apps/default/echo/app"
    app.mkdir(parents=True)
    (repo / "kubernetes/apps/default/echo/ks.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: echo\n"
        "  namespace: flux-system\nspec:\n  path: ./kubernetes/apps/default/echo/app\n  targetNamespace: default\n"
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  interval: 1h\n  prune: true\n"
    )
    kustomization = repo / "kubernetes/apps/default/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n  - ./echo/ks.yaml\n", 1))
    (app / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n")
    cache = DiskCache(tmp_path / "cache", repo)
    first = walk(FileRepo(repo), None, cache)
    (app / "pvc.yaml").write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: echo-data\nspec:\n"
        "  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
    )
    second = walk(FileRepo(repo), None, DiskCache(tmp_path / "cache", repo))
    names = [
        {res.name for result in model.results if result.ks.ref.name == "echo" for res in result.resources}
        for model in (first, second)
    ]
    assert names == [{"one"}, {"one", "echo-data"}]


def test_a_warm_run_reparses_and_rebuilds_only_what_an_edit_touched(generated: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    cold = DiskCache(tmp_path / "cache", repo)
    model = walk(FileRepo(repo), None, cold)
    assert cold.reads == 0
    assert cold.writes > 60
    helmrelease = next(repo.glob("kubernetes/apps/*/*/app/helmrelease.yaml"))
    helmrelease.write_text(helmrelease.read_text().replace("interval: 1h", "interval: 2h", 1))
    warm = DiskCache(tmp_path / "cache", repo)
    again = walk(FileRepo(repo), None, warm)
    # The file's parse, and the build of the one app that reads it.
    assert warm.writes == 2
    assert warm.reads > 60
    unchanged = walk(FileRepo(repo), None, None)
    assert render.render(again) == render.render(unchanged)
    assert [r.ks.ref for r in again.results] == [r.ks.ref for r in model.results]


def test_another_version_of_the_tool_never_reads_these_entries(example: Path, tmp_path: Path) -> None:
    base = tmp_path / "cache"
    old = DiskCache(base, example, fingerprint="old")
    walk(FileRepo(example), None, old)
    assert (base / "v-old").is_dir()
    new = DiskCache(base, example, fingerprint="new")
    model = walk(FileRepo(example), None, new)
    assert new.reads == 0
    assert new.writes > 0
    assert not (base / "v-old").exists()  # unreachable entries are removed
    assert render.render(model) == render.render(walk(FileRepo(example), None, None))


def test_the_real_fingerprint_changes_with_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from volsync_kit.adapters import cache

    before = cache.tool_fingerprint()
    monkeypatch.setattr(cache, "__version__", "99.0.0")
    assert cache.tool_fingerprint() != before


def test_concurrent_runs_on_one_empty_cache(generated: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    expected = run(["lint", "--repo", str(generated), "--no-cache"], None)
    env = dict(os.environ, VOLSYNC_KIT_CACHE_DIR=str(cache_dir))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "volsync_kit", "lint", "--repo", str(generated)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    results = [(p.wait(), *p.communicate()) for p in procs]
    assert all(r == (expected.returncode, expected.stdout, expected.stderr) for r in results)
    assert not list(cache_dir.rglob(".tmp-*"))  # every writer finished its rename
    for entry in entries(cache_dir):
        pickle.loads(entry.read_bytes())  # whole entries only
    warm = run(["lint", "--repo", str(generated)], cache_dir)
    assert (warm.returncode, warm.stdout, warm.stderr) == (expected.returncode, expected.stdout, expected.stderr)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "wrong-object"])
def test_a_corrupt_cache_is_ignored_and_rebuilt(example: Path, tmp_path: Path, damage: str) -> None:
    cache_dir = tmp_path / "cache"
    expected = outputs(example, None)
    outputs(example, cache_dir)
    for entry in entries(cache_dir):
        data = entry.read_bytes()
        entry.write_bytes(
            {
                "truncate": data[: len(data) // 2],
                "garbage": b"\x80\x05not a pickle at all",
                "empty": b"",
                "wrong-object": pickle.dumps({"surprise": [1, 2, 3]}),
            }[damage]
        )
    assert outputs(example, cache_dir) == expected
    rebuilt = entries(cache_dir)
    assert rebuilt
    for entry in rebuilt:
        assert not isinstance(pickle.loads(entry.read_bytes()), dict)  # written again, whole
    assert outputs(example, cache_dir) == expected


def test_an_unwritable_cache_is_not_an_error(example: Path, tmp_path: Path) -> None:
    """A cache path that is a file fails every write, as a read-only or full
    disk would (and, unlike a read-only folder, also when the tests run as root)."""
    cache_dir = tmp_path / "cache"
    cache_dir.write_text("not a folder")
    assert outputs(example, cache_dir) == outputs(example, None)
    assert cache_dir.read_text() == "not a folder"


def test_the_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from volsync_kit.adapters.cache import default_dir

    monkeypatch.delenv("VOLSYNC_KIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "volsync-kit"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # invalid per the spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "volsync-kit"
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_dir() == tmp_path / "explicit"
