"""kustomize patches: target selection, strategic-merge and JSON 6902.

Strategic merge is applied with JSON-merge semantics (maps merge, lists are
replaced, ``null`` deletes), plus the ``$patch: delete|replace`` directives.
That is exact for custom resources (ReplicationSource, Flux Kustomization…)
and for PersistentVolumes and PersistentVolumeClaims, whose list fields have
no merge keys.  Lists with merge keys in other built-in kinds (containers,
volumes) are not modelled; patches that touch them are reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from volsync_kit.core.model import Map, ModelError, Node, Resource, Scalar, Seq, map_at, str_at, to_plain

# Kinds whose list fields merge by key under strategic merge; patching a list
# in them is reported as not evaluated rather than silently replaced.
_MERGE_KEY_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet", "Service", "Ingress"}
)
_UNSUPPORTED_DIRECTIVES = ("$setElementOrder", "$retainKeys", "$deleteFromPrimitiveList")


def _anchored(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(f"^(?:{pattern})$")
    except re.error:
        return re.compile(re.escape(pattern))


def _match_labels(selector: str, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector syntax: ``a=b``, ``a!=b``, ``a``, ``!a``, ``a in (x,y)``."""
    for term in re.split(r",(?![^()]*\))", selector):
        term = term.strip()
        if not term:
            continue
        set_match = re.fullmatch(r"([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)", term)
        if set_match:
            key, op, values = set_match.groups()
            options = {v.strip() for v in values.split(",")}
            inside = key in labels and labels[key] in options
            if inside != (op == "in"):
                return False
        elif "!=" in term:
            key, value = (p.strip() for p in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (p.strip() for p in term.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def _string_map(node: Map | None) -> dict[str, str]:
    if node is None:
        return {}
    return {k: str(v.value) for k, v in node.items.items() if isinstance(v, Scalar) and v.value is not None}


def matches(target: Map, res: Resource) -> bool:
    """Does a patch ``target`` selector pick ``res``?  Names and namespaces
    match the current or the original value, as kustomize's selector does."""
    version = res.api_version.split("/")[-1] if res.api_version else ""
    checks: list[tuple[str, list[str]]] = [
        ("group", [res.group]),
        ("version", [version]),
        ("kind", [res.kind]),
        ("name", [res.name, res.original_name]),
        ("namespace", [res.namespace, res.original_namespace]),
    ]
    for field, candidates in checks:
        pattern = str_at(target, field)
        if pattern is None or pattern == "":
            continue
        regex = _anchored(pattern)
        if not any(regex.match(c) for c in candidates):
            return False
    label_sel = str_at(target, "labelSelector")
    if label_sel and not _match_labels(label_sel, _string_map(map_at(res.node, "metadata", "labels"))):
        return False
    ann_sel = str_at(target, "annotationSelector")
    return not (ann_sel and not _match_labels(ann_sel, _string_map(map_at(res.node, "metadata", "annotations"))))


def same_object(patch: Map, res: Resource) -> bool:
    """A strategic-merge patch without a target names its object itself."""
    if str_at(patch, "kind") != res.kind:
        return False
    name = str_at(patch, "metadata", "name")
    if name not in (res.name, res.original_name):
        return False
    namespace = str_at(patch, "metadata", "namespace")
    return namespace is None or namespace in (res.namespace, res.original_namespace)


# -- strategic merge --------------------------------------------------------


class Delete:
    """Returned by a merge when ``$patch: delete`` removes the whole object."""


def merge(base: Node | None, patch: Node, note: Callable[[str], None]) -> Node | Delete | None:
    if not isinstance(patch, Map):
        return patch
    directive = str_at(patch, "$patch")
    if directive == "delete":
        return Delete()
    body = {k: v for k, v in patch.items.items() if k != "$patch"}
    for key in body:
        if key.startswith(_UNSUPPORTED_DIRECTIVES):
            note(f"strategic-merge directive {key} is not evaluated")
    if directive == "replace" or not isinstance(base, Map):
        return Map({k: v for k, v in body.items() if not k.startswith("$")}, patch.loc)
    items = dict(base.items)
    for key, value in body.items():
        if key.startswith("$"):
            continue
        if isinstance(value, Scalar) and value.value is None:
            items.pop(key, None)
            continue
        merged = merge(items.get(key), value, note)
        if isinstance(merged, Delete):
            items.pop(key, None)
        elif merged is not None:
            items[key] = merged
    return Map(items, base.loc, base.key_locs)


def apply_strategic(res: Resource, patch: Map, note: Callable[[str], None]) -> Resource | None:
    """The patched resource, or None when the patch deletes it."""
    if res.kind in _MERGE_KEY_KINDS and _has_list(patch):
        note(f"strategic-merge list patch on {res.kind}/{res.name} is applied without merge keys")
    body = Map({k: v for k, v in patch.items.items() if k not in ("apiVersion", "kind")}, patch.loc)
    meta = map_at(body, "metadata")
    if meta is not None:
        # The patch's own name only selects; it never renames the target.
        kept = {k: v for k, v in meta.items.items() if k not in ("name", "namespace")}
        body = Map({**body.items, "metadata": Map(kept, meta.loc)}, body.loc)
    merged = merge(res.node, body, note)
    if isinstance(merged, Delete):
        return None
    assert isinstance(merged, Map)
    return res.with_node(merged)


def _has_list(node: Node) -> bool:
    if isinstance(node, Seq):
        return True
    if isinstance(node, Map):
        return any(_has_list(v) for v in node.items.values())
    return False


# -- JSON 6902 ----------------------------------------------------------------


def pointer_parts(path: str) -> list[str]:
    """The tokens of a JSON pointer (RFC 6901), unescaped; raises ValueError."""
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must start with /")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _get(node: Node, parts: list[str]) -> Node:
    for part in parts:
        if isinstance(node, Map) and part in node.items:
            node = node.items[part]
        elif isinstance(node, Seq) and part.isdigit() and int(part) < len(node.items):
            node = node.items[int(part)]
        else:
            raise ValueError("doc is missing path")
    return node


def _put(node: Node, parts: list[str], value: Node | None, *, insert: bool) -> Node:
    """Set (or remove, when value is None) the element at ``parts``."""
    head, rest = parts[0], parts[1:]
    if isinstance(node, Map):
        items = dict(node.items)
        if rest:
            if head not in items:
                raise ValueError("doc is missing path")
            items[head] = _put(items[head], rest, value, insert=insert)
        elif value is None:
            if head not in items:
                raise ValueError("doc is missing path")
            del items[head]
        else:
            if not insert and head not in items:
                raise ValueError("doc is missing path")
            items[head] = value
        return Map(items, node.loc)
    if isinstance(node, Seq):
        seq = list(node.items)
        if head == "-" and not rest and insert and value is not None:
            seq.append(value)
            return Seq(tuple(seq), node.loc)
        if not head.isdigit() or int(head) > len(seq) or (int(head) == len(seq) and not (insert and not rest)):
            raise ValueError("doc is missing path")
        index = int(head)
        if rest:
            seq[index] = _put(seq[index], rest, value, insert=insert)
        elif value is None:
            del seq[index]
        elif insert:
            seq.insert(index, value)
        else:
            seq[index] = value
        return Seq(tuple(seq), node.loc)
    raise ValueError("doc is missing path")


def apply_json6902(node: Map, ops: Seq) -> Map:
    """Apply RFC 6902 operations; raises ModelError the way kustomize fails."""
    current: Node = node
    for op_node in ops.items:
        op = str_at(op_node, "op") or ""
        path = str_at(op_node, "path") or ""
        value = op_node.items.get("value") if isinstance(op_node, Map) else None
        try:
            parts = pointer_parts(path)
            if not parts:
                raise ValueError("the root cannot be patched")
            if op in ("add", "replace"):
                if value is None:
                    raise ValueError(f"{op} needs a value")
                current = _put(current, parts, value, insert=op == "add")
            elif op == "remove":
                current = _put(current, parts, None, insert=False)
            elif op in ("move", "copy"):
                source = pointer_parts(str_at(op_node, "from") or "")
                moved = _get(current, source)
                if op == "move":
                    current = _put(current, source, None, insert=False)
                current = _put(current, parts, moved, insert=True)
            elif op == "test":
                if _plain_eq(_get(current, parts), value):
                    continue
                raise ValueError("testing value failed")
            else:
                raise ValueError(f"unexpected op {op!r}")
        except ValueError as err:
            raise ModelError("patch-failed", f"{op} operation does not apply: {err} at {path!r}", op_node.loc) from None
    assert isinstance(current, Map)
    return current


def _plain_eq(a: Node | None, b: Node | None) -> bool:
    return to_plain(a) == to_plain(b)
