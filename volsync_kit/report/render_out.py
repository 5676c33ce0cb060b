"""``render`` output: YAML documents for people, versioned JSON for machines."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from volsync_kit.core.model import KsRef, Plain, Problem, Severity, to_plain
from volsync_kit.core.render import RenderResult, group_by_place
from volsync_kit.report import jsontext, ks_json, several

JSON_VERSION = 2


def problem_line(problem: Problem, kustomizations: Sequence[KsRef] | None = None) -> str:
    """``file:line:col: severity [code] message (Kustomization ns/name)``, or
    ``(7 Kustomizations: a, b, c, …)`` for a problem several builds met."""
    where = str(problem.loc) if problem.loc else "-"
    if kustomizations is None:
        kustomizations = [problem.kustomization] if problem.kustomization else []
    names = [str(ref) for ref in kustomizations]
    owner = ""
    if len(names) == 1:
        owner = f" (Kustomization {names[0]})"
    elif names:
        owner = f" ({several(names, 'Kustomizations')})"
    return f"{where}: {problem.severity.value} [{problem.code}] {problem.message}{owner}"


def problem_lines(problems: Iterable[Problem], verbose: bool = False, *, errors_only: bool = False) -> list[str]:
    """The lines for standard error: each problem once, with every build that met it;
    informational ones only when ``verbose``, errors alone with ``errors_only`` (-q)."""
    shown = (p for p in problems if visible(p, verbose, errors_only=errors_only))
    return [problem_line(g.problem, g.kustomizations) for g in group_by_place(shown)]


def problem_json(problem: Problem) -> dict[str, Any]:
    ks = problem.kustomization
    return {
        "severity": problem.severity.value,
        "code": problem.code,
        "message": problem.message,
        "file": problem.loc.file if problem.loc else None,
        "line": problem.loc.line if problem.loc else None,
        "column": problem.loc.col if problem.loc else None,
        "kustomization": ks_json(ks) if ks else None,
    }


def iter_json(result: RenderResult) -> Iterator[str]:
    """The JSON document in pieces, byte for byte what ``json.dumps(doc, indent=2)`` gives:
    thousands of apps print without the whole document in memory."""
    yield f'{{\n  "version": {JSON_VERSION},\n  "apps": '
    yield from _array(
        (
            {
                "app": app.app,
                "kustomization": ks_json(app.ks),
                "objects": [obj.node for obj in app.objects],  # jsontext writes trees as to_plain would
            }
            for app in result.apps
        ),
        bool(result.apps),
    )
    yield ',\n  "problems": '
    yield from _array((problem_json(p) for p in result.problems), bool(result.problems))
    yield "\n}\n"


def _array(items: Iterable[object], any_items: bool) -> Iterator[str]:
    """A list nested one level in the document, indented as json.dumps would."""
    if not any_items:
        yield "[]"
        return
    yield "["
    separator = "\n"
    for item in items:
        yield separator + "    " + jsontext.dumps(item, depth=2)
        separator = ",\n"
    yield "\n  ]"


def to_json(result: RenderResult) -> str:
    return "".join(iter_json(result))


def iter_yaml(result: RenderResult, dump: Callable[[Plain], str]) -> Iterator[str]:
    """One YAML stream; comments name each app and where each object comes from."""
    for app in result.apps:
        for obj in app.objects:
            source = f"{obj.origin}" if obj.origin else "-"
            header = f"# app: {app.app} (Kustomization {app.ks}, {app.ks.file})\n# source: {source}\n"
            yield "---\n" + header + dump(to_plain(obj.node))


def to_yaml(result: RenderResult, dump: Callable[[Plain], str]) -> str:
    return "".join(iter_yaml(result, dump))


def visible(problem: Problem, verbose: bool, *, errors_only: bool = False) -> bool:
    if errors_only:
        return problem.severity is Severity.ERROR
    return verbose or problem.severity is not Severity.INFO
