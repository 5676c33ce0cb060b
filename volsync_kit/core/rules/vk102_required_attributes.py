"""VK102 required-attributes: `clusterID`, `fsName` and `rootPath` must be set.

## What it does
Checks that a static CephFS PersistentVolume sets
`spec.csi.volumeAttributes.clusterID`, `fsName` and `rootPath`, each
to a non-empty value.

## Why is this bad?
On the static path ceph-csi's node plugin looks up the monitors by
`clusterID` (`clusterID must be set` when it is absent) and mounts
`rootPath` (`missing required field rootPath`).  `fsName` was optional
until the mount syntax changed to `<user>@<fsid>.<fsName>=<rootPath>`;
ceph-csi 3.16 and later fail with `missing required field fsName` without
it, so a PV that mounts today breaks on the next driver upgrade.  A key that
is present but empty fails with `parameter '<key>' cannot be empty`.  The
pod stays in ContainerCreating with the error in its events.

## Example
```yaml
volumeAttributes:
  clusterID: rook-ceph
  staticVolume: "true"
  rootPath: ""
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
- ceph/ceph-csi `docs/static-pvc.md` (clusterID and rootPath are required)
- ceph/ceph-csi `internal/cephfs/store/volumeoptions.go`
  (`NewVolumeOptionsFromStaticVolume`, `GetClusterInformation`,
  `extractOption`, `validateNonEmptyField`)
- ceph/ceph-csi#6275 (`missing required field fsName` with chart 3.16.0),
  ceph/ceph-csi#6494 (fsName documented as required), ceph/ceph-csi#5090
  (new mount syntax)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import ATTRS, Context, Hit, Subject

ID = "VK102"
NAME = "required-attributes"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Set volumeAttributes clusterID, fsName and rootPath"


# What ceph-csi says when the key is absent, and what the value should be.
REQUIRED: dict[str, tuple[str, str]] = {
    "clusterID": (
        '"clusterID must be set"',
        "the clusterID of the cluster's ceph-csi config entry (Rook: the CephCluster namespace)",
    ),
    "fsName": (
        '"missing required field fsName" (ceph-csi >= 3.16)',
        "the CephFS file system name",
    ),
    "rootPath": (
        '"missing required field rootPath"',
        "the absolute path of the directory in CephFS (ceph fs subvolume getpath)",
    ),
}


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    for key, (error, target) in REQUIRED.items():
        if pv.at(*ATTRS, key) is None:
            yield Hit(
                f"volumeAttributes.{key} is missing: ceph-csi fails with {error}; set it to {target}",
                pv.loc(*ATTRS),
                pv,
            )
            continue
        value = pv.value(*ATTRS, key)
        if value is None or not value.known or value.raw not in ("", None):
            continue  # not a scalar or not a string: VK105 reports it
        if value.raw == "":
            why = f"ceph-csi fails with \"parameter '{key}' cannot be empty\""
            yield Hit(f"volumeAttributes.{key} is empty: {why}; set it to {target}", value.loc, pv)
        else:
            yield Hit(f"volumeAttributes.{key} has no value (YAML null); set it to {target}", value.loc, pv)
