"""VK111 claim-ref-uid: a PV's `claimRef` must not pin a `uid` or `resourceVersion`.

## What it does
Checks that `spec.claimRef` of a static CephFS PersistentVolume, when it
is set, names the claim only by `namespace` and `name`, without
`uid` or `resourceVersion`.

## Why is this bad?
A `claimRef` with only a namespace and a name pre-binds the PV to that
claim, whatever object carries the name.  A `uid` binds it to one claim
object: when the PVC is deleted and created again (a new uid), the PV
controller sees the old claim gone, marks the PV `Released`, and with
`Retain` it stays `Released` forever, while the new PVC stays
`Pending`.  These fields come from exporting a live PV
(`kubectl get pv -o yaml`); `resourceVersion` is equally stale there.

## Example
```yaml
claimRef:
  namespace: media
  name: media-share
  uid: 2f1c6a34-6c3e-4b8e-9d9a-1b2c3d4e5f60
  resourceVersion: "123456"
```

## Use instead
```yaml
claimRef:
  namespace: media
  name: media-share
```

## References
- kubernetes/kubernetes `pkg/controller/volume/persistentvolume/pv_controller.go`
  (`syncVolume`: a claimRef whose uid no longer exists releases the PV)
- Kubernetes docs, "Persistent Volumes": "Reserving a PersistentVolume" and
  "Retain" (a released volume is not available for another claim)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Map, Severity
from volsync_kit.core.rules._api import Context, Hit, Subject

ID = "VK111"
NAME = "claim-ref-uid"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Pre-bind with claimRef namespace and name only, without uid or resourceVersion"

CLAIM_REF = ("spec", "claimRef")
MESSAGES: dict[str, str] = {
    "uid": (
        "spec.claimRef.uid pins one PVC object: once the PVC is recreated the PV stays Released forever; "
        "remove uid and keep only the claim's namespace and name"
    ),
    "resourceVersion": (
        "spec.claimRef.resourceVersion is a stale value from a live object; remove it and keep only the "
        "claim's namespace and name"
    ),
}


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    if not isinstance(pv.at(*CLAIM_REF), Map):
        return
    for field, message in MESSAGES.items():
        if pv.at(*CLAIM_REF, field) is not None:
            yield Hit(message, pv.loc(*CLAIM_REF, field), pv)
