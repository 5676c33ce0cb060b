"""State model and controllers: a JSON-serialisable cluster that Flux, helm-controller, core and VolSync act on.

One `tick()` runs every controller once, in a fixed order (see `World.tick`). Every modelled behaviour carries a
one-line comment naming its source.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shlex
import sys
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

if TYPE_CHECKING:  # pathlib costs ~10 ms of imports on every CLI call
    from pathlib import Path

Obj = dict[str, Any]
T = TypeVar("T")
Path_ = tuple[str, ...]
Objs = list[Obj]
Strs = list[str]
Paths = list[Path_]
list_ = list  # World.list shadows the builtin in the class body


class KsRender(TypedDict):
    namespace: str
    name: str
    suspend: bool | None  # None: git does not set spec.suspend
    prune: bool
    objects: list[dict[str, Any]]


Renders = list[KsRender]

API = {
    "PersistentVolume": "v1",
    "PersistentVolumeClaim": "v1",
    "Pod": "v1",
    "Event": "v1",
    "Namespace": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "StorageClass": "storage.k8s.io/v1",
    "ReplicationSource": "volsync.backube/v1alpha1",
    "ReplicationDestination": "volsync.backube/v1alpha1",
    "Kustomization": "kustomize.toolkit.fluxcd.io/v1",
    "HelmRelease": "helm.toolkit.fluxcd.io/v2",
    "GitRepository": "source.toolkit.fluxcd.io/v1",
}
CLUSTER_SCOPED = {"PersistentVolume", "StorageClass", "Namespace", "ClusterRole", "ClusterRoleBinding"}
VOLUME_SOURCES = {"csi", "nfs", "hostPath", "local", "cephfs", "rbd", "iscsi", "fc", "flexVolume", "glusterfs"}
FLUX_FINALIZER = "finalizers.fluxcd.io"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
PRUNE_ANNOTATION = "kustomize.toolkit.fluxcd.io/prune"
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
DEFAULT_SC = "storageclass.kubernetes.io/is-default-class"
RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand alphabet
# Movers that replicate the data claim rather than back it up, and their Jobs' prefixes
# (written here from VolSync's code, not taken from volsync-kit, which these tests check).
REPLICATING = ("rclone", "rsyncTLS")
JOB_PREFIXES = {"rclone": "volsync-rclone-", "rsyncTLS": "volsync-rsync-tls-"}
UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{'' if kind in CLUSTER_SCOPED else namespace}/{name}"


def _dc(v: T) -> T:
    """Deep copy of JSON data: pickle's C code copies it several times faster than a Python walk."""
    if isinstance(v, (dict, list)):
        return cast(T, pickle.loads(pickle.dumps(v, pickle.HIGHEST_PROTOCOL)))
    return v


def dig(obj: Any, *path: Any, default: Any = None) -> Any:
    for p in path:
        if (isinstance(obj, dict) and p in obj) or (
            isinstance(obj, list) and isinstance(p, int) and -len(obj) <= p < len(obj)
        ):
            obj = obj[p]
        else:
            return default
    return obj


def leaves(obj: Obj, prefix: Path_ = ()) -> list[Path_]:
    """Field paths an apply sets: dict members recursively, lists and scalars atomically."""
    out: list[Path_] = []
    for k, v in obj.items():
        if isinstance(v, dict) and v:
            out += leaves(v, (*prefix, k))
        else:
            out.append((*prefix, k))
    return out


def _set(obj: Obj, path: Path_, value: Any) -> None:
    for p in path[:-1]:
        if not isinstance(obj.get(p), dict):
            obj[p] = {}
        obj = obj[p]
    obj[path[-1]] = value


def _del(obj: Obj, path: Path_) -> None:
    parent = dig(obj, *path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def quantity(q: Any) -> float:
    m = re.fullmatch(r"([0-9.]+)([kMGT]i?)?", str(q or "0"))
    return float(m.group(1)) * UNITS[m.group(2) or ""] if m else 0.0


def claims_of(pod: Obj) -> list[str]:
    vols = dig(pod, "spec", "volumes", default=[]) or []
    return [v["persistentVolumeClaim"]["claimName"] for v in vols if "persistentVolumeClaim" in v]


def pvc_volume(name: str) -> Obj:
    return {"name": name, "persistentVolumeClaim": {"claimName": name}}


def validate_update(old: Obj, new: Obj) -> str | None:
    """The API server's update validation for the immutable fields the simulation models."""
    kind, name = old["kind"], old["metadata"]["name"]
    o, n = old.get("spec") or {}, new.get("spec") or {}
    if kind == "PersistentVolume":
        # PV volume source immutable: kubernetes/kubernetes pkg/apis/core/validation ValidatePersistentVolumeUpdate
        if any(o.get(s) != n.get(s) for s in VOLUME_SOURCES):
            msg = "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation"
            return f'PersistentVolume "{name}" is invalid: {msg}'
        if o.get("volumeMode") != n.get("volumeMode"):
            mode = n.get("volumeMode")
            return f'PersistentVolume "{name}" is invalid: spec.volumeMode: Invalid value: "{mode}": field is immutable'
    if kind == "PersistentVolumeClaim":
        # PVC spec immutable except requests (grow only): kubernetes/kubernetes#28690, helm/charts#15563
        a, b = _dc(o), _dc(n)
        for s in (a, b):
            s.get("resources", {}).pop("requests", None)
            s.pop("volumeAttributesClassName", None)
        if not o.get("volumeName"):
            a.pop("volumeName", None), b.pop("volumeName", None)
        if a != b:
            msg = "spec: Forbidden: spec is immutable after creation except resources.requests"
            msg += " and volumeAttributesClassName for bound claims"
            return f'PersistentVolumeClaim "{name}" is invalid: {msg}'
        before, after = dig(o, "resources", "requests", "storage"), dig(n, "resources", "requests", "storage")
        if quantity(after) < quantity(before):
            msg = "spec.resources.requests.storage: Forbidden: field can not be less than previous value"
            return f'PersistentVolumeClaim "{name}" is invalid: {msg}'
    if kind == "StorageClass":
        # StorageClass provisioner/parameters/reclaimPolicy/volumeBindingMode immutable (ValidateStorageClassUpdate)
        for f in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
            if old.get(f) != new.get(f):
                return f'StorageClass.storage.k8s.io "{name}" is invalid: {f}: Forbidden: updates to {f} are forbidden.'
    return None


def install_bin(bin_dir: Path, state: Path) -> dict[str, str]:
    """Write executable `kubectl` and `flux` wrappers into bin_dir; return the env vars to add."""
    cli = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cli.py")
    os.makedirs(bin_dir, exist_ok=True)
    for tool in ("kubectl", "flux"):
        p = os.path.join(bin_dir, tool)
        with open(p, "w", encoding="utf-8") as f:
            f.write(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(cli)} {tool} "$@"\n')
        os.chmod(p, 0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "VK_SIM_STATE": str(state)}


class World:
    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.state = state

    # ------------------------------------------------------------------ persistence
    @classmethod
    def create(
        cls,
        path: Path,
        revisions: dict[str, Renders],
        revision: str,
        *,
        context: str = "home",
        operator: tuple[str, str] = ("volsync-system", "volsync"),
        schedule_every: int = 6,
    ) -> World:
        state: dict[str, Any] = {
            "context": context,
            "operator": list(operator),
            "schedule_every": schedule_every,
            "ticks": 0,
            "uid": 0,
            "objects": {},
            "source": {"remote": revision, "fetched": ""},
            "revisions": _dc(revisions),
            "backing": {},
            "cephfs": {},
            "remotes": {},  # what rclone and rsyncTLS sources last copied, by destination
            "managed": {},
            "inventory": {},
            "syncs": {},
            "stuck": {},
            "images": {},
            "creating": True,
        }
        w = cls(path, state)
        w._create(
            {
                "kind": "GitRepository",
                "metadata": {"name": "flux-system", "namespace": "flux-system"},
                "spec": {"interval": "1m", "ref": {"branch": "main"}, "url": "ssh://git@example/home.git"},
            }
        )
        w._create(
            {
                "kind": "Kustomization",
                "metadata": {"name": "flux-system", "namespace": "flux-system"},
                "spec": {
                    "interval": "10m",
                    "path": "./cluster",
                    "prune": True,
                    "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                },
            }
        )
        scs = [o for r in revisions[revision] for o in r["objects"] if o.get("kind") == "StorageClass"]
        if not any(dig(sc, "metadata", "annotations", DEFAULT_SC) == "true" for sc in scs):
            w._create(
                {
                    "kind": "StorageClass",
                    "metadata": {"name": "ceph-block", "annotations": {DEFAULT_SC: "true"}},
                    "provisioner": "rook-ceph.rbd.csi.ceph.com",
                    "reclaimPolicy": "Delete",
                }
            )
        labels = {"app.kubernetes.io/name": "volsync"}
        w._create(
            {
                "kind": "Deployment",
                "metadata": {"name": operator[1], "namespace": operator[0], "labels": labels},
                "spec": {"replicas": 1, "template": {"metadata": {"labels": labels}, "spec": {}}},
            }
        )
        w.settle(60)
        w._seed_volsync()
        w.settle(60)
        state["creating"] = False
        w.save()
        return w

    @classmethod
    def load(cls, path: Path) -> World:
        with open(path, encoding="utf-8") as f:
            return cls(path, json.load(f))

    def save(self) -> None:
        # rewritten in place: callers hold the flock (cli.py), and os.replace costs more than the whole write
        with open(self.path, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.state, separators=(",", ":")))

    def push(self, revision: str) -> None:
        if revision not in self.state["revisions"]:
            raise KeyError(f"unknown revision {revision}")
        self.state["source"]["remote"] = revision

    def settle(self, ticks: int = 30) -> None:
        for _ in range(ticks):
            before = self._fingerprint()
            self.tick()
            if self._fingerprint() == before:
                return

    def _fingerprint(self) -> str:
        s = self.state
        return json.dumps([s["objects"], s["backing"], s["cephfs"], s["syncs"]], sort_keys=True)

    # ------------------------------------------------------------------ inspection
    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        o = self.state["objects"].get(key(kind, namespace or "", name))
        return _dc(o) if o is not None else None

    def list(self, kind: str, namespace: str | None = None) -> Objs:
        return [_dc(o) for o in self._of(kind, namespace)]

    def suspended(self) -> set[str]:
        return {
            f"{o['kind']} {o['metadata']['namespace']}/{o['metadata']['name']}"
            for kind in ("Kustomization", "HelmRelease")
            for o in self._of(kind)
            if dig(o, "spec", "suspend")
        }

    def data_lost(self) -> Strs:
        return sorted(
            f"{b} ({v['content']})"
            for b, v in self.state["backing"].items()
            if v["deleted"] and not v["cache"] and v["content"] != "empty"
        )

    def cephfs(self) -> dict[str, Strs]:
        return _dc(self.state["cephfs"])

    def initialised(self) -> Strs:
        """The repository paths a backup found empty, where restic (or kopia) made a new
        repository: VolSync's restic mover runs ``restic init`` when ``restic cat config``
        finds none (backube/volsync mover-restic/entry.sh, ensure_initialized)."""
        return list(self.state.get("initialised", []))

    def static_paths(self, revision: str) -> dict[str, str]:
        """Each static CephFS volume that ``revision`` renders: PV name -> "fsName:rootPath"."""
        out: dict[str, str] = {}
        for render in self.state["revisions"][revision]:
            for o in render["objects"]:
                if o.get("kind") == "PersistentVolume" and self._static_cephfs(o):
                    attrs = dig(o, "spec", "csi", "volumeAttributes", default={}) or {}
                    out[o["metadata"]["name"]] = f"{attrs.get('fsName')}:{attrs.get('rootPath')}"
        return out

    def copy_directory(self, old: str, new: str) -> None:
        """The operator's copy of one CephFS directory to the new place a rootPath change's
        gate asks to hold the repository (``cp -a``: the old place stays, for any volume
        still kept there); a new place that holds one already is left alone."""
        paths = self.state["cephfs"]
        if old in paths and not paths.get(new):
            paths[new] = list(paths[old])

    def remotes(self) -> dict[str, Any]:
        """What each rclone or rsyncTLS destination holds: what its source last copied."""
        return _dc(self.state["remotes"])

    def differs_from_git(self) -> Strs:
        rev = self.state["source"]["fetched"]
        out: set[str] = set()
        wanted: set[str] = set()
        pairs = [(("flux-system", "flux-system"), self._root_desired(rev))]
        pairs += [
            ((r["namespace"], r["name"]), r["objects"])
            for r in self.state["revisions"][rev]
            if (r["namespace"], r["name"]) != ("flux-system", "flux-system")
        ]
        for ks, objs in pairs:
            for raw in objs:
                d = self._normalize(raw, ks)
                k = self._key(d)
                wanted.add(k)
                live = self.state["objects"].get(k)
                if live is None:
                    out.add(f"missing {k}")
                    continue
                for p in self._owned(d):
                    if dig(live, *p) != dig(d, *p):
                        out.add(f"differs {k} ({'.'.join(p)})")
                        break
        for k, o in self.state["objects"].items():  # left behind by Flux: still labelled, no longer in git
            if k not in wanted and "kustomize.toolkit.fluxcd.io/name" in (o["metadata"].get("labels") or {}):
                out.add(f"extra {k}")
        return sorted(out)

    # ------------------------------------------------------------------ fault injection
    def suspend(self, kind: str, namespace: str, name: str) -> None:
        o = self._obj(kind, namespace, name)
        if o is None:
            raise KeyError(f"{kind} {namespace}/{name} not found")
        o.setdefault("spec", {})["suspend"] = (
            True  # flux suspend patches spec.suspend=true (fluxcd.io/flux/cmd/flux_suspend)
        )

    def long_sync(self, kind: str, namespace: str, name: str, ticks: int = 1000) -> None:
        """Start a sync of the mover now that runs for ``ticks`` more ticks, longer than any
        wait of a procedure (commands.WAIT_TICKS): a large first backup, or one over a slow
        link, running when the operator starts. Only pausing the mover ends it early."""
        o = self._obj(kind, namespace, name)
        assert o is not None, f"no {kind} {namespace}/{name}"
        k, s = self._key(o), self.state
        assert k not in s["syncs"], f"{k} is already syncing"
        s["syncs"][k] = {
            "manual": None,
            "started": s["ticks"],
            "pod": self._start_mover(o),
            "until": s["ticks"] + ticks,
        }
        self._cond(o, "Synchronizing", True, "SyncInProgress", "Synchronization in-progress")

    def stick_cache(self, namespace: str, claim: str) -> None:
        """Make the cache claim Pending forever with ceph-csi's 'operation already exists' event (rook/rook#13482)."""
        self.state["stuck"][f"{namespace}/{claim}"] = True
        pvc = self._obj("PersistentVolumeClaim", namespace, claim)
        if pvc is None:
            return
        pv = self._obj("PersistentVolume", "", dig(pvc, "spec", "volumeName", default="") or "")
        if pv is not None:
            self.state["backing"].get(self._bid(pv), {})["deleted"] = True
            self._forget(self._key(pv))
        pvc["spec"].pop("volumeName", None)
        pvc["status"] = {"phase": "Pending"}
        self._stuck_event(pvc)

    # ------------------------------------------------------------------ object plumbing
    def _key(self, o: Obj) -> str:
        return key(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])

    def _obj(self, kind: str, namespace: str, name: str) -> Obj | None:
        o: Obj | None = self.state["objects"].get(key(kind, namespace, name))
        return o

    def _of(self, kind: str, namespace: str | None = None) -> Objs:
        pre = f"{kind}/" if namespace is None or kind in CLUSTER_SCOPED else f"{kind}/{namespace}/"
        return [o for k, o in sorted(self.state["objects"].items()) if k.startswith(pre)]

    def _uid(self) -> str:
        self.state["uid"] += 1
        return f"00000000-0000-4000-8000-{self.state['uid']:012d}"

    def _create(self, obj: Obj) -> Obj:
        """Admission + defaulting of a create request."""
        o = _dc(obj)
        kind, md = o["kind"], o.setdefault("metadata", {})
        o["apiVersion"] = o.get("apiVersion") or API.get(kind, "v1")
        if kind in CLUSTER_SCOPED:
            md.pop("namespace", None)
        else:
            md.setdefault("namespace", "default")
        md.setdefault("labels", {}), md.setdefault("annotations", {})
        md.update(uid=self._uid(), creationTimestamp=self.state["ticks"], generation=1)
        fin = md.setdefault("finalizers", [])
        spec = o.setdefault("spec", {}) if kind not in ("StorageClass", "Event") else {}
        if kind == "PersistentVolumeClaim":
            fin.append(PVC_PROTECTION)  # pvc-protection finalizer added at creation (kubernetes/website@499b113)
            if "storageClassName" not in spec:  # DefaultStorageClass admission plugin
                default = [
                    sc for sc in self._of("StorageClass") if dig(sc, "metadata", "annotations", DEFAULT_SC) == "true"
                ]
                if default:
                    spec["storageClassName"] = default[0]["metadata"]["name"]
            spec.setdefault("volumeMode", "Filesystem")
            o["status"] = {"phase": "Pending"}
        elif kind == "PersistentVolume":
            fin.append(PV_PROTECTION)
            spec.setdefault("persistentVolumeReclaimPolicy", "Retain")  # default for manually created PVs
            spec.setdefault("volumeMode", "Filesystem")
            o["status"] = {"phase": "Available"}
        elif kind == "StorageClass":
            o.setdefault("reclaimPolicy", "Delete"), o.setdefault("volumeBindingMode", "Immediate")
        elif kind in ("Deployment", "StatefulSet"):
            spec.setdefault("replicas", 1)
        elif kind in ("Kustomization", "HelmRelease"):
            fin.append(FLUX_FINALIZER)
        o.setdefault("status", {})
        self.state["objects"][self._key(o)] = o
        return o

    def _delete(self, k: str) -> bool:
        o = self.state["objects"].get(k)
        if o is None:
            return False
        o["metadata"].setdefault("deletionTimestamp", self.state["ticks"])
        return True

    def _forget(self, k: str) -> None:
        self.state["objects"].pop(k, None)
        self.state["managed"].pop(k, None)
        if k.startswith("PersistentVolumeClaim/"):
            self.state["stuck"].pop(k.split("/", 1)[1], None)

    def _reap(self) -> None:
        for k, o in list(self.state["objects"].items()):
            if "deletionTimestamp" in o["metadata"] and not o["metadata"].get("finalizers"):
                self._forget(k)

    def _unfinalize(self, o: Obj, finalizer: str) -> None:
        fins = o["metadata"].get("finalizers") or []
        if finalizer in fins:
            fins.remove(finalizer)

    @staticmethod
    def _terminating(o: Obj | None) -> bool:
        return o is not None and "deletionTimestamp" in o["metadata"]

    def _cond(self, o: Obj, type_: str, status: bool | str, reason: str, message: str) -> None:
        conds = [c for c in o.setdefault("status", {}).get("conditions", []) if c["type"] != type_]
        st = status if isinstance(status, str) else ("True" if status else "False")
        conds.append({"type": type_, "status": st, "reason": reason, "message": message})
        o["status"]["conditions"] = conds

    def _event(self, o: Obj, reason: str, message: str, type_: str = "Warning") -> None:
        ns, name = o["metadata"].get("namespace", "default"), o["metadata"]["name"]
        for ev in self._of("Event", ns):
            inv = ev["involvedObject"]
            if (inv["kind"], inv["name"], ev["reason"]) == (o["kind"], name, reason):
                ev["message"] = message
                return
        self._create(
            {
                "kind": "Event",
                "metadata": {"name": f"{name}.{self.state['uid'] + 1:016x}", "namespace": ns},
                "involvedObject": {"kind": o["kind"], "name": name, "namespace": ns, "uid": o["metadata"]["uid"]},
                "reason": reason,
                "message": message,
                "type": type_,
                "count": 1,
            }
        )

    # ------------------------------------------------------------------ the tick
    def tick(self) -> None:
        s = self.state
        s["ticks"] += 1
        self._source()
        root = self._obj("Kustomization", "flux-system", "flux-system")
        if root is not None:
            self._reconcile_ks(root, self._root_desired(s["source"]["fetched"]))
        renders = {(r["namespace"], r["name"]): r["objects"] for r in s["revisions"].get(s["source"]["fetched"], [])}
        for ks in self._of("Kustomization"):
            ident = (ks["metadata"]["namespace"], ks["metadata"]["name"])
            if ident != ("flux-system", "flux-system"):
                self._reconcile_ks(ks, renders.get(ident))
        self._helm()
        self._reap()
        self._pods()
        self._core()
        if not s["creating"]:
            self._volsync()
        self._reap()

    # 1. source-controller ------------------------------------------------
    def _source(self) -> None:
        src = self.state["source"]
        src["fetched"] = src["remote"]  # pessimistic: GitRepository fetches the remote every tick (spec.interval)
        repo = self._obj("GitRepository", "flux-system", "flux-system")
        if repo is not None:
            rev = f"main@sha1:{src['fetched']}"
            repo["status"]["artifact"] = {"revision": rev}
            repo["status"]["lastHandledReconcileAt"] = repo["metadata"]["annotations"].get(REQUESTED_AT)
            self._cond(repo, "Ready", True, "Succeeded", f"stored artifact for revision '{rev}'")

    # 2./3. kustomize-controller -------------------------------------------
    def _root_desired(self, rev: str) -> Objs:
        out: Objs = []
        for r in self.state["revisions"].get(rev, []):
            if (r["namespace"], r["name"]) == ("flux-system", "flux-system"):
                out += r["objects"]
                continue
            spec: Obj = {
                "interval": "1h",
                "path": f"./{r['name']}",
                "prune": r["prune"],
                "sourceRef": {"kind": "GitRepository", "name": "flux-system", "namespace": "flux-system"},
            }
            if r["suspend"] is not None:
                spec["suspend"] = r["suspend"]  # only a suspend field set in git is applied (server-side apply)
            out.append(
                {
                    "apiVersion": API["Kustomization"],
                    "kind": "Kustomization",
                    "metadata": {"name": r["name"], "namespace": r["namespace"]},
                    "spec": spec,
                }
            )
        return out

    def _normalize(self, raw: Obj, ks: tuple[str, str]) -> Obj:
        d = _dc(raw)
        d.pop("status", None)
        md = d.setdefault("metadata", {})
        d["apiVersion"] = d.get("apiVersion") or API.get(d["kind"], "v1")
        if d["kind"] in CLUSTER_SCOPED:
            md.pop("namespace", None)
        else:
            md.setdefault("namespace", "default")
        # Flux labels applied objects with their owner (fluxcd.io/flux/components/kustomize/kustomizations)
        md.setdefault("labels", {}).update(
            {"kustomize.toolkit.fluxcd.io/name": ks[1], "kustomize.toolkit.fluxcd.io/namespace": ks[0]}
        )
        return d

    @staticmethod
    def _owned(d: Obj) -> Paths:
        skip = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace")}
        return [p for p in leaves(d) if p not in skip]

    def _reconcile_ks(self, ks: Obj, objects: Objs | None) -> None:
        s, k = self.state, self._key(ks)
        ident = (ks["metadata"]["namespace"], ks["metadata"]["name"])
        spec = ks.get("spec") or {}
        if self._terminating(ks):
            # finalizer: GC the inventory only when prune is true and not suspended (fluxcd/flux2#2624)
            if spec.get("prune") and not spec.get("suspend"):
                for ik in s["inventory"].get(k, []):
                    o = s["objects"].get(ik)
                    if o is not None and dig(o, "metadata", "annotations", PRUNE_ANNOTATION) != "disabled":
                        self._delete(ik)
            s["inventory"].pop(k, None)
            self._unfinalize(ks, FLUX_FINALIZER)
            return
        if spec.get("suspend"):
            return  # suspended: no reconciliation (fluxcd.io/flux/cmd/flux_suspend_kustomization)
        ks["status"]["lastHandledReconcileAt"] = ks["metadata"]["annotations"].get(REQUESTED_AT)
        rev = f"main@sha1:{s['source']['fetched']}"
        ks["status"]["lastAttemptedRevision"] = rev
        if objects is None:
            self._cond(ks, "Ready", False, "ArtifactFailed", f"kustomization path not found: ./{ident[1]}")
            return
        # The apply is a function of the revision and the live objects (status aside): when
        # neither changed since the last successful apply, it would change nothing. Skipping it
        # keeps a call of the simulation cheap; the result is the same.
        seen = json.dumps(
            [rev, [{f: v for f, v in (s["objects"].get(i) or {}).items() if f != "status"}
                   for i in s["inventory"].get(k, [])]],
            separators=(",", ":"),
        )  # fmt: skip
        if s.setdefault("applied", {}).get(k) == seen and dig(ks, "status", "lastAppliedRevision") == rev:
            return
        desired = [self._normalize(o, ident) for o in objects]
        errors: Strs = []
        skipped: Strs = []
        plans: list_[tuple[str, Obj, Paths]] = []
        for d in desired:
            dk, owned = self._key(d), self._owned(d)
            live = s["objects"].get(dk)
            if live is None:
                plans.append((dk, d, owned))
                continue
            if self._terminating(live):
                skipped.append(dk)  # a Terminating object cannot be applied: it is skipped and Ready=False
                continue
            merged = self._ssa(live, d, owned, s["managed"].get(dk, []))
            err = validate_update(live, merged)
            if err:
                # whole apply fails on dry-run errors (fluxcd/kustomize-controller#271; message format: runwayctl!858)
                ref = dk.replace("//", "/")
                errors.append(f"{ref} dry-run failed (Invalid): {err}")
            plans.append((dk, merged, owned))
        if errors:
            self._cond(ks, "Ready", False, "ReconciliationFailed", "\n".join(errors))
            return
        for dk, obj, owned in plans:
            live = s["objects"].get(dk)
            if live is None:
                self._create(obj)
            else:
                if live.get("spec") != obj.get("spec"):
                    obj["metadata"]["generation"] = live["metadata"].get("generation", 1) + 1
                s["objects"][dk] = obj
            s["managed"][dk] = [list(p) for p in owned]
        new = [self._key(d) for d in desired]
        for old in s["inventory"].get(k, []):
            o = s["objects"].get(old)
            if old in new or o is None or dig(o, "metadata", "annotations", PRUNE_ANNOTATION) == "disabled":
                # annotation prune: disabled skips GC (fluxcd.io/flux/components/kustomize/kustomizations)
                continue
            labels = o["metadata"].get("labels") or {}
            owner = (
                labels.get("kustomize.toolkit.fluxcd.io/namespace"),
                labels.get("kustomize.toolkit.fluxcd.io/name"),
            )
            if spec.get("prune") and owner == ident:  # GC only objects still labelled as ours
                self._delete(old)
        s["inventory"][k] = new
        ks["status"]["inventory"] = {"entries": [{"id": i} for i in new]}
        if skipped:
            msg = "; ".join(f"{i.replace('//', '/')} is being deleted, apply skipped" for i in skipped)
            self._cond(ks, "Ready", False, "ReconciliationFailed", msg)
        else:
            ks["status"]["lastAppliedRevision"] = rev
            self._cond(ks, "Ready", True, "ReconciliationSucceeded", f"Applied revision: {rev}")
            s["applied"][k] = json.dumps(
                [rev, [{f: v for f, v in (s["objects"].get(i) or {}).items() if f != "status"} for i in new]],
                separators=(",", ":"),
            )

    @staticmethod
    def _ssa(live: Obj, desired: Obj, owned: Paths, before: list_[Strs]) -> Obj:
        """Server-side apply with force: set the owned fields, drop fields applied before and now gone from git.

        Fields set by others (kubectl patch) stay (fluxcd/kustomize-controller#486, giantswarm/backstage#2004)."""
        merged = _dc(live)
        now = set(owned)
        for old in before:
            if tuple(old) not in now:
                _del(merged, tuple(old))
        for p in owned:
            _set(merged, p, _dc(dig(desired, *p)))
        return merged

    # 4. helm-controller ---------------------------------------------------------
    def _helm(self) -> None:
        for hr in self._of("HelmRelease"):
            ns, name = hr["metadata"]["namespace"], hr["metadata"]["name"]
            dk = key("Deployment", ns, name)
            suspended = bool(dig(hr, "spec", "suspend"))
            if self._terminating(hr):
                if not suspended:  # uninstall on delete, skipped when suspended (fluxcd/helm-controller#568)
                    dep = self.state["objects"].get(dk)
                    if dep is not None and dep["metadata"]["annotations"].get("meta.helm.sh/release-name") == name:
                        self._delete(dk)
                self._unfinalize(hr, FLUX_FINALIZER)
                continue
            if suspended:
                continue  # suspended HelmRelease: no action at all (fluxcd/helm-controller#162)
            values = json.dumps(dig(hr, "spec", "values", default={}), sort_keys=True)
            values = values.replace("{{ .Release.Name }}", name).replace("{{.Release.Name}}", name)
            dep = self.state["objects"].get(dk)
            if dep is None or hr["status"].get("valuesDigest") != values:
                pvcs = {o["metadata"]["name"] for o in self._of("PersistentVolumeClaim", ns)}
                claims = sorted(v for v in self._strings(json.loads(values)) if v in pvcs)
                vols = [pvc_volume(c) for c in claims]
                if dep is None:
                    labels = {"app.kubernetes.io/instance": name}
                    self._create(
                        {
                            "kind": "Deployment",
                            "metadata": {
                                "name": name,
                                "namespace": ns,
                                "labels": labels,
                                "annotations": {
                                    "meta.helm.sh/release-name": name,
                                    "meta.helm.sh/release-namespace": ns,
                                },
                            },
                            "spec": {
                                "replicas": 1,
                                "template": {"metadata": {"labels": labels}, "spec": {"volumes": vols}},
                            },
                        }
                    )
                else:
                    # helm upgrade: three-way merge keeps live replicas; no drift correction by default
                    # (fluxcd.io/flux/components/helm/helmreleases/#drift-detection, sylva-core#1331)
                    _set(dep, ("spec", "template", "spec", "volumes"), vols)
                hr["status"]["valuesDigest"] = values
            hr["status"]["lastHandledReconcileAt"] = hr["metadata"]["annotations"].get(REQUESTED_AT)
            hr["status"]["observedGeneration"] = hr["metadata"].get("generation", 1)
            self._cond(hr, "Ready", True, "UpgradeSucceeded", f"Helm upgrade succeeded for release {ns}/{name}")

    def _strings(self, v: Any) -> Strs:
        if isinstance(v, str):
            return [v]
        if isinstance(v, dict):
            return [s for x in v.values() for s in self._strings(x)]
        if isinstance(v, list):
            return [s for x in v for s in self._strings(x)]
        return []

    # 5. workloads and pods ------------------------------------------------------
    def _pods(self) -> None:
        for kind in ("Deployment", "StatefulSet"):
            for wl in self._of(kind):
                if self._terminating(wl):
                    continue
                ns, name = wl["metadata"]["namespace"], wl["metadata"]["name"]
                replicas = dig(wl, "spec", "replicas", default=1)
                pk = key("Pod", ns, f"{name}-0")
                pod = self.state["objects"].get(pk)
                if replicas > 0 and pod is None:
                    tpl = dig(wl, "spec", "template", default={}) or {}
                    pod = self._create(
                        {
                            "kind": "Pod",
                            "metadata": {
                                "name": f"{name}-0",
                                "namespace": ns,
                                "labels": _dc(dig(tpl, "metadata", "labels", default={})),
                                "ownerReferences": [self._ref(wl)],
                            },
                            "spec": _dc(tpl.get("spec") or {}),
                        }
                    )
                elif replicas == 0 and pod is not None:
                    self._delete(pk)
                ready = int(pod is not None and replicas > 0 and dig(pod, "status", "phase") == "Running")
                wl["status"] = {"replicas": int(pod is not None), "readyReplicas": ready, "availableReplicas": ready}
        for pod in self._of("Pod"):
            ns = pod["metadata"]["namespace"]
            # missing/unbound claim: pod Pending (kubernetes.io/docs/concepts/storage/persistent-volumes)
            bound = all(
                dig(self._obj("PersistentVolumeClaim", ns, c), "status", "phase") == "Bound" for c in claims_of(pod)
            )
            pod["status"]["phase"] = "Running" if bound else "Pending"
            if bound:  # the scheduler places a pod once its claims are bound; it stays on its node
                pod["spec"].setdefault("nodeName", "node-1")

    def _ref(self, o: Obj) -> Obj:
        return {
            "apiVersion": o["apiVersion"],
            "kind": o["kind"],
            "name": o["metadata"]["name"],
            "uid": o["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    # 6. core controllers --------------------------------------------------------
    def _core(self) -> None:
        objs = self.state["objects"]
        for k, o in list(objs.items()):  # garbage collector: dependents of a gone owner are deleted
            refs = (
                o["metadata"].get("ownerReferences") or []
            )  # (kubernetes.io/docs/concepts/architecture/garbage-collection)
            ns = o["metadata"].get("namespace", "")
            if refs and not any(
                dig(objs.get(key(r["kind"], ns, r["name"])), "metadata", "uid") == r["uid"] for r in refs
            ):
                self._delete(k)
        self._reap()
        # Only a scheduled pod holds a claim: pvc-protection's podUsesPVC checks pod.Spec.NodeName
        # (kubernetes/kubernetes pkg/controller/volume/pvcprotection), so a mover Pending on a
        # stuck cache claim does not keep that claim from going.
        used = {(p["metadata"]["namespace"], c) for p in self._of("Pod") if dig(p, "spec", "nodeName")
                for c in claims_of(p)}  # fmt: skip
        for pvc in self._of("PersistentVolumeClaim"):
            # pvc-protection: a claim used by a scheduled pod stays Terminating (k8s Storage Object in Use Protection)
            if self._terminating(pvc) and (pvc["metadata"]["namespace"], pvc["metadata"]["name"]) not in used:
                self._unfinalize(pvc, PVC_PROTECTION)
        self._reap()
        self._pv_phases()
        self._bind()
        for pv in self._of("PersistentVolume"):
            # pv-protection: a deleted PV stays Terminating while Bound to a claim (kubernetes/kubernetes#62938)
            if self._terminating(pv) and dig(pv, "status", "phase") != "Bound":
                self._unfinalize(pv, PV_PROTECTION)
        self._reap()

    @staticmethod
    def _static_cephfs(pv: Obj) -> bool:
        # static CephFS PV: ceph-csi never deletes its data (github.com/ceph/ceph-csi/blob/master/docs/static-pvc.md)
        return bool(dig(pv, "spec", "csi", "volumeAttributes", "staticVolume") == "true")

    def _bid(self, pv: Obj) -> str:
        return str(dig(pv, "spec", "csi", "volumeHandle") or pv["metadata"]["name"])

    def _backing(self, pv: Obj) -> dict[str, Any]:
        b = self._bid(pv)
        if b not in self.state["backing"]:
            attrs = dig(pv, "spec", "csi", "volumeAttributes", default={}) or {}
            content = f"cephfs:{attrs.get('fsName')}:{attrs.get('rootPath')}" if self._static_cephfs(pv) else "empty"
            self.state["backing"][b] = {"content": content, "deleted": False, "cache": False}
        entry: dict[str, Any] = self.state["backing"][b]
        return entry

    def _pv_phases(self) -> None:
        for pv in self._of("PersistentVolume"):
            self._backing(pv)
            ref = dig(pv, "spec", "claimRef")
            st = pv["status"]
            if not ref or not ref.get("uid"):
                if st.get("phase") in (None, "Released", "Bound"):  # claimRef (uid) removed: Available again
                    st["phase"] = "Available"
                continue
            pvc = self._obj("PersistentVolumeClaim", ref.get("namespace", ""), ref.get("name", ""))
            if pvc is not None and pvc["metadata"]["uid"] == ref["uid"]:
                continue
            if st.get("phase") in ("Released", "Failed"):
                continue
            # reclaim: the claim (by uid) is gone (kubernetes.io/docs/concepts/storage/persistent-volumes/#reclaiming)
            if dig(pv, "spec", "persistentVolumeReclaimPolicy") == "Delete":
                if self._static_cephfs(pv):
                    st.update(phase="Failed", message="static volumes can not be deleted")
                    continue
                self._backing(pv)["deleted"] = True
                st["phase"] = "Released"
                self._delete(self._key(pv))
            else:
                st["phase"] = "Released"  # Retain: Released, not available for another claim until claimRef is cleared

    def _available(self, pv: Obj, pvc: Obj) -> str | None:
        """None when pv can bind pvc, else why not."""
        if self._terminating(pv):
            return "volume is being deleted"
        ref = dig(pv, "spec", "claimRef")
        md = pvc["metadata"]
        if ref and (
            (ref.get("namespace"), ref.get("name")) != (md["namespace"], md["name"])
            or ref.get("uid") not in (None, "", md["uid"])
        ):
            return "volume already bound to a different claim"
        if (dig(pv, "spec", "storageClassName") or "") != (dig(pvc, "spec", "storageClassName") or ""):
            return "storageClassName does not match"
        if quantity(dig(pv, "spec", "capacity", "storage")) < quantity(
            dig(pvc, "spec", "resources", "requests", "storage")
        ):
            return "requested PV is too small"
        return None

    def _bind_to(self, pv: Obj, pvc: Obj) -> None:
        md = pvc["metadata"]
        pv["spec"]["claimRef"] = {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "namespace": md["namespace"],
            "name": md["name"],
            "uid": md["uid"],
        }
        pv["status"]["phase"] = "Bound"
        pvc["spec"]["volumeName"] = pv["metadata"]["name"]
        pvc["status"] = {
            "phase": "Bound",
            "accessModes": dig(pv, "spec", "accessModes", default=[]),
            "capacity": dig(pv, "spec", "capacity", default={}),
        }
        b = self._backing(pv)
        if self.state["creating"] and b["content"] == "empty" and not b["cache"]:
            b["content"] = f"{md['namespace']}/{md['name']}@v1"  # World.create: every data claim holds app data

    def _bind(self) -> None:
        for pvc in self._of("PersistentVolumeClaim"):
            md, spec, st = pvc["metadata"], pvc["spec"], pvc["status"]
            vn = spec.get("volumeName")
            if st.get("phase") == "Bound":
                pv = self._obj("PersistentVolume", "", vn or "")
                if pv is None or dig(pv, "spec", "claimRef", "uid") != md["uid"]:
                    st["phase"] = "Lost"  # bound claim whose volume vanished
                continue
            if st.get("phase") == "Lost" or self._terminating(pvc):
                continue
            if (
                "storageClassName" not in spec
            ):  # retroactive default StorageClass assignment (kubernetes.io storage-classes)
                default = [
                    c for c in self._of("StorageClass") if dig(c, "metadata", "annotations", DEFAULT_SC) == "true"
                ]
                if default:
                    spec["storageClassName"] = default[0]["metadata"]["name"]
            if f"{md['namespace']}/{md['name']}" in self.state["stuck"]:
                self._stuck_event(pvc)
                continue
            if vn:
                # named PV (kubernetes.io/docs/concepts/storage/persistent-volumes/#reserving-a-persistentvolume)
                pv = self._obj("PersistentVolume", "", vn)
                why = "volume not found" if pv is None else self._available(pv, pvc)
                if pv is not None and why is None:
                    self._bind_to(pv, pvc)
                else:
                    self._event(pvc, "FailedBinding", f'Cannot bind to requested volume "{vn}": {why}')
                continue
            # a pre-bound PV (claimRef naming the claim) wins, then any Available matching PV, then provisioning
            pvs = [pv for pv in self._of("PersistentVolume") if self._available(pv, pvc) is None]
            pre = [pv for pv in pvs if dig(pv, "spec", "claimRef", "name") == md["name"]]
            free = sorted(
                (pv for pv in pvs if not dig(pv, "spec", "claimRef") and dig(pv, "status", "phase") == "Available"),
                key=lambda pv: quantity(dig(pv, "spec", "capacity", "storage")),
            )
            if pre or free:
                self._bind_to((pre or free)[0], pvc)
            else:
                self._provision(pvc)

    def _provision(self, pvc: Obj) -> None:
        md, spec = pvc["metadata"], pvc["spec"]
        scn = spec.get("storageClassName") or ""
        sc = self._obj("StorageClass", "", scn) if scn else None
        if sc is None:
            msg = (
                f'storageclass.storage.k8s.io "{scn}" not found'
                if scn
                else "no persistent volumes available for this claim and no storage class is set"
            )
            self._event(pvc, "ProvisioningFailed" if scn else "FailedBinding", msg)
            return
        cache = md["labels"].get("app.kubernetes.io/managed-by") == "volsync" and md["name"].endswith("-cache")
        content = (
            "cache" if cache else ("empty" if not self.state["creating"] else f"{md['namespace']}/{md['name']}@v1")
        )
        ref = spec.get("dataSourceRef") or {}
        if ref.get("kind") == "ReplicationDestination" and not self.state["creating"] and not cache:
            # volume populator: Pending until RD latestImage (backube/volsync#539, stolostron/rhacm-docs#5620)
            rd = self._obj("ReplicationDestination", md["namespace"], ref.get("name", ""))
            image = dig(rd, "status", "latestImage")
            if not image:
                self._event(
                    pvc,
                    "VolSyncPopulatorReplicationDestinationNoLatestImage",
                    f"waiting for ReplicationDestination {ref.get('name')} to have a latestImage",
                    "Normal",
                )
                return
            content = image["content"]
        name = f"pvc-{md['uid']}"
        # provisioning: class reclaimPolicy, default Delete (kubernetes.io/docs/concepts/storage/storage-classes)
        pv = self._create(
            {
                "kind": "PersistentVolume",
                "metadata": {
                    "name": name,
                    "annotations": {"pv.kubernetes.io/provisioned-by": sc.get("provisioner", "")},
                },
                "spec": {
                    "accessModes": spec.get("accessModes", ["ReadWriteOnce"]),
                    "capacity": {"storage": dig(spec, "resources", "requests", "storage", default="1Gi")},
                    "csi": {"driver": sc.get("provisioner", ""), "volumeHandle": name},
                    "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                    "storageClassName": scn,
                    "volumeMode": spec.get("volumeMode", "Filesystem"),
                },
            }
        )
        self.state["backing"][name] = {"content": content, "deleted": False, "cache": cache}
        self._bind_to(pv, pvc)

    def _stuck_event(self, pvc: Obj) -> None:
        msg = (
            f'failed to provision volume with StorageClass "{dig(pvc, "spec", "storageClassName")}": rpc error: '
            f"code = Aborted desc = an operation with the given Volume ID pvc-{pvc['metadata']['uid']} already exists"
        )
        self._event(pvc, "ProvisioningFailed", msg)  # ceph/ceph-csi#812, rook/rook#13482

    # 7. VolSync -----------------------------------------------------------------------
    def _operator_up(self) -> bool:
        op = self._obj("Deployment", *self.state["operator"])
        return op is not None and not self._terminating(op) and dig(op, "spec", "replicas", default=1) > 0

    @staticmethod
    def _prefix(o: Obj) -> str:
        return "src" if o["kind"] == "ReplicationSource" else "dst"

    @staticmethod
    def _mover(o: Obj) -> str:
        # kopia (perfectra1n/volsync) keeps restic's shape: a repository Secret, a cache
        # claim, moverVolumes, destinationPVC, and Jobs named as restic's; the simulation
        # runs both alike.  rclone and rsyncTLS replicate the data claim elsewhere (a
        # bucket, a destination's address): no repository and no cache claim.
        for mover in REPLICATING:
            if dig(o, "spec", mover) is not None:
                return mover
        return "kopia" if dig(o, "spec", "kopia") is not None else "restic"

    def _job(self, o: Obj) -> str:
        # Each mover's Job name (backube/volsync internal/controller/mover/<mover>/mover.go:
        # utils.GetJobName(mover.VolSyncPrefix + "rclone-" + dir + "-", owner) for rclone,
        # "rsync-tls-" for rsyncTLS; restic and kopia: "volsync-<dir>-<owner>")
        prefix = JOB_PREFIXES.get(self._mover(o), "volsync-")
        return f"{prefix}{self._prefix(o)}-{o['metadata']['name']}"

    def _repo_claims(self, o: Obj) -> Strs:
        mover = self._mover(o)
        mvs = dig(o, "spec", mover, "moverVolumes", default=[]) or []
        # moverVolumes: extra mover PVCs (backube/volsync#1778, volsync.readthedocs.io usage/movervolumes);
        # rclone's and rsyncTLS's Jobs mount them too (utils.UpdatePodTemplateSpecWithMoverVolumes)
        claims = [c for mv in mvs if (c := dig(mv, "volumeSource", "persistentVolumeClaim", "claimName"))]
        if claims or mover in REPLICATING:
            return claims
        name, ns = o["metadata"]["name"], o["metadata"]["namespace"]
        app = name[:-4] if name.endswith("-dst") else name
        repo = f"volsync-{app}-repo"
        return [repo] if self._obj("PersistentVolumeClaim", ns, repo) is not None else []

    def _data_claim(self, o: Obj) -> str | None:
        if o["kind"] == "ReplicationSource":
            return cast("str | None", dig(o, "spec", "sourcePVC"))
        return cast("str | None", dig(o, "spec", self._mover(o), "destinationPVC"))

    def _cache_claim(self, o: Obj) -> str | None:
        """restic's and kopia's cache claim, made when missing; None for a mover
        without one (rclone and rsyncTLS keep no cache)."""
        if self._mover(o) in REPLICATING:
            return None
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        cname = f"volsync-{self._prefix(o)}-{name}-cache"
        if self._obj("PersistentVolumeClaim", ns, cname) is None:
            r = dig(o, "spec", self._mover(o), default={}) or {}
            spec: Obj = {
                "accessModes": r.get("cacheAccessModes") or ["ReadWriteOnce"],
                "resources": {"requests": {"storage": r.get("cacheCapacity") or "1Gi"}},
            }
            scn = r.get("cacheStorageClassName") or r.get("storageClassName")
            if scn:
                spec["storageClassName"] = scn
            self._create(
                {
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": cname,
                        "namespace": ns,
                        "labels": {"app.kubernetes.io/managed-by": "volsync"},
                        "ownerReferences": [self._ref(o)],
                    },
                    "spec": spec,
                }
            )
        return cname

    def _start_mover(self, o: Obj) -> str:
        ns, job = o["metadata"]["namespace"], self._job(o)
        claims = [c for c in (self._data_claim(o), self._cache_claim(o)) if c] + self._repo_claims(o)
        x = self.state["uid"] * 2654435761 % 27**5
        suffix = "".join(RAND_ALPHABET[x // 27**i % 27] for i in range(5))
        pod = self._create(
            {
                "kind": "Pod",
                "metadata": {
                    "name": f"{job}-{suffix}",
                    "namespace": ns,
                    "labels": {"job-name": job},
                    "ownerReferences": [self._ref(o)],
                },
                "spec": {"volumes": [pvc_volume(c) for c in claims]},
            }
        )
        pod["status"]["phase"] = "Pending"
        name_: str = pod["metadata"]["name"]
        return name_

    def _repo_key(self, o: Obj) -> str | None:
        ns = o["metadata"]["namespace"]
        for c in self._repo_claims(o):
            pv = self._obj(
                "PersistentVolume", "", dig(self._obj("PersistentVolumeClaim", ns, c), "spec", "volumeName") or ""
            )
            attrs = dig(pv, "spec", "csi", "volumeAttributes", default={}) or {}
            if attrs.get("rootPath"):
                return f"{attrs.get('fsName')}:{attrs['rootPath']}"
        repo = dig(o, "spec", self._mover(o), "repository")
        return f"secret:{ns}/{repo}" if repo else None

    def _static_repository(self, ns: str, claim: str | None) -> Strs | None:
        """The snapshots of the repository a static CephFS claim holds at its volume's
        current rootPath; None for any other claim."""
        pvc = self._obj("PersistentVolumeClaim", ns, claim or "")
        pv = self._obj("PersistentVolume", "", dig(pvc, "spec", "volumeName") or "")
        if pv is None or not self._static_cephfs(pv):
            return None
        attrs = dig(pv, "spec", "csi", "volumeAttributes", default={}) or {}
        return list(self.state["cephfs"].get(f"{attrs.get('fsName')}:{attrs.get('rootPath')}", []))

    def _content(self, ns: str, claim: str | None) -> str | None:
        pvc = self._obj("PersistentVolumeClaim", ns, claim or "")
        pv = self._obj("PersistentVolume", "", dig(pvc, "spec", "volumeName") or "")
        return None if pv is None else str(self._backing(pv)["content"])

    def _remote(self, o: Obj) -> str | None:
        """Where an rclone or rsyncTLS mover copies to, or from: None for the others."""
        mover = self._mover(o)
        if mover == "rclone":
            section, path = dig(o, "spec", "rclone", "rcloneConfigSection"), dig(o, "spec", "rclone", "rcloneDestPath")
            return f"rclone:{section}:{path}"
        if mover == "rsyncTLS":
            return f"rsync-tls:{dig(o, 'spec', 'rsyncTLS', 'address') or o['metadata']['name']}"
        return None

    def _replicate(self, o: Obj, remote: str) -> str | None:
        """rclone's ``rclone sync`` or rsync's copy of the data claim to the remote, or
        back into the destination's claim (mover-rclone/active.sh, mover-rsync-tls)."""
        ns, remotes = o["metadata"]["namespace"], self.state["remotes"]
        if o["kind"] == "ReplicationSource":
            content = self._content(ns, self._data_claim(o))
            if content is None:
                return f"source claim {self._data_claim(o)} has no volume"
            held = self._static_repository(ns, self._data_claim(o))
            # ``rclone sync`` makes the destination the same as the source
            remotes[remote] = content if held is None else held
            return None
        if remote not in remotes:
            return f"nothing at {remote} to copy"
        dest = self._obj("PersistentVolumeClaim", ns, self._data_claim(o) or "")
        pv = self._obj("PersistentVolume", "", dig(dest, "spec", "volumeName") or "")
        if pv is not None:
            self._backing(pv)["content"] = remotes[remote]
        return None

    def _complete(self, o: Obj) -> str | None:
        """Finish a sync whose claims are all Bound; return an error message when the mover fails."""
        ns, name = o["metadata"]["namespace"], o["metadata"]["name"]
        remote = self._remote(o)
        if remote is not None:
            return self._replicate(o, remote)
        rk = self._repo_key(o)
        if rk is None:
            return "Fatal: no repository configured"
        snaps = self.state["cephfs"].setdefault(rk, [])
        if o["kind"] == "ReplicationSource":
            content = self._content(ns, self._data_claim(o))
            if content in (None, "empty"):
                return "Fatal: unable to save snapshot: snapshot is empty"  # backube/volsync#1181, backube/scribe#156
            if not snaps:
                self.state.setdefault("initialised", []).append(rk)  # restic init (see initialised)
            snaps.append(str(content))
            return None
        if not snaps:
            return "Fatal: unable to open config file: Is there a repository at the following location?"  # volsync#1172
        n = self.state["images"][f"{ns}/{name}"] = self.state["images"].get(f"{ns}/{name}", 0) + 1
        o["status"]["latestImage"] = {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": f"volsync-{name}-dest-{n}",
            "content": snaps[-1],
        }
        dest = self._obj("PersistentVolumeClaim", ns, self._data_claim(o) or "")
        pv = self._obj("PersistentVolume", "", dig(dest, "spec", "volumeName") or "")
        if pv is not None:
            self._backing(pv)["content"] = snaps[-1]  # restore into spec.restic.destinationPVC
        return None

    def _volsync(self) -> None:
        if not self._operator_up():
            return  # the operator reconciles nothing while scaled down
        s, every = self.state, self.state["schedule_every"]
        for o in self._of("ReplicationSource") + self._of("ReplicationDestination"):
            k, ns, st = self._key(o), o["metadata"]["namespace"], o["status"]
            sync = s["syncs"].get(k)
            if self._terminating(o):
                continue
            if dig(o, "spec", "paused"):
                # spec.paused: the mover is stopped and nothing starts (backube/scribe#60); a running
                # mover's Job gets parallelism 0, which ends its pod (backube/volsync
                # internal/controller/mover/restic/mover.go, ensureJob)
                if sync:
                    self._delete(key("Pod", ns, sync["pod"]))
                    del s["syncs"][k]
                self._cond(o, "Synchronizing", False, "Paused", "Synchronization paused")
                continue
            manual = dig(o, "spec", "trigger", "manual")
            if sync is None:
                # a set manual trigger disables the schedule (backube/volsync#1259); lastManualSync (backube/scribe#153)
                if manual is not None:
                    if manual == st.get("lastManualSync"):
                        self._cond(o, "Synchronizing", False, "WaitingForManual", "Waiting for manual trigger")
                        continue
                elif s["ticks"] < st.get("nextSyncTime", 0):
                    self._cond(
                        o, "Synchronizing", False, "WaitingForSchedule", "Waiting for next scheduled synchronization"
                    )
                    continue
                s["syncs"][k] = {"manual": manual, "started": s["ticks"], "pod": self._start_mover(o)}
                self._cond(o, "Synchronizing", True, "SyncInProgress", "Synchronization in-progress")
                continue
            pod = self._obj("Pod", ns, sync["pod"])
            if pod is None:
                sync["pod"] = self._start_mover(o)  # the Job recreates its pod
                continue
            # Each reconcile of a sync in progress makes sure its cache claim exists (VolSync's
            # mover ensures the cache PVC before the Job), so a deleted stuck cache comes back.
            if dig(o, "spec", self._mover(o)) is not None:
                self._cache_claim(o)
            if any(
                dig(self._obj("PersistentVolumeClaim", ns, c), "status", "phase") != "Bound" for c in claims_of(pod)
            ):
                continue  # mover pod Pending: the sync cannot complete
            if s["ticks"] < sync.get("until", 0):
                continue  # a long backup or restore, still running (see long_sync)
            err = self._complete(o)
            if err:
                st["latestMoverStatus"] = {"result": "Failed", "logs": err}
                self._cond(o, "Synchronizing", False, "Error", err)
                continue
            self._delete(key("Pod", ns, sync["pod"]))
            del s["syncs"][k]
            st.update(
                lastSyncTime=s["ticks"],
                nextSyncTime=s["ticks"] + every,
                latestMoverStatus={"result": "Successful", "logs": f"{self._mover(o)} completed"},
            )
            if sync["manual"] is not None:
                st["lastManualSync"] = sync["manual"]
            waiting = "WaitingForManual" if manual is not None else "WaitingForSchedule"
            self._cond(o, "Synchronizing", False, waiting, "Synchronization completed")

    def _seed_volsync(self) -> None:
        """World.create: one backup by every ReplicationSource, one restore image on every ReplicationDestination."""
        s = self.state
        for pv in self._of("PersistentVolume"):
            attrs = dig(pv, "spec", "csi", "volumeAttributes", default={}) or {}
            if self._static_cephfs(pv) and attrs.get("rootPath"):
                s["cephfs"].setdefault(f"{attrs.get('fsName')}:{attrs['rootPath']}", [])
        for o in self._of("ReplicationSource") + self._of("ReplicationDestination"):
            self._cache_claim(o)
            rk, ns, st = self._repo_key(o), o["metadata"]["namespace"], o["status"]
            remote = self._remote(o)
            if remote is not None:
                if o["kind"] == "ReplicationSource" or remote in s["remotes"]:
                    self._replicate(o, remote)
            elif o["kind"] == "ReplicationSource":
                content = self._content(ns, self._data_claim(o))
                if rk and content not in (None, "empty"):
                    s["cephfs"].setdefault(rk, []).append(str(content))
            elif rk and s["cephfs"].get(rk):
                self._complete(o)
            st.update(
                lastSyncTime=s["ticks"],
                nextSyncTime=s["ticks"] + s["schedule_every"],
                latestMoverStatus={"result": "Successful", "logs": f"{self._mover(o)} completed"},
            )
            manual = dig(o, "spec", "trigger", "manual")
            if manual is not None:
                st["lastManualSync"] = manual
