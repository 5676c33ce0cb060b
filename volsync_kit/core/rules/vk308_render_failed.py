"""VK308 render-failed: every app's Flux Kustomization must build.

## What it does
Reports, once for each app, an error that stops its Flux Kustomization
from building and that no more specific rule reports: a missing
`spec.path` or resource file, an invalid `kustomization.yaml` or
patch, a Flux Kustomization with fields of the wrong type, a duplicated
Kustomization, an object without `apiVersion`, `kind` or name.  YAML
errors (VK001, VK002, VK003), unresolved variables (VK304) and missing
components (VK306) have their own rules.

## Why is this bad?
kustomize-controller applies a Kustomization all or nothing: while it
fails to build, no change of the app reaches the cluster, and none of its
volumes can be checked as Flux would render them.

## Example
```yaml
spec:
  path: ./kubernetes/apps/media/radar/app
```

## Use instead
```yaml
spec:
  path: ./kubernetes/apps/media/radarr/app
```

## References
- fluxcd/kustomize-controller `docs/spec/v1/kustomizations.md`
  (`.spec.path`; a failed build marks the Kustomization not ready)
- kubernetes-sigs/kustomize `api/krusty` build errors
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import REPORTED_CODES, Context, Hit, model_problems, problem_hit

ID = "VK308"
NAME = "render-failed"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Fix what stops an app's Flux Kustomization from building"

# Reported by other rules: VK001 and VK003 (YAML syntax, tab errors among
# them), VK002 (duplicate keys), VK304 (variables) and VK306 (components).
COVERED = REPORTED_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    errors = frozenset(p.code for p in ctx.problems if p.severity is Severity.ERROR) - COVERED
    for problem in model_problems(ctx, errors):
        if problem.severity is Severity.ERROR and problem.kustomization is not None:
            yield problem_hit(ctx, problem)
