"""VK301 unique-root-path: no two apps may point a restic repository at one CephFS directory.

## What it does
Compares the rendered static CephFS PersistentVolumes of every app and
reports each one whose `rootPath` (on the same `clusterID` and
`fsName`) is also the `rootPath` of a PV rendered by another Flux
Kustomization, when at least one of them holds a VolSync repository: it is
named like `expect.pvName` (default `volsync-${APP}-repo-pv`), or its
claim is mounted through a ReplicationSource's or ReplicationDestination's
`moverVolumes` (under `restic`, `kopia`, `rclone`, `rsyncTLS` or
`syncthing`: the movers that have them).  Every colliding PV is reported,
at its `rootPath` line, naming the other apps.

A rootPath whose every PV holds a repository that only kopia movers mount
is not reported: kopia (perfectra1n/volsync) connects each source as its
own `username@hostname` (the object's name and namespace), and one
repository for every app is its recommended layout (each app's repository
Secret must then hold that repository's password).  There it reports the
ReplicationSources that set one `spec.kopia.username` and `hostname`: they
would connect as one client, and their snapshots would mix.

## Why is this bad?
Both apps' movers then run restic against one directory: two apps back up
into, prune and restore from one repository, and one app's `forget`
removes the other's snapshots.  VolSync says: "The repository path should
be unique for each PV. Shared backup repositories are not currently
supported."  The usual cause is an app copied under a new Kustomization
name with the same `APP` value, or a `rootPath` that does not use
`${APP}`.

## Example
```yaml
# kubernetes/flux/components/volsync/repository/pv.yaml
volumeAttributes:
  clusterID: rook-ceph
  fsName: cephfs
  rootPath: /volsync/shared
```

## Use instead
```yaml
volumeAttributes:
  clusterID: rook-ceph
  fsName: cephfs
  rootPath: /volsync/${APP}
```

## References
- backube/volsync `docs/usage/restic/index.rst` ("Shared backup
  repositories are not currently supported")
- backube/volsync `docs/usage/movervolumes.rst` (a filesystem repository
  mounted at `/mnt/<mountPath>`)
- ceph/ceph-csi `docs/static-pvc.md` (`rootPath`)
- perfectra1n/volsync `docs/usage/kopia/repository-organization.rst`
  ("Using a single Kopia repository for all your PVCs is the recommended
  approach") and `docs/usage/kopia/multi-tenancy.rst`; backube/volsync
  `docs/usage/kopia/index.rst` ("Kopia safely supports multiple clients
  writing to the same repository simultaneously")
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator

from volsync_kit.core.facts import kopia_identity, mounts
from volsync_kit.core.model import Severity, str_at
from volsync_kit.core.rules._api import ATTRS, Context, Group, Hit, Subject, has_placeholder
from volsync_kit.core.substitution import SubstitutionError, expand

ID = "VK301"
NAME = "unique-root-path"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Give every app's repository volume its own rootPath"

MOVERS = ("ReplicationSource", "ReplicationDestination")
KOPIA_ONLY = frozenset({"kopia"})

Key = tuple[str | None, str | None, str]


def _text(pv: Subject, name: str) -> str | None:
    value = pv.value(*ATTRS, name)
    if value is None or value.raw is None or isinstance(value.raw, bool):
        return None
    return str(value.raw)


def _mover_claims(group: Group, ctx: Context) -> dict[str, set[str]]:
    """The movers (restic, kopia...) that mount each claim of the app through ``moverVolumes``."""
    result = ctx.result_of(group.ks)
    claims: dict[str, set[str]] = {}
    if result is None:
        return claims
    for res in result.resources:
        if res.kind in MOVERS:
            for mover, claim in mounts(res.node):
                claims.setdefault(claim, set()).add(mover)
    return claims


def _repository_pvs(group: Group, ctx: Context) -> dict[str, frozenset[str]]:
    """The PVs of ``group`` that hold a VolSync repository, by name, with the
    movers that mount their claims (none for a PV only named like one)."""
    movers: dict[str, set[str]] = {}
    with contextlib.suppress(SubstitutionError):  # the template names a variable the app lacks
        movers[expand(ctx.expect.pv_name, group.variables)] = set()
    claims = _mover_claims(group, ctx)
    for pvc in group.pvcs:
        volume = str_at(pvc.node, "spec", "volumeName")
        if pvc.name in claims and volume:
            movers.setdefault(volume, set()).update(claims[pvc.name])
    return {name: frozenset(used) for name, used in movers.items()}


def _shared_kopia(held: list[frozenset[str] | None]) -> bool:
    """Every PV holds a repository that kopia movers, and only they, mount."""
    return all(movers == KOPIA_ONLY for movers in held)


def _one_client(root: str, entries: list[tuple[Subject, Group]], ctx: Context) -> Iterator[Hit]:
    """Sources sharing one kopia repository as one ``username@hostname``."""
    clients: dict[tuple[str, str], list[tuple[str, Subject]]] = {}
    for pv, group in entries:
        result = ctx.result_of(group.ks)
        bound = {pvc.name for pvc in group.pvcs if str_at(pvc.node, "spec", "volumeName") == pv.name}
        for res in result.resources if result is not None else ():
            username, hostname = kopia_identity(res.node)
            if res.kind == "ReplicationSource" and username and any(c in bound for _, c in mounts(res.node)):
                client = (username, hostname or res.namespace)
                clients.setdefault(client, []).append((f"ReplicationSource {res.namespace}/{res.name}", pv))
    for (username, hostname), users in clients.items():
        # In an order of their own: a source two Kustomizations render (a duplicated APP)
        # gives one message twice, and the engine keeps the first (lint.patched meets
        # the apps in another order than a walk).
        for source, pv in sorted(users, key=lambda user: (user[0], str(user[1].ks))):
            others = sorted({other for other, _ in users if other != source})
            if not others:
                continue
            value = pv.value(*ATTRS, "rootPath")
            yield Hit(
                f"{source} connects to the kopia repository at rootPath {root} as {username}@{hostname}, as "
                f"{', '.join(others)} {'does' if len(others) == 1 else 'do'}: their snapshots would mix; give each "
                "source its own "
                "spec.kopia.username, or drop the override (the default is the source's name and namespace)",
                value.loc if value else pv.loc(*ATTRS),
                pv,
            )


def _describe(other: Subject, me: Subject) -> str:
    if other.app == me.app:
        return f"{other.label} of Kustomization {other.ks}"
    return f"{other.label} of {other.app}"


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    found: dict[Key, list[tuple[Subject, Group]]] = {}
    for group in ctx.rendered:
        for pv in group.pvs:
            root = _text(pv, "rootPath")
            cluster, fs = _text(pv, "clusterID"), _text(pv, "fsName")
            if not root or any(has_placeholder(v) for v in (root, cluster, fs)):
                continue
            found.setdefault((cluster, fs, posixpath.normpath(root)), []).append((pv, group))
    # Which PVs hold a repository is asked only where Kustomizations share a
    # rootPath: it reads every mover of the app, and most repositories have
    # no such PV at all.
    repositories: dict[int, dict[str, frozenset[str]]] = {}
    for (cluster, fs, root), entries in found.items():
        pvs = [pv for pv, _group in entries]
        if len({pv.ks for pv in pvs}) < 2:
            continue
        for _pv, group in entries:
            if id(group) not in repositories:
                repositories[id(group)] = _repository_pvs(group, ctx)
        held = [repositories[id(group)].get(pv.name) for pv, group in entries]
        if all(movers is None for movers in held):
            continue
        if _shared_kopia(held):
            yield from _one_client(root, entries, ctx)
            continue
        for pv in pvs:
            # Sorted: a run that makes a few apps again (lint.patched) meets them in another order.
            others = sorted({_describe(o, pv) for o in pvs if o.ks != pv.ks})
            value = pv.value(*ATTRS, "rootPath")
            yield Hit(
                f"rootPath {root} (clusterID {cluster or '-'}, fsName {fs or '-'}) is also the rootPath of "
                f"{', '.join(others)}: both would write one restic repository, which VolSync does not support; "
                "give each app its own rootPath, such as /volsync/${APP} with a distinct APP value",
                value.loc if value else pv.loc(*ATTRS),
                pv,
            )
