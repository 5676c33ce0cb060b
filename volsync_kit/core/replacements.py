"""kustomize's ``replacements``: copy one field of one object into fields of others.

Repositories use them to give every Flux Kustomization of a namespace folder
its ``targetNamespace`` from the folder's Namespace, which decides where an
app's claims land; so they are evaluated, following kubernetes-sigs/kustomize
``api/filters/replacement/replacement.go``:

* the source (``kind``, ``name``, ``namespace``, ``group``, ``version``) must
  select exactly one object; ``fieldPath`` defaults to ``metadata.name``;
* each target's ``select`` and ``reject`` choose objects; each of its
  ``fieldPaths`` is set to the source's value, the node copied as it is
  (an integer stays an integer);
* a missing target field fails the build unless ``options.create``;
* ``options.delimiter`` with ``options.index`` takes or replaces one part of
  a delimited string;
* field paths are dotted, with ``[key=value]`` picking a list element and a
  number an index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from volsync_kit.core.model import (
    Loc,
    Map,
    ModelError,
    Node,
    Resource,
    Scalar,
    ScalarValue,
    Seq,
    map_at,
    node_at,
    seq_at,
    str_at,
)
from volsync_kit.core.scalars import resolve_applied

_SEGMENT = re.compile(r"\[[^\]]*\]|[^.\[]+")
SELECTOR_FIELDS = ("group", "version", "kind", "name", "namespace")


def parse_path(path: str) -> list[str]:
    return [s for s in _SEGMENT.findall(path) if s]


def _matches(res: Resource, selector: Map) -> bool:
    api = res.api_version
    group, _, version = api.rpartition("/") if "/" in api else ("", "", api)
    have = {"group": group, "version": version, "kind": res.kind, "name": res.name, "namespace": res.namespace}
    for field in SELECTOR_FIELDS:
        wanted = str_at(selector, field)
        if wanted and have[field] != wanted:
            return False
    for field, where in (("labelSelector", "labels"), ("annotationSelector", "annotations")):
        wanted = str_at(selector, field)
        if wanted and not _labels_match(map_at(res.node, "metadata", where), wanted):
            return False
    return True


def _labels_match(values: Map | None, selector: str) -> bool:
    """Equality-based label selectors (``a=b,c!=d``, ``e``); set-based ones select nothing here."""
    have = {k: str(v.value) for k, v in (values.items.items() if values else ()) if isinstance(v, Scalar)}
    for term in (t.strip() for t in selector.split(",")):
        if "!=" in term:
            key, _, value = term.partition("!=")
            if have.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, _, value = term.partition("=")
            if have.get(key.strip()) != value.strip().lstrip("="):
                return False
        elif " " in term or term.startswith("!") or term not in have:
            return False
    return True


def _element(items: Sequence[Node], segment: str) -> int | None:
    inner = segment[1:-1]
    if "=" not in inner:
        return None
    key, _, value = inner.partition("=")
    for index, item in enumerate(items):
        if str_at(item, key) == value:
            return index
    return None


def get(node: Node | None, path: Sequence[str]) -> Node | None:
    for segment in path:
        if isinstance(node, Seq):
            index = _element(node.items, segment) if segment.startswith("[") else _index(segment, node)
            node = node.items[index] if index is not None else None
        elif isinstance(node, Map):
            node = node.items.get(segment.strip("[]") if segment.startswith("[") and "=" not in segment else segment)
        else:
            return None
    return node


def _index(segment: str, node: Seq) -> int | None:
    return int(segment) if segment.isdigit() and int(segment) < len(node.items) else None


def put(node: Node, path: Sequence[str], value: Node, create: bool) -> Node | None:
    """``node`` with ``value`` at ``path``; None when the path is missing and not ``create``."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, Seq):
        index = _element(node.items, head) if head.startswith("[") else _index(head, node)
        if index is None:
            return None
        child = put(node.items[index], rest, value, create)
        if child is None:
            return None
        items = list(node.items)
        items[index] = child
        return Seq(tuple(items), node.loc)
    if not isinstance(node, Map):
        return None
    key = head.strip("[]") if head.startswith("[") and "=" not in head else head
    current = node.items.get(key)
    if current is None or (isinstance(current, Scalar) and current.value is None and rest):
        if not create or head.startswith("["):
            return None
        current = Map({}, node.loc)
    child = put(current, rest, value, create)
    if child is None:
        return None
    return Map({**node.items, key: child}, node.loc, node.key_locs)


def _delimited(options: Map | None) -> tuple[str, int] | None:
    delimiter = str_at(options, "delimiter")
    if not delimiter:
        return None
    index = node_at(options, "index")
    return delimiter, index.value if isinstance(index, Scalar) and isinstance(index.value, int) else 0


def _source_value(resources: Sequence[Resource], source: Map, loc: Loc | None) -> Node:
    chosen = [r for r in resources if _matches(r, source)]
    label = "/".join(str_at(source, f) or "" for f in ("kind", "name") if str_at(source, f))
    if not chosen:
        raise ModelError("kustomize-build", f"replacements: nothing selected by source {label}", loc)
    if len(chosen) > 1:
        raise ModelError("kustomize-build", f"replacements: multiple matches for source {label}", loc)
    field = str_at(source, "fieldPath") or "metadata.name"
    found = get(chosen[0].node, parse_path(field))
    if found is None:
        raise ModelError("kustomize-build", f'replacements: fieldPath "{field}" is missing in source {label}', loc)
    delimited = _delimited(map_at(source, "options"))
    if delimited is not None and isinstance(found, Scalar):
        parts = str(found.value).split(delimited[0])
        if not 0 <= delimited[1] < len(parts):
            raise ModelError("kustomize-build", "replacements: options.index is out of bounds", loc)
        return Scalar(parts[delimited[1]], found.loc)
    return found


def apply(resources: list[Resource], replacement: Map) -> list[Resource]:
    """The objects after one replacement; raises ModelError where kustomize fails."""
    source = map_at(replacement, "source")
    if source is None:
        raise ModelError("kustomization-invalid", "replacements: a replacement needs a source", replacement.loc)
    value = _source_value(resources, source, replacement.loc)
    out = list(resources)
    for target in seq_at(replacement, "targets"):
        select = map_at(target, "select")
        if select is None:
            raise ModelError("kustomization-invalid", "replacements: a target needs select", target.loc)
        rejects = [r for r in seq_at(target, "reject") if isinstance(r, Map)]
        options = map_at(target, "options")
        flag = node_at(options, "create")
        create = isinstance(flag, Scalar) and flag.value is True
        for i, res in enumerate(out):
            if not _matches(res, select) or any(_matches(res, r) for r in rejects):
                continue
            node: Node = res.node
            for item in seq_at(target, "fieldPaths"):
                field = str(item.value) if isinstance(item, Scalar) else ""
                node = _set(node, field, value, options, create, item.loc)
            assert isinstance(node, Map)
            out[i] = res.with_node(node)
    return out


def _text(node: Node) -> str:
    value = node.value if isinstance(node, Scalar) else ""
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _set(node: Node, field: str, value: Node, options: Map | None, create: bool, loc: Loc | None) -> Node:
    path = parse_path(field)
    current = get(node, path)
    if isinstance(value, Scalar) and (current is None or isinstance(current, Scalar)):
        # replacement.go setFieldValue: into a scalar only the text is copied,
        # and the target keeps its tag; a created field has none, so the
        # YAML that Flux reads types it (as after substitution).
        text = _text(value)
        if current is not None and (isinstance(current.value, str) or current.value is None):
            typed: ScalarValue = text
        else:
            typed = resolve_applied(text)
        value = Scalar(typed, value.loc)
    delimited = _delimited(options)
    if delimited is not None:
        parts = _text(current).split(delimited[0]) if isinstance(current, Scalar) else [""]
        index = delimited[1]
        text = _text(value)
        if 0 <= index < len(parts):
            parts[index] = text
        elif index < 0:
            parts.insert(0, text)
        else:
            parts.append(text)
        value = Scalar(delimited[0].join(parts), value.loc)
    updated = put(node, path, value, create)
    if updated is None:
        raise ModelError("kustomize-build", f'unable to find field "{field}" in replacement target', loc)
    return updated
