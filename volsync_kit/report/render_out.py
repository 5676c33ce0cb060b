"""``render`` output: YAML documents for people, versioned JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from volsync_kit.core.model import Plain, Problem, Severity, to_plain
from volsync_kit.core.render import RenderResult

JSON_VERSION = 1


def problem_line(problem: Problem) -> str:
    """``file:line:col: severity [code] message (kustomization ns/name)``."""
    where = str(problem.loc) if problem.loc else "-"
    owner = f" (Kustomization {problem.kustomization})" if problem.kustomization else ""
    return f"{where}: {problem.severity.value} [{problem.code}] {problem.message}{owner}"


def problem_json(problem: Problem) -> dict[str, Any]:
    ks = problem.kustomization
    return {
        "severity": problem.severity.value,
        "code": problem.code,
        "message": problem.message,
        "file": problem.loc.file if problem.loc else None,
        "line": problem.loc.line if problem.loc else None,
        "column": problem.loc.col if problem.loc else None,
        "kustomization": {"name": ks.name, "namespace": ks.namespace, "file": ks.file} if ks else None,
    }


def to_json(result: RenderResult) -> str:
    doc = {
        "version": JSON_VERSION,
        "apps": [
            {
                "app": app.app,
                "kustomization": {"name": app.ks.name, "namespace": app.ks.namespace, "file": app.ks.file},
                "objects": [to_plain(obj.node) for obj in app.objects],
            }
            for app in result.apps
        ],
        "problems": [problem_json(p) for p in result.problems],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_yaml(result: RenderResult, dump: Callable[[Plain], str]) -> str:
    """One YAML stream; comments name each app and where each object comes from."""
    parts: list[str] = []
    for app in result.apps:
        for obj in app.objects:
            source = f"{obj.origin}" if obj.origin else "-"
            header = f"# app: {app.app} (Kustomization {app.ks}, {app.ks.file})\n# source: {source}\n"
            parts.append("---\n" + header + dump(to_plain(obj.node)))
    return "".join(parts)


def visible(problem: Problem, verbose: bool) -> bool:
    return verbose or problem.severity is not Severity.INFO
