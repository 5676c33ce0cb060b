"""Every plan of a realistic history, run end to end in the cluster simulation.

After each run: the cluster equals the head rendering; nothing is left
suspended, paused, scaled down or manually triggered that was not so before;
no data volume was lost, no CephFS path lost a snapshot, a repository whose
rootPath moved is whole at its new place (copied there at the gate) with no
new one initialised over it, and no offsite copy (rclone, rsyncTLS) lost what
it held; a second run
changes nothing; and a run killed after each step completes when restarted
with ``--from`` the next one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import EXAMPLE, Cluster, Edit, Snapshot, claim_contents, cluster, lost, stopped_by_hand
from sim.world import World

REPO_PV = "kubernetes/flux/components/volsync/repository/pv.yaml"
DATA_PVC = "kubernetes/flux/components/volsync/operations/pvc.yaml"
MEDIA = "kubernetes/apps/media/kustomization.yaml"
MEDIA_PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"
VOLSYNC_APP = "kubernetes/apps/volsync-system/volsync/app"
ROOT_PATH = [(REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /k8s-backups/volsync/${APP}")]
REMOVE_RADARR = [(MEDIA, "  - ./radarr/ks.yaml\n", "")]
STORAGE_CLASS = """---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: cephfs-volsync
provisioner: rook-ceph.cephfs.csi.ceph.com
parameters:
  clusterID: rook-ceph
  fsName: cephfs
  pool: cephfs-data0
reclaimPolicy: Delete
"""


OPERATIONS = "kubernetes/flux/components/volsync/operations"
# The movers as kopia (perfectra1n/volsync, used by 4 of the 18 corpus repositories):
# the same shape under spec.kopia.
KOPIA = [
    (f"{OPERATIONS}/replicationsource.yaml", "\n  restic:\n", "\n  kopia:\n"),
    (f"{OPERATIONS}/replicationsource.yaml", "\n  restic:\n", "\n  kopia:\n"),
    (f"{OPERATIONS}/replicationdestination.yaml", "\n  restic:\n", "\n  kopia:\n"),
]


SONARR_APP = "kubernetes/apps/media/sonarr/app"


def sonarr_source(name: str, body: str) -> list[Edit]:
    """Another ReplicationSource in sonarr's app folder, listed in its kustomization."""
    listed = "  - ./helmrelease.yaml\n"
    return [
        (f"{SONARR_APP}/{name}.yaml", "", "---\napiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\n"
         f"metadata:\n  name: {name}\nspec:\n{body}"),
        (f"{SONARR_APP}/kustomization.yaml", listed, f"{listed}  - ./{name}.yaml\n"),
    ]  # fmt: skip


# An offsite copy of sonarr's restic repository: an rclone source whose sourcePVC is the
# repository's own static claim, copied as it is (copyMethod Direct: ceph-csi neither
# snapshots nor clones a static volume, ceph/ceph-csi docs/static-pvc.md).
OFFSITE = sonarr_source(
    "sonarr-offsite",
    "  sourcePVC: volsync-sonarr-repo\n  trigger:\n    schedule: 0 4 * * *\n  rclone:\n"
    "    rcloneConfig: sonarr-rclone\n    rcloneConfigSection: r2\n    rcloneDestPath: volsync/sonarr\n"
    "    copyMethod: Direct\n",
)
# An rsync over TLS replication of sonarr's data that also mounts its repository claim.
RSYNC_TLS = sonarr_source(
    "sonarr-rsync",
    "  sourcePVC: sonarr\n  trigger:\n    schedule: 0 5 * * *\n  rsyncTLS:\n    address: backup.example.com\n"
    "    keySecret: sonarr-rsync-tls\n    copyMethod: Direct\n    moverVolumes:\n      - mountPath: repository\n"
    "        volumeSource:\n          persistentVolumeClaim:\n            claimName: volsync-sonarr-repo\n",
)


def new_app(name: str) -> list[Edit]:
    """sonarr's files, copied as a new app ``name``, listed in the media namespace."""
    edits: list[Edit] = []
    for path in sorted((EXAMPLE / "kubernetes/apps/media/sonarr").rglob("*.yaml")):
        relative = path.relative_to(EXAMPLE).as_posix().replace("/sonarr/", f"/{name}/")
        edits.append((relative, "", path.read_text().replace("sonarr", name)))
    edits.append((MEDIA, "  - ./sonarr/ks.yaml\n", f"  - ./sonarr/ks.yaml\n  - ./{name}/ks.yaml\n"))
    return edits


WITH_STORAGE_CLASS = [
    (f"{VOLSYNC_APP}/storageclass.yaml", "", STORAGE_CLASS),
    (
        f"{VOLSYNC_APP}/kustomization.yaml",
        "  - ./helmrelease.yaml\n",
        "  - ./helmrelease.yaml\n  - ./storageclass.yaml\n",
    ),
]


def suspend_sonarr(world: World) -> None:
    world.suspend("Kustomization", "media", "sonarr")


def backing_up_sonarr(world: World) -> None:
    """sonarr's backup is running when the operator starts, and would outlast every wait:
    only pausing its mover ends it (a procedure that skips the pause fails at the delete:
    test_wrong_procedures)."""
    world.long_sync("ReplicationSource", "media", "sonarr")


def copying_offsite(world: World) -> None:
    """sonarr's offsite copy is running, and would outlast every wait."""
    world.long_sync("ReplicationSource", "media", "sonarr-offsite")


def replicating_over_tls(world: World) -> None:
    world.long_sync("ReplicationSource", "media", "sonarr-rsync")


HISTORIES: dict[str, tuple[list[Edit], list[Edit] | None, Callable[[World], None] | None]] = {
    "root-path": (ROOT_PATH, None, None),
    "mounter": ([(REPO_PV, "mounter: kernel", "mounter: fuse")], None, None),
    "app-added": (new_app("lidarr"), None, None),
    "app-removed": (REMOVE_RADARR, None, None),
    "data-pvc-replaced": (
        [(DATA_PVC, "VOLSYNC_ACCESSMODES:=ReadWriteOnce", "VOLSYNC_ACCESSMODES:=ReadWriteMany")],
        None,
        None,
    ),
    "storage-class": (
        [(f"{VOLSYNC_APP}/storageclass.yaml", "pool: cephfs-data0", "pool: cephfs-data1")],
        WITH_STORAGE_CLASS,
        None,
    ),
    "root-path-and-app-removed": (ROOT_PATH + REMOVE_RADARR, None, None),
    "static-data-volume": ([(MEDIA_PV, "rootPath: /media", "rootPath: /media-library")], None, None),
    "already-suspended": (ROOT_PATH, None, suspend_sonarr),
    "root-path-backup-running": (ROOT_PATH, None, backing_up_sonarr),
    "root-path-kopia": (ROOT_PATH, KOPIA, backing_up_sonarr),
    "root-path-offsite-rclone": (ROOT_PATH, OFFSITE, copying_offsite),
    "root-path-rsync-tls-mover": (ROOT_PATH, RSYNC_TLS, replicating_over_tls),
}


def check_end_state(c: Cluster, before: Snapshot, kept: frozenset[str] = frozenset()) -> None:
    world = c.world()
    assert world.differs_from_git() == sorted(kept)
    assert world.suspended() == set(before.suspended)
    assert stopped_by_hand(world) == []
    after = Snapshot.of(world)
    # Workloads of apps added or removed come and go; every other is back at its replicas.
    common = before.replicas.keys() & after.replicas.keys()
    assert {k: after.replicas[k] for k in common} == {k: before.replicas[k] for k in common}
    assert all(after.replicas[k] for k in after.replicas.keys() - common)
    assert lost(world) == []
    contents = claim_contents(world)
    assert {k: contents.get(k) for k in before.contents if k in contents} == {
        k: v for k, v in before.contents.items() if k in contents
    }
    # A moved repository is at its new place, whole, and nothing made a new one there.
    moves = dict(c.moves())
    for path, snapshots in before.cephfs.items():
        assert after.cephfs.get(moves.get(path, path), [])[: len(snapshots)] == snapshots, path
    assert [path for path in world.initialised() if path in moves.values()] == []
    # An offsite copy holds at least what it held.
    for remote, held in before.remotes.items():
        now = after.remotes.get(remote)
        assert now[: len(held)] == held if isinstance(held, list) else now == held, remote


def kept(name: str) -> frozenset[str]:
    """What a Kustomization suspended before the plan keeps: its objects as the base made them."""
    if name != "already-suspended":
        return frozenset()
    return frozenset({"differs PersistentVolume//volsync-sonarr-repo-pv (spec.csi.volumeAttributes.rootPath)"})


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_plan_runs_end_to_end_and_a_second_run_changes_nothing(tmp_path: Path, name: str) -> None:
    change, prepare, setup = HISTORIES[name]
    c = cluster(tmp_path, change, prepare, setup)
    before = Snapshot.of(c.world())
    run = c.run()
    assert run.code == 0, run.stderr
    check_end_state(c, before, kept(name))
    done = Snapshot.of(c.world())
    again = c.run()
    assert again.code == 0, again.stderr
    assert Snapshot.of(c.world()).specs == done.specs
    check_end_state(c, before, kept(name))


def calls_the_cluster(script: str, step: str) -> bool:
    body = script.split(f"\n{step}() {{\n", 1)[1].split("\n}\n", 1)[0]
    lines = [line.strip() for line in body.splitlines()]
    return any(line and not line.startswith(("#", "confirm ", ":")) for line in lines)


def last_done(c: Cluster) -> str | None:
    states = list((c.tmp / "state").glob("*.state"))
    if not states:
        return None
    done = [line.split("\t", 1)[1] for line in states[0].read_text().splitlines() if line.startswith("done\t")]
    return done[-1] if done else None


@pytest.mark.parametrize("name", sorted(HISTORIES))
def test_a_run_killed_after_each_step_completes_with_from(tmp_path: Path, name: str) -> None:
    """One chain: killed after step 1, resumed --from 2 and killed after it, and so on."""
    change, prepare, setup = HISTORIES[name]
    c = cluster(tmp_path, change, prepare, setup)
    before = Snapshot.of(c.world())
    steps = [line.split()[1] for line in c.run("--list").stdout.splitlines()]
    assert steps
    start = 1
    kills = 0
    killed: set[str] = set()
    while True:
        run = c.run("--from", str(start), kill_after=steps[start - 1])
        done = last_done(c)
        if done is None:  # completed: the state is removed at the end
            assert run.code == 0, run.stderr
            break
        assert run.code == -9, run.stderr  # SIGKILL
        killed.add(done)
        kills += 1
        start = steps.index(done) + 2
        assert start <= len(steps), run.stderr
    # A kill lands at the first kubectl or flux call after the step: every step followed by
    # one that calls the cluster was the last one done before some kill.
    text = c.script.read_text()
    assert {a for a, b in itertools.pairwise(steps) if calls_the_cluster(text, b)} <= killed, killed
    check_end_state(c, before, kept(name))


PATCH = "kubectl -n database patch replicationsource cloudbeaver --type merge -p"


def test_root_path_calls_run_in_the_safe_order(tmp_path: Path) -> None:
    c = cluster(tmp_path, ROOT_PATH)
    run = c.run()
    assert run.code == 0, run.stderr
    calls = (c.state.parent / (c.state.name + ".calls")).read_text().splitlines()

    def first(prefix: str) -> int:
        return next(i for i, call in enumerate(calls) if call.startswith(prefix))

    order = [
        first("flux suspend kustomization cloudbeaver -n database"),
        first("""kubectl -n database patch replicationsource cloudbeaver --type merge -p '{"spec":{"paused":true}}'"""),
        first("kubectl -n database delete pvc volsync-cloudbeaver-repo --ignore-not-found --wait=false"),
        first("kubectl delete pv volsync-cloudbeaver-repo-pv --ignore-not-found --wait=false"),
        first("flux reconcile source git flux-system -n flux-system"),
        first("flux resume kustomization cloudbeaver -n database"),
        first("""kubectl -n database patch replicationsource cloudbeaver --type merge -p '{"spec":{"paused":null}}'"""),
        first(f"""{PATCH} '{{"spec":{{"trigger":{{"manual":"volsync-kit-"""),
        first(f"""{PATCH} '{{"spec":{{"trigger":{{"manual":null}}}}}}'"""),
    ]
    assert order == sorted(order)
    assert not any("r2" in call and "paused" in call for call in calls)  # the remote source keeps running
    assert not any(call.startswith("git") for call in calls)  # the operator pushes


def test_an_offsite_copy_of_a_moved_repository_is_stopped_then_copies_the_new_place(tmp_path: Path) -> None:
    """The rclone source that copies sonarr's repository claim offsite is paused and its
    running copy waited for before the claim goes, and its one sync after the resume
    copies the repository, history included, from its new rootPath."""
    c = cluster(tmp_path, ROOT_PATH, OFFSITE, copying_offsite)
    remote, new = "rclone:r2:volsync/sonarr", "cephfs:/k8s-backups/volsync/sonarr"
    assert c.world().remotes()[remote] == ["media/sonarr@v1"]
    run = c.run()
    assert run.code == 0, run.stderr
    world = c.world()
    copied = world.remotes()[remote]
    assert copied[:1] == ["media/sonarr@v1"]
    assert copied == world.cephfs()[new][: len(copied)]
    calls = (c.state.parent / (c.state.name + ".calls")).read_text().splitlines()
    pause = calls.index(
        """kubectl -n media patch replicationsource sonarr-offsite --type merge -p '{"spec":{"paused":true}}'"""
    )
    wait = calls.index("kubectl -n media get pods -l job-name=volsync-rclone-src-sonarr-offsite -o name")
    delete = next(
        i for i, call in enumerate(calls) if call.startswith("kubectl -n media delete pvc volsync-sonarr-repo")
    )
    assert pause < wait < delete
