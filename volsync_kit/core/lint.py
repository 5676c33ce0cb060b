"""The lint engine: views and rule dispatch (:func:`check`); what is reported of
its findings (FILES, suppressions) is :mod:`volsync_kit.core.lintreport`.

Two views of the same repository are checked:

* the **file view**: the static CephFS PV documents of the files Flux reads
  (and the PVCs that go with them, folder by folder), placeholders still in
  place;
* the **rendered view**: each app's PVs and PVCs after Flux substitution.

A CephFS PV whose handle is a ceph-csi volume ID and that declares nothing
static rebinds a dynamically provisioned subvolume: neither view holds it
(see :func:`rebinds_dynamic_volume`).

The files Flux reads are those some Flux Kustomization's build read, and
every YAML file below a component folder that a Flux Kustomization lists in
``spec.components`` (so that a component stays judged, as written, while
every app using it fails to render).  Nothing else is judged, not even its
YAML syntax: a Helm chart's ``templates/*.yaml`` with ``{{ }}`` or a fill-in
template that no kustomization lists never reach kustomize-controller.

A finding visible in the file view is reported once, from there; the same
finding in an app's rendering is not repeated.  Findings that only appear
after substitution are reported per app, at the template line.
"""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Iterable, Mapping

from volsync_kit.core.facts import claim_volume, claim_without_class
from volsync_kit.core.findings import Finding
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.kustomize import join
from volsync_kit.core.lintreport import PV_WORD, Checked, Reader, directives
from volsync_kit.core.model import (
    Loc,
    Map,
    ModelError,
    Problem,
    Resource,
    Scalar,
    Seq,
    Severity,
    map_at,
    str_at,
)
from volsync_kit.core.ports import RepoReader
from volsync_kit.core.rules._api import (
    ATTRS,
    Context,
    Expectations,
    Group,
    Hit,
    Rule,
    Subject,
    is_cephfs_driver,
    is_csi_volume_id,
)

# -- views ------------------------------------------------------------------


def _is_cephfs_pv(res: Resource) -> bool:
    # The kind first: reading the driver of every object would build the
    # lazy trees of documents no rule reads (HelmRelease values).
    if res.kind != "PersistentVolume" or res.group:
        return False
    return is_cephfs_driver(str_at(res.node, "spec", "csi", "driver")) and not rebinds_dynamic_volume(res)


def rebinds_dynamic_volume(res: Resource) -> bool:
    """Whether a CephFS PV rebinds a dynamically provisioned subvolume.

    Its ``volumeHandle`` is a ceph-csi volume ID, and it sets neither
    ``staticVolume`` nor ``rootPath`` (the PV a provisioner wrote, kept in
    Git to bind the same subvolume again after a rebuild).  ceph-csi's node
    plugin decodes such a handle first and then looks the subvolume up in its
    journal; it never reaches the static path (ceph/ceph-csi
    ``internal/cephfs/nodeserver.go``, ``getVolumeOptions``, and
    ``internal/cephfs/store/volumeoptions.go``, ``NewVolumeOptionsFromVolID``).

    The views leave such a PV (and so its claim) out, rather than each rule
    skipping it: every rule, of a PV, a group or the whole repository, is
    about static volumes, and one place keeps them all from judging it.  A
    PV that does set ``staticVolume`` or ``rootPath`` was meant to be static:
    it stays in, and VK110 says that its handle defeats that.
    """
    handle = str_at(res.node, "spec", "csi", "volumeHandle")
    if handle is None or not is_csi_volume_id(handle):
        return False
    attributes = map_at(res.node, *ATTRS)
    return attributes is None or not ({"staticVolume", "rootPath"} & set(attributes.items))


def related_objects(resources: Iterable[Resource]) -> list[Resource]:
    """Static CephFS PVs and the claims that go with them."""
    resources = list(resources)
    pvs = [r for r in resources if _is_cephfs_pv(r)]
    if not pvs:
        return []
    names = {pv.name for pv in pvs}
    other_pvs = {r.name for r in resources if r.kind == "PersistentVolume" and r.name not in names}
    claimed = {str_at(pv.node, "spec", "claimRef", "name") for pv in pvs}
    out: list[Resource] = list(pvs)
    for res in resources:
        if res.kind != "PersistentVolumeClaim" or res.group:
            continue
        # Facts kept with the claim: a claim read back from the store stays
        # packed unless it goes with one of the PVs (an app's data claim).
        volume = claim_volume(res)
        static_class = claim_without_class(res) and volume not in other_pvs
        if volume in names or res.name in claimed or f"{res.name}-pv" in names or static_class:
            out.append(res)
    return out


def _path_folder(result: KsResult) -> str | None:
    """A Kustomization's ``spec.path`` as a repo-relative folder (None: outside)."""
    try:
        # as flux.py builds it: securejoin under the root of the source's artifact
        return join(result.root, (result.ks.spec_str("path") or "").strip().lstrip("/"))
    except ValueError:
        return None


def listed_components(result: KsResult) -> list[str]:
    """The folders a Kustomization lists in ``spec.components``, repo-relative.

    kustomize-controller resolves each entry against ``spec.path``
    (fluxcd/pkg ``kustomize/kustomize_generator.go``); a failed build still
    names its components, which is why this reads the Kustomization rather
    than what its build read.  Entries that are not local folders (a remote
    URL, a path leaving the repository) resolve to nothing here.
    """
    entries = result.ks.spec("components")
    base = _path_folder(result)
    if not isinstance(entries, Seq) or base is None:
        return []
    folders: list[str] = []
    for item in entries.items:
        if isinstance(item, Scalar) and isinstance(item.value, str) and item.value:
            try:
                folders.append(join(base, item.value))
            except ValueError:
                continue
    return folders


def component_folders(model: RepoModel) -> frozenset[str]:
    """The folders any Flux Kustomization lists in ``spec.components``."""
    # A Kustomization on another source lists folders of that artifact, not of this tree.
    built_here = (r for r in model.results if r.status != "not-followed")
    return frozenset(folder for result in built_here for folder in listed_components(result))


def _below(path: str, folder: str) -> bool:
    # "" is the repository root (a component "../.." from the top folder).
    return folder == "" or path.startswith(folder + "/")


def flux_files(repo: RepoReader, model: RepoModel) -> frozenset[str]:
    """The YAML files Flux reads: those a Flux Kustomization's build read, and
    every YAML file below a component folder a Flux Kustomization lists."""
    read = {path for result in model.results for path in result.files}
    folders = component_folders(model)
    return frozenset(p for p in repo.yaml_files() if p in read or any(_below(p, f) for f in folders))


VOLUME_DOCUMENTS = "volume-documents"


def volume_documents(repo: RepoReader, path: str) -> tuple[Resource | Problem, ...]:
    """The PersistentVolume and PersistentVolumeClaim documents of one file, as
    the file view reads them, or the problem that stops reading it."""
    try:
        if not repo.mentions(path, PV_WORD):
            return ()
        docs = repo.documents(path)
    except ModelError as err:
        return (Problem(Severity.ERROR, err.code, err.message, err.loc),)
    return tuple(
        Resource(doc.node, doc.loc, str_at(doc.node, "metadata", "name") or "")
        for doc in docs
        if isinstance(doc.node, Map) and str_at(doc.node, "kind") in ("PersistentVolume", "PersistentVolumeClaim")
    )


def volume_facts(made: tuple[Resource | Problem, ...]) -> tuple[object, ...]:
    """What a recorded run keeps of :func:`volume_documents` (core.runmemo):
    each volume whole, and of a claim what tells whether it goes with one
    (:func:`related_objects`).  A file holding an object the file view judges
    is noted whole besides (:func:`file_view`), so an edit of a claim that
    goes with no static volume (an app's data claim) keeps a record."""
    return tuple(
        (item.kind, item.api_version, item.name, claim_volume(item), claim_without_class(item))
        if isinstance(item, Resource) and item.kind == "PersistentVolumeClaim"
        else item
        for item in made
    )


def _volume_documents(repo: RepoReader, path: str) -> tuple[Resource | Problem, ...]:
    derive = getattr(repo, "derived", None)  # a recorded run notes what it reads of the file
    found: tuple[Resource | Problem, ...] = (
        derive(VOLUME_DOCUMENTS, path) if derive is not None else volume_documents(repo, path)
    )
    return found


def file_view(repo: RepoReader, files: Iterable[str]) -> tuple[list[Group], list[Problem]]:
    """Static CephFS PV documents of ``files`` (the files Flux reads), grouped by folder."""
    by_folder: dict[str, list[Resource]] = {}
    problems: list[Problem] = []
    for path in sorted(files):
        if not path.endswith((".yaml", ".yml")):
            continue  # a generator's input (an env file, an icon) is not a manifest
        for item in _volume_documents(repo, path):
            if isinstance(item, Problem):
                problems.append(item)
            else:
                by_folder.setdefault(posixpath.dirname(path), []).append(item)
    groups: list[Group] = []
    for folder in sorted(by_folder):
        objects = related_objects(by_folder[folder])
        if objects:
            groups.append(Group(tuple(Subject(r, "file") for r in objects), "file"))
            # What the rules read of these files is more than volume_facts keeps.
            for file in sorted({r.origin.file for r in objects if r.origin is not None}):
                repo.digest(file)
    return groups, problems


def rendered_view(model: RepoModel) -> list[Group]:
    groups: list[Group] = []
    for result in model.results:
        objects = related_objects(result.resources)
        if objects:
            app = result.app
            subjects = tuple(Subject(r, "rendered", app, result.ks.ref) for r in objects)
            groups.append(Group(subjects, "rendered", app, result.ks.ref, result.variables))
    return groups


# -- running rules --------------------------------------------------------------


def _hits(rule: Rule, ctx: Context) -> Iterable[Hit]:
    if rule.scope == "repo":
        yield from rule.check(ctx, ctx)
        return
    for group in ctx.groups:
        if rule.scope == "group":
            yield from rule.check(group, ctx)
        else:
            for subject in group.pvs:
                yield from rule.check(subject, ctx)


def _finding(rule: Rule, severity: Severity, hit: Hit) -> Finding:
    subject = hit.subject
    app = hit.app if hit.app is not None else (subject.app if subject else None)
    ks = hit.ks if hit.ks is not None else (subject.ks if subject else None)
    label = subject.label if subject else None
    return Finding(rule.id, rule.name, severity, hit.message, hit.loc, app, ks, label, shared=hit.shared)


def _dedupe(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per rule and place from the file view; rendered findings of
    the same rule at the same place repeat it (with substituted names) and go."""
    seen_file: set[tuple[str, Loc | None]] = set()
    out: dict[tuple[str, Loc | None, str, str | None], Finding] = {}
    ordered = sorted(findings, key=lambda f: f.app is not None)  # file-view findings first
    for f in ordered:
        if f.app is None:
            seen_file.add((f.rule, f.loc))
        elif (f.rule, f.loc) in seen_file:
            continue
        out.setdefault((f.rule, f.loc, f.message, f.app), f)
    return list(out.values())


def check(
    repo: RepoReader, model: RepoModel, expect: Expectations, severities: Mapping[str, Severity | None]
) -> Checked:
    """Run every rule that is on; pure apart from reads through ``repo``."""
    from volsync_kit.core.rules import all_rules  # a run that reuses its record loads no rule

    view = flux_files(repo, model)
    file_groups, file_problems = file_view(repo, view)
    groups = tuple(rendered_view(model) + file_groups)
    ctx = Context(model, groups, expect, tuple(file_problems), view)
    findings: list[Finding] = []
    for rule in all_rules():
        severity = severities.get(rule.id, rule.severity)
        if severity is None:
            continue
        findings.extend(_finding(rule, severity, hit) for hit in _hits(rule, ctx))
    findings = _dedupe(findings)
    files = {f for r in model.results for f in r.files}
    files.update(s.res.origin.file for g in file_groups for s in g.subjects if s.res.origin)
    refs = {f.kustomization for f in findings}
    located = {f.loc.file for f in findings if f.loc} - view
    # Paths repeat across apps: one string each keeps a stored Checked small.
    path = sys.intern
    return Checked(
        tuple(findings),
        tuple(
            (d.loc, tuple(sorted(d.rules)), d.loc.file in view)
            for d in directives(repo, sorted(view | located)).values()
        ),
        {r.ks.ref: frozenset(map(path, r.files | {r.ks.ref.file})) for r in model.results if r.ks.ref in refs},
        len(files),
        len({g.ks for g in groups if g.view == "rendered"}),
        sum(1 for r in model.results if r.status == "failed"),
        frozenset(path(s.res.origin.file) for g in file_groups for s in g.subjects if s.res.origin),
        frozenset(path(p) for r in model.results if r.status == "rendered" for p in r.files),
        tuple(
            Reader(r.status, tuple(path(f) for f in (_path_folder(r), *listed_components(r)) if f is not None))
            for r in model.results
            if r.status != "not-followed"
        ),
    )
