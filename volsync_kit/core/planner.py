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

import dataclasses
import re
from dataclasses import dataclass, field

from volsync_kit.core.checklist import checklist, unstoppable
from volsync_kit.core.diff import Change, Diff, tracked_objects
from volsync_kit.core.flux import RepoModel
from volsync_kit.core.model import Map, Resource, Scalar, loc_of, node_at, pickled_by_fields, str_at
from volsync_kit.core.names import UnsafeName, is_label, kube_context, label, subdomain
from volsync_kit.core.procedure import Settings, Step
from volsync_kit.core.volumes import (
    REPOSITORY_ATTRIBUTES,
    is_repository_volume,
    repository_moved,
    repository_tool,
    shared_by_kopia,
)
from volsync_kit.core.volumes import attr as _attr

__all__ = ["SEVERITY", "Danger", "Plan", "Settings", "Step", "dangers", "pinned", "plan", "reported"]

# Danger codes, most severe first: what can lose data, then what splits or
# strands a restic history, then what only blocks Flux or the procedure.
SEVERITY = (
    "pv-not-retained",  # the backing volume may be deleted with its PV
    "pvc-deleted",  # Flux prunes a claim: its volume goes unless Retain
    "shared-root-path",  # two apps write one restic repository
    "data-volume-moved",  # apps see another folder's files
    "repository-moved",  # restic starts a new, empty repository
    "cannot-apply",  # Flux fails until someone deletes the object
    "mover-not-paused",  # a mover that pausing does not stop keeps a claim from going
    "explicit-unsuspend",  # a parent resumes the Kustomization mid-cleanup
)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Danger:
    code: str
    message: str
    app: str | None = None
    object: str | None = None


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


def _secret_keys_changed(change: Change) -> list[str]:
    if change.kind not in ("Secret", "ExternalSecret") or change.action == "create":
        return []
    keys = ("RESTIC_REPOSITORY", "RESTIC_PASSWORD", "KOPIA_REPOSITORY", "KOPIA_PASSWORD")
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
                    "is deleted unless the PV's reclaim policy is Retain. The checklist sets it to Retain before "
                    "the push.",
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
            out.append(_moved(c, diff))
        for key in _secret_keys_changed(c):
            out.append(
                Danger(
                    "repository-moved",
                    f"{key} of {c.app} changes in {c.label}: {key.split('_')[0].lower()} starts a new repository "
                    "or cannot open the old.",
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
                    "applying it fails until the class is deleted and recreated (the checklist does it while that "
                    "Kustomization is suspended).",
                    c.app,
                    c.label,
                )
            )
    out.extend(_shared_root_paths(diff))
    out.extend(_unpaused(diff))
    out.extend(_explicit_unsuspend(diff))
    # Most severe first; the order within a code is the diff's (by app).
    return sorted(out, key=lambda d: SEVERITY.index(d.code) if d.code in SEVERITY else len(SEVERITY))


def _unpaused(diff: Diff) -> list[Danger]:
    return [
        Danger("mover-not-paused", _not_paused(res, claims), owner.app, f"{res.kind}/{res.name}")
        for owner, res, claims in unstoppable(diff)
    ]


def _not_paused(res: Resource, claims: tuple[str, ...]) -> str:
    what = f"{res.kind} {res.namespace}/{res.name}"
    named = ", ".join(claims)
    if res.kind == "KopiaMaintenance":
        # spec.suspend: "the CronJob will not create new Jobs, but existing Jobs will be
        # allowed to complete" (perfectra1n/volsync api/v1alpha1/kopiamaintenance_types.go).
        return (
            f"{what} mounts {named}, which this change deletes, and the checklist does not stop its maintenance "
            "Jobs: one that runs keeps the claim Terminating and the delete step times out. Set its spec.suspend "
            "to true in a commit before this one (running Jobs finish, none start), and back after."
        )
    return (
        f"{what} (syncthing) mounts {named}, which this change deletes, and pausing does not stop a syncthing "
        "mover: the claim stays Terminating and the checklist's delete step times out. Remove the "
        "ReplicationSource, or stop it mounting the claim, in a commit before this one."
    )


def _moved(c: Change, diff: Diff) -> Danger:
    # Say what moved: a rootPath, or the filesystem or Ceph cluster under the same path.
    moves = "; ".join(
        f"{a} {_attr(c.base, a) or '(unset)'} -> {_attr(c.head, a) or '(unset)'}"
        for a in REPOSITORY_ATTRIBUTES
        if _attr(c.base, a) != _attr(c.head, a)
    )
    if is_repository_volume(c, diff):
        tool = repository_tool(c, diff)
        return Danger(
            "repository-moved",
            f"The {tool} repository of {c.app} moves ({moves}): {_STARTS_EMPTY[tool]} at the new place if it holds "
            "none, and the history stays at the old one.",
            c.app,
            c.label,
        )
    return Danger(
        "data-volume-moved",
        f"The static data volume {c.name} of {c.app} moves ({moves}): the apps that mount it see what is at the "
        "new place (empty unless the files were copied there); the files at the old one stay.",
        c.app,
        c.label,
    )


# What each mover does with a repository place that holds none: restic's
# mover runs `restic init`; kopia's (perfectra1n/volsync mover-kopia/entry.sh,
# ensure_connected) creates a repository when it cannot connect.
_STARTS_EMPTY = {
    "restic": "restic silently initialises an empty repository",
    "kopia": "kopia's mover silently creates an empty repository",
}


def _non_string_attributes(res: Resource | None) -> list[str]:
    """volumeAttributes is map[string]string: a YAML boolean or number makes the PV invalid."""
    attrs = node_at(res.node, "spec", "csi", "volumeAttributes") if res else None
    if not isinstance(attrs, Map):
        return []
    return [
        key for key, value in attrs.items.items() if not (isinstance(value, Scalar) and isinstance(value.value, str))
    ]


def _shared_root_paths(diff: Diff) -> list[Danger]:
    seen: dict[tuple[str | None, str | None, str], list[tuple[str, str]]] = {}
    for (_, kind, _, _, _), (res, result) in tracked_objects(diff.head_model).items():
        root = _attr(res, "rootPath") if kind == "PersistentVolume" else None
        if root:
            seen.setdefault((_attr(res, "clusterID"), _attr(res, "fsName"), root), []).append((result.app, res.name))
    return [
        Danger("shared-root-path", f"Apps {', '.join(sorted({app for app, _ in held}))} end up on one rootPath {root}.")
        for (_, _, root), held in sorted(seen.items())
        if len({app for app, _ in held}) > 1 and not shared_by_kopia((name for _, name in held), diff)
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
                    result.app,
                )
            )
    return out


SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/-]*$")


def _validate(diff: Diff) -> None:
    """Refuse the whole plan when a name it would print is not a Kubernetes name,
    saying where the repository sets it."""
    for c in diff.changes:
        try:
            _validate_change(c)
        except UnsafeName as err:
            raise _located(err, c, diff) from None


def _validate_change(c: Change) -> None:
    label(c.app)
    label(c.ks.name)
    label(c.ks.namespace)
    subdomain(c.name)
    if c.namespace:
        label(c.namespace)
    if c.kind != "PersistentVolume":
        # Only a PV has spec.csi: reading a claim's rootPath opened its packed body
        # to find none (4,000 claims when every repository volume is replaced).
        return
    for res in (c.base, c.head):
        root = _attr(res, "rootPath")
        if root is not None and not SAFE_PATH.match(root):
            raise UnsafeName(root)


def _located(err: UnsafeName, c: Change, diff: Diff) -> UnsafeName:
    """The refusal with the place that sets the name: the app's ``APP`` when
    that is what is wrong, else the object's own field."""
    results = [r for m in (diff.head_model, diff.base_model) for r in m.results if r.ks.ref == c.ks]
    if c.app and c.app in err.name and not is_label(c.app) and results:
        ks = results[0].ks
        written = ks.spec_str("postBuild", "substitute", "APP")
        loc = ks.spec_loc("postBuild", "substitute", "APP")
        return UnsafeName(err.name, str(loc) if loc else c.ks.file, written if written != c.app else None)
    res = c.head or c.base
    field = ("spec", "csi", "volumeAttributes", "rootPath") if err.name.startswith("/") else ("metadata", "name")
    loc = loc_of(res.node, *field) if res else None
    return UnsafeName(err.name, str(loc) if loc else c.ks.file)


def plan(diff: Diff, *, base: str, head: str, settings: Settings | None = None) -> Plan:
    """Build the plan; raises UnsafeName for a name that must not be emitted."""
    _validate(diff)
    settings = settings or Settings()
    return Plan(base, head, diff, tuple(dangers(diff)), tuple(checklist(diff, settings)), settings)


def pinned(plan: Plan, context: str) -> Plan:
    """``plan`` with every kubectl and flux command pinned to one kubeconfig
    context (both take ``--context``), so that a script never acts on
    whichever cluster the shell happens to point at; raises UnsafeName."""
    flag = f"--context {kube_context(context)}"

    def pin(command: str) -> str:
        program, _, rest = command.partition(" ")
        return f"{program} {flag} {rest}" if program in ("kubectl", "flux") else command

    steps = tuple(Step(s.title, tuple(pin(c) for c in s.commands), s.notes, s.kind, s.actions) for s in plan.steps)
    return Plan(plan.base, plan.head, plan.diff, plan.dangers, steps, plan.settings, plan.scenario, context)


_NO_MODEL = RepoModel((), (), (), ())


def reported(plan: Plan) -> Plan:
    """``plan`` as its reports read it: without the two models and each
    change's objects, which only planning reads (the checklist and the
    dangers are made).  A plan's run record keeps this: for 2,000 replaced
    volumes, 5 MB read back in 0.3 s, against 9 MB in 2 s."""
    changes = tuple(dataclasses.replace(c, base=None, head=None) for c in plan.diff.changes)
    diff = Diff(changes, plan.diff.failures, _NO_MODEL, _NO_MODEL)
    return dataclasses.replace(plan, diff=diff)
