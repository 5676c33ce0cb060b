"""VK304 unresolved-variable: every `${VAR}` an app renders must resolve.

## What it does
Reports, once for each app, a post-build substitution that Flux would
refuse: a `${VAR}` without a default whose variable is not defined in
`postBuild.substitute` or a `substituteFrom` source, a malformed
`${...}` expression, a `substituteFrom` ConfigMap or Secret that is
neither in the repository nor `optional: true`, and a variable name Flux
rejects.

## Why is this bad?
Strict substitution is the default since kustomize-controller v1.9: the
whole Kustomization fails with `variable not set (strict mode)` and
nothing of the app is applied.  With strict mode turned off, the variable
becomes an empty string instead, and a PV named `volsync--repo-pv` with
`rootPath: /volsync/` is shared by every app that misses it.

## Example
```yaml
postBuild:
  substitute:
    APP: *app
# the component uses ${VOLSYNC_CAPACITY}
```

## Use instead
```yaml
postBuild:
  substitute:
    APP: *app
    VOLSYNC_CAPACITY: 5Gi
# or, in the component: ${VOLSYNC_CAPACITY:-5Gi}
```

## References
- fluxcd/kustomize-controller `CHANGELOG.md` v1.9.0 ("Post-build
  substitutions are now stricter by default") and
  `docs/spec/v1/kustomizations.md` (post-build variable substitution)
- fluxcd/pkg `kustomize/kustomize_varsub.go` (variable name check,
  `substitute from ... error`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import VARIABLE_CODES, Context, Hit, model_problems, problem_hit

ID = "VK304"
NAME = "unresolved-variable"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Define every post-build variable an app uses, or give it a default"

CODES = VARIABLE_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in model_problems(ctx, CODES):
        if problem.kustomization is not None:
            hint = "; rename the variable" if problem.code == "variable-name" else ""
            yield problem_hit(ctx, problem, f"{problem.message}{hint}")
