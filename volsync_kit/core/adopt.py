"""``generate --adopt``: the settings that make ``generate`` write a
hand-written repository component again, object for object.

A repository that already has its PV/PVC component must be able to start
using ``generate`` without Kubernetes seeing any change: a PV's source
(``volumeHandle``, ``volumeAttributes``) is immutable, so one renamed field
would mean replacing every app's repository volume.  The settings are read
from the component as written (``${APP}`` and ``${VAR:-default}`` kept),
then the caller renders them and compares the result with the original,
document by document, with :func:`differences`: anything the template cannot
express shows up there, by field, and nothing is written.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from volsync_kit.core.diff import with_api_defaults
from volsync_kit.core.generate import ComponentFiles

# ${VAR:-default}: the only variable form the template writes for capacity.
_CAPACITY_VARIABLE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}$]*)\}$")


@dataclass(frozen=True)
class Written:
    """One document of the hand-written component, as plain data."""

    plain: Mapping[str, Any]
    file: str  # repository-relative
    line: int


@dataclass(frozen=True)
class Settings:
    """The config sections that reproduce the component, and what they cannot say."""

    repository: dict[str, Any]
    files: ComponentFiles
    unexpressed: tuple[str, ...]  # "file:line: what", each a reason not to write


def _at(plain: Mapping[str, Any], *path: str) -> Any:
    node: Any = plain
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def settings(pv: Written, pvc: Written, *, kustomization: bool) -> Settings:
    """The ``repository:`` section read from ``pv`` and ``pvc``."""
    notes: list[str] = []
    where_pvc = f"{pvc.file}:{pvc.line}"
    section: dict[str, Any] = {}
    csi = _at(pv.plain, "spec", "csi") or {}
    attributes = csi.get("volumeAttributes") or {}
    secret = csi.get("nodeStageSecretRef") or {}
    for key, value in (
        ("driver", csi.get("driver")),
        ("clusterID", attributes.get("clusterID")),
        ("fsName", attributes.get("fsName")),
        ("rootPath", attributes.get("rootPath")),
    ):
        if value is not None:
            section[key] = value
    section["nodeStageSecret"] = {"name": secret.get("name"), "namespace": secret.get("namespace")}
    for key in ("mounter", "pool"):
        if key in attributes:
            section[key] = attributes[key]
    section["pvName"] = _at(pv.plain, "metadata", "name")
    section["pvcName"] = _at(pvc.plain, "metadata", "name")
    section["volumeHandle"] = csi.get("volumeHandle")
    section["storageClassName"] = _at(pv.plain, "spec", "storageClassName")
    if _at(pvc.plain, "spec", "storageClassName") != section["storageClassName"]:
        notes.append(f"{where_pvc}: the claim's storageClassName differs from the volume's; the template writes one")
    section["accessModes"] = _at(pv.plain, "spec", "accessModes")
    if _at(pvc.plain, "spec", "accessModes") != section["accessModes"]:
        notes.append(f"{where_pvc}: the claim's accessModes differ from the volume's; the template writes one list")
    section.update(_capacity(pv, pvc, notes))
    policy = _at(pv.plain, "spec", "persistentVolumeReclaimPolicy")
    if policy is not None:
        section["reclaimPolicy"] = policy
        if policy == "Delete":
            section["acknowledgeReclaimPolicy"] = True  # written so; lint VK108 says why it is risky
    for key, plain in (("pvMetadata", pv.plain), ("pvcMetadata", pvc.plain)):
        meta = {k: _at(plain, "metadata", k) for k in ("labels", "annotations") if _at(plain, "metadata", k)}
        if meta:
            section[key] = meta
    options = _at(pv.plain, "spec", "mountOptions")
    if options:
        section["mountOptions"] = options
    files = ComponentFiles(pv.file.rsplit("/", 1)[-1], pvc.file.rsplit("/", 1)[-1], kustomization)
    return Settings(section, files, tuple(notes))


def _capacity(pv: Written, pvc: Written, notes: list[str]) -> dict[str, Any]:
    written = _at(pv.plain, "spec", "capacity", "storage")
    if _at(pvc.plain, "spec", "resources", "requests", "storage") != written:
        notes.append(f"{pvc.file}:{pvc.line}: the claim requests another size than the volume's capacity")
    if not isinstance(written, str):
        notes.append(f"{pv.file}:{pv.line}: spec.capacity.storage is not a string the template can write")
        return {}
    match = _CAPACITY_VARIABLE.match(written)
    if match:
        return {"capacityVariable": match.group(1), "capacity": match.group(2)}
    if "$" in written:
        notes.append(
            f"{pv.file}:{pv.line}: spec.capacity.storage is {written!r}; the template writes a size, "
            "or ${VARIABLE:-size}"
        )
        return {}
    return {"capacityVariable": "", "capacity": written}


def normalized(plain: Mapping[str, Any]) -> object:
    """A copy of the document with the API server's defaults filled in, as plan's diff compares it."""
    return with_api_defaults(str(plain.get("kind")), copy.deepcopy(dict(plain)))


def differences(written: Mapping[str, Any], generated: Mapping[str, Any]) -> list[str]:
    """Every field path where ``generated`` is not ``written`` (API defaults filled in both)."""
    return _differences(normalized(written), normalized(generated), "")


def _differences(written: object, generated: object, path: str) -> list[str]:
    if isinstance(written, Mapping) and isinstance(generated, Mapping):
        out: list[str] = []
        for key in dict.fromkeys([*written, *generated]):
            out += _differences(written.get(key), generated.get(key), f"{path}.{key}" if path else str(key))
        return out
    return [] if written == generated else [path]
