"""The lint engine: views and rule dispatch (:func:`check`); what is reported of
its findings (FILES, suppressions) is :mod:`volsync_kit.core.lintreport`.

Two views of the same repository are checked:

* the **file view**: the static CephFS PV documents of the files Flux reads
  (and the PVCs that go with them, folder by folder), placeholders still in
  place;
* the **rendered view**: each app's PVs and PVCs after Flux substitution.

A CephFS PV whose handle is a ceph-csi volume ID and that declares nothing
static rebinds a dynamically provisioned subvolume: neither view holds it
(see :func:`volsync_kit.core.volumedocs.rebinds_dynamic_volume`).

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

import dataclasses
import posixpath
import sys
from collections.abc import Callable, Iterable, Mapping

from volsync_kit.core.findings import Finding
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.kustomize import join
from volsync_kit.core.lintreport import Checked, Packed, Reader, directives
from volsync_kit.core.model import (
    KsRef,
    Loc,
    Problem,
    Resource,
    Scalar,
    Seq,
    Severity,
)
from volsync_kit.core.ports import RepoReader
from volsync_kit.core.rules._api import (
    Context,
    Expectations,
    Group,
    Hit,
    Rule,
    Subject,
)
from volsync_kit.core.volumedocs import ATTRS, VOLUME_DOCUMENTS, related_objects, volume_documents

# -- views ------------------------------------------------------------------


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
            # What the rules read of these files is more than volume_facts keeps: a
            # recorded run notes their text, as the file view's own question (patched).
            viewed = getattr(repo, "viewed", None)
            for file in sorted({r.origin.file for r in objects if r.origin is not None}):
                if viewed is not None:
                    viewed(file)
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


def _findings(ctx: Context, severities: Mapping[str, Severity | None]) -> list[Finding]:
    from volsync_kit.core.rules import all_rules  # a run that reuses its record loads no rule

    findings: list[Finding] = []
    for rule in all_rules():
        severity = severities.get(rule.id, rule.severity)
        if severity is not None:
            findings.extend(_finding(rule, severity, hit) for hit in _hits(rule, ctx))
    return findings


def check(
    repo: RepoReader, model: RepoModel, expect: Expectations, severities: Mapping[str, Severity | None]
) -> Checked:
    """Run every rule that is on; pure apart from reads through ``repo``."""
    view = flux_files(repo, model)
    file_groups, file_problems = file_view(repo, view)
    groups = tuple(rendered_view(model) + file_groups)
    ctx = Context(model, groups, expect, tuple(file_problems), view)
    findings = _dedupe(_findings(ctx, severities))
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
        component_folders(model),
        model.problems,
        Packed(_claims(model.results, groups)),
    )


# -- bringing a recorded run up to date ------------------------------------------------
#
# After an edit of what lint reads of a few apps (one app's own static volume,
# its claim), the apps are built again alone (core.runmemo) and their findings
# made again; every other app's are the recorded ones.  Every rule but four
# reads one app, or one folder of the file view: those four (VK301 to VK303,
# and the engine's dedupe by app) compare apps, so a patch holds only while
# the apps made again share none of what they compare with another app.


Claims = dict[KsRef, tuple[bool, tuple[str, ...]]]


def _claims_of(result: KsResult, group: Group | None) -> tuple[bool, tuple[str, ...]]:
    """Whether ``result`` has a group in the rendered view, and what of it
    another Kustomization may hold too: its app, and each static volume's name,
    rootPath and volumeHandle (what VK301 to VK303 compare, taken coarser, so
    that a pair they would compare is never missed)."""
    claims = [f"app:{result.app}"]
    for pv in group.pvs if group is not None else ():
        claims.append(f"pv:{pv.name}")
        root = pv.value(*ATTRS, "rootPath")
        if root is not None and isinstance(root.raw, str | int | float):
            claims.append(f"root:{posixpath.normpath(str(root.raw))}")
        handle = pv.value("spec", "csi", "volumeHandle")
        if handle is not None and handle.raw not in (None, ""):
            claims.append(f"handle:{handle.raw}")
    return group is not None, tuple(claims)


def _claims(results: Iterable[KsResult], groups: Iterable[Group]) -> Claims:
    rendered = {g.ks: g for g in groups if g.view == "rendered"}
    return {r.ks.ref: _claims_of(r, rendered.get(r.ks.ref)) for r in results}


def _opened_claims(checked: Checked) -> Claims | None:
    claims = checked.claims.value() if checked.claims is not None else None
    return dict(claims) if isinstance(claims, dict) else None


def _as_walked(results: Iterable[KsResult], claims: Claims) -> tuple[KsResult, ...] | None:
    """``results`` in the clusters the walk named (a build made again alone
    holds the walk's provisional key); None when that is not one cluster."""
    from volsync_kit.core.flux import in_cluster

    by_file: dict[tuple[str, str, str], list[KsRef]] = {}
    for ref in claims:
        by_file.setdefault((ref.name, ref.namespace, ref.file), []).append(ref)
    out: list[KsResult] = []
    for result in results:
        ref = result.ks.ref
        known = by_file.get((ref.name, ref.namespace, ref.file), [])
        if len(known) != 1:
            return None
        out.append(in_cluster(result, known[0].cluster))
    return tuple(out)


def _below_any(folder: str, components: Iterable[str]) -> bool:
    return any(folder == c or _below(folder, c) for c in components)


def _shares(claims: Claims, made: Claims) -> bool:
    """Whether a Kustomization of ``made``, as it was or is now, holds what one
    not in it holds too."""
    taken = {c for ref, (_, held) in claims.items() if ref not in made for c in held}
    return any(c in taken for ref in made for c in (*claims[ref][1], *made[ref][1]))


def _not_made_again(checked: Checked, refs: set[KsRef], files: frozenset[str]) -> list[Finding]:
    """The recorded findings of the apps not made again, and of the file view
    outside ``files``."""
    return [
        f
        for f in checked.findings
        if f.kustomization not in refs and not (f.kustomization is None and f.loc is not None and f.loc.file in files)
    ]


def patched(
    repo: RepoReader,
    checked: Checked,
    made_again: Iterable[KsResult],
    viewed: frozenset[str],
    read_elsewhere: Callable[[frozenset[str]], bool],
    expect: Expectations,
    severities: Mapping[str, Severity | None],
) -> Checked | None:
    """``checked`` brought up to date after an edit that changed what lint reads
    of the apps ``made_again`` (each built again, as it renders now) and of the
    file view's files ``viewed``; None when a walk must make it again.

    The findings of those apps, and of the file view's folders that hold
    ``viewed``, are made again by every rule; the rest are kept.  None when a
    build failed, when a folder lies in a component (the view holds files no
    build reads), when a build not made again reads a file of those folders
    (its findings there may have given way to the file view's), or when an app
    made again shares its name, a volume's name, rootPath or handle with
    another Kustomization."""
    claims = _opened_claims(checked)
    walked = _as_walked(made_again, claims or {})
    if claims is None or walked is None or any(r.status != "rendered" for r in walked):
        return None
    refs = {r.ks.ref for r in walked}
    folders = {posixpath.dirname(p) for p in viewed}
    if any(_below_any(f, checked.components) for f in folders):
        return None
    files = frozenset(p for p in checked.rendered if posixpath.dirname(p) in folders and p.endswith((".yaml", ".yml")))
    if not viewed <= files or read_elsewhere(files):
        return None
    problems = tuple(
        p
        for p in checked.walk_problems
        if p.kustomization in refs or (p.kustomization is None and p.loc is not None and p.loc.file in files)
    )
    model = RepoModel((), walked, (), problems)
    rendered = rendered_view(model)
    file_groups, file_problems = file_view(repo, files)
    made = _claims(walked, rendered)
    if file_problems or _shares(claims, made):
        return None
    found = _findings(Context(model, (*rendered, *file_groups), expect, (), None), severities)
    known = checked.rendered | {f.loc.file for f in checked.findings if f.loc is not None}
    if any(f.loc is not None and f.loc.file not in known for f in found):
        return None  # its suppressions were not read
    return _with_patch(checked, claims, made, walked, _dedupe([*_not_made_again(checked, refs, files), *found]),
                       files, file_groups)  # fmt: skip


def _with_patch(
    checked: Checked,
    claims: Claims,
    made: Claims,
    walked: tuple[KsResult, ...],
    findings: list[Finding],
    files: frozenset[str],
    file_groups: Iterable[Group],
) -> Checked:
    """``checked`` with the findings, and what choosing among them reads, of
    the apps ``walked`` made again and of the file view's ``files``."""
    named = {f.kustomization for f in findings}
    reads = {ref: read for ref, read in checked.reads.items() if ref not in made}
    path = sys.intern
    reads.update((r.ks.ref, frozenset(map(path, r.files | {r.ks.ref.file}))) for r in walked if r.ks.ref in named)
    groups = checked.apps - sum(claims[ref][0] for ref in made) + sum(held for held, _ in made.values())
    written = frozenset(path(s.res.origin.file) for g in file_groups for s in g.subjects if s.res.origin)
    return dataclasses.replace(
        checked,
        findings=tuple(findings),
        reads=reads,
        apps=groups,
        as_written=(checked.as_written - files) | written,
        claims=Packed({**claims, **made}),
    )
