"""``tree`` output: a Unicode tree like the guide's, a Mermaid flowchart, versioned JSON;
and the compact Mermaid diagram of a plan's affected objects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from volsync_kit.core.diff import Change
from volsync_kit.core.tree import AppTree, LiveTrees, TreeNode, walk_nodes
from volsync_kit.report import jsontext, ks_json

JSON_VERSION = 2
MARKS = {"flux": "▸", "repository": "●", "volsync": "○", "cluster": "◇"}
LEGEND = "▸ Flux Kustomization   ● declared in the repository   ○ created by VolSync"
CLUSTER_LEGEND = "   ◇ in the cluster only"
UNCLAIMED = "not in git: in the cluster, rendered by no app drawn above"


def _label(node: TreeNode, *, namespace: bool) -> str:
    where = f"{node.namespace}/" if namespace and node.namespace else ""
    text = f"{node.kind} {where}{node.name}"
    if node.note:
        text += f" — {node.note}"
    if node.status:
        text += f" <{node.status}>"
    text += "".join(f" [drift: {d}]" for d in node.drift)
    if node.findings:
        text += f" [{', '.join(node.findings)}]"
    return text


def _lines(node: TreeNode, prefix: str, last: bool, top: bool) -> Iterable[str]:
    branch = "" if top else ("└── " if last else "├── ")
    yield f"{prefix}{branch}{MARKS[node.origin]} {_label(node, namespace=node.kind == 'Kustomization')}"
    inner = prefix if top else prefix + ("    " if last else "│   ")
    for index, child in enumerate(node.children):
        yield from _lines(child, inner, index == len(node.children) - 1, False)


def to_text(trees: list[AppTree], unclaimed: tuple[TreeNode, ...] = ()) -> str:
    """The trees; with doctor's ``unclaimed``, what no app renders, in a group of its own."""
    found_only = unclaimed or any(n.origin == "cluster" for t in trees for n in walk_nodes(t.root))
    out = [LEGEND + (CLUSTER_LEGEND if found_only else ""), ""]
    for tree in trees:
        out.append(f"# app {tree.app}")
        out.extend(_lines(tree.root, "", True, True))
        out.append("")
    if unclaimed:
        out.append(f"# {UNCLAIMED}")
        for node in unclaimed:
            out.extend(_lines(node, "", True, True))
        out.append("")
    return "\n".join(out)


def _escape(text: str) -> str:
    # Mermaid's entity codes keep quotes and angle brackets out of its parser.
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(trees: list[AppTree], unclaimed: tuple[TreeNode, ...] = ()) -> str:
    out = ["flowchart LR"]
    classes: dict[str, list[str]] = {"flux": [], "repository": [], "volsync": [], "cluster": []}
    ids: dict[tuple[str, str, str], str] = {}
    edges: set[str] = set()

    def visit(node: TreeNode, parent: str | None) -> None:
        key = node.ident
        new = key not in ids
        if new:
            ids[key] = f"n{len(ids)}"
            label = _escape(_label(node, namespace=node.kind == "Kustomization"))
            shape = f'(["{label}"])' if node.origin == "volsync" else f'["{label}"]'
            out.append(f"  {ids[key]}{shape}")
            classes[node.origin].append(ids[key])
        if parent is not None:
            edge = f"  {parent} --> {ids[key]}"
            if edge not in edges:
                edges.add(edge)
                out.append(edge)
        # Every app's tree starts at the shared Flux root, so each tree is walked
        # whole; nodes and edges already drawn are drawn once.
        for child in node.children:
            visit(child, ids[key])

    for tree in trees:
        visit(tree.root, None)
    for node in unclaimed:  # no app above them: unconnected boxes, marked by their class
        visit(node, None)
    out.append("  classDef flux fill:#eef,stroke:#447")
    out.append("  classDef repository fill:#efe,stroke:#474")
    out.append("  classDef volsync fill:#fff,stroke:#888,stroke-dasharray:4 3")
    if classes["cluster"]:
        out.append("  classDef cluster fill:#fdecea,stroke:#c62828")
    for origin, members in classes.items():
        if members:
            out.append(f"  class {','.join(members)} {origin}")
    return "\n".join(out) + "\n"


def node_json(node: TreeNode) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": node.kind,
        "name": node.name,
        "namespace": node.namespace or None,
        "origin": node.origin,
        "note": node.note,
        "status": node.status or None,
    }
    # doctor's overlay only: tree --format json keeps its shape.
    if node.findings:
        out["findings"] = list(node.findings)
    if node.drift:
        out["drift"] = list(node.drift)
    out["children"] = [node_json(c) for c in node.children]
    return out


def trees_json(trees: list[AppTree]) -> list[dict[str, Any]]:
    return [
        {
            "app": t.app,
            "kustomization": ks_json(t.ks),
            "tree": node_json(t.root),
        }
        for t in trees
    ]


def live_json(trees: LiveTrees) -> dict[str, Any]:
    """doctor --tree's part of its JSON: the apps' trees as tree --format json's "apps",
    and the repository volumes no app renders."""
    return {"trees": trees_json(list(trees.apps)), "unclaimed": [node_json(n) for n in trees.unclaimed]}


def to_json(trees: list[AppTree]) -> str:
    doc = {
        "version": JSON_VERSION,
        "apps": [
            {
                "app": t.app,
                "kustomization": ks_json(t.ks),
                "tree": node_json(t.root),
            }
            for t in trees
        ],
    }
    return jsontext.dumps(doc) + "\n"


# -- the plan's diagram ------------------------------------------------------------------------

ACTION_STYLE = {
    "create": "fill:#e6f4ea,stroke:#2e7d32",
    "update": "fill:#e3f2fd,stroke:#1565c0",
    "replace": "fill:#fff3e0,stroke:#ef6c00",
    "delete": "fill:#fdecea,stroke:#c62828",
}
MAX_NAMES = 6


def _template(change: Change) -> str:
    """The object's name with its app written ${APP}, so that apps changed the same way group."""
    name = change.name.replace(change.app, "${APP}") if change.app else change.name
    return f"{change.kind} {name}"


def plan_diagram(changes: Iterable[Change], *, min_groups: int = 1) -> str:
    """A Mermaid flowchart of the affected objects, one box per group of apps changed the
    same way, each object coloured by its action; "" when there are fewer groups than
    ``min_groups`` (one group says no more than the table beside it)."""
    by_app: dict[str, list[Change]] = {}
    for change in changes:
        by_app.setdefault(change.app, []).append(change)
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}  # (object template, action) -> apps
    for app, app_changes in sorted(by_app.items()):
        signature: tuple[tuple[str, str], ...] = tuple(sorted((_template(c), str(c.action)) for c in app_changes))
        groups.setdefault(signature, []).append(app)
    if len(groups) < max(min_groups, 1):
        return ""
    out = ["```mermaid", "flowchart LR"]
    used: set[str] = set()
    for number, (signature, apps) in enumerate(groups.items()):
        shown = ", ".join(apps[:MAX_NAMES]) + (f" and {len(apps) - MAX_NAMES} more" if len(apps) > MAX_NAMES else "")
        title = f"{len(apps)} app{'s' if len(apps) > 1 else ''}: {shown}"
        out.append(f'  subgraph g{number}["{_escape(title)}"]')
        for index, (template, action) in enumerate(signature):
            label = template if len(apps) > 1 else template.replace("${APP}", apps[0])
            out.append(f'    g{number}o{index}["{_escape(label)}<br/>{action}"]:::{action}')
            used.add(action)
        out.append("  end")
    out.extend(f"  classDef {action} {ACTION_STYLE[action]}" for action in ACTION_STYLE if action in used)
    out.append("```")
    return "\n".join(out) + "\n"
