"""VK306 component-missing: every component an app lists must exist and be a Component.

## What it does
Reports, once for each app, a `components:` entry (in a Flux
Kustomization's `spec.components` or in a `kustomization.yaml`) whose
folder is missing, has no `kustomization.yaml`, declares nothing but
`apiVersion` and `kind`, or is a `kind: Kustomization` instead of a
`kind: Component`; and a Component listed under `resources`.

## Why is this bad?
kustomize refuses each of these, so Flux cannot build the app at all: the
Kustomization goes not-ready, and no change reaches the cluster, for every
app that lists the component.  Deleting or emptying a shared component (a
split gone halfway) breaks dozens of apps in one commit.

## Example
```yaml
spec:
  path: ./kubernetes/apps/media/sonarr/app
  components:
    - ../../../../flux/components/volsync/operationz
```

## Use instead
```yaml
spec:
  path: ./kubernetes/apps/media/sonarr/app
  components:
    - ../../../../flux/components/volsync/operations
```

## References
- Flux docs, Kustomization `.spec.components` ("The components paths must
  be local and relative to the path specified by .spec.path")
- kubernetes-sigs/kustomize `api/internal/target/kusttarget.go`
  (`expected kind 'Component' for path ...`), `api/types/kustomization.go`
  (`kustomization.yaml is empty`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import COMPONENT_CODES, Context, Hit

ID = "VK306"
NAME = "component-missing"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Keep every listed component folder, with a kind: Component kustomization"

CODES = COMPONENT_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in ctx.problems:
        if problem.code in CODES and problem.kustomization is not None:
            yield Hit(
                f"{problem.message}; Flux cannot build this app",
                problem.loc,
                app=ctx.app_of(problem.kustomization),
                ks=problem.kustomization,
            )
