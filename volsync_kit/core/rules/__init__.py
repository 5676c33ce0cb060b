"""The rule registry: every ``vkNNN_<name>.py`` module in this package.

Modules are discovered by file name, so adding a rule is adding one file;
tests check that IDs and names are unique and match the file names.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from volsync_kit.core.rules._api import Rule


def _load(module_name: str) -> Rule:
    module = importlib.import_module(f"{__name__}.{module_name}")
    return Rule(
        id=module.ID,
        name=module.NAME,
        severity=module.SEVERITY,
        scope=module.SCOPE,
        summary=module.SUMMARY,
        doc=(module.__doc__ or "").strip(),
        check=module.check,
    )


@cache
def all_rules() -> tuple[Rule, ...]:
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("vk"))
    return tuple(_load(name) for name in names)


def get(key: str) -> Rule | None:
    """A rule by ID (``VK101``, any case) or name (``static-volume``)."""
    for rule in all_rules():
        if key.upper() == rule.id or key == rule.name:
            return rule
    return None
