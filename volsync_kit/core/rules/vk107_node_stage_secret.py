"""VK107 node-stage-secret: the PV must name its node-stage Secret.

## What it does
Checks that a static CephFS PersistentVolume sets
`spec.csi.nodeStageSecretRef` with a non-empty `name` and `namespace`.

## Why is this bad?
A static volume is mounted with the user credentials (`userID` and
`userKey`) of the node-stage Secret; admin credentials do not work for it.
Without the reference, ceph-csi refuses every NodeStageVolume call with
`stage secrets cannot be nil or empty`.  The API server rejects a secret
reference without a name or a namespace, and as a PV is cluster-scoped,
neither kustomize nor Flux fills in the namespace.

## Example
```yaml
csi:
  driver: rook-ceph.cephfs.csi.ceph.com
  volumeHandle: volsync-${APP}-repo-pv
  volumeAttributes:
    staticVolume: "true"
```

## Use instead
```yaml
csi:
  driver: rook-ceph.cephfs.csi.ceph.com
  volumeHandle: volsync-${APP}-repo-pv
  nodeStageSecretRef:
    name: rook-csi-cephfs-node
    namespace: rook-ceph
  volumeAttributes:
    staticVolume: "true"
```

## References
- ceph/ceph-csi `docs/static-pvc.md` ("userID and userKey needs to be
  specified in the secret. Static PV will not work with adminID and
  adminKey")
- ceph/ceph-csi `internal/util/validate.go` (`stage secrets cannot be nil
  or empty`)
- kubernetes/kubernetes `pkg/apis/core/validation/validation.go`
  (`validatePVSecretReference`)
- rook/rook `pkg/operator/ceph/csi/secrets.go` (`rook-csi-cephfs-node`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Map, Severity
from volsync_kit.core.rules._api import Context, Hit, Subject

ID = "VK107"
NAME = "node-stage-secret"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Reference the node-stage Secret (userID/userKey) by name and namespace"

CSI = ("spec", "csi")
REF = (*CSI, "nodeStageSecretRef")
FIELDS: dict[str, str] = {
    "name": "the Secret holding userID and userKey (Rook: rook-csi-cephfs-node)",
    "namespace": "the Secret's namespace (Rook: the operator namespace); a PV is cluster-scoped: nothing sets it",
}


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    if not isinstance(pv.at(*REF), Map):
        yield Hit(
            'spec.csi.nodeStageSecretRef is missing: ceph-csi fails with "stage secrets cannot be nil or empty"; '
            "reference the Secret holding userID and userKey (Rook: rook-csi-cephfs-node)",
            pv.loc(*REF) if pv.at(*REF) is not None else pv.loc(*CSI),
            pv,
        )
        return
    for field, target in FIELDS.items():
        value = pv.value(*REF, field)
        if pv.at(*REF, field) is None:
            yield Hit(
                f"nodeStageSecretRef.{field} is missing: the API server rejects the PV; set it to {target}",
                pv.loc(*REF),
                pv,
            )
        elif value is not None and value.known and value.raw in ("", None):
            yield Hit(
                f"nodeStageSecretRef.{field} is empty: the API server rejects the PV; set it to {target}",
                value.loc,
                pv,
            )
