"""VK402 root-path-template: each app's repository must be where `expect.rootPath` says.

## What it does
When `.volsync-kit.yaml` sets `expect.rootPath` (a template such as
`/volsync/${APP}`), checks, for every app, the repository PersistentVolume
(the PV named by `expect.pvName`, default `volsync-${APP}-repo-pv`):
its rendered `rootPath` must equal the template expanded with that app's
post-build variables.  The finding points at the `rootPath` line the PV
is rendered from, once for each app.

## Why is this bad?
ceph-csi mounts `rootPath` as given and does not create it: a path that
is not where the repositories are fails every mover pod with `No such file
or directory`, and a path that exists but is the wrong one makes restic
start an empty repository next to the real one, so restores find no
snapshots.

## Example
```yaml
# .volsync-kit.yaml: expect: {rootPath: /k8s-backups/volsync/${APP}}
volumeAttributes:
  rootPath: /volsync/${APP}
```

## Use instead
```yaml
volumeAttributes:
  rootPath: /k8s-backups/volsync/${APP}
```

## References
- ceph/ceph-csi `docs/static-pvc.md` (`rootPath`: "Actual path of the
  subvolume in ceph cluster"; the directory must exist)
- backube/volsync `docs/usage/restic/index.rst` ("If necessary, the
  repository will be automatically initialized")
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit, Subject, has_placeholder
from volsync_kit.core.substitution import SubstitutionError, expand

ID = "VK402"
NAME = "root-path-template"
SEVERITY = Severity.ERROR
SCOPE = "pv"
SUMMARY = "Point each app's repository rootPath where expect.rootPath says it is"

ROOT_PATH = ("spec", "csi", "volumeAttributes", "rootPath")


def app_variables(pv: Subject, ctx: Context) -> Mapping[str, str] | None:
    """The post-build variables of the app ``pv`` is rendered for."""
    result = ctx.result_of(pv.ks)
    return result.variables if result is not None else None


def _expand(template: str, variables: Mapping[str, str]) -> str | None:
    try:
        return expand(template, variables)
    except SubstitutionError:
        return None  # the template names a variable this app does not define


def check(pv: Subject, ctx: Context) -> Iterator[Hit]:
    template = ctx.expect.root_path
    if pv.view != "rendered" or template is None:
        return
    variables = app_variables(pv, ctx)
    if variables is None or pv.name != _expand(ctx.expect.pv_name, variables):
        return
    expected = _expand(template, variables)
    value = pv.value(*ROOT_PATH)
    if expected is None or value is None or not isinstance(value.raw, str) or has_placeholder(value.raw):
        return
    if posixpath.normpath(value.raw) != posixpath.normpath(expected):
        yield Hit(
            f"rootPath is {value.raw}; expected {expected} (from .volsync-kit.yaml expect.rootPath {template}): "
            "point rootPath at the app's repository directory, or fix the config",
            value.loc,
            pv,
        )
