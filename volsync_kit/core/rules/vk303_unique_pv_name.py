"""VK303 unique-pv-name: one PersistentVolume name must belong to one Flux Kustomization.

## What it does
Reports each static CephFS PersistentVolume whose rendered name is also
rendered by another Flux Kustomization, at its `metadata.name` line,
naming the other Kustomizations.  This is what a duplicated app produces:
a second `ks.yaml` with a new name but the same `APP` value.

## Why is this bad?
PersistentVolumes are cluster-scoped, so both Kustomizations apply the
same object: each reconciliation overwrites the other's labels, a
difference in the immutable CSI fields fails one of the two applies, and
pruning either Kustomization deletes the volume the other still uses.  A
PV binds one claim only, so when the two apps' claims differ, one of them
stays Pending.  Kustomizations of different clusters (a repository that
syncs several) apply to different API servers: each cluster is compared
with itself only.

## Example
```yaml
# kubernetes/apps/media/radarr-copy/ks.yaml
metadata:
  name: radarr-copy
spec:
  postBuild:
    substitute:
      APP: radarr
```

## Use instead
```yaml
metadata:
  name: &app radarr-4k
spec:
  postBuild:
    substitute:
      APP: *app
```

## References
- Flux docs, Kustomization `.spec.prune` (objects are garbage-collected
  by the Kustomization that applied them)
- Kubernetes docs, "Persistent Volumes" (PVs are cluster resources; a claim
  binds one PV exclusively)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject

ID = "VK303"
NAME = "unique-pv-name"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Render every PersistentVolume name from one Kustomization only"


def _describe(other: Subject) -> str:
    return f"Kustomization {other.ks} ({other.app})"


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    found: dict[tuple[str, str], list[Subject]] = {}
    for group in ctx.rendered:
        for pv in group.pvs:
            if pv.name:
                found.setdefault((pv.ks.cluster if pv.ks else "", pv.name), []).append(pv)
    for (_cluster, name), pvs in found.items():
        for pv in pvs:
            others = sorted({_describe(o) for o in pvs if o.ks != pv.ks})
            if not others:
                continue
            yield Hit(
                f"PersistentVolume {name} is also rendered by {', '.join(others)}: both apply and prune one "
                "cluster-scoped volume; give each app its own APP value, or remove the duplicate Kustomization",
                pv.loc("metadata", "name"),
                pv,
            )
