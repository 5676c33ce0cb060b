"""plan's special procedures: a claim replaced while its PV stays, a static PV
other workloads mount, and a data PVC restored from a ReplicationDestination."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from volsync_kit.app import run_plan
from volsync_kit.core.planner import Plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
MEDIA_PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"
MEDIA_PVC = "kubernetes/apps/media/jellyfin/app/media-pvc.yaml"
DATA_PVC = "kubernetes/flux/components/volsync/operations/pvc.yaml"
ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@example.com"}  # fmt: skip


def committed_example(tmp_path: Path, prepare: tuple[str, str, str] | None = None) -> Path:
    root = tmp_path / "ops"
    shutil.copytree(EXAMPLE, root)
    if prepare:
        edit(root, *prepare)
    env = {**os.environ, **ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    return root


def edit(root: Path, path: str, old: str, new: str) -> None:
    text = (root / path).read_text()
    assert old in text
    (root / path).write_text(text.replace(old, new, 1))


def commands(plan: Plan, kind: str) -> list[str]:
    return [c for step in plan.steps if step.kind == kind for c in step.commands]


def actions(plan: Plan, kind: str) -> list[tuple[str, str, str, str]]:
    """(verb, resource, namespace, name) of each action of the steps of ``kind``."""
    return [
        (a.verb, a.target.resource, a.target.namespace, a.target.name)
        for step in plan.steps
        if step.kind == kind
        for a in step.actions
        if a.target
    ]


def test_claim_replaced_while_its_pv_stays(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, MEDIA_PVC, "    - ReadWriteMany", "    - ReadOnlyMany")
    plan = run_plan(root)
    assert [(c.kind, c.name, c.action) for c in plan.changes] == [("PersistentVolumeClaim", "media-share", "replace")]
    assert actions(plan, "delete") == [
        ("guard", "pvc", "media", "media-share"),  # no pod other than a mover still mounts it
        ("delete", "pvc", "media", "media-share"),
        ("wait-deleted", "pvc", "media", "media-share"),
    ]
    # A person types one delete that waits (kubectl delete's default --wait=true).
    assert commands(plan, "delete") == ["kubectl -n media delete pvc media-share --ignore-not-found --timeout=10m"]
    assert commands(plan, "claimref") == [
        'kubectl patch pv media-share --type json -p \'[{"op":"remove","path":"/spec/claimRef"}]\''
    ]
    kinds = [step.kind for step in plan.steps]
    assert kinds.index("delete") < kinds.index("claimref") < kinds.index("resume")


def test_prebound_pv_keeps_its_claim_ref_name(tmp_path: Path) -> None:
    claim_ref = "  claimRef:\n    name: media-share\n    namespace: media\n  persistentVolumeReclaimPolicy: Retain"
    root = committed_example(tmp_path, (MEDIA_PV, "  persistentVolumeReclaimPolicy: Retain", claim_ref))
    edit(root, MEDIA_PVC, "    - ReadWriteMany", "    - ReadOnlyMany")
    plan = run_plan(root)
    assert commands(plan, "claimref") == [
        "kubectl patch pv media-share --type json -p "
        '\'[{"op":"remove","path":"/spec/claimRef/uid"},{"op":"remove","path":"/spec/claimRef/resourceVersion"}]\''
    ]


def test_other_workloads_mounting_a_static_pv_are_stopped_and_restarted(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, MEDIA_PV, "      rootPath: /media", "      rootPath: /media\n      mounter: fuse")
    plan = run_plan(root)
    suspend = commands(plan, "suspend")
    for app in ("jellyfin", "radarr", "sonarr"):
        assert f"flux suspend helmrelease {app} -n media" in suspend
        assert (
            f"kubectl -n media scale deployment,statefulset -l app.kubernetes.io/instance={app} --replicas=0" in suspend
        )
        assert f"flux resume helmrelease {app} -n media" in commands(plan, "resume")
    delete_step = next(step for step in plan.steps if step.kind == "delete")
    guards = [(a.target.namespace, a.target.name) for a in delete_step.actions if a.verb == "guard" and a.target]
    assert guards == [("media", "media-share")]
    assert "pause" not in [step.kind for step in plan.steps]  # no mover mounts the media volume
    # Each title says what its step does: workloads stopped and restored, and no mover.
    titles = {step.kind: step.title for step in plan.steps}
    assert titles["suspend"].endswith(", and stop the other workloads that mount them")
    assert titles["resume"] == (
        "Resume in reverse order; once every volume and claim is Bound, restore the workloads' replicas"
    )


def test_data_pvc_restored_from_a_destination_gets_a_fresh_backup_first(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, DATA_PVC, "VOLSYNC_ACCESSMODES:=ReadWriteOnce", "VOLSYNC_ACCESSMODES:=ReadWriteMany")
    plan = run_plan(root)
    assert {c.name for c in plan.changes if c.action == "replace"} == {
        "cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr",
    }  # fmt: skip
    kinds = [step.kind for step in plan.steps]
    # After the suspend, or Flux re-applies git's trigger over the patch; before the pause and the deletion.
    assert kinds.index("suspend") < kinds.index("backup") < kinds.index("pause") < kinds.index("delete")
    backup = [(a.verb, a.target.resource, a.target.name) for s in plan.steps if s.kind == "backup"
              for a in s.actions if a.target]  # fmt: skip
    jellyfin = [b for b in backup if b[2] in ("jellyfin", "jellyfin-dst")]
    assert jellyfin == [("sync", "replicationsource", "jellyfin"), ("sync", "replicationdestination", "jellyfin-dst")]
    suspend = actions(plan, "suspend")
    assert ("suspend", "kustomization", "media", "jellyfin") in suspend
    assert ("scale-down", "helmrelease", "media", "jellyfin") in suspend
    # Markdown batches them per namespace: one command names every app of media.
    assert any(c.startswith("flux suspend kustomization ") and " jellyfin " in c for c in commands(plan, "suspend"))


def test_a_broken_parent_build_hides_its_children_and_deletes_nothing(tmp_path: Path) -> None:
    """cluster-apps renders every app's Kustomization: when one ks.yaml breaks its build,
    Flux applies and prunes nothing, so no app's volumes may be reported deleted."""
    root = committed_example(tmp_path)
    sonarr = root / "kubernetes/apps/media/sonarr/ks.yaml"
    sonarr.write_text(sonarr.read_text() + "spec:\n\tpath: x\n")
    plan = run_plan(root)
    assert plan.changes == ()
    assert plan.dangers == ()
    assert [(f.ks.name, [p.code for p in f.problems]) for f in plan.diff.failures] == [("cluster-apps", ["yaml-tab"])]


def test_children_of_a_failed_build_are_not_called_inactive(tmp_path: Path) -> None:
    from volsync_kit.adapters.fs import FileRepo
    from volsync_kit.core.flux import walk

    root = committed_example(tmp_path)
    sonarr = root / "kubernetes/apps/media/sonarr/ks.yaml"
    sonarr.write_text(sonarr.read_text() + "spec:\n\tpath: x\n")
    model = walk(FileRepo(root))
    assert model.inactive == ()
    assert [r.ks.ref.name for r in model.results if r.status == "failed"] == ["cluster-apps"]


def test_a_pv_the_api_server_would_reject_is_a_danger_before_anything_is_deleted(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, MEDIA_PV, 'staticVolume: "true"', "staticVolume: true")
    plan = run_plan(root)
    assert [(c.name, c.action) for c in plan.changes] == [("media-share", "replace"), ("media-share", "replace")]
    assert [(d.code, d.object) for d in plan.dangers] == [("cannot-apply", "PersistentVolume/media-share")]
    assert "(staticVolume)" in plan.dangers[0].message


def test_a_static_data_volume_is_not_called_a_restic_repository(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, MEDIA_PV, "      rootPath: /media", "      rootPath: /media-library")
    plan = run_plan(root)
    assert [(d.code, d.object) for d in plan.dangers] == [("data-volume-moved", "PersistentVolume/media-share")]
    assert "restic" not in plan.dangers[0].message
    gate = next(step for step in plan.steps if step.kind == "gate")
    assert gate.notes == (
        "jellyfin: /media-library on CephFS cephfs of cluster rook-ceph exists and holds the app's files "
        "(a static data volume: copy them there first).",
    )
    safety = next(step for step in plan.steps if step.kind == "safety")
    assert not any("restic" in note for note in safety.notes)
    assert any("static data volumes media-share" in note for note in safety.notes)


def test_a_removed_app_rescues_its_data_claim_before_the_push_and_not_its_repository(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, "kubernetes/apps/media/kustomization.yaml", "  - ./radarr/ks.yaml\n", "")
    edit(root, "kubernetes/flux/components/volsync/repository/pv.yaml", "rootPath: /volsync/${APP}",
         "rootPath: /k8s-backups/volsync/${APP}")  # fmt: skip
    plan = run_plan(root)
    kinds = [step.kind for step in plan.steps]
    assert kinds.index("backup") < kinds.index("rescue") < kinds.index("push")
    rescue = next(step for step in plan.steps if step.kind == "rescue")
    # The data claim, whose volume is provisioned with reclaim Delete; never the static
    # repository volume, which the base already renders with Retain.
    assert [(a.verb, a.target.namespace, a.target.name) for a in rescue.actions if a.target] == [
        ("retain", "media", "radarr")
    ]


def test_every_deletion_carries_the_base_value_it_must_still_have(tmp_path: Path) -> None:
    root = committed_example(tmp_path)
    edit(root, "kubernetes/flux/components/volsync/repository/pv.yaml", "rootPath: /volsync/${APP}",
         "rootPath: /k8s-backups/volsync/${APP}")  # fmt: skip
    plan = run_plan(root)
    deletions = [a for step in plan.steps for a in step.actions if a.verb == "delete"]
    assert deletions
    for action in deletions:
        assert action.check is not None, action
        assert action.check.jsonpath == "{.spec.csi.volumeAttributes.rootPath}"
        app = action.owner.name if action.owner else ""
        assert action.check.expected == f"/volsync/{app}"
        # a claim is judged by the volume it binds, which holds the field
        assert (action.check.on is None) == (action.target is not None and action.target.resource == "pv")
