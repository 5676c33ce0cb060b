"""VK201 volume-name: a PVC must name its static PV in `spec.volumeName`.

## What it does
For every PersistentVolumeClaim that belongs with a static CephFS PV (it
names it, or it is the only claim next to it), checks that
`spec.volumeName` is set and equals the PV's name.

## Why is this bad?
A static PV has no provisioner.  A claim without `volumeName` waits for
a matching volume by class, size and access modes, and can bind to another
PV or stay Pending forever; a `volumeName` naming a PV that does not exist
stays Pending.  Kustomize rewrites `volumeName` when it renames the PV,
but only when both are in the same build.

## Example
```yaml
kind: PersistentVolumeClaim
metadata:
  name: volsync-${APP}-repo
spec:
  storageClassName: ""
```

## Use instead
```yaml
kind: PersistentVolumeClaim
metadata:
  name: volsync-${APP}-repo
spec:
  storageClassName: ""
  volumeName: volsync-${APP}-repo-pv
```

## References
- ceph/ceph-csi `docs/static-pvc.md` (static PVC with `volumeName`)
- Kubernetes docs, "Reserving a PersistentVolume"
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity, str_at
from volsync_kit.core.rules._api import Context, Group, Hit

ID = "VK201"
NAME = "volume-name"
SEVERITY = Severity.ERROR
SCOPE = "group"
SUMMARY = "Bind the PVC to its static PV with spec.volumeName"


def check(group: Group, ctx: Context) -> Iterator[Hit]:
    pv_names = {pv.name for pv in group.pvs}
    for pvc in group.pvcs:
        volume = pvc.value("spec", "volumeName")
        if volume is None or volume.raw in (None, ""):
            claimed = [pv.name for pv in group.pvs if str_at(pv.node, "spec", "claimRef", "name") == pvc.name]
            conventional = [n for n in pv_names if n == f"{pvc.name}-pv"]
            candidates = claimed or conventional or sorted(pv_names)
            target = candidates[0] if len(candidates) == 1 else "the static PV's name"
            yield Hit(
                f"PVC {pvc.name} has no spec.volumeName; set it to {target} so it binds to the static PV",
                pvc.loc("spec"),
                pvc,
            )
        elif volume.known and volume.raw not in pv_names and group.pvs:
            yield Hit(
                f"spec.volumeName {volume.raw} names no PersistentVolume here "
                f"(found: {', '.join(sorted(pv_names))}); the claim stays Pending",
                volume.loc,
                pvc,
            )
