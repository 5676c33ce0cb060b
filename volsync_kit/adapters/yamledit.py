"""Minimal edits of a Flux Kustomization in a user's YAML file.

``wire_app`` adds a component and postBuild variables to one Kustomization
and leaves every other byte of the file alone.  Re-dumping a round-trip
tree is not minimal (ruamel.yaml re-flows flow sequences, moves comments
and rewrites ``---`` lines), so the file is edited as text instead:
ruamel.yaml's parser reports where each node starts and ends, and the edit
inserts or replaces only the lines of the keys it adds or changes, with the
indentation the file already uses.

Each edit is then checked: the result is parsed again and must hold the
same data as the original apart from the intended change, so a file shape
this module does not foresee ends in an :class:`EditError`, never in a
silently different manifest.  Plain scalars are typed as kustomize reads
them (:func:`volsync_kit.core.scalars.resolve_source`).
"""

from __future__ import annotations

import bisect
import copy
import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from volsync_kit.core.scalars import emitted_plain, resolve_source

_API_GROUP = "kustomize.toolkit.fluxcd.io/"
_STR_TAGS = frozenset({"tag:yaml.org,2002:str", "!"})
_BLOCK_STYLES = frozenset({"|", ">"})
_QUOTE_STYLES = frozenset({"'", '"'})
_KEEP_CHOMPING = re.compile(r"[|>](?:[1-9]?\+|\+[1-9])")
_DASH = re.compile(r"(.*)-( +)")
# Plain scalars that some YAML 1.1 readers type although Go's readers do not:
# timestamps and sexagesimal numbers.  They are quoted to be safe.
_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
# Inside [...] and {...} plain scalars are kept to characters that no YAML reader takes for syntax.
_FLOW_PLAIN = re.compile(r"[A-Za-z0-9_./~+=@$-]+")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}

# What the edit writes under a new key: a string, a list of strings or a mapping.
_New: TypeAlias = "str | list[str] | dict[str, _New]"


class EditError(Exception):
    """The file cannot be edited safely; the one-line message says what to do."""


@dataclass(eq=False)
class _Node:
    """One node of the parsed text, with the character range it covers."""

    kind: str  # "scalar", "map", "seq" or "alias"
    start: int
    end: int
    anchor: str | None = None
    tag: str | None = None
    style: str | None = None  # a scalar's style: None (plain), "'", '"', "|" or ">"
    flow: bool = False
    value: str = ""
    entries: list[tuple[_Node, _Node]] = field(default_factory=list)
    items: list[_Node] = field(default_factory=list)
    target: _Node | None = None  # the anchored node an alias refers to
    aliased: bool = False  # an alias refers to this node
    pending: _Node | None = None  # while parsing: a key still waiting for its value

    @property
    def resolved(self) -> _Node:
        return self.target if self.target is not None else self

    @property
    def empty(self) -> bool:
        """An empty plain scalar (``key:`` with nothing after it): its position is unreliable."""
        return self.kind == "scalar" and self.style is None and self.tag is None and self.start == self.end


class _Source:
    """The original text with line arithmetic on character indexes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0, *(i + 1 for i, char in enumerate(text) if char == "\n")]
        self.newline = "\r\n" if "\r\n" in text else "\n"

    def line_start(self, index: int) -> int:
        return self.starts[bisect.bisect_right(self.starts, index) - 1]

    def column(self, index: int) -> int:
        start = self.line_start(index)
        bom = 1 if start == 0 and self.text.startswith("\ufeff") else 0
        return index - start - bom

    def eol(self, index: int) -> int:
        """Where the line holding ``index`` ends, before its line break."""
        end = self.text.find("\n", index)
        if end < 0:
            return len(self.text)
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def next_line(self, eol: int) -> int:
        """The start of the line after the line break at ``eol`` (the text's length at the end)."""
        if self.text.startswith("\r\n", eol):
            return eol + 2
        return min(eol + 1, len(self.text))

    def same_line(self, a: int, b: int) -> bool:
        return self.line_start(a) == self.line_start(b)


def _describe(err: Exception) -> str:
    problem = getattr(err, "problem", None) or str(err).strip().splitlines()[0]
    context = getattr(err, "context", None)
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    message = f"{context}, {problem}" if context else str(problem)
    return f"the file is not valid YAML ({message}{where}); fix it first"


def _parse(text: str) -> list[_Node]:
    """Every document's root node, with positions, anchors and aliases."""
    from ruamel.yaml import YAML
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import YAMLError

    roots: list[_Node] = []
    stack: list[_Node] = []
    anchors: dict[str, _Node] = {}
    root: _Node | None = None

    def attach(node: _Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent = stack[-1]
        if parent.kind == "seq":
            parent.items.append(node)
        elif parent.pending is None:
            parent.pending = node
        else:
            parent.entries.append((parent.pending, node))
            parent.pending = None

    try:
        event: Any
        for event in YAML(typ="rt").parse(text):
            start: int = event.start_mark.index
            end: int = event.end_mark.index
            if isinstance(event, ev.DocumentStartEvent):
                anchors, root = {}, None
                continue
            if isinstance(event, ev.DocumentEndEvent):
                if root is not None:
                    roots.append(root)
                continue
            if isinstance(event, ev.CollectionEndEvent):
                stack.pop().end = end
                continue
            if isinstance(event, ev.AliasEvent):
                target = anchors.get(event.anchor)
                if target is None:
                    raise EditError(f"the alias *{event.anchor} has no anchor &{event.anchor} before it; fix the file")
                target.aliased = True
                node = _Node("alias", start, end, target=target)
            elif isinstance(event, ev.ScalarEvent):
                node = _Node("scalar", start, end, event.anchor, event.tag, event.style, value=event.value)
            elif isinstance(event, ev.SequenceStartEvent | ev.MappingStartEvent):
                kind = "seq" if isinstance(event, ev.SequenceStartEvent) else "map"
                node = _Node(kind, start, end, event.anchor, event.tag, flow=bool(event.flow_style))
            else:
                continue
            attach(node)
            if node.anchor is not None:
                anchors[node.anchor] = node
            if node.kind in ("seq", "map"):
                stack.append(node)
    except YAMLError as err:
        raise EditError(_describe(err)) from None
    return roots


def _string(node: _Node) -> str | None:
    """The string a scalar node holds as kustomize reads it, or None for anything else."""
    node = node.resolved
    if node.kind != "scalar":
        return None
    if node.tag is not None:
        return node.value if node.tag in _STR_TAGS else None
    if node.style is None:
        value = resolve_source(node.value)
        return value if isinstance(value, str) else None
    return node.value


def _is_null(node: _Node) -> bool:
    return node.kind == "scalar" and node.tag is None and node.style is None and resolve_source(node.value) is None


def _lookup(mapping: _Node, key: str, path: str) -> tuple[_Node, _Node] | None:
    found = [(k, v) for k, v in mapping.entries if k.resolved.kind == "scalar" and k.resolved.value == key]
    if len(found) > 1:
        raise EditError(f"{path} has the key {key!r} {len(found)} times; remove the duplicates")
    if any(k.resolved.kind == "scalar" and k.resolved.value == "<<" for k, _ in mapping.entries):
        raise EditError(f"{path} uses a YAML merge key (<<); edit this Kustomization by hand")
    return found[0] if found else None


def _get(mapping: _Node, key: str) -> _Node | None:
    """A value without checks, for telling documents apart."""
    for k, v in mapping.entries:
        if k.resolved.kind == "scalar" and k.resolved.value == key:
            return v.resolved
    return None


def _find(roots: list[_Node], name: str) -> tuple[int, _Node]:
    found: list[int] = []
    names: list[str] = []
    for index, root in enumerate(roots):
        if root.kind != "map":
            continue
        kind, api = _get(root, "kind"), _get(root, "apiVersion")
        if kind is None or api is None or _string(kind) != "Kustomization":
            continue
        if not (_string(api) or "").startswith(_API_GROUP):
            continue
        metadata = _get(root, "metadata")
        value = _get(metadata, "name") if metadata is not None and metadata.kind == "map" else None
        this = _string(value) if value is not None else None
        if this is None:
            continue
        names.append(this)
        if this == name:
            found.append(index)
    if not found:
        others = f"it has {', '.join(repr(n) for n in names)}" if names else "it has none"
        raise EditError(f"no Flux Kustomization named {name!r} in the file ({others}); check the name")
    if len(found) > 1:
        raise EditError(f"{len(found)} Kustomizations in the file are named {name!r}; edit it by hand")
    return found[0], roots[found[0]]


def _double_quoted(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def _plain_ok(text: str, flow: bool) -> bool:
    """Does ``text`` read back as this very string when written unquoted, by any YAML reader?"""
    if not emitted_plain(text) or not text.isprintable() or text == "=":
        return False
    if text[0] in "+-.0123456789" and (":" in text or _DATE.match(text)):
        return False
    return not flow or _FLOW_PLAIN.fullmatch(text) is not None


def _scalar(text: str, *, flow: bool = False, prefer: str | None = None, key: bool = False) -> str:
    """``text`` as a YAML string: in the style of the value it replaces, else plain when that is safe."""
    if prefer == "'" and text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    if prefer == '"' or (key and text == "<<") or not _plain_ok(text, flow):
        return _double_quoted(text)
    return text


def _flow(value: _New) -> str:
    if isinstance(value, str):
        return _scalar(value, flow=True)
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(item, flow=True) for item in value) + "]"
    return "{" + ", ".join(f"{_scalar(k, flow=True, key=True)}: {_flow(v)}" for k, v in value.items()) + "}"


@dataclass(frozen=True)
class _Indent:
    step: int  # a nested block mapping's indentation, relative to its key
    offset: int  # a block sequence's dash, relative to its key
    spacing: int  # from a dash to its item


class _Editor:
    """Plans the text edits for one Kustomization."""

    def __init__(self, src: _Source, roots: list[_Node], root: _Node, name: str) -> None:
        self.src = src
        self.name = name
        self.root = root
        self.edits: list[tuple[int, int, str]] = []
        self.added_component = False
        self.changed: dict[str, str] = {}
        self.indent = self._detect([root]) or self._detect(roots) or _Indent(2, 2, 2)

    # -- reading the file's layout --------------------------------------

    def _walk(self, node: _Node, depth: int = 0) -> Iterator[tuple[_Node, _Node]]:
        if depth > 200:
            raise EditError("the file is nested too deeply; edit it by hand")
        if node.kind == "map":
            for key, value in node.entries:
                yield key, value
                yield from self._walk(value, depth + 1)
        elif node.kind == "seq":
            for item in node.items:
                yield from self._walk(item, depth + 1)

    def _detect(self, roots: list[_Node]) -> _Indent | None:
        steps: Counter[int] = Counter()
        offsets: Counter[int] = Counter()
        spacings: Counter[int] = Counter()
        for root in roots:
            for key, value in self._walk(root):
                column = self.src.column(key.start)
                if value.kind == "map" and not value.flow and value.entries:
                    first = value.entries[0][0].start
                    if not self.src.same_line(key.start, first) and self.src.column(first) > column:
                        steps[self.src.column(first) - column] += 1
                elif value.kind == "seq" and not value.flow:
                    dash, spacing = self._dash(value)
                    if dash is not None and dash >= column:
                        offsets[dash - column] += 1
                    if spacing is not None:
                        spacings[spacing] += 1
        if not steps:
            return None
        step = steps.most_common(1)[0][0]
        offset = offsets.most_common(1)[0][0] if offsets else step
        spacing = spacings.most_common(1)[0][0] if spacings else 2
        return _Indent(step, offset, spacing)

    def _dash(self, seq: _Node) -> tuple[int | None, int | None]:
        """The column of a block sequence's dashes and the distance from a dash to its item."""
        first = seq.items[0] if seq.items else None
        if first is not None and not first.empty:
            prefix = self.src.text[self.src.line_start(first.start) : first.start]
            match = _DASH.fullmatch(prefix)
            if match:
                return self.src.column(first.start) - len(prefix) + len(match.group(1)), len(match.group(2)) + 1
        if seq.anchor is None and seq.tag is None:
            return self.src.column(seq.start), None
        return None, None

    def _content_end(self, node: _Node, path: str) -> int:
        """Where the text of a node ends, leaving out the comments and blank lines after it."""
        if node.kind == "alias" or node.flow:
            return node.end
        if node.kind == "scalar":
            if node.empty:
                raise EditError(f"{path} ends with an empty entry; remove it or fill it in")
            if node.style in _BLOCK_STYLES:
                span = self.src.text[node.start : node.end]
                keep = _KEEP_CHOMPING.search(span.split("\n", 1)[0]) is not None
                return node.start + len(span.rstrip(" \t") if keep else span.rstrip())
            return node.end
        if node.kind == "map":
            return self._entry_end(*node.entries[-1], path)
        return self._content_end(node.items[-1], path)

    def _entry_end(self, key: _Node, value: _Node, path: str) -> int:
        return key.end if value.empty else self._content_end(value, path)

    def _after(self, end: int, column: int) -> int:
        """The end of the line where ``end`` is, and of the comment lines indented deeper that follow it."""
        pos = self.src.eol(end - 1)
        text = self.src.text
        while pos < len(text):
            start = self.src.next_line(pos)
            line = text[start : self.src.eol(start)]
            stripped = line.lstrip(" ")
            if not stripped.startswith("#") or len(line) - len(stripped) <= column:
                break
            pos = self.src.eol(start)
        return pos

    def _before(self, index: int, column: int) -> int:
        """The start of the line where ``index`` is, and of the comment lines indented as deep or deeper above it."""
        start = self.src.line_start(index)
        while start > 0:
            above = self.src.line_start(start - 1)
            line = self.src.text[above : self.src.eol(above)]
            stripped = line.lstrip(" ")
            if not stripped.startswith("#") or len(line) - len(stripped) < column:
                break
            start = above
        return start

    # -- writing -----------------------------------------------------------

    def _lines(self, key: str, value: _New, column: int) -> list[str]:
        head = " " * column + _scalar(key, key=True) + ":"
        if isinstance(value, str):
            return [f"{head} {_scalar(value)}"]
        return [head, *self._value_lines(value, column)]

    def _value_lines(self, value: list[str] | dict[str, _New], column: int) -> list[str]:
        if isinstance(value, list):
            dash = " " * (column + self.indent.offset) + "-" + " " * (self.indent.spacing - 1)
            return [dash + _scalar(item) for item in value]
        return [line for k, v in value.items() for line in self._lines(k, v, column + self.indent.step)]

    def _insert(self, pos: int, lines: list[str]) -> None:
        self.edits.append((pos, 0, "".join(self.src.newline + line for line in lines)))

    def _check(self, chain: list[tuple[str, _Node]]) -> None:
        """Refuse to edit through an alias or a node that an alias shares: the change would show twice."""
        for path, node in chain:
            if node.kind == "alias":
                raise EditError(f"{path} is an alias (*{node.resolved.anchor}); edit the anchored node by hand")
            if node.aliased:
                raise EditError(f"{path} is anchored (&{node.anchor}) and used elsewhere; edit it by hand")

    def _add_entries(self, mapping: _Node, entries: dict[str, _New], path: str, *, ordered: bool) -> None:
        """Add keys to a mapping; where the keys are sorted, at their place in the order, else at the end."""
        if mapping.flow:
            text = ", ".join(f"{_scalar(k, flow=True, key=True)}: {_flow(v)}" for k, v in entries.items())
            if mapping.entries:
                self.edits.append((self._entry_end(*mapping.entries[-1], path), 0, ", " + text))
            else:
                self.edits.append((mapping.end - 1, 0, text))
            return
        keys = [k.resolved.value for k, _ in mapping.entries]
        at = len(keys)
        if ordered and keys == sorted(keys):
            at = bisect.bisect(keys, next(iter(entries)))
        first = mapping.entries[0][0].start
        column = self.src.column(first)
        lines = [line for k, v in entries.items() for line in self._lines(k, v, column)]
        if at == 0 and not self.src.text[self.src.line_start(first) : first].strip():
            start = self._before(first, column)
            self.edits.append((start, 0, "".join(line + self.src.newline for line in lines)))
            return
        key, value = mapping.entries[max(at, 1) - 1]
        self._insert(self._after(self._entry_end(key, value, path), column), lines)

    def _fill(self, key: _Node, null: _Node, content: list[str] | dict[str, _New], parent: _Node, path: str) -> None:
        """Give a key whose value is null the ``content``."""
        if not null.empty:
            self.edits.append((null.start, null.end - null.start, _flow(content)))
        elif parent.flow:
            raise EditError(f"{path} is empty; write a value for it or remove it")
        else:
            self._insert(self.src.eol(key.end - 1), self._value_lines(content, self.src.column(key.start)))

    def _replace(self, key: _Node, value: _Node, new: str, parent: _Node, path: str) -> None:
        if value.kind == "alias":
            self.edits.append((value.start, value.end - value.start, _scalar(new, flow=parent.flow)))
            return
        if value.kind != "scalar":
            raise EditError(f"{path} is not a string; fix it by hand")
        self._check([(path, value)])
        if value.empty:
            colon = self.src.text.find(":", key.end)
            if colon < 0 or self.src.text[key.end : colon].strip():
                raise EditError(f"{path} is empty; write a value for it or remove it")
            self.edits.append((colon + 1, 0, " " + _scalar(new, flow=parent.flow)))
            return
        prefix = f"&{value.anchor} " if value.anchor is not None else ""
        prefer = value.style if value.style in _QUOTE_STYLES else None
        end = self._content_end(value, path)
        self.edits.append((value.start, end - value.start, prefix + _scalar(new, flow=parent.flow, prefer=prefer)))

    # -- the edit ----------------------------------------------------------

    def spec(self) -> tuple[_Node, _Node]:
        found = _lookup(self.root, "spec", f"Kustomization {self.name!r}")
        if found is None or found[1].resolved.kind != "map":
            raise EditError(f"Kustomization {self.name!r} has no spec mapping; add its spec first")
        return found

    def wire_component(self, component: str) -> None:
        _, spec_ref = self.spec()
        spec = spec_ref.resolved
        found = _lookup(spec, "components", "spec")
        if found is None:
            self._check([("spec", spec_ref)])
            self._add_entries(spec, {"components": [component]}, "spec", ordered=True)
            self.added_component = True
            return
        key, ref = found
        value = ref.resolved
        if value.kind == "seq" and any(_string(item) == component for item in value.items):
            return
        self._check([("spec", spec_ref), ("spec.components", ref)])
        self.added_component = True
        if _is_null(value):
            self._fill(key, value, [component], spec, "spec.components")
        elif value.kind != "seq":
            raise EditError("spec.components is not a list; make it a list of paths")
        elif value.flow:
            last = value.items[-1] if value.items else None
            prefer = last.style if last is not None and last.style in _QUOTE_STYLES else None
            item = _scalar(component, flow=True, prefer=prefer)
            if last is None:
                self.edits.append((value.end - 1, 0, item))
            else:
                self.edits.append((self._content_end(last, "spec.components"), 0, ", " + item))
        else:
            last = value.items[-1]
            prefer = last.style if last.style in _QUOTE_STYLES else None
            dash, spacing = self._dash(value)
            if dash is None:
                raise EditError("cannot tell the indentation of spec.components; add the component by hand")
            line = " " * dash + "-" + " " * ((spacing or self.indent.spacing) - 1) + _scalar(component, prefer=prefer)
            self._insert(self._after(self._content_end(last, "spec.components"), dash), [line])

    def wire_variables(self, variables: Mapping[str, str]) -> None:
        if not variables:
            return
        wanted: dict[str, _New] = dict(variables)
        _, spec_ref = self.spec()
        spec = spec_ref.resolved
        chain = [("spec", spec_ref)]
        found = _lookup(spec, "postBuild", "spec")
        if found is None:
            self._check(chain)
            self._add_entries(spec, {"postBuild": {"substitute": wanted}}, "spec", ordered=True)
            self.changed = dict(variables)
            return
        key, ref = found
        post = ref.resolved
        chain.append(("spec.postBuild", ref))
        if _is_null(post):
            self._check(chain)
            self._fill(key, post, {"substitute": wanted}, spec, "spec.postBuild")
            self.changed = dict(variables)
            return
        if post.kind != "map":
            raise EditError("spec.postBuild is not a mapping; fix it by hand")
        found = _lookup(post, "substitute", "spec.postBuild")
        if found is None:
            self._check(chain)
            self._add_entries(post, {"substitute": wanted}, "spec.postBuild", ordered=True)
            self.changed = dict(variables)
            return
        key, ref = found
        subst = ref.resolved
        chain.append(("spec.postBuild.substitute", ref))
        if _is_null(subst):
            self._check(chain)
            self._fill(key, subst, wanted, post, "spec.postBuild.substitute")
            self.changed = dict(variables)
            return
        if subst.kind != "map":
            raise EditError("spec.postBuild.substitute is not a mapping; fix it by hand")
        missing: dict[str, _New] = {}
        for name, new in variables.items():
            path = f"spec.postBuild.substitute.{name}"
            entry = _lookup(subst, name, "spec.postBuild.substitute")
            if entry is None:
                missing[name] = new
            elif _string(entry[1]) != new:
                self._check(chain)
                self._replace(entry[0], entry[1], new, subst, path)
            else:
                continue
            self.changed[name] = new
        if missing:
            self._check(chain)
            self._add_entries(subst, missing, "spec.postBuild.substitute", ordered=False)


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply (start, length, replacement) edits; insertions at one place keep their order."""
    out: list[str] = []
    last = 0
    for start, length, replacement in sorted(edits, key=lambda edit: edit[0]):
        if start < last:
            raise EditError("the edits overlap; edit the file by hand")
        out += [text[last:start], replacement]
        last = start + length
    out.append(text[last:])
    return "".join(out)


def _data(node: _Node, active: frozenset[int] = frozenset()) -> Any:
    """Plain data for comparing two parses (NaN made comparable, recursion cut)."""
    node = node.resolved
    if id(node) in active:
        return ("<recursive>", node.anchor)
    active = active | {id(node)}
    if node.kind == "scalar":
        if node.tag is not None and node.tag not in _STR_TAGS:
            return ("<tagged>", node.tag, node.value)
        scalar = resolve_source(node.value) if node.tag is None and node.style is None else node.value
        return "<nan>" if isinstance(scalar, float) and math.isnan(scalar) else scalar
    if node.kind == "seq":
        return [_data(item, active) for item in node.items]
    out: dict[Any, Any] = {}
    seen: set[tuple[str, Any]] = set()  # typed, so that the keys true and 1 are told apart
    for key, value in node.entries:
        data = _data(key, active)
        if not (isinstance(data, str | int | float | bool | tuple) or data is None):
            data = repr(data)
        if (type(data).__name__, data) in seen:
            raise EditError(f"the file has the mapping key {data!r} twice in one mapping; remove the duplicate")
        seen.add((type(data).__name__, data))
        out[data] = _data(value, active)
    return out


def _expected(before: list[Any], index: int, editor: _Editor, component: str) -> list[Any]:
    expected = copy.deepcopy(before)
    spec = expected[index]["spec"]
    if editor.added_component:
        spec["components"] = [*(spec.get("components") or []), component]
    if editor.changed:
        post = spec.get("postBuild") or {}
        post["substitute"] = {**(post.get("substitute") or {}), **editor.changed}
        spec["postBuild"] = post
    return expected


def wire_app(text: str, *, kustomization: str, component: str, variables: Mapping[str, str]) -> str:
    """Return ``text`` (a YAML file, possibly multi-document) with the Flux Kustomization named
    ``kustomization`` (kind Kustomization, apiVersion kustomize.toolkit.fluxcd.io/*) changed so that:

    - ``spec.components`` contains ``component`` (appended if missing; the list is created if absent);
    - ``spec.postBuild.substitute`` maps every key of ``variables`` to its value.  A key that already
      holds the same string (``APP: *app`` with ``name: &app jellyfin`` holds "jellyfin") is left alone;
      a different value is replaced, quoted when YAML would read it as another type.

    Every other byte is unchanged: comments, key order, anchors and aliases, quoting, document
    markers, other documents, flow collections and indentation.  Returns ``text`` itself when
    nothing needs to change.  Raises :class:`EditError` when no such Kustomization is in the text,
    or when the edit cannot be made without touching more than the intended keys.
    """
    src = _Source(text)
    try:
        roots = _parse(text)
        index, root = _find(roots, kustomization)
        editor = _Editor(src, roots, root, kustomization)
        editor.wire_component(component)
        editor.wire_variables(variables)
        if not editor.edits:
            return text
        result = _apply(text, editor.edits)
        expected = _expected([_data(r) for r in roots], index, editor, component)
        try:
            after = [_data(r) for r in _parse(result)]
        except EditError:
            after = None
    except RecursionError:
        raise EditError("the file is nested too deeply; edit it by hand") from None
    if after != expected:
        raise EditError(
            f"cannot edit Kustomization {kustomization!r} without changing more than intended; edit by hand"
        )
    return result
