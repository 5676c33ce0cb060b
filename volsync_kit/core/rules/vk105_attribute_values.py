"""VK105 attribute-values: every `volumeAttributes` value must be a non-empty string.

## What it does
Checks each value under `spec.csi.volumeAttributes` of a static CephFS
PersistentVolume: it must be a YAML string, and not an empty one.
`staticVolume` is left to VK101, and a missing or empty `clusterID`,
`fsName` or `rootPath` to VK102.

## Why is this bad?
`volumeAttributes` is a `map[string]string`: an unquoted number or
boolean makes the API server reject the whole PV
(`json: cannot unmarshal number into Go struct field
CSIPersistentVolumeSource.spec.csi.volumeAttributes of type string`), and a
key written without a value is YAML null, not a string.  ceph-csi rejects an
optional attribute that is present but empty (`fsName`,
`kernelMountOptions`, `fuseMountOptions`, `subvolumeGroup`,
`mounter`) with `parameter '<key>' cannot be empty`, so every mount
fails.  A value that Flux substitutes can turn into a number, a boolean or
null after rendering even when the template quotes it, so the rendered value
of each app is checked too.

## Example
```yaml
volumeAttributes:
  clusterID: rook-ceph
  fsName: cephfs
  staticVolume: "true"
  rootPath: /volsync/${APP}
  subvolumeGroup: ""
  kernelMountOptions: 3
```

## Use instead
```yaml
volumeAttributes:
  clusterID: rook-ceph
  fsName: cephfs
  staticVolume: "true"
  rootPath: /volsync/${APP}
  kernelMountOptions: "ms_mode=secure"
```

## References
- ceph/ceph-csi `internal/cephfs/store/volumeoptions.go`
  (`extractOptionalOption`, `validateNonEmptyField`)
- Kubernetes API reference, `CSIPersistentVolumeSource.volumeAttributes`
  (`map[string]string`)
- kubernetes-sigs/blob-csi-driver#2262 (the API server's unmarshal error for a
  non-string attribute)
- fluxcd/kustomize-controller `docs/spec/v1/kustomizations.md` (substituted
  numbers and booleans must be quoted to stay strings)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Map, Scalar, Severity
from volsync_kit.core.rules._api import ATTRS, Context, Hit, Subject

ID = "VK105"
NAME = "attribute-values"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Write every volumeAttributes value as a non-empty string"

OWNED_ELSEWHERE = frozenset({"staticVolume"})  # VK101
REQUIRED = frozenset({"clusterID", "fsName", "rootPath"})  # VK102 reports them missing or empty
IGNORED = frozenset({"monitors", "pool", "provisionVolume"})  # VK106 asks to remove them
# Optional attributes that ceph-csi's static path reads and rejects when empty.
CHECKED_EMPTY = frozenset({"kernelMountOptions", "fuseMountOptions", "subvolumeGroup", "mounter"})


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    attrs = pv.at(*ATTRS)
    if not isinstance(attrs, Map):
        return
    for key, node in attrs.items.items():
        if key in OWNED_ELSEWHERE:
            continue
        if not isinstance(node, Scalar):
            shape = "a mapping" if isinstance(node, Map) else "a list"
            yield Hit(
                f"volumeAttributes.{key} is {shape}: the API server rejects the PV, volumeAttributes only takes "
                "strings; write a quoted string",
                pv.loc(*ATTRS, key),
                pv,
            )
            continue
        value = pv.value(*ATTRS, key)
        if value is None or not value.known:
            continue
        raw = value.raw
        if isinstance(raw, bool | int | float):
            kind = "boolean" if isinstance(raw, bool) else "number"
            text = str(raw).lower() if isinstance(raw, bool) else str(raw)
            if pv.view == "file":
                fix = f'quote it: {key}: "{text}"'
            else:  # a literal would have been reported from the file view: this came from substitution
                fix = "Flux re-types substituted values, so substitute one that stays a string"
            yield Hit(
                f"volumeAttributes.{key} {_is(pv)} the YAML {kind} {text}: the API server rejects the PV, "
                f"volumeAttributes only takes strings; {fix}",
                value.loc,
                pv,
            )
        elif raw in ("", None) and key not in REQUIRED and key not in IGNORED:
            yield Hit(_empty_message(pv, key, raw), value.loc, pv)


def _is(pv: Subject) -> str:
    return "is" if pv.view == "file" else "renders as"


def _empty_message(pv: Subject, key: str, raw: object) -> str:
    where = f"volumeAttributes.{key} {'is' if pv.view == 'file' else 'renders'}"
    if raw is None:
        cause = "a key without a value" if pv.view == "file" else "the substitution is empty"
        return f"{where} null ({cause}), which is not a string; write a value or remove the key"
    if key in CHECKED_EMPTY:
        why = f"ceph-csi fails every mount with \"parameter '{key}' cannot be empty\""
        return f"{where} empty: {why}; write a value or remove the key"
    return f"{where} empty: an empty attribute has no effect; write a value or remove the key"
