"""VK401 expected-values: a static CephFS PV must use the cluster's pinned driver, cluster and secret.

## What it does
Compares every static CephFS PersistentVolume, in its file and as rendered
for each app, with the values `.volsync-kit.yaml` pins under `expect:`:
`driver` (`spec.csi.driver`), `clusterID` and `fsName`
(`spec.csi.volumeAttributes`), `nodeStageSecret` (the name and
namespace of `spec.csi.nodeStageSecretRef`) and `storageClassName`.
Values that are not pinned, or that a `${...}` leaves unknown in the
file, are not checked; an attribute that is absent is left to the rules
that require it.

## Why is this bad?
Each of these must match the cluster, and none shows up before a pod
mounts the volume: an unknown driver leaves the volume unattached,
ceph-csi fails to find an unknown `clusterID` in its config, a wrong
`fsName` mounts another filesystem or fails, and a wrong secret fails
node staging.  A PV's CSI fields are immutable, so fixing one later means
replacing the PV.

## Example
```yaml
# .volsync-kit.yaml: expect: {driver: rook-ceph.cephfs.csi.ceph.com, clusterID: rook-ceph}
csi:
  driver: cephfs.csi.ceph.com
  volumeAttributes:
    clusterID: ceph
```

## Use instead
```yaml
csi:
  driver: rook-ceph.cephfs.csi.ceph.com
  volumeAttributes:
    clusterID: rook-ceph
```

## References
- rook/rook `pkg/operator/ceph/csi/controller.go` (driver name
  `<operator namespace>.cephfs.csi.ceph.com`)
- ceph/ceph-csi `internal/util/csiconfig.go` (clusterID lookup) and
  `docs/static-pvc.md`
- Kubernetes `ValidatePersistentVolumeUpdate` (`spec.persistentvolumesource`
  is immutable)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject, has_placeholder

ID = "VK401"
NAME = "expected-values"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Use the driver, clusterID, fsName, node secret and class pinned in .volsync-kit.yaml"

CSI = ("spec", "csi")
ATTRS = (*CSI, "volumeAttributes")
SECRET = (*CSI, "nodeStageSecretRef")


def _compare(pv: Subject, path: tuple[str, ...], field: str, expected: str | None, key: str) -> Iterator[Hit]:
    if expected is None:
        return
    value = pv.value(*path)
    if value is None or not value.known or has_placeholder(value.raw):
        return
    if value.raw != expected:
        shown = repr(value.raw) if isinstance(value.raw, str) else f"{value.raw} (not a string)"
        yield Hit(
            f"{field} is {shown}; .volsync-kit.yaml expects {expected!r} (expect.{key}): change it to "
            "the expected value, or fix the config",
            value.loc,
            pv,
        )


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    expect = ctx.expect
    yield from _compare(pv, (*CSI, "driver"), "spec.csi.driver", expect.driver, "driver")
    yield from _compare(pv, (*ATTRS, "clusterID"), "clusterID", expect.cluster_id, "clusterID")
    yield from _compare(pv, (*ATTRS, "fsName"), "fsName", expect.fs_name, "fsName")
    if expect.node_stage_secret is not None:
        name, namespace = expect.node_stage_secret
        field = "nodeStageSecretRef"
        yield from _compare(pv, (*SECRET, "name"), f"{field}.name", name, "nodeStageSecret.name")
        yield from _compare(pv, (*SECRET, "namespace"), f"{field}.namespace", namespace, "nodeStageSecret.namespace")
    if expect.storage_class is not None:
        if pv.value("spec", "storageClassName") is None:
            if expect.storage_class != "":
                yield Hit(
                    f"storageClassName is not set; .volsync-kit.yaml expects {expect.storage_class!r} "
                    "(expect.storageClassName): set it on the PV and its claim",
                    pv.loc("spec"),
                    pv,
                )
        else:
            yield from _compare(
                pv, ("spec", "storageClassName"), "storageClassName", expect.storage_class, "storageClassName"
            )
