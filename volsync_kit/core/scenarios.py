"""The guide's other procedures, scoped to this repository's apps.

Scenario 2 (stuck cache PVCs) and Scenario 3 (full VolSync reset) of the
operators' guide, with every object named: the guide's ``-A`` sweeps and
regular expressions become the exact claims VolSync creates for each
ReplicationSource and ReplicationDestination (backube/volsync naming, see
domain-facts section 3.1).  Steps keep the guide's order, so a reader finds
each of its steps here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from volsync_kit.core.flux import RepoModel
from volsync_kit.core.model import KsRef, Resource
from volsync_kit.core.names import label, subdomain
from volsync_kit.core.planner import Step

VOLSYNC = "volsync.backube"
SCENARIOS = ("stuck-cache", "full-reset")


@dataclass(frozen=True)
class Operator:
    namespace: str = "storage"
    deployment: str = "volsync"
    kustomization: str = "volsync"
    kustomization_namespace: str = "storage"


@dataclass(frozen=True)
class Movers:
    sources: tuple[Resource, ...]
    destinations: tuple[Resource, ...]
    kustomizations: tuple[KsRef, ...]


def movers(model: RepoModel) -> Movers:
    sources: list[Resource] = []
    destinations: list[Resource] = []
    refs: list[KsRef] = []
    for result in model.results:
        found = False
        for res in result.resources:
            if res.group == VOLSYNC and res.kind == "ReplicationSource":
                sources.append(res)
                found = True
            elif res.group == VOLSYNC and res.kind == "ReplicationDestination":
                destinations.append(res)
                found = True
        if found:
            refs.append(result.ks.ref)
    return Movers(tuple(sources), tuple(destinations), tuple(refs))


REPO_CLAIM = re.compile(r"^volsync-.*-repo$")
REPO_VOLUME = re.compile(r"^volsync-.*-repo-pv$")


def _rendered(model: RepoModel, kind: str) -> list[Resource]:
    return [r for result in model.results for r in result.resources if r.kind == kind and not r.group]


def _cache(res: Resource) -> str:
    direction = "src" if res.kind == "ReplicationSource" else "dst"
    return f"volsync-{direction}-{res.name}-cache"


def _delete_pvcs(pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    return tuple(
        f"kubectl -n {label(ns)} delete pvc {subdomain(name)} --ignore-not-found --wait=false" for ns, name in pairs
    )


def stuck_cache(model: RepoModel, operator: Operator) -> list[Step]:
    found = movers(model)
    caches = [(r.namespace, _cache(r)) for r in (*found.sources, *found.destinations)]
    # A missing cache is normal (destinations may delete theirs after each sync):
    # the checks and the deletions must not stop the script on NotFound.
    check = tuple(f"kubectl -n {label(ns)} get pvc {subdomain(name)} --ignore-not-found" for ns, name in caches)
    events = tuple(
        f"kubectl -n {label(ns)} get events --field-selector involvedObject.name={subdomain(name)}"
        for ns, name in caches
    )
    return [
        Step(
            "Check that the VolSync operator runs: it recreates the cache PVCs (do not scale it down here)",
            (f"kubectl -n {label(operator.namespace)} get deployment {subdomain(operator.deployment)}",),
            kind="preflight",
        ),
        Step(
            "Find the cache PVCs stuck Pending with 'an operation with the given Volume ID already exists'",
            check + events,
            kind="preflight",
        ),
        Step(
            "Guide step 1: Delete the stuck cache PVCs (only those Pending); "
            "their ReplicationSource or ReplicationDestination owns them",
            _delete_pvcs(caches),
            kind="delete",
        ),
        Step(
            "Guide step 2: Wait for the VolSync operator to recreate them with fresh UIDs that do not conflict "
            "(a destination's cache comes back at its next sync)",
            check,
            kind="resume",
        ),
    ]


def full_reset(model: RepoModel, operator: Operator) -> list[Step]:
    found = movers(model)
    ops_ks, ops_ns = label(operator.kustomization), label(operator.kustomization_namespace)
    deploy, deploy_ns = subdomain(operator.deployment), label(operator.namespace)
    sources, destinations = found.sources, found.destinations
    caches = [(r.namespace, _cache(r)) for r in (*sources, *destinations)]
    snapshots = [(r.namespace, f"volsync-{r.name}-src") for r in sources]
    snapshots += [(r.namespace, f"volsync-{r.name}-dest") for r in destinations]
    # The guide's patterns, applied to what the repository renders.
    repo_claims = sorted(
        (r.namespace, r.name) for r in _rendered(model, "PersistentVolumeClaim") if REPO_CLAIM.match(r.name)
    )
    repo_volumes = sorted(r.name for r in _rendered(model, "PersistentVolume") if REPO_VOLUME.match(r.name))
    app_ks = tuple(
        f"flux suspend kustomization {label(ref.name)} -n {label(ref.namespace)}" for ref in found.kustomizations
    )
    return [
        Step(
            "Guide step 1: Suspend volsync (and, in the per-app layout, the app Kustomizations rendering the volumes)",
            (f"flux suspend kustomization {ops_ks} -n {ops_ns}", *app_ks),
            kind="suspend",
        ),
        Step(
            "Guide step 2: Scale down the VolSync operator (this stops every backup in the cluster until step 9)",
            (f"kubectl scale deployment {deploy} -n {deploy_ns} --replicas=0",),
            kind="suspend",
        ),
        Step(
            "Guide step 3: Delete all ReplicationSources",
            tuple(
                f"kubectl -n {label(r.namespace)} delete replicationsource {subdomain(r.name)} --ignore-not-found"
                for r in sources
            ),
            kind="delete",
        ),
        Step(
            "Guide step 4: Delete all ReplicationDestinations",
            tuple(
                f"kubectl -n {label(r.namespace)} delete replicationdestination {subdomain(r.name)} --ignore-not-found"
                for r in destinations
            ),
            kind="delete",
        ),
        Step(
            "Guide step 5: Delete all cache PVCs (owned by the objects deleted above: usually already gone)",
            _delete_pvcs(caches),
            kind="delete",
        ),
        Step(
            "Guide step 6: Delete all snapshot PVCs (owned as well: usually already gone)",
            _delete_pvcs(snapshots),
            kind="delete",
        ),
        Step("Guide step 7: Delete the repository PVCs", _delete_pvcs(repo_claims), kind="delete"),
        Step(
            "Guide step 8: Delete the repository PVs (Retain keeps the restic data)",
            tuple(f"kubectl delete pv {subdomain(name)} --ignore-not-found --wait=false" for name in repo_volumes),
            kind="delete",
        ),
        Step(
            "Guide step 9: Resume after the changes: the Kustomizations, then the operator",
            (
                f"flux resume kustomization {ops_ks} -n {ops_ns}",
                *(cmd.replace("flux suspend", "flux resume", 1) for cmd in reversed(app_ks)),
                f"kubectl scale deployment {deploy} -n {deploy_ns} --replicas=1",
            ),
            notes=(
                "Preserved: the restic repositories at each rootPath, the applications' data PVCs, and remote (R2) "
                "repositories.",
            ),
            kind="resume",
        ),
    ]
