"""What ``render`` shows: each app's VolSync volumes as Flux applies them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from volsync_kit.core.facts import mover_facts
from volsync_kit.core.flux import RepoModel
from volsync_kit.core.model import (
    NAMED_FOLDER_CODES,
    KsRef,
    Map,
    Problem,
    Resource,
    Scalar,
    Severity,
    Sharing,
    set_at,
)
from volsync_kit.core.variables import external_secret_target

VOLUME_KINDS = frozenset(
    {
        ("", "PersistentVolume"),
        ("", "PersistentVolumeClaim"),
        ("volsync.backube", "ReplicationSource"),
        ("volsync.backube", "ReplicationDestination"),
    }
)
REDACTED = "<redacted>"


@dataclass(frozen=True)
class AppRender:
    app: str
    ks: KsRef
    objects: tuple[Resource, ...]


@dataclass(frozen=True)
class RenderResult:
    apps: tuple[AppRender, ...]
    problems: tuple[Problem, ...]
    kustomizations: int

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


def is_volume_object(res: Resource) -> bool:
    return (res.group, res.kind) in VOLUME_KINDS


def repository_secret_names(resources: tuple[Resource, ...]) -> set[tuple[str, str]]:
    """(namespace, name) of the mover Secrets named by ReplicationSources/Destinations."""
    names: set[tuple[str, str]] = set()
    for res in resources:
        facts = mover_facts(res)
        if facts is not None:
            names.update((res.namespace, secret) for secret in facts.repositories)
    return names


def _redact(res: Resource) -> Resource:
    node: Map = res.node
    for key in ("data", "stringData"):
        values = node.items.get(key)
        if isinstance(values, Map):
            redacted = Map({k: Scalar(REDACTED, v.loc) for k, v in values.items.items()}, values.loc)
            node = set_at(node, (key,), redacted)
    return res.with_node(node)


def app_objects(resources: tuple[Resource, ...]) -> tuple[Resource, ...]:
    """Volume objects, then the restic Secrets and ExternalSecrets they use."""
    volumes = [r for r in resources if is_volume_object(r)]
    if not volumes:
        return ()
    wanted = repository_secret_names(resources)
    secrets: list[Resource] = []
    for res in resources:
        if res.kind == "Secret" and not res.group and (res.namespace, res.name) in wanted:
            secrets.append(_redact(res))
        elif (
            res.kind == "ExternalSecret"
            and res.group == "external-secrets.io"
            and (res.namespace, external_secret_target(res)) in wanted
        ):
            secrets.append(res)
    return (*volumes, *secrets)


def problems(model: RepoModel) -> tuple[Problem, ...]:
    """The walk's problems, then each Kustomization's, in order."""
    return (*model.problems, *(p for result in model.results for p in result.problems))


def render(model: RepoModel, app: str | None = None) -> RenderResult:
    apps: list[AppRender] = []
    for result in model.results:
        objects = app_objects(result.resources)
        name = result.app
        if objects:
            apps.append(AppRender(name, result.ks.ref, objects))
    return only(RenderResult(tuple(apps), problems(model), len(model.results)), app)


def shared(result: RenderResult) -> RenderResult:
    """``result`` with equal parts as one object (:class:`~volsync_kit.core.model.Sharing`):
    what a recorded render keeps for the next run."""
    sharing = Sharing()
    return replace(
        result,
        apps=tuple(replace(app, objects=tuple(sharing.resource(obj) for obj in app.objects)) for app in result.apps),
    )


def only(result: RenderResult, app: str | None) -> RenderResult:
    """``result`` with the apps named ``app`` (its APP value, or its Kustomization's name)."""
    if app is None:
        return result
    return replace(result, apps=tuple(a for a in result.apps if app in (a.app, a.ks.name)))


@dataclass(frozen=True)
class SharedProblem:
    """One problem as people read it, with every Kustomization that met it."""

    problem: Problem  # the first met
    kustomizations: tuple[KsRef, ...]  # each once, in order; empty for the walk's own


def group_by_place(problems: Iterable[Problem]) -> tuple[SharedProblem, ...]:
    """Problems that differ only in their Kustomization, as one entry each, in order.

    A file many apps read (a shared component) that does not parse fails
    every one of their builds at the same line: one problem, many builds.  A
    missing component is listed in each app's own file: its message names
    the folder, and that is the one fact (at the first place listing it).
    """
    groups: dict[tuple[object, ...], list[Problem]] = {}
    for p in problems:
        where: object = "named" if p.code in NAMED_FOLDER_CODES else p.loc
        groups.setdefault((p.severity, p.code, where, p.message, p.kustomization is None), []).append(p)
    return tuple(
        SharedProblem(members[0], tuple(dict.fromkeys(p.kustomization for p in members if p.kustomization)))
        for members in groups.values()
    )
