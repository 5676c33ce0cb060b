"""VK112 volume-mode: a static CephFS PV must be a `Filesystem` volume.

## What it does
Checks that `spec.volumeMode` of a static CephFS PersistentVolume, when it
is set, is `Filesystem` (the default when it is left out).

## Why is this bad?
CephFS is a shared file system: ceph-csi's CephFS driver mounts a directory
and has no block volumes (it rejects block capabilities with `block volume
not supported`).  A `Block` PV cannot be mounted by the node plugin, and
a claim only binds to a PV of the same volume mode.  `volumeMode` is
immutable, so fixing it later means deleting and recreating the PV.

## Example
```yaml
spec:
  volumeMode: Block
```

## Use instead
```yaml
spec:
  volumeMode: Filesystem
```

## References
- ceph/ceph-csi `docs/static-pvc.md` (`volumeMode: Filesystem`)
- ceph/ceph-csi `internal/cephfs/validator.go` (`block volume not
  supported`)
- kubernetes/kubernetes `pkg/apis/core/v1/defaults.go` (an unset volumeMode
  becomes Filesystem) and `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`incompatible volumeMode`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject

ID = "VK112"
NAME = "volume-mode"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Leave volumeMode at Filesystem"

MODE = ("spec", "volumeMode")


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    value = pv.value(*MODE)
    if value is None or not value.known or value.raw in (None, "", "Filesystem"):
        return  # unset is defaulted to Filesystem
    yield Hit(
        f"volumeMode is {value.raw!r}: ceph-csi's CephFS driver only mounts file systems and has no block "
        "volumes; set volumeMode: Filesystem (the PVC must match)",
        value.loc,
        pv,
    )
