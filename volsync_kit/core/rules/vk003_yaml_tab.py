"""VK003 yaml-tab: YAML must be indented with spaces, never tabs.

## What it does
Reports a YAML file that cannot be read because of a tab character where
YAML allows only spaces (indentation, or the start of a token), at the
line and column of the tab.  VK001 reports every other syntax error.

## Why is this bad?
YAML forbids tabs for indentation.  kustomize and Flux stop at the file:
the Kustomization that includes it renders nothing, and neither does any
app below it.  Tabs are invisible in most editors, so the usual fix is to
let the editor convert them to spaces.

## Example
```yaml
spec:
  storageClassName: ""
\tvolumeMode: Filesystem  # indented with a tab
```

## Use instead
```yaml
spec:
  storageClassName: ""
  volumeMode: Filesystem
```

## References
- YAML 1.2 specification, 6.1 "Indentation Spaces" ("tab characters must
  not be used in indentation")
- yaml/pyyaml `scanner.py` (`found character '\\t' that cannot start any token`)
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import TAB_CODES, Context, Hit, model_problems, problem_hit

ID = "VK003"
NAME = "yaml-tab"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Indent YAML with spaces, not tabs"

CODES = TAB_CODES


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for problem in model_problems(ctx, CODES):
        yield problem_hit(ctx, problem, "a tab character where YAML allows only spaces; replace the tab with spaces")
