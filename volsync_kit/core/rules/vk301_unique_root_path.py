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
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator

from volsync_kit.core.facts import mounted_claims
from volsync_kit.core.model import Severity, str_at
from volsync_kit.core.rules._api import ATTRS, Context, Group, Hit, Subject, has_placeholder
from volsync_kit.core.substitution import SubstitutionError, expand

ID = "VK301"
NAME = "unique-root-path"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Give every app's repository volume its own rootPath"

MOVERS = ("ReplicationSource", "ReplicationDestination")

Key = tuple[str | None, str | None, str]


def _text(pv: Subject, name: str) -> str | None:
    value = pv.value(*ATTRS, name)
    if value is None or value.raw is None or isinstance(value.raw, bool):
        return None
    return str(value.raw)


def _mover_claims(group: Group, ctx: Context) -> set[str]:
    """PVC names the app's VolSync movers mount through ``moverVolumes``."""
    result = ctx.result_of(group.ks)
    if result is None:
        return set()
    return {claim for res in result.resources if res.kind in MOVERS for claim in mounted_claims(res.node)}


def _repository_pvs(group: Group, ctx: Context) -> set[str]:
    """Names of the PVs of ``group`` that hold a VolSync repository."""
    names: set[str] = set()
    with contextlib.suppress(SubstitutionError):  # the template names a variable the app lacks
        names.add(expand(ctx.expect.pv_name, group.variables))
    claims = _mover_claims(group, ctx)
    for pvc in group.pvcs:
        volume = str_at(pvc.node, "spec", "volumeName")
        if pvc.name in claims and volume:
            names.add(volume)
    return names


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
    repo_names: dict[int, set[str]] = {}
    for (cluster, fs, root), entries in found.items():
        pvs = [pv for pv, _group in entries]
        if len({pv.ks for pv in pvs}) < 2:
            continue
        for _pv, group in entries:
            if id(group) not in repo_names:
                repo_names[id(group)] = _repository_pvs(group, ctx)
        if not any(pv.name in repo_names[id(group)] for pv, group in entries):
            continue
        for pv in pvs:
            others = [_describe(o, pv) for o in pvs if o.ks != pv.ks]
            value = pv.value(*ATTRS, "rootPath")
            yield Hit(
                f"rootPath {root} (clusterID {cluster or '-'}, fsName {fs or '-'}) is also the rootPath of "
                f"{', '.join(others)}: both would write one restic repository, which VolSync does not support; "
                "give each app its own rootPath, such as /volsync/${APP} with a distinct APP value",
                value.loc if value else pv.loc(*ATTRS),
                pv,
            )
