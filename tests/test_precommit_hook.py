"""The `volsync-kit-lint` hook of .pre-commit-hooks.yaml, run by the real pre-commit.

`pre-commit try-repo` builds the hook the way a Flux repository's
.pre-commit-config.yaml would: it clones the hook repository at a commit and
pip-installs it into a fresh environment.  The hook repository here is a
committed copy of this work tree (so uncommitted changes are tested too),
and the repository under lint is a committed copy of examples/home-ops.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lint_helpers import EXAMPLE, REPO_PV, edit, line_of

ROOT = Path(__file__).resolve().parents[1]
MISSING_STATIC = '      staticVolume: "true" # required, otherwise the CSI driver tries to provision\n'


def git_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_AUTHOR_NAME="volsync-kit tests",
        GIT_AUTHOR_EMAIL="tests@volsync-kit.invalid",
        GIT_COMMITTER_NAME="volsync-kit tests",
        GIT_COMMITTER_EMAIL="tests@volsync-kit.invalid",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"),
    )
    return env


def git(cwd: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def commit_all(cwd: Path, env: dict[str, str], message: str) -> None:
    git(cwd, env, "add", "-A")
    git(cwd, env, "commit", "-q", "--no-verify", "-m", message)


def hook_repository(tmp_path: Path, env: dict[str, str]) -> Path:
    """This work tree's tracked and untracked-but-not-ignored files, committed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    copy = tmp_path / "volsync-kit"
    for raw in filter(None, listed):
        name = raw.decode()
        source = ROOT / name
        if source.is_file() and not name.startswith(("tests/", "examples/")):
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    assert (copy / ".pre-commit-hooks.yaml").is_file()
    git(copy, env, "init", "-q")
    commit_all(copy, env, "volsync-kit")
    return copy


def try_repo(flux: Path, hooks: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "volsync-kit-lint", "--all-files"],
        cwd=flux,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_hook_fails_on_a_defect_and_passes_once_fixed(tmp_path: Path) -> None:
    env = git_env(tmp_path)
    hooks = hook_repository(tmp_path, env)
    flux = tmp_path / "home-ops"
    shutil.copytree(EXAMPLE, flux)
    git(flux, env, "init", "-q")
    edit(flux, REPO_PV, MISSING_STATIC, "")
    commit_all(flux, env, "drop staticVolume")

    failed = try_repo(flux, hooks, env)
    out = failed.stdout + failed.stderr
    assert failed.returncode == 1, out
    assert "volsync-kit lint" in out
    assert "Failed" in out
    line = line_of(flux, REPO_PV, "volumeAttributes:")
    assert f"{REPO_PV}:{line}:5: error VK101 staticVolume is missing" in out

    (flux / REPO_PV).write_text((EXAMPLE / REPO_PV).read_text(encoding="utf-8"), encoding="utf-8")
    commit_all(flux, env, "restore staticVolume")

    passed = try_repo(flux, hooks, env)
    out = passed.stdout + passed.stderr
    assert passed.returncode == 0, out
    assert "Passed" in out
    assert "VK101" not in out
