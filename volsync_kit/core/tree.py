"""The guide's resource hierarchy, drawn from the rendering model.

For each app: the parent Flux Kustomizations, the app's Kustomization, then
each ReplicationSource and ReplicationDestination with what VolSync creates
for it, by VolSync's own naming rules (backube/volsync, domain-facts 3.1):

- mover Job ``volsync-src-<rs>`` / ``volsync-dst-<rd>`` (restic and kopia;
  each other mover has a prefix of its own, :data:`names.JOB_PREFIXES`),
  shortened to the prefix plus a CRC-32 of the owner's name beyond 63
  characters;
- restic's and kopia's cache claim ``volsync-src-<rs>-cache`` /
  ``volsync-dst-<rd>-cache`` (rclone and rsyncTLS keep none);
- with copyMethod Snapshot or Clone, the point-in-time claim
  ``volsync-<rs>-src`` (and, for Snapshot, the VolumeSnapshot of that name);
- the destination claim ``volsync-<rd>-dest`` unless ``destinationPVC`` is
  set, and with copyMethod Snapshot its image ``volsync-<rd>-dest-<time>``.

Objects the repository declares are ``repository``; objects the operator
creates are ``volsync``; Flux Kustomizations are ``flux``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from volsync_kit.core.doctor import Diagnosis, Ident, Report, by_object
from volsync_kit.core.facts import WITH_REPOSITORY, mounted_claims, mover_facts
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.model import KsRef, Map, Resource, from_plain, node_at, str_at
from volsync_kit.core.names import JOB_PREFIXES, mover_job

# "cluster": found only in the cluster, drawn by doctor --tree for what no app renders.
Origin = Literal["flux", "repository", "volsync", "cluster"]
VOLSYNC = "volsync.backube"
NOT_IN_BUILD = "not in this app's build"
CEPHFS_DRIVERS = ("cephfs.csi.ceph.com",)


@dataclass(frozen=True)
class TreeNode:
    kind: str
    name: str
    namespace: str = ""
    origin: Origin = "repository"
    note: str = ""
    children: tuple[TreeNode, ...] = ()
    status: str = ""  # an overlay: a plan action, or the live phase
    # doctor's overlay: "D503 restic-locked" for each diagnosis naming this object,
    # and "path live (git: value)" for each field the cluster holds otherwise.
    findings: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class AppTree:
    app: str
    ks: KsRef
    root: TreeNode


def mover_cache(direction: str, owner: str) -> str:
    return f"volsync-{direction}-{owner}-cache"


def source_copy(owner: str) -> str:
    return f"volsync-{owner}-src"


def destination_claim(owner: str) -> str:
    return f"volsync-{owner}-dest"


def _index(resources: Iterable[Resource]) -> dict[tuple[str, str], Resource]:
    return {(r.kind, r.name): r for r in resources if not r.group or r.group == VOLSYNC}


def _volume_note(pv: Map) -> str:
    driver = str_at(pv, "spec", "csi", "driver") or ""
    if driver.endswith(CEPHFS_DRIVERS) and str_at(pv, "spec", "csi", "volumeAttributes", "staticVolume") == "true":
        root = str_at(pv, "spec", "csi", "volumeAttributes", "rootPath") or "?"
        return f"static CephFS, rootPath {root}"
    if node_at(pv, "spec", "nfs") is not None:
        return f"NFS {str_at(pv, 'spec', 'nfs', 'server')}:{str_at(pv, 'spec', 'nfs', 'path')}"
    return driver or "static"


def _claim(name: str, namespace: str, objects: Mapping[tuple[str, str], Resource]) -> TreeNode:
    """A claim the repository declares, with the volume it binds or its class."""
    pvc = objects.get(("PersistentVolumeClaim", name))
    if pvc is None:
        return TreeNode("PersistentVolumeClaim", name, namespace, "repository", NOT_IN_BUILD)
    volume = str_at(pvc.node, "spec", "volumeName")
    children: tuple[TreeNode, ...] = ()
    if volume:
        pv = objects.get(("PersistentVolume", volume))
        note = _volume_note(pv.node) if pv is not None else NOT_IN_BUILD
        children = (TreeNode("PersistentVolume", volume, "", "repository", note),)
        return TreeNode("PersistentVolumeClaim", name, namespace, "repository", "", children)
    source = node_at(pvc.node, "spec", "dataSourceRef")
    notes = [f"class {str_at(pvc.node, 'spec', 'storageClassName') or '(default)'}"]
    if isinstance(source, Map):
        notes.append(f"restored from {str_at(source, 'kind')} {str_at(source, 'name')}")
    return TreeNode("PersistentVolumeClaim", name, namespace, "repository", "; ".join(notes))


# The movers that keep a cache claim (backube/volsync
# internal/controller/mover/restic/mover.go; kopia's in perfectra1n/volsync).
CACHED = ("restic", "kopia")


def _mover(res: Resource) -> str:
    """The spec key of the object's mover; restic when it sets none of them."""
    facts = mover_facts(res)
    return facts.mover if facts is not None and facts.mover else "restic"


def _cache(direction: str, res: Resource) -> list[TreeNode]:
    """The mover's cache claim, when its mover keeps one."""
    mover = _mover(res)
    if mover not in CACHED:
        return []
    klass = str_at(res.node, "spec", mover, "cacheStorageClassName") or "(default)"
    cache = mover_cache(direction, res.name)
    return [TreeNode("PersistentVolumeClaim", cache, res.namespace, "volsync", f"cache, class {klass}")]


def _job(direction: str, res: Resource) -> list[TreeNode]:
    """The mover's Job, when its mover runs one (syncthing runs a Deployment)."""
    mover = _mover(res)
    if mover not in JOB_PREFIXES:
        return []
    name = mover_job(direction, res.name, mover)
    note = "mover; its pods are named after it" + (
        ", shortened: name over 63 characters" if not name.endswith(res.name) else ""
    )
    return [TreeNode("Job", name, res.namespace, "volsync", note)]


def _source(res: Resource, objects: Mapping[tuple[str, str], Resource]) -> TreeNode:
    ns = res.namespace
    mover = _mover(res)
    method = str_at(res.node, "spec", mover, "copyMethod") or "Direct"
    children: list[TreeNode] = []
    source = str_at(res.node, "spec", "sourcePVC")
    if source:
        children.append(replace(_claim(source, ns, objects), note=_data_note(source, objects)))
    if method in ("Snapshot", "Clone"):
        copy = TreeNode("PersistentVolumeClaim", source_copy(res.name), ns, "volsync", f"point-in-time copy ({method})")
        if method == "Snapshot":
            copy = replace(
                copy,
                children=(TreeNode("VolumeSnapshot", source_copy(res.name), ns, "volsync", "of the source claim"),),
            )
        children.append(copy)
    children.extend(_cache("src", res))
    children.extend(_claim(claim, ns, objects) for claim in mounted_claims(res.node))
    children.extend(_job("src", res))
    note = f"copyMethod {method}"
    if mover in WITH_REPOSITORY:
        note += f"; {mover} Secret {str_at(res.node, 'spec', mover, 'repository') or '?'}"
    return TreeNode("ReplicationSource", res.name, ns, "repository", note, tuple(children))


def _data_note(name: str, objects: Mapping[tuple[str, str], Resource]) -> str:
    pvc = objects.get(("PersistentVolumeClaim", name))
    if pvc is None:
        return "data, declared elsewhere"
    source = node_at(pvc.node, "spec", "dataSourceRef")
    if isinstance(source, Map):
        return f"data, restored from {str_at(source, 'kind')} {str_at(source, 'name')} when first created"
    return "data"


def _destination(res: Resource, objects: Mapping[tuple[str, str], Resource]) -> TreeNode:
    ns = res.namespace
    mover = _mover(res)
    method = str_at(res.node, "spec", mover, "copyMethod") or "Direct"
    children: list[TreeNode] = []
    given = str_at(res.node, "spec", mover, "destinationPVC")
    if given:
        children.append(_claim(given, ns, objects))
    else:
        dest = TreeNode("PersistentVolumeClaim", destination_claim(res.name), ns, "volsync", "destination")
        if method == "Snapshot":
            image = TreeNode(
                "VolumeSnapshot", f"{destination_claim(res.name)}-<YYYYMMDDHHMMSS>", ns, "volsync", "latest image"
            )
            dest = replace(dest, children=(image,))
        children.append(dest)
    children.extend(_cache("dst", res))
    children.extend(_claim(claim, ns, objects) for claim in mounted_claims(res.node))
    children.extend(_job("dst", res))
    return TreeNode("ReplicationDestination", res.name, ns, "repository", f"copyMethod {method}", tuple(children))


def _app_node(result: KsResult) -> TreeNode | None:
    objects = _index(result.resources)
    movers = sorted(
        (
            r
            for r in result.resources
            if r.group == VOLSYNC and r.kind in ("ReplicationSource", "ReplicationDestination")
        ),
        key=lambda r: (r.kind != "ReplicationSource", r.name),
    )
    children = [(_source(r, objects) if r.kind == "ReplicationSource" else _destination(r, objects)) for r in movers]
    used = {n.name for c in children for n in walk_nodes(c) if n.kind == "PersistentVolumeClaim"}
    for res in sorted(result.resources, key=lambda r: r.name):
        # Repository claims no mover mounts (yet) still belong in the picture.
        if (
            res.kind == "PersistentVolumeClaim"
            and not res.group
            and res.name not in used
            and str_at(res.node, "spec", "volumeName")
        ):
            children.append(_claim(res.name, res.namespace, objects))
    if not children:
        return None
    ref = result.ks.ref
    return TreeNode("Kustomization", ref.name, ref.namespace, "flux", f"{ref.file}", tuple(children))


def walk_nodes(node: TreeNode) -> Iterable[TreeNode]:
    """The node, then every node below it, depth first."""
    yield node
    for child in node.children:
        yield from walk_nodes(child)


def build(model: RepoModel, app: str | None = None) -> list[AppTree]:
    """One tree per app that renders VolSync objects or a repository volume."""
    by_ref = {(r.ks.ref.namespace, r.ks.ref.name): r for r in model.results}
    out: list[AppTree] = []
    for result in model.results:
        if result.status != "rendered":
            continue
        name = result.app
        if app is not None and app not in (name, result.ks.ref.name):
            continue
        node = _app_node(result)
        if node is None:
            continue
        parent = result.parent
        seen: set[tuple[str, str]] = set()
        while parent is not None and (parent.namespace, parent.name) not in seen:
            seen.add((parent.namespace, parent.name))
            node = TreeNode(
                "Kustomization", parent.name, parent.namespace, "flux", parent.file or "entry point", (node,)
            )
            above = by_ref.get((parent.namespace, parent.name))
            parent = above.parent if above is not None else None
        out.append(AppTree(name, result.ks.ref, node))
    return sorted(out, key=lambda t: (t.app, t.ks.namespace, t.ks.name))


def overlay(tree: TreeNode, status: Mapping[tuple[str, str, str], str]) -> TreeNode:
    """The same tree with a status on each node ``status`` knows (by kind, namespace, name)."""
    children = tuple(overlay(c, status) for c in tree.children)
    return replace(tree, children=children, status=status.get(tree.ident, tree.status))


# -- doctor's overlay: the cluster's state on the tree ---------------------------------------

Obj = Mapping[str, Any]
# Repository volumes and claims by the template's names (volsync-<app>-repo, -repo-pv).
REPO_OBJECT = re.compile(r"^volsync-.+-repo")


@dataclass(frozen=True)
class LiveTrees:
    """Each app's tree with the cluster's state, and what the cluster holds that no
    drawn tree predicts and no app's name claims (an orphan repository volume, say)."""

    apps: tuple[AppTree, ...]
    unclaimed: tuple[TreeNode, ...] = ()


@dataclass(frozen=True)
class _Cluster:
    """What the overlay looks things up in: the live objects, the kinds doctor read
    (only those can be called missing), and doctor's diagnoses by the object they name."""

    live: Mapping[Ident, Obj]
    read: frozenset[str]
    diagnoses: Mapping[Ident, tuple[Diagnosis, ...]]
    drifts: Mapping[Ident, tuple[str, ...]]

    def findings(self, ident: Ident) -> tuple[str, ...]:
        return tuple(f"{d.id} {d.code}" for d in self.diagnoses.get(ident, ()))


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _conditions(status: Obj) -> list[Obj]:
    found = status.get("conditions")
    return [c for c in found if isinstance(c, Mapping)] if isinstance(found, list) else []


def _condition_text(condition: Obj, *, message: bool) -> str:
    text = f"{condition.get('type')}={condition.get('status')}"
    if condition.get("reason"):
        text += f" {condition['reason']}"
    if message and condition.get("message"):
        text += f": {condition['message']}"
    return text


def _mover_status(status: Obj) -> list[str]:
    """Synchronizing says what the mover does now; its Error, any other condition that
    is False (Reconciled=False, say) and a failed last mover say what went wrong, which
    Synchronizing alone hides (a locked repository still reads WaitingForSchedule)."""
    parts = []
    for c in _conditions(status):
        if c.get("type") == "Synchronizing":
            parts.append(_condition_text(c, message=c.get("reason") == "Error"))
        elif c.get("status") == "False":
            parts.append(_condition_text(c, message=True))
    mover = status.get("latestMoverStatus")
    result = mover.get("result") if isinstance(mover, Mapping) else None
    if result and result != "Successful":
        parts.append(f"last mover {result}")
    if status.get("lastSyncTime"):
        parts.append(f"last sync {status['lastSyncTime']}")
    return parts


def _job_status(status: Obj) -> list[str]:
    counts = ", ".join(f"{key} {_count(status.get(key))}" for key in ("active", "succeeded", "failed"))
    ended = [
        _condition_text(c, message=c.get("type") == "Failed")
        for c in _conditions(status)
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed")
    ]
    return [counts, *ended]


def _snapshot_status(status: Obj) -> list[str]:
    ready = status.get("readyToUse")
    parts = [f"readyToUse {str(ready).lower()}"] if isinstance(ready, bool) else []
    error = status.get("error")
    if isinstance(error, Mapping) and error.get("message"):
        parts.append(f"error: {error['message']}")
    return parts


def _live_status(obj: Obj) -> str:
    status = obj.get("status")
    if not isinstance(status, Mapping):
        return "exists"
    kind = obj.get("kind")
    parts = [str(status["phase"])] if status.get("phase") else []
    if kind in ("ReplicationSource", "ReplicationDestination"):
        parts += _mover_status(status)
    elif kind == "Job":
        parts += _job_status(status)
    elif kind == "VolumeSnapshot":
        parts += _snapshot_status(status)
    elif kind == "Kustomization":
        parts += [_condition_text(c, message=False) for c in _conditions(status) if c.get("type") == "Ready"]
    return ", ".join(parts) or "exists"


def _presence(node: TreeNode, found: Obj | None, cluster: _Cluster) -> str:
    if node.kind not in cluster.read:
        return "not read"  # doctor did not ask for this kind: nothing is known of it
    if found is not None:
        return _live_status(found)
    if node.name.endswith("<YYYYMMDDHHMMSS>"):
        return ""  # a name VolSync has not reported (no latestImage yet): nothing to look up
    # VolSync creates some objects per sync only; the repository's (and Flux's) must exist.
    return "not present" if node.origin == "volsync" else "MISSING"


def _latest_image(node: TreeNode, cluster: _Cluster) -> TreeNode:
    """A destination's VolumeSnapshot named as its status.latestImage reports it."""
    found = cluster.live.get(node.ident)
    image = found.get("status", {}).get("latestImage") if found is not None else None
    name = image.get("name") if isinstance(image, Mapping) else None
    if node.kind != "ReplicationDestination" or not isinstance(name, str):
        return node

    def rename(child: TreeNode) -> TreeNode:
        children = tuple(rename(c) for c in child.children)
        if child.kind == "VolumeSnapshot" and child.name.endswith("<YYYYMMDDHHMMSS>"):
            return replace(child, name=name, note=f"{child.note} (status.latestImage)", children=children)
        return replace(child, children=children)

    return rename(node)


def _live_node(node: TreeNode, cluster: _Cluster) -> TreeNode:
    node = _latest_image(node, cluster)
    found = cluster.live.get(node.ident)
    note = node.note
    if found is not None and node.kind == "PersistentVolume" and note != NOT_IN_BUILD:
        # The volume as the cluster has it: git's rootPath is in the drift, if it differs.
        note = _volume_note(_as_map(found))
    return replace(
        node,
        note=note,
        status=_presence(node, found, cluster),
        findings=cluster.findings(node.ident),
        drift=cluster.drifts.get(node.ident, ()),
        children=tuple(_live_node(c, cluster) for c in node.children),
    )


def _as_map(obj: Obj) -> Map:
    node = from_plain(obj)
    return node if isinstance(node, Map) else Map({})


def _plain(value: object) -> str:
    if value is None:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _drifts(diagnoses: Iterable[Diagnosis]) -> dict[Ident, tuple[str, ...]]:
    out: dict[Ident, tuple[str, ...]] = {}
    for d in diagnoses:
        for f in d.drifts:
            out[f.ident] = (*out.get(f.ident, ()), f"{f.path} {_plain(f.live)} (git: {_plain(f.git)})")
    return out


def _cluster(objects: Iterable[Obj], report: Report) -> _Cluster:
    live: dict[Ident, Obj] = {}
    for obj in objects:
        meta = obj.get("metadata")
        if isinstance(meta, Mapping):
            live[(str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))] = obj
    return _Cluster(live, frozenset(report.checked), by_object(report.diagnoses), _drifts(report.diagnoses))


def _orphan(ident: Ident, obj: Obj, origin: Origin, note: str, cluster: _Cluster) -> TreeNode:
    kind, namespace, name = ident
    if kind == "PersistentVolume":
        note += f"; {_volume_note(_as_map(obj))}"
    return TreeNode(kind, name, namespace, origin, note, (), _live_status(obj), cluster.findings(ident))


def _app_orphans(tree: AppTree, cluster: _Cluster, predicted: set[Ident]) -> tuple[TreeNode, ...]:
    """VolSync's objects in the app's namespace, named after it, that its tree does not
    predict (a cache claim of an older naming, a Job of a removed source)."""
    return tuple(
        _orphan(ident, obj, "volsync", "orphan: in the cluster, not in this tree", cluster)
        for ident, obj in sorted(cluster.live.items())
        if ident[1] == tree.ks.namespace
        and ident[0] in ("PersistentVolumeClaim", "VolumeSnapshot", "Job")
        and ident[2].startswith("volsync-")
        and not REPO_OBJECT.match(ident[2])
        and ident not in predicted
        and _mentions(ident[2], tree.app)
    )


def _unclaimed(cluster: _Cluster, predicted: set[Ident]) -> tuple[TreeNode, ...]:
    """Repository volumes and claims no drawn tree predicts, and any volume doctor calls an
    orphan; "orphan" only on doctor's word, which it withholds while an app fails to build."""
    out = []
    for ident, obj in sorted(cluster.live.items()):
        orphan = any(d.code == "orphan-volume" for d in cluster.diagnoses.get(ident, ()))
        repo = ident[0] in ("PersistentVolume", "PersistentVolumeClaim") and bool(REPO_OBJECT.match(ident[2]))
        if ident in predicted or not (orphan or repo):
            continue
        note = "orphan: rendered by no app" if orphan else "in the cluster, in no tree drawn here"
        out.append(_orphan(ident, obj, "cluster", note, cluster))
    return tuple(out)


def live_trees(trees: list[AppTree], objects: Iterable[Obj], report: Report) -> LiveTrees:
    """The trees with each object's live status, doctor's findings and drift on the object
    they are about; "not read" for kinds doctor did not read, "MISSING" / "not present"
    only for kinds it did; per app, the VolSync objects of its namespace the tree does not
    predict; and apart, the repository volumes no app renders."""
    cluster = _cluster(objects, report)
    predicted = {n.ident for tree in trees for n in walk_nodes(tree.root)}
    apps = []
    for tree in trees:
        root = _live_node(tree.root, cluster)
        orphans = _app_orphans(tree, cluster, predicted)
        predicted |= {o.ident for o in orphans}
        if orphans:
            root = _append_to_app(root, tree.ks, orphans)
        apps.append(replace(tree, root=root))
    return LiveTrees(tuple(apps), _unclaimed(cluster, predicted))


def _mentions(name: str, app: str) -> bool:
    return f"-{app}-" in f"{name}-"


def _append_to_app(node: TreeNode, ks: KsRef, extra: tuple[TreeNode, ...]) -> TreeNode:
    if node.kind == "Kustomization" and (node.namespace, node.name) == (ks.namespace, ks.name):
        return replace(node, children=(*node.children, *extra))
    return replace(node, children=tuple(_append_to_app(c, ks, extra) for c in node.children))
