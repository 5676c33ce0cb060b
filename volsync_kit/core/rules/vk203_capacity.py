"""VK203 capacity: a PVC must not request more storage than its PV's capacity.

## What it does
For every PersistentVolumeClaim bound to a static CephFS PV by
`spec.volumeName`, compares the claim's `spec.resources.requests.storage`
with the PV's `spec.capacity.storage` as Kubernetes quantities (`5Ti`,
`500Gi`, `1e12`).  A missing, unparsable or non-positive quantity on
either side is reported too.

## Why is this bad?
The PV controller binds a claim to the volume it names only when the
volume is large enough; otherwise the claim stays Pending with `Cannot
bind to requested volume ...: requested PV is too small`.  The API server
rejects a claim without a storage request and a PV without a capacity, and
both reject a quantity they cannot parse.  For a static CephFS volume the
size is informational only (it sets no quota), so the PV's capacity can be
raised in place; the request of a static claim cannot be changed.

## Example
```yaml
kind: PersistentVolume
spec:
  capacity:
    storage: 5Ti
---
kind: PersistentVolumeClaim
spec:
  resources:
    requests:
      storage: ${VOLSYNC_REPO_SIZE:-10Ti}
  volumeName: volsync-${APP}-repo-pv
```

## Use instead
```yaml
kind: PersistentVolume
spec:
  capacity:
    storage: ${VOLSYNC_REPO_SIZE:-10Ti}
---
kind: PersistentVolumeClaim
spec:
  resources:
    requests:
      storage: ${VOLSYNC_REPO_SIZE:-10Ti}
  volumeName: volsync-${APP}-repo-pv
```

## References
- kubernetes/kubernetes `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`checkVolumeSatisfyClaim`: `requested PV is too small`)
- kubernetes/kubernetes `pkg/apis/core/validation/validation.go`
  (PV capacity and PVC storage request are required and positive)
- k8s.io/apimachinery `pkg/api/resource/quantity.go` (quantity syntax)
- Kubernetes docs, "Persistent Volumes", "Reserving a PersistentVolume"
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from volsync_kit.core.model import Loc, Severity
from volsync_kit.core.quantity import parse_quantity
from volsync_kit.core.rules._api import Context, Group, Hit, Subject, Value

ID = "VK203"
NAME = "capacity"
SEVERITY = Severity.ERROR
SCOPE = "group"
SUMMARY = "Request no more storage in the PVC than the PV's capacity"

REQUEST = ("spec", "resources", "requests", "storage")
CAPACITY = ("spec", "capacity", "storage")


def _parent_loc(subject: Subject, path: tuple[str, ...]) -> Loc | None:
    """The deepest key of ``path`` that is written."""
    for depth in range(len(path) - 1, 0, -1):
        if subject.at(*path[:depth]) is not None:
            return subject.loc(*path[:depth])
    return subject.res.origin


def _quantity(subject: Subject, path: tuple[str, ...], fix: str) -> tuple[Value, Decimal] | Hit | None:
    """The quantity at ``path``, or a hit when it is missing or invalid (None when unknown)."""
    field = ".".join(path[1:])
    value = subject.value(*path)
    if value is None and subject.at(*path) is not None:
        return Hit(f"{field} of {subject.label} is not a quantity; {fix}", subject.loc(*path), subject)
    if value is None or value.raw in (None, ""):
        loc = value.loc if value is not None else _parent_loc(subject, path)
        return Hit(f"{subject.label} has no {field}, and the API server rejects it; {fix}", loc, subject)
    if not value.known:
        return None
    size = parse_quantity(value.raw)
    if size is None:
        return Hit(
            f"{field} {value.raw!r} of {subject.label} is not a Kubernetes quantity; write it like 5Ti or 500Gi",
            value.loc,
            subject,
        )
    if size <= 0:
        return Hit(f"{field} of {subject.label} is {value.raw!r}; it must be greater than zero", value.loc, subject)
    return value, size


def check(group: Group, ctx: Context) -> Iterator[Hit]:
    for pvc, pv in group.bound_pairs():
        wanted = _quantity(pvc, REQUEST, f"request at most the capacity of PV {pv.name}")
        offered = _quantity(pv, CAPACITY, "set it to the size its claim requests")
        yield from (found for found in (wanted, offered) if isinstance(found, Hit))
        if isinstance(wanted, tuple) and isinstance(offered, tuple) and wanted[1] > offered[1]:
            request, capacity = wanted[0], offered[0]
            yield Hit(
                f"requested PV is too small: PVC {pvc.name} requests {request.raw} but PV {pv.name} has "
                f"{capacity.raw}; raise the PV's capacity.storage to at least {request.raw} (the claim stays Pending)",
                request.loc,
                pvc,
            )
