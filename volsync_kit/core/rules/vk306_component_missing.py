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

from volsync_kit.core.model import NAMED_FOLDER_CODES, Problem, Severity
from volsync_kit.core.rules._api import COMPONENT_CODES, Context, Hit

ID = "VK306"
NAME = "component-missing"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Keep every listed component folder, with a kind: Component kustomization"

CODES = COMPONENT_CODES

BROKEN = "Flux builds no app that lists it"
# What to do, by model code.  kustomize's own words come first (they are what
# Flux says on the Kustomization); the fix follows, since one missing or
# emptied component breaks every app listing it, in one line of the output.
FIX = {
    "kustomization-missing": "restore the folder's kustomization.yaml, or fix the path where it is listed "
    "(spec.components, components:)",
    "kustomization-empty": "restore what it declared (a component's kind: Component and its resources), "
    "or stop listing its folder",
    "component-not-local": "vendor the component into the repository and list its relative path",
}
KIND_FIX = "set kind: Component (apiVersion kustomize.config.k8s.io/v1alpha1) in its kustomization.yaml"
RESOURCE_FIX = "list the folder under components, not resources"


def _message(problem: Problem) -> str:
    if problem.code == "component-missing":
        # kustomize's message already says to fix the path
        return f"{problem.message}, or restore the folder; {BROKEN}"
    if problem.code == "component-kind":
        wanted = "expected kind 'Component'" in problem.message
        return f"{problem.message}; {BROKEN}; {KIND_FIX if wanted else RESOURCE_FIX}"
    return f"{problem.message}; {BROKEN}; {FIX[problem.code]}"


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in ctx.problems:
        if problem.code in CODES and problem.kustomization is not None:
            yield Hit(
                _message(problem),
                problem.loc,
                app=ctx.app_of(problem.kustomization),
                ks=problem.kustomization,
                # Every app lists the component in its own ks.yaml, and the message
                # names the folder: one fact, read once.  An emptied kustomization.yaml
                # is not named by the message; its findings share its line instead.
                shared=problem.code in NAMED_FOLDER_CODES,
            )
