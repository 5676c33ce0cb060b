"""VK901 unused-suppression: an inline `disable=` comment that suppresses nothing.

## What it does
Reports a `# volsync-kit: disable=RULE` comment when no finding of that
rule is on its line or on the line after it.

## Why is this bad?
A stale suppression hides the next real problem on that line, and tells a
reader that something is wrong where nothing is.

## Example
```yaml
# volsync-kit: disable=VK106
rootPath: /volsync/${APP}
```

## Use instead
```yaml
rootPath: /volsync/${APP}
```

## References
- ruff's RUF100 (unused `noqa`), the same idea.
"""

from __future__ import annotations

from collections.abc import Iterator

from volsync_kit.core.model import Severity
from volsync_kit.core.rules._api import Context, Hit

ID = "VK901"
NAME = "unused-suppression"
SEVERITY = Severity.INFO
SCOPE = "repo"
SUMMARY = "Remove suppressions that suppress nothing"


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    # The engine reports these: it is the one that knows which were used.
    return iter(())
