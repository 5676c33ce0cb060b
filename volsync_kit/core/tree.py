"""The guide's resource hierarchy, drawn from the rendering model.

For each app: the parent Flux Kustomizations, the app's Kustomization, then
each ReplicationSource and ReplicationDestination with what VolSync creates
for it, by VolSync's own naming rules (backube/volsync, domain-facts 3.1):

- mover Job ``volsync-src-<rs>`` / ``volsync-dst-<rd>``, shortened to the
  prefix plus a CRC-32 of the owner's name beyond 63 characters;
- restic cache claim ``volsync-src-<rs>-cache`` / ``volsync-dst-<rd>-cache``;
- with copyMethod Snapshot or Clone, the point-in-time claim
  ``volsync-<rs>-src`` (and, for Snapshot, the VolumeSnapshot of that name);
- the destination claim ``volsync-<rd>-dest`` unless ``destinationPVC`` is
  set, and with copyMethod Snapshot its image ``volsync-<rd>-dest-<time>``.

Objects the repository declares are ``repository``; objects the operator
creates are ``volsync``; Flux Kustomizations are ``flux``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.model import KsRef, Map, Resource, node_at, seq_at, str_at
from volsync_kit.core.names import mover_job

Origin = Literal["flux", "repository", "volsync"]
VOLSYNC = "volsync.backube"
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


def _volume_note(pv: Resource) -> str:
    driver = str_at(pv.node, "spec", "csi", "driver") or ""
    if driver.endswith(CEPHFS_DRIVERS) and str_at(pv.node, "spec", "csi", "volumeAttributes", "staticVolume") == "true":
        root = str_at(pv.node, "spec", "csi", "volumeAttributes", "rootPath") or "?"
        return f"static CephFS, rootPath {root}"
    if node_at(pv.node, "spec", "nfs") is not None:
        return f"NFS {str_at(pv.node, 'spec', 'nfs', 'server')}:{str_at(pv.node, 'spec', 'nfs', 'path')}"
    return driver or "static"


def _claim(name: str, namespace: str, objects: Mapping[tuple[str, str], Resource]) -> TreeNode:
    """A claim the repository declares, with the volume it binds or its class."""
    pvc = objects.get(("PersistentVolumeClaim", name))
    if pvc is None:
        return TreeNode("PersistentVolumeClaim", name, namespace, "repository", "not in this app's build")
    volume = str_at(pvc.node, "spec", "volumeName")
    children: tuple[TreeNode, ...] = ()
    if volume:
        pv = objects.get(("PersistentVolume", volume))
        note = _volume_note(pv) if pv is not None else "not in this app's build"
        children = (TreeNode("PersistentVolume", volume, "", "repository", note),)
        return TreeNode("PersistentVolumeClaim", name, namespace, "repository", "", children)
    source = node_at(pvc.node, "spec", "dataSourceRef")
    notes = [f"class {str_at(pvc.node, 'spec', 'storageClassName') or '(default)'}"]
    if isinstance(source, Map):
        notes.append(f"restored from {str_at(source, 'kind')} {str_at(source, 'name')}")
    return TreeNode("PersistentVolumeClaim", name, namespace, "repository", "; ".join(notes))


def _mover_claims(res: Resource) -> list[str]:
    out = []
    for volume in seq_at(res.node, "spec", "restic", "moverVolumes"):
        claim = str_at(volume, "volumeSource", "persistentVolumeClaim", "claimName")
        if claim:
            out.append(claim)
    return out


def _cache(direction: str, res: Resource) -> TreeNode:
    klass = str_at(res.node, "spec", "restic", "cacheStorageClassName") or "(default)"
    return TreeNode(
        "PersistentVolumeClaim", mover_cache(direction, res.name), res.namespace, "volsync", f"cache, class {klass}"
    )


def _job(direction: str, res: Resource) -> TreeNode:
    name = mover_job(direction, res.name)
    note = "mover; its pods are named after it" + (
        ", shortened: name over 63 characters" if not name.endswith(res.name) else ""
    )
    return TreeNode("Job", name, res.namespace, "volsync", note)


def _source(res: Resource, objects: Mapping[tuple[str, str], Resource]) -> TreeNode:
    ns = res.namespace
    method = str_at(res.node, "spec", "restic", "copyMethod") or "Direct"
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
    children.append(_cache("src", res))
    children.extend(_claim(claim, ns, objects) for claim in _mover_claims(res))
    children.append(_job("src", res))
    repository = str_at(res.node, "spec", "restic", "repository") or "?"
    return TreeNode(
        "ReplicationSource",
        res.name,
        ns,
        "repository",
        f"copyMethod {method}; restic Secret {repository}",
        tuple(children),
    )


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
    method = str_at(res.node, "spec", "restic", "copyMethod") or "Direct"
    children: list[TreeNode] = []
    given = str_at(res.node, "spec", "restic", "destinationPVC")
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
    children.append(_cache("dst", res))
    children.extend(_claim(claim, ns, objects) for claim in _mover_claims(res))
    children.append(_job("dst", res))
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
        name = result.variables.get("APP") or result.ks.ref.name
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


def _live_status(obj: Mapping[str, object]) -> str:
    status = obj.get("status")
    if not isinstance(status, Mapping):
        return "exists"
    parts = []
    if status.get("phase"):
        parts.append(str(status["phase"]))
    if status.get("lastSyncTime"):
        parts.append(f"last sync {status['lastSyncTime']}")
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Synchronizing" and condition.get("reason"):
            parts.append(str(condition["reason"]))
    if status.get("active"):
        parts.append("running")
    return ", ".join(parts) or "exists"


def live_trees(trees: list[AppTree], objects: Iterable[Mapping[str, object]]) -> list[AppTree]:
    """The trees with each object's live status ("missing" when the cluster lacks it), and,
    per app, the VolSync objects of its namespace the tree does not predict (orphans)."""
    live: dict[tuple[str, str, str], Mapping[str, object]] = {}
    for obj in objects:
        meta = obj.get("metadata")
        if isinstance(meta, Mapping):
            live[(str(obj.get("kind")), str(meta.get("namespace") or ""), str(meta.get("name")))] = obj
    out = []
    predicted: set[tuple[str, str, str]] = set()
    for tree in trees:
        predicted |= {n.ident for n in walk_nodes(tree.root)}
    for tree in trees:
        status = {}
        for node in walk_nodes(tree.root):
            if node.kind == "Kustomization" or node.name.endswith("<YYYYMMDDHHMMSS>"):
                continue
            found = live.get(node.ident)
            if found is not None:
                status[node.ident] = _live_status(found)
            else:  # VolSync creates some objects per sync only; the repository's must exist
                status[node.ident] = "not present" if node.origin == "volsync" else "MISSING"
        root = overlay(tree.root, status)
        namespace = tree.ks.namespace
        orphans = tuple(
            TreeNode(kind, name, ns, "volsync", "in the cluster, not in this tree", (), _live_status(obj))
            for (kind, ns, name), obj in sorted(live.items())
            if ns == namespace
            and kind in ("PersistentVolumeClaim", "VolumeSnapshot", "Job")
            and name.startswith("volsync-")
            and (kind, ns, name) not in predicted
            and _mentions(name, tree.app)
        )
        if orphans:
            root = _append_to_app(root, tree.ks, orphans)
        out.append(replace(tree, root=root))
    return out


def _mentions(name: str, app: str) -> bool:
    return f"-{app}-" in f"{name}-"


def _append_to_app(node: TreeNode, ks: KsRef, extra: tuple[TreeNode, ...]) -> TreeNode:
    if node.kind == "Kustomization" and (node.namespace, node.name) == (ks.namespace, ks.name):
        return replace(node, children=(*node.children, *extra))
    return replace(node, children=tuple(_append_to_app(c, ks, extra) for c in node.children))
