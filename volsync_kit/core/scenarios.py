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
from volsync_kit.core.procedure import Action, Settings, Step, Target

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


def stuck_cache(model: RepoModel, operator: Operator, settings: Settings | None = None) -> list[Step]:
    settings = settings or Settings()
    found = movers(model)
    caches = [(r, Target("pvc", _cache(r), r.namespace)) for r in (*found.sources, *found.destinations)]
    return [
        settings.step(
            "Check that the VolSync operator runs: it recreates the cache PVCs (do not scale it down here)",
            [Action("show", Target("deployment", operator.deployment, operator.namespace))],
            kind="preflight",
        ),
        settings.step(
            "Guide step 1: Delete the stuck cache PVCs: only those Pending with the event 'an operation with the "
            "given Volume ID already exists', read from the cluster now (their ReplicationSource or "
            "ReplicationDestination owns them)",
            [Action("delete-stuck", target) for _, target in caches],
            kind="delete",
        ),
        settings.step(
            "Guide step 2: Wait for the VolSync operator to recreate them with fresh UIDs that do not conflict "
            "(a destination's cache comes back at its next sync)",
            [Action("wait-recreated", target) for res, target in caches if res.kind == "ReplicationSource"],
            kind="resume",
        ),
    ]


def full_reset(model: RepoModel, operator: Operator, settings: Settings | None = None) -> list[Step]:
    settings = settings or Settings()
    found = movers(model)
    ops = Target("kustomization", operator.kustomization, operator.kustomization_namespace)
    deployment = Target("deployment", operator.deployment, operator.namespace)
    sources, destinations = found.sources, found.destinations
    caches = [Target("pvc", _cache(r), r.namespace) for r in (*sources, *destinations)]
    snapshots = [Target("pvc", f"volsync-{r.name}-src", r.namespace) for r in sources]
    snapshots += [Target("pvc", f"volsync-{r.name}-dest", r.namespace) for r in destinations]
    # The guide's patterns, applied to what the repository renders.
    repo_claims = sorted(
        Target("pvc", r.name, r.namespace)
        for r in _rendered(model, "PersistentVolumeClaim")
        if REPO_CLAIM.match(r.name)
    )
    repo_volumes = sorted(
        Target("pv", r.name) for r in _rendered(model, "PersistentVolume") if REPO_VOLUME.match(r.name)
    )
    app_ks = [Target("kustomization", ref.name, ref.namespace) for ref in found.kustomizations]

    def delete(targets: list[Target]) -> list[Action]:
        # Resume waits for nothing but these: each deletion is awaited here.
        return [Action("delete", t) for t in targets] + [Action("wait-deleted", t) for t in targets]

    return [
        settings.step(
            "Guide step 1: Suspend volsync (and, in the per-app layout, the app Kustomizations rendering the volumes)",
            [Action("suspend", ops), *(Action("suspend", t) for t in app_ks)],
            kind="suspend",
        ),
        settings.step(
            "Guide step 2: Scale down the VolSync operator (this stops every backup in the cluster until step 9)",
            [Action("scale-to", deployment, value="0")],
            kind="suspend",
        ),
        settings.step(
            "Guide step 3: Delete all ReplicationSources",
            delete([Target("replicationsource", r.name, r.namespace) for r in sources]),
            kind="delete",
        ),
        settings.step(
            "Guide step 4: Delete all ReplicationDestinations",
            delete([Target("replicationdestination", r.name, r.namespace) for r in destinations]),
            kind="delete",
        ),
        settings.step(
            "Guide step 5: Delete all cache PVCs (owned by the objects deleted above: usually already gone)",
            delete(caches),
            kind="delete",
        ),
        settings.step(
            "Guide step 6: Delete all snapshot PVCs (owned as well: usually already gone)",
            delete(snapshots),
            kind="delete",
        ),
        settings.step("Guide step 7: Delete the repository PVCs", delete(repo_claims), kind="delete"),
        settings.step(
            "Guide step 8: Delete the repository PVs (Retain keeps the restic data)",
            delete(repo_volumes),
            kind="delete",
        ),
        settings.step(
            "Guide step 9: Resume after the changes: the Kustomizations, then the operator (each as it was before)",
            [
                Action("resume", ops),
                *(Action("resume", t) for t in reversed(app_ks)),
                Action("scale-back", deployment),
            ],
            notes=(
                "Preserved: the restic repositories at each rootPath, the applications' data PVCs, and remote (R2) "
                "repositories.",
            ),
            kind="resume",
        ),
    ]
