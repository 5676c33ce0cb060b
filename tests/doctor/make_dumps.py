"""Write the doctor test dumps: the example repository as a cluster would hold it.

    python tests/doctor/make_dumps.py

Each dump is a ``List`` in the shape ``kubectl get -o json`` prints: the objects
the example renders, with what the API server and the controllers add (uid,
resourceVersion, creationTimestamp, claimRef, volumeName, status, events), and
then one scenario's damage.  The files are committed; rerun this after the
example changes, and review the diff.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NOW = "2026-11-28T12:00:00Z"
CREATED = "2026-10-01T08:00:00Z"
LAST_SYNC = "2026-11-28T11:00:07Z"  # the hourly schedules ran on time


def uid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, seed))


def live(obj: dict[str, Any], version: int) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    ident = f"{out['kind']}/{meta.get('namespace', '')}/{meta['name']}"
    meta.update(uid=uid(ident), resourceVersion=str(100000 + version), creationTimestamp=CREATED, generation=1)
    return out


def healthy() -> list[dict[str, Any]]:
    rendered = json.loads(
        subprocess.run(
            [sys.executable, "-m", "volsync_kit", "render", "--repo", str(ROOT / "examples" / "home-ops"),
             "--format", "json", "--no-cache"],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    items: list[dict[str, Any]] = []
    for n, obj in enumerate(o for app in rendered["apps"] for o in app["objects"]):
        kind = obj["kind"]
        if kind not in ("PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination"):
            continue
        item = live(obj, n)
        if kind == "PersistentVolume":
            claim = item["metadata"]["name"].removesuffix("-pv")
            namespace = item["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"]
            item["spec"]["claimRef"] = {
                "apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim, "namespace": namespace,
                "uid": uid(f"PersistentVolumeClaim/{namespace}/{claim}"), "resourceVersion": "100001",
            }  # fmt: skip
            item["status"] = {"phase": "Bound", "lastPhaseTransitionTime": CREATED}
        elif kind == "PersistentVolumeClaim":
            spec = item["spec"]
            spec.setdefault("volumeMode", "Filesystem")
            if not spec.get("volumeName"):
                spec["volumeName"] = "pvc-" + uid(f"pv-for/{item['metadata']['namespace']}/{item['metadata']['name']}")
            spec.setdefault("storageClassName", "ceph-block")
            item["status"] = {
                "phase": "Bound",
                "accessModes": spec.get("accessModes", []),
                "capacity": spec.get("resources", {}).get("requests", {}),
            }
        elif kind == "ReplicationSource":
            item["status"] = {
                "lastSyncTime": LAST_SYNC,
                "lastSyncDuration": "7.1s",
                "nextSyncTime": "2026-11-28T12:00:00Z",
                "conditions": [
                    {"type": "Synchronizing", "status": "False", "reason": "WaitingForSchedule",
                     "message": "Waiting for next scheduled synchronization", "lastTransitionTime": LAST_SYNC}
                ],
                "latestMoverStatus": {"result": "Successful", "logs": "processed 1234 files\nsnapshot 3f2a1b saved"},
                "restic": {"lastPruned": "2026-11-25T11:00:00Z"},
            }  # fmt: skip
        else:
            item["status"] = {
                "lastSyncTime": CREATED,
                "conditions": [
                    {"type": "Synchronizing", "status": "False", "reason": "WaitingForManual",
                     "message": "Waiting for manual trigger", "lastTransitionTime": CREATED}
                ],
                "latestImage": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                "name": f"volsync-{item['metadata']['name']}-dest-20261001080000"},
            }  # fmt: skip
        items.append(item)
    items.append(event("Normal", "Pulled", "Pod", "media", "volsync-src-sonarr-x7k2p", "Container image pulled", 1))
    return items


def event(kind_: str, reason: str, kind: str, namespace: str, name: str, message: str, count: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{name}.{uid(message)[:16]}", "namespace": namespace, "uid": uid(name + message),
                     "resourceVersion": "200001", "creationTimestamp": "2026-11-28T10:02:00Z"},
        "involvedObject": {"apiVersion": "v1", "kind": kind, "name": name, "namespace": namespace,
                           "uid": uid(f"{kind}/{namespace}/{name}")},
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet" if kind == "Pod" else "persistentvolume-controller"},
        "firstTimestamp": "2026-11-28T10:02:00Z",
        "lastTimestamp": "2026-11-28T11:58:00Z",
        "count": count,
        "type": kind_,
    }  # fmt: skip


def find(items: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(i for i in items if i["kind"] == kind and i["metadata"]["name"] == name)


def stuck_cache(items: list[dict[str, Any]]) -> None:
    cache = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "volsync-src-sonarr-cache", "namespace": "media", "uid": uid("cache-sonarr"),
                     "resourceVersion": "300001", "creationTimestamp": "2026-11-28T10:00:00Z",
                     "labels": {"app.kubernetes.io/created-by": "volsync"},
                     "ownerReferences": [{"apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource",
                                          "name": "sonarr", "uid": uid("ReplicationSource/media/sonarr"),
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}},
                 "storageClassName": "ceph-block", "volumeMode": "Filesystem"},
        "status": {"phase": "Pending"},
    }  # fmt: skip
    items.append(cache)
    items.append(
        event("Warning", "ProvisioningFailed", "PersistentVolumeClaim", "media", "volsync-src-sonarr-cache",
              "failed to provision volume with StorageClass \"ceph-block\": rpc error: code = Aborted desc = "
              "an operation with the given Volume ID pvc-8d2c1f0e-3b5a-4c71-9a55-2f0f6f1e9b11 already exists", 23)
    )  # fmt: skip


def mount_error(needle: str, app: str) -> Any:
    def apply(items: list[dict[str, Any]]) -> None:
        pv = f"volsync-{app}-repo-pv"
        message = (
            f'MountVolume.MountDevice failed for volume "{pv}" : rpc error: code = Internal desc = '
            f"rpc error: code = Internal desc = {needle}"
        )
        namespace = find(items, "PersistentVolume", pv)["spec"]["claimRef"]["namespace"]
        items.append(event("Warning", "FailedMount", "Pod", namespace, f"volsync-src-{app}-q8v4n", message, 6))

    return apply


def released(items: list[dict[str, Any]]) -> None:
    pv = find(items, "PersistentVolume", "volsync-radarr-repo-pv")
    pv["status"] = {"phase": "Released", "lastPhaseTransitionTime": "2026-11-28T09:00:00Z"}
    items.remove(find(items, "PersistentVolumeClaim", "volsync-radarr-repo"))


def orphan(items: list[dict[str, Any]]) -> None:
    pv = copy.deepcopy(find(items, "PersistentVolume", "volsync-sonarr-repo-pv"))
    pv["metadata"]["name"] = "volsync-lidarr-repo-pv"
    pv["metadata"]["uid"] = uid("lidarr")
    pv["metadata"]["labels"] = {
        "kustomize.toolkit.fluxcd.io/name": "lidarr",
        "kustomize.toolkit.fluxcd.io/namespace": "media",
    }
    pv["spec"]["csi"]["volumeHandle"] = "volsync-lidarr-repo-pv"
    pv["spec"]["csi"]["volumeAttributes"]["rootPath"] = "/volsync/lidarr"
    pv["spec"].pop("claimRef")
    pv["status"] = {"phase": "Available"}
    items.append(pv)


def kustomization(namespace: str, name: str, ready: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": namespace, "uid": uid(f"ks-{namespace}-{name}"), "generation": 7,
                     "resourceVersion": "400001", "creationTimestamp": CREATED},
        "spec": {"interval": "1h", "prune": True,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"}},
        "status": {"observedGeneration": 7, "lastAppliedRevision": "main@sha1:5d1c0a7",
                   "lastAttemptedRevision": "main@sha1:9e4b2f1", "conditions": [ready]},
    }  # fmt: skip


def drift(items: list[dict[str, Any]]) -> None:
    """The cluster still has the old rootPath, and its Kustomization fails on the immutable field;
    Flux's other Kustomizations (read along with it, as kubectl lists them all) are Ready."""
    pv = find(items, "PersistentVolume", "volsync-sonarr-repo-pv")
    pv["spec"]["csi"]["volumeAttributes"]["rootPath"] = "/k8s-backups/volsync/sonarr"
    owners = {("flux-system", "flux-system"), ("flux-system", "cluster-apps")}
    for item in items:
        labels = item["metadata"].get("labels") or {}
        if "kustomize.toolkit.fluxcd.io/name" in labels:
            owners.add((labels["kustomize.toolkit.fluxcd.io/namespace"], labels["kustomize.toolkit.fluxcd.io/name"]))
    for namespace, name in sorted(owners - {("media", "sonarr")}):
        items.append(
            kustomization(namespace, name, {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                                            "lastTransitionTime": CREATED,
                                            "message": "Applied revision: main@sha1:9e4b2f1"})
        )  # fmt: skip
    items.append(
        kustomization("media", "sonarr",
                      {"type": "Ready", "status": "False", "reason": "ReconciliationFailed",
                       "lastTransitionTime": "2026-11-28T11:40:00Z",
                       "message": "PersistentVolume/volsync-sonarr-repo-pv dry-run failed (Invalid): "
                                  "PersistentVolume \"volsync-sonarr-repo-pv\" is invalid: "
                                  "spec.persistentvolumesource: "
                                  "Forbidden: spec.persistentvolumesource is immutable after creation"})
    )  # fmt: skip


def mover_job(namespace: str, owner: str, status: dict[str, Any]) -> dict[str, Any]:
    """VolSync's mover Job as the cluster holds it while it fails (it deletes the Job of a
    successful sync, so the healthy movers have none)."""
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": f"volsync-src-{owner}", "namespace": namespace, "uid": uid(f"job-{owner}"),
                     "resourceVersion": "500001", "creationTimestamp": "2026-11-28T11:00:00Z",
                     "labels": {"app.kubernetes.io/created-by": "volsync"},
                     "ownerReferences": [{"apiVersion": "volsync.backube/v1alpha1", "kind": "ReplicationSource",
                                          "name": owner, "uid": uid(f"ReplicationSource/{namespace}/{owner}"),
                                          "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"backoffLimit": 8, "template": {"spec": {"restartPolicy": "Never", "containers": []}}},
        "status": {"startTime": "2026-11-28T11:00:00Z", **status},
    }  # fmt: skip


def failing(items: list[dict[str, Any]]) -> None:
    rs = find(items, "ReplicationSource", "jellyfin")
    rs["status"]["conditions"] = [
        {"type": "Synchronizing", "status": "False", "reason": "Error",
         "message": "job volsync-src-jellyfin failed: BackoffLimitExceeded",
         "lastTransitionTime": "2026-11-28T11:20:00Z"}
    ]  # fmt: skip
    rs["status"]["latestMoverStatus"] = {
        "result": "Failed",
        "logs": "Fatal: unable to open config file: stat /repository/config: no such file or directory\n"
        "Is there a repository at the following location?\n/repository",
    }
    items.append(
        mover_job("media", "jellyfin", {"failed": 9, "conditions": [
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
             "message": "Job has reached the specified backoff limit", "lastTransitionTime": "2026-11-28T11:20:00Z"}]})
    )  # fmt: skip


def late(items: list[dict[str, Any]]) -> None:
    rs = find(items, "ReplicationSource", "paperless")
    rs["status"]["lastSyncTime"] = "2026-11-26T03:00:09Z"


def locked(items: list[dict[str, Any]]) -> None:
    rs = find(items, "ReplicationSource", "home-assistant")
    rs["status"]["latestMoverStatus"] = {
        "result": "Failed",
        "logs": "repo lock: unable to create lock in backend: repository is already locked by PID 42 on "
        "volsync-src-home-assistant-b7x9q by root (UID 0, GID 0)\nlock was created at 2026-11-28 09:00:03",
    }
    items.append(mover_job("default", "home-assistant", {"active": 1, "failed": 3}))  # retrying, locked out


SCENARIOS = {
    "healthy": [],
    "stuck-cache": [stuck_cache],
    "mount-root-path": [mount_error("mount error 2 = No such file or directory", "jellyfin")],
    "mount-static-volume": [mount_error("missing required field monitors", "radarr")],
    "mount-fs-name": [mount_error("missing required field fsName", "pgadmin")],
    "released": [released],
    "orphan": [orphan],
    "drift": [drift],
    "sync-failing": [failing],
    "sync-late": [late],
    "restic-locked": [locked],
}


def main() -> None:
    base = healthy()
    for name, damages in SCENARIOS.items():
        items = copy.deepcopy(base)
        for damage in damages:
            damage(items)
        doc = {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}
        (HERE / "dumps" / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
