"""VK002 yaml-duplicate-key: a YAML mapping must not repeat a key.

## What it does
Reports a key written twice in the same YAML mapping, at the second one, in
every file the model reads.

## Why is this bad?
PyYAML and many editors silently keep the last value, so the file looks
fine locally.  kustomize's YAML reader refuses the file (`yaml: unmarshal
errors: ... mapping key "..." already defined`): the Flux Kustomization
that includes it fails to build, and no change reaches the cluster for any
app that uses the file.

## Example
```yaml
spec:
  storageClassName: ""
  volumeMode: Filesystem
  volumeMode: Filesystem
```

## Use instead
```yaml
spec:
  storageClassName: ""
  volumeMode: Filesystem
```

## References
- YAML 1.2 specification, 3.2.1.1 ("The content of a mapping node is an
  unordered set of key/value node pairs, with the restriction that each of
  the keys is unique")
- kubernetes-sigs/kustomize#3480 (Flux: `kustomize build failed: ... yaml:
  unmarshal errors: line 11: mapping key "interval" already defined at line 7`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import DUPLICATE_KEY_CODES, Context, Hit, model_problems, problem_hit

ID = "VK002"
NAME = "yaml-duplicate-key"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Write each key of a YAML mapping once"

CODES = DUPLICATE_KEY_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in model_problems(ctx, CODES):
        yield problem_hit(ctx, problem, f"{problem.message}; keep one of them, as kustomize refuses duplicate keys")
