"""The cluster, read through the user's kubectl, or from a saved dump.

Only ``kubectl get ... -o json`` is ever run: doctor never writes to a
cluster.  A dump is a Kubernetes ``List`` (JSON or YAML), or a folder of them,
in the shape ``kubectl get -o json`` prints; ``--dump`` writes one from the
live cluster, with managed fields dropped and the data of any Secret removed.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# What doctor reads: (resource, namespaced).  Flux, VolSync and snapshot kinds are
# CRDs that a cluster may lack; those are skipped with a note.
RESOURCES: tuple[tuple[str, bool], ...] = (
    ("persistentvolumes", False),
    ("persistentvolumeclaims", True),
    ("replicationsources.volsync.backube", True),
    ("replicationdestinations.volsync.backube", True),
    ("events", True),
    ("jobs.batch", True),
    ("pods", True),
    ("kustomizations.kustomize.toolkit.fluxcd.io", True),
    ("volumesnapshots.snapshot.storage.k8s.io", True),
)
# The kind each resource lists: a kind read with no object is still read, which
# is what lets the tree call an absent object missing rather than unknown.
KINDS = {
    "persistentvolumes": "PersistentVolume",
    "persistentvolumeclaims": "PersistentVolumeClaim",
    "replicationsources.volsync.backube": "ReplicationSource",
    "replicationdestinations.volsync.backube": "ReplicationDestination",
    "events": "Event",
    "jobs.batch": "Job",
    "pods": "Pod",
    "kustomizations.kustomize.toolkit.fluxcd.io": "Kustomization",
    "volumesnapshots.snapshot.storage.k8s.io": "VolumeSnapshot",
}
READ_ONLY_VERBS = frozenset({"get"})
DUMPED_AT = "volsync-kit/dumped-at"
KINDS_READ = "volsync-kit/kinds-read"  # a dump's own record of what was read, empty kinds too
TIMEOUT = 120


class KubeError(Exception):
    """kubectl or a dump could not be read; the message says what to do."""


def argv(resource: str, namespaced: bool, context: str | None, kubeconfig: str | None) -> list[str]:
    out = ["kubectl"]
    if kubeconfig:
        out += ["--kubeconfig", kubeconfig]
    if context:
        out += ["--context", context]
    out += ["get", resource, "-o", "json"]
    if namespaced:
        out.append("--all-namespaces")
    return out


def fetch(
    context: str | None = None, kubeconfig: str | None = None
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Every object doctor reads, notes on what the cluster lacks, and the kinds read."""
    if shutil.which("kubectl") is None:
        raise KubeError("kubectl is not on PATH; install it, or diagnose a saved dump with --from FILE")
    items: list[dict[str, Any]] = []
    notes: list[str] = []
    read: list[str] = []
    for resource, namespaced in RESOURCES:
        command = argv(resource, namespaced, context, kubeconfig)
        assert command[command.index("get")] in READ_ONLY_VERBS
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise KubeError(f"kubectl get {resource} took longer than {TIMEOUT} s; check the cluster") from None
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["no message"])[-1]
            if "the server doesn't have a resource type" in message:
                notes.append(f"the cluster has no {resource}; skipped")
                continue
            raise KubeError(f"kubectl get {resource} failed: {message}")
        items.extend(_items(_parse_json(done.stdout, f"kubectl get {resource}")))
        read.append(KINDS[resource])
    return items, notes, read


def _parse_json(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise KubeError(f"{origin}: not JSON (line {err.lineno}: {err.msg})") from None


def _items(doc: Any) -> list[dict[str, Any]]:
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        return [item for item in doc["items"] if isinstance(item, dict)]
    if isinstance(doc, dict) and doc.get("kind"):
        return [doc]
    return []


def load(path: Path) -> tuple[list[dict[str, Any]], datetime.datetime | None, list[str]]:
    """The objects of a dump file or folder, when it was taken, and the kinds it says were
    read (``--dump`` records them; other dumps say nothing, and then the kinds present are
    all that is known to have been read)."""
    files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".yaml", ".yml")) if path.is_dir() else [path]
    if not files:
        raise KubeError(f"--from {path}: no .json or .yaml files; pass a dump written by volsync-kit doctor --dump")
    items: list[dict[str, Any]] = []
    taken: datetime.datetime | None = None
    read: list[str] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise KubeError(f"--from {file}: cannot read it ({err}); pass a readable UTF-8 file") from None
        for doc in _documents(text, file):
            items.extend(_items(doc))
            annotations = _annotations(doc)
            stamp = annotations.get(DUMPED_AT)
            if isinstance(stamp, str):
                with contextlib.suppress(ValueError):
                    taken = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            kinds = annotations.get(KINDS_READ)
            if isinstance(kinds, str):
                read.extend(k for k in kinds.split(",") if k)
    if not items:
        raise KubeError(
            f"--from {path}: no Kubernetes objects in it; it should be a List as kubectl get -o json prints"
        )
    return items, taken, read


def _annotations(doc: Any) -> dict[str, Any]:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def _documents(text: str, file: Path) -> list[Any]:
    if file.suffix == ".json":
        return [_parse_json(text, f"--from {file}")]
    from volsync_kit.adapters.yamlio import load_plain
    from volsync_kit.core.model import ModelError

    try:
        return load_plain(text, str(file))
    except ModelError as err:
        raise KubeError(f"--from {err.loc}: {err.message}") from None


def scrub(item: dict[str, Any]) -> dict[str, Any]:
    """An object fit to share in a bug report: no Secret data, no managed fields."""
    out = dict(item)
    meta = dict(out.get("metadata") or {})
    meta.pop("managedFields", None)
    out["metadata"] = meta
    if out.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if key in out:
                out[key] = dict.fromkeys(out[key], "")
    return out


def write_dump(path: Path, items: Sequence[dict[str, Any]], now: datetime.datetime, read: Sequence[str] = ()) -> None:
    """Write a List of ``items`` through a temporary file, renamed into place."""
    annotations = {DUMPED_AT: f"{now:%Y-%m-%dT%H:%M:%SZ}"}
    if read:
        annotations[KINDS_READ] = ",".join(sorted(set(read)))
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"annotations": annotations},
        "items": [scrub(item) for item in items],
    }
    from volsync_kit.adapters.fs import write_atomically

    write_atomically(path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
