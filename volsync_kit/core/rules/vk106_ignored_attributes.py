"""VK106 ignored-attributes: `monitors`, `pool` and `provisionVolume` do nothing on a static PV.

## What it does
Warns when `spec.csi.volumeAttributes` of a static CephFS
PersistentVolume sets `monitors`, `pool` or `provisionVolume`.

## Why is this bad?
With `staticVolume: "true"` ceph-csi's node plugin parses the attributes
with its static parser, which reads `clusterID`, `rootPath`, `fsName`,
the mount options, `subvolumeGroup` and `mounter`, and nothing else.
These three keys are read only by the legacy "monitor list" parser, taken
when `staticVolume` is absent or false.  They suggest a control that does
not exist: the monitors come from the clusterID's entry in the ceph-csi
config, and a `pool` only decides on which OSDs new data is placed (a file
layout); it never changes what is mounted.  The mount is the monitors of
the clusterID, plus `rootPath`, plus `fsName`.

## Example
```yaml
volumeAttributes:
  clusterID: rook-ceph
  fsName: cephfs
  staticVolume: "true"
  rootPath: /volsync/${APP}
  monitors: 10.0.0.1:6789,10.0.0.2:6789
  pool: cephfs-data0
```

## Use instead
```yaml
volumeAttributes:
  clusterID: rook-ceph
  fsName: cephfs
  staticVolume: "true"
  rootPath: /volsync/${APP}
```

## References
- ceph/ceph-csi `internal/cephfs/store/volumeoptions.go`
  (`NewVolumeOptionsFromStaticVolume` reads no monitors, pool or
  provisionVolume; `NewVolumeOptionsFromMonitorList` does)
- ceph/ceph-csi `internal/cephfs/nodeserver.go` (`getVolumeOptions`:
  the order of the parsers)
- ceph/ceph-csi `internal/cephfs/mounter/kernel.go` and `fuse.go` (what
  the mount is built from)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import ATTRS, Context, Hit, Subject

ID = "VK106"
NAME = "ignored-attributes"
SEVERITY = Severity.WARNING
SCOPE = "pv"
SUMMARY = "Remove monitors, pool and provisionVolume from a static PV"

LEGACY = "only the legacy path, taken when staticVolume is absent or false, reads it"
IGNORED: dict[str, str] = {
    "monitors": (
        f"volumeAttributes.monitors is ignored on the static path ({LEGACY}): ceph-csi takes the monitors from "
        "the clusterID's entry in its config; remove it"
    ),
    "pool": (
        f"volumeAttributes.pool is ignored on the static path ({LEGACY}); a pool only places new data on OSDs "
        "and never changes the mount path, which is the clusterID's monitors + rootPath + fsName; remove it"
    ),
    "provisionVolume": f"volumeAttributes.provisionVolume is ignored on the static path ({LEGACY}); remove it",
}


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    for key, message in IGNORED.items():
        if pv.at(*ATTRS, key) is not None:
            yield Hit(message, pv.loc(*ATTRS, key), pv)
