"""Compare two renderings of a repository, per app and per volume object.

Objects are matched by identity (group, kind, namespace, name) across the
whole repository, so files that move and components that are split leave
identical objects, and nothing to do.  An app whose head rendering fails is
a render failure: a failed Flux build prunes nothing, so its base objects
are never reported as deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from volsync_kit.core.facts import claim_volume
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.model import (
    KsRef,
    Plain,
    Problem,
    Resource,
    Severity,
    pickled_by_fields,
    same_unbuilt,
    str_at,
    to_plain,
)
from volsync_kit.core.mutability import classify
from volsync_kit.core.render import repository_secret_names
from volsync_kit.core.variables import external_secret_target

Action = Literal["create", "update", "replace", "delete"]
Key = tuple[str, str, str, str, str]  # group, kind, namespace, name, cluster
KsKey = tuple[str, str, str]  # cluster, namespace, name

VOLSYNC = "volsync.backube"
TRACKED = frozenset(
    {
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        (VOLSYNC, "ReplicationSource"),
        (VOLSYNC, "ReplicationDestination"),
        ("storage.k8s.io", "StorageClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
    }
)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class FieldChange:
    path: str
    before: Plain
    after: Plain
    forces_replacement: bool
    reason: str = ""


@dataclass(frozen=True)
class Change:
    app: str
    ks: KsRef
    kind: str
    name: str
    namespace: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    prune: bool = False  # a deletion Flux performs itself (garbage collection)
    base: Resource | None = None
    head: Resource | None = None
    ks_removed: bool = False  # the whole Flux Kustomization is gone from head

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class RenderFailure:
    app: str
    ks: KsRef
    problems: tuple[Problem, ...]
    at: Literal["head", "base"] = "head"  # which side does not build


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    failures: tuple[RenderFailure, ...]
    base_model: RepoModel
    head_model: RepoModel
    # What volumes.volume_tools found, kept by it: asked once per replaced volume.
    tools: object = field(default=None, init=False, repr=False, compare=False)


def _ident(res: Resource, cluster: str) -> Key:
    # Two clusters of one repository each have their own objects of one name.
    return (res.group, res.kind, res.namespace, res.name, cluster)


def _ks_key(ref: KsRef) -> KsKey:
    return (ref.cluster, ref.namespace, ref.name)


def tracked_objects(model: RepoModel) -> Mapping[Key, tuple[Resource, KsResult]]:
    """Volume objects and the restic Secrets/ExternalSecrets they use, by identity
    (found once per model: the diff, the planner and the checklist each ask)."""
    if model.tracked is None:
        object.__setattr__(model, "tracked", MappingProxyType(_tracked_objects(model)))
    return model.tracked  # type: ignore[return-value]


def release(made: Diff) -> None:
    """Drop what :func:`tracked_objects` keeps on the diff's models, once the
    plan is made: the reports read none of it (4 MB of a 2,000-app plan's peak)."""
    for model in (made.base_model, made.head_model):
        object.__setattr__(model, "tracked", None)


def _tracked_objects(model: RepoModel) -> dict[Key, tuple[Resource, KsResult]]:
    out: dict[Key, tuple[Resource, KsResult]] = {}
    for result in model.results:
        if result.status != "rendered":
            continue
        secrets = repository_secret_names(result.resources)
        for res in result.resources:
            group, kind = res.group, res.kind  # read once: 40,000 objects at 2,000 apps
            wanted = (group, kind) in TRACKED
            if kind == "Secret" and not group:
                wanted = (res.namespace, res.name) in secrets
            elif kind == "ExternalSecret":
                wanted = (res.namespace, external_secret_target(res)) in secrets
            if wanted:
                out.setdefault(_ident(res, result.ks.ref.cluster), (res, result))
    return out


def _format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or "/" in part:
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else part
    return out


def _leaf_changes(
    before: Plain, after: Plain, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Plain, Plain]]:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                yield from _leaf_changes(before.get(key), after.get(key), (*path, key))
    elif before != after:
        yield path, before, after


OWNER_LABEL_PREFIX = "kustomize.toolkit.fluxcd.io/"


# What the API server fills in when git leaves a field out (kubernetes
# pkg/apis/core/v1/defaults.go: SetDefaults_PersistentVolume and
# SetDefaults_PersistentVolumeClaim), so that leaving it out and writing the
# default are the same object.  A claim's storageClassName is not among
# them: unset asks the DefaultStorageClass admission plugin for a class,
# which is not the same as "".
API_DEFAULTS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "PersistentVolume": ((("spec", "volumeMode"), "Filesystem"), (("spec", "persistentVolumeReclaimPolicy"), "Retain")),
    "PersistentVolumeClaim": ((("spec", "volumeMode"), "Filesystem"),),
}


def with_api_defaults(kind: str, plain: Plain) -> Plain:
    """``plain`` with the fields the API server defaults filled in."""
    if not isinstance(plain, dict):
        return plain
    for path, value in API_DEFAULTS.get(kind, ()):
        parent = plain
        for key in path[:-1]:
            child = parent.get(key)
            if not isinstance(child, dict):
                break
            parent = child
        else:
            if parent.get(path[-1]) is None:
                parent[path[-1]] = value
    return plain


def field_changes(kind: str, base: Resource, head: Resource, expandable: dict[str, bool]) -> tuple[FieldChange, ...]:
    claim_class = str_at(base.node, "spec", "storageClassName")
    out: list[FieldChange] = []
    before_plain = with_api_defaults(kind, to_plain(base.node))
    after_plain = with_api_defaults(kind, to_plain(head.node))
    for path, before, after in _leaf_changes(before_plain, after_plain):
        verdict = classify(kind, path, before, after, expandable_classes=expandable, claim_class=claim_class)
        out.append(FieldChange(_format_path(path), before, after, verdict.forces_replacement, verdict.reason))
    return tuple(out)


def _expandable_classes(model: RepoModel) -> dict[str, bool]:
    classes: dict[str, bool] = {}
    for result in model.results:
        for res in result.resources:
            if res.kind == "StorageClass" and res.group == "storage.k8s.io":
                node = res.node.items.get("allowVolumeExpansion")
                classes[res.name] = bool(getattr(node, "value", False) is True)
    return classes


def _prunes(result: KsResult) -> bool:
    node = result.ks.spec("prune")
    return bool(getattr(node, "value", False) is True)


def _deletes_on_removal(result: KsResult) -> bool:
    """Whether deleting the Flux Kustomization deletes what it applied."""
    policy = result.ks.spec_str("deletionPolicy") or "MirrorPrune"
    if policy == "Orphan":
        return False
    if policy in ("Delete", "WaitForTermination"):
        return True
    return _prunes(result)


BOUND_PV_REPLACED = (
    "its PersistentVolume is replaced: a bound PV cannot go before its claim (pv-protection), "
    "and a claim whose PV disappears goes Lost"
)


def _cascade_claims(
    changes: list[Change],
    base_objects: Mapping[Key, tuple[Resource, KsResult]],
    head_objects: Mapping[Key, tuple[Resource, KsResult]],
) -> list[Change]:
    """Replacing a bound PV forces replacing the claim bound to it."""
    replaced = {(c.ks.cluster, c.name) for c in changes if c.kind == "PersistentVolume" and c.action == "replace"}
    if not replaced:
        return changes
    out: list[Change] = []
    for c in changes:
        out.append(c)
    listed = {(c.ks.cluster, c.kind, c.namespace, c.name): i for i, c in enumerate(out)}
    for key, (res, _) in sorted(base_objects.items()):
        if key[1] != "PersistentVolumeClaim":
            continue  # read no other body
        volume = claim_volume(res)  # kept with the claim: its body stays packed
        if (key[4], volume) not in replaced or key not in head_objects:
            continue
        forced = FieldChange("spec.volumeName", volume, volume, True, BOUND_PV_REPLACED)
        at = listed.get((key[4], "PersistentVolumeClaim", res.namespace, res.name))
        if at is None:
            head_res, head_owner = head_objects[key]
            out.append(
                Change(head_owner.app, head_owner.ks.ref, res.kind, res.name, res.namespace, "replace",
                       (forced,), base=res, head=head_res)
            )  # fmt: skip
        elif out[at].action == "update":
            c = out[at]
            out[at] = Change(
                c.app, c.ks, c.kind, c.name, c.namespace, "replace", (*c.fields, forced), base=c.base, head=c.head
            )
    return out


KIND_ORDER = {"PersistentVolume": 0, "PersistentVolumeClaim": 1, "ReplicationSource": 2, "ReplicationDestination": 3}


def _order(change: Change) -> tuple[str, str, int, str, str]:
    return (change.ks.cluster, change.app, KIND_ORDER.get(change.kind, 9), change.namespace, change.name)


def _hidden_by_failures(base: RepoModel, head_by_ref: dict[KsKey, KsResult], failed: set[KsKey]) -> set[KsKey]:
    """Base Kustomizations missing from head because an ancestor's head build failed.

    A failed build applies nothing and prunes nothing, so the children it
    would have produced keep running: unknown, never deleted.
    """
    parents = {_ks_key(r.ks.ref): r.parent for r in base.results}
    hidden: set[KsKey] = set()
    for key in parents:
        if key in head_by_ref:
            continue
        seen: set[KsKey] = set()
        parent = parents.get(key)
        while parent is not None and _ks_key(parent) not in seen:
            ancestor = _ks_key(parent)
            if ancestor in failed:
                hidden.add(key)
                break
            seen.add(ancestor)
            parent = parents.get(ancestor)
    return hidden


def diff(base: RepoModel, head: RepoModel) -> Diff:
    base_objects = tracked_objects(base)
    head_objects = tracked_objects(head)
    head_by_ref = {_ks_key(r.ks.ref): r for r in head.results}
    failed = {key for key, r in head_by_ref.items() if r.status == "failed"}
    # A Kustomization whose base does not build is not compared: its head
    # objects are not new, and treating the base as empty would call them so.
    base_failed = {_ks_key(r.ks.ref) for r in base.results if r.status == "failed"}
    failed |= _hidden_by_failures(base, head_by_ref, failed)
    expandable = _expandable_classes(head)
    changes: list[Change] = []
    for key in sorted(set(base_objects) | set(head_objects)):
        b = base_objects.get(key)
        h = head_objects.get(key)
        if h is None and b is not None:
            res, owner = b
            ks_key = _ks_key(owner.ks.ref)
            if ks_key in failed:
                continue  # unknown: the head build failed, and a failed build prunes nothing
            still = head_by_ref.get(ks_key)
            removed = still is None
            prune = _deletes_on_removal(owner) if removed else _prunes(still)  # type: ignore[arg-type]
            changes.append(
                Change(owner.app, owner.ks.ref, res.kind, res.name, res.namespace, "delete",
                       prune=prune, base=res, ks_removed=removed)
            )  # fmt: skip
        elif b is None and h is not None:
            res, owner = h
            if _ks_key(owner.ks.ref) in base_failed:
                continue
            changes.append(Change(owner.app, owner.ks.ref, res.kind, res.name, res.namespace, "create", head=res))
        elif b is not None and h is not None:
            if b[0] is h[0]:
                continue  # one build of an app the change leaves alone (buildmemo.SharedBuilds)
            if b[0].node is h[0].node or same_unbuilt(b[0].node, h[0].node):
                continue  # one body, or equal bytes never opened: both read from the store alike
            fields = field_changes(key[1], b[0], h[0], expandable)
            if not fields:
                continue
            action: Action = "replace" if any(f.forces_replacement for f in fields) else "update"
            res, owner = h
            changes.append(
                Change(owner.app, owner.ks.ref, res.kind, res.name, res.namespace, action, fields,
                       base=b[0], head=res)
            )  # fmt: skip
    changes = sorted(_cascade_claims(changes, base_objects, head_objects), key=_order)
    failures = tuple(
        RenderFailure(r.app, r.ks.ref, tuple(p for p in r.problems if p.severity is Severity.ERROR))
        for r in head.results
        if r.status == "failed"
    ) + tuple(
        RenderFailure(r.app, r.ks.ref, tuple(p for p in r.problems if p.severity is Severity.ERROR), "base")
        for r in base.results
        if r.status == "failed" and _ks_key(r.ks.ref) not in failed
    )
    return Diff(tuple(changes), failures, base, head)
