"""The markdown plan fits a PR comment (issue 15): a summary line first,
dangers grouped by code, commands batched per kind and namespace, and the
per-object table folded in ``<details>``.

Budgets: a commit that replaces 35 apps' repository PV and PVC is at most
250 lines and 25 KB of markdown; a one-app change fits in 60 lines. GitHub
refuses a comment over 65,536 characters, and a plan that nobody reads
protects nobody.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers_repo import EXAMPLE, OPS_COMPONENT, REPO_COMPONENT, app_ks, git, home_ops, write_repo
from volsync_kit import app as services
from volsync_kit.core.planner import Plan
from volsync_kit.report import plan_out

# 35 apps in 6 namespaces, named as home-ops repositories name them.
APPS = {
    "database": ["cloudbeaver", "pgadmin", "dragonfly"],
    "default": ["actual", "atuin", "homepage", "immich", "mealie", "paperless", "vaultwarden"],
    "home-automation": ["esphome", "home-assistant", "mosquitto", "node-red", "zigbee2mqtt", "zwave-js-ui"],
    "media": [
        "bazarr",
        "jellyfin",
        "jellyseerr",
        "lidarr",
        "plex",
        "prowlarr",
        "qbittorrent",
        "radarr",
        "readarr",
        "sabnzbd",
        "sonarr",
        "tautulli",
    ],
    "observability": ["gatus", "grafana", "uptime-kuma", "unpoller"],
    "security": ["authelia", "lldap", "pocket-id"],
}
assert sum(len(a) for a in APPS.values()) == 35

MAX_LINES, MAX_BYTES, ONE_APP_LINES = 250, 25_000, 60


def _files() -> dict[str, str | bytes]:
    """Every app with the example's operations component: a data claim restored
    from a ReplicationDestination, a local and a remote ReplicationSource, and
    their ExternalSecret, as real repositories have them."""
    files: dict[str, str | bytes] = dict(home_ops(APPS))
    files = {k: v for k, v in files.items() if not k.startswith(OPS_COMPONENT + "/")}
    ops = EXAMPLE / "kubernetes/flux/components/volsync/operations"
    for path in sorted(ops.iterdir()):
        files[f"{OPS_COMPONENT}/{path.name}"] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_repo(tmp_path_factory.mktemp("budget") / "repo", _files())
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


def _copy(base: Path, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(base), str(repo))
    return repo


def _committed_plan(repo: Path) -> Plan:
    git(repo, "commit", "-qam", "change")
    return services.run_plan(repo, base="HEAD~1", head="HEAD", cache=False)


def _markdown(repo: Path) -> str:
    return plan_out.to_markdown(_committed_plan(repo))


def _move_every_repository(repo: Path) -> None:
    pv = repo / REPO_COMPONENT / "pv.yaml"
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /k8s-backups/volsync/${APP}"))


def _redacted(repo: Path, text: str) -> str:
    for ref, name in (("HEAD~1", "base"), ("HEAD", "head")):
        sha = subprocess.run(["git", "rev-parse", ref], cwd=repo, capture_output=True, text=True, check=True)
        text = text.replace(sha.stdout.strip()[:12], f"<{name}-12>")
    return text


def _fits(text: str, lines: int, size: int | None = None) -> None:
    assert len(text.splitlines()) <= lines, f"{len(text.splitlines())} lines > {lines}"
    if size is not None:
        assert len(text.encode()) <= size, f"{len(text.encode())} bytes > {size}"


def test_rootpath_of_35_apps_fits_a_pr_comment(base_repo: Path, tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    repo = _copy(base_repo, tmp_path)
    _move_every_repository(repo)
    markdown = _markdown(repo)
    _fits(markdown, MAX_LINES, MAX_BYTES)
    lines = markdown.splitlines()
    # The first thing read is the count, then the one grouped danger.
    assert lines[1] == (
        "**Plan:** 70 to replace, 0 to change in place, 0 to create, 0 to delete · 35 apps · 35 dangers "
        "· 0 render failures"
    )
    dangers = [line for line in lines if line.startswith("- **")]
    assert len(dangers) == 1
    assert dangers[0].startswith("- **repository-moved** (35 apps: ")
    # One command per kind and namespace, never one per object.
    assert sum(line.strip().startswith("flux suspend kustomization") for line in lines) == len(APPS)
    assert sum(line.strip().startswith("kubectl delete pv ") for line in lines) == 1
    # Every object is still in the folded table.
    assert sum(line.startswith("| ") and "| replace |" in line for line in lines) == 70
    golden("plan/rootpath-35-apps.md", _redacted(repo, markdown))


def test_one_app_change_fits_one_screen(base_repo: Path, tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    repo = _copy(base_repo, tmp_path)
    ks = repo / "kubernetes/apps/media/radarr/ks.yaml"
    ks.write_text(app_ks("media", "radarr", substitute={"CEPHFS_NAME": "cephfs-ssd"}))
    markdown = _markdown(repo)
    _fits(markdown, ONE_APP_LINES)
    assert markdown.splitlines()[1].startswith("**Plan:** 2 to replace, 0 to change in place")
    golden("plan/one-app.md", _redacted(repo, markdown))


def test_json_stays_complete_when_markdown_is_batched(base_repo: Path, tmp_path: Path) -> None:
    repo = _copy(base_repo, tmp_path)
    _move_every_repository(repo)
    plan = _committed_plan(repo)
    doc = json.loads(plan_out.to_json(plan))
    assert len(doc["changes"]) == 70
    assert len(doc["dangers"]) == 35
    deletes = [a for s in doc["steps"] for a in s["actions"] if a["verb"] == "delete"]
    assert len(deletes) == 70  # one action per object, although markdown batches them


def test_commit_message_over_20_kb_keeps_the_summary_and_points_to_the_plan(base_repo: Path, tmp_path: Path) -> None:
    repo = _copy(base_repo, tmp_path)
    _move_every_repository(repo)
    plan = _committed_plan(repo)
    full = plan_out.to_markdown(plan)
    assert len(full.encode()) > plan_out.COMMIT_MESSAGE_LIMIT
    message = plan_out.to_commit_message(plan)
    assert len(message.encode()) < 2_000
    lines = message.splitlines()
    assert lines[0] == f"**volsync-kit plan: {plan.base[:12]} -> {plan.head[:12]}**"
    assert lines[1].startswith("**Plan:** 70 to replace")
    assert any(line.startswith("- **repository-moved** (35 apps: actual, atuin, ") for line in lines)
    assert f"`volsync-kit plan --base {plan.base[:12]} --head <this commit>`" in message
    assert "kubectl" not in message  # the checklist is behind the pointer
    assert not any(line.startswith("#") for line in lines)  # git would drop them


def test_commit_message_under_20_kb_is_the_whole_plan(base_repo: Path, tmp_path: Path) -> None:
    repo = _copy(base_repo, tmp_path)
    ks = repo / "kubernetes/apps/media/radarr/ks.yaml"
    ks.write_text(app_ks("media", "radarr", substitute={"CEPHFS_NAME": "cephfs-ssd"}))
    message = plan_out.to_commit_message(_committed_plan(repo))
    assert "flux suspend kustomization radarr -n media" in message
    assert "<this commit>" not in message


def test_readme_shows_the_plan_as_it_is_printed() -> None:
    """README's first screen of a plan is the golden file's, in order (so it cannot go stale)."""
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("````markdown\n", 1)[1].split("\n````", 1)[0].splitlines()
    golden = (root / "tests" / "golden" / "plan" / "rootpath.md").read_text(encoding="utf-8").splitlines()
    at = 0
    for line in block:
        if line in ("…", "</details>"):
            continue
        at = golden.index(line, at) + 1  # ValueError: the README shows a line the plan no longer prints
    assert block[1].startswith("**Plan:** ")
