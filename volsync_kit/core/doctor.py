"""Diagnose a live cluster's VolSync volumes against the repository.

The guide's Troubleshooting section is a list of symptoms operators match by
hand against ``kubectl`` output; each diagnosis here matches one of them in
the objects ``kubectl get -o json`` returns (events included), quotes the
evidence, and hands back the procedure that fixes it, built with the same
checklist machinery as ``plan``.  The cluster comes in as plain data; this
module reads nothing itself.

Event texts come from ceph-csi (``internal/cephfs/store/volumeoptions.go``,
see domain-facts 1.3) and the guide; VolSync's status fields from
``api/v1alpha1`` (``lastSyncTime``, ``conditions``, ``latestMoverStatus``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from volsync_kit.core.diff import Change, Diff, FieldChange, diff, tracked_objects
from volsync_kit.core.facts import MOVER_SPECS, WITH_REPOSITORY
from volsync_kit.core.flux import KsResult, RepoModel
from volsync_kit.core.model import KsRef, Map, Plain, Resource, Scalar, from_plain, map_at, to_plain
from volsync_kit.core.names import JOB_PREFIXES, is_label_value, is_subdomain, label, mover_job, subdomain
from volsync_kit.core.planner import Settings, Step, plan

Obj = Mapping[str, Any]

# ceph-csi: "an operation with the given Volume ID %s already exists" (the guide
# quotes it without the ID).
VOLUME_ID_EXISTS = re.compile(r"an operation with the given Volume ID (?:\S+ )?already exists")
MOUNT_ENOENT = "mount error 2 = No such file or directory"
NO_MONITORS = "missing required field monitors"
NO_FS_NAME = "missing required field fsName"
RESTIC_LOCKED = ("repository is already locked", "unable to create lock in backend")
REPO_VOLUME = re.compile(r"^volsync-.+-repo-pv$")
REMOVE_CLAIM_REF = '[{"op":"remove","path":"/spec/claimRef"}]'

DATA_SAFETY = (
    "Deleting the PersistentVolume object does not delete the restic data at its rootPath on CephFS "
    "(static volumes are never deleted by ceph-csi; keep persistentVolumeReclaimPolicy: Retain)."
)


Ident = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name


@dataclass(frozen=True)
class FieldDrift:
    """One field the cluster holds with another value than git renders: kept
    structured so that the tree can show both values on the object's node."""

    ident: Ident
    path: str
    live: Plain
    git: Plain


@dataclass(frozen=True)
class Diagnosis:
    """One problem found, with what shows it and what fixes it."""

    id: str  # stable: D101...
    code: str  # stable, readable: stuck-claim...
    title: str
    objects: tuple[str, ...]  # "kind namespace/name"
    evidence: tuple[str, ...]
    steps: tuple[Step, ...] = ()
    notes: tuple[str, ...] = ()
    drifts: tuple[FieldDrift, ...] = ()  # D401 only: the fields, live against git


def object_ident(ref: str) -> Ident:
    """The (kind, namespace, name) of one of ``Diagnosis.objects`` ("kind namespace/name",
    or "kind name" when cluster-scoped); names hold neither spaces nor slashes."""
    kind, _, where = ref.partition(" ")
    namespace, _, name = where.rpartition("/")
    return (kind, namespace, name)


def by_object(diagnoses: Iterable[Diagnosis]) -> dict[Ident, tuple[Diagnosis, ...]]:
    """The diagnoses that name each object, in report order."""
    out: dict[Ident, tuple[Diagnosis, ...]] = {}
    for d in diagnoses:
        for ident in dict.fromkeys(object_ident(o) for o in d.objects):
            out[ident] = (*out.get(ident, ()), d)
    return out


@dataclass(frozen=True)
class Report:
    diagnoses: tuple[Diagnosis, ...]
    checked: Mapping[str, int] = field(default_factory=dict)  # kind -> objects looked at
    now: str = ""
    notes: tuple[str, ...] = ()  # what could not be judged, and why

    @property
    def healthy(self) -> bool:
        return not self.diagnoses


# -- reading the cluster's objects -------------------------------------------------------


def _kind(obj: Obj) -> str:
    return str(obj.get("kind") or "")


def _meta(obj: Obj, key: str) -> str:
    meta = obj.get("metadata")
    return str(meta.get(key) or "") if isinstance(meta, Mapping) else ""


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _ref(obj: Obj) -> str:
    ns = _meta(obj, "namespace")
    return f"{_kind(obj)} {ns + '/' if ns else ''}{_meta(obj, 'name')}"


def _events_for(events: Iterable[Obj], kind: str, namespace: str, name: str) -> list[Obj]:
    out = []
    for event in events:
        involved = event.get("involvedObject") or {}
        if (
            involved.get("kind") == kind
            and involved.get("name") == name
            and (involved.get("namespace") or "") == namespace
        ):
            out.append(event)
    return out


def _quote(event: Obj) -> str:
    reason = event.get("reason") or ""
    count = event.get("count")
    times = f" (x{count})" if isinstance(count, int) and count > 1 else ""
    return f"{_ref_of_event(event)}: {reason}: {event.get('message', '').strip()}{times}"


def _ref_of_event(event: Obj) -> str:
    involved = event.get("involvedObject") or {}
    ns = involved.get("namespace") or ""
    return f"{involved.get('kind', '')} {ns + '/' if ns else ''}{involved.get('name', '')}"


def parse_time(text: str) -> datetime.datetime | None:
    try:
        value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


# -- the diagnoses --------------------------------------------------------------------------


def stuck_claims(claims: list[Obj], events: list[Obj]) -> list[Diagnosis]:
    """D101: cache or snapshot claims Pending on an orphaned provisioning operation."""
    out = []
    for pvc in claims:
        if _get(pvc, "status", "phase") != "Pending":
            continue
        ns, name = _meta(pvc, "namespace"), _meta(pvc, "name")
        stuck = [
            e
            for e in _events_for(events, "PersistentVolumeClaim", ns, name)
            if VOLUME_ID_EXISTS.search(str(e.get("message")))
        ]
        if not stuck:
            continue
        pvc_ns, pvc_name = label(ns), subdomain(name)
        steps = (
            Step(
                "Check that the claim is still Pending, and that its owner (a ReplicationSource or "
                "ReplicationDestination) will recreate it",
                (f"kubectl -n {pvc_ns} get pvc {pvc_name} -o wide",),
                kind="preflight",
            ),
            Step(
                "Guide, Scenario 2: delete the stuck claim; VolSync recreates it with a fresh UID",
                (f"kubectl -n {pvc_ns} delete pvc {pvc_name} --ignore-not-found --wait=false",),
                kind="delete",
            ),
            Step(
                "Wait until the recreated claim is Bound",
                (f"kubectl -n {pvc_ns} wait --for=jsonpath='{{.status.phase}}'=Bound pvc/{pvc_name} --timeout=10m",),
                kind="resume",
            ),
        )
        out.append(
            Diagnosis(
                "D101",
                "stuck-claim",
                f"claim {ns}/{name} is stuck Pending: an operation with its Volume ID already exists",
                (_ref(pvc),),
                tuple(_quote(e) for e in stuck),
                steps,
            )
        )
    return out


MOUNT_CAUSES = (
    (
        MOUNT_ENOENT,
        "D201",
        "mount-root-path",
        "rootPath {root} of {pv} does not exist on CephFS",
        "Check the path on CephFS (for example `ls /mnt/cephfs{root}` on a host that mounts the file system), "
        "create it or correct rootPath in the repository's template; a corrected rootPath is a replacement: "
        "run `volsync-kit plan` for its procedure.",
    ),
    (
        NO_MONITORS,
        "D202",
        "mount-static-volume",
        '{pv} is not mounted as a static volume (volumeAttributes.staticVolume is missing or not "true")',
        'Set staticVolume: "true" in the PersistentVolume template; the PV source is immutable, so run '
        "`volsync-kit plan` for the replacement procedure.",
    ),
    (
        NO_FS_NAME,
        "D203",
        "mount-fs-name",
        "{pv} has no fsName, which ceph-csi 3.16 and later require",
        "Add volumeAttributes.fsName (the CephFS file system name) to the template; then `volsync-kit plan`.",
    ),
)
VOLUME_IN_EVENT = re.compile(r'for volume "([^"]+)"')


def mount_failures(volumes: dict[str, Obj], events: list[Obj]) -> list[Diagnosis]:
    """D201-D203: mount errors on repository volumes, by the ceph-csi message they carry."""
    found: dict[tuple[str, str], list[Obj]] = {}
    for event in events:
        message = str(event.get("message") or "")
        match = VOLUME_IN_EVENT.search(message)
        if not match or match.group(1) not in volumes:
            continue
        for needle, *_ in MOUNT_CAUSES:
            if needle in message:
                found.setdefault((needle, match.group(1)), []).append(event)
    out = []
    for (needle, pv_name), evidence in sorted(found.items()):
        _, ident, code, title, note = next(c for c in MOUNT_CAUSES if c[0] == needle)
        pv = volumes[pv_name]
        root = str(_get(pv, "spec", "csi", "volumeAttributes", "rootPath") or "?")
        out.append(
            Diagnosis(
                ident,
                code,
                title.format(pv=f"PersistentVolume {pv_name}", root=root),
                (_ref(pv), *sorted({_ref_of_event(e) for e in evidence})),
                tuple(_quote(e) for e in evidence),
                (
                    Step(
                        "Look at the volume as the cluster has it",
                        (f"kubectl get pv {subdomain(pv_name)} -o yaml",),
                        kind="preflight",
                    ),
                ),
                (note.format(root=root),),
            )
        )
    return out


def released_volumes(volumes: dict[str, Obj], rendered: set[str]) -> list[Diagnosis]:
    """D301 (Released or Failed) and D302 (no app renders the volume any more)."""
    out = []
    for name, pv in sorted(volumes.items()):
        phase = str(_get(pv, "status", "phase") or "")
        root = str(_get(pv, "spec", "csi", "volumeAttributes", "rootPath") or "?")
        pv_name = subdomain(name)
        if name not in rendered:
            out.append(
                Diagnosis(
                    "D302",
                    "orphan-volume",
                    f"PersistentVolume {name} ({phase or 'no phase'}, rootPath {root}) is rendered by no app",
                    (_ref(pv),),
                    (f"{_ref(pv)}: phase {phase or '-'}; claimRef {_claim(pv)}; rootPath {root}",),
                    (
                        Step("Check that no claim uses it", (f"kubectl get pv {pv_name} -o wide",), kind="preflight"),
                        Step(
                            "Delete the volume object (the restic data at its rootPath stays on CephFS)",
                            (f"kubectl delete pv {pv_name} --wait=false",),
                            kind="delete",
                        ),
                    ),
                    (DATA_SAFETY, f"Its data stays at {root}; remove it on CephFS yourself if it is no longer wanted."),
                )
            )
        elif phase in ("Released", "Failed"):
            out.append(
                Diagnosis(
                    "D301",
                    "volume-released",
                    f"PersistentVolume {name} is {phase}: its claim is gone, so no claim can bind it",
                    (_ref(pv),),
                    (f"{_ref(pv)}: phase {phase}; claimRef {_claim(pv)}; rootPath {root}",),
                    (
                        Step(
                            "Let the app's claim bind it again: remove the stale claimRef",
                            (f"kubectl patch pv {pv_name} --type json -p '{REMOVE_CLAIM_REF}'",),
                            kind="apply",
                        ),
                        Step(
                            "Wait until it is Bound",
                            (f"kubectl wait --for=jsonpath='{{.status.phase}}'=Bound pv/{pv_name} --timeout=10m",),
                            kind="resume",
                        ),
                    ),
                    (DATA_SAFETY,),
                )
            )
    return out


def _claim(pv: Obj) -> str:
    ref = _get(pv, "spec", "claimRef")
    if not isinstance(ref, Mapping):
        return "none"
    return f"{ref.get('namespace', '')}/{ref.get('name', '')}"


def _prune_to(live: Any, wanted: Any) -> Any:
    """``live`` restricted to the fields the repository sets: what the API
    server fills in (status, defaults, claimRef) is not drift."""
    if isinstance(live, Mapping) and isinstance(wanted, Mapping):
        return {k: _prune_to(live[k], v) for k, v in wanted.items() if k in live}
    return live


def drift(
    live: dict[tuple[str, str, str], Obj], model: RepoModel, settings: Settings, kustomizations: list[Obj]
) -> list[Diagnosis]:
    """D401: live volume objects whose fields differ from what git renders, classified by plan."""
    results: list[KsResult] = []
    for result in model.results:
        if result.status != "rendered":
            continue
        kept: list[Resource] = []
        for res in result.resources:
            obj = live.get((res.kind, res.namespace, res.name))
            if obj is None:
                continue
            pruned = _prune_to(obj, to_plain(res.node))
            node = from_plain(pruned)
            if isinstance(node, Map):
                kept.append(Resource(node, None, res.name, res.namespace))
        results.append(KsResult(result.ks, "rendered", tuple(kept), result.variables, (), result.parent, result.files))
    cluster = RepoModel(model.entries, tuple(results), (), ())
    found = diff(cluster, model)
    changed = tuple(c for c in found.changes if c.action in ("update", "replace"))
    if not changed:
        return []
    scoped = Diff(changed, (), cluster, model)
    checklist = plan(scoped, base="cluster", head="repository", settings=settings)
    evidence = tuple(_field_evidence(c, f) for c in changed for f in c.fields)
    evidence += _failing_kustomizations(kustomizations, {(c.ks.namespace, c.ks.name) for c in changed})
    replaced = [c for c in changed if c.action == "replace"]
    title = f"{len(changed)} volume object(s) differ from the repository" + (
        f"; {len(replaced)} need a replacement (the API server refuses the change)" if replaced else ""
    )
    return [
        Diagnosis(
            "D401",
            "drift",
            title,
            tuple(f"{c.kind} {c.namespace + '/' if c.namespace else ''}{c.name}" for c in changed),
            evidence,
            # The repository already says what the cluster should hold: nothing to push.
            tuple(step for step in checklist.steps if step.kind != "push"),
            tuple(d.message for d in checklist.dangers),
            tuple(
                FieldDrift((c.kind, c.namespace, c.name), f.path, f.before, f.after)
                for c in changed
                for f in c.fields
                if f.before != f.after  # the rest are replaced along with their volume, not drifted
            ),
        )
    ]


def _failing_kustomizations(kustomizations: list[Obj], refs: set[tuple[str, str]]) -> tuple[str, ...]:
    """The Ready=False message of the Flux Kustomizations that own drifted objects
    (``... is immutable after creation`` when Flux cannot apply the change)."""
    out = []
    for ks in kustomizations:
        if (_meta(ks, "namespace"), _meta(ks, "name")) not in refs:
            continue
        for condition in _get(ks, "status", "conditions") or []:
            failed = isinstance(condition, Mapping) and condition.get("type") == "Ready"
            if failed and condition.get("status") == "False":
                out.append(f"{_ref(ks)}: Ready=False {condition.get('reason', '')}: {condition.get('message', '')}")
    return tuple(out)


def _field_evidence(change: Change, field_change: FieldChange) -> str:
    where = f"{change.kind} {change.namespace + '/' if change.namespace else ''}{change.name}: {field_change.path}"
    if field_change.before == field_change.after:  # replaced along with the volume it binds
        return f"{where}: {field_change.reason or 'replaced with the volume it binds'}"
    immutable = " (immutable: needs a replacement)" if field_change.forces_replacement else ""
    return f"{where}: cluster {field_change.before!r}, repository {field_change.after!r}{immutable}"


# VolSync's cron schedules: the period of the common forms, to tell a late sync.
_EVERY_MINUTES = re.compile(r"^\*/(\d+) \* \* \* \*$")
_HOURLY = re.compile(r"^\d+ \* \* \* \*$")
_EVERY_HOURS = re.compile(r"^\d+ \*/(\d+) \* \* \*$")
_DAILY = re.compile(r"^\d+ \d+ \* \* \*$")
_WEEKLY = re.compile(r"^\d+ \d+ \* \* \d+$")


def schedule_period(schedule: str) -> datetime.timedelta | None:
    text = " ".join(schedule.split())
    if m := _EVERY_MINUTES.match(text):
        return datetime.timedelta(minutes=int(m.group(1)))
    if _HOURLY.match(text):
        return datetime.timedelta(hours=1)
    if m := _EVERY_HOURS.match(text):
        return datetime.timedelta(hours=int(m.group(1)))
    if _DAILY.match(text):
        return datetime.timedelta(days=1)
    if _WEEKLY.match(text):
        return datetime.timedelta(days=7)
    return None


def replication(sources: list[Obj], now: datetime.datetime) -> list[Diagnosis]:
    """D501 failing, D502 late, D503 locked restic repository."""
    out = []
    for rs in sources:
        ns, name = _meta(rs, "namespace"), _meta(rs, "name")
        rs_ns, rs_name = label(ns), subdomain(name)
        status = _get(rs, "status", "latestMoverStatus") or {}
        logs = str(status.get("logs") or "") if isinstance(status, Mapping) else ""
        result = status.get("result") if isinstance(status, Mapping) else None
        failed = [
            c
            for c in (_get(rs, "status", "conditions") or [])
            if isinstance(c, Mapping) and c.get("type") == "Synchronizing" and c.get("reason") == "Error"
        ]
        mover = _mover(rs)
        if mover in ("", "restic") and any(needle in logs for needle in RESTIC_LOCKED):
            stamp = now.strftime("%Y%m%dT%H%M%SZ")
            patch = '{"spec":{"restic":{"unlock":"' + stamp + '"}}}'
            out.append(
                Diagnosis(
                    "D503",
                    "restic-locked",
                    f"ReplicationSource {ns}/{name}: its restic repository is locked by an earlier mover",
                    (_ref(rs),),
                    tuple(line for line in logs.splitlines() if any(n in line for n in RESTIC_LOCKED))[:3],
                    (
                        Step(
                            "Make sure no other mover uses the repository, then ask VolSync to unlock it once "
                            "(a new value of spec.restic.unlock runs restic unlock before the next backup)",
                            (f"kubectl -n {rs_ns} patch replicationsource {rs_name} --type merge -p '{patch}'",),
                            kind="apply",
                        ),
                    ),
                )
            )
        elif result == "Failed" or failed:
            evidence = [
                f"{_ref(rs)}: condition {c.get('type')}={c.get('status')} {c.get('reason')}: {c.get('message', '')}"
                for c in failed
            ]
            if result == "Failed":
                evidence.append(f"{_ref(rs)}: latestMoverStatus.result Failed")
                evidence.extend(line for line in logs.splitlines()[-3:] if line.strip())
            out.append(
                Diagnosis(
                    "D501",
                    "sync-failing",
                    f"ReplicationSource {ns}/{name} fails to {'sync' if _replicates(mover) else 'back up'}",
                    (_ref(rs),),
                    tuple(evidence),
                    (
                        Step(
                            "Read the mover's logs and the object's status",
                            (f"kubectl -n {rs_ns} describe replicationsource {rs_name}", *_logs(rs_ns, name, mover)),
                            kind="preflight",
                        ),
                    ),
                )
            )
        late = _late(rs, now)
        if late is not None:
            out.append(
                Diagnosis(
                    "D502",
                    "sync-late",
                    f"ReplicationSource {ns}/{name} has not synced within its schedule",
                    (_ref(rs),),
                    (late,),
                    (
                        Step(
                            "Check whether it is paused, and what it waits for",
                            (f"kubectl -n {rs_ns} get replicationsource {rs_name} -o yaml",),
                            kind="preflight",
                        ),
                    ),
                )
            )
    return out


def _mover(rs: Obj) -> str:
    """The mover a live object's spec sets, as VolSync picks it (facts.MOVER_SPECS); "" for none."""
    spec = rs.get("spec")
    if not isinstance(spec, Mapping):
        return ""
    return next((m for m in MOVER_SPECS if isinstance(spec.get(m), Mapping)), "")


def _replicates(mover: str) -> bool:
    """rclone, rsync, rsyncTLS and syncthing copy data elsewhere; restic and kopia back it up."""
    return mover not in ("", *WITH_REPOSITORY)


def _logs(ns: str, name: str, mover: str) -> tuple[str, ...]:
    """Where a source's mover logs: its Job (each mover's name: names.JOB_PREFIXES), or
    syncthing's Deployment ``volsync-<name>`` (backube/volsync
    internal/controller/mover/syncthing/mover.go); an external mover's are not VolSync's."""
    if mover == "syncthing":
        return (f"kubectl -n {ns} logs deployment/{subdomain('volsync-' + name)} --tail=50",)
    if mover == "external":
        return ()
    job = mover_job("src", name, mover if mover in JOB_PREFIXES else "restic")
    return (f"kubectl -n {ns} logs job/{subdomain(job)} --tail=50",)


def _late(rs: Obj, now: datetime.datetime) -> str | None:
    schedule = _get(rs, "spec", "trigger", "schedule")
    if not isinstance(schedule, str) or _get(rs, "spec", "paused") is True:
        return None
    period = schedule_period(schedule)
    last = parse_time(str(_get(rs, "status", "lastSyncTime") or ""))
    if period is None or last is None:
        return None
    # One missed run can be a slow backup; two are a problem.
    if now - last <= 2 * period:
        return None
    age = now - last
    return (
        f"{_ref(rs)}: schedule {schedule!r} (every {_span(period)}); last sync {last:%Y-%m-%d %H:%M} UTC, "
        f"{_span(age)} before {now:%Y-%m-%d %H:%M} UTC"
    )


def _span(delta: datetime.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if hours < 48 else f"{hours // 24} d"


# -- everything -------------------------------------------------------------------------------


def _applies(res: Resource) -> bool:
    """Whether the API server accepts the object's name and label values; one it
    refuses fails its whole Kustomization in Flux (nothing applied, nothing pruned)."""
    if not is_subdomain(res.name):
        return False
    labels = map_at(res.node, "metadata", "labels")
    return all(
        isinstance(v, Scalar) and is_label_value("" if v.value is None else str(v.value))
        for v in (labels.items.values() if labels else ())
    )


def unapplied(model: RepoModel) -> list[KsRef]:
    """Flux Kustomizations that fail to build, or whose objects the API server refuses:
    what they would apply is unknown, so no live volume can be called an orphan."""
    failed = [r.ks.ref for r in model.results if r.status == "failed"]
    refused = {owner.ks.ref for res, owner in tracked_objects(model).values() if not _applies(res)}
    return failed + sorted(refused - set(failed), key=str)


def diagnose(
    objects: Iterable[Obj],
    model: RepoModel | None,
    now: datetime.datetime,
    settings: Settings,
    read: Iterable[str] = (),
) -> Report:
    """Every diagnosis; without a model (no repository), the cluster-only ones.

    ``read`` names the kinds that were read even if none came back (kubectl's
    answers); ``checked`` lists them with a count of 0, so that an absent
    object of a kind that was read can be called missing, and only then."""
    by_kind: dict[str, list[Obj]] = {}
    for obj in objects:
        if isinstance(obj, Mapping):
            by_kind.setdefault(_kind(obj), []).append(obj)
    volumes = {
        _meta(pv, "name"): pv
        for pv in by_kind.get("PersistentVolume", [])
        if REPO_VOLUME.match(_meta(pv, "name")) or _get(pv, "spec", "csi", "volumeAttributes", "staticVolume") == "true"
    }
    events = by_kind.get("Event", [])
    found = [
        *stuck_claims(by_kind.get("PersistentVolumeClaim", []), events),
        *mount_failures(volumes, events),
        *replication(by_kind.get("ReplicationSource", []), now),
    ]
    notes: list[str] = []
    if model is not None:
        rendered = {key[3] for key in tracked_objects(model) if key[1] == "PersistentVolume"}
        unknown = unapplied(model)
        if unknown:
            shown = ", ".join(map(str, unknown[:3])) + (", ..." if len(unknown) > 3 else "")
            notes.append(
                f"{len(unknown)} Flux Kustomization(s) fail to render or to apply ({shown}; "
                "see volsync-kit render): orphans are not checked"
            )
            rendered = set(volumes)
        found.extend(released_volumes(volumes, rendered))
        live = {
            (_kind(o), _meta(o, "namespace"), _meta(o, "name")): o
            for kind in ("PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination")
            for o in by_kind.get(kind, [])
        }
        found.extend(drift(live, model, settings, by_kind.get("Kustomization", [])))
    else:
        found.extend(released_volumes(volumes, set(volumes)))  # no repository: Released only
    found.sort(key=lambda d: (d.id, d.objects))
    checked = {kind: len(by_kind.get(kind, [])) for kind in sorted({*by_kind, *read})}
    return Report(tuple(found), checked, f"{now:%Y-%m-%dT%H:%M:%SZ}", tuple(notes))
