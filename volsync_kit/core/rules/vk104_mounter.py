"""VK104 mounter: `mounter`, when set, must be `kernel` or `fuse`.

## What it does
Checks that `spec.csi.volumeAttributes.mounter` of a static CephFS
PersistentVolume, if present, is exactly `kernel` or `fuse`.

## Why is this bad?
ceph-csi validates the attribute while it parses the volume options, before
mounting: any other value (a typo, `Kernel`, `ceph-fuse`) fails every
mount with `unknown mounter '<m>'. Valid options are 'fuse' and 'kernel'`.
Without the attribute the node plugin uses its default mounter.

## Example
```yaml
volumeAttributes:
  mounter: kernal
```

## Use instead
```yaml
volumeAttributes:
  mounter: kernel
```

## References
- ceph/ceph-csi `internal/cephfs/store/volumeoptions.go`
  (`extractMounter`, `validateMounter`)
- ceph/ceph-csi `internal/cephfs/mounter/volumemounter.go` (a valid but
  unavailable mounter falls back to the first available one)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import ATTRS, Context, Hit, Subject

ID = "VK104"
NAME = "mounter"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Set volumeAttributes.mounter to kernel or fuse, or leave it out"

MOUNTERS = ("kernel", "fuse")


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    value = pv.value(*ATTRS, "mounter")
    if value is None or not value.known or not isinstance(value.raw, str) or not value.raw:
        return  # absent, or empty / not a string: VK105 reports those
    if value.raw not in MOUNTERS:
        yield Hit(
            f"mounter {value.raw!r} is not a ceph-csi mounter: mounts fail with \"unknown mounter '{value.raw}'. "
            "Valid options are 'fuse' and 'kernel'\"; set kernel or fuse, or remove it",
            value.loc,
            pv,
        )
