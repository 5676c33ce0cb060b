"""VK302 unique-volume-handle: every static CephFS PersistentVolume needs its own volumeHandle.

## What it does
Compares the rendered static CephFS PersistentVolumes of every app and
reports each one whose `spec.csi.volumeHandle` (for the same driver) is
also the handle of a PersistentVolume with another name, at its
`volumeHandle` line, naming the other volumes.  One PV name rendered by
two Kustomizations is one cluster object, and VK303 reports it.  The
volumes of each cluster (a repository that syncs several) are compared
with each other only: another cluster's nodes stage their own.

## Why is this bad?
kubelet identifies a CSI volume by driver and handle: it stages it once,
under a path made from a hash of the handle, and ceph-csi skips a mount
when that path is already mounted.  On a node running pods of both PVs,
the second PV silently gets the first one's directory, so an app backs up
into, or restores from, another app's `rootPath`.

## Example
```yaml
csi:
  driver: rook-ceph.cephfs.csi.ceph.com
  volumeHandle: volsync-repo
```

## Use instead
```yaml
csi:
  driver: rook-ceph.cephfs.csi.ceph.com
  volumeHandle: volsync-${APP}-repo-pv
```

## References
- kubernetes/kubernetes#105899 (two PVs with one volumeHandle: NodeStage
  is called only once) and #107065 (staging path from the handle's hash)
- ceph/ceph-csi `docs/static-pvc.md` ("volumeHandle can be anything")
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject, has_placeholder

ID = "VK302"
NAME = "unique-volume-handle"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Give every static PersistentVolume its own volumeHandle"

HANDLE = ("spec", "csi", "volumeHandle")


def _describe(other: Subject, me: Subject) -> str:
    if other.ks == me.ks:
        return other.label
    if other.app == me.app:
        return f"{other.label} of Kustomization {other.ks}"
    return f"{other.label} of {other.app}"


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    # Per cluster (KsRef.cluster): the nodes of another cluster stage their own volumes.
    found: dict[tuple[str, str, str], list[Subject]] = {}
    for group in ctx.rendered:
        for pv in group.pvs:
            value = pv.value(*HANDLE)
            if value is None or value.raw in (None, "") or has_placeholder(value.raw):
                continue
            found.setdefault((pv.ks.cluster if pv.ks else "", pv.driver or "", str(value.raw)), []).append(pv)
    for (_cluster, _driver, handle), pvs in found.items():
        for pv in pvs:
            # Sorted: a run that makes a few apps again (lint.patched) meets them in another order.
            others = sorted({_describe(o, pv) for o in pvs if o.name != pv.name})
            if not others:
                continue
            where = pv.value(*HANDLE)
            yield Hit(
                f"volumeHandle {handle} is also the handle of {', '.join(others)}: kubelet stages them as one "
                "volume and mounts whichever rootPath came first; give each PV its own volumeHandle, "
                "such as its name",
                where.loc if where else pv.loc(*HANDLE),
                pv,
            )
