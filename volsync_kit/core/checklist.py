"""The ordered cleanup-and-resume checklist for a diff, as typed actions.

The order comes from how the pieces behave (domain-facts sections 2-4, 7):

- Flux re-applies everything a Kustomization renders at every reconcile, so
  a Kustomization is suspended before anything it applies is patched,
  scaled or deleted (a patch made first is overwritten: its trigger never
  fires);
- movers must stop mounting a volume before its claim can go (pause them and
  wait for their pods; keep the operator running: pausing needs it);
- a bound PV outlives its claim (pv-protection), and a claim outlives the
  pods that use it (pvc-protection);
- nothing resumes before the source has the pushed commit, or Flux applies
  the old objects again; and whatever must hold before Flux sees the commit
  (a data claim's Retain rescue) comes before the push.

Every stopping action is undone at the end to exactly the state it found
(see :mod:`volsync_kit.core.procedure`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from volsync_kit.core.diff import Change, Diff, tracked_objects
from volsync_kit.core.facts import (
    VOLSYNC,
    WITH_REPOSITORY,
    claim_restored_from,
    claim_volume,
    maintenance_claims,
    mover_facts,
)
from volsync_kit.core.flux import KsResult
from volsync_kit.core.model import KsRef, Resource, Scalar, iter_scalars, str_at, written_strings, written_texts
from volsync_kit.core.names import JOB_PREFIXES, mover_job, templated
from volsync_kit.core.procedure import Action, Check, Settings, Step, Target
from volsync_kit.core.volumes import (
    REPOSITORY_ATTRIBUTES,
    attr,
    is_repository_volume,
    mover_claims,
    repository_moved,
    repository_tool,
)

VOLUME_KINDS = ("PersistentVolume", "PersistentVolumeClaim", "StorageClass")
RESOURCE = {"PersistentVolume": "pv", "PersistentVolumeClaim": "pvc", "StorageClass": "storageclass"}


def checklist(diff: Diff, settings: Settings) -> list[Step]:
    """The steps for this diff; empty when nothing needs doing by hand."""
    replaced = [c for c in diff.changes if c.action == "replace" and c.kind in VOLUME_KINDS]
    removed = sorted({c.ks for c in diff.changes if c.ks_removed}, key=lambda r: (r.namespace, r.name))
    steps: list[Step] = []
    if removed:
        steps.append(_final_backup(diff, removed, settings))
    rescue = _rescue(diff, settings)
    if rescue:
        steps.append(rescue)
    if replaced:
        steps.extend(_replace_steps(diff, replaced, settings))
    elif any(c.action in ("create", "update", "delete") for c in diff.changes):
        gate = _gate(diff, [c for c in diff.changes if c.action == "create"], settings)
        if gate:
            steps.append(gate)
        steps.append(settings.step("Commit and push; Flux applies the changes", [_push(settings)], kind="apply"))
    return steps


# -- targets -------------------------------------------------------------------


def _ks(ref: KsRef) -> Target:
    return Target("kustomization", ref.name, ref.namespace)


def _target(c: Change) -> Target:
    return Target(RESOURCE[c.kind], c.name, c.namespace or "")


def _mover(res: Resource) -> Target:
    return Target(res.kind.lower(), res.name, res.namespace)


def _mover_of(res: Resource) -> str:
    facts = mover_facts(res)
    return facts.mover if facts is not None else ""


def _job(res: Resource) -> str:
    mover = _mover_of(res)
    return mover_job(
        "src" if res.kind == "ReplicationSource" else "dst", res.name, mover if mover in JOB_PREFIXES else "restic"
    )


def _push(settings: Settings) -> Action:
    source = Target("source", settings.source_name, settings.source_namespace)
    return Action("push", source, value=settings.source_kind)


# -- preconditions ---------------------------------------------------------------


def _jsonpath(path: str) -> str | None:
    """``spec.csi.volumeAttributes.rootPath`` -> ``{.spec.csi.volumeAttributes.rootPath}``;
    None for a path with keys jsonpath would need escaped."""
    if any(ch in path for ch in '"\\{}'):
        return None
    return "{." + path + "}"


def _scalar_text(value: object) -> str | None:
    """How kubectl's jsonpath prints a scalar; None for a list or map."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _printed(path: str, before: object, after: object) -> tuple[str, str, str] | None:
    """(path, before, after) as kubectl's jsonpath prints them: a scalar as
    itself, a list of scalars with ``[*]`` (space-separated), a map by its
    first differing scalar leaf; None when no such form tells them apart."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key) and key.replace("-", "").replace("_", "").isalnum():
                found = _printed(f"{path}.{key}", before.get(key), after.get(key))
                if found:
                    return found
        return None
    if isinstance(before, list) or isinstance(after, list):
        items = [before or [], after or []]
        texts = [[_scalar_text(v) for v in side] if isinstance(side, list) else [None] for side in items]
        if any(t is None for side in texts for t in side):
            return None
        return (f"{path}[*]", " ".join(t or "" for t in texts[0]), " ".join(t or "" for t in texts[1]))
    b, a = _scalar_text(before), _scalar_text(after)
    return (path, b, a) if b is not None and a is not None else None


def base_check(c: Change) -> Check | None:
    """The base value of a field that forces ``c``'s replacement, as a
    precondition: only an object that still has it is the base's object."""
    for f in c.fields:
        if not f.forces_replacement:
            continue
        printed = _printed(f.path, f.before, f.after)
        if printed is None:
            continue
        path, before, after = printed
        jsonpath = _jsonpath(path)
        if jsonpath is not None and before != after:
            return Check(jsonpath, before)
    return None


def _checks(affected: list[Change]) -> dict[tuple[str, str, str], Check | None]:
    """Each deletion's precondition. A claim replaced only because its volume
    is (pv-protection) is judged by that volume's field."""
    volumes = {c.name: c for c in affected if c.kind == "PersistentVolume"}
    out: dict[tuple[str, str, str], Check | None] = {}
    for c in affected:
        check = base_check(c)
        if check is None and c.kind == "PersistentVolumeClaim":
            name = claim_volume(c.base)
            volume = volumes.get(name or "")
            via = base_check(volume) if volume else None
            if volume and via:
                check = Check(via.jsonpath, via.expected, Target("pv", volume.name))
        out[_key(c)] = check
    return out


# -- who mounts what ---------------------------------------------------------------


def movers(diff: Diff, claims: set[tuple[str, str]]) -> list[Resource]:
    """ReplicationSources/Destinations that mount one of ``claims`` (namespace,
    name) and that pausing stops (the others: :func:`unstoppable`)."""
    return [
        res
        for result in diff.base_model.results
        for res in result.resources
        if _is_mover(res) and _paused_stops(res) and any((res.namespace, n) in claims for n in _used_by(res))
    ]


def _is_mover(res: Resource) -> bool:
    return res.group == VOLSYNC and res.kind in ("ReplicationSource", "ReplicationDestination")


def _used_by(res: Resource) -> set[str]:
    """The claims a mover mounts (its repository's, by ``moverVolumes`` or by
    name) or moves data of (the source's data PVC, the destination's PVC)."""
    facts = mover_facts(res)
    return {name for _, name in mover_claims([res])} | set(facts.data if facts else ())


def _paused_stops(res: Resource) -> bool:
    # VolSync's syncthing mover keeps its Deployment at one replica whatever
    # spec.paused says (backube/volsync internal/controller/mover/syncthing/mover.go,
    # ensureDeployment): pausing it frees no claim.
    facts = mover_facts(res)
    return facts is None or facts.mover != "syncthing"


def unstoppable(diff: Diff) -> list[tuple[KsResult, Resource, tuple[str, ...]]]:
    """What mounts a claim the checklist deletes but is not stopped by it, with
    its owner and those claims: a mover that pausing does not stop, and a
    KopiaMaintenance, whose Jobs run on its own schedule.  Each keeps the claim
    from going (pvc-protection)."""
    replaced = [c for c in diff.changes if c.action == "replace" and c.kind in VOLUME_KINDS]
    if not replaced:
        return []
    _, claims = _affected(diff, replaced)
    return [
        (result, res, named)
        for result in diff.base_model.results
        for res in result.resources
        if (named := _unstopped(res, claims))
    ]


def _unstopped(res: Resource, claims: set[tuple[str, str]]) -> tuple[str, ...]:
    """The ``claims`` that ``res`` mounts when nothing the checklist does stops it."""
    if res.kind == "KopiaMaintenance":
        mounted = set(maintenance_claims(res))
    elif _is_mover(res) and not _paused_stops(res):
        mounted = _used_by(res)
    else:
        return ()
    return tuple(sorted(name for name in mounted if (res.namespace, name) in claims))


def workloads(diff: Diff, claims: set[tuple[str, str]]) -> list[Resource]:
    """HelmReleases whose values name one of the claims (``existingClaim``),
    reading app-template's ``{{ .Release.Name }}`` as the release's name:
    other workloads that mount the volume and must stop before its claim can go."""
    by_namespace: dict[str, set[str]] = {}
    for namespace, name in claims:
        by_namespace.setdefault(namespace, set()).add(name)
    as_runs = {namespace: all(map(_is_run, names)) for namespace, names in by_namespace.items()}
    out: list[Resource] = []
    for result in diff.base_model.results:
        for res in result.resources:
            names = by_namespace.get(res.namespace)
            if res.kind != "HelmRelease" or not names:
                continue
            if not _may_name(res, names, as_runs[res.namespace]):
                continue  # most releases: read without building their values
            if any(_claim_value(s, res.name) in names for _, s in iter_scalars(res.node)):
                out.append(res)
    return out


def _may_name(res: Resource, names: set[str], as_runs: bool) -> bool:
    """Whether some scalar of the release, as written (untyped), could name a
    claim; ``as_runs``: every name is a run of name characters (:data:`_RUN`)."""
    release = res.name
    texts = written_texts(res.node) if as_runs else None
    if texts is not None:
        # The release's file, read as text: most name no claim, and composing
        # each one again costs a warm plan of 2,000 apps a third of a second.
        named = _runs_naming(texts, release)
        if named is not None:
            return not named.isdisjoint(names)
    for text in written_strings(res.node):
        if text in names or ("Release.Name" in text and _release_named(text, release) in names):
            return True
    return False


# A claim's name stands in a text as a whole run of these (model.written_texts).
_RUN = re.compile(r"[\w.-]+")
# Each byte of an ASCII run character as it is, every other byte a space.
_ASCII_RUNS = bytes(b if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_.-") else 32 for b in range(256))


def _is_run(name: str) -> bool:
    return name.isascii() and _RUN.fullmatch(name) is not None


def _runs_naming(texts: Iterable[str], release: str) -> set[str] | None:
    """Every run of name characters in ``texts``, app-template's release name
    written in; None when a spelling of it is split over lines (then only the
    values, read one by one, can say).  Only the ASCII runs: any other letter
    (``\\w`` is Unicode) splits a run in pieces that are runs of their own,
    which may equal more of the (ASCII) names, never fewer."""
    runs: set[str] = set()
    for text in texts:
        runs.update(_ascii_runs(text))
        if "Release.Name" in text:
            text = _release_named(text, release)
            if "Release.Name" in text:
                return None
            runs.update(_ascii_runs(text))
    return runs


def _ascii_runs(text: str) -> list[str]:
    # A third of the time of _RUN.findall: 2,000 releases at each plan.
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_RUNS).decode("ascii").split()


def _release_named(text: str, release: str) -> str:
    for spelling in ("{{ .Release.Name }}", "{{.Release.Name}}"):
        text = text.replace(spelling, release)
    return text


def _claim_value(scalar: Scalar, release: str) -> str | None:
    return _release_named(scalar.value, release) if isinstance(scalar.value, str) else None


# -- the replacement procedure ---------------------------------------------------------


def _affected(diff: Diff, replaced: list[Change]) -> tuple[list[Change], set[tuple[str, str]]]:
    # Replacing a bound PV forces replacing its claim: pv-protection keeps the
    # PV while bound, and a claim whose PV disappears goes Lost.
    pv_names = {c.name for c in replaced if c.kind == "PersistentVolume"}
    claims = {
        (c.namespace, c.name)
        for c in diff.changes
        if c.kind == "PersistentVolumeClaim"
        and c.action in ("replace", "update")
        and (c.action == "replace" or claim_volume(c.head) in pv_names)
    }
    affected = [
        c
        for c in diff.changes
        if c.kind in VOLUME_KINDS and (c.action == "replace" or (c.kind, c.namespace, c.name) in _claim_keys(claims))
    ]
    return affected, claims


def _claim_keys(claims: set[tuple[str, str]]) -> set[tuple[str, str, str]]:
    return {("PersistentVolumeClaim", ns, name) for ns, name in claims}


def _key(c: Change) -> tuple[str, str, str]:
    return (c.kind, c.namespace, c.name)


def _by_kind(affected: Sequence[Change], kind: str) -> list[Change]:
    return [c for c in affected if c.kind == kind]


def _replace_steps(diff: Diff, replaced: list[Change], settings: Settings) -> list[Step]:
    affected, claims = _affected(diff, replaced)
    kustomizations = sorted({c.ks for c in affected}, key=lambda r: (r.namespace, r.name))
    found_movers = movers(diff, claims)
    releases = workloads(diff, claims)
    checks = _checks(affected)
    owners = {_key(c): _ks(c.ks) for c in affected}
    step = settings.step

    def delete(c: Change) -> Action:
        return Action("delete", _target(c), check=checks[_key(c)], owner=owners[_key(c)])

    preflight = [Action("show", _target(c)) for c in affected if c.kind != "StorageClass"]
    preflight += [Action("pods", Target("namespace", ns, ns)) for ns in sorted({n for n, _ in claims})]
    preflight += [Action("pending", _target(c), checks[_key(c)], owners[_key(c)]) for c in affected]
    stop: list[Action] = [Action("suspend", _ks(r)) for r in kustomizations]
    for res in releases:
        release = Target("helmrelease", res.name, res.namespace)
        stop += [Action("suspend", release), Action("scale-down", release)]
    steps = [
        step(
            "Preflight (read-only): the volumes, the pods that mount their claims, and what is left to replace",
            preflight,
            kind="preflight",
        ),
        step(
            "Suspend the Flux Kustomizations that apply these objects"
            + (", and stop the other workloads that mount them" if releases else ""),
            stop,
            kind="suspend",
        ),
    ]
    restores = _restore_guards(diff, affected, settings)
    if restores:
        steps.append(restores)
    if found_movers:
        steps.append(
            step(
                "Pause the VolSync movers that mount these claims and wait for their pods to go (the operator "
                "keeps running: pausing needs it)",
                [Action("pause", _mover(r)) for r in found_movers]
                # An external mover's pods are another controller's, named as it likes.
                + [Action("wait-movers", _mover(r), value=_job(r)) for r in found_movers if _mover_of(r) != "external"],
                # kubectl wait -l fails when nothing matches (kubernetes/kubernetes#96676).
                ("`no matching resources found` from a wait means no mover was running: nothing to wait for.",),
                kind="pause",
            )
        )
    claims_first = _by_kind(affected, "PersistentVolumeClaim")
    volumes = _by_kind(affected, "PersistentVolume")
    classes = _by_kind(affected, "StorageClass")
    deletion = [Action("guard", _target(c), owner=owners[_key(c)]) for c in claims_first]
    for group in (claims_first, volumes, classes):
        deletion += [delete(c) for c in group]
        deletion += [Action("wait-deleted", _target(c)) for c in group]
    steps.append(
        step(
            "Delete the claims, then the volumes"
            + (", then the StorageClasses" if classes else "")
            + ": only those that still carry the base commit's values (Retain keeps the CephFS data)",
            deletion,
            _class_notes(classes),
            kind="delete",
        )
    )
    released = _claim_ref_fixes(diff, affected)
    if released:
        steps.append(
            step(
                "Free the kept PVs for their new claims: a Retained PV stays Released while its claimRef names the "
                "deleted claim",
                released,
                kind="claimref",
            )
        )
    gate = _gate(diff, affected, settings)
    if gate:
        steps.append(gate)
    steps.append(
        step(
            "Commit and push; have the source fetch it, and confirm its revision is the pushed commit",
            [_push(settings)],
            kind="push",
        )
    )
    sources = [r for r in found_movers if r.kind == "ReplicationSource"]
    resume: list[Action] = [Action("resume", _ks(r)) for r in reversed(kustomizations)]
    # A claim provisioned on demand may wait for its first consumer (WaitForFirstConsumer,
    # a volume populator): only static volumes and the claims naming them are awaited.
    resume += [
        Action("wait-bound", _target(c), owner=owners[_key(c)], value=_volume_name(c))
        for c in affected
        if _binds_at_once(c)
    ]
    resume += [Action("unpause", _mover(r)) for r in found_movers]
    resume += [Action("sync", _mover(r)) for r in sources]
    for res in releases:
        release = Target("helmrelease", res.name, res.namespace)
        resume += [Action("scale-up", release), Action("resume", release)]
    # restic and kopia back up into a repository; rclone and rsync replicate. A source
    # without a mover is taken as restic, as _job takes it.
    sync = "backup" if all(_mover_of(r) in ("", *WITH_REPOSITORY) for r in sources) else "sync"
    steps.append(
        step(
            _resume_title(
                any(a.verb == "wait-bound" for a in resume), bool(found_movers), sync if sources else "", bool(releases)
            ),
            resume,
            (f"Each {sync} may take as long as the app's data needs; each wait gives up after {settings.timeout}.",)
            if sources
            else (),
            kind="resume",
        )
    )
    steps.append(step("Data safety", [], _safety(diff, affected), kind="safety"))
    return steps


def _resume_title(bound: bool, movers: bool, sync: str, workloads: bool) -> str:
    """What the resume step does, and nothing it does not (no mover, no scaled workload);
    ``sync`` names what each source's one run is ("backup" or "sync"), empty for none."""
    then = []
    if movers:
        then.append("unpause the movers")
    if sync:
        then.append(f"run one {sync} each (then clear its manual trigger, so the schedule applies again)")
    if workloads:
        then.append("restore the workloads' replicas")
    if not then:
        return "Resume in reverse order" + ("; wait until every volume and claim is Bound" if bound else "")
    listed = ", ".join(then[:-1]) + (" and " if len(then) > 1 else "") + then[-1]
    return "Resume in reverse order; " + ("once every volume and claim is Bound, " if bound else "then ") + listed


def _volume_name(c: Change) -> str:
    """The volume a claim names (its wait then stands for the volume's too)."""
    if c.kind != "PersistentVolumeClaim":
        return ""
    return claim_volume(c.head) or ""


def _binds_at_once(c: Change) -> bool:
    if c.kind == "PersistentVolume":
        return True
    return c.kind == "PersistentVolumeClaim" and bool(claim_volume(c.head))


def _class_notes(classes: list[Change]) -> tuple[str, ...]:
    return tuple(
        f"StorageClass {c.name} ({c.app}): its fields are immutable, so it is deleted here and Flux recreates it "
        "from the pushed commit; volumes already provisioned from it keep working."
        for c in classes
    )


def _apps(apps: Sequence[str], diff: Diff) -> str:
    """The apps by name, or, when they are every app of the plan, their count:
    a list of 35 names says nothing the summary has not."""
    if len(apps) > 3 and set(apps) == {c.app for c in diff.changes}:
        return f"each of the {len(apps)} apps"
    return ", ".join(apps)


def _safety(diff: Diff, affected: list[Change]) -> tuple[str, ...]:
    repositories = sorted({c.app for c in affected if c.kind == "PersistentVolume" and is_repository_volume(c, diff)})
    data = sorted({c.name for c in affected if c.kind == "PersistentVolume" and not is_repository_volume(c, diff)})
    notes = ["Deleted: the Kubernetes PV and PVC objects only (and StorageClasses, which hold no data)."]
    if repositories:
        tools = {repository_tool(c, diff) for c in affected if c.kind == "PersistentVolume" and c.app in repositories}
        data_of = f"{tools.pop()} data" if len(tools) == 1 else "repository data"
        others = _other_repositories(diff, affected, set(repositories))
        untouched = (
            f", and the {'repository' if len(others) == 1 else 'repositories'} of "
            f"{', '.join(others) if len(others) <= 3 else f'{len(others)} other ReplicationSources'}, "
            "which this change does not touch"
            if others
            else ""
        )
        notes.append(
            f"Preserved: the {data_of} of {_apps(repositories, diff)} at its rootPath{untouched}. VolSync "
            "reconnects to the existing repositories only where the repository did not move."
        )
    if data:
        notes.append(
            f"Preserved: the files of the static data volumes {', '.join(data)} at their rootPath; the apps see "
            "what is at the new rootPath."
        )
    return tuple(notes)


def _other_repositories(diff: Diff, affected: list[Change], apps: set[str]) -> list[str]:
    """The ReplicationSources of ``apps`` whose repository is on none of the
    claims the change replaces (a remote one, such as the example's ``${APP}-r2``)."""
    claims = {(c.namespace, c.name) for c in affected if c.kind == "PersistentVolumeClaim"}
    return sorted(
        f"{res.namespace}/{res.name}"
        for result in diff.base_model.results
        if result.app in apps
        for res in result.resources
        if res.kind == "ReplicationSource"
        and (facts := mover_facts(res)) is not None
        and facts.repositories
        and not mover_claims([res]) & claims
    )


def _claim_ref_fixes(diff: Diff, affected: list[Change]) -> list[Action]:
    """For claims replaced while their PV stays: clear the PV's stale binding.

    When git pre-binds the PV (``claimRef`` with name and namespace), only the
    ``uid`` and ``resourceVersion`` the PV controller wrote are removed, so the
    PV stays reserved for the new claim; otherwise the whole claimRef goes.
    """
    replaced_pvs = {c.name for c in affected if c.kind == "PersistentVolume"}
    volumes = {
        key[3]: res for key, (res, _) in tracked_objects(diff.head_model).items() if key[1] == "PersistentVolume"
    }
    out: list[Action] = []
    for c in affected:
        if c.kind != "PersistentVolumeClaim" or c.head is None:
            continue
        volume = claim_volume(c.head)
        if not volume or volume in replaced_pvs:
            continue
        pv = volumes.get(volume)
        keep = pv is not None and str_at(pv.node, "spec", "claimRef", "name") == c.name
        out.append(Action("free", Target("pv", volume), value="keep-name" if keep else ""))
    return out


def _restore_guards(diff: Diff, affected: list[Change], settings: Settings) -> Step | None:
    """A data PVC populated from a ReplicationDestination (``dataSourceRef``) restores
    the destination's last image when recreated, which may be weeks old: with the app
    stopped (after the suspend step, or Flux would re-apply git's trigger over
    ours), back up, then refresh the destination's image before the claim goes."""
    actions: list[Action] = []
    notes: list[str] = []
    for c in affected:
        if c.kind != "PersistentVolumeClaim" or c.base is None:
            continue
        # A fact kept with the claim: its body stays packed (2,000 claims when
        # every repository volume is replaced, none restored).
        destination = claim_restored_from(c.base)
        if destination is None:
            continue
        sources = [r for r in _app_resources(diff, c.ks) if r.kind == "ReplicationSource"
                   and str_at(r.node, "spec", "sourcePVC") == c.name]  # fmt: skip
        actions += [Action("sync", _mover(r)) for r in sources]
        actions.append(Action("sync", Target("replicationdestination", destination, c.namespace)))
        notes.append(f"{c.namespace}/{c.name} is restored from ReplicationDestination {destination} when recreated.")
    if not actions:
        return None
    return settings.step(
        "Data PVCs restored from a ReplicationDestination: take a fresh backup and refresh the destination's image "
        "before the claim is recreated",
        actions,
        tuple(notes),
        kind="backup",
    )


def _app_resources(diff: Diff, ref: KsRef) -> list[Resource]:
    return [r for result in diff.base_model.results if result.ks.ref == ref for r in result.resources]


# -- gate, removed apps ---------------------------------------------------------------


# The file every repository of the tool holds at its root: restic's `config`;
# kopia's format blob `kopia.repository`, which its filesystem storage writes
# with the suffix `.f` (kopia repo/blob/filesystem).
_REPOSITORY_FILE = {"restic": "config", "kopia": "kopia.repository.f"}


def _gate(diff: Diff, changes: Iterable[Change], settings: Settings) -> Step | None:
    moved = [c for c in changes if repository_moved(c) or (c.action == "create" and c.kind == "PersistentVolume")]
    moved = [c for c in moved if attr(c.head, "rootPath")]
    if not moved:
        return None
    groups: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {}
    actions: list[Action] = []
    for c in moved:
        root, fs, cluster = (attr(c.head, a) or "" for a in REPOSITORY_ATTRIBUTES)
        if not is_repository_volume(c, diff):
            holds = "exists and holds the app's files (a static data volume: copy them there first)"
        elif c.action == "create":
            holds = "exists"
        else:
            tool = repository_tool(c, diff)
            holds = f"exists and already holds the {tool} repository (its `{_REPOSITORY_FILE[tool]}` file)"
        # Apps that one component moves alike share one line: /volsync/${APP} for 35 apps.
        groups.setdefault((templated(root, c.app), fs or "(default)", cluster, holds), []).append((c.app, root))
        if settings.gate_command:
            command = settings.gate_command.format(rootPath=root, fsName=fs, clusterID=cluster, app=c.app)
            actions.append(Action("gate", value=command))
    notes = [
        f"{apps[0][0]}: {apps[0][1]} on CephFS {fs} of cluster {cluster} {holds}."
        if len(apps) == 1
        else f"{template} on CephFS {fs} of cluster {cluster}, for {_apps([a for a, _ in apps], diff)}: {holds}."
        for (template, fs, cluster, holds), apps in groups.items()
    ]
    actions.append(Action("gate", text="Did you check every path above?"))
    title = "Gate the volumes: before anything resumes, check that each new place"
    return settings.step(title, actions, tuple(notes), kind="gate")


def _final_backup(diff: Diff, removed: list[KsRef], settings: Settings) -> Step:
    sources = [
        res
        for result in diff.base_model.results
        if result.ks.ref in removed
        for res in result.resources
        if res.group == VOLSYNC and res.kind == "ReplicationSource"
    ]
    names = ", ".join(str(r) for r in removed)
    keep = " ".join(f"`flux suspend kustomization {r.name} -n {r.namespace}`" for r in removed)
    # Suspended while the trigger is set, or Flux could re-apply git's trigger over it; resumed
    # before the push, because a Kustomization deleted while suspended prunes nothing it applied
    # (fluxcd/flux2#2624) and would leave the app's movers running as orphans.
    ks = [_ks(r) for r in removed]
    return settings.step(
        f"Removed apps ({names}): run a final backup before pushing",
        [Action("suspend", t) for t in ks]
        + [Action("sync", _mover(r)) for r in sources]
        + [Action("resume", t) for t in ks],
        (
            "Then either push and let Flux delete what they applied (the restic data at rootPath stays; the data "
            f"volumes are kept by the next step), or suspend their Kustomizations first to keep everything: {keep}",
        ),
        kind="backup",
    )


def _rescue(diff: Diff, settings: Settings) -> Step | None:
    """Claims Flux prunes: before the push, set their volumes to Retain.

    Flux deletes a pruned claim at the first reconcile after the push, and a
    dynamically provisioned volume (reclaim Delete) goes with it; a rescue run
    after the push finds nothing. A claim bound to a static PV the base
    renders with Retain needs nothing: that is the repository volume.
    """
    pruned = [c for c in diff.changes if c.kind == "PersistentVolumeClaim" and c.action == "delete" and c.prune]
    kept = [c for c in diff.changes if c.action == "delete" and not c.prune]
    retained = {
        key[3]
        for key, (res, _) in tracked_objects(diff.base_model).items()
        if key[1] == "PersistentVolume" and str_at(res.node, "spec", "persistentVolumeReclaimPolicy") == "Retain"
    }
    rescue = [c for c in pruned if str_at(c.base.node if c.base else None, "spec", "volumeName") not in retained]
    notes = [f"{c.kind} {c.namespace + '/' if c.namespace else ''}{c.name} ({c.app}): Flux deletes it." for c in pruned]
    notes += [
        f"{c.kind} {c.namespace + '/' if c.namespace else ''}{c.name} ({c.app}): Flux leaves it in the cluster "
        "(prune is off)."
        for c in kept
    ]
    if not notes:
        return None
    return settings.step(
        "Before pushing: keep the data volumes of the claims Flux deletes (reclaim policy Retain)",
        [Action("retain", _target(c)) for c in rescue],
        tuple(notes),
        kind="rescue",
    )
