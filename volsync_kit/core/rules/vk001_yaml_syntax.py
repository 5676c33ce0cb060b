"""VK001 yaml-syntax: every YAML file the model reads must parse.

## What it does
Reports a YAML file that is not valid YAML, is not UTF-8, or is nested too
deeply to read, at the line and column where parsing failed.

## Why is this bad?
kustomize and Flux stop at the first unreadable file: the Kustomization
that includes it renders nothing, and neither does any app below it.

## Example
```yaml
metadata: {name: volsync-${APP}-repo-pv
```

## Use instead
```yaml
metadata: {name: volsync-${APP}-repo-pv}
```

## References
- YAML 1.2 specification; kustomize-controller build errors
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import YAML_CODES, Context, Hit, model_problems, problem_hit

ID = "VK001"
NAME = "yaml-syntax"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Fix the YAML so that the file parses"

CODES = YAML_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in model_problems(ctx, CODES):
        yield problem_hit(ctx, problem)
