"""VK101 static-volume: `staticVolume` must be the string `"true"`.

## What it does
Checks that a static CephFS PersistentVolume sets
`spec.csi.volumeAttributes.staticVolume` to the YAML string `"true"`.

## Why is this bad?
ceph-csi's node plugin only takes the static-volume path when
`staticVolume` parses as true.  Without it, it falls back to the legacy
"monitor list" parser, and every mount fails with
`missing required field monitors`, although monitors are never needed for
static volumes (they come from the clusterID's ceph-csi config).  An unquoted
`true` is a YAML boolean, and the API server rejects the whole PV:
`json: cannot unmarshal bool into Go struct field
CSIPersistentVolumeSource.spec.csi.volumeAttributes of type string`.

## Example
```yaml
volumeAttributes:
  clusterID: rook-ceph
  rootPath: /volsync/${APP}
  staticVolume: true
```

## Use instead
```yaml
volumeAttributes:
  clusterID: rook-ceph
  rootPath: /volsync/${APP}
  staticVolume: "true"
```

## References
- ceph/ceph-csi `docs/static-pvc.md` (staticVolume: "Value must be set to
  true to mount and unmount static cephFS PVC")
- ceph/ceph-csi `internal/cephfs/store/volumeoptions.go`
  (`NewVolumeOptionsFromMonitorList`: `missing required field monitors`)
- rook/rook#11504, rook/rook#4557
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import ATTRS, Context, Hit, Subject

ID = "VK101"
NAME = "static-volume"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = 'Set volumeAttributes.staticVolume to the string "true"'


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    value = pv.value(*ATTRS, "staticVolume")
    if value is None:
        yield Hit(
            'staticVolume is missing: ceph-csi takes the legacy path and mounts fail with "missing required '
            'field monitors"; add staticVolume: "true"',
            pv.loc(*ATTRS),
            pv,
        )
    elif isinstance(value.raw, bool):
        yield Hit(
            f"staticVolume is the YAML boolean {str(value.raw).lower()}: the API server rejects the PV; "
            'quote it: staticVolume: "true"',
            value.loc,
            pv,
        )
    elif value.known and value.raw != "true":
        yield Hit(f'staticVolume is {value.raw!r}; it must be the string "true"', value.loc, pv)
