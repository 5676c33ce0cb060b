"""``plan`` output: markdown for a commit message or PR, versioned JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from volsync_kit.core.diff import Change
from volsync_kit.core.planner import Plan, Step
from volsync_kit.report import ks_json
from volsync_kit.report.tree_out import plan_diagram

JSON_VERSION = 2


def _short(ref: str) -> str:
    return ref[:12] if len(ref) == 40 else ref


def _forcing(change: Change) -> str:
    fields = [f.path for f in change.fields if f.forces_replacement]
    if change.action == "update":
        fields = [f.path for f in change.fields]
    return ", ".join(f"`{f}`" for f in fields) or "-"


def to_markdown(plan: Plan) -> str:
    title = f"volsync-kit plan: {_short(plan.base)} -> {_short(plan.head)}"
    if plan.scenario:
        title = f"volsync-kit plan --scenario {plan.scenario} ({_short(plan.head)})"
    if plan.nothing_to_do:
        return f"{title}: nothing to do; no volume object changes.\n"
    out = [f"## {title}\n"]
    if plan.dangers:
        out.append("### Dangers\n")
        for d in plan.dangers:
            where = ", ".join(x for x in (d.app, d.object) if x)
            out.append(f"- **{d.code}**{f' ({where})' if where else ''}: {d.message}")
        out.append("")
    if plan.diff.failures:
        out.append("### Render failures (nothing is pruned; fix these first)\n")
        for f in plan.diff.failures:
            at = " at the base, so it is not compared" if f.at == "base" else ""
            for p in f.problems:
                out.append(f"- {f.app} (Kustomization {f.ks}{at}): `{p.loc or '-'}` {p.message}")
        out.append("")
    if plan.changes:
        out.append("### Changes\n")
        # A repository of several clusters: say which one each change is in.
        clustered = any(c.ks.cluster for c in plan.changes)
        out.append(
            "| cluster | app | object | namespace | action | fields |"
            if clustered
            else "| app | object | namespace | action | fields |"
        )
        out.append("|---|---|---|---|---|---|" if clustered else "|---|---|---|---|---|")
        for c in plan.changes:
            action = f"{c.action} (pruned)" if c.action == "delete" and c.prune else c.action
            where = f"| {c.ks.cluster} " if clustered else ""
            out.append(f"{where}| {c.app} | {c.kind}/{c.name} | {c.namespace or '-'} | {action} | {_forcing(c)} |")
        notes = sorted(
            {f"`{f.path}`: {f.reason}" for c in plan.changes for f in c.fields if f.reason and not f.forces_replacement}
        )
        out.extend(f"\nNote: {n}" for n in notes)
        out.append("")
        out.append(plan_diagram(plan.changes))
    if plan.steps:
        out.append("### Checklist\n")
        clusters = sorted({c.ks.cluster for c in plan.changes if c.ks.cluster})
        if clusters:
            out.append(f"Run against the cluster{'s' if len(clusters) > 1 else ''} {', '.join(clusters)} "
                       "(select its kubectl context first).\n")  # fmt: skip
        if any(a.verb in ("suspend", "pause", "delete", "delete-stuck") for s in plan.steps for a in s.actions):
            out.append(
                "Run it as a script (`volsync-kit plan --format shell`): it remembers what it stops and restores "
                "exactly that, deletes only objects that still carry the base commit's values, and resumes with "
                "`--from STEP`.\n"
            )
        out.extend(steps_markdown(plan.steps, bold=True))
        out.append("")
    return "\n".join(out)


def steps_markdown(steps: Iterable[Step], *, bold: bool, fence: str = "bash") -> list[str]:
    """A numbered checklist: each step's title, its commands in a code block, its notes."""
    out: list[str] = []
    for number, step in enumerate(steps, start=1):
        out.append(f"{number}. **{step.title}**" if bold else f"{number}. {step.title}")
        if step.commands:
            out.append(f"   ```{fence}")
            out.extend(f"   {command}" for command in step.commands)
            out.append("   ```")
        out.extend(f"   - {note}" for note in step.notes)
    return out


def _change_json(c: Change, dangers: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "app": c.app,
        "kustomization": ks_json(c.ks),
        "kind": c.kind,
        "name": c.name,
        "namespace": c.namespace or None,
        "action": c.action,
        "prune": c.prune,
        "fields": [
            {"path": f.path, "before": f.before, "after": f.after, "forces_replacement": f.forces_replacement}
            for f in c.fields
        ],
        "danger": dangers.get(c.label, []),
    }


def to_json(plan: Plan) -> str:
    by_object: dict[str, list[str]] = {}
    for d in plan.dangers:
        if d.object:
            by_object.setdefault(d.object, []).append(d.code)
    doc = {
        "version": JSON_VERSION,
        "scenario": plan.scenario,
        "base": plan.base,
        "head": plan.head,
        "changes": [_change_json(c, by_object) for c in plan.changes],
        "dangers": [{"code": d.code, "message": d.message, "app": d.app, "object": d.object} for d in plan.dangers],
        "failures": [
            {
                "app": f.app,
                "at": f.at,
                "kustomization": ks_json(f.ks),
                "problems": [
                    {"code": p.code, "message": p.message, "file": p.loc.file if p.loc else None,
                     "line": p.loc.line if p.loc else None}
                    for p in f.problems
                ],
            }
            for f in plan.diff.failures
        ],
        "steps": [
            {"title": s.title, "kind": s.kind, "commands": list(s.commands), "notes": list(s.notes),
             "actions": [a.to_json() for a in s.actions]}
            for s in plan.steps
        ],
    }  # fmt: skip
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_commit_message(plan: Plan) -> str:
    """The markdown plan, made safe for a commit message: git drops lines that
    start with its comment character, so headings become bold lines."""
    lines = []
    for line in to_markdown(plan).splitlines():
        stripped = line.lstrip("#").strip()
        lines.append(f"**{stripped}**" if line.startswith("#") else line)
    return "\n".join(lines).rstrip() + "\n"
