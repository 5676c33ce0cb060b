"""VK202 storage-class: a PVC must name its static PV's storage class explicitly.

## What it does
For every PersistentVolumeClaim bound to a static CephFS PV by
`spec.volumeName`, checks that the claim sets `storageClassName`
explicitly and that it equals the PV's class (`""` for a PV without one).
The beta annotation `volume.beta.kubernetes.io/storage-class`, where
present, counts as the class on either side, as it does for Kubernetes.

## Why is this bad?
The PV controller binds a claim to the volume it names only when both have
the same class, else the claim stays Pending with `Cannot bind to requested
volume ...: storageClassName does not match`.  A claim that omits
`storageClassName` is not class-less: the DefaultStorageClass admission
plugin (or the retroactive default assignment) writes the cluster's default
class into it, and from then on it can never bind the class-less static PV.
The PVC's class cannot be changed afterwards; the claim must be recreated.

## Example
```yaml
kind: PersistentVolumeClaim
metadata:
  name: volsync-${APP}-repo
spec:
  accessModes: [ReadWriteMany]
  resources:
    requests:
      storage: 5Ti
  volumeName: volsync-${APP}-repo-pv
```

## Use instead
```yaml
kind: PersistentVolumeClaim
metadata:
  name: volsync-${APP}-repo
spec:
  accessModes: [ReadWriteMany]
  resources:
    requests:
      storage: 5Ti
  storageClassName: ""
  volumeName: volsync-${APP}-repo-pv
```

## References
- kubernetes/kubernetes `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`checkVolumeSatisfyClaim`: `storageClassName does not match`)
- kubernetes/kubernetes `pkg/apis/core/validation/validation.go`
  (`ValidatePersistentVolumeClaimUpdate`: the class is immutable except nil -> value)
- Kubernetes docs, "Persistent Volumes": "Class" and "Retroactive default
  StorageClass assignment"
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Group, Hit, Subject, Value

ID = "VK202"
NAME = "storage-class"
SEVERITY = Severity.ERROR
SCOPE = "group"
SUMMARY = "Set the PVC's storageClassName explicitly, equal to its PV's"

BETA_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def storage_class(subject: Subject) -> Value | None:
    """The class the PV controller compares: the beta annotation, else ``spec.storageClassName``."""
    annotation = subject.value("metadata", "annotations", BETA_ANNOTATION)
    return annotation if annotation is not None else subject.value("spec", "storageClassName")


def _text(value: Value | None) -> str:
    return "" if value is None or value.raw is None else str(value.raw)


def check(group: Group, ctx: Context) -> Iterator[Hit]:
    for pvc, pv in group.bound_pairs():
        claimed = storage_class(pvc)
        offered = storage_class(pv)
        known = offered is None or offered.known
        want = f'"{_text(offered)}"' if known else "the PV's class"
        if claimed is None or claimed.raw is None:
            yield Hit(
                f"PVC {pvc.name} sets no storageClassName: the default StorageClass is written into it and it "
                f"never binds PV {pv.name}; set storageClassName: {want}",
                claimed.loc if claimed is not None else pvc.loc("spec"),
                pvc,
            )
        elif known and claimed.known and _text(claimed) != _text(offered):
            yield Hit(
                f'storageClassName does not match: PVC {pvc.name} asks for "{_text(claimed)}", PV {pv.name} has '
                f'{want}; use one class on both ("" for a static volume), or the claim stays Pending',
                claimed.loc,
                pvc,
            )
