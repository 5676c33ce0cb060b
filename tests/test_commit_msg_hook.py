"""The `volsync-kit-plan` prepare-commit-msg hook, installed by the real
pre-commit framework and run by real `git commit`s."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lint_helpers import EXAMPLE, REPO_PV
from test_precommit_hook import commit_all, git, git_env, hook_repository

MEDIA_PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"


def message(cwd: Path, env: dict[str, str]) -> str:
    """The last commit's message (``%B`` adds one blank line of its own)."""
    out = subprocess.run(
        ["git", "log", "-1", "--format=%B"], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.rstrip("\n") + "\n"


def commit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-q", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def test_hook_appends_the_plan_only_when_needed(tmp_path: Path) -> None:
    env = git_env(tmp_path)
    hooks = hook_repository(tmp_path, env)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=hooks, capture_output=True, text=True, check=True).stdout
    flux = tmp_path / "home-ops"
    shutil.copytree(EXAMPLE, flux)
    (flux / ".pre-commit-config.yaml").write_text(
        "default_install_hook_types: [prepare-commit-msg]\n"
        "repos:\n"
        f"  - repo: {hooks}\n"
        f"    rev: {sha.strip()}\n"
        "    hooks:\n"
        "      - id: volsync-kit-plan\n"
    )
    git(flux, env, "init", "-q")
    commit_all(flux, env, "base")
    install = subprocess.run(
        [sys.executable, "-m", "pre_commit", "install", "--install-hooks"],
        cwd=flux, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr

    # An in-place change (a label) needs no checklist: the message stays as written.
    pv = flux / MEDIA_PV
    pv.write_text(
        pv.read_text().replace("  name: media-share\n", "  name: media-share\n  labels:\n    tier: media\n", 1)
    )
    git(flux, env, "add", "-A")
    done = commit(flux, env, "-m", "label the media volume")
    assert done.returncode == 0, done.stdout + done.stderr
    assert message(flux, env) == "label the media volume\n"

    # Moving every repository: the plan is appended, with the danger flags and the checklist.
    repo_pv = flux / REPO_PV
    repo_pv.write_text(repo_pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /backups/${APP}"))
    git(flux, env, "add", "-A")
    done = commit(flux, env, "-m", "move the restic repositories")
    assert done.returncode == 0, done.stdout + done.stderr
    text = message(flux, env)
    assert text.startswith("move the restic repositories\n\n**volsync-kit plan: ")
    assert "**Plan:** 14 to replace, 0 to change in place, 0 to create, 0 to delete · 7 apps · 7 dangers" in text
    assert "- **repository-moved** (7 apps: cloudbeaver, home-assistant, jellyfin, " in text
    assert "flux suspend kustomization jellyfin radarr sonarr -n media" in text
    assert "kubectl -n media delete pvc volsync-jellyfin-repo volsync-radarr-repo volsync-sonarr-repo " in text
    assert not any(line.startswith("#") for line in text.splitlines())

    # An amend keeps its message, even though the amended commit still moves volumes.
    done = commit(flux, env, "--amend", "--no-edit")
    assert done.returncode == 0, done.stdout + done.stderr
    assert message(flux, env) == text
