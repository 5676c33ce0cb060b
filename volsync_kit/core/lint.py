"""The lint engine: views, rule dispatch, severities, suppressions, filtering.

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

import fnmatch
import posixpath
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from volsync_kit.core.findings import Finding, LintResult
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.kustomize import join
from volsync_kit.core.model import (
    KsRef,
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

UNUSED_SUPPRESSION = ("VK901", "unused-suppression")
DIRECTIVE = re.compile(r"#\s*volsync-kit:\s*disable=([A-Za-z0-9_,\- ]+)")


@dataclass(frozen=True)
class Ignore:
    """A config ignore: findings in files matching ``pattern`` (for ``rules``, or all)."""

    pattern: str
    rules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LintOptions:
    severities: Mapping[str, Severity | None] = field(default_factory=dict)  # None: rule off
    ignores: tuple[Ignore, ...] = ()
    only_files: frozenset[str] | None = None


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
        volume = str_at(res.node, "spec", "volumeName")
        static_class = str_at(res.node, "spec", "storageClassName") == "" and volume not in other_pvs
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


# Words asked of every file (RepoReader.mentions): only files that contain
# them are read further.
_PV_WORD = frozenset({"PersistentVolume"})
_DIRECTIVE_WORD = frozenset({"volsync-kit:"})


def file_view(repo: RepoReader, files: Iterable[str]) -> tuple[list[Group], list[Problem]]:
    """Static CephFS PV documents of ``files`` (the files Flux reads), grouped by folder."""
    by_folder: dict[str, list[Resource]] = {}
    problems: list[Problem] = []
    for path in sorted(files):
        if not path.endswith((".yaml", ".yml")):
            continue  # a generator's input (an env file, an icon) is not a manifest
        try:
            if not repo.mentions(path, _PV_WORD):
                continue
            docs = repo.documents(path)
        except ModelError as err:
            problems.append(Problem(Severity.ERROR, err.code, err.message, err.loc))
            continue
        for doc in docs:
            if isinstance(doc.node, Map) and str_at(doc.node, "kind") in ("PersistentVolume", "PersistentVolumeClaim"):
                name = str_at(doc.node, "metadata", "name") or ""
                by_folder.setdefault(posixpath.dirname(path), []).append(Resource(doc.node, doc.loc, name))
    groups: list[Group] = []
    for folder in sorted(by_folder):
        objects = related_objects(by_folder[folder])
        if objects:
            groups.append(Group(tuple(Subject(r, "file") for r in objects), "file"))
    return groups, problems


def app_name(result: KsResult) -> str:
    return result.variables.get("APP") or result.ks.ref.name


def rendered_view(model: RepoModel) -> list[Group]:
    groups: list[Group] = []
    for result in model.results:
        objects = related_objects(result.resources)
        if objects:
            app = app_name(result)
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


# -- suppressions ------------------------------------------------------------------


@dataclass
class _Directive:
    loc: Loc
    rules: set[str]
    used: set[str] = field(default_factory=set)


def _directives(repo: RepoReader, files: Iterable[str]) -> dict[tuple[str, int], _Directive]:
    found: dict[tuple[str, int], _Directive] = {}
    for path in files:
        try:
            if not repo.mentions(path, _DIRECTIVE_WORD):
                continue
            text = repo.text(path)
        except ModelError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            match = DIRECTIVE.search(line)
            if match:
                rules = {r.strip() for r in match.group(1).split(",") if r.strip()}
                found[(path, number)] = _Directive(Loc(path, number, match.start() + 1), rules)
    return found


def _suppressing(finding: Finding, directives: Mapping[tuple[str, int], _Directive]) -> _Directive | None:
    if finding.loc is None:
        return None
    for line in (finding.loc.line, finding.loc.line - 1):
        directive = directives.get((finding.loc.file, line))
        if directive and (finding.rule in directive.rules or finding.name in directive.rules):
            directive.used.update(r for r in directive.rules if r in (finding.rule, finding.name))
            return directive
    return None


def _ignored(finding: Finding, ignores: Iterable[Ignore]) -> bool:
    if finding.loc is None:
        return False
    for ignore in ignores:
        if fnmatch.fnmatchcase(finding.loc.file, ignore.pattern) and (
            not ignore.rules or finding.rule in ignore.rules or finding.name in ignore.rules
        ):
            return True
    return False


def _relevant(finding: Finding, only: frozenset[str], reads: Mapping[KsRef, frozenset[str]]) -> bool:
    if finding.loc is not None and finding.loc.file in only:
        return True
    ks = finding.kustomization
    return ks is not None and (ks.file in only or bool(reads.get(ks, frozenset()) & only))


@dataclass(frozen=True)
class Reader:
    """What :func:`unchecked` needs of one Kustomization not built elsewhere:
    whether it rendered, and the folders that may hold its files."""

    status: str
    folders: tuple[str, ...]


@dataclass(frozen=True)
class Checked:
    """Every finding of the rules, before FILES and suppressions choose what is
    reported, and what choosing needs: a value of plain data, so that a run
    that changes nothing it was made of can reuse it (volsync_kit.core.runmemo)."""

    findings: tuple[Finding, ...]
    # Suppression comments: where, which rules, and whether in a file Flux reads
    # (else in a file only a finding is located in).
    directives: tuple[tuple[Loc, tuple[str, ...], bool], ...]
    reads: Mapping[KsRef, frozenset[str]]  # the files each finding's Kustomization read, its own included
    files: int  # how many files the builds and the file view read
    apps: int
    unbuilt: int  # Kustomizations that failed to render
    as_written: frozenset[str]  # files of the file view's volumes
    rendered: frozenset[str]  # files that some rendered Kustomization read
    readers: tuple[Reader, ...]


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
            for d in _directives(repo, sorted(view | located)).values()
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


def run(repo: RepoReader, model: RepoModel, expect: Expectations, options: LintOptions) -> LintResult:
    """Lint the repository; pure apart from reads through ``repo``."""
    return finish(repo, check(repo, model, expect, options.severities), options)


def finish(repo: RepoReader, checked: Checked, options: LintOptions) -> LintResult:
    """What a lint run reports of ``checked``: the findings located in FILES or
    in the apps that read them, less those suppressed inline or by the config,
    and the notes on what could not be checked."""
    findings = list(checked.findings)
    if options.only_files is not None:
        findings = [f for f in findings if _relevant(f, options.only_files, checked.reads)]
    # Directives count where Flux reads, and wherever a finding is (an
    # inactive Kustomization's file): one in a Helm chart is not unused.
    located = {f.loc.file for f in findings if f.loc}
    directives = {
        (loc.file, loc.line): _Directive(loc, set(rules))
        for loc, rules, in_view in checked.directives
        if in_view or loc.file in located
    }
    reported: list[Finding] = []
    suppressed: list[Finding] = []
    for f in findings:
        if _suppressing(f, directives):
            suppressed.append(_with_suppression(f, "inline"))
        elif _ignored(f, options.ignores):
            suppressed.append(_with_suppression(f, "config"))
        else:
            reported.append(f)
    unused_severity = options.severities.get(UNUSED_SUPPRESSION[0], Severity.INFO)
    if unused_severity is not None:
        for directive in directives.values():
            for rule_key in sorted(directive.rules - directive.used):
                unused = Finding(
                    *UNUSED_SUPPRESSION,
                    unused_severity,
                    f"suppression of {rule_key} is unused; remove it",
                    directive.loc,
                )
                if options.only_files is None or directive.loc.file in options.only_files:
                    reported.append(unused)
    return LintResult(
        tuple(sorted(reported, key=Finding.sort_key)),
        tuple(sorted(suppressed, key=Finding.sort_key)),
        checked.files,
        checked.apps,
        unchecked(repo, checked, options.only_files),
        checked.unbuilt,
    )


# -- what was not checked ---------------------------------------------------------


def unchecked(repo: RepoReader, checked: Checked, only: frozenset[str] | None) -> tuple[str, ...]:
    """Notes on what this run could not check, so that it does not pass by accident.

    A run that checked no app says so, and so does each named file (FILES,
    as pre-commit passes them) that no rendered app read: with every app
    that may read it failed, or with no Flux Kustomization reading it.  Named
    files that no Flux Kustomization's folder holds and that declare no
    PersistentVolume (a CI workflow, a Taskfile) are not Flux's input, and
    get no note: ``--all-files`` would bury the notes that matter.
    """
    notes: list[str] = []
    if checked.apps == 0:
        tail = f", and {checked.unbuilt} failed to render" if checked.unbuilt else ""
        notes.append(f"checked 0 apps: no Flux Kustomization rendered a VolSync volume{tail}")
    if only is None:
        return tuple(notes)
    for path in sorted(only):
        if path in checked.rendered or not path.endswith((".yaml", ".yml")):
            continue
        readers = _may_read(checked.readers, path)
        if readers and all(r.status == "failed" for r in readers):
            how = "checked only as written" if path in checked.as_written else "not checked"
            count = f"{len(readers)} app" + ("s" if len(readers) > 1 else "")
            notes.append(f"{path}: {how}: every app that may read it failed to render ({count})")
        elif path not in checked.as_written and (readers or _declares_volumes(repo, path)):
            notes.append(f"{path}: not checked: no Flux Kustomization reads it")
    return tuple(notes)


def _may_read(readers: tuple[Reader, ...], path: str) -> list[Reader]:
    """The Kustomizations whose folder (spec.path or a component) holds ``path``
    most closely: a failed build does not say which files it would read."""
    best: list[Reader] = []
    depth = -1
    for result in readers:
        for folder in result.folders:
            if not _below(path, folder):
                continue
            here = folder.count("/") + 1 if folder else 0
            if here > depth:
                best, depth = [result], here
            elif here == depth and all(r is not result for r in best):
                best.append(result)
    return best


def _declares_volumes(repo: RepoReader, path: str) -> bool:
    try:
        return bool(repo.mentions(path, _PV_WORD))
    except ModelError:
        return False


def _with_suppression(finding: Finding, how: str) -> Finding:
    return replace(finding, suppressed=how)
