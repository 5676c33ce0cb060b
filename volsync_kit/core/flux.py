"""The Flux graph: which Kustomizations exist, and what each one applies.

Walks the repository the way kustomize-controller reconciles it, once per
cluster the repository syncs (see :mod:`volsync_kit.core.clusters`).  Each
cluster's entry point is built like any Kustomization; every Flux
Kustomization in a build's output is a child, after the parent's transforms
and post-build substitution; and so on down.  A child whose ``sourceRef`` is
another source than the cluster's root is reported and never built from
this tree (:mod:`volsync_kit.core.sources`).  Files that declare Flux
Kustomizations no cluster reaches (a disabled app commented out of its
namespace's ``kustomization.yaml``) are inactive.

Per Kustomization, following fluxcd/pkg ``kustomize/kustomize_generator.go``
and kustomize-controller's reconcile loop:

1. build ``spec.path`` (relative to the root source's artifact) or generate
   its kustomization, with ``targetNamespace``, ``namePrefix``/``nameSuffix``,
   ``patches`` and ``components`` (local relative paths, appended after the
   file's own);
2. substitute variables from ``substituteFrom`` (in order, later wins) and
   then ``substitute`` (wins over both), in strict mode, unless no variable
   resolves under the default ``WithVariables`` strategy; values that cannot
   be known offline are kept as written (:mod:`volsync_kit.core.variables`);
3. add the owner labels, then merge ``commonMetadata`` over them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import posixpath
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from volsync_kit.core import variables as vars_
from volsync_kit.core.buildmemo import (
    Answers,
    Passing,
    RecordingReader,
    Rescanned,
    Scanned,
    SharedBuilds,
    Stored,
    answers_hold,
    still_valid,
)
from volsync_kit.core.clusters import (
    DECLARE_WORDS,
    Cluster,
    Declared,
    Entry,
    artifact_root,
    closest,
    may_declare,
    name_clusters,
    nearest,
    scan,
    strict_substitution,
)
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
    same_tree,
    seq_at,
    set_all,
    str_at,
)
from volsync_kit.core.ports import BuildMemo, Document, RepoReader
from volsync_kit.core.runmemo import RunLog, carried, holds_many_apps
from volsync_kit.core.sourceignore import IGNORE_FILE, Ignore
from volsync_kit.core.sources import (
    BOOTSTRAP_NAME,
    FLUX_GROUP,
    SOURCE_KINDS,
    SourceId,
    SourceView,
    normalize_url,
    source_ref,
)
from volsync_kit.core.substitution import TreeSubstituter, TreeSubstitutionError
from volsync_kit.core.variables import SourceMissing, Variables, VarSource, scalar_text

SUBSTITUTE_OPT_OUT = "kustomize.toolkit.fluxcd.io/substitute"
OWNER_LABELS = ("kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace")
ROOT_NAME = BOOTSTRAP_NAME

__all__ = ["Cluster", "Entry", "FluxKs", "KsResult", "RepoModel", "VarSource", "Variables", "walk"]

Status = Literal["rendered", "failed", "not-followed"]


def is_flux_kustomization(res: Resource) -> bool:
    return res.kind == "Kustomization" and res.group == FLUX_GROUP


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
    root: str = ""  # the folder of the repository its source's artifact holds
    unknown: frozenset[str] = frozenset()  # variables defined with values not known offline
    open: bool = False  # a source not in git may define any other variable
    # substituteFrom not read literally: the source, why, and where the repository writes it
    sources_unread: tuple[tuple[VarSource, str, Loc | None], ...] = ()

    @property
    def app(self) -> str:
        """The app it renders: its APP variable, else the Kustomization's name."""
        return self.variables.get(APP_VARIABLE) or self.ks.ref.name


# The variable that names an app (home-ops' convention, KsResult.app).  Every
# command reads it of each app itself, not through the app's objects: a run
# recorded before another value of it is not reused (core.runmemo).
APP_VARIABLE = "APP"
NAMING_VARIABLES = frozenset({APP_VARIABLE})


@dataclass(frozen=True)
class RepoModel:
    entries: tuple[Entry, ...]
    results: tuple[KsResult, ...]
    inactive: tuple[KsRef, ...]
    problems: tuple[Problem, ...]
    clusters: tuple[Cluster, ...] = ()
    # What diff.tracked_objects found, kept by it: plan asks five times.
    tracked: object = field(default=None, init=False, repr=False, compare=False)

    @property
    def detected(self) -> bool:
        """Whether the walk started from entry points (else every Kustomization was a root)."""
        return bool(self.clusters)


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
        if found is None or (isinstance(found, Scalar) and found.value is None):
            continue  # the API server prunes the nulls of non-nullable CRD fields
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
    if node is None or (isinstance(node, Scalar) and node.value is None):
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


def resolve_variables(ks: FluxKs, index: vars_.Index, *, final: bool = True) -> Variables:
    return vars_.resolve(ks.node, ks.ref.namespace, index, final=final, post_build_loc=ks.spec_loc("postBuild"))


def _opted_out(res: Resource) -> bool:
    for where in ("labels", "annotations"):
        if str_at(res.node, "metadata", where, SUBSTITUTE_OPT_OUT) == "disabled":
            return True
    return False


def post_build(ks: FluxKs, resources: Iterable[Resource], variables: Variables) -> tuple[list[Resource], list[Problem]]:
    notes: list[Problem] = []
    strategy = ks.spec_str("postBuild", "substituteStrategy") or "WithVariables"
    run = ks.has_post_build and (variables.any or strategy == "Always")
    out: list[Resource] = []
    substituter = TreeSubstituter(
        variables.values, strict=variables.strict, opaque=variables.open, unknown=variables.unknown
    )
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
    owners = [(label, Scalar(owner, ks.loc)) for label, owner in
              zip(OWNER_LABELS, (ks.ref.name, ks.ref.namespace), strict=True)]  # fmt: skip
    for where, first in (("labels", owners), ("annotations", [])):
        extra = map_at(ks.node, "spec", "commonMetadata", where)
        values = first + [(key, Scalar(scalar_text(v), v.loc)) for key, v in (extra.items if extra else {}).items()]
        if values:
            # Each map on the way copied once, not once per label: 20,000 objects at 2,000 apps.
            node = set_all(node, ("metadata", where), values)
    return res.with_node(node)


def render_ks(
    repo: RepoReader,
    ks: FluxKs,
    index: vars_.Index,
    parent: KsRef | None,
    memo: Memo | None = None,
    *,
    final: bool = True,
    root: str = "",
    strict: bool = True,
) -> KsResult:
    """Render one Flux Kustomization; unless ``final``, raises SourceMissing
    for a variable source not (yet) known, so that the walk can retry after
    other builds."""
    try:
        check_shape(ks)
        variables = resolve_variables(ks, index, final=final)
        if not strict:
            variables = replace(variables, strict=False)
        if memo is not None:
            resources, problems, files = memo.build(ks, variables, root)
        else:
            resources, problems, files = _build(repo, ks, variables, root)
    except ModelError as err:
        problem = Problem(Severity.ERROR, err.code, err.message, err.loc or ks.loc, ks.ref)
        return KsResult(ks, "failed", problems=(problem,), parent=parent, root=root)
    return rendered(ks, variables, resources, problems, files, root, parent)


def rendered(
    ks: FluxKs,
    variables: Variables,
    resources: Iterable[Resource],
    problems: Iterable[Problem],
    files: frozenset[str],
    root: str = "",
    parent: KsRef | None = None,
) -> KsResult:
    """What a Kustomization that built renders."""
    return KsResult(
        ks,
        "rendered",
        tuple(resources),
        variables.values,
        tuple(problems),
        parent,
        files,
        root,
        variables.unknown,
        variables.open,
        variables.notes,
    )


def _build(
    repo: RepoReader, ks: FluxKs, variables: Variables, root: str = ""
) -> tuple[list[Resource], list[Problem], frozenset[str]]:
    """Build ``spec.path`` with the overlay and post-build; raises ModelError."""
    resources, problems, files, _ = rebuild(repo, ks, variables, root)
    return resources, problems, files


def rebuild(
    repo: RepoReader, ks: FluxKs, variables: Variables, root: str = ""
) -> tuple[list[Resource], list[Problem], frozenset[str], Passing]:
    """:func:`_build`, and how the build read the files it read (for a
    recorded run, which also builds one Kustomization again alone with it:
    core.runmemo); raises ModelError."""
    raw = ks.spec_str("path") or ""
    try:
        # kustomize-controller joins spec.path under the artifact's root
        # (securejoin), so a leading slash is still relative to it.
        path = join(root, raw.strip().lstrip("/"))
    except ValueError as err:
        raise ModelError("path-outside", f"spec.path {err}", ks.spec_loc("path")) from None
    if repo.kind(path) != "dir":
        where = f"the folder '{root}' that the source's artifact holds" if root else "the repository root"
        hint = ""
        if not root and ks.spec_str("sourceRef", "kind") == "OCIRepository":
            hint = (
                "; an OCI artifact holds the folder CI pushed (flux push artifact --path), so pass "
                f"--entry <that folder>/{raw.strip().strip('/').removeprefix('./')}"
            )
        raise ModelError(
            "path-missing",
            f"kustomization path not found: '{raw}'; spec.path is relative to {where}{hint}",
            ks.spec_loc("path"),
        )
    build = build_directory(repo, path, overlay_for(ks, repo, path), flux_root=True)
    resources, notes = post_build(ks, build.resources, variables)
    problems = [Problem(p.severity, p.code, p.message, p.loc, ks.ref) for p in build.notes] + notes
    return resources, problems, frozenset(build.files), build.passing()


class Memo:
    """Builds remembered across runs (see :mod:`volsync_kit.core.buildmemo`),
    and, within one run, across the revisions a plan walks; with a ``log``,
    each build is noted for a recorded run (:mod:`volsync_kit.core.runmemo`)."""

    def __init__(
        self,
        repo: RepoReader,
        store: BuildMemo | None,
        shared: SharedBuilds | None = None,
        log: RunLog | None = None,
        rescanned: Mapping[str, Rescanned] | None = None,
    ) -> None:
        self.store = store
        self.shared = shared
        self.log = log
        self.repo = repo
        self.rescanned = rescanned or {}
        self.answers = Answers(repo)
        # plan reads the base from git and the head from the working tree:
        # separate slots, so that neither evicts the other's builds.
        self.reader = getattr(repo, "label", type(repo).__name__)

    def build(
        self, ks: FluxKs, variables: Variables, root: str
    ) -> tuple[list[Resource], list[Problem], frozenset[str]]:
        if self.log is None:
            return self._build(ks, variables, root)
        with self.log.recorder.building():
            return self._build(ks, variables, root)

    def _build(
        self, ks: FluxKs, variables: Variables, root: str
    ) -> tuple[list[Resource], list[Problem], frozenset[str]]:
        made_of = (ks.node, ks.loc, ks.ref, root, variables)
        # The store keys a build by the digest of what it was made of: taken
        # first, it also tells an offer from the other revision alike.
        material = self.store.key(made_of) if self.store is not None else ""
        # Another revision's build first: it is in memory, where the store's
        # would be read and unpickled again (plan's base, after its head), and
        # both revisions then hold one copy of an app the change leaves alone.
        # It is not written to this revision's slot: the other's holds it, and
        # this one is needed only once the app differs (then it is built here);
        # but one that holds many apps' Kustomizations (cluster-apps) is, as
        # one of them differs after any edit of its ks.yaml: the first walk
        # after such an edit then carries it (runmemo.carried) rather than
        # building it (0.7 s at 2,000 apps, on the first walking plan after a commit).
        found = self._from_other_revision(made_of, material)
        if found is not None:
            if self.store is not None and holds_many_apps(found):
                self._keep_here(ks, material, found)
            self._done("", made_of, found)
            return list(found.resources), list(found.problems), found.files
        slot = ""
        if self.store is not None:
            slot = self._slot(ks)
            kept = self.store.get(slot, material)
            found = still_valid(kept, material, self.answers) or self._carried(kept, material, slot)
            if found is not None:
                if self.log is not None and not found.knows_made_of:  # kept by an older run
                    found = replace(found, kept_of=(ks, variables, root))
                    self.store.put(slot, material, found)
                self._done(slot, made_of, found)
                return list(found.resources), list(found.problems), found.files
        recorder = RecordingReader(self.answers)
        try:
            resources, problems, files, passing = rebuild(recorder, ks, variables, root)
        except ModelError:
            if self.log is not None:  # a failed build is kept nowhere, but what it read decided it
                self.log.note_failed(self.log.view_of(self.repo), tuple(recorder.asked.items()))
            raise
        asked = tuple(recorder.asked.items())
        if self.shared is not None:
            resources = self._as_other_revision(made_of[2], resources)
        found = Stored(
            material, asked, tuple(resources), tuple(problems), files, (ks, variables, root), passing=passing
        )
        if self.store is not None:
            self.store.put(slot, material, found)  # with its objects' facts (core.facts.learn)
            if self.log is not None:
                self.log.summarize(self.store, slot, found)
        self._done(slot, made_of, found, built=True)
        return list(found.resources), list(found.problems), found.files

    def _keep_here(self, ks: FluxKs, material: str, found: Stored) -> None:
        """Keep another revision's build in this revision's slot, unless this
        revision kept the same one, with the same answers, before: written
        again on every plan, cluster-apps cost the detached writer 0.25 s."""
        assert self.store is not None
        slot = self._slot(ks)
        marker, answers = self.store.key(("kept-from-other-revision", slot)), self.store.key(found.asked)
        if self.store.get(marker, answers) is None:
            self.store.put(slot, material, found)
            self.store.put(marker, answers, True)

    def _slot(self, ks: FluxKs) -> str:
        assert self.store is not None
        return self.store.key(("flux-build", self.reader, ks.ref.cluster, ks.ref.namespace, ks.ref.name, ks.ref.file))

    def _carried(self, kept: object, material: str, slot: str) -> Stored | None:
        """The build the store kept, carried over an edit of the values of a
        postBuild.substitute in files it read as objects (runmemo.carried),
        and kept in its place.  At 2,000 apps, one app's ``ks.yaml`` edited
        made cluster-apps again (0.3 s), and then took the digest of each of
        the 2,000 Kustomizations it holds, as new trees (0.2 s)."""
        if not self.rescanned or not isinstance(kept, Stored) or kept.material != material:
            return None
        found = carried(kept, self.answers, self.rescanned)
        if found is not None and self.store is not None:
            self.store.put(slot, material, found)
            if self.log is not None:
                self.log.summarize(self.store, slot, found)
        return found

    def _done(self, slot: str, made_of: tuple[object, ...], found: Stored, *, built: bool = False) -> None:
        if self.log is not None and slot:
            ref = made_of[2]
            assert isinstance(ref, KsRef)
            self.log.note_build(slot, self.log.view_of(self.repo), found, ref)
        if self.shared is not None:
            self.shared.offer(made_of[2], (self.reader, made_of, found), built=built)

    def _as_other_revision(self, ref: object, resources: list[Resource]) -> list[Resource]:
        """``resources``, where the other revision's build of this
        Kustomization holds an object as the same tree, with that tree.  A
        change to a shared component builds every app again, yet leaves most
        of each app's objects as they were: plan then holds one copy of
        those (without the store, 50 MB less at 2,000 apps), and its diff
        passes over them."""
        if self.shared is None:
            return resources
        for reader, _, stored in self.shared.offers(ref):
            # Only a tree built here: one read from the store would be stored
            # again with this build, as other bytes (a pickle's memo follows
            # which of its parts are one object), and the next run's two
            # revisions would no longer read it as one (cache._Shared.body).
            if reader == self.reader or not self.shared.built(stored):
                continue
            theirs = {(r.group, r.kind, r.namespace, r.name): r.node for r in stored.resources}
            out: list[Resource] = []
            for res in resources:
                node = theirs.get((res.group, res.kind, res.namespace, res.name))
                if node is not None and node is not res.node and same_tree(res.node, node):
                    res = res.with_node(node)
                out.append(res)
            return out
        return resources

    def _from_other_revision(self, made_of: tuple[object, ...], material: str) -> Stored | None:
        """The build another revision's walk made of the same Kustomization,
        when every answer it relied on is the same here (plan: an app the
        change does not touch is built once, not once per revision).

        With the store, what each was made of is compared by ``material``, the
        digest the store keys it by (``Stored.material``): comparing the trees
        themselves walked every Kustomization's node and variables twice."""
        if self.shared is None:
            return None
        for reader, other_made_of, stored in self.shared.offers(made_of[2]):
            if reader == self.reader:
                continue
            same = stored.material == material if material else other_made_of == made_of
            if same and answers_hold(stored.asked, self.answers):
                return stored
        return None


# -- the walk ----------------------------------------------------------------------


Objects = dict[tuple[str, str, str], list[tuple[str, "vars_.Known | Resource"]]]


@dataclass
class _Scan:
    """What one pass over the repository's YAML files found."""

    repo: RepoReader
    declared: list[tuple[str, Resource]]  # every Flux Kustomization, with its file
    problems: list[Problem]  # files with Flux objects that do not parse
    instances: list[Entry]
    selfsync: list[Entry]
    sources: dict[SourceId, list[Declared]]
    _objects: Objects | None = None
    sourceignore: dict[str, dict[str, str]] = field(default_factory=dict)  # by artifact root, see _ignore_rules
    # The files it read again as their text changed since the store kept
    # their objects, by path: see Memo._carried.
    rescanned: dict[str, Rescanned] = field(default_factory=dict)

    @property
    def objects(self) -> Objects:
        """ConfigMaps, Secrets and ExternalSecrets written anywhere, for a
        substituteFrom that no build produced: read only when one needs them,
        as most repositories never do."""
        if self._objects is None:
            self._objects = _written_objects(self.repo)
        return self._objects


def _scan(repo: RepoReader, memo: BuildMemo | None = None, shared: SharedBuilds | None = None) -> _Scan:
    declared: list[tuple[str, Resource]] = []
    problems: list[Problem] = []
    docs: list[tuple[str, Resource]] = []
    rescanned: dict[str, Rescanned] = {}
    for path in repo.yaml_files():
        try:
            found = repo.mentions(path, DECLARE_WORDS)
        except ModelError:
            continue
        if not may_declare(found):
            continue
        try:
            parsed = _scanned(repo, path, memo, shared, rescanned)
        except ModelError as err:
            if FLUX_GROUP in found:
                problems.append(Problem(Severity.ERROR, err.code, err.message, err.loc))
            continue
        for res in parsed:
            docs.append((path, res))
            if is_flux_kustomization(res):
                declared.append((path, res))
    instances, selfsync, sources = scan(docs)
    return _Scan(repo, declared, problems, instances, selfsync, sources, rescanned=rescanned)


def _scanned(
    repo: RepoReader,
    path: str,
    memo: BuildMemo | None,
    shared: SharedBuilds | None,
    rescanned: dict[str, Rescanned] | None = None,
) -> tuple[Resource, ...]:
    """The objects of one file, as the scan for entry points reads them; raises
    ModelError.  With a store, kept there with their bodies packed and their
    facts (core.facts): 2,000 ks.yaml read back build no tree, as the scan
    opens only a self-syncing Kustomization, a source or an instance.  plan's
    base takes the head's objects of a file that is the same at both.  A
    recorded run notes the read as one question (RunRecorder.scanning)."""
    scanning = getattr(repo, "scanning", None)
    with scanning(path) if scanning is not None else contextlib.nullcontext():
        digest = repo.digest(path) if memo is not None or shared is not None else ""
        if shared is not None and (path, digest) in shared.scanned:
            return shared.scanned[(path, digest)]
        slot = _scan_slot(memo, repo, path) if memo is not None else ""
        resources = _kept_at(memo, slot, digest) if memo is not None else None
        if resources is None:
            documents = repo.documents(path)
            resources = objects_of(documents)
            if memo is not None:
                if rescanned is not None:
                    _note_rescanned(memo, slot, (path, digest), documents, resources, rescanned)
                # Under the digest asked first: a file that changed since is read
                # again, and the reader then writes nothing more this run.
                memo.put(slot, digest, Scanned(resources))
        if shared is not None:
            shared.scanned[(path, digest)] = resources
        return resources


def _note_rescanned(
    memo: BuildMemo,
    slot: str,
    read: tuple[str, str],
    documents: Sequence[Document],
    resources: tuple[Resource, ...],
    rescanned: dict[str, Rescanned],
) -> None:
    """Note a file read again, with the objects the store kept of its last
    text, when every document of its text is an object or empty: a build
    that reads a file as objects fails on any other document, so a build
    of either text read its objects alone (see runmemo.carried)."""
    path, digest = read
    kept = memo.latest(slot)
    if kept is None or kept[0] == digest or not isinstance(kept[1], Scanned):
        return
    if all(doc.node is None or isinstance(doc.node, Map) for doc in documents):
        rescanned[path] = Rescanned(kept[0], digest, kept[1].resources, resources)


def _scan_slot(memo: BuildMemo, repo: RepoReader, path: str) -> str:
    return memo.key(("scanned", getattr(repo, "label", type(repo).__name__), path))


def kept_scan(repo: RepoReader, path: str, memo: BuildMemo, digest: str) -> tuple[Resource, ...] | None:
    """The objects the scan took of ``path`` when its text had ``digest``, as
    ``memo`` keeps them; None when it does not."""
    return _kept_at(memo, _scan_slot(memo, repo, path), digest)


def _kept_at(memo: BuildMemo, slot: str, digest: str) -> tuple[Resource, ...] | None:
    stored = memo.get(slot, digest)
    return stored.resources if isinstance(stored, Scanned) else None


def scan_objects(repo: RepoReader, path: str) -> tuple[Resource, ...]:
    """The objects the scan takes of ``path``; raises ModelError."""
    return objects_of(repo.documents(path))


def objects_of(documents: Iterable[Document]) -> tuple[Resource, ...]:
    """The objects the scan takes of a file's documents: its mappings."""
    return tuple(
        Resource(doc.node, doc.loc, str_at(doc.node, "metadata", "name") or "")
        for doc in documents
        if isinstance(doc.node, Map)
    )


_OBJECT_WORDS = frozenset({"ConfigMap", "Secret"})


def _written_objects(repo: RepoReader) -> Objects:
    objects: Objects = {}
    # A recorded run notes what each file makes, not its text: a HelmRelease
    # that names a Secret makes none, whatever else an edit changes in it.
    derive = getattr(repo, "derived", None)
    for path in repo.yaml_files():
        made = derive(WRITTEN_OBJECTS, path) if derive is not None else written_objects_of(repo, path)
        for key, known in made:
            objects.setdefault(key, []).append((path, known))
    return objects


WRITTEN_OBJECTS = "written-objects"


def written_objects_of(repo: RepoReader, path: str) -> tuple[tuple[tuple[str, str, str], vars_.Known | Resource], ...]:
    """The ConfigMaps, Secrets and ExternalSecrets' Secrets that one file writes."""
    try:
        if not repo.mentions(path, _OBJECT_WORDS):
            return ()
        parsed = repo.documents(path)
    except ModelError:
        return ()
    out: list[tuple[tuple[str, str, str], vars_.Known | Resource]] = []
    for doc in parsed:
        if not isinstance(doc.node, Map):
            continue
        made = vars_.produced(Resource(doc.node, doc.loc, str_at(doc.node, "metadata", "name") or ""))
        if made is not None:
            (kind, namespace, name), known = made
            # Written without a namespace, it takes whichever one its
            # kustomization or Flux gives it.
            out.append(((kind, namespace or vars_.ANY_NAMESPACE, name), known))
    return tuple(out)


def _ignore_rules(repo: RepoReader, entry: Entry, found: _Scan) -> Ignore | None:
    """source-controller's exclusions for the root source: ``spec.ignore``
    (GitRepository and OCIRepository alike), the ``.sourceignore`` files of
    the tree, and its defaults (see :mod:`volsync_kit.core.sourceignore`).
    The tree is searched once per artifact root, however many entry points
    are tried."""
    if entry.source is None:
        return None
    if entry.root not in found.sourceignore:
        found.sourceignore[entry.root] = _sourceignore_files(repo, entry.root)
    return Ignore.for_source(entry.ignore, found.sourceignore[entry.root])


def _sourceignore_files(repo: RepoReader, root: str) -> dict[str, str]:
    """Every ``.sourceignore`` below ``root``, by folder relative to it
    (hidden folders are not searched)."""
    found: dict[str, str] = {}
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            dirs, files = repo.listdir(folder)
            if IGNORE_FILE in files:
                inner = folder[len(root) :].lstrip("/") if root else folder
                found[inner] = repo.text(posixpath.join(folder, IGNORE_FILE) if folder else IGNORE_FILE)
        except (ModelError, ValueError):
            continue
        pending.extend(posixpath.join(folder, d) if folder else d for d in dirs if not d.startswith("."))
    return found


class _Walk:
    """One cluster's walk from its entry point."""

    def __init__(
        self,
        repo: RepoReader,
        cluster: Cluster | None,
        found: _Scan,
        memo: BuildMemo | None = None,
        shared: SharedBuilds | None = None,
        log: RunLog | None = None,
    ) -> None:
        entry = cluster.entry if cluster is not None else None
        self.root = entry.root if entry is not None else ""
        self.repo: RepoReader = (
            SourceView(repo, self.root, _ignore_rules(repo, entry, found)) if entry is not None else repo
        )
        # A build's questions name paths under the artifact's root: the scan's
        # are the repository's.
        rescanned = found.rescanned if not self.root else None
        self.memo = Memo(self.repo, memo, shared, log, rescanned) if memo is not None or shared is not None else None
        self.cluster = cluster.name if cluster is not None else ""
        self.source = entry.source if entry is not None else None
        self.url = normalize_url(entry.url) if entry is not None and entry.url else ""
        self.found = found
        self.near = entry.folder if entry is not None else ""
        self.strict = strict_substitution(repo, entry)
        self.results: dict[tuple[str, str], KsResult] = {}
        self.index: dict[tuple[str, str, str], vars_.Known | Resource] = {}
        self.written: dict[tuple[str, str, str], vars_.Known | Resource] | None = None  # see lookup_index
        self.sources: dict[SourceId, str] = {}
        for sid, declared in found.sources.items():
            chosen = nearest(declared, self.near)
            if chosen is not None:
                self.sources[sid] = chosen.url
        self.problems: list[Problem] = []
        self.queue: deque[tuple[FluxKs, KsRef | None]] = deque()
        self.deferred: list[tuple[FluxKs, KsRef | None]] = []
        # (file, name) of every Kustomization the graph reaches, duplicates included
        self.reached: set[tuple[str, str]] = set()
        self.children: set[tuple[str, str]] = set()  # the same, built by a parent
        # sources whose variables are unknown: (kind, name, why, where written) -> who reads them, where
        self.unknown: dict[tuple[str, str, str, Loc | None], list[tuple[KsRef, Loc | None]]] = {}

    def parse(self, res: Resource, default_namespace: str) -> FluxKs:
        ks = parse_ks(res, default_namespace)
        if not self.cluster:
            return ks
        ref = KsRef(ks.ref.name, ks.ref.namespace, ks.ref.file, self.cluster)
        return FluxKs(ref, ks.node, ks.loc)

    def visit(self, ks: FluxKs, parent: KsRef | None, *, final: bool) -> None:
        self.reached.add((ks.ref.file, ks.ref.name))
        if parent is not None:
            self.children.add((ks.ref.file, ks.ref.name))
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
        elsewhere = self.other_source(ks)
        if elsewhere is not None:
            self.results[key] = elsewhere
            return
        try:
            result = render_ks(
                self.repo, ks, self.lookup_index(final), parent, self.memo, final=final, root=self.root,
                strict=self.strict,
            )  # fmt: skip
        except SourceMissing:
            self.deferred.append((ks, parent))
            return
        self.note_unknown(result)
        self.results[key] = result
        for res in result.resources:
            made = vars_.produced(res)
            if made is not None:
                self.index.setdefault(*made)
            if res.kind in SOURCE_KINDS and res.group.startswith("source.toolkit"):
                sid = SourceId(res.kind, res.namespace or ks.ref.namespace, res.name)
                self.sources.setdefault(sid, str_at(res.node, "spec", "url") or "")
            if is_flux_kustomization(res):
                self.queue.append((self.parse(res, ks.ref.namespace), ks.ref))

    def lookup_index(self, final: bool) -> vars_.Index:
        """Objects the cluster's builds made; on the final pass, also those
        written anywhere in the repository (applied by hand, at bootstrap)."""
        if not final:
            return self.index
        if self.written is None:
            # Chosen once per walk: every Kustomization of the final pass asks.
            self.written = {}
            for key, candidates in self.found.objects.items():
                chosen = closest(candidates, self.near)
                if chosen is not None:
                    self.written[key] = chosen
        return {**self.written, **self.index}

    def note_unknown(self, result: KsResult) -> None:
        for source, why, where in result.sources_unread:
            key = (source.kind, source.name, why, where)
            self.unknown.setdefault(key, []).append((result.ks.ref, source.loc))

    def other_source(self, ks: FluxKs) -> KsResult | None:
        """A Kustomization built from another source than this repository."""
        if self.source is None:
            return None
        source = source_ref(ks.node, ks.ref.namespace)
        if source is None or source == self.source:
            return None
        if source not in self.sources and (source.kind, source.name) == (self.source.kind, self.source.name):
            # The root's name in a namespace where no such source is declared:
            # a sourceRef without its namespace.  Whether the cluster has it is
            # not ours to judge offline; it is meant to be this repository.
            return None
        url = self.sources.get(source, "")
        if self.url and url and normalize_url(url) == self.url:
            return None
        problem = Problem(
            Severity.INFO,
            "source-not-followed",
            f"spec.sourceRef {source.kind}/{source.name} is another source than this repository "
            f"({self.source.kind}/{self.source.name}); its path is not in this tree, so it is not built",
            ks.spec_loc("sourceRef"),
            ks.ref,
        )
        return KsResult(ks, "not-followed", problems=(problem,), root=self.root)

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

    def unknown_problems(self) -> list[Problem]:
        """The notes on sources whose variables cannot be known, each said at one place.

        A source the repository writes (a SOPS-encrypted Secret, an
        ExternalSecret) gets a note for each Kustomization reading it, all at
        the object: outputs print a place shared by many apps once, with the
        apps, and JSON still says which apps read it.  A source the
        repository does not hold has no such place; its one note stands at
        the first entry naming it, with the number of readers.
        """
        out: list[Problem] = []
        cluster = f" ({self.cluster})" if self.cluster else ""
        for (kind, name, why, written), readers in self.unknown.items():
            what = f"substituteFrom {kind}/{name} {why}: the variables it defines keep their ${{...}}"
            if written is not None:
                refs = dict.fromkeys(ref for ref, _ in readers)  # in order, each once
                out.extend(
                    Problem(Severity.INFO, "variables-unknown", f"{what} and are judged unknown{cluster}", written, ref)
                    for ref in refs
                )
                continue
            first, loc = readers[0]
            count = f"{len(readers)} Kustomizations" if len(readers) > 1 else f"Kustomization {first}"
            out.append(
                Problem(Severity.INFO, "variables-unknown", f"{what} and are judged unknown in {count}{cluster}", loc)
            )
        return out


def _root(entry: Entry, cluster: str) -> FluxKs:
    """The root Kustomization: as git declares it, or as flux-operator makes it."""
    if entry.ks is not None:
        res = entry.ks
        file = res.origin.file if res.origin else ""
        return FluxKs(KsRef(res.name, res.namespace or ROOT_NAME, file, cluster), res.node, res.origin)
    file = entry.loc.file if entry.loc else ""
    spec: dict[str, Node] = {"path": Scalar(entry.path, entry.loc)}
    if entry.source is not None:
        spec["sourceRef"] = Map(
            {
                "kind": Scalar(entry.source.kind),
                "name": Scalar(entry.source.name),
                "namespace": Scalar(entry.source.namespace),
            }
        )
    namespace = entry.source.namespace if entry.source is not None else ROOT_NAME
    node = Map(
        {
            "apiVersion": Scalar(f"{FLUX_GROUP}/v1"),
            "kind": Scalar("Kustomization"),
            "metadata": Map({"name": Scalar(namespace), "namespace": Scalar(namespace)}),
            "spec": Map(spec),
        },
        entry.loc,
    )
    return FluxKs(KsRef(namespace, namespace, file, cluster), node, entry.loc)


def _folder(result: KsResult) -> str:
    path = (result.ks.spec_str("path") or "").strip().lstrip("/")
    try:
        return join(result.root, path)
    except ValueError:
        return "\0"  # outside the repository: hides nothing


def _with_sources(entry: Entry, found: _Scan) -> Entry:
    """Fill in what the repository declares about the entry's source: its URL
    and ignore rules (a GitRepository written in git)."""
    if entry.source is None:
        return entry
    near = entry.ks.origin.file if entry.ks is not None and entry.ks.origin else entry.folder
    declared = nearest(found.sources.get(entry.source, []), near)
    url = entry.url or (declared.url if declared else "")
    ignore = entry.ignore if entry.ignore is not None else (declared.ignore if declared else None)
    return Entry(entry.path, entry.how, entry.loc, entry.source, url, entry.root, entry.ks, ignore, entry.label)


def _oci(repo: RepoReader, entry: Entry) -> Entry:
    if entry.source is None or entry.source.kind != "OCIRepository" or entry.root:
        return entry
    root = artifact_root(repo, entry)
    return Entry(entry.path, entry.how, entry.loc, entry.source, entry.url, root, entry.ks, entry.ignore, entry.label)


def _unique(entries: Iterable[Entry]) -> list[Entry]:
    seen: set[tuple[str, str]] = set()
    out: list[Entry] = []
    for entry in entries:
        key = (entry.folder, str(entry.source))
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return out


def _matching(requested: Entry, candidates: Sequence[Entry]) -> Entry:
    """An ``--entry`` folder is a detected entry point when it is the folder
    one of them syncs (its source, root and ignore rules then apply)."""
    for candidate in candidates:
        if candidate.folder == requested.folder:
            return Entry(
                candidate.path,
                requested.how,
                candidate.loc,
                candidate.source,
                candidate.url,
                candidate.root,
                candidate.ks,
                candidate.ignore,
                candidate.label,
            )
        suffix = candidate.path.strip().strip("/").removeprefix("./")
        if (
            candidate.source is not None
            and candidate.source.kind == "OCIRepository"
            and suffix
            and (requested.folder == suffix or requested.folder.endswith("/" + suffix))
        ):
            root = requested.folder[: -len(suffix)].rstrip("/")
            return Entry(
                candidate.path,
                requested.how,
                candidate.loc,
                candidate.source,
                candidate.url,
                root,
                candidate.ks,
                candidate.ignore,
                candidate.label,
            )
    return requested


class NoSuchCluster(Exception):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known


def walk(
    repo: RepoReader,
    entries: tuple[Entry, ...] | None = None,
    memo: BuildMemo | None = None,
    *,
    cluster: str | None = None,
    fallback: bool = True,
    shared: SharedBuilds | None = None,
    log: RunLog | None = None,
) -> RepoModel:
    """Render every active Flux Kustomization of every cluster of the
    repository, reusing the builds in ``memo`` whose inputs did not change,
    and those another walk of this process offered to ``shared`` (plan's base
    and head: :class:`~volsync_kit.core.buildmemo.SharedBuilds`).  With a
    ``log``, the walk reads ``repo`` through its recorder and notes every
    build (:mod:`volsync_kit.core.runmemo`).

    ``entries`` replaces detection (``--entry``); ``cluster`` keeps one
    cluster (raises :class:`NoSuchCluster`).  Without any entry point, every
    Kustomization of every file is a root when ``fallback`` (tests and
    fixtures), and nothing is walked otherwise.
    """
    if log is not None:
        repo = log.recorder
    found = _scan(repo, memo, shared)
    instances, candidates = _candidates(repo, found)
    reuse = (memo, shared, log)
    if entries is not None:
        chosen = [_matching(e, [*instances, *candidates]) for e in entries]
        return _walk_clusters(repo, found, _unique(chosen), [], reuse, cluster, fallback)
    return _walk_clusters(repo, found, instances, candidates, reuse, cluster, fallback)


def _candidates(repo: RepoReader, found: _Scan) -> tuple[list[Entry], list[Entry]]:
    """FluxInstances and flux-instance values, then Kustomizations that sync
    their own folder, shallowest first (the walk keeps those that no other
    cluster reaches)."""
    instances = _unique(_oci(repo, _with_sources(e, found)) for e in found.instances)
    selfsync = sorted((_with_sources(e, found) for e in found.selfsync), key=lambda e: (e.folder.count("/"), e.folder))
    return instances, _unique(_oci(repo, e) for e in selfsync)


def detect_entries(repo: RepoReader) -> tuple[Entry, ...]:
    """The candidate entry points, in the order the walk tries them."""
    instances, candidates = _candidates(repo, _scan(repo))
    return (*instances, *candidates)


def _walk_clusters(
    repo: RepoReader,
    found: _Scan,
    fixed: list[Entry],
    candidates: list[Entry],
    reuse: tuple[BuildMemo | None, SharedBuilds | None, RunLog | None],
    only: str | None,
    fallback: bool,
) -> RepoModel:
    """Walk the fixed entry points, then each self-syncing Kustomization,
    shallowest first, that no earlier walk reached, then each bootstrap
    bundle (see :func:`_bundles`) among what is still unreached.  A
    self-syncing walk is dropped when its build does not hold its own
    declaration (it is no root) unless the build failed; any candidate is
    dropped when another cluster's build holds it (it is that cluster's
    child).  Each walk is keyed by its entry folder until all clusters are
    known and can be named."""
    walks: list[tuple[Entry, _Walk]] = []
    reached: set[tuple[str, str]] = set()

    def try_root(entry: Entry, *, must_reach_itself: bool = False, must_build: bool = False) -> None:
        nonlocal reached
        own = _own(entry)
        if own is not None and own in reached:
            return
        state = _Walk(repo, Cluster(f"{entry.folder}#{len(walks)}", entry), found, *reuse)
        state.queue.append((_root(entry, state.cluster), None))
        state.drain()
        failed = any(r.status == "failed" and r.parent is None for r in state.results.values())
        if must_reach_itself and own is not None and own not in state.children and not failed:
            return  # its folder does not hold it after all: not a root
        if must_build and failed:
            return  # a stale copy (an archived bootstrap folder): inactive, never an error
        walks.append((entry, state))
        reached |= state.reached

    for entry in fixed:
        try_root(entry)
    for entry in candidates:
        try_root(entry, must_reach_itself=True)
    if not fixed:
        for entry in _bundles(repo, found, reached):
            try_root(entry, must_build=True)
    walks = [
        (entry, state)
        for entry, state in walks
        if entry in fixed or not any(_own(entry) in other.children for e, other in walks if e is not entry)
    ]
    if not walks:
        if only is not None:
            raise NoSuchCluster(only, ())
        return _fallback(repo, found, reuse) if fallback else _model(found, [], (), True)
    clusters = name_clusters([e for e, _ in walks])
    if only is not None and only not in [c.name for c in clusters]:
        raise NoSuchCluster(only, tuple(c.name for c in clusters))
    named = [
        (c.entry, _renamed(state, c.name if len(clusters) > 1 else ""))
        for c, (_, state) in zip(clusters, walks, strict=True)
        if only is None or c.name == only
    ]
    kept = tuple(c for c in clusters if only is None or c.name == only)
    return _model(found, named, kept, only is None)


def _bundles(repo: RepoReader, found: _Scan, reached: set[tuple[str, str]]) -> list[Entry]:
    """Flux Kustomizations that no cluster reaches but that a kustomization
    folder applies together with their source: a bundle made to be applied
    once by hand (``kubectl apply -k clusters/<name>``), which then keeps
    itself in sync.  Nothing else unreached is a root."""
    by_folder: dict[str, list[tuple[Resource, SourceId]]] = {}
    for path, res in found.declared:
        source = source_ref(res.node, res.namespace or ROOT_NAME)
        if (path, res.name) in reached or source is None or source.kind not in SOURCE_KINDS:
            continue
        by_folder.setdefault(posixpath.dirname(path), []).append((res, source))
    out: list[Entry] = []
    for folder, items in sorted(by_folder.items()):
        try:
            built = build_directory(SourceView(repo), folder).resources
        except ModelError:
            continue
        names = {(r.kind, r.namespace or ROOT_NAME, r.name) for r in built}
        for res, source in items:
            if (res.kind, res.namespace or ROOT_NAME, res.name) in names and (
                source.kind,
                source.namespace,
                source.name,
            ) in names:
                how = f"Kustomization {res.name} applied with its source by {folder}"
                entry = Entry(str_at(res.node, "spec", "path") or ".", how, loc_of(res.node, "spec", "path"), source,
                              ks=res, label=res.name)  # fmt: skip
                out.append(_oci(repo, _with_sources(entry, found)))
    return out


def _own(entry: Entry) -> tuple[str, str] | None:
    """The (file, name) of the Kustomization an entry point is, when git declares it."""
    if entry.ks is None:
        return None
    return (entry.ks.origin.file if entry.ks.origin else "", entry.ks.name)


def _ref_in(r: KsRef | None, cluster: str) -> KsRef | None:
    return KsRef(r.name, r.namespace, r.file, cluster) if r is not None else None


def _problem_in(p: Problem, cluster: str) -> Problem:
    return Problem(p.severity, p.code, p.message, p.loc, _ref_in(p.kustomization, cluster))


def in_cluster(result: KsResult, cluster: str) -> KsResult:
    """``result`` with every reference to a Kustomization in the cluster named
    ``cluster`` (the walk's provisional key replaced, see _renamed)."""
    ref = _ref_in(result.ks.ref, cluster)
    assert ref is not None
    ks = FluxKs(ref, result.ks.node, result.ks.loc)
    problems = tuple(_problem_in(p, cluster) for p in result.problems)
    return dataclasses.replace(result, ks=ks, problems=problems, parent=_ref_in(result.parent, cluster))


def _renamed(state: _Walk, name: str) -> _Walk:
    """``state`` with its provisional cluster key replaced by the cluster's name
    ("" in a repository of one cluster, whose references read as before)."""

    state.results = {key: in_cluster(r, name) for key, r in state.results.items()}
    state.problems = [_problem_in(p, name) for p in state.problems]
    state.unknown = {
        key: [(KsRef(r.name, r.namespace, r.file, name), loc) for r, loc in readers]
        for key, readers in state.unknown.items()
    }
    state.cluster = name
    return state


def _fallback(
    repo: RepoReader, found: _Scan, reuse: tuple[BuildMemo | None, SharedBuilds | None, RunLog | None]
) -> RepoModel:
    """No entry point: every Kustomization of every file is a root."""
    state = _Walk(repo, None, found, *reuse)
    for _, res in found.declared:
        state.queue.append((parse_ks(res, "default"), None))
    state.drain()
    return _model(found, [(None, state)], (), False)


def _model(
    found: _Scan,
    walks: Sequence[tuple[Entry | None, _Walk]],
    clusters: tuple[Cluster, ...],
    whole: bool,
) -> RepoModel:
    problems = list(found.problems)
    results: list[KsResult] = []
    reached: set[tuple[str, str]] = set()
    hidden: list[str] = []
    for _, state in walks:
        problems.extend(state.problems)
        problems.extend(state.unknown_problems())
        results.extend(state.results.values())
        reached |= state.reached
        # A Kustomization below a failed build is unknown, not inactive: the
        # failure hides whatever would have reached it.
        hidden.extend(_folder(r) + "/" for r in state.results.values() if r.status == "failed")
    # A file the scan could not parse is usually also a failed build; say it once.
    reported = {(p.code, p.loc) for r in results for p in r.problems}
    problems = [p for p in problems if (p.code, p.loc) not in reported]
    inactive: list[KsRef] = []
    if clusters and whole:
        for path, res in found.declared:
            if (path, res.name) not in reached and not path.startswith(tuple(hidden)):
                ref = KsRef(res.name, res.namespace or "-", path)
                inactive.append(ref)
                problems.append(
                    Problem(
                        Severity.INFO,
                        "kustomization-inactive",
                        f"Kustomization {res.name} is not reached from the entry point; treated as inactive",
                        res.origin,
                        ref,
                    )
                )
    results.sort(key=lambda r: (r.ks.ref.cluster, r.ks.ref.namespace, r.ks.ref.name, r.ks.ref.file))
    entries = tuple(e for e, _ in walks if e is not None)
    return RepoModel(entries, tuple(results), tuple(inactive), tuple(problems), clusters)
