"""`volsync-kit generate`: the repository component from the config, and each app wired to it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.app import run_lint
from volsync_kit.cli import app
from volsync_kit.core.flux import walk
from volsync_kit.core.model import Severity

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
CONFIG = ROOT / "tests" / "fixtures" / "generate" / "volsync-kit.yaml"
COMPONENT = "kubernetes/flux/components/volsync/repository"
APPS = ("cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr")
runner = CliRunner()


def fresh_repo(tmp_path: Path, config: str | None = None) -> Path:
    """The example with the config, and without its hand-written repository component."""
    root = tmp_path / "home-ops"
    shutil.copytree(EXAMPLE, root)
    (root / ".volsync-kit.yaml").write_text(config if config is not None else CONFIG.read_text())
    for name in ("kustomization.yaml", "pv.yaml", "pvc.yaml"):
        (root / COMPONENT / name).unlink()
    return root


def generate(root: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["generate", "--repo", str(root), *args])
    return result.exit_code, result.stdout, result.stderr


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_generated_component_matches_golden_and_lints_clean(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    root = fresh_repo(tmp_path)
    code, _, err = generate(root)
    assert code == 0, err
    assert f"created {COMPONENT}/pv.yaml" in err
    for name in ("kustomization.yaml", "pv.yaml", "pvc.yaml"):
        golden(f"generate/{name}", (root / COMPONENT / name).read_text())
    result = run_lint(root)
    assert [f for f in result.findings if f.severity is not Severity.INFO] == []
    model = walk(FileRepo(root))
    rendered = {r.ks.ref.name: r for r in model.results}
    for name in APPS:
        assert rendered[name].status == "rendered", rendered[name].problems
        pv = next(r for r in rendered[name].resources if r.kind == "PersistentVolume" and r.name.startswith("volsync-"))
        assert pv.name == f"volsync-{name}-repo-pv"


def test_generated_component_builds_with_kubectl_like_flux(tmp_path: Path) -> None:
    from test_differential import _flux_apply_view

    root = fresh_repo(tmp_path)
    assert generate(root)[0] == 0
    work = tmp_path / "work"
    for result in walk(FileRepo(root)).results:
        if result.ks.ref.name not in APPS:
            continue
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(root, work)
        expected = _flux_apply_view(result, work)
        ours = {(r.kind, r.name): r for r in result.resources if (r.kind, r.name) in expected}
        assert ("PersistentVolume", f"volsync-{result.ks.ref.name}-repo-pv") in expected
        assert set(ours) == set(expected)


def test_generate_twice_changes_nothing_and_check_passes(tmp_path: Path) -> None:
    root = fresh_repo(tmp_path)
    assert generate(root)[0] == 0
    before = tree_digest(root)
    code, _, err = generate(root)
    assert code == 0
    assert "up to date" in err
    assert tree_digest(root) == before
    assert generate(root, "--check") == (0, "", "")


def test_check_fails_on_drift_with_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    root = fresh_repo(tmp_path)
    assert generate(root)[0] == 0
    config = root / ".volsync-kit.yaml"
    config.write_text(config.read_text().replace("  mounter: kernel\n", "  mounter: fuse\n"))
    before = tree_digest(root)
    code, out, err = generate(root, "--check")
    assert code == 1
    assert f"--- a/{COMPONENT}/pv.yaml" in out
    assert "-      mounter: kernel" in out
    assert "+      mounter: fuse" in out
    assert "out of date" in err
    assert tree_digest(root) == before
    assert generate(root)[0] == 0
    assert generate(root, "--check")[0] == 0


def test_diff_shows_without_writing(tmp_path: Path) -> None:
    root = fresh_repo(tmp_path)
    before = tree_digest(root)
    code, out, _ = generate(root, "--diff")
    assert code == 0
    assert f"+++ b/{COMPONENT}/kustomization.yaml" in out
    assert tree_digest(root) == before


def test_hand_edited_file_is_refused_without_force(tmp_path: Path) -> None:
    root = fresh_repo(tmp_path)
    assert generate(root)[0] == 0
    pv = root / COMPONENT / "pv.yaml"
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /volsync/hand/${APP}"))
    config = root / ".volsync-kit.yaml"
    config.write_text(config.read_text().replace("  mounter: kernel\n", "  mounter: fuse\n"))
    before = tree_digest(root)
    code, _, err = generate(root)
    assert code == 2
    assert f"refusing to overwrite {COMPONENT}/pv.yaml: it was edited by hand" in err
    assert tree_digest(root) == before
    code, _, _ = generate(root, "--force")
    assert code == 0
    assert "/volsync/hand/" not in pv.read_text()
    assert "mounter: fuse" in pv.read_text()


def test_configured_apps_are_wired_with_their_overrides(tmp_path: Path) -> None:
    config = CONFIG.read_text().replace("apps: discover\n", "apps:\n  - name: jellyfin\n    capacity: 20Ti\n")
    root = fresh_repo(tmp_path, config)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    assert generate(root)[0] == 0
    diff = subprocess.run(
        ["git", "diff", "--unified=0", "--", "kubernetes/apps"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    changed = [
        line for line in diff.splitlines() if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert changed == ["+      VOLSYNC_REPO_CAPACITY: 20Ti"]
    jellyfin = next(r for r in walk(FileRepo(root)).results if r.ks.ref.name == "jellyfin")
    pv = next(r for r in jellyfin.resources if r.name == "volsync-jellyfin-repo-pv")
    assert pv.node.items["spec"].items["capacity"].items["storage"].value == "20Ti"  # type: ignore[union-attr]


def test_an_app_without_a_kustomization_is_an_error(tmp_path: Path) -> None:
    config = CONFIG.read_text().replace("apps: discover\n", "apps:\n  - name: lidarr\n")
    root = fresh_repo(tmp_path, config)
    before = tree_digest(root)
    code, _, err = generate(root)
    assert code == 2
    assert "apps: lidarr: no Flux Kustomization named lidarr" in err
    assert tree_digest(root) == before


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("  mounter: kernel\n", "  mounter: [kernel]\n", 5, "invalid config at repository.mounter"),
        ("  fsName: cephfs\n", "  fsName: cephfs\n  fsname: typo\n", 5, "('fsname' was unexpected)"),
        ("  rootPath: /volsync/${APP}\n", "  rootPath: /volsync/static\n", 6, "invalid config at repository.rootPath"),
        ("apps: discover\n", "apps:\n  - name: Bad_Name\n", 14, "invalid config at apps.0.name"),
    ],
    ids=["wrong-type", "unknown-key", "root-path-without-app", "app-not-dns-label"],
)
def test_config_errors_name_the_line_and_change_nothing(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    text = CONFIG.read_text()
    assert old in text
    root = fresh_repo(tmp_path, text.replace(old, new))
    before = tree_digest(root)
    code, out, err = generate(root)
    assert code == 2
    assert out == ""
    assert err.startswith(f"volsync-kit: error: .volsync-kit.yaml:{line}:")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert tree_digest(root) == before
