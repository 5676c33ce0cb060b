"""A procedure as data: typed actions, each with its precondition and inverse.

The planner builds steps out of these actions; markdown prints their plain
commands for a person, the shell script calls one function per action (see
``report/plan_shell.py``), JSON lists them, and the tests run the script
against a stateful cluster simulation.

What makes a procedure safe to run on a production cluster lives here:

- a stopping action (suspend, pause, scale to 0) first remembers the live
  state, once per run, and its inverse (resume, unpause, scale back)
  restores exactly that: what was suspended before stays suspended;
- a deletion carries the *base* value of a field that forces the
  replacement, and deletes only while the live object still has it, so a
  rerun after the push never deletes what the head recreated;
- a manual trigger is unique per run and removed once its sync is seen.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from volsync_kit.core.model import pickled_by_fields
from volsync_kit.core.names import label, subdomain

Verb = Literal[
    "show",  # read-only: print the object
    "pods",  # read-only: the pods of a namespace and the claims they mount
    "pending",  # read-only: whether a deletion still has work to do (see delete)
    "suspend",  # flux suspend, unless suspended before
    "resume",  # flux resume, unless suspended before
    "pause",  # spec.paused: true on a mover
    "wait-movers",  # wait until a mover's pods are gone
    "unpause",  # spec.paused back to what it was
    "scale-down",  # a release's Deployments and StatefulSets to 0
    "scale-up",  # back to the replicas each had
    "sync",  # one manual sync, then the trigger back to what it was
    "guard",  # stop when a pod other than a mover still uses a claim
    "delete",  # delete while the live object still has the base value
    "wait-deleted",
    "wait-bound",
    "free",  # clear a Released PV's stale claimRef
    "retain",  # set the reclaim policy of a claim's volume to Retain
    "delete-stuck",  # delete a cache claim only if Pending with the Volume-ID event
    "wait-recreated",  # wait until VolSync recreated a claim it deleted
    "scale-to",  # an operator Deployment to N, remembering its replicas
    "scale-back",  # that Deployment back to what it had
    "gate",  # a question the operator answers
    "push",  # the operator pushes; the source fetches it
]

# kubectl's resource names for the kinds a procedure touches; fully
# qualified where a short name could be ambiguous with another CRD.
RESOURCE = {
    "PersistentVolume": "pv",
    "PersistentVolumeClaim": "pvc",
    "StorageClass": "storageclass",
    "ReplicationSource": "replicationsource",
    "ReplicationDestination": "replicationdestination",
    "Kustomization": "kustomization",
    "HelmRelease": "helmrelease",
    "Deployment": "deployment",
}
FLUX_RESOURCE = {
    "kustomization": "kustomizations.kustomize.toolkit.fluxcd.io",
    "helmrelease": "helmreleases.helm.toolkit.fluxcd.io",
}
SOURCE_RESOURCE = {
    "git": "gitrepositories.source.toolkit.fluxcd.io",
    "oci": "ocirepositories.source.toolkit.fluxcd.io",
    "bucket": "buckets.source.toolkit.fluxcd.io",
}


@pickled_by_fields
@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One object, by kubectl resource name (``pv``, ``pvc``, ``kustomization`` ...)."""

    resource: str
    name: str
    namespace: str = ""

    def __post_init__(self) -> None:
        # Every name that reaches a shell command is a Kubernetes name.
        _check_names(self.name, self.namespace)

    @property
    def ns(self) -> str:
        return f"-n {self.namespace} " if self.namespace else ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.resource} {where}{self.name}"


@functools.lru_cache(maxsize=1 << 16)
def _check_names(name: str, namespace: str) -> None:
    """Raises UnsafeName.  Kept for names that pass: a checklist of 2,000 apps
    makes 46,000 targets of 8,000 objects."""
    subdomain(name)
    if namespace:
        label(namespace)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Check:
    """A deletion's precondition: ``jsonpath`` of ``on`` (the object itself
    when None) still prints ``expected``, the base commit's value."""

    jsonpath: str
    expected: str
    on: Target | None = None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Action:
    verb: Verb
    target: Target | None = None
    check: Check | None = None
    owner: Target | None = None  # the Kustomization that applies the target
    value: str = ""  # verb-specific: a job name, a replica count, a timeout
    text: str = ""  # gate and push: what the operator confirms

    def commands(self, timeout: str) -> tuple[str, ...]:
        """The plain kubectl and flux commands a person would type for this action alone."""
        return _COMMANDS[self.verb][0]((self,), timeout)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"verb": self.verb}
        if self.target:
            out["target"] = _target_json(self.target)
        if self.check:
            out["precondition"] = {
                "jsonpath": self.check.jsonpath,
                "expected": self.check.expected,
                "of": _target_json(self.check.on) if self.check.on else None,
            }
        if self.owner:
            out["owner"] = _target_json(self.owner)
        if self.value:
            out["value"] = self.value
        if self.text:
            out["text"] = self.text
        return out


def _target_json(t: Target) -> dict[str, str | None]:
    return {"resource": t.resource, "name": t.name, "namespace": t.namespace or None}


def _t(a: Action) -> Target:
    assert a.target is not None, a.verb
    return a.target


# -- plain commands ------------------------------------------------------------------
#
# Consecutive actions of one verb are batched per namespace (and resource), so a
# plan over 35 apps prints one ``kubectl get pv a b c`` rather than 35 lines.
# kubectl get/delete/patch/wait take several objects (the resource builder
# visits each: kubectl/pkg/cmd/patch/patch.go, wait/wait.go), and so do
# ``flux suspend|resume kustomization a b`` (fluxcd/flux2#3746); kubectl wait
# too, through ResourceBuilderFlags.ToBuilder's ResourceTypeOrNameArgs
# (``kubectl wait --for=delete pvc a b``).

Batch = Sequence["Action"]
Render = Callable[[Batch, str], tuple[str, ...]]


def _ns(batch: Batch) -> str:
    return _t(batch[0]).ns


def _names(batch: Batch) -> str:
    return " ".join(_t(a).name for a in batch)


def _objects(batch: Batch) -> str:
    """``pvc a b`` for one resource, ``replicationsource/a replicationdestination/b`` for several."""
    resources = {_t(a).resource for a in batch}
    if len(resources) == 1:
        return f"{_t(batch[0]).resource} {_names(batch)}"
    return " ".join(f"{_t(a).resource}/{_t(a).name}" for a in batch)


def _selector(key: str, values: Sequence[str]) -> str:
    return f"{key}={values[0]}" if len(values) == 1 else f"'{key} in ({','.join(values)})'"


def _show(b: Batch, _: str) -> tuple[str, ...]:
    return (f"kubectl {_ns(b)}get {_objects(b)} -o wide --ignore-not-found",)


def _pods(b: Batch, _: str) -> tuple[str, ...]:
    columns = "POD:.metadata.name,CLAIMS:.spec.volumes[*].persistentVolumeClaim.claimName"
    return (f"kubectl -n {_t(b[0]).namespace} get pods -o 'custom-columns={columns}'",)


def _nothing(b: Batch, _: str) -> tuple[str, ...]:
    return ()


def _flux(verb: str) -> Render:
    def render(b: Batch, _: str) -> tuple[str, ...]:
        t = _t(b[0])
        return (f"flux {verb} {t.resource} {_names(b)} -n {t.namespace}",)

    return render


def _paused(value: str) -> Render:
    def render(b: Batch, _: str) -> tuple[str, ...]:
        return (f'kubectl {_ns(b)}patch {_objects(b)} --type merge -p \'{{"spec":{{"paused":{value}}}}}\'',)

    return render


def _wait_movers(b: Batch, timeout: str) -> tuple[str, ...]:
    jobs = _selector("job-name", [a.value for a in b])
    return (f"kubectl {_ns(b)}wait --for=delete pod -l {jobs} --timeout={timeout}",)


def _scale(replicas: str) -> Render:
    def render(b: Batch, _: str) -> tuple[str, ...]:
        selector = _selector("app.kubernetes.io/instance", [_t(a).name for a in b])
        return (f"kubectl {_ns(b)}scale deployment,statefulset -l {selector} --replicas={replicas}",)

    return render


def _sync(b: Batch, timeout: str, also: str = "") -> tuple[str, ...]:
    trigger = "volsync-kit-<unique>"
    return (
        f"kubectl {_ns(b)}patch {_objects(b)} --type merge "
        f"""-p '{{"spec":{{{also}"trigger":{{"manual":"{trigger}"}}}}}}'""",
        f"kubectl {_ns(b)}wait --for=jsonpath='{{.status.lastManualSync}}'={trigger} {_objects(b)} --timeout={timeout}",
        f"""kubectl {_ns(b)}patch {_objects(b)} --type merge -p '{{"spec":{{"trigger":{{"manual":null}}}}}}'""",
    )


def _unpause_and_sync(b: Batch, timeout: str) -> tuple[str, ...]:
    """One merge patch unpauses a source and sets its trigger: VolSync then syncs at once."""
    return _sync(b, timeout, also='"paused":false,')


def _delete(b: Batch, _: str) -> tuple[str, ...]:
    return (f"kubectl {_ns(b)}delete {_objects(b)} --ignore-not-found --wait=false",)


def _wait_deleted(b: Batch, timeout: str) -> tuple[str, ...]:
    return (f"kubectl {_ns(b)}wait --for=delete {_objects(b)} --timeout={timeout}",)


def _wait_bound(b: Batch, timeout: str) -> tuple[str, ...]:
    return (f"kubectl {_ns(b)}wait --for=jsonpath='{{.status.phase}}'=Bound {_objects(b)} --timeout={timeout}",)


def _free(b: Batch, _: str) -> tuple[str, ...]:
    ops = (
        '[{"op":"remove","path":"/spec/claimRef/uid"},{"op":"remove","path":"/spec/claimRef/resourceVersion"}]'
        if b[0].value == "keep-name"
        else '[{"op":"remove","path":"/spec/claimRef"}]'
    )
    return (f"kubectl patch pv {_names(b)} --type json -p '{ops}'",)


def _retain(b: Batch, _: str) -> tuple[str, ...]:
    retain = '--type merge -p \'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}\''
    return tuple(
        f"kubectl patch pv \"$(kubectl {_t(a).ns}get pvc {_t(a).name} -o jsonpath='{{.spec.volumeName}}')\" {retain}"
        for a in b
    )


def _delete_stuck(b: Batch, _: str) -> tuple[str, ...]:
    out: list[str] = []
    for a in b:
        t = _t(a)
        out += [
            f"kubectl {t.ns}get pvc {t.name} --ignore-not-found",
            f"kubectl {t.ns}get events --field-selector involvedObject.kind=PersistentVolumeClaim,"
            f"involvedObject.name={t.name}",
            f"kubectl {t.ns}delete pvc {t.name} --ignore-not-found --wait=false",
        ]
    return tuple(out)


def _wait_recreated(b: Batch, _: str) -> tuple[str, ...]:
    return (f"kubectl {_ns(b)}get pvc {_names(b)} --ignore-not-found",)


def _scale_to(b: Batch, _: str) -> tuple[str, ...]:
    t = _t(b[0])
    return (f"kubectl scale deployment {t.name} -n {t.namespace} --replicas={b[0].value}",)


def _scale_back(b: Batch, _: str) -> tuple[str, ...]:
    t = _t(b[0])
    return (f"kubectl scale deployment {t.name} -n {t.namespace} --replicas=<as before>",)


def _gate(b: Batch, _: str) -> tuple[str, ...]:
    return tuple(a.value for a in b if a.value)


def _push(b: Batch, _: str) -> tuple[str, ...]:
    t = _t(b[0])
    kind = b[0].value or "git"
    return (
        "git push",
        f"flux reconcile source {kind} {t.name} -n {t.namespace}",
        f"flux get sources {kind} {t.name} -n {t.namespace}",
    )


# verb -> (render, batched): a batched verb renders one command for each run of
# actions that share a namespace, a resource and a value.
_COMMANDS: dict[str, tuple[Render, bool]] = {
    "show": (_show, True),
    "pods": (_pods, False),
    "pending": (_nothing, False),
    "suspend": (_flux("suspend"), True),
    "resume": (_flux("resume"), True),
    "pause": (_paused("true"), True),
    "unpause": (_paused("false"), True),
    "wait-movers": (_wait_movers, True),
    "scale-down": (_scale("0"), True),
    "scale-up": (_scale("<as before>"), True),
    "sync": (_sync, True),
    "guard": (_nothing, False),
    "delete": (_delete, True),
    "wait-deleted": (_wait_deleted, True),
    "wait-bound": (_wait_bound, True),
    "free": (_free, True),
    "retain": (_retain, False),
    "delete-stuck": (_delete_stuck, False),
    "wait-recreated": (_wait_recreated, True),
    "scale-to": (_scale_to, False),
    "scale-back": (_scale_back, False),
    "gate": (_gate, False),
    "push": (_push, False),
}

# A mover wait selects pods by job name, whatever the mover's kind; every other
# batch names one TYPE (``patch replicationsource a b``), the shortest to read.
_MIXED = frozenset({"wait-movers"})


def _batch_key(a: Action) -> tuple[str, ...]:
    t = a.target
    if t is None:
        return (a.verb, a.value, a.text)
    return (a.verb, t.namespace, "" if a.verb in _MIXED else t.resource, a.value if a.verb == "free" else "")


def batches(actions: Sequence[Action]) -> list[tuple[Action, ...]]:
    """Runs of one verb, split per namespace (and resource), in first-seen order.

    Only consecutive actions merge, so the order between verbs (delete the
    claims, wait, then the volumes) is kept exactly.
    """
    out: list[tuple[Action, ...]] = []
    run: dict[tuple[str, ...], list[Action]] = {}
    for a in actions:
        batched = _COMMANDS[a.verb][1]
        if run and (not batched or next(iter(run))[0] != a.verb):
            out.extend(tuple(group) for group in run.values())
            run = {}
        if not batched:
            out.append((a,))
            continue
        run.setdefault(_batch_key(a), []).append(a)
    out.extend(tuple(group) for group in run.values())
    return out


def commands(actions: Sequence[Action], timeout: str) -> tuple[str, ...]:
    """The plain kubectl and flux commands a person would type, batched.

    A deletion that the step waits for is typed as one ``kubectl delete``
    that waits (its default ``--wait=true`` waits for the finalizers,
    ``--timeout`` bounds it), so a person reads each name once; the script
    keeps the two apart, since it checks each object before deleting it.
    """
    out: list[str] = []
    waited = {a.target for a in actions if a.verb == "wait-deleted"}
    waiting: set[Target | None] = set()
    # A claim is Bound only after its volume is: the PV controller's bind() sets
    # the volume's phase before the claim's (pkg/controller/volume/persistentvolume/
    # pv_controller.go), so a person waits for the claims alone; the script waits for both.
    named = {a.value for a in actions if a.verb == "wait-bound" and a.target and a.target.resource == "pvc"}
    # A source unpaused and then triggered in one step takes one patch for both.
    folded = {a.target for a in actions if a.verb == "sync"} & {a.target for a in actions if a.verb == "unpause"}
    for batch in batches(actions):
        verb = batch[0].verb
        if verb == "delete" and all(a.target in waited for a in batch):
            out.append(f"kubectl {_ns(batch)}delete {_objects(batch)} --ignore-not-found --timeout={timeout}")
            waiting.update(a.target for a in batch)
        elif (verb == "wait-deleted" and all(a.target in waiting for a in batch)) or (
            verb == "wait-bound" and _t(batch[0]).resource == "pv" and all(_t(a).name in named for a in batch)
        ):
            continue
        elif verb in ("unpause", "sync") and any(a.target in folded for a in batch):
            rest = tuple(a for a in batch if a.target not in folded)
            together = tuple(a for a in batch if a.target in folded)
            if rest:
                out.extend(_COMMANDS[verb][0](rest, timeout))
            if verb == "sync":
                out.extend(_unpause_and_sync(together, timeout))
        else:
            out.extend(_COMMANDS[verb][0](batch, timeout))
    return tuple(out)


@dataclass(frozen=True)
class Step:
    title: str
    commands: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    kind: str = ""  # preflight, suspend, pause, delete, gate, push, resume, safety, backup, rescue, apply
    actions: tuple[Action, ...] = ()  # empty for doctor's advice, which is text only


@dataclass(frozen=True)
class Settings:
    source_kind: str = "git"
    source_name: str = "flux-system"
    source_namespace: str = "flux-system"
    gate_command: str | None = None  # template with {rootPath}, {fsName}, {clusterID}, {app}
    timeout: str = "10m"

    def step(self, title: str, actions: Sequence[Action], notes: Sequence[str] = (), *, kind: str) -> Step:
        return Step(title, commands(actions, self.timeout), tuple(notes), kind, tuple(actions))
