"""VK205 volume-mode-match: a PVC and its PV must have the same volumeMode.

## What it does
For every PersistentVolumeClaim bound to a static CephFS PV by
`spec.volumeName`, checks that both have the same `volumeMode`; a
missing `volumeMode` means `Filesystem`, on either side.

## Why is this bad?
The PV controller binds a claim to the volume it names only when their
volume modes agree; otherwise the claim stays Pending with `Cannot bind to
requested volume ...: incompatible volumeMode`.  `volumeMode` is
immutable on both objects, so a mismatch means recreating one of them.
A CephFS volume is a filesystem: `Filesystem` is right on both sides.

## Example
```yaml
kind: PersistentVolume
spec:
  volumeMode: Block
---
kind: PersistentVolumeClaim
spec:
  volumeName: volsync-${APP}-repo-pv
```

## Use instead
```yaml
kind: PersistentVolume
spec:
  volumeMode: Filesystem
---
kind: PersistentVolumeClaim
spec:
  volumeMode: Filesystem
  volumeName: volsync-${APP}-repo-pv
```

## References
- kubernetes/kubernetes `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`checkVolumeSatisfyClaim`: `incompatible volumeMode`)
- kubernetes/kubernetes `pkg/apis/core/validation/validation.go`
  (`volumeMode` is immutable on PVs and PVCs)
- Kubernetes docs, "Persistent Volumes", "Volume Mode" (Filesystem is the default)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Group, Hit, Value

ID = "VK205"
NAME = "volume-mode-match"
SEVERITY = Severity.ERROR
SCOPE = "group"
SUMMARY = "Give the PVC the same volumeMode as its PV"

DEFAULT = "Filesystem"


def _mode(value: Value | None) -> str:
    return DEFAULT if value is None or value.raw in (None, "") else str(value.raw)


def check(group: Group, ctx: Context) -> Iterator[Hit]:
    for pvc, pv in group.bound_pairs():
        claimed = pvc.value("spec", "volumeMode")
        offered = pv.value("spec", "volumeMode")
        if any(v is not None and not v.known for v in (claimed, offered)):
            continue
        if _mode(claimed) != _mode(offered):
            yield Hit(
                f"incompatible volumeMode: PVC {pvc.name} is {_mode(claimed)}, PV {pv.name} is {_mode(offered)}; "
                "use volumeMode: Filesystem on both (the claim stays Pending)",
                claimed.loc if claimed is not None else pvc.loc("spec"),
                pvc,
            )
