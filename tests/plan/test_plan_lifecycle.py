"""`plan` when objects appear or go: dropped from a component, a failed build, a new app, a removed app.

Flux prunes what a Kustomization no longer renders when ``prune: true``; when the
Kustomization itself goes, its ``deletionPolicy`` decides (MirrorPrune follows
``prune``; Delete and WaitForTermination delete; Orphan keeps).  A failed build
prunes nothing, so a render failure is never a deletion.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from plan_helpers import (
    APPS,
    CLUSTER_KS,
    MEDIA_KUSTOMIZATION,
    REPO_KUSTOMIZATION,
    Repo,
    acts,
    change,
    commands,
    drop_data_pvc,
    example_repo,
    ks_file,
    named,
    plan,
    plan_json,
    plan_markdown,
    remove_app,
    rows,
    step,
)

# -- the data PVC dropped from the operations component -------------------------------------


def test_dropped_data_pvc_is_a_pruned_deletion_for_every_app(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    drop_data_pvc(repo)
    doc = plan_json(repo)
    assert rows(doc) == {(app, "PersistentVolumeClaim", app, ns, "delete") for app, ns in APPS.items()}
    for app, ns in APPS.items():
        pvc = change(doc, "PersistentVolumeClaim", app)
        assert pvc["prune"] is True
        assert pvc["danger"] == ["pvc-deleted"]
        assert pvc["kustomization"] == {"name": app, "namespace": ns, "file": ks_file(app), "cluster": ""}
    dangers = sorted((d["code"], d["app"], d["object"]) for d in doc["dangers"])
    assert dangers == sorted(("pvc-deleted", app, f"PersistentVolumeClaim/{app}") for app in APPS)
    # Flux deletes the claims itself; the checklist only rescues their volumes
    rescue = commands(doc)
    for app, ns in APPS.items():
        assert any(c.startswith("kubectl patch pv ") and f"kubectl -n {ns} get pvc {app} " in c for c in rescue)
    for command in rescue:
        assert not command.startswith("kubectl delete"), command
        assert " delete pv" not in command, command


def test_dropped_data_pvc_fail_on_gates(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    drop_data_pvc(repo)
    deleted = plan(repo, "--fail-on", "delete")
    assert deleted.exit_code == 1, deleted.stderr
    assert "| radarr | pvc/radarr | media | delete (pruned) | - |" in deleted.stdout
    assert plan(repo, "--fail-on", "replace").exit_code == 0
    assert plan(repo, "--fail-on", "danger").exit_code == 1
    assert plan(repo).exit_code == 0


def test_dropped_data_pvc_without_prune_is_left_in_the_cluster(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    repo.edit(ks_file("radarr"), "  prune: true\n", "  prune: false\n")
    repo.commit("radarr: no pruning")
    drop_data_pvc(repo)
    doc = plan_json(repo)
    assert change(doc, "PersistentVolumeClaim", "radarr")["prune"] is False
    assert change(doc, "PersistentVolumeClaim", "radarr")["danger"] == []
    assert change(doc, "PersistentVolumeClaim", "sonarr")["prune"] is True
    assert {d["app"] for d in doc["dangers"] if d["code"] == "pvc-deleted"} == set(APPS) - {"radarr"}
    assert ("show", "pvc", "media", "radarr") not in acts(doc)
    assert not any("get pvc" in c and "radarr" in named(c, "pvc") for c in commands(doc))
    assert "PersistentVolumeClaim media/radarr (radarr): Flux leaves it in the cluster" in plan_markdown(repo)


# -- a failed build ---------------------------------------------------------------------------


def test_bare_component_is_a_render_failure_never_a_deletion(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    repo.write(REPO_KUSTOMIZATION, "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
    doc = plan_json(repo, "--fail-on", "delete", exit_code=2)  # the head does not build
    assert {f["app"] for f in doc["failures"]} == set(APPS)
    assert len(doc["failures"]) == len(APPS)
    for failure in doc["failures"]:
        app = failure["app"]
        assert failure["kustomization"] == {"name": app, "namespace": APPS[app], "file": ks_file(app), "cluster": ""}
        assert failure["at"] == "head"
        assert failure["problems"], failure
        assert {p["file"] for p in failure["problems"]} == {REPO_KUSTOMIZATION}
    assert [c for c in doc["changes"] if c["action"] == "delete"] == []
    assert doc["changes"] == []
    assert [d for d in doc["dangers"] if d["code"] == "pvc-deleted"] == []
    for command in commands(doc):
        assert "delete" not in command, command
    markdown = plan_markdown(repo, exit_code=2)
    assert "### Render failures" in markdown
    assert "nothing to do" not in markdown


def test_a_base_that_does_not_build_is_not_compared_never_empty(tmp_path: Path) -> None:
    """The commit fixes a broken component: the base applied nothing of those
    apps, but what runs in the cluster is unknown, so their objects are not
    new: no creation, no checklist for them, and exit 2 saying why."""
    repo = example_repo(tmp_path)
    good = repo.read(REPO_KUSTOMIZATION)
    repo.write(REPO_KUSTOMIZATION, "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")
    repo.commit("break the component")
    repo.write(REPO_KUSTOMIZATION, good)

    doc = plan_json(repo, exit_code=2)

    assert {f["app"] for f in doc["failures"]} == set(APPS)
    assert {f["at"] for f in doc["failures"]} == {"base"}
    assert doc["changes"] == []
    markdown = plan_markdown(repo, exit_code=2)
    assert "at the base, so it is not compared" in markdown
    run = plan(repo)
    assert run.exit_code == 2


# -- a new app ---------------------------------------------------------------------------------


def add_app(repo: Repo, app: str = "lidarr", like: str = "radarr") -> None:
    """Copy ``like``'s folder as ``app`` and list it in the media namespace."""
    target = repo.root / "kubernetes" / "apps" / "media" / app
    shutil.copytree(repo.root / "kubernetes" / "apps" / "media" / like, target)
    for file in target.rglob("*.yaml"):
        file.write_text(file.read_text(encoding="utf-8").replace(like, app), encoding="utf-8")
    repo.edit(MEDIA_KUSTOMIZATION, f"  - ./{like}/ks.yaml\n", f"  - ./{app}/ks.yaml\n  - ./{like}/ks.yaml\n")


NEW_OBJECTS = {
    ("lidarr", "PersistentVolume", "volsync-lidarr-repo-pv", None, "create"),
    ("lidarr", "PersistentVolumeClaim", "volsync-lidarr-repo", "media", "create"),
    ("lidarr", "PersistentVolumeClaim", "lidarr", "media", "create"),
    ("lidarr", "ReplicationSource", "lidarr", "media", "create"),
    ("lidarr", "ReplicationSource", "lidarr-r2", "media", "create"),
    ("lidarr", "ReplicationDestination", "lidarr-dst", "media", "create"),
    ("lidarr", "ExternalSecret", "lidarr-volsync", "media", "create"),
    ("lidarr", "ExternalSecret", "lidarr-volsync-r2", "media", "create"),
}


@pytest.fixture
def new_app(tmp_path: Path) -> dict[str, Any]:
    repo = example_repo(tmp_path)
    add_app(repo)
    return plan_json(repo, "--fail-on", "delete", "--fail-on", "replace")


def test_new_app_is_created_behind_a_gate(new_app: dict[str, Any]) -> None:
    assert rows(new_app) == NEW_OBJECTS
    assert all(c["kustomization"]["file"] == "kubernetes/apps/media/lidarr/ks.yaml" for c in new_app["changes"])
    at_gate, _ = step(new_app, "gate")
    at_push, push = step(new_app, "commit and push")
    assert at_gate < at_push
    assert push["commands"][0] == "git push"
    for command in commands(new_app):
        assert "delete" not in command, command
        assert "suspend" not in command, command
        assert "paused" not in command, command


def test_new_app_raises_no_repository_moved_danger(new_app: dict[str, Any]) -> None:
    # A new app has no repository to move: restic initialising an empty one is expected.
    assert [d for d in new_app["dangers"] if d["code"] == "repository-moved"] == []
    assert all("None" not in d["message"] for d in new_app["dangers"])


# -- a removed app -----------------------------------------------------------------------------

SONARR_OBJECTS = {
    ("PersistentVolume", "volsync-sonarr-repo-pv", None),
    ("PersistentVolumeClaim", "volsync-sonarr-repo", "media"),
    ("PersistentVolumeClaim", "sonarr", "media"),
    ("ReplicationSource", "sonarr", "media"),
    ("ReplicationSource", "sonarr-r2", "media"),
    ("ReplicationDestination", "sonarr-dst", "media"),
    ("ExternalSecret", "sonarr-volsync", "media"),
    ("ExternalSecret", "sonarr-volsync-r2", "media"),
}


def test_removed_app_is_deleted_by_flux(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    remove_app(repo, "sonarr")
    doc = plan_json(repo)
    assert rows(doc) == {("sonarr", kind, name, ns, "delete") for kind, name, ns in SONARR_OBJECTS}
    # prune: true, and cluster-apps patches in deletionPolicy: WaitForTermination
    assert {c["prune"] for c in doc["changes"]} == {True}
    assert all(c["kustomization"] == {"name": "sonarr", "namespace": "media", "file": ks_file("sonarr"), "cluster": ""}
               for c in doc["changes"])  # fmt: skip
    assert change(doc, "PersistentVolumeClaim", "sonarr")["danger"] == ["pvc-deleted"]
    assert plan(repo, "--fail-on", "delete").exit_code == 1
    for command in commands(doc):
        assert not command.startswith("kubectl delete"), "Flux deletes them; the checklist must not"


def test_removed_app_raises_no_repository_moved_danger(tmp_path: Path) -> None:
    # The restic data stays at its rootPath; nothing moves when the app goes.
    repo = example_repo(tmp_path)
    remove_app(repo, "sonarr")
    doc = plan_json(repo)
    assert [d for d in doc["dangers"] if d["code"] == "repository-moved"] == []
    assert all("None" not in d["message"] for d in doc["dangers"])


@pytest.mark.parametrize(
    ("policy", "prune", "own_policy", "deleted"),
    [
        ("WaitForTermination", True, None, True),
        ("Delete", False, None, True),
        ("Orphan", True, None, False),
        ("MirrorPrune", True, None, True),
        ("MirrorPrune", False, None, False),
        # the parent's patch overrides what the app's own ks.yaml says
        ("WaitForTermination", True, "Orphan", True),
    ],
)
def test_removed_app_prune_follows_the_deletion_policy(
    tmp_path: Path, policy: str, prune: bool, own_policy: str | None, deleted: bool
) -> None:
    repo = example_repo(tmp_path)
    repo.edit(CLUSTER_KS, "deletionPolicy: WaitForTermination", f"deletionPolicy: {policy}")
    if not prune:
        repo.edit(ks_file("sonarr"), "  prune: true\n", "  prune: false\n")
    if own_policy:
        repo.edit(ks_file("sonarr"), "  prune: true\n", f"  prune: true\n  deletionPolicy: {own_policy}\n")
    repo.commit("policies")
    remove_app(repo, "sonarr")
    doc = plan_json(repo)
    assert {(kind, name, ns) for _, kind, name, ns, _ in rows(doc)} == SONARR_OBJECTS
    assert {c["action"] for c in doc["changes"]} == {"delete"}
    assert {c["prune"] for c in doc["changes"]} == {deleted}
    pvc_deleted = {d["object"] for d in doc["dangers"] if d["code"] == "pvc-deleted"}
    assert ("PersistentVolumeClaim/sonarr" in pvc_deleted) is deleted
    markdown = plan_markdown(repo)
    expected = "Flux deletes it" if deleted else "Flux leaves it in the cluster (prune is off)"
    assert f"PersistentVolumeClaim media/sonarr (sonarr): {expected}." in markdown


def test_fail_on_takes_commas_or_repeats_and_says_which_gate_tripped(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    drop_data_pvc(repo)
    commas = plan(repo, "--fail-on", "replace,delete")
    repeats = plan(repo, "--fail-on", "replace", "--fail-on", "delete")
    assert commas.exit_code == repeats.exit_code == 1
    assert commas.stderr == repeats.stderr == "volsync-kit: --fail-on delete: the plan deletes volume objects\n"
    assert plan(repo, "--fail-on", "replace").stderr == ""
    bad = plan(repo, "--fail-on", "delete,everything")
    assert bad.exit_code == 2
    assert "'everything' is not one of replace, delete, danger" in bad.stderr
