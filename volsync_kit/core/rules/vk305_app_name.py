"""VK305 app-name: an app's `APP` value must be a DNS-1123 label.

## What it does
Checks the `APP` post-build variable of every app that renders a static
CephFS volume (its Flux Kustomization's name when `APP` is not set):
lowercase letters, digits and `-`, starting and ending with a letter or
digit, at most 63 characters.  The finding points at the `APP` value in
the app's `ks.yaml`.

## Why is this bad?
`APP` is spliced into object names (`volsync-${APP}-repo-pv`, the
ReplicationSource, its Secret) and into the repository's `rootPath`.
The API server rejects the first object whose name is not valid, and Flux
then applies nothing of the app; a name that is valid for one kind (a PV)
can still be refused for another (a Service or a Job's label).

## Example
```yaml
postBuild:
  substitute:
    APP: Home_Assistant
```

## Use instead
```yaml
postBuild:
  substitute:
    APP: home-assistant
```

## References
- Kubernetes docs, "Object Names and IDs" (DNS-1123 label names)
- kubernetes/apimachinery `pkg/util/validation/validation.go`
  (`IsDNS1123Label`)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from volsync_kit.core.model import Loc, Severity, loc_of
from volsync_kit.core.rules._api import Context, Group, Hit

ID = "VK305"
NAME = "app-name"
SEVERITY = Severity.ERROR
SCOPE = "repo"
SUMMARY = "Use a DNS-1123 label (lowercase, digits, '-', at most 63 characters) as APP"

LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MAX_LENGTH = 63
APP_PATH = ("spec", "postBuild", "substitute", "APP")


def problem_with(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label, or None when it is one."""
    if not value:
        return "is empty"
    if len(value) > MAX_LENGTH:
        return f"is {len(value)} characters long, over the limit of {MAX_LENGTH}"
    if LABEL.match(value):
        return None
    if value != value.lower():
        return "has uppercase letters"
    if not re.fullmatch(r"[-a-z0-9]+", value):
        return "has characters other than lowercase letters, digits and '-'"
    return "starts or ends with '-'"


def _where(group: Group, ctx: Context) -> tuple[str, Loc | None]:
    """What the app name comes from, and where it is written."""
    result = ctx.result_of(group.ks)
    if result is None:
        return "APP", None
    node = result.ks.node
    if group.variables.get("APP"):
        return "APP", loc_of(node, *APP_PATH) or result.ks.loc
    return "the Kustomization name (APP is not set)", loc_of(node, "metadata", "name") or result.ks.loc


def check(_: Context, ctx: Context) -> Iterator[Hit]:
    for group in ctx.rendered:
        value = group.variables.get("APP") or (group.ks.name if group.ks else "")
        why = problem_with(value)
        if why is None:
            continue
        what, loc = _where(group, ctx)
        yield Hit(
            f"{what} {why}; it becomes object names and the rootPath, so the API server would reject the app's "
            "objects: use a DNS-1123 label (lowercase letters, digits and '-', at most 63 characters)",
            loc,
            app=group.app,
            ks=group.ks,
        )
