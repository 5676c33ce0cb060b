"""Which field changes apply in place and which force delete-and-recreate.

A table, read from Kubernetes' update validation (kubernetes/kubernetes
``pkg/apis/core/validation/validation.go`` ``ValidatePersistentVolumeUpdate``
and ``ValidatePersistentVolumeClaimUpdate``, the PVC resize admission
plugin, ``ValidateStorageClassUpdate``), summarised with sources in
``domain-facts.md`` sections 2 and 7.  Custom resources (VolSync's
ReplicationSource/Destination, ExternalSecrets) accept every spec change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from volsync_kit.core.model import Plain
from volsync_kit.core.quantity import parse_quantity

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    forces_replacement: bool
    reason: str = ""  # why it forces a replacement, or what to know about the in-place change


IN_PLACE = Verdict(False)

PV_MUTABLE_SPEC = frozenset(
    {"capacity", "accessModes", "storageClassName", "persistentVolumeReclaimPolicy", "claimRef",
     "volumeAttributesClassName"}
)  # fmt: skip
STORAGE_CLASS_IMMUTABLE = frozenset({"parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"})
SNAPSHOT_CLASS_IMMUTABLE = frozenset({"driver", "parameters"})
CACHE_FIELDS = frozenset({"cacheStorageClassName", "cacheCapacity", "cacheAccessModes"})


def _pv(path: Path, before: Plain, after: Plain) -> Verdict:
    if path[:1] != ("spec",) or len(path) < 2:
        return IN_PLACE if path[:1] == ("metadata",) else Verdict(True, "PersistentVolume identity")
    field = path[1]
    if field == "csi" and path[2:3] == ("controllerExpandSecretRef",) and before is None:
        return Verdict(False, "controllerExpandSecretRef may be added to an existing PV")
    if field == "mountOptions":
        return Verdict(False, "mountOptions take effect only the next time the volume is mounted on a node")
    if field == "nodeAffinity":
        if before is None and len(path) == 2:
            return IN_PLACE
        return Verdict(True, "spec.nodeAffinity is immutable once set")
    if field == "volumeMode":
        return Verdict(True, "spec.volumeMode is immutable")
    if field in PV_MUTABLE_SPEC:
        return IN_PLACE
    return Verdict(True, "spec.persistentvolumesource is immutable after creation")


def _pvc(path: Path, before: Plain, after: Plain, expandable: bool) -> Verdict:
    if path[:1] != ("spec",):
        return IN_PLACE
    field = path[1] if len(path) > 1 else ""
    if field == "volumeName" and before in (None, ""):
        return IN_PLACE
    if field == "storageClassName" and before is None:
        return IN_PLACE
    if field == "volumeAttributesClassName":
        return IN_PLACE
    if path[:4] == ("spec", "resources", "requests", "storage"):
        old, new = _quantity(before), _quantity(after)
        if old is not None and new is not None and new > old and expandable:
            return Verdict(False, "a bound claim may grow when its StorageClass allows volume expansion")
        if old is not None and new is not None and new < old:
            return Verdict(True, "a PersistentVolumeClaim can never shrink")
        return Verdict(True, "a static claim (no StorageClass with allowVolumeExpansion) cannot be resized")
    return Verdict(True, "spec is immutable after creation except resources.requests for bound claims")


def _quantity(value: Plain) -> Decimal | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return parse_quantity(value)
    return None


def classify(
    kind: str,
    path: Path,
    before: Plain,
    after: Plain,
    *,
    expandable_classes: Mapping[str, bool] | None = None,
    claim_class: str | None = None,
) -> Verdict:
    """The verdict for one changed field of an object of ``kind``."""
    if kind == "PersistentVolume":
        return _pv(path, before, after)
    if kind == "PersistentVolumeClaim":
        expandable = bool(claim_class) and bool((expandable_classes or {}).get(claim_class or "", False))
        return _pvc(path, before, after, expandable)
    if kind == "StorageClass" and path[:1] and path[0] in STORAGE_CLASS_IMMUTABLE:
        return Verdict(
            True, f"StorageClass {path[0]} is immutable; the Kustomization applying it fails until recreated"
        )
    if kind == "VolumeSnapshotClass" and path[:1] and path[0] in SNAPSHOT_CLASS_IMMUTABLE:
        return Verdict(True, f"VolumeSnapshotClass {path[0]} is immutable")
    if kind in ("ReplicationSource", "ReplicationDestination") and len(path) >= 3 and path[2] in CACHE_FIELDS:
        return Verdict(False, "restic cache PVCs keep their old settings until they are recreated")
    return IN_PLACE
