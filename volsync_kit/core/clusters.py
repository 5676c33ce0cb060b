"""Where Flux starts: the clusters a repository syncs, found the way Flux bootstraps.

A repository can drive several clusters, each from its own entry point:

* a **FluxInstance** (flux-operator): ``spec.sync`` names the source kind,
  URL and ``path``; the operator creates the source and the root
  Kustomization in the instance's namespace, both named after that
  namespace (fluxoperator.dev ``docs/instance/sync.md``);
* the **flux-instance Helm chart**: the same under ``instance.sync`` in a
  HelmRelease's values or a values file;
* a **Kustomization that syncs its own folder**: ``flux bootstrap``'s
  ``flux-system/gotk-sync.yaml`` (``path: ./clusters/<name>``), or the
  flux-cluster-template's ``kubernetes/flux/config/cluster.yaml`` (a
  GitRepository with its own name, Kustomization ``cluster`` with
  ``path: ./kubernetes/flux``).  Its file lies inside the folder it builds,
  which is what makes it a root: applied once by hand, it keeps itself.

The root source is what the root Kustomization's ``sourceRef`` names.  An
OCIRepository holds only the folder CI pushed, so its ``spec.path`` is
relative to that folder: the folder is read from the ``flux push artifact
--path`` in CI files, else it is the one top-level folder that holds
``spec.path``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from volsync_kit.core.facts import sync_facts
from volsync_kit.core.kustomize import join
from volsync_kit.core.model import Loc, Map, ModelError, Resource, iter_scalars, loc_of, node_at, str_at
from volsync_kit.core.ports import RepoReader
from volsync_kit.core.sources import BOOTSTRAP_NAME, FLUX_GROUP, SOURCE_GROUP, SOURCE_KINDS, SourceId


@dataclass(frozen=True, slots=True)
class Entry:
    """Where Flux starts reconciling one cluster from this repository.

    ``path`` is relative to ``root``, the folder of this repository that the
    root source's artifact holds ("" for all of it).  ``source`` is None when
    it is not known (an ``--entry`` that matches no detected entry point):
    then every source is followed.
    """

    path: str
    how: str
    loc: Loc | None
    source: SourceId | None = None
    url: str = ""
    root: str = ""
    ks: Resource | None = None  # the root Kustomization, when git declares it
    ignore: str | None = None  # the root source's spec.ignore
    label: str = ""  # the declaring object's name, to tell same-path instances apart

    @property
    def folder(self) -> str:
        """``path`` as a repository-relative folder."""
        try:
            return join(self.root, self.path.strip().lstrip("/"))
        except ValueError:
            return self.path


@dataclass(frozen=True, slots=True)
class Cluster:
    name: str
    entry: Entry


@dataclass(frozen=True, slots=True)
class Declared:
    """A Flux source object written in the repository."""

    id: SourceId
    url: str
    ignore: str | None
    file: str = ""


def _instance_entry(res: Resource, sync: Map, how: str, namespace: str) -> Entry | None:
    path = str_at(sync, "path")
    if not path:
        return None
    kind = str_at(sync, "kind") or "GitRepository"
    name = str_at(sync, "name") or namespace
    return Entry(
        path,
        how,
        loc_of(sync, "path"),
        SourceId(kind, namespace, name),
        url=str_at(sync, "url") or "",
        label=res.name,
    )


def instance_entry(res: Resource) -> Entry | None:
    """The entry a FluxInstance or flux-instance chart values declare, if any."""
    node = res.node
    if res.kind == "FluxInstance":
        sync = node_at(node, "spec", "sync")
        namespace = res.namespace or BOOTSTRAP_NAME
        return _instance_entry(res, sync, "FluxInstance spec.sync.path", namespace) if isinstance(sync, Map) else None
    if res.kind == "HelmRelease":
        sync = node_at(node, "spec", "values", "instance", "sync")
        namespace = str_at(node, "spec", "targetNamespace") or res.namespace or BOOTSTRAP_NAME
        if isinstance(sync, Map):
            return _instance_entry(res, sync, "flux-instance HelmRelease values", namespace)
        return None
    if not res.kind:
        sync = node_at(node, "instance", "sync")
        if isinstance(sync, Map):
            return _instance_entry(res, sync, "flux-instance Helm values", BOOTSTRAP_NAME)
    return None


def self_syncing(res: Resource, file: str) -> Entry | None:
    """A Flux Kustomization declared inside the folder it builds (see module doc)."""
    sync = sync_facts(res)  # the scan asks every Kustomization: read without opening a stored one
    if sync is None:
        return None
    source = sync.source
    if source is None or source.kind not in SOURCE_KINDS:
        return None
    raw = sync.path or "."
    try:
        folder = join("", raw.strip().lstrip("/"))
    except ValueError:
        return None
    if folder and not file.startswith(folder + "/"):
        return None
    if not folder and source.kind != "GitRepository":
        # ``path: ./`` of an OCI artifact (the flux-cluster-template's
        # ``flux`` Kustomization on flux-manifests) is that artifact's root,
        # which says nothing about this repository.
        return None
    return Entry(
        raw,
        f"Kustomization {res.name} syncs its own folder",
        loc_of(res.node, "spec", "path"),
        source,
        ks=res,
        label=res.name,
    )


# The words may_declare looks for, which a reader answers without reading an
# unchanged file (RepoReader.mentions).
DECLARE_WORDS = frozenset({"FluxInstance", "instance:", "sync:", FLUX_GROUP, SOURCE_GROUP})


def may_declare(found: Container[str]) -> bool:
    """A cheap test, so that only candidates are parsed: ``found`` is the
    file's text, or which of DECLARE_WORDS it contains (the test is the same)."""
    return (
        "FluxInstance" in found
        or ("instance:" in found and "sync:" in found)
        or FLUX_GROUP in found
        or SOURCE_GROUP in found
    )


def scan(docs: Iterable[tuple[str, Resource]]) -> tuple[list[Entry], list[Entry], dict[SourceId, list[Declared]]]:
    """Entry points and source objects among the documents of the repository:
    (instance entries, self-syncing Kustomizations, declared sources; each
    cluster of a repository may declare its own source of the same name)."""
    instances: list[Entry] = []
    selfsync: list[Entry] = []
    sources: dict[SourceId, list[Declared]] = {}
    for file, res in docs:
        found = instance_entry(res)
        if found is not None:
            instances.append(found)
            continue
        found = self_syncing(res, file)
        if found is not None:
            selfsync.append(found)
            continue
        if res.group == SOURCE_GROUP and res.kind in SOURCE_KINDS and res.name:
            sid = SourceId(res.kind, res.namespace or BOOTSTRAP_NAME, res.name)
            url = str_at(res.node, "spec", "url") or ""
            sources.setdefault(sid, []).append(Declared(sid, url, str_at(res.node, "spec", "ignore"), file))
    return instances, selfsync, sources


# -- the artifact's folder, for OCI syncs ------------------------------------------------

_PUSH = re.compile(r"flux\s+push\s+artifact\b(?:[^\n]|\\\n)*?--path[= ]+[\"']?([^\s\"']+)")
CI_FILES = (
    ".github/workflows",
    ".gitea/workflows",
    ".forgejo/workflows",
    ".gitlab-ci.yml",
    ".taskfiles",
    "Taskfile.yaml",
    "Taskfile.yml",
    "Makefile",
    "justfile",
    ".justfile",
)


def _ci_texts(repo: RepoReader) -> Iterable[str]:
    for place in CI_FILES:
        try:
            kind = repo.kind(place)
            if kind == "file":
                yield repo.text(place)
            elif kind == "dir":
                dirs, files = repo.listdir(place)
                for name in files:
                    yield repo.text(f"{place}/{name}")
                for sub in dirs:
                    for name in repo.listdir(f"{place}/{sub}")[1]:
                        yield repo.text(f"{place}/{sub}/{name}")
        except (ModelError, ValueError):
            continue


def pushed_folders(repo: RepoReader) -> list[str]:
    """The folders CI pushes as OCI artifacts (``flux push artifact --path``)."""
    found: list[str] = []
    for text in _ci_texts(repo):
        for match in _PUSH.finditer(text):
            try:
                folder = join("", match.group(1).strip().lstrip("/"))
            except ValueError:
                continue
            if folder not in found:
                found.append(folder)
    return found


def artifact_root(repo: RepoReader, entry: Entry) -> str:
    """The folder of this repository that ``entry``'s OCI artifact holds."""
    path = entry.path.strip().lstrip("/")
    for folder in pushed_folders(repo):
        if _is_dir(repo, folder, path):
            return folder
    if _is_dir(repo, "", path):
        return ""
    holding = [d for d in repo.listdir("")[0] if not d.startswith(".") and _is_dir(repo, d, path)]
    return holding[0] if len(holding) == 1 else ""


T = TypeVar("T")


def closest(candidates: Sequence[tuple[str, T]], near: str) -> T | None:
    """Of several (file, thing) declarations of one object, the thing whose file
    shares the longest folder path with ``near`` (a cluster's folder): each
    cluster of a repository declares its own source and settings."""

    def shared(candidate: tuple[str, T]) -> int:
        path = candidate[0]
        return len(posixpath.commonpath([path, near]).split("/")) if path and near else 0

    return max(candidates, key=shared)[1] if candidates else None


def nearest(declared: Sequence[Declared], near: str) -> Declared | None:
    """Of the declarations of one source, the one in the file nearest to ``near``."""
    return closest([(d.file, d) for d in declared], near)


def _is_dir(repo: RepoReader, folder: str, path: str) -> bool:
    try:
        return repo.kind(join(folder, path)) == "dir"
    except ValueError:
        return False


# -- naming -----------------------------------------------------------------------------


def _distinct(paths: Sequence[str]) -> list[str]:
    """What tells ``paths`` apart: each without the segments all of them share
    at the start and at the end (``kubernetes/main/flux`` and
    ``kubernetes/utility/flux`` give ``main`` and ``utility``)."""
    parts = [[s for s in p.split("/") if s not in ("", ".")] for p in paths]
    head = 0
    while all(len(p) > head for p in parts) and len({p[head] for p in parts}) == 1:
        head += 1
    tail = 0
    while all(len(p) > head + tail for p in parts) and len({p[len(p) - 1 - tail] for p in parts}) == 1:
        tail += 1
    return ["/".join(p[head : len(p) - tail]) for p in parts]


def name_clusters(entries: Sequence[Entry]) -> list[Cluster]:
    """Name each cluster by what sets its entry apart: the folder it syncs,
    else the file that declares it, else its object's name."""
    if len(entries) == 1:
        return [Cluster(_single_name(entries[0]), entries[0])]
    for attempt in (
        [e.folder for e in entries],
        [posixpath.dirname(e.loc.file) if e.loc else "" for e in entries],
        [e.label for e in entries],
    ):
        names = _distinct(attempt)
        if all(names) and len(set(names)) == len(names):
            return [Cluster(n, e) for n, e in zip(names, entries, strict=True)]
    return [Cluster(f"cluster-{i + 1}", e) for i, e in enumerate(entries)]


def _single_name(entry: Entry) -> str:
    """One cluster: ``clusters/<name>/...`` names it; otherwise it is ``default``."""
    parts = entry.folder.split("/")
    if "clusters" in parts[:-1]:
        return parts[parts.index("clusters") + 1]
    return "default"


# kustomize-controller fails on an unset variable without a default since v1.9 (Flux 2.9,
# fluxcd/kustomize-controller#1671); a cluster can opt out, or, before 2.9, opt in, with
# --feature-gates=StrictPostBuildSubstitutions=<bool> in a patch of its controllers
# (gavinmcfall/home-ops#2425 opted out the day 2.9 broke six apps).
STRICT_GATE = re.compile(r"StrictPostBuildSubstitutions\s*=\s*(true|false)", re.IGNORECASE)


def strict_substitution(repo: RepoReader, entry: Entry | None) -> bool:
    """Whether this cluster's kustomize-controller runs post-build substitution strictly:
    as its entry point's FluxInstance, flux-instance values, or bootstrap ``kustomization.yaml``
    patches set the feature gate, else strict (the default)."""
    if entry is None or entry.loc is None:
        return True
    files = [entry.loc.file, join(posixpath.dirname(entry.loc.file), "kustomization.yaml")]
    for file in dict.fromkeys(files):
        try:
            documents = repo.documents(file) if repo.kind(file) == "file" else ()
        except ModelError:
            continue
        for document in documents:
            if document.node is None:
                continue
            for _, scalar in iter_scalars(document.node):
                found = STRICT_GATE.search(scalar.value) if isinstance(scalar.value, str) else None
                if found:
                    return found.group(1).lower() == "true"
    return True
