"""VK103 root-path-absolute: `rootPath` must be an absolute path.

## What it does
Checks that `spec.csi.volumeAttributes.rootPath` of a static CephFS
PersistentVolume starts with `/`.

## Why is this bad?
ceph-csi does not check or normalise `rootPath`: it hands it to the
mounter as written, after the monitors (kernel: `<mons>:<rootPath>`, or
`<user>@<fsid>.<fsName>=<rootPath>` in newer releases) or as
`ceph-fuse -r <rootPath>`.  A relative path gives a malformed mount
source or mounts another directory than intended.  The paths printed by
`ceph fs subvolume getpath` and used in the ceph-csi and Rook examples
are absolute (`/volumes/<group>/<subvolume>/<uuid>`).

## Example
```yaml
volumeAttributes:
  rootPath: volsync/${APP}
```

## Use instead
```yaml
volumeAttributes:
  rootPath: /volsync/${APP}
```

## References
- ceph/ceph-csi `docs/static-pvc.md` (rootPath: "Actual path of the
  subvolume in ceph cluster, can be retrieved by issuing getpath command")
- ceph/ceph-csi `internal/cephfs/mounter/kernel.go` and `fuse.go`
  (rootPath spliced into the mount source / `-r`)
- ceph/ceph-csi#6494 (`user@fsid.fsName=rootPath` device syntax)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import ATTRS, Context, Hit, Subject

ID = "VK103"
NAME = "root-path-absolute"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Write volumeAttributes.rootPath as an absolute path"


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    value = pv.value(*ATTRS, "rootPath")
    if value is None or not value.known or not isinstance(value.raw, str) or not value.raw:
        return  # missing, empty or not a string: VK102 and VK105 report those
    if not value.raw.startswith("/"):
        yield Hit(
            f"rootPath {value.raw!r} is not absolute: ceph-csi passes it to the mounter unchanged, so the mount "
            f"fails or reaches another directory; write the full path in CephFS, e.g. '/{value.raw}'",
            value.loc,
            pv,
        )
