"""VK307 inactive-kustomization: a Flux Kustomization the entry point never reaches.

## What it does
Reports, once each, a Flux Kustomization declared in the repository that no
`kustomization.yaml` or Flux Kustomization reachable from the entry point
includes.  Its volumes are still checked in the file view, but not as Flux
would render them for the app.

## Why is this bad?
Flux does not apply it: a disabled app (its `ks.yaml` commented out of
the parent `kustomization.yaml`) keeps no backups, and a `ks.yaml`
someone forgot to list never deploys.  Usually intended, hence
informational; it tells a reader which apps the checks treat as live.

## Example
```yaml
# kubernetes/apps/media/kustomization.yaml
resources:
  - ./jellyfin/ks.yaml
  # - ./oldapp/ks.yaml
```

## Use instead
```yaml
resources:
  - ./jellyfin/ks.yaml
  - ./oldapp/ks.yaml
```
(or delete `oldapp` once its backups are no longer needed)

## References
- Flux docs, "Ways of structuring your repositories" (a Kustomization is
  applied only when a reconciled Kustomization includes it)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import KsRef, Severity
from volsync_kit.core.rules._api import Context, Hit

ID = "VK307"
NAME = "inactive-kustomization"
SEVERITY = Severity.INFO
SCOPE = "repo"
SUMMARY = "List every Flux Kustomization you want applied, or delete it"

CODE = "kustomization-inactive"


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    seen: set[KsRef | None] = set()
    for problem in ctx.problems:
        if problem.code != CODE or problem.kustomization in seen:
            continue
        seen.add(problem.kustomization)
        yield Hit(
            "this Flux Kustomization is not reached from the entry point, so Flux does not apply it and its volumes "
            "are not checked as rendered; list its ks.yaml in a kustomization.yaml the entry point reaches, "
            "or delete it",
            problem.loc,
            app=ctx.app_of(problem.kustomization),
            ks=problem.kustomization,
        )
