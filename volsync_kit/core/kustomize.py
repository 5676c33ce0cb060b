"""An offline kustomize build, for the transforms that shape VolSync volumes.

Follows kubernetes-sigs/kustomize ``api/internal/target/kusttarget.go``:
a kustomization accumulates its ``resources`` (files, or folders that are
built on their own), then its ``components`` in order (a component adds to
the *same* accumulator, and its transformers see everything accumulated so
far), then runs its own transformers over the whole set, in kustomize's
built-in order: patchesStrategicMerge, patches, namespace, namePrefix,
nameSuffix, labels and commonLabels, commonAnnotations, patchesJson6902.

What is not modelled (generators, replacements, transformer plugins, remote
bases, Helm charts) is reported as a problem, never silently skipped.
Errors that make kustomize fail raise :class:`ModelError` with kustomize's
own wording, so that a failed build is told apart from an empty one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field

from volsync_kit.core import patches, replacements
from volsync_kit.core.buildmemo import Passing
from volsync_kit.core.generators import GENERATORS, generate
from volsync_kit.core.generators import entries as generator_entries
from volsync_kit.core.model import (
    Loc,
    Map,
    ModelError,
    Node,
    Problem,
    Resource,
    Scalar,
    Seq,
    Severity,
    loc_of,
    map_at,
    seq_at,
    set_at,
    str_at,
)
from volsync_kit.core.ports import RepoReader
from volsync_kit.core.sources import FLUX_GROUP

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
COMPONENT_KIND = "Component"

# Built-in kinds kustomize's OpenAPI data knows as cluster-scoped.  Custom
# resources are unknown to it and therefore get a namespace, even when the
# API server treats them as cluster-scoped (ClusterSecretStore…).
CLUSTER_SCOPED = frozenset(
    {
        ("", "Namespace"), ("", "Node"), ("", "PersistentVolume"), ("", "ComponentStatus"),
        ("rbac.authorization.k8s.io", "ClusterRole"), ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("storage.k8s.io", "StorageClass"), ("storage.k8s.io", "CSIDriver"), ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"), ("scheduling.k8s.io", "PriorityClass"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("networking.k8s.io", "IngressClass"), ("node.k8s.io", "RuntimeClass"),
        ("certificates.k8s.io", "CertificateSigningRequest"), ("policy", "PodSecurityPolicy"),
    }
)  # fmt: skip
# kustomize's prefix/suffix transformer leaves these names alone.
UNPREFIXED_KINDS = frozenset({"CustomResourceDefinition", "APIService", "Namespace"})
# Name references kustomize follows that matter for volumes: (referrer kind,
# field path, referenced kind).  PV.spec.claimRef is *not* followed.
NAME_REFERENCES = (
    ("PersistentVolumeClaim", ("spec", "volumeName"), "PersistentVolume"),
    ("PersistentVolumeClaim", ("spec", "storageClassName"), "StorageClass"),
    ("PersistentVolume", ("spec", "storageClassName"), "StorageClass"),
)
# kustomize fields the model does not evaluate: (severity, problem code).
# ConfigMap and Secret generators cannot produce volume objects, so they get
# a code of their own that lint does not report; the others can.
NOT_EVALUATED = {
    "transformers": (Severity.WARNING, "not-evaluated"),
    "vars": (Severity.WARNING, "not-evaluated"),
    "generators": (Severity.WARNING, "not-evaluated"),
    "helmCharts": (Severity.INFO, "not-evaluated"),
    "helmChartInflationGenerator": (Severity.INFO, "not-evaluated"),
}
REMOTE_PREFIXES = ("http://", "https://", "git::", "git@", "ssh://", "github.com/", "github.com:", "gh:", "oci://")


def is_remote(entry: str) -> bool:
    return entry.startswith(REMOTE_PREFIXES) or "?ref=" in entry


def join(base: str, entry: str) -> str:
    """A repo-relative path; raises when it leaves the repository."""
    if posixpath.isabs(entry):
        raise ValueError(f"'{entry}' is an absolute path")
    joined = posixpath.normpath(posixpath.join(base, entry)) if base not in ("", ".") else posixpath.normpath(entry)
    if joined == ".." or joined.startswith("../"):
        raise ValueError(f"'{entry}' leaves the repository")
    return "" if joined == "." else joined


@dataclass(frozen=True, slots=True)
class KFile:
    """A kustomization (or component) file, or one generated for a folder."""

    dir: str
    path: str
    node: Map
    generated: bool = False

    @property
    def kind(self) -> str:
        return str_at(self.node, "kind") or "Kustomization"

    def loc(self, *keys: str | int) -> Loc:
        return loc_of(self.node, *keys) or Loc(self.path, 1, 1)


@dataclass(frozen=True, slots=True)
class Overlay:
    """What Flux's generator writes into the root kustomization of spec.path."""

    namespace: str | None = None
    name_prefix: str | None = None
    name_suffix: str | None = None
    components: tuple[tuple[str, Loc | None], ...] = ()
    patches: tuple[Node, ...] = ()
    patches_strategic: tuple[Node, ...] = ()
    patches_json6902: tuple[Node, ...] = ()


@dataclass
class Build:
    """One kustomize build: the resources, the files read, and what was noted.

    It also says how it read them, for a recorded run that asks whether an
    edit of one file can change anything but what the file's objects carry
    through (runmemo): the files read as objects, those read any other way,
    the JSON 6902 operations applied to Flux Kustomizations (the only
    transform that reads or requires a field's value; a strategic merge is
    key by key), and whether replacements ran.
    """

    resources: list[Resource] = field(default_factory=list)
    files: set[str] = field(default_factory=set)
    notes: list[Problem] = field(default_factory=list)
    object_files: set[str] = field(default_factory=set)
    other_reads: set[str] = field(default_factory=set)
    ks_operations: set[tuple[str, str, str]] = field(default_factory=set)  # (op, path, from)
    replaced: bool = False
    # A strategic-merge patch applied to a Flux Kustomization may set its
    # postBuild.substitute (or replace, delete, reorder what holds it).
    ks_substitute_merged: bool = False

    def read(self, path: str, *, objects: bool = False) -> None:
        """Note a file the build reads: as objects, or any other way."""
        self.files.add(path)
        (self.object_files if objects else self.other_reads).add(path)

    def passing(self) -> Passing:
        return Passing(
            frozenset(self.object_files - self.other_reads),
            frozenset(self.ks_operations),
            self.replaced,
            self.ks_substitute_merged,
        )


class Builder:
    def __init__(self, repo: RepoReader) -> None:
        self.repo = repo
        self.build = Build()

    # -- loading ---------------------------------------------------------------

    def note(self, severity: Severity, code: str, message: str, loc: Loc | None) -> None:
        self.build.notes.append(Problem(severity, code, message, loc))

    def find_kfile(self, directory: str) -> str | None:
        _, files = self.repo.listdir(directory)
        found = [name for name in KUSTOMIZATION_FILES if name in files]
        if len(found) > 1:
            raise ModelError("kustomize-build", f"Found multiple kustomization files under: {directory or '.'}", None)
        return join(directory, found[0]) if found else None

    def load_kfile(self, directory: str, referenced_at: Loc | None) -> KFile:
        path = self.find_kfile(directory)
        if path is None:
            raise ModelError(
                "kustomization-missing",
                "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' "
                f"in directory '{directory or '.'}'",
                referenced_at,
            )
        self.build.read(path)
        docs = [d for d in self.repo.documents(path) if d.node is not None]
        if len(docs) != 1 or not isinstance(docs[0].node, Map):
            raise ModelError("kustomization-invalid", "a kustomization must be one YAML mapping", Loc(path, 1, 1))
        return KFile(directory, path, docs[0].node)

    def generate_kfile(self, directory: str) -> KFile:
        """kustomize-controller's generated kustomization for a bare folder:
        every .yaml/.yml file, and every sub-folder that holds its own
        kustomization file (whose tree is then not walked further)."""
        entries: list[str] = []

        def walk(current: str) -> None:
            dirs, files = self.repo.listdir(current)
            for name in files:
                if name.endswith((".yaml", ".yml")) and name not in KUSTOMIZATION_FILES:
                    entries.append(posixpath.relpath(join(current, name), directory or "."))
            for name in dirs:
                sub = join(current, name)
                if self.find_kfile(sub) is not None:
                    entries.append(posixpath.relpath(sub, directory or "."))
                else:
                    walk(sub)

        walk(directory)
        node = Map({"resources": Seq(tuple(Scalar(e) for e in sorted(entries)))})
        return KFile(directory, join(directory, "kustomization.yaml"), node, generated=True)

    def load_resources(self, path: str, *, strict_objects: bool) -> list[Resource]:
        self.build.read(path, objects=True)
        out: list[Resource] = []
        for doc in self.repo.documents(path):
            if doc.node is None:
                continue
            if not isinstance(doc.node, Map):
                raise ModelError("object-invalid", "a Kubernetes object must be a YAML mapping", doc.loc)
            if str_at(doc.node, "kind") == "List":
                for item in seq_at(doc.node, "items"):
                    if isinstance(item, Map):
                        out.append(self._resource(item, item.loc or doc.loc, strict_objects))
                continue
            out.append(self._resource(doc.node, doc.loc, strict_objects))
        return out

    @staticmethod
    def _resource(node: Map, loc: Loc, strict: bool) -> Resource:
        kind = str_at(node, "kind")
        name = str_at(node, "metadata", "name")
        if strict and not kind:
            raise ModelError("object-invalid", "missing kind in object", loc)
        if strict and not name:
            raise ModelError("object-invalid", f"missing metadata.name in {kind or 'object'}", loc)
        return Resource(node, loc, name or "", str_at(node, "metadata", "namespace") or "")

    # -- accumulation -----------------------------------------------------------

    def run(self, directory: str, overlay: Overlay | None = None, *, flux_root: bool = False) -> Build:
        """Build ``directory`` (with Flux's overlay when it is a spec.path)."""
        if self.find_kfile(directory) is None and flux_root:
            kfile = self.generate_kfile(directory)
        else:
            kfile = self.load_kfile(directory, None)
        if kfile.kind == COMPONENT_KIND and not flux_root:
            raise ModelError("component-kind", f"expected kind != 'Component' for path '{directory}'", kfile.loc())
        self.build.resources = self.accumulate(kfile, [], overlay or Overlay(), check_empty=not flux_root)
        return self.build

    def accumulate(
        self, kf: KFile, acc: list[Resource], overlay: Overlay, *, check_empty: bool = True
    ) -> list[Resource]:
        if check_empty and not kf.generated and _set_keys(kf.node) <= {"apiVersion", "kind"}:
            raise ModelError("kustomization-empty", f"{posixpath.basename(kf.path)} is empty", kf.loc())
        for key, (severity, code) in NOT_EVALUATED.items():
            if not _is_null(kf.node.items.get(key)):
                self.note(severity, code, f"kustomize '{key}' is not evaluated", kf.loc(key))
        acc = list(acc)
        seen = {_ident(r) for r in acc}
        for entry, loc in self.entries(kf, "resources"):
            for res in self.resource_entry(kf, entry, loc):
                self.add(acc, seen, res)
        components = [*self.entries(kf, "components"), *overlay.components]
        for entry, loc in components:
            acc = self.component(kf, entry, loc, acc)
        # kustomize's accumulateTarget: resources, components, then generators.
        seen = {_ident(r) for r in acc}
        for res in self.generated(kf):
            self.add(acc, seen, res)
        return self.transform(kf, acc, overlay)

    def generated(self, kf: KFile) -> list[Resource]:
        out: list[Resource] = []
        options = map_at(kf.node, "generatorOptions")
        for field_name, kind in GENERATORS.items():
            for spec in generator_entries(kf.node.items.get(field_name), field_name, kf.loc(field_name)):
                node = generate(kind, spec, kf.dir, options, self.read_text)
                out.append(Resource(node, spec.loc, str_at(node, "metadata", "name") or ""))
        return out

    def read_text(self, directory: str, entry: str, loc: Loc | None) -> str | None:
        """A generator's input file (an env file, a file source); None for a URL."""
        if is_remote(entry):
            self.note(Severity.WARNING, "remote-not-followed", f"remote generator source '{entry}' is not read", loc)
            return None
        path = join(directory, entry)
        if self.repo.kind(path) != "file":
            raise ModelError("resource-missing", f"generator source '{path}': no such file", loc)
        self.build.read(path)
        try:
            return self.repo.text(path)
        except ModelError as err:
            if err.code != "encoding":
                raise
            # kustomize puts a file that is not UTF-8 in binaryData; an icon
            # or a keystore defines no variable, so it is left out here.
            self.note(Severity.INFO, "not-evaluated", f"binary generator source '{entry}' is not read", loc)
            return None

    def entries(self, kf: KFile, key: str) -> list[tuple[str, Loc | None]]:
        node = kf.node.items.get(key)
        if _is_null(node):
            return []
        if not isinstance(node, Seq):
            raise ModelError("kustomization-invalid", f"'{key}' must be a list of paths", kf.loc(key))
        out = []
        for item in node.items:
            if not isinstance(item, Scalar) or not isinstance(item.value, str):
                raise ModelError("kustomization-invalid", f"'{key}' entries must be paths", item.loc or kf.loc(key))
            out.append((item.value, item.loc))
        return out

    def add(self, acc: list[Resource], seen: set[tuple[str, str, str, str]], res: Resource) -> None:
        ident = _ident(res)
        if ident in seen:
            raise ModelError(
                "kustomize-build",
                f"may not add resource with an already registered id: {res.kind}/{res.name}"
                + (f" in namespace {res.namespace}" if res.namespace else ""),
                res.origin,
            )
        seen.add(ident)
        acc.append(res)

    def resolve(self, kf: KFile, entry: str, loc: Loc | None) -> str:
        try:
            return join(kf.dir, entry)
        except ValueError as err:
            raise ModelError("path-outside", f"{err}; paths must stay inside the repository", loc) from None

    def resource_entry(self, kf: KFile, entry: str, loc: Loc | None) -> list[Resource]:
        if is_remote(entry):
            self.note(Severity.WARNING, "remote-not-followed", f"remote resource '{entry}' is not followed", loc)
            return []
        path = self.resolve(kf, entry, loc)
        kind = self.repo.kind(path)
        if kind == "file":
            return self.load_resources(path, strict_objects=True)
        if kind == "dir":
            sub = self.load_kfile(path, loc)
            if sub.kind == COMPONENT_KIND:
                raise ModelError("component-kind", f"expected kind != 'Component' for path '{path}'", loc)
            # A resource folder is built on its own accumulator, then merged.
            return self.accumulate(sub, [], Overlay())
        raise ModelError(
            "resource-missing", f"accumulating resources from '{entry}': no such file or directory '{path}'", loc
        )

    def component(self, kf: KFile, entry: str, loc: Loc | None, acc: list[Resource]) -> list[Resource]:
        if is_remote(entry):
            self.note(Severity.WARNING, "remote-not-followed", f"remote component '{entry}' is not followed", loc)
            return acc
        path = self.resolve(kf, entry, loc)
        if self.repo.kind(path) != "dir":
            raise ModelError(
                "component-missing",
                f"accumulateDirectory: component '{entry}' is not a folder ('{path}' does not exist); "
                "fix the path, which is relative to the kustomization's folder",
                loc,
            )
        comp = self.load_kfile(path, loc)
        if comp.kind != COMPONENT_KIND:
            raise ModelError(
                "component-kind", f"expected kind 'Component' for path '{path}' but got '{comp.kind}'", loc
            )
        return self.accumulate(comp, acc, Overlay())

    # -- transformers ------------------------------------------------------------

    def transform(self, kf: KFile, acc: list[Resource], overlay: Overlay) -> list[Resource]:
        patches_sm = [*self.patch_list(kf, "patchesStrategicMerge"), *overlay.patches_strategic]
        for node in patches_sm:
            acc = self.strategic_entry(kf, node, None, acc)
        for node in [*self.patch_list(kf, "patches"), *overlay.patches]:
            acc = self.patch_entry(kf, node, acc)
        namespace = overlay.namespace if overlay.namespace is not None else str_at(kf.node, "namespace")
        if namespace:
            acc = [_set_namespace(r, namespace) for r in acc]
        prefix = overlay.name_prefix if overlay.name_prefix is not None else str_at(kf.node, "namePrefix")
        suffix = overlay.name_suffix if overlay.name_suffix is not None else str_at(kf.node, "nameSuffix")
        if prefix or suffix:
            acc = [_rename(r, prefix or "", suffix or "") for r in acc]
        acc = self.labels(kf, acc)
        annotations = map_at(kf.node, "commonAnnotations")
        if annotations is not None:
            acc = [_add_meta(r, "annotations", annotations) for r in acc]
        for node in [*self.patch_list(kf, "patchesJson6902"), *overlay.patches_json6902]:
            acc = self.json6902_entry(kf, node, acc)
        # kustomize runs the replacement transformer after the built-in ones.
        for replacement in self.replacement_list(kf):
            self.build.replaced = True
            acc = replacements.apply(acc, replacement)
        return fix_name_references(acc)

    def replacement_list(self, kf: KFile) -> list[Map]:
        """``replacements``: inline, or ``path`` to a file holding a list of them."""
        out: list[Map] = []
        for node in self.patch_list(kf, "replacements"):
            path = str_at(node, "path")
            if path is None:
                if isinstance(node, Map):
                    out.append(node)
                continue
            target = self.resolve(kf, path, loc_of(node, "path"))
            if self.repo.kind(target) != "file":
                raise ModelError("resource-missing", f"replacements: no such file '{target}'", loc_of(node, "path"))
            self.build.read(target)
            for doc in self.repo.documents(target):
                items = doc.node.items if isinstance(doc.node, Seq) else (doc.node,)
                out.extend(item for item in items if isinstance(item, Map))
        return out

    def patch_list(self, kf: KFile, key: str) -> list[Node]:
        node = kf.node.items.get(key)
        if _is_null(node):
            return []
        if not isinstance(node, Seq):
            raise ModelError("kustomization-invalid", f"'{key}' must be a list", kf.loc(key))
        return list(node.items)

    def labels(self, kf: KFile, acc: list[Resource]) -> list[Resource]:
        for entry in seq_at(kf.node, "labels"):
            pairs = map_at(entry, "pairs")
            if pairs is not None:
                acc = [_add_meta(r, "labels", pairs) for r in acc]
        common = map_at(kf.node, "commonLabels")
        if common is not None:
            acc = [_add_meta(r, "labels", common) for r in acc]
        return acc

    def patch_documents(self, kf: KFile, entry: Node) -> tuple[list[Node], Loc | None]:
        """The parsed body of a ``patches`` entry: inline ``patch`` or ``path``."""
        if isinstance(entry, Scalar) and isinstance(entry.value, str):
            return self.patch_file(kf, entry.value, entry.loc)
        inline = map_at(entry)
        if inline is None:
            raise ModelError("patch-invalid", "a patch must be a mapping", entry.loc)
        body = inline.items.get("patch")
        if isinstance(body, Scalar) and isinstance(body.value, str):
            origin = body.loc or kf.loc("patches")
            self.build.other_reads.add(origin.file)
            return [d.node for d in self.repo.parse_inline(body.value, origin) if d.node is not None], origin
        path = str_at(inline, "path")
        if path:
            return self.patch_file(kf, path, loc_of(inline, "path"))
        raise ModelError("patch-invalid", "a patch needs 'patch' or 'path'", inline.loc)

    def patch_file(self, kf: KFile, entry: str, loc: Loc | None) -> tuple[list[Node], Loc | None]:
        path = self.resolve(kf, entry, loc)
        if self.repo.kind(path) != "file":
            raise ModelError("patch-missing", f"patch file '{entry}' does not exist", loc)
        self.build.read(path)
        return [d.node for d in self.repo.documents(path) if d.node is not None], loc

    def patch_entry(self, kf: KFile, entry: Node, acc: list[Resource]) -> list[Resource]:
        docs, loc = self.patch_documents(kf, entry)
        target = map_at(entry, "target")
        for doc in docs:
            if isinstance(doc, Seq):
                if target is None:
                    raise ModelError("patch-invalid", "a JSON 6902 patch must specify a target", loc)
                acc = self.json6902(doc, target, acc)
            elif isinstance(doc, Map):
                acc = self.strategic(doc, target, acc, loc)
        return acc

    def strategic_entry(self, kf: KFile, entry: Node, target: Map | None, acc: list[Resource]) -> list[Resource]:
        docs, loc = self.patch_documents(kf, entry)
        for doc in docs:
            if isinstance(doc, Map):
                acc = self.strategic(doc, target, acc, loc)
        return acc

    def strategic(self, doc: Map, target: Map | None, acc: list[Resource], loc: Loc | None) -> list[Resource]:
        def note(message: str) -> None:
            self.note(Severity.WARNING, "not-evaluated", message, loc)

        def picks(r: Resource) -> bool:
            return patches.matches(target, r) if target is not None else patches.same_object(doc, r)

        if target is None and not any(picks(r) for r in acc):
            raise ModelError(
                "patch-target-missing",
                f"no matches for patch target {str_at(doc, 'kind')}/{str_at(doc, 'metadata', 'name')}",
                doc.loc or loc,
            )
        sets_substitute = _may_set_substitute(doc)  # the patch's, once: it may pick 2,000 Kustomizations
        out: list[Resource] = []
        for res in acc:
            if not picks(res):
                out.append(res)
                continue
            if sets_substitute and res.kind == "Kustomization" and res.group == FLUX_GROUP:
                self.build.ks_substitute_merged = True
            patched = patches.apply_strategic(res, doc, note)
            if patched is not None:
                out.append(patched)
        return out

    def json6902_entry(self, kf: KFile, entry: Node, acc: list[Resource]) -> list[Resource]:
        target = map_at(entry, "target")
        if target is None:
            raise ModelError("patch-invalid", "patchesJson6902 entries need a target", entry.loc)
        docs, loc = self.patch_documents(kf, entry)
        for doc in docs:
            if not isinstance(doc, Seq):
                raise ModelError("patch-invalid", "a JSON 6902 patch must be a list of operations", loc)
            acc = self.json6902(doc, target, acc)
        return acc

    def json6902(self, ops: Seq, target: Map, acc: list[Resource]) -> list[Resource]:
        out: list[Resource] = []
        for res in acc:
            if patches.matches(target, res):
                if res.kind == "Kustomization" and res.group == FLUX_GROUP:
                    self.build.ks_operations.update(
                        (str_at(op, "op") or "", str_at(op, "path") or "", str_at(op, "from") or "") for op in ops.items
                    )
                res = res.with_node(patches.apply_json6902(res.node, ops))
            out.append(res)
        return out


def _may_set_substitute(patch: Map) -> bool:
    """Whether a strategic-merge patch may change a Flux Kustomization's
    ``spec.postBuild.substitute``: it sets it, or a directive (``$patch``,
    ``$retainKeys``, ...) or a value other than a map stands on the way."""
    node: Node | None = patch
    for key in ("spec", "postBuild"):
        if not isinstance(node, Map) or any(k.startswith("$") for k in node.items):
            return True
        node = node.items.get(key)
        if node is None:
            return False
    return not isinstance(node, Map) or "substitute" in node.items or any(k.startswith("$") for k in node.items)


def _is_null(node: Node | None) -> bool:
    """An absent key, or one with no value (``patches:``, ``~``, ``null``).

    kustomize reads a kustomization with sigs.k8s.io/yaml into Go structs
    (``types.Kustomization.Unmarshal``), where a null list is a nil slice,
    the same as a missing key: ``patches:`` is no patch, not an error.
    """
    return node is None or (isinstance(node, Scalar) and node.value is None)


def _set_keys(node: Map) -> set[str]:
    """The keys that make a kustomization non-empty.

    kustomize's ``Kustomization.CheckEmpty`` compares the decoded struct with
    an empty one (``reflect.DeepEqual``), so keys with a null or empty-string
    value do not count, while an empty list (``resources: []``) does.
    Checked with kustomize v5.5: ``resources:`` alone, ``namespace: ""``
    alone fail with "kustomization.yaml is empty"; ``resources: []`` builds.
    """
    return {key for key, value in node.items.items() if not (_is_null(value) or _is_empty_string(value))}


def _is_empty_string(node: Node) -> bool:
    return isinstance(node, Scalar) and node.value == ""


def _ident(res: Resource) -> tuple[str, str, str, str]:
    return (res.group, res.kind, res.namespace, res.name)


def is_cluster_scoped(res: Resource) -> bool:
    return (res.group, res.kind) in CLUSTER_SCOPED


def _set_namespace(res: Resource, namespace: str) -> Resource:
    if res.kind == "Namespace" and not res.group:
        return res.with_node(
            set_at(res.node, ("metadata", "name"), Scalar(namespace, loc_of(res.node, "metadata", "name")))
        )
    if is_cluster_scoped(res):
        return res
    return res.with_node(set_at(res.node, ("metadata", "namespace"), Scalar(namespace, loc_of(res.node, "metadata"))))


def _rename(res: Resource, prefix: str, suffix: str) -> Resource:
    if res.kind in UNPREFIXED_KINDS:
        return res
    name_loc = loc_of(res.node, "metadata", "name")
    node = set_at(res.node, ("metadata", "name"), Scalar(f"{prefix}{res.name}{suffix}", name_loc))
    return Resource(node, res.origin, res.original_name, res.original_namespace, (*res.aliases, res.name))


def _add_meta(res: Resource, field_name: str, values: Map) -> Resource:
    node = res.node
    for key, value in values.items.items():
        text = value.value if isinstance(value, Scalar) else None
        scalar = Scalar("" if text is None else str(text).lower() if isinstance(text, bool) else str(text), value.loc)
        node = set_at(node, ("metadata", field_name, key), scalar)
    return res.with_node(node)


def fix_name_references(acc: Sequence[Resource]) -> list[Resource]:
    """Point references at renamed objects, as kustomize's nameref transformer does."""
    renamed: dict[tuple[str, str], str] = {}
    for res in acc:
        for old in res.aliases:
            if old != res.name:
                renamed[(res.kind, old)] = res.name
    if not renamed:
        return list(acc)
    out: list[Resource] = []
    for res in acc:
        for kind, path, target_kind in NAME_REFERENCES:
            current = str_at(res.node, *path)
            if res.kind == kind and current and (target_kind, current) in renamed:
                res = res.with_node(
                    set_at(res.node, path, Scalar(renamed[(target_kind, current)], loc_of(res.node, *path)))
                )
        out.append(res)
    return out


def build_directory(
    repo: RepoReader, directory: str, overlay: Overlay | None = None, *, flux_root: bool = False
) -> Build:
    """Build one folder; raises ModelError where kustomize would fail."""
    return Builder(repo).run(directory, overlay, flux_root=flux_root)
