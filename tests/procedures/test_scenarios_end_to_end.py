"""The guide's Scenario 2 (stuck cache PVCs) and Scenario 3 (full VolSync
reset), and the script's own guards, run in the cluster simulation."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from harness import Snapshot, claim_contents, cluster, lost, scenario_cluster, stopped_by_hand
from sim.world import World
from test_end_to_end import ROOT_PATH, last_done

STUCK = ("media", "volsync-src-sonarr-cache")


def uid(world: World, kind: str, namespace: str, name: str) -> str | None:
    obj = world.get(kind, name, namespace)
    return obj["metadata"]["uid"] if obj else None


def test_stuck_cache_deletes_only_the_stuck_claim_and_waits_for_its_return(tmp_path: Path) -> None:
    c = scenario_cluster(tmp_path, "stuck-cache", lambda w: w.stick_cache(*STUCK))
    world = c.world()
    assert world.get("PersistentVolumeClaim", STUCK[1], STUCK[0])["status"]["phase"] == "Pending"
    caches = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["uid"]
        for o in world.list("PersistentVolumeClaim")
        if o["metadata"]["name"].endswith("-cache")
    }
    before = Snapshot.of(world)
    run = c.run()
    assert run.code == 0, run.stderr
    after = c.world()
    recreated = after.get("PersistentVolumeClaim", STUCK[1], STUCK[0])
    assert recreated is not None
    assert recreated["status"]["phase"] == "Bound"
    assert recreated["metadata"]["uid"] != caches[STUCK]
    # Every other cache claim is the same object: Bound claims are never deleted.
    for (ns, name), was in caches.items():
        if (ns, name) != STUCK:
            assert uid(after, "PersistentVolumeClaim", ns, name) == was, name
    assert after.suspended() == set(before.suspended)
    assert after.list("Deployment", "volsync-system")[0]["spec"]["replicas"] == 1
    assert stopped_by_hand(after) == []
    assert lost(after) == []


def test_full_reset_waits_for_its_deletions_and_restores_everything(tmp_path: Path) -> None:
    c = scenario_cluster(tmp_path, "full-reset")
    before = Snapshot.of(c.world())
    run = c.run()
    assert run.code == 0, run.stderr
    world = c.world()
    assert world.differs_from_git() == []
    assert world.suspended() == set(before.suspended)
    assert Snapshot.of(world).replicas == before.replicas  # the operator included
    assert stopped_by_hand(world) == []
    assert lost(world) == []
    assert claim_contents(world) == {k: v for k, v in before.contents.items() if "-cache" not in k}
    for path, snapshots in before.cephfs.items():
        assert world.cephfs()[path][: len(snapshots)] == snapshots


def test_declining_the_deletion_deletes_nothing_and_says_how_to_undo(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH)
    before = Snapshot.of(c.world())
    run = c.run(answer=lambda q: "n" if q.startswith("Delete") else "y")
    assert run.code == 1
    assert "--from 7" in run.stderr  # the resume step
    world = c.world()
    assert {k: v for k, v in Snapshot.of(world).specs.items() if k.startswith("Persistent")} == {
        k: v for k, v in before.specs.items() if k.startswith("Persistent")
    }
    undo = c.run("--from", "7")
    assert undo.code == 0, undo.stderr
    assert c.world().suspended() == set(before.suspended)
    assert stopped_by_hand(c.world()) == []


def test_a_pod_still_using_a_claim_stops_the_script_before_any_deletion(tmp_path: Path) -> None:
    def intruder(world: World) -> None:
        # A Deployment no HelmRelease of the repository names, mounting a repository claim.
        world.state["objects"]["Deployment/media/restic-browser"] = {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "restic-browser", "namespace": "media", "uid": "u-intruder", "labels": {}},
            "spec": {"replicas": 1, "template": {"metadata": {"labels": {}}, "spec": {"volumes": [
                {"name": "r", "persistentVolumeClaim": {"claimName": "volsync-sonarr-repo"}}]}}},
        }  # fmt: skip

    c = cluster(tmp_path, ROOT_PATH, None, intruder)
    run = c.run()
    assert run.code == 1
    assert "claim media/volsync-sonarr-repo is still used by: restic-browser-0" in run.stderr
    assert c.world().get("PersistentVolume", "volsync-sonarr-repo-pv") is not None
    calls = (c.state.parent / (c.state.name + ".calls")).read_text()
    assert " delete " not in calls


def test_a_pinned_context_is_on_every_call(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH, None, None, "--context", "home")
    run = c.run()
    assert run.code == 0, run.stderr
    assert "acts on the kube context home" in run.stderr
    calls = (c.state.parent / (c.state.name + ".calls")).read_text().splitlines()
    assert calls
    assert all(call.split()[1:3] == ["--context", "home"] for call in calls), calls[:3]


def test_scaling_a_release_that_runs_no_deployment_goes_on(tmp_path: Path) -> None:
    """A Job chart's release has neither a Deployment nor a StatefulSet: kubectl's selector scale
    fails there ("no objects passed to scale") and would stop the script under set -e."""
    c = cluster(tmp_path, ROOT_PATH)
    selector = ["-n", "media", "scale", "deployment,statefulset", "-l", "app.kubernetes.io/instance=job-chart"]
    blind = subprocess.run(["kubectl", *selector, "--replicas=0"], env=c.env, capture_output=True, text=True)
    assert blind.returncode == 1
    assert "no objects passed to scale" in blind.stderr
    functions = c.script.read_text().replace('\nmain "$@"\n', "\n")
    body = functions + 'STATE="$STATE_DIR/t.state"\nscale_down media job-chart\nscale_up media job-chart\necho next\n'
    done = subprocess.run(["bash", "-c", body], env=c.env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "release media/job-chart runs no Deployment or StatefulSet: nothing to scale" in done.stderr
    assert done.stdout.endswith("next\n")


@pytest.mark.parametrize("scenario", ["stuck-cache", "full-reset"])
def test_a_scenario_killed_after_each_step_completes_and_a_second_run_changes_nothing(
    tmp_path: Path, scenario: str
) -> None:
    c = scenario_cluster(tmp_path, scenario, lambda w: w.stick_cache(*STUCK))
    before = Snapshot.of(c.world())
    steps = [line.split()[1] for line in c.run("--list").stdout.splitlines()]
    start = 1
    while True:
        run = c.run("--from", str(start), kill_after=steps[start - 1])
        done = last_done(c)
        if done is None:
            assert run.code == 0, run.stderr
            break
        assert run.code == -9, run.stderr
        start = steps.index(done) + 2
    world = c.world()
    assert world.differs_from_git() == []
    assert world.suspended() == set(before.suspended)
    assert Snapshot.of(world).replicas == before.replicas
    assert stopped_by_hand(world) == []
    assert lost(world) == []
    # The stuck claim is gone for good: the one VolSync made again binds (after a full reset, at
    # the first sync of the recreated source, a few moments after the script ends).
    world.settle()
    world.save()
    assert world.get("PersistentVolumeClaim", STUCK[1], STUCK[0])["status"]["phase"] == "Bound"
    settled = Snapshot.of(world)
    again = c.run()
    assert again.code == 0, again.stderr
    world = c.world()
    world.settle()
    # A full reset makes VolSync create its cache claims (and their volumes) again, by design;
    # everything git renders, and everything else, is as the first run left it.
    assert without_caches(Snapshot.of(world).specs) == without_caches(settled.specs)
    assert world.differs_from_git() == []
    assert world.suspended() == set(before.suspended)
    assert stopped_by_hand(world) == []


def without_caches(specs: dict[str, Any]) -> dict[str, Any]:
    """Specs but the caches VolSync makes again, and the uid of the claim a volume binds (a
    claim deleted and recreated is a new object of the same name)."""
    out = {}
    for k, v in specs.items():
        if k.endswith("-cache") or k.startswith("PersistentVolume//pvc-"):
            continue
        claim = ((v.get("spec") or {}).get("claimRef")) if isinstance(v, dict) else None
        if claim:
            v = {
                **v,
                "spec": {
                    **v["spec"],
                    "claimRef": {f: x for f, x in claim.items() if f not in ("uid", "resourceVersion")},
                },
            }
        out[k] = v
    return out
