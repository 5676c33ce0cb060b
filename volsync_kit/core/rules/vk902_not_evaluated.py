"""VK902 not-evaluated: say what the model could not evaluate.

## What it does
Reports, as information, each part of an app's build that volsync-kit does
not evaluate: a kustomize feature it does not implement (`replacements`,
`helmCharts`, generators...), a patch it cannot apply, a remote resource
or component, a Flux Kustomization built from another source, or variables
from an encrypted `substituteFrom` source.

## Why is this bad?
It is not wrong in itself.  But whatever that part produces or changes is
invisible to the linter: a static PV or PVC it adds or rewrites is not
checked, and a clean result does not vouch for it.  Knowing the blind spots
lets you check them by hand (`flux build kustomization`), or disable this
rule for the file once you have.

## Example
```yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - https://github.com/example/storage//volumes?ref=v1.0.0
```

## Use instead
```yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./volumes  # vendored, so that it is checked
```

## References
- kubernetes-sigs/kustomize `api/types/kustomization.go` (the fields of a
  kustomization)
- Flux docs, Kustomization `.spec.sourceRef` and `.spec.postBuild.substituteFrom`
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import NOT_EVALUATED_CODES, Context, Hit, model_problems, problem_hit

ID = "VK902"
NAME = "not-evaluated"
SEVERITY = Severity.INFO
SCOPE = "repo"
SUMMARY = "Check by hand what volsync-kit could not evaluate"

CODES = NOT_EVALUATED_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in model_problems(ctx, CODES):
        message = f"{problem.message}; volsync-kit cannot vouch for what it produces, so check it by hand"
        yield problem_hit(ctx, problem, message)
