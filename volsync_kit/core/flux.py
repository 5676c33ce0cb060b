"""The Flux graph: which Kustomizations exist, and what each one applies.

Walks the repository the way kustomize-controller reconciles it.  The entry
point (a FluxInstance's ``spec.sync.path``, the flux-operator instance Helm
values, or a ``flux-system`` sync Kustomization) is built like any
Kustomization; every Flux Kustomization in a build's output is a child,
after the parent's transforms and post-build substitution; and so on down.
Files that declare Flux Kustomizations the graph never reaches (a disabled
app commented out of its namespace's ``kustomization.yaml``) are inactive.

Per Kustomization, following fluxcd/pkg ``kustomize/kustomize_generator.go``
and kustomize-controller's reconcile loop:

1. build ``spec.path`` (or generate its kustomization), with
   ``targetNamespace``, ``namePrefix``/``nameSuffix``, ``patches`` and
   ``components`` (local relative paths, appended after the file's own);
2. substitute variables from ``substituteFrom`` (in order, later wins) and
   then ``substitute`` (wins over both), in strict mode, unless no variable
   resolves under the default ``WithVariables`` strategy;
3. add the owner labels, then merge ``commonMetadata`` over them.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from volsync_kit.core.buildmemo import Answers, RecordingReader, Stored, still_valid
from volsync_kit.core.kustomize import Overlay, build_directory, join
from volsync_kit.core.model import (
    KsRef,
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
    node_at,
    seq_at,
    set_at,
    str_at,
)
from volsync_kit.core.ports import BuildMemo, RepoReader
from volsync_kit.core.substitution import VAR_NAME, TreeSubstituter, TreeSubstitutionError

FLUX_GROUP = "kustomize.toolkit.fluxcd.io"
SUBSTITUTE_OPT_OUT = "kustomize.toolkit.fluxcd.io/substitute"
OWNER_LABELS = ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace")
ROOT_NAME = "flux-system"
SOURCE_KINDS = frozenset({"GitRepository", "OCIRepository", "Bucket"})

Status = Literal["rendered", "failed", "not-followed"]


def is_flux_kustomization(res: Resource) -> bool:
    return res.kind == "Kustomization" and res.group == FLUX_GROUP


@dataclass(frozen=True, slots=True)
class Entry:
    """Where Flux starts reconciling this repository."""

    path: str
    how: str
    loc: Loc | None


@dataclass(frozen=True, slots=True)
class VarSource:
    kind: str
    name: str
    optional: bool
    loc: Loc | None


@dataclass(frozen=True, slots=True)
class FluxKs:
    """The parts of a Flux Kustomization that decide what it applies."""

    ref: KsRef
    node: Map
    loc: Loc | None

    def spec(self, *path: str | int) -> Node | None:
        return node_at(self.node, "spec", *path)

    def spec_str(self, *path: str | int) -> str | None:
        return str_at(self.node, "spec", *path)

    def spec_loc(self, *path: str | int) -> Loc | None:
        return loc_of(self.node, "spec", *path) or self.loc

    @property
    def has_post_build(self) -> bool:
        return map_at(self.node, "spec", "postBuild") is not None


@dataclass(frozen=True)
class KsResult:
    """What one Flux Kustomization renders, or why it cannot be rendered."""

    ks: FluxKs
    status: Status
    resources: tuple[Resource, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    parent: KsRef | None = None
    files: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RepoModel:
    entries: tuple[Entry, ...]
    results: tuple[KsResult, ...]
    inactive: tuple[KsRef, ...]
    problems: tuple[Problem, ...]


# -- entry point ---------------------------------------------------------------


def _entry_from(res: Resource) -> Entry | None:
    node = res.node
    if res.kind == "FluxInstance":
        path = str_at(node, "spec", "sync", "path")
        return Entry(path, "FluxInstance spec.sync.path", loc_of(node, "spec", "sync", "path")) if path else None
    if res.kind == "HelmRelease":
        path = str_at(node, "spec", "values", "instance", "sync", "path")
        loc = loc_of(node, "spec", "values", "instance", "sync", "path")
        return Entry(path, "flux-instance HelmRelease values", loc) if path else None
    if is_flux_kustomization(res) and res.name == ROOT_NAME and res.namespace in ("", ROOT_NAME):
        path = str_at(node, "spec", "path")
        return Entry(path or ".", "flux-system sync Kustomization", loc_of(node, "spec", "path"))
    if not res.kind:
        path = str_at(node, "instance", "sync", "path")
        return Entry(path, "flux-instance Helm values", loc_of(node, "instance", "sync", "path")) if path else None
    return None


def _may_hold_entry(text: str) -> bool:
    """A cheap text test, so that only candidate files are parsed (most apps'
    HelmReleases mention flux-system, but none of them is an entry point)."""
    if "FluxInstance" in text or ("instance:" in text and "sync:" in text):
        return True
    return f"name: {ROOT_NAME}" in text and "kind: Kustomization" in text and "path:" in text


def detect_entries(repo: RepoReader) -> tuple[Entry, ...]:
    """Find where Flux starts: FluxInstance, then instance Helm values, then gotk-sync."""
    found: dict[str, list[Entry]] = {}
    for path in repo.yaml_files():
        try:
            text = repo.text(path)
        except ModelError:
            continue
        if not _may_hold_entry(text):
            continue
        try:
            docs = repo.documents(path)
        except ModelError:
            continue
        for doc in docs:
            if not isinstance(doc.node, Map):
                continue
            res = Resource(doc.node, doc.loc, str_at(doc.node, "metadata", "name") or "")
            entry = _entry_from(res)
            if entry is not None:
                found.setdefault(entry.how, []).append(entry)
    for how in ("FluxInstance spec.sync.path", "flux-instance HelmRelease values", "flux-instance Helm values"):
        if how in found:
            return tuple(found[how])
    return tuple(found.get("flux-system sync Kustomization", ()))


# -- one Kustomization -------------------------------------------------------------


# The spec fields the model reads, with the YAML type the Flux CRD requires.
SPEC_TYPES: dict[tuple[str, ...], type[Node]] = {
    ("spec",): Map,
    ("spec", "path"): Scalar,
    ("spec", "targetNamespace"): Scalar,
    ("spec", "namePrefix"): Scalar,
    ("spec", "nameSuffix"): Scalar,
    ("spec", "components"): Seq,
    ("spec", "patches"): Seq,
    ("spec", "sourceRef"): Map,
    ("spec", "commonMetadata"): Map,
    ("spec", "commonMetadata", "labels"): Map,
    ("spec", "commonMetadata", "annotations"): Map,
    ("spec", "postBuild"): Map,
    ("spec", "postBuild", "substitute"): Map,
    ("spec", "postBuild", "substituteFrom"): Seq,
}
_TYPE_WORDS = {Map: "a mapping", Seq: "a list", Scalar: "a string"}


def check_shape(ks: FluxKs) -> None:
    """Refuse a Kustomization whose fields have the wrong YAML type, as the
    Flux CRD's schema validation would, instead of guessing a meaning."""
    for path, expected in SPEC_TYPES.items():
        found = node_at(ks.node, *path)
        if found is None:
            continue
        if not isinstance(found, expected) or (
            expected is Scalar and isinstance(found, Scalar) and not isinstance(found.value, str)
        ):
            raise ModelError(
                "flux-invalid",
                f"{'.'.join(path)} must be {_TYPE_WORDS[expected]}; fix the Kustomization",
                found.loc or ks.loc,
            )


def parse_ks(res: Resource, default_namespace: str) -> FluxKs:
    ref = KsRef(res.name, res.namespace or default_namespace, res.origin.file if res.origin else "")
    return FluxKs(ref, res.node, res.origin)


def _strings(ks: FluxKs, key: str) -> list[tuple[str, Loc | None]]:
    node = ks.spec(key)
    if node is None:
        return []
    if not isinstance(node, Seq):
        raise ModelError("flux-invalid", f"spec.{key} must be a list", ks.spec_loc(key))
    out: list[tuple[str, Loc | None]] = []
    for item in node.items:
        if not isinstance(item, Scalar) or not isinstance(item.value, str):
            raise ModelError("flux-invalid", f"spec.{key} entries must be strings", item.loc)
        out.append((item.value, item.loc))
    return out


LOCAL_PREFIXES = ("git::", "gh:", "ssh://", "https://", "http://", "git@", "github.com:", "github.com/")


def overlay_for(ks: FluxKs, repo: RepoReader, path: str) -> Overlay:
    components: list[tuple[str, Loc | None]] = []
    flag = ks.spec("ignoreMissingComponents")
    ignore_missing = isinstance(flag, Scalar) and flag.value is True
    for entry, loc in _strings(ks, "components"):
        if entry.startswith(LOCAL_PREFIXES) or posixpath.isabs(entry):
            raise ModelError("component-not-local", f"component path '{entry}' must be local and relative", loc)
        if ignore_missing:
            try:
                if repo.kind(join(path, entry)) == "missing":
                    continue
            except ValueError:
                continue
        components.append((entry, loc))
    patch_nodes = seq_at(ks.node, "spec", "patches")
    return Overlay(
        namespace=ks.spec_str("targetNamespace") or None,
        name_prefix=ks.spec_str("namePrefix") or None,
        name_suffix=ks.spec_str("nameSuffix") or None,
        components=tuple(components),
        patches=patch_nodes,
        patches_strategic=seq_at(ks.node, "spec", "patchesStrategicMerge"),
        patches_json6902=seq_at(ks.node, "spec", "patchesJson6902"),
    )


@dataclass(frozen=True, slots=True)
class Variables:
    values: Mapping[str, str]
    opaque_from: tuple[str, ...]  # encrypted sources whose values are unknown


class SourceMissing(Exception):
    def __init__(self, source: VarSource) -> None:
        super().__init__(source.name)
        self.source = source


def var_sources(ks: FluxKs) -> list[VarSource]:
    out: list[VarSource] = []
    for item in seq_at(ks.node, "spec", "postBuild", "substituteFrom"):
        kind = str_at(item, "kind") or ""
        name = str_at(item, "name") or ""
        optional = node_at(item, "optional")
        if kind not in ("ConfigMap", "Secret") or not name:
            raise ModelError(
                "flux-invalid", "substituteFrom entries need kind ConfigMap or Secret and a name", item.loc
            )
        out.append(VarSource(kind, name, isinstance(optional, Scalar) and optional.value is True, item.loc))
    return out


def _source_values(res: Resource) -> tuple[dict[str, str], bool]:
    """The key/values of a ConfigMap or Secret, and whether they are encrypted."""
    if map_at(res.node, "sops") is not None:
        return {}, True
    values: dict[str, str] = {}
    for key, value in (map_at(res.node, "data") or Map({})).items.items():
        text = _scalar_text(value)
        if res.kind == "Secret":
            try:
                text = base64.b64decode(text, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ModelError("secret-invalid", f"Secret data '{key}' is not base64", value.loc) from None
        values[key] = text
    for key, value in (map_at(res.node, "stringData") or Map({})).items.items():
        values[key] = _scalar_text(value)
    return values, False


def _scalar_text(node: Node) -> str:
    if isinstance(node, Scalar):
        if isinstance(node.value, bool):
            return str(node.value).lower()
        return "" if node.value is None else str(node.value)
    return ""


def resolve_variables(ks: FluxKs, index: Mapping[tuple[str, str, str], Resource]) -> Variables:
    values: dict[str, str] = {}
    opaque: list[str] = []
    for source in var_sources(ks):
        res = index.get((source.kind, ks.ref.namespace, source.name))
        if res is None:
            if source.optional:
                continue
            raise SourceMissing(source)
        found, encrypted = _source_values(res)
        if encrypted:
            opaque.append(f"{source.kind}/{source.name}")
        values.update(found)
    inline = map_at(ks.node, "spec", "postBuild", "substitute")
    for key, value in (inline.items if inline else {}).items():
        if not isinstance(value, Scalar) or not isinstance(value.value, str):
            raise ModelError("flux-invalid", f"postBuild.substitute.{key} must be a string; quote the value", value.loc)
        values[key] = value.value
    for name in values:
        if not VAR_NAME.match(name):
            raise ModelError(
                "variable-name",
                f"'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'",
                loc_of(inline, name) if inline else ks.spec_loc("postBuild"),
            )
    # Flux strips newlines from every value before substituting.
    return Variables({k: v.replace("\n", "") for k, v in values.items()}, tuple(opaque))


def _opted_out(res: Resource) -> bool:
    for where in ("labels", "annotations"):
        if str_at(res.node, "metadata", where, SUBSTITUTE_OPT_OUT) == "disabled":
            return True
    return False


def post_build(ks: FluxKs, resources: Iterable[Resource], variables: Variables) -> tuple[list[Resource], list[Problem]]:
    notes: list[Problem] = []
    strategy = ks.spec_str("postBuild", "substituteStrategy") or "WithVariables"
    run = ks.has_post_build and (bool(variables.values) or bool(variables.opaque_from) or strategy == "Always")
    out: list[Resource] = []
    substituter = TreeSubstituter(variables.values, opaque=bool(variables.opaque_from))
    for res in resources:
        if not (res.kind and res.name and res.api_version):
            raise ModelError("object-invalid", "failed to decode Kubernetes apiVersion, kind and name", res.origin)
        node: Node = res.node
        if run and not _opted_out(res):
            try:
                node, notices = substituter.tree(res.node)
            except TreeSubstitutionError as err:
                hint = (
                    f"; define {err.variable} in postBuild.substitute or a substituteFrom source, "
                    f"or give it a default: ${{{err.variable}:-value}}"
                    if err.variable
                    else "; fix the ${...} expression, or write $${...} for a literal"
                )
                raise ModelError(
                    "substitution",
                    f"post build failed for '{res.kind}/{res.name}': variable substitution failed: {err.message}{hint}",
                    err.loc,
                ) from None
            for notice in notices:
                notes.append(Problem(Severity.WARNING, "not-evaluated", notice.message, notice.loc, ks.ref))
        assert isinstance(node, Map)
        out.append(_metadata(ks, res.with_node(node)))
    return out, notes


def _metadata(ks: FluxKs, res: Resource) -> Resource:
    node = res.node
    for label, owner in zip(OWNER_LABELS, (ks.ref.name, ks.ref.namespace), strict=True):
        node = set_at(node, ("metadata", "labels", label), Scalar(owner, ks.loc))
    for where in ("labels", "annotations"):
        extra = map_at(ks.node, "spec", "commonMetadata", where)
        for key, value in (extra.items if extra else {}).items():
            node = set_at(node, ("metadata", where, key), Scalar(_scalar_text(value), value.loc))
    return res.with_node(node)


def render_ks(
    repo: RepoReader,
    ks: FluxKs,
    index: Mapping[tuple[str, str, str], Resource],
    parent: KsRef | None,
    memo: Memo | None = None,
) -> KsResult:
    """Render one Flux Kustomization; raises SourceMissing for a variable
    source not (yet) known, so that the walk can retry after other builds."""
    try:
        check_shape(ks)
        variables = resolve_variables(ks, index)
        resources, problems, files = memo.build(ks, variables) if memo is not None else _build(repo, ks, variables)
    except ModelError as err:
        problem = Problem(Severity.ERROR, err.code, err.message, err.loc or ks.loc, ks.ref)
        return KsResult(ks, "failed", problems=(problem,), parent=parent)
    problems = list(problems)
    for source in variables.opaque_from:
        problems.append(
            Problem(
                Severity.INFO,
                "variables-encrypted",
                f"{source} is encrypted; variables it may define are kept as written",
                ks.spec_loc("postBuild"),
                ks.ref,
            )
        )
    return KsResult(ks, "rendered", tuple(resources), variables.values, tuple(problems), parent, files)


def _build(repo: RepoReader, ks: FluxKs, variables: Variables) -> tuple[list[Resource], list[Problem], frozenset[str]]:
    """Build ``spec.path`` with the overlay and post-build; raises ModelError."""
    raw = ks.spec_str("path") or ""
    try:
        # kustomize-controller joins spec.path under the source root
        # (securejoin), so a leading slash is still relative to it.
        path = join("", raw.strip().lstrip("/"))
    except ValueError as err:
        raise ModelError("path-outside", f"spec.path {err}", ks.spec_loc("path")) from None
    if repo.kind(path) != "dir":
        raise ModelError(
            "path-missing",
            f"kustomization path not found: '{raw}'; spec.path is relative to the repository root",
            ks.spec_loc("path"),
        )
    build = build_directory(repo, path, overlay_for(ks, repo, path), flux_root=True)
    resources, notes = post_build(ks, build.resources, variables)
    problems = [Problem(p.severity, p.code, p.message, p.loc, ks.ref) for p in build.notes] + notes
    return resources, problems, frozenset(build.files)


class Memo:
    """Builds remembered across runs (see :mod:`volsync_kit.core.buildmemo`)."""

    def __init__(self, repo: RepoReader, store: BuildMemo) -> None:
        self.store = store
        self.answers = Answers(repo)
        # plan reads the base from git and the head from the working tree:
        # separate slots, so that neither evicts the other's builds.
        self.reader = type(repo).__name__

    def build(self, ks: FluxKs, variables: Variables) -> tuple[list[Resource], list[Problem], frozenset[str]]:
        slot = self.store.key(("flux-build", self.reader, ks.ref.namespace, ks.ref.name, ks.ref.file))
        material = self.store.key(
            (ks.node, ks.loc, ks.ref, tuple(sorted(variables.values.items())), tuple(variables.opaque_from))
        )
        found = still_valid(self.store.get(slot), material, self.answers)
        if found is not None:
            return list(found.resources), list(found.problems), found.files
        recorder = RecordingReader(self.answers)
        resources, problems, files = _build(recorder, ks, variables)
        stored = Stored(material, tuple(recorder.asked.items()), tuple(resources), tuple(problems), files)
        self.store.put(slot, stored)
        return resources, problems, files


# -- the walk ----------------------------------------------------------------------


def _flux_docs(repo: RepoReader) -> Iterable[tuple[str, Resource | None, Problem | None]]:
    """Every Flux Kustomization declared in any YAML file of the repository."""
    for path in repo.yaml_files():
        try:
            text = repo.text(path)
        except ModelError:
            continue
        if FLUX_GROUP not in text:
            continue
        try:
            docs = repo.documents(path)
        except ModelError as err:
            yield path, None, Problem(Severity.ERROR, err.code, err.message, err.loc)
            continue
        for doc in docs:
            if isinstance(doc.node, Map):
                res = Resource(doc.node, doc.loc, str_at(doc.node, "metadata", "name") or "")
                if is_flux_kustomization(res):
                    yield path, res, None


def _file_index(repo: RepoReader) -> dict[tuple[str, str, str], Resource]:
    """ConfigMaps and Secrets declared anywhere, for a graph without an entry point."""
    index: dict[tuple[str, str, str], Resource] = {}
    for path in repo.yaml_files():
        try:
            text = repo.text(path)
            if "kind: ConfigMap" not in text and "kind: Secret" not in text:
                continue
            docs = repo.documents(path)
        except ModelError:
            continue
        for doc in docs:
            if isinstance(doc.node, Map) and str_at(doc.node, "kind") in ("ConfigMap", "Secret"):
                kind = str_at(doc.node, "kind") or ""
                name = str_at(doc.node, "metadata", "name") or ""
                namespace = str_at(doc.node, "metadata", "namespace") or ""
                index.setdefault((kind, namespace, name), Resource(doc.node, doc.loc, name))
    return index


class _Walk:
    def __init__(self, repo: RepoReader, memo: BuildMemo | None = None) -> None:
        self.repo = repo
        self.memo = Memo(repo, memo) if memo is not None else None
        self.results: dict[tuple[str, str], KsResult] = {}
        self.index: dict[tuple[str, str, str], Resource] = {}
        self.problems: list[Problem] = []
        self.queue: deque[tuple[FluxKs, KsRef | None]] = deque()
        self.deferred: list[tuple[FluxKs, KsRef | None]] = []
        self.files_index: dict[tuple[str, str, str], Resource] | None = None
        # (file, name) of every Kustomization the graph reaches, duplicates included
        self.reached: set[tuple[str, str]] = set()

    def visit(self, ks: FluxKs, parent: KsRef | None, *, final: bool) -> None:
        self.reached.add((ks.ref.file, ks.ref.name))
        key = (ks.ref.namespace, ks.ref.name)
        if key in self.results:
            other = self.results[key].ks.ref
            if other.file != ks.ref.file:
                self.problems.append(
                    Problem(
                        Severity.ERROR,
                        "kustomization-duplicate",
                        f"Kustomization {ks.ref} is also declared in {other.file}; Flux applies only one of them",
                        ks.loc,
                        ks.ref,
                    )
                )
            return
        try:
            result = render_ks(self.repo, ks, self.index if not final else self.fallback_index(), parent, self.memo)
        except SourceMissing as missing:
            if not final:
                self.deferred.append((ks, parent))
                return
            source = missing.source
            problem = Problem(
                Severity.ERROR,
                "substitute-source-missing",
                f"substitute from '{source.kind}/{source.name}' error: {source.kind.lower()}s \"{source.name}\" "
                f"not found in namespace {ks.ref.namespace} (it is not defined in the repository; "
                "mark it optional: true if it is created elsewhere)",
                source.loc,
                ks.ref,
            )
            result = KsResult(ks, "failed", problems=(problem,), parent=parent)
        result = self.check_source(result)
        self.results[key] = result
        for res in result.resources:
            if res.kind in ("ConfigMap", "Secret") or res.kind in SOURCE_KINDS:
                self.index.setdefault((res.kind, res.namespace, res.name), res)
            if is_flux_kustomization(res):
                self.queue.append((parse_ks(res, ks.ref.namespace), ks.ref))

    def fallback_index(self) -> dict[tuple[str, str, str], Resource]:
        merged = dict(self.index)
        if self.files_index is None:
            self.files_index = _file_index(self.repo)
        for (kind, namespace, name), res in self.files_index.items():
            merged.setdefault((kind, namespace, name), res)
        return merged

    def check_source(self, result: KsResult) -> KsResult:
        ks = result.ks
        kind = ks.spec_str("sourceRef", "kind") or ""
        name = ks.spec_str("sourceRef", "name") or ""
        namespace = ks.spec_str("sourceRef", "namespace") or ks.ref.namespace
        if result.status != "rendered" or name in ("", ROOT_NAME) or (kind, namespace, name) not in self.index:
            return result
        problem = Problem(
            Severity.WARNING,
            "source-not-followed",
            f"spec.sourceRef {kind}/{name} is another source than this repository; not followed",
            ks.spec_loc("sourceRef"),
            ks.ref,
        )
        return KsResult(ks, "not-followed", problems=(problem,), parent=result.parent)

    def drain(self) -> None:
        while True:
            while self.queue:
                ks, parent = self.queue.popleft()
                self.visit(ks, parent, final=False)
            if not self.deferred:
                return
            before = len(self.results)
            waiting, self.deferred = self.deferred, []
            for ks, parent in waiting:
                self.visit(ks, parent, final=False)
            if len(self.results) == before and not self.queue:
                waiting, self.deferred = self.deferred, []
                for ks, parent in waiting:
                    self.visit(ks, parent, final=True)


def _root(entry: Entry) -> FluxKs:
    file = entry.loc.file if entry.loc else ""
    node = Map(
        {
            "apiVersion": Scalar(f"{FLUX_GROUP}/v1"),
            "kind": Scalar("Kustomization"),
            "metadata": Map({"name": Scalar(ROOT_NAME), "namespace": Scalar(ROOT_NAME)}),
            "spec": Map({"path": Scalar(entry.path, entry.loc)}),
        },
        entry.loc,
    )
    return FluxKs(KsRef(ROOT_NAME, ROOT_NAME, file), node, entry.loc)


def _folder(result: KsResult) -> str:
    path = (result.ks.spec_str("path") or "").strip().lstrip("/")
    try:
        return join("", path)
    except ValueError:
        return "\0"  # outside the repository: hides nothing


def walk(repo: RepoReader, entries: tuple[Entry, ...] | None = None, memo: BuildMemo | None = None) -> RepoModel:
    """Render every active Flux Kustomization of the repository, reusing the
    builds in ``memo`` whose inputs did not change."""
    if entries is None:
        entries = detect_entries(repo)
    state = _Walk(repo, memo)
    declared = list(_flux_docs(repo))
    for _, _, problem in declared:
        if problem is not None:
            state.problems.append(problem)
    if entries:
        for entry in entries:
            state.queue.append((_root(entry), None))
    else:
        for _, res, _ in declared:
            if res is not None:
                state.queue.append((parse_ks(res, "default"), None))
    state.drain()
    reached = state.reached
    # A file the scan could not parse is usually also a failed build; say it once.
    reported = {(p.code, p.loc) for r in state.results.values() for p in r.problems}
    state.problems = [p for p in state.problems if (p.code, p.loc) not in reported]
    inactive: list[KsRef] = []
    # A Kustomization below a failed build is unknown, not inactive: the
    # failure hides whatever would have reached it.
    hidden = tuple(_folder(r) + "/" for r in state.results.values() if r.status == "failed")
    if entries:
        for path, res, _ in declared:
            if res is not None and (path, res.name) not in reached and not path.startswith(hidden):
                ref = KsRef(res.name, res.namespace or "-", path)
                inactive.append(ref)
                state.problems.append(
                    Problem(
                        Severity.INFO,
                        "kustomization-inactive",
                        f"Kustomization {res.name} is not reached from the entry point; treated as inactive",
                        res.origin,
                        ref,
                    )
                )
    results = sorted(state.results.values(), key=lambda r: (r.ks.ref.namespace, r.ks.ref.name, r.ks.ref.file))
    return RepoModel(tuple(entries), tuple(results), tuple(inactive), tuple(state.problems))
