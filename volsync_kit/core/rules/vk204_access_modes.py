"""VK204 access-modes: a PVC may only ask for access modes its PV offers.

## What it does
For every PersistentVolumeClaim bound to a static CephFS PV by
`spec.volumeName`, checks that the claim lists `accessModes` and that
each of them is among the PV's `accessModes`.  On both the PV and the PVC,
checks that `ReadWriteOncePod` is not combined with another mode.

## Why is this bad?
The PV controller binds a claim to the volume it names only when the volume
offers every access mode the claim asks for; otherwise the claim stays
Pending with `Cannot bind to requested volume ...: incompatible
accessMode`.  The API server rejects a claim without access modes, and a
PV or PVC that combines `ReadWriteOncePod` with any other mode.  A PVC's
access modes cannot be changed afterwards; the claim must be recreated.

## Example
```yaml
kind: PersistentVolume
spec:
  accessModes: [ReadWriteOnce]
---
kind: PersistentVolumeClaim
spec:
  accessModes: [ReadWriteMany]
  volumeName: volsync-${APP}-repo-pv
```

## Use instead
```yaml
kind: PersistentVolume
spec:
  accessModes: [ReadWriteMany]
---
kind: PersistentVolumeClaim
spec:
  accessModes: [ReadWriteMany]
  volumeName: volsync-${APP}-repo-pv
```

## References
- kubernetes/kubernetes `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`checkVolumeSatisfyClaim`: `incompatible accessMode`)
- kubernetes/kubernetes `pkg/apis/core/validation/validation.go`
  (`ValidatePersistentVolumeSpec`, `ValidatePersistentVolumeClaimSpec`:
  access modes are required; ReadWriteOncePod cannot be combined)
- Kubernetes docs, "Persistent Volumes", "Access Modes"
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity, seq_at
from volsync_kit.core.rules._api import Context, Group, Hit, Subject, Value

ID = "VK204"
NAME = "access-modes"
SEVERITY = Severity.ERROR
SCOPE = "group"
SUMMARY = "Ask in the PVC only for access modes its PV lists"

MODES = ("spec", "accessModes")
RWOP = "ReadWriteOncePod"


def _modes(subject: Subject) -> list[Value]:
    """The access modes as written (entries that are not scalars are left out)."""
    out = []
    for index in range(len(seq_at(subject.node, *MODES))):
        value = subject.value(*MODES, index)
        if value is not None:
            out.append(value)
    return out


def _exclusive(subject: Subject, modes: list[Value]) -> Iterator[Hit]:
    known = [m for m in modes if m.known]
    if len(known) > 1:
        for mode in known:
            if mode.raw == RWOP:
                yield Hit(
                    f"{subject.label} combines ReadWriteOncePod with other access modes, and the API server rejects "
                    "it; list ReadWriteOncePod alone",
                    mode.loc,
                    subject,
                )


def check(group: Group, ctx: Context) -> Iterator[Hit]:
    for pv in group.pvs:
        yield from _exclusive(pv, _modes(pv))
    for pvc, pv in group.bound_pairs():
        asked = _modes(pvc)
        offered = _modes(pv)
        yield from _exclusive(pvc, asked)
        if not seq_at(pvc.node, *MODES):
            yield Hit(
                f"PVC {pvc.name} lists no accessModes, and the API server rejects it; "
                f"ask for the modes PV {pv.name} offers",
                pvc.loc(*MODES) if pvc.at(*MODES) is not None else pvc.loc("spec"),
                pvc,
            )
            continue
        if any(not mode.known for mode in offered):
            continue
        names = sorted({str(mode.raw) for mode in offered})
        for mode in asked:
            if mode.known and str(mode.raw) not in names:
                yield Hit(
                    f"incompatible accessMode: PVC {pvc.name} asks for {mode.raw}, but PV {pv.name} offers "
                    f"{', '.join(names) or 'none'}; ask only for modes the PV lists (the claim stays Pending)",
                    mode.loc,
                    pvc,
                )
