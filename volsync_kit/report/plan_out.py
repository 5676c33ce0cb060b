"""``plan`` output: markdown for a commit message or PR, versioned JSON."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from volsync_kit.core.diff import Change
from volsync_kit.core.names import templated
from volsync_kit.core.planner import Danger, Plan, Step
from volsync_kit.report import jsontext, ks_json
from volsync_kit.report.tree_out import plan_diagram

JSON_VERSION = 2


def _short(ref: str) -> str:
    return ref[:12] if len(ref) == 40 else ref


def _fields(change: Change) -> str:
    """Every changed field; those that force the replacement in bold."""
    return ", ".join(f"**`{f.path}`**" if f.forces_replacement else f"`{f.path}`" for f in change.fields) or "-"


# kubectl's short names, as a person types them; other kinds keep their Kind.
SHORT_KIND = {"PersistentVolume": "pv", "PersistentVolumeClaim": "pvc"}
ACTIONS = ("replace", "update", "create", "delete")
_WORDS = {"replace": "to replace", "update": "to change in place", "create": "to create", "delete": "to delete"}


def summary_line(plan: Plan) -> str:
    """Terraform's ``Plan: 1 to add ...`` for volumes: counts first, then what needs a person."""
    counts: Counter[str] = Counter(c.action for c in plan.changes)
    parts = [", ".join(f"{counts[a]} {_WORDS[a]}" for a in ACTIONS)]
    apps = {c.app for c in plan.changes} | {f.app for f in plan.diff.failures}
    parts.append(_count(len(apps), "app"))
    parts.append(_count(len(plan.dangers), "danger"))
    parts.append(_count(len(plan.diff.failures), "render failure"))
    return "**Plan:** " + " · ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _names(names: Iterable[str], limit: int = 0) -> str:
    unique = list(dict.fromkeys(names))
    if limit and len(unique) > limit:
        return ", ".join(unique[:limit]) + f" and {len(unique) - limit} more"
    return ", ".join(unique)


def dangers_markdown(dangers: Iterable[Danger]) -> list[str]:
    """One bullet per code and sentence, most severe first, naming its apps."""
    groups: dict[tuple[str, str], list[Danger]] = {}
    for d in dangers:
        groups.setdefault((d.code, templated(d.message, d.app)), []).append(d)
    out: list[str] = []
    for (code, message), members in groups.items():
        if len(members) == 1:
            where = ", ".join(x for x in (members[0].app, members[0].object) if x)
            out.append(f"- **{code}**{f' ({where})' if where else ''}: {members[0].message}")
        else:
            apps = [d.app or d.object or "-" for d in members]
            out.append(f"- **{code}** ({_count(len(set(apps)), 'app')}: {_names(apps)}): {message}")
    return out


def _failures_markdown(plan: Plan) -> list[str]:
    """A problem in a shared file once, with every app it breaks."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for f in plan.diff.failures:
        at = " (at the base, so it is not compared)" if f.at == "base" else ""
        for p in f.problems:
            groups.setdefault((str(p.loc or "-"), p.message, at), []).append(f.app)
    return [
        f"- `{loc}` {message}{at} [{_count(len(set(apps)), 'app')}: {_names(apps, 8)}]"
        if len(set(apps)) > 1
        else f"- `{loc}` {message}{at} [{apps[0]}]"
        for (loc, message, at), apps in groups.items()
    ]


def _changes_table(plan: Plan) -> list[str]:
    # A repository of several clusters: say which one each change is in.
    clustered = any(c.ks.cluster for c in plan.changes)
    out = [
        "| cluster | app | object | namespace | action | fields |" if clustered
        else "| app | object | namespace | action | fields |",
        "|---|---|---|---|---|---|" if clustered else "|---|---|---|---|---|",
    ]  # fmt: skip
    previous: tuple[str, str] | None = None
    for c in plan.changes:
        action = f"{c.action} (pruned)" if c.action == "delete" and c.prune else c.action
        where = f"| {c.ks.cluster} " if clustered else ""
        kind = SHORT_KIND.get(c.kind, c.kind)
        # The app once per run of its rows, as a grouped table reads.
        app = "" if (c.ks.cluster, c.app) == previous else c.app
        previous = (c.ks.cluster, c.app)
        out.append(f"{where}| {app} | {kind}/{c.name} | {c.namespace or '-'} | {action} | {_fields(c)} |")
    return out


def to_markdown(plan: Plan) -> str:
    title = f"volsync-kit plan: {_short(plan.base)} -> {_short(plan.head)}"
    if plan.scenario:
        title = f"volsync-kit plan --scenario {plan.scenario} ({_short(plan.head)})"
    if plan.nothing_to_do:
        return f"{title}: nothing to do; no volume object changes.\n"
    out = [f"## {title}"]
    if not plan.scenario:
        out.append(summary_line(plan))
    if plan.dangers:
        out.append("### Dangers, most severe first")
        out.extend(dangers_markdown(plan.dangers))
        out.append("")
    if plan.diff.failures:
        out.append("### Render failures (nothing is pruned; fix these first)")
        out.extend(_failures_markdown(plan))
        out.append("")
    if plan.changes:
        apps = len({c.app for c in plan.changes})
        out.append(f"<details><summary>{_count(len(plan.changes), 'object')} in {_count(apps, 'app')}: "
                   "every field that changes (bold: forces the replacement)</summary>\n")  # fmt: skip
        out.extend(_changes_table(plan))
        notes = sorted(
            {f"`{f.path}`: {f.reason}" for c in plan.changes for f in c.fields if f.reason and not f.forces_replacement}
        )
        out.extend(f"\nNote: {n}" for n in notes)
        out.append("")
        diagram = plan_diagram(plan.changes, min_groups=2)
        if diagram:
            out.append(diagram)
        out.append("</details>\n")
    if plan.steps:
        out.append("### Checklist")
        clusters = sorted({c.ks.cluster for c in plan.changes if c.ks.cluster})
        if clusters:
            out.append(f"Run against the cluster{'s' if len(clusters) > 1 else ''} {', '.join(clusters)} "
                       "(select its kubectl context first).\n")  # fmt: skip
        if any(a.verb in ("suspend", "pause", "delete", "delete-stuck") for s in plan.steps for a in s.actions):
            out.append(
                "Run it as a script (`volsync-kit plan --format shell`): it remembers what it stops and restores "
                "exactly that, deletes only objects that still carry the base commit's values, and resumes with "
                "`--from STEP`."
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
    return jsontext.dumps(doc) + "\n"


# Over this, the commit message gets the summary and a pointer instead of the
# whole plan: a message is read in `git log`, and a 30 KB one buries the change.
COMMIT_MESSAGE_LIMIT = 20_000


def _short_markdown(plan: Plan, full_size: int) -> str:
    """The summary, the dangers and the failures, and how to print the rest."""
    out = [f"## volsync-kit plan: {_short(plan.base)} -> {_short(plan.head)}", summary_line(plan) + "\n"]
    if plan.dangers:
        out += ["### Dangers, most severe first", *dangers_markdown(plan.dangers), ""]
    if plan.diff.failures:
        out += ["### Render failures (nothing is pruned; fix these first)", *_failures_markdown(plan), ""]
    out.append(
        f"The full plan ({full_size // 1000} KB: every object, and the {len(plan.steps)}-step checklist) is too long "
        f"for a commit message. Print it with `volsync-kit plan --base {_short(plan.base)} --head <this commit>`, "
        "or run it with `--format shell`."
    )
    return "\n".join(out) + "\n"


def to_commit_message(plan: Plan, limit: int = COMMIT_MESSAGE_LIMIT) -> str:
    """The markdown plan, made safe for a commit message: git drops lines that
    start with its comment character, so headings become bold lines. Over
    ``limit`` bytes, the summary and dangers, and a pointer to the full plan."""
    text = to_markdown(plan)
    size = len(text.encode())
    if size > limit:
        text = _short_markdown(plan, size)
    lines = []
    for line in text.splitlines():
        stripped = line.lstrip("#").strip()
        lines.append(f"**{stripped}**" if line.startswith("#") else line)
    return "\n".join(lines).rstrip() + "\n"
