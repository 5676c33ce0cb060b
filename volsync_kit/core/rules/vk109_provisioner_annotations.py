"""VK109 provisioner-annotations: a static PV must not carry provisioner annotations.

## What it does
Checks that a static CephFS PersistentVolume has none of the annotations an
external-provisioner writes on the PVs it creates:
`pv.kubernetes.io/provisioned-by`,
`volume.kubernetes.io/provisioner-deletion-secret-name` and
`volume.kubernetes.io/provisioner-deletion-secret-namespace`.

## Why is this bad?
They appear when a dynamically provisioned PV is exported and edited into
a static one.  `provisioned-by` makes Kubernetes treat the PV as
dynamically provisioned: with a `Delete` policy the external-provisioner
calls DeleteVolume on it, with the admin credentials named by the
deletion-secret annotations.  If the volume handle is still the original
ceph-csi volume ID, that deletes the original subvolume and its data.

## Example
```yaml
metadata:
  name: media-share
  annotations:
    pv.kubernetes.io/provisioned-by: rook-ceph.cephfs.csi.ceph.com
    volume.kubernetes.io/provisioner-deletion-secret-name: rook-csi-cephfs-provisioner
    volume.kubernetes.io/provisioner-deletion-secret-namespace: rook-ceph
```

## Use instead
```yaml
metadata:
  name: media-share
```

## References
- ceph/ceph-csi `docs/static-pvc.md` (static volumes are never deleted by
  ceph-csi; Retain to avoid delete attempts by the csi-provisioner)
- rook/rook#11504 (a static PV copied with these annotations)
- rook/rook `Documentation/Storage-Configuration/Shared-Filesystem-CephFS/filesystem-storage.md`
  (copying a dynamic PV into a static one)
- kubernetes/kubernetes#122030 (how the PV controller treats CSI PVs without
  `provisioned-by`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject

ID = "VK109"
NAME = "provisioner-annotations"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Remove provisioned-by and provisioner-deletion-secret annotations from a static PV"

ANNOTATIONS = ("metadata", "annotations")
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
DELETION_SECRETS = (
    "volume.kubernetes.io/provisioner-deletion-secret-name",
    "volume.kubernetes.io/provisioner-deletion-secret-namespace",
)


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    if pv.at(*ANNOTATIONS, PROVISIONED_BY) is not None:
        yield Hit(
            f"annotation {PROVISIONED_BY} marks the PV as dynamically provisioned: with a Delete policy the "
            "provisioner would call DeleteVolume and could delete the original subvolume; remove it",
            pv.loc(*ANNOTATIONS, PROVISIONED_BY),
            pv,
        )
    for key in DELETION_SECRETS:
        if pv.at(*ANNOTATIONS, key) is not None:
            yield Hit(
                f"annotation {key} hands the provisioner the credentials to delete this volume; remove it",
                pv.loc(*ANNOTATIONS, key),
                pv,
            )
