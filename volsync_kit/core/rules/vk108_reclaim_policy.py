"""VK108 reclaim-policy: a static PV must keep the `Retain` reclaim policy.

## What it does
Checks that `spec.persistentVolumeReclaimPolicy` of a static CephFS
PersistentVolume is `Retain`.  Leaving it out is fine: the API server
defaults a PersistentVolume created from a manifest to `Retain` (only
dynamically provisioned PVs get their StorageClass's policy, `Delete` by
default).

## Why is this bad?
ceph-csi does not delete static volumes, and its documentation requires
`Retain` "to avoid PV delete attempt in csi-provisioner".  With `Delete`,
deleting the claim makes Kubernetes try to delete the volume: the PV ends
`Failed` (`no deletable volume plugin matched`) instead of `Released`
and needs manual cleanup.  Worse, a PV copied from a dynamic one that still
has a ceph-csi volume ID and the provisioner annotations (VK109, VK110) is
handed to the provisioner, which can delete the original subvolume and its
data.  `Recycle` is deprecated and not supported by CSI drivers.

## Example
```yaml
spec:
  persistentVolumeReclaimPolicy: Delete
```

## Use instead
```yaml
spec:
  persistentVolumeReclaimPolicy: Retain
```

## References
- ceph/ceph-csi `docs/static-pvc.md` ("persistentVolumeReclaimPolicy in PV
  spec must be set to Retain")
- kubernetes/kubernetes `pkg/apis/core/v1/defaults.go`
  (`SetDefaults_PersistentVolume`: an unset policy becomes Retain)
- Kubernetes API reference, `PersistentVolumeSpec.persistentVolumeReclaimPolicy`
  ("Retain (default for manually created PersistentVolumes)")
- kubernetes/kubernetes#77250, kubernetes/kubernetes#122030 (Delete on a
  static CSI PV)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject

ID = "VK108"
NAME = "reclaim-policy"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Keep persistentVolumeReclaimPolicy at Retain"

POLICY = ("spec", "persistentVolumeReclaimPolicy")


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    value = pv.value(*POLICY)
    if value is None or not value.known or value.raw in (None, "", "Retain"):
        return  # unset (or null/empty) is defaulted to Retain by the API server
    yield Hit(
        f"persistentVolumeReclaimPolicy is {value.raw!r}: ceph-csi never deletes static volumes, so a released PV "
        "ends Failed, and one that still looks provisioned could lose its subvolume; set Retain (the default)",
        value.loc,
        pv,
    )
