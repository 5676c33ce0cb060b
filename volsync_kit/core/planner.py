"""From a diff to danger flags and the ordered cleanup-and-resume checklist.

The order comes from how the pieces behave (domain-facts sections 2-4, 7):
Flux must stop re-applying before anything is deleted (suspend the
Kustomizations that render the objects, with ``flux``, never ``kubectl``);
movers must stop mounting the volume before its claim can go (pause the
ReplicationSources/Destinations and wait for their pods; keep the operator
running, since pausing needs it); a bound PV cannot be deleted before its
claim (pv-protection); and nothing resumes before the source has the pushed
commit, or Flux re-applies the old objects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from volsync_kit.core.diff import Change, Diff, tracked_objects
from volsync_kit.core.model import KsRef, Map, Resource, Scalar, iter_scalars, node_at, seq_at, str_at
from volsync_kit.core.names import UnsafeName, kube_context, label, mover_job, subdomain

REPOSITORY_ATTRIBUTES = ("rootPath", "fsName", "clusterID")
MOVERS = ("restic", "kopia", "rclone")
VOLSYNC = "volsync.backube"


@dataclass(frozen=True)
class Settings:
    source_kind: str = "git"
    source_name: str = "flux-system"
    source_namespace: str = "flux-system"
    gate_command: str | None = None  # template with {rootPath}, {fsName}, {clusterID}, {app}
    timeout: str = "10m"


@dataclass(frozen=True, slots=True)
class Danger:
    code: str
    message: str
    app: str | None = None
    object: str | None = None


@dataclass(frozen=True)
class Step:
    title: str
    commands: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    kind: str = ""  # preflight, suspend, pause, delete, gate, push, resume, safety, backup, rescue, apply
    # (namespace, claim) pairs that only VolSync movers may still use when this step runs
    guard: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Plan:
    base: str
    head: str
    diff: Diff
    dangers: tuple[Danger, ...]
    steps: tuple[Step, ...]
    settings: Settings = field(default_factory=Settings)
    scenario: str | None = None  # the guide's procedure printed instead of a diff
    context: str | None = None  # the kubeconfig context every command is pinned to

    @property
    def changes(self) -> tuple[Change, ...]:
        return self.diff.changes

    @property
    def nothing_to_do(self) -> bool:
        return not self.diff.changes and not self.diff.failures and not self.steps

    def has(self, action: str) -> bool:
        return any(c.action == action for c in self.diff.changes)


# -- danger flags --------------------------------------------------------------


def _attr(res: Resource | None, name: str) -> str | None:
    return str_at(res.node, "spec", "csi", "volumeAttributes", name) if res else None


def repository_moved(change: Change) -> bool:
    """A PV that exists on both sides and points somewhere else (a new app's
    repository is created, a removed app's stays where it is: neither moves)."""
    if change.base is None or change.head is None:
        return False
    return change.kind == "PersistentVolume" and any(
        _attr(change.base, a) != _attr(change.head, a) for a in REPOSITORY_ATTRIBUTES
    )


def _secret_keys_changed(change: Change) -> list[str]:
    if change.kind not in ("Secret", "ExternalSecret") or change.action == "create":
        return []
    keys = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD")
    return sorted({k for f in change.fields for k in keys if k in f.path})


def dangers(diff: Diff) -> list[Danger]:
    out: list[Danger] = []
    for c in diff.changes:
        ns = f"{c.namespace}/" if c.namespace else ""
        if c.kind == "PersistentVolumeClaim" and c.action == "delete" and c.prune:
            out.append(
                Danger(
                    "pvc-deleted",
                    f"PVC {ns}{c.name} is deleted by Flux: it stays Terminating until its pods stop, then its volume "
                    "is deleted unless the PV's reclaim policy is Retain. Rescue it now: patch its PV to Retain.",
                    c.app,
                    c.label,
                )
            )
        if c.kind == "PersistentVolume" and c.action in ("delete", "replace"):
            policy = str_at(c.base.node, "spec", "persistentVolumeReclaimPolicy") if c.base else None
            if policy not in (None, "Retain"):
                out.append(
                    Danger(
                        "pv-not-retained",
                        f"PV {c.name} is deleted with reclaim policy {policy}: its backing volume can be deleted too.",
                        c.app,
                        c.label,
                    )
                )
        if repository_moved(c):
            before = _attr(c.base, "rootPath")
            after = _attr(c.head, "rootPath")
            out.append(
                Danger(
                    "repository-moved",
                    f"The restic repository of {c.app} moves ({before} -> {after}): restic silently initialises an "
                    "empty repository at the new place if it holds none, and the history stays at the old one.",
                    c.app,
                    c.label,
                )
            )
        for key in _secret_keys_changed(c):
            out.append(
                Danger(
                    "repository-moved",
                    f"{key} of {c.app} changes in {c.label}: restic starts a new repository or cannot open the old.",
                    c.app,
                    c.label,
                )
            )
        bad = _non_string_attributes(c.head) if c.kind == "PersistentVolume" and c.action != "delete" else []
        if bad:
            out.append(
                Danger(
                    "cannot-apply",
                    f"PV {c.name} has non-string volumeAttributes ({', '.join(bad)}): the API server rejects it, so "
                    "Flux cannot create it; quote the values before following this plan (lint: VK101, VK105).",
                    c.app,
                    c.label,
                )
            )
        if c.kind == "StorageClass" and c.action == "replace":
            out.append(
                Danger(
                    "cannot-apply",
                    f"StorageClass {c.name} changes an immutable field: Flux cannot apply it, and the Kustomization "
                    "applying it fails until the class is deleted and recreated.",
                    c.app,
                    c.label,
                )
            )
    out.extend(_shared_root_paths(diff))
    out.extend(_explicit_unsuspend(diff))
    return out


def _non_string_attributes(res: Resource | None) -> list[str]:
    """volumeAttributes is map[string]string: a YAML boolean or number makes the PV invalid."""
    attrs = node_at(res.node, "spec", "csi", "volumeAttributes") if res else None
    if not isinstance(attrs, Map):
        return []
    return [
        key for key, value in attrs.items.items() if not (isinstance(value, Scalar) and isinstance(value.value, str))
    ]


def _shared_root_paths(diff: Diff) -> list[Danger]:
    seen: dict[tuple[str | None, str | None, str], list[str]] = {}
    for (_, kind, _, _, _), (res, result) in tracked_objects(diff.head_model).items():
        root = _attr(res, "rootPath")
        if kind == "PersistentVolume" and root:
            app = result.variables.get("APP") or result.ks.ref.name
            seen.setdefault((_attr(res, "clusterID"), _attr(res, "fsName"), root), []).append(app)
    return [
        Danger("shared-root-path", f"Apps {', '.join(sorted(set(apps)))} end up on one rootPath {root}.")
        for (_, _, root), apps in sorted(seen.items())
        if len(set(apps)) > 1
    ]


def _explicit_unsuspend(diff: Diff) -> list[Danger]:
    affected = {c.ks for c in diff.changes if c.action in ("replace", "delete")}
    out: list[Danger] = []
    for result in diff.head_model.results:
        node = result.ks.spec("suspend")
        if result.ks.ref in affected and node is not None and getattr(node, "value", None) is False:
            out.append(
                Danger(
                    "explicit-unsuspend",
                    f"Kustomization {result.ks.ref} sets suspend: false: its parent's next apply resumes it "
                    "mid-cleanup. Remove the field, or suspend the parent too.",
                    result.variables.get("APP") or result.ks.ref.name,
                )
            )
    return out


# -- the checklist -----------------------------------------------------------------


def _ks_commands(verb: str, refs: Iterable[KsRef]) -> tuple[str, ...]:
    return tuple(f"flux {verb} kustomization {label(r.name)} -n {label(r.namespace)}" for r in refs)


def _movers(diff: Diff, claims: set[tuple[str, str]]) -> list[Resource]:
    """ReplicationSources/Destinations that mount one of ``claims`` (namespace, name)."""
    out: list[Resource] = []
    for result in diff.base_model.results:
        secrets = _local_repository_secrets(result.resources)
        for res in result.resources:
            if res.group != VOLSYNC or res.kind not in ("ReplicationSource", "ReplicationDestination"):
                continue
            if _mounts(res, claims) or _uses_local_repository(res, secrets, claims) or _moves_data(res, claims):
                out.append(res)
    return out


def _mounts(res: Resource, claims: set[tuple[str, str]]) -> bool:
    spec = res.node.items.get("spec")
    if not isinstance(spec, Map):
        return False
    for mover in MOVERS:
        for volume in seq_at(spec, mover, "moverVolumes"):
            claim = str_at(volume, "volumeSource", "persistentVolumeClaim", "claimName")
            if claim and (res.namespace, claim) in claims:
                return True
    return False


def _local_repository_secrets(resources: Iterable[Resource]) -> set[tuple[str, str]]:
    """Secrets whose RESTIC_REPOSITORY is a path: the repository PVC is mounted into the mover
    by name, for example by an admission policy, without moverVolumes."""
    out: set[tuple[str, str]] = set()
    for res in resources:
        if res.kind == "ExternalSecret":
            value = str_at(res.node, "spec", "target", "template", "data", "RESTIC_REPOSITORY")
            name = str_at(res.node, "spec", "target", "name") or res.name
        elif res.kind == "Secret":
            value = str_at(res.node, "stringData", "RESTIC_REPOSITORY")
            name = res.name
        else:
            continue
        if value and value.startswith("/"):
            out.add((res.namespace, name))
    return out


def _uses_local_repository(res: Resource, secrets: set[tuple[str, str]], claims: set[tuple[str, str]]) -> bool:
    """A mover whose repository is a path gets the claim ``volsync-<app>-repo`` injected by
    name (the admission-policy layout), where <app> is its name without ``-dst``."""
    app = res.name.removesuffix("-dst") if res.kind == "ReplicationDestination" else res.name
    if (res.namespace, f"volsync-{app}-repo") not in claims:
        return False
    return any((res.namespace, str_at(res.node, "spec", m, "repository") or "") in secrets for m in MOVERS)


def _moves_data(res: Resource, claims: set[tuple[str, str]]) -> bool:
    """The source's data PVC, or the destination's PVC, is one of ``claims``."""
    names = [str_at(res.node, "spec", "sourcePVC")]
    names += [str_at(res.node, "spec", m, "destinationPVC") for m in MOVERS]
    return any(name and (res.namespace, name) in claims for name in names)


def _workloads(diff: Diff, claims: set[tuple[str, str]]) -> list[Resource]:
    """HelmReleases whose values name one of the claims (``existingClaim``): other
    workloads that mount the volume and must stop before its claim can go."""
    by_namespace: dict[str, set[str]] = {}
    for namespace, name in claims:
        by_namespace.setdefault(namespace, set()).add(name)
    out: list[Resource] = []
    for result in diff.base_model.results:
        for res in result.resources:
            names = by_namespace.get(res.namespace)
            if res.kind != "HelmRelease" or not names:
                continue
            if any(isinstance(s.value, str) and s.value in names for _, s in iter_scalars(res.node)):
                out.append(res)
    return out


def _workload_commands(workloads: list[Resource], stop: bool) -> tuple[str, ...]:
    commands: list[str] = []
    for res in workloads:
        ns, name = label(res.namespace), subdomain(res.name)
        if stop:
            commands.append(f"flux suspend helmrelease {name} -n {ns}")
            commands.append(
                f"kubectl -n {ns} scale deployment,statefulset -l app.kubernetes.io/instance={name} --replicas=0"
            )
        else:
            commands.append(f"flux resume helmrelease {name} -n {ns}")
    return tuple(commands)


def _pause(movers: list[Resource], paused: bool, timeout: str) -> tuple[str, ...]:
    commands: list[str] = []
    value = "true" if paused else "false"
    for res in movers:
        kind = res.kind.lower()
        commands.append(
            f"kubectl -n {label(res.namespace)} patch {kind} {subdomain(res.name)} --type merge "
            f'-p \'{{"spec":{{"paused":{value}}}}}\''
        )
    if paused:
        for res in movers:
            job = mover_job("src" if res.kind == "ReplicationSource" else "dst", res.name)
            commands.append(
                f"kubectl -n {label(res.namespace)} wait --for=delete pod -l job-name={subdomain(job)} "
                f"--timeout={timeout}"
            )
    return tuple(commands)


def _delete(changes: list[Change], timeout: str) -> tuple[str, ...]:
    pvcs = [c for c in changes if c.kind == "PersistentVolumeClaim"]
    pvs = [c for c in changes if c.kind == "PersistentVolume"]
    # --ignore-not-found: absence is the goal, so a rerun after a partial run goes on.
    commands = [
        f"kubectl -n {label(c.namespace)} delete pvc {subdomain(c.name)} --ignore-not-found --wait=false" for c in pvcs
    ]
    commands += [
        f"kubectl -n {label(c.namespace)} wait --for=delete pvc/{subdomain(c.name)} --timeout={timeout}" for c in pvcs
    ]
    commands += [f"kubectl delete pv {subdomain(c.name)} --ignore-not-found --wait=false" for c in pvs]
    commands += [f"kubectl wait --for=delete pv/{subdomain(c.name)} --timeout={timeout}" for c in pvs]
    return tuple(commands)


def _bound(changes: list[Change], timeout: str) -> tuple[str, ...]:
    out: list[str] = []
    for c in changes:
        if c.kind == "PersistentVolume":
            out.append(
                f"kubectl wait --for=jsonpath='{{.status.phase}}'=Bound pv/{subdomain(c.name)} --timeout={timeout}"
            )
        elif c.kind == "PersistentVolumeClaim":
            out.append(
                f"kubectl -n {label(c.namespace)} wait --for=jsonpath='{{.status.phase}}'=Bound "
                f"pvc/{subdomain(c.name)} --timeout={timeout}"
            )
    return tuple(out)


def _monitor(movers: list[Resource], token: str, timeout: str) -> tuple[str, ...]:
    """The guide's Monitoring Recovery, scoped: each backup ran, and its status;
    then its manual trigger goes at once, so that a later wait that times
    out leaves as few schedules stopped as it can (see :func:`_untrigger`)."""
    out: list[str] = []
    for r in movers:
        if r.kind == "ReplicationSource":
            out.append(
                f"kubectl -n {label(r.namespace)} wait --for=jsonpath='{{.status.lastManualSync}}'={token} "
                f"replicationsource/{subdomain(r.name)} --timeout={timeout}"
            )
            out.append(f"kubectl -n {label(r.namespace)} get replicationsource {subdomain(r.name)} -o wide")
            out.extend(_untrigger([r]))
    return tuple(out)


def _untrigger(movers: list[Resource]) -> tuple[str, ...]:
    """Remove the manual trigger once its backup ran: while ``trigger.manual`` is
    set VolSync ignores ``schedule`` (backube/volsync#1259), and Flux's
    server-side apply leaves a field that git does not set where it is, so a
    trigger left behind stops every scheduled backup without a word."""
    return tuple(
        f"kubectl -n {label(r.namespace)} patch replicationsource {subdomain(r.name)} --type json "
        """-p '[{"op":"remove","path":"/spec/trigger/manual"}]'"""
        for r in movers
        if r.kind == "ReplicationSource"
    )


def _trigger(movers: list[Resource], token: str) -> tuple[str, ...]:
    return tuple(
        f"kubectl -n {label(r.namespace)} patch replicationsource {subdomain(r.name)} --type merge "
        f'-p \'{{"spec":{{"trigger":{{"manual":"{token}"}}}}}}\''
        for r in movers
        if r.kind == "ReplicationSource"
    )


def _gate(changes: list[Change], settings: Settings) -> Step | None:
    moved = [c for c in changes if repository_moved(c) or (c.action == "create" and c.kind == "PersistentVolume")]
    if not moved:
        return None
    notes = []
    commands = []
    for c in moved:
        root, fs, cluster = (_attr(c.head, a) or "" for a in REPOSITORY_ATTRIBUTES)
        new = c.action == "create"
        holds = "exists" if new else "exists and already holds the restic repository (its `config` file)"
        notes.append(f"{c.app}: {root} on CephFS {fs or '(default)'} of cluster {cluster} {holds}.")
        if settings.gate_command:
            commands.append(settings.gate_command.format(rootPath=root, fsName=fs, clusterID=cluster, app=c.app))
    title = "Gate the repository: before anything resumes, check that each new rootPath"
    return Step(title, tuple(commands), tuple(notes), kind="gate")


def _source(settings: Settings) -> tuple[str, ...]:
    kind, name, ns = settings.source_kind, label(settings.source_name), label(settings.source_namespace)
    return (
        "git push",
        f"flux reconcile source {kind} {name} -n {ns}",
        f"flux get sources {kind} {name} -n {ns}",
    )


def checklist(diff: Diff, settings: Settings, token: str) -> list[Step]:
    """The steps for this diff; empty when nothing needs doing by hand."""
    replaced = [
        c for c in diff.changes if c.action == "replace" and c.kind in ("PersistentVolume", "PersistentVolumeClaim")
    ]
    deleted = [
        c for c in diff.changes if c.action == "delete" and c.kind in ("PersistentVolume", "PersistentVolumeClaim")
    ]
    created = [c for c in diff.changes if c.action == "create"]
    steps: list[Step] = []
    if replaced:
        steps.extend(_replace_steps(diff, replaced, settings, token))
    elif created or any(c.action == "update" for c in diff.changes):
        gate = _gate(created, settings)
        if gate:
            steps.append(gate)
        steps.append(Step("Commit and push; Flux applies the changes in place", _source(settings), kind="apply"))
    removed = sorted({c.ks for c in diff.changes if c.ks_removed}, key=lambda r: (r.namespace, r.name))
    if removed:
        steps.insert(0, _final_backup(diff, removed, f"{token}-final", settings.timeout))
    if deleted:
        steps.append(_deletion_step(deleted))
    return steps


def _final_backup(diff: Diff, removed: list[KsRef], token: str, timeout: str) -> Step:
    sources = [
        res
        for result in diff.base_model.results
        if result.ks.ref in removed
        for res in result.resources
        if res.group == VOLSYNC and res.kind == "ReplicationSource"
    ]
    commands = _trigger(sources, token) + tuple(
        f"kubectl -n {label(r.namespace)} wait --for=jsonpath='{{.status.lastManualSync}}'={token} "
        f"replicationsource/{subdomain(r.name)} --timeout={timeout}"
        for r in sources
    )
    names = ", ".join(str(r) for r in removed)
    return Step(
        f"Removed apps ({names}): run a final backup before merging",
        commands,
        (
            "Then either merge and let Flux delete what they applied (the data PVC's volume goes unless its PV is "
            "Retain; the restic data at rootPath stays), or suspend their Kustomizations first to keep everything: "
            + " ".join(f"`flux suspend kustomization {label(r.name)} -n {label(r.namespace)}`" for r in removed),
        ),
        kind="backup",
    )


def _replace_steps(diff: Diff, replaced: list[Change], settings: Settings, token: str) -> list[Step]:
    # Replacing a bound PV forces replacing its claim: pv-protection keeps the
    # PV while bound, and a claim whose PV disappears goes Lost.
    pv_names = {c.name for c in replaced if c.kind == "PersistentVolume"}
    claims = {
        (c.namespace, c.name)
        for c in diff.changes
        if c.kind == "PersistentVolumeClaim"
        and c.action in ("replace", "update")
        and (c.action == "replace" or str_at(c.head.node if c.head else None, "spec", "volumeName") in pv_names)
    }
    affected = [c for c in diff.changes if c.kind in ("PersistentVolume", "PersistentVolumeClaim") and (
        c.action == "replace" or (c.namespace, c.name) in claims)]  # fmt: skip
    kustomizations = sorted({c.ks for c in affected}, key=lambda r: (r.namespace, r.name))
    movers = _movers(diff, claims)
    workloads = _workloads(diff, claims)
    timeout = settings.timeout
    # A volume or claim already gone is no reason to stop (a rerun, a new app).
    preflight = [
        f"kubectl get pv {subdomain(c.name)} -o wide --ignore-not-found"
        for c in affected
        if c.kind == "PersistentVolume"
    ]
    preflight += [
        f"kubectl -n {label(c.namespace)} get pvc {subdomain(c.name)} -o wide --ignore-not-found"
        for c in affected
        if c.kind == "PersistentVolumeClaim"
    ]
    columns = "POD:.metadata.name,CLAIMS:.spec.volumes[*].persistentVolumeClaim.claimName"
    preflight += [
        f"kubectl -n {label(ns)} get pods -o 'custom-columns={columns}'" for ns in sorted({n for n, _ in claims})
    ]
    steps = [
        Step(
            "Preflight (read-only): check the volumes, and that only VolSync movers (pods named volsync-*) use "
            "these claims; stop other workloads first (suspend their Kustomization or HelmRelease, scale to 0)",
            tuple(preflight),
            kind="preflight",
        ),
        Step(
            "Suspend the Flux Kustomizations that render these objects, and stop the other workloads that mount them",
            _ks_commands("suspend", kustomizations) + _workload_commands(workloads, stop=True),
            kind="suspend",
        ),
        Step(
            "Delete the claims, then the volumes (Retain keeps the CephFS data)",
            _delete(affected, timeout),
            kind="delete",
            guard=tuple(sorted(claims)),
        ),
    ]
    released = _claim_ref_fixes(diff, affected)
    if released:
        steps.append(
            Step(
                "Free the kept PVs for their new claims: a Retained PV stays Released while its claimRef names the "
                "deleted claim",
                released,
                kind="claimref",
            )
        )
    restores = _restore_guards(diff, affected, f"{token}-before", timeout)
    if restores.commands:
        steps.insert(0, restores)
    if movers:
        pause = Step(
            "Pause the VolSync movers that mount these claims, and wait until their pods are gone "
            "(keep the VolSync operator running: pausing needs it)",
            _pause(movers, True, timeout),
            kind="pause",
        )
        after_suspend = next(i for i, step in enumerate(steps) if step.kind == "suspend") + 1
        steps.insert(after_suspend, pause)
    gate = _gate(affected, settings)
    if gate:
        steps.append(gate)
    steps.append(
        Step(
            "Commit and push; have the source fetch it, and confirm its revision is the pushed commit",
            _source(settings),
            kind="push",
        )
    )
    steps.append(
        Step(
            "Resume in reverse order, wait until every volume and claim is Bound, then unpause, run one backup, "
            "and remove its manual trigger so that the schedule applies again",
            _ks_commands("resume", reversed(kustomizations))
            + _bound(affected, timeout)
            + _pause(movers, False, timeout)
            + _trigger(movers, token)
            + _monitor(movers, token, timeout)
            + _workload_commands(workloads, stop=False),
            kind="resume",
        )
    )
    apps = sorted({c.app for c in affected})
    steps.append(
        Step(
            "Data safety",
            notes=(
                "Deleted: the Kubernetes PV and PVC objects only. Preserved: each app's restic data at its rootPath "
                f"({', '.join(apps)}), and remote (R2) repositories, which are untouched.",
                "VolSync reconnects to the existing repositories only where rootPath did not change.",
            ),
            kind="safety",
        )
    )
    return steps


def _claim_ref_fixes(diff: Diff, affected: list[Change]) -> tuple[str, ...]:
    """For claims replaced while their PV stays: clear the PV's stale binding.

    When git pre-binds the PV (``claimRef`` with name and namespace), only the
    ``uid`` and ``resourceVersion`` the PV controller wrote are removed, so the
    PV stays reserved for the new claim; otherwise the whole claimRef goes.
    """
    replaced_pvs = {c.name for c in affected if c.kind == "PersistentVolume"}
    volumes = {
        key[3]: res for key, (res, _) in tracked_objects(diff.head_model).items() if key[1] == "PersistentVolume"
    }
    commands: list[str] = []
    for c in affected:
        if c.kind != "PersistentVolumeClaim" or c.head is None:
            continue
        volume = str_at(c.head.node, "spec", "volumeName")
        if not volume or volume in replaced_pvs:
            continue
        pv = volumes.get(volume)
        if pv is not None and str_at(pv.node, "spec", "claimRef", "name") == c.name:
            ops = (
                '[{"op":"remove","path":"/spec/claimRef/uid"},{"op":"remove","path":"/spec/claimRef/resourceVersion"}]'
            )
        else:
            ops = '[{"op":"remove","path":"/spec/claimRef"}]'
        commands.append(f"kubectl patch pv {subdomain(volume)} --type json -p '{ops}'")
    return tuple(commands)


def _restore_guards(diff: Diff, affected: list[Change], token: str, timeout: str) -> Step:
    """A data PVC populated from a ReplicationDestination (``dataSourceRef``) restores
    the destination's last image when recreated, which may be weeks old: back up
    first, and refresh the destination's image before the claim goes."""
    commands: list[str] = []
    notes: list[str] = []
    for c in affected:
        if c.kind != "PersistentVolumeClaim" or c.base is None:
            continue
        if str_at(c.base.node, "spec", "dataSourceRef", "kind") != "ReplicationDestination":
            continue
        destination = str_at(c.base.node, "spec", "dataSourceRef", "name") or ""
        ns = label(c.namespace)
        sources = [r for r in _app_resources(diff, c.ks) if r.kind == "ReplicationSource"
                   and str_at(r.node, "spec", "sourcePVC") == c.name]  # fmt: skip
        for source in sources:
            commands.append(
                f"kubectl -n {ns} patch replicationsource {subdomain(source.name)} --type merge "
                f'-p \'{{"spec":{{"trigger":{{"manual":"{token}"}}}}}}\''
            )
            commands.append(
                f"kubectl -n {ns} wait --for=jsonpath='{{.status.lastManualSync}}'={token} "
                f"replicationsource/{subdomain(source.name)} --timeout={timeout}"
            )
            commands.extend(_untrigger([source]))
        commands.append(
            f"kubectl -n {ns} patch replicationdestination {subdomain(destination)} --type merge "
            f'-p \'{{"spec":{{"trigger":{{"manual":"{token}"}}}}}}\''
        )
        commands.append(
            f"kubectl -n {ns} wait --for=jsonpath='{{.status.lastManualSync}}'={token} "
            f"replicationdestination/{subdomain(destination)} --timeout={timeout}"
        )
        notes.append(
            f"{c.namespace}/{c.name} is restored from ReplicationDestination {destination} when recreated; suspend "
            "and scale the app down before its claim is deleted."
        )
    return Step(
        "Data PVCs restored from a ReplicationDestination: take a fresh backup and refresh the destination's image "
        "before the claim is recreated",
        tuple(commands),
        tuple(notes),
        kind="backup",
    )


def _app_resources(diff: Diff, ref: KsRef) -> list[Resource]:
    return [r for result in diff.base_model.results if result.ks.ref == ref for r in result.resources]


def _deletion_step(deleted: list[Change]) -> Step:
    notes = []
    for c in deleted:
        where = f"{c.namespace}/" if c.namespace else ""
        what = "Flux deletes it" if c.prune else "Flux leaves it in the cluster (prune is off)"
        notes.append(f"{c.kind} {where}{c.name} ({c.app}): {what}.")
    retain = '--type merge -p \'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}\''
    volume = "-o jsonpath='{.spec.volumeName}'"
    commands = tuple(
        f'kubectl patch pv "$(kubectl -n {label(c.namespace)} get pvc {subdomain(c.name)} {volume})" {retain}'
        for c in deleted
        if c.kind == "PersistentVolumeClaim" and c.prune
    )
    return Step(
        "Deletions: rescue data volumes before merging (patch their PVs to Retain)",
        commands,
        tuple(notes),
        kind="rescue",
    )


SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")


def _validate(diff: Diff) -> None:
    """Refuse the whole plan when a name it would print is not a Kubernetes name."""
    for c in diff.changes:
        label(c.app)
        label(c.ks.name)
        label(c.ks.namespace)
        subdomain(c.name)
        if c.namespace:
            label(c.namespace)
        for res in (c.base, c.head):
            root = _attr(res, "rootPath")
            if root is not None and not SAFE_PATH.match(root):
                raise UnsafeName(root)


def plan(diff: Diff, *, base: str, head: str, settings: Settings | None = None) -> Plan:
    """Build the plan; raises UnsafeName for a name that must not be emitted."""
    _validate(diff)
    settings = settings or Settings()
    token = f"volsync-kit-{head[:12]}" if head else "volsync-kit"
    if not all(ch.isalnum() or ch in "-." for ch in token):
        raise UnsafeName(token)
    return Plan(base, head, diff, tuple(dangers(diff)), tuple(checklist(diff, settings, token)), settings)


def pinned(plan: Plan, context: str) -> Plan:
    """``plan`` with every kubectl and flux command pinned to one kubeconfig
    context (both take ``--context``), so that a script never acts on
    whichever cluster the shell happens to point at; raises UnsafeName."""
    flag = f"--context {kube_context(context)}"

    def pin(command: str) -> str:
        program, _, rest = command.partition(" ")
        return f"{program} {flag} {rest}" if program in ("kubectl", "flux") else command

    steps = tuple(Step(s.title, tuple(pin(c) for c in s.commands), s.notes, s.kind, s.guard) for s in plan.steps)
    return Plan(plan.base, plan.head, plan.diff, plan.dangers, steps, plan.settings, plan.scenario, context)
