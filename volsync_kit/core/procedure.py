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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One object, by kubectl resource name (``pv``, ``pvc``, ``kustomization`` ...)."""

    resource: str
    name: str
    namespace: str = ""

    def __post_init__(self) -> None:
        # Every name that reaches a shell command is a Kubernetes name.
        subdomain(self.name)
        if self.namespace:
            label(self.namespace)

    @property
    def ns(self) -> str:
        return f"-n {self.namespace} " if self.namespace else ""

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.resource} {where}{self.name}"


@dataclass(frozen=True, slots=True)
class Check:
    """A deletion's precondition: ``jsonpath`` of ``on`` (the object itself
    when None) still prints ``expected``, the base commit's value."""

    jsonpath: str
    expected: str
    on: Target | None = None


@dataclass(frozen=True, slots=True)
class Action:
    verb: Verb
    target: Target | None = None
    check: Check | None = None
    owner: Target | None = None  # the Kustomization that applies the target
    value: str = ""  # verb-specific: a job name, a replica count, a timeout
    text: str = ""  # gate and push: what the operator confirms

    def commands(self, timeout: str) -> tuple[str, ...]:
        """The plain kubectl and flux commands a person would type."""
        return _COMMANDS[self.verb](self, timeout)

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


def _show(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl {t.ns}get {t.resource} {t.name} -o wide --ignore-not-found",)


def _pods(a: Action, _: str) -> tuple[str, ...]:
    columns = "POD:.metadata.name,CLAIMS:.spec.volumes[*].persistentVolumeClaim.claimName"
    return (f"kubectl -n {_t(a).namespace} get pods -o 'custom-columns={columns}'",)


def _pending(a: Action, timeout: str) -> tuple[str, ...]:
    return ()


Render = Callable[["Action", str], tuple[str, ...]]


def _flux(verb: str) -> Render:
    def render(a: Action, _: str) -> tuple[str, ...]:
        t = _t(a)
        return (f"flux {verb} {t.resource} {t.name} -n {t.namespace}",)

    return render


def _paused(value: str) -> Render:
    def render(a: Action, timeout: str) -> tuple[str, ...]:
        t = _t(a)
        return (f'kubectl {t.ns}patch {t.resource} {t.name} --type merge -p \'{{"spec":{{"paused":{value}}}}}\'',)

    return render


def _wait_movers(a: Action, timeout: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl {t.ns}wait --for=delete pod -l job-name={a.value} --timeout={timeout}",)


def _scale(replicas: str) -> Render:
    def render(a: Action, _: str) -> tuple[str, ...]:
        t = _t(a)
        selector = f"app.kubernetes.io/instance={t.name}"
        return (f"kubectl {t.ns}scale deployment,statefulset -l {selector} --replicas={replicas}",)

    return render


def _sync(a: Action, timeout: str) -> tuple[str, ...]:
    t = _t(a)
    return (
        f"kubectl {t.ns}patch {t.resource} {t.name} --type merge "
        """-p '{"spec":{"trigger":{"manual":"volsync-kit-<unique>"}}}'""",
        f"kubectl {t.ns}wait --for=jsonpath='{{.status.lastManualSync}}'=volsync-kit-<unique> "
        f"{t.resource}/{t.name} --timeout={timeout}",
        f"""kubectl {t.ns}patch {t.resource} {t.name} --type merge -p '{{"spec":{{"trigger":{{"manual":null}}}}}}'""",
    )


def _guard(a: Action, _: str) -> tuple[str, ...]:
    return ()


def _delete(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl {t.ns}delete {t.resource} {t.name} --ignore-not-found --wait=false",)


def _wait_deleted(a: Action, timeout: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl {t.ns}wait --for=delete {t.resource}/{t.name} --timeout={timeout}",)


def _wait_bound(a: Action, timeout: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl {t.ns}wait --for=jsonpath='{{.status.phase}}'=Bound {t.resource}/{t.name} --timeout={timeout}",)


def _free(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    ops = (
        '[{"op":"remove","path":"/spec/claimRef/uid"},{"op":"remove","path":"/spec/claimRef/resourceVersion"}]'
        if a.value == "keep-name"
        else '[{"op":"remove","path":"/spec/claimRef"}]'
    )
    return (f"kubectl patch pv {t.name} --type json -p '{ops}'",)


def _retain(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    retain = '--type merge -p \'{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}\''
    return (f"kubectl patch pv \"$(kubectl {t.ns}get pvc {t.name} -o jsonpath='{{.spec.volumeName}}')\" {retain}",)


def _delete_stuck(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    return (
        f"kubectl {t.ns}get pvc {t.name} --ignore-not-found",
        f"kubectl {t.ns}get events --field-selector involvedObject.kind=PersistentVolumeClaim,"
        f"involvedObject.name={t.name}",
        f"kubectl {t.ns}delete pvc {t.name} --ignore-not-found --wait=false",
    )


def _wait_recreated(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl {t.ns}get pvc {t.name} --ignore-not-found",)


def _scale_to(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl scale deployment {t.name} -n {t.namespace} --replicas={a.value}",)


def _scale_back(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    return (f"kubectl scale deployment {t.name} -n {t.namespace} --replicas=<as before>",)


def _gate(a: Action, _: str) -> tuple[str, ...]:
    return (a.value,) if a.value else ()


def _push(a: Action, _: str) -> tuple[str, ...]:
    t = _t(a)
    kind = a.value or "git"
    return (
        "git push",
        f"flux reconcile source {kind} {t.name} -n {t.namespace}",
        f"flux get sources {kind} {t.name} -n {t.namespace}",
    )


_COMMANDS: dict[str, Render] = {
    "show": _show,
    "pods": _pods,
    "pending": _pending,
    "suspend": _flux("suspend"),
    "resume": _flux("resume"),
    "pause": _paused("true"),
    "unpause": _paused("false"),
    "wait-movers": _wait_movers,
    "scale-down": _scale("0"),
    "scale-up": _scale("<as before>"),
    "sync": _sync,
    "guard": _guard,
    "delete": _delete,
    "wait-deleted": _wait_deleted,
    "wait-bound": _wait_bound,
    "free": _free,
    "retain": _retain,
    "delete-stuck": _delete_stuck,
    "wait-recreated": _wait_recreated,
    "scale-to": _scale_to,
    "scale-back": _scale_back,
    "gate": _gate,
    "push": _push,
}


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
        commands = tuple(c for a in actions for c in a.commands(self.timeout))
        return Step(title, commands, tuple(notes), kind, tuple(actions))
