"""Reading YAML into located trees: the one module that imports PyYAML.

lint, render and plan read many files on every commit, so they use PyYAML's
libyaml-backed composer, which keeps each node's line and column at a
fraction of ruamel.yaml's round-trip cost (issue 6 measured 0.73 s against
27 s for 6,000 files).  ruamel.yaml is kept for ``generate``, which must
preserve comments when it edits a user's file.

Implicit typing is switched off in the parser and done by
:func:`volsync_kit.core.scalars.resolve_source`, because kustomize types
scalars by YAML 1.2 rules (``yes`` is a string) while PyYAML uses YAML 1.1.

An anchor name may be defined again; a later alias then refers to the latest
definition, as in the Go libraries Flux and kustomize read YAML with
(see :class:`_ReusingLoader`).  PyYAML refuses that, so such a file is
composed a second time by a loader that allows it.
"""

from __future__ import annotations

import codecs
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.events import AliasEvent

from volsync_kit.core.model import Dollar, LazyMap, LazySeq, Loc, Map, ModelError, Node, Scalar, ScalarValue, Seq
from volsync_kit.core.ports import Document
from volsync_kit.core.scalars import resolve_source

try:  # the C extension; the pure-Python loader is the slow fallback
    _BaseLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


class _Loader(_BaseLoader):  # type: ignore[misc]
    pass


# No implicit resolvers: every plain scalar arrives tagged as a string, and
# the core types it (see the module docstring).
_Loader.yaml_implicit_resolvers = {}

_DEFAULT_TAGS = {
    yaml.ScalarNode: "tag:yaml.org,2002:str",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


def _resolve(self: object, kind: type, value: object, implicit: object) -> str:
    # PyYAML calls this for every untagged node, in Python; with no implicit
    # resolvers its answer is only the default tag of the node kind.
    return _DEFAULT_TAGS[kind]


_Loader.resolve = _resolve


class _ReusingComposer(Composer):
    """PyYAML's composer, letting a redefined anchor replace the earlier one.

    go-yaml v3, which kyaml reads kustomize's resources with, records each
    anchor as its node is parsed (``p.anchors[n.Anchor] = n`` in
    ``parser.go``) and resolves an alias by looking the name up at that
    point, so an alias refers to the latest definition before it; the go-yaml
    v2 fork under sigs.k8s.io/yaml, which reads kustomization files and
    Flux's substituted output, does the same.  PyYAML's ``compose_node``
    raises "found duplicate anchor" instead; forgetting the earlier
    definition just before it runs gives the Go behaviour.  Checked with
    kustomize v5.5 (``kubectl kustomize``): ``{a: &x 1, b: *x, c: &x 2,
    d: *x}`` builds as ``{a: 1, b: 1, c: 2, d: 2}``.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        # check_event and peek_event come from the parser the loader mixes in.
        this: Any = self
        if not this.check_event(AliasEvent):
            anchor = this.peek_event().anchor
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


class _ReusingLoader(_ReusingComposer, _Loader):
    """libyaml's parser (events from C) under the Python composer above: only
    files that reuse an anchor name pay for composing in Python."""

    def __init__(self, stream: str) -> None:
        # The C loader's own composer state is not reachable from Python;
        # the Python composer keeps its anchors in the instance instead.
        _BaseLoader.__init__(self, stream)
        self.anchors: dict[str, yaml.Node] = {}


class _AnchorReused(Exception):
    """The fast loader met a redefined anchor; compose again with _ReusingLoader."""


MAX_DEPTH = 200
# Nodes a document may expand to through aliases ("billion laughs"): sharing
# keeps parsing linear, but every consumer that walks or prints the tree would
# pay the expanded size.
MAX_EXPANDED_NODES = 1_000_000
# libyaml reports the plain style as "", the pure-Python parser as None.
_PLAIN = (None, "")

_STR = "tag:yaml.org,2002:str"
_TAG_TYPES = {
    "tag:yaml.org,2002:int": int,
    "tag:yaml.org,2002:float": float,
}


def decode(data: bytes, file: str) -> str:
    """Decode a file as UTF-8, the only encoding kustomize reads."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ModelError("encoding", "file is UTF-16; save it as UTF-8", Loc(file, 1, 1))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ModelError(
            "encoding",
            f"file is not valid UTF-8 (byte 0x{data[err.start]:02x}); save it as UTF-8",
            Loc(file, line, col),
        ) from None


class _Converter:
    def __init__(self, file: str, line_offset: int = 0, col_offset: int = 0) -> None:
        self.file = file
        self.line_offset = line_offset
        self.col_offset = col_offset
        # Aliases point at one composed node; converting it once and sharing
        # the (immutable) result keeps alias-heavy files linear.  The source
        # node is kept alive with its result so that its id is not reused.
        self.seen: dict[int, tuple[yaml.Node, Node]] = {}
        self.weight: dict[int, int] = {}  # expanded node count below each converted node

    def loc(self, node: yaml.Node) -> Loc:
        mark = node.start_mark
        return Loc(self.file, mark.line + 1 + self.line_offset, mark.column + 1 + self.col_offset)

    def convert(self, node: yaml.Node, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise ModelError("yaml-depth", f"nesting deeper than {MAX_DEPTH} levels", self.loc(node))
        key = id(node)
        if key in self.seen:
            return self.seen[key][1]
        if isinstance(node, yaml.ScalarNode):
            result: Node = Scalar(self.scalar(node), self.loc(node))
            children: list[yaml.Node] = []
        elif isinstance(node, yaml.SequenceNode):
            items = tuple(self.convert(child, depth + 1) for child in node.value)
            result = Seq(items, self.loc(node), all(_vars_free(item) for item in items))
            children = list(node.value)
        else:
            assert isinstance(node, yaml.MappingNode)
            result = self.mapping(node, depth)
            children = [value for _, value in node.value]
        weight = 1 + sum(self.weight.get(id(child), 1) for child in children)
        if weight > MAX_EXPANDED_NODES:
            raise ModelError(
                "yaml-aliases",
                f"aliases expand this document past {MAX_EXPANDED_NODES:,} nodes (an alias bomb?); "
                "write the values out or use fewer nested aliases",
                self.loc(node),
            )
        self.weight[key] = weight
        self.seen[key] = (node, result)
        return result

    def scalar(self, node: yaml.ScalarNode) -> ScalarValue:
        text: str = node.value
        if node.style in _PLAIN and node.tag == _STR:
            return resolve_source(text)
        if node.tag in _TAG_TYPES:
            try:
                return _TAG_TYPES[node.tag](text)  # type: ignore[no-any-return]
            except ValueError:
                raise ModelError("yaml-syntax", f"cannot read {text!r} as {node.tag}", self.loc(node)) from None
        if node.tag == "tag:yaml.org,2002:bool":
            return text.lower() == "true"
        if node.tag == "tag:yaml.org,2002:null":
            return None
        return text

    def mapping(self, node: yaml.MappingNode, depth: int) -> Map:
        items: dict[str, Node] = {}
        key_locs: dict[str, Loc] = {}
        merged: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "<<" and key_node.style in _PLAIN:
                merged.update(self.merge_source(value_node, depth))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise ModelError("yaml-syntax", "mapping keys must be scalars", self.loc(key_node))
            value = self.scalar(key_node)
            key = key_node.value if value is None or isinstance(value, str) else str(value)
            if key in items:
                first = items[key].loc
                raise ModelError(
                    "yaml-duplicate-key",
                    f'mapping key "{key}" already defined at line {first.line if first else "?"}',
                    self.loc(key_node),
                )
            items[key] = self.convert(value_node, depth + 1)
            key_locs[key] = self.loc(key_node)
        if merged:
            items = {**merged, **items}
        vars_free = all("$" not in key for key in items) and all(_vars_free(value) for value in items.values())
        return Map(items, self.loc(node), key_locs, vars_free)

    def merge_source(self, node: yaml.Node, depth: int) -> dict[str, Node]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        out: dict[str, Node] = {}
        for source in reversed(sources):
            converted = self.convert(source, depth + 1)
            if not isinstance(converted, Map):
                raise ModelError("yaml-syntax", "a merge key (<<) needs a mapping", self.loc(source))
            out.update(converted.items)
        return out


def _vars_free(node: Node) -> bool:
    if isinstance(node, Scalar):
        return not (isinstance(node.value, str) and "$" in node.value)
    return node.vars_free


def _syntax_error(err: yaml.YAMLError, text: str, file: str, line_offset: int) -> ModelError:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    message = f"{context}, {problem}" if context else str(problem)
    loc = Loc(file, mark.line + 1 + line_offset, mark.column + 1) if mark else Loc(file, 1 + line_offset, 1)
    if _is_tab(message, text, mark):
        return ModelError("yaml-tab", f"invalid YAML: a tab character where only spaces are allowed ({message})", loc)
    return ModelError("yaml-syntax", f"invalid YAML: {message}", loc)


def _is_tab(message: str, text: str, mark: Any) -> bool:
    """libyaml names tabs in some messages only; otherwise look at the character."""
    if "tab character" in message or "'\\t'" in message:
        return True
    if mark is None:
        return False
    line: int = mark.line
    column: int = mark.column
    lines = text.splitlines()
    return line < len(lines) and lines[line][column : column + 1] == "\t"


def load_documents(text: str, file: str, *, line_offset: int = 0, col_offset: int = 0) -> tuple[Document, ...]:
    """Every document of a YAML stream, as located trees (None when empty).

    Results are immutable and shared by content: ``plan`` reads the same file
    from the base commit and the working tree, and parses it once.  Objects
    of kinds nothing reads inside are lean (see :func:`_lean`), unless
    ``$VOLSYNC_KIT_FULL_MODEL`` is ``1``.
    """
    return _load_shared(text, file, line_offset, col_offset, LEAN)


FULL_MODEL_ENV = "VOLSYNC_KIT_FULL_MODEL"
# The switch exists to show that the lean model gives the same results (the
# equivalence tests set it, or this attribute, for one run).
LEAN = os.environ.get(FULL_MODEL_ENV) != "1"


@functools.lru_cache(maxsize=32768)
def _load_shared(text: str, file: str, line_offset: int, col_offset: int, lean: bool = True) -> tuple[Document, ...]:
    return _load(text, file, line_offset, col_offset, lean)


def _load(text: str, file: str, line_offset: int, col_offset: int, lean: bool = False) -> tuple[Document, ...]:
    try:
        return _load_with(_Loader, text, file, line_offset, col_offset, lean)
    except _AnchorReused:
        return _load_with(_ReusingLoader, text, file, line_offset, col_offset, lean)


def _load_with(
    loader: Any, text: str, file: str, line_offset: int, col_offset: int, lean: bool = False
) -> tuple[Document, ...]:
    converter = _Converter(file, line_offset, col_offset)
    docs: list[Document] = []
    # Shared by every lazy node of the file: pickled once per cache entry.
    source = _Source(text, file, line_offset, col_offset, loader is _ReusingLoader) if lean else None
    aliases = lean and "*" in text
    no_dollar = lean and _no_dollar(text)
    try:
        for index, root in enumerate(yaml.compose_all(text, Loader=loader)):
            if root is None:
                continue
            loc = converter.loc(root)
            if isinstance(root, yaml.ScalarNode) and root.value == "" and root.style in _PLAIN:
                docs.append(Document(None, loc))
                continue
            node = _lean(root, converter, source, index, aliases, no_dollar) if source is not None else None
            docs.append(Document(node if node is not None else converter.convert(root), loc))
    except yaml.YAMLError as err:
        if _is_reused_anchor(err) and loader is _Loader:
            # Documents converted so far are converted again, with the same
            # outcome: the first pass raised no error before this point.
            raise _AnchorReused from None
        raise _syntax_error(err, text, file, line_offset) from None
    except RecursionError:
        raise ModelError("yaml-depth", "document nested too deeply", Loc(file, 1 + line_offset, 1)) from None
    return tuple(docs)


# -- the lean model ----------------------------------------------------------------
#
# Converting every node of every file into located nodes was most of a cold
# run, and most of those nodes are HelmRelease values that no rule reads.  A
# document of another kind than these is lean: its identity (apiVersion, kind,
# metadata) and top-level scalars are converted as usual, and each other
# top-level value is a LazyMap/LazySeq (volsync_kit.core.model) that converts
# one level when something first reads inside it.  A lean document reads the
# same as a converted one to every reader; only the work differs.

# Kinds whose contents rendering, rules, plans, variables and entry detection
# read: converted whole, as before.  Any kind may still be read lazily (a
# patch, a replacement, a checklist reading HelmRelease values), so this list
# decides speed, never results.
EAGER_KINDS = frozenset(
    {
        "PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination",
        "StorageClass", "VolumeSnapshotClass", "VolumeSnapshot",
        "ConfigMap", "Secret", "ExternalSecret", "ClusterExternalSecret",
        "Kustomization", "Component", "FluxInstance", "GitRepository", "OCIRepository", "Bucket",
        "List",
    }
)  # fmt: skip
_IDENTITY = frozenset({"apiVersion", "kind", "metadata"})
# A plain key starting with one of these may be typed (a number, a boolean),
# and is then written as the typed value, as the converter does.
_MAYBE_TYPED = frozenset("+-.0123456789tTfF")
# Tags the converter gives a value other than a string (which holds no "$").
_TYPED_TAGS = frozenset({*_TAG_TYPES, "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"})
# Double-quoted escapes that write a "$" without the character itself.
_DOLLAR_ESCAPES = ("\\x24", "\\u0024", "\\U00000024")


def _no_dollar(text: str) -> bool:
    """No scalar or key of ``text`` can hold a "$": every node is vars_free."""
    return "$" not in text and not any(escape in text for escape in _DOLLAR_ESCAPES)


class _NotLean(Exception):
    """The document may fail to convert: it is converted whole, which raises
    exactly the error the full model raises."""


@dataclass(frozen=True, slots=True)
class _Source:
    """The text a file's lazy nodes come from; pickled with them, once per
    cache entry, so that an unpickled lazy node can still be built."""

    text: str
    file: str
    line_offset: int
    col_offset: int
    reusing: bool  # composed by _ReusingLoader (an anchor name defined twice)


def _lean(
    root: yaml.Node, converter: _Converter, source: _Source, index: int, aliases: bool, no_dollar: bool
) -> Map | None:
    """The lean tree of a document, or None when it is converted whole: it is
    no mapping, has no kind or one in EAGER_KINDS, or its conversion might
    fail (:func:`_check`)."""
    if not isinstance(root, yaml.MappingNode):
        return None
    kind = None
    for key_node, value_node in root.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == "kind":
            kind = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
    if kind is None or kind in EAGER_KINDS:
        return None
    walk = _Walk(converter, aliases, no_dollar)
    try:
        walk.check(root, 0)
    except _NotLean:
        return None
    items: dict[str, Node] = {}
    key_locs: dict[str, Loc] = {}
    for position, (key_node, value_node) in enumerate(root.value):
        key = _key_text(key_node)
        if key in _IDENTITY or isinstance(value_node, yaml.ScalarNode):
            items[key] = converter.convert(value_node, 1)
        else:
            dollars = walk.below.get(id(value_node), ())
            items[key] = _lazy(value_node, _Pending(source, index, (position,), dollars), converter.loc(value_node))
        key_locs[key] = converter.loc(key_node)
    # As the converter flags it; a lazy value answers without being built.
    vars_free = all("$" not in key for key in items) and all(_vars_free(value) for value in items.values())
    return Map(items, converter.loc(root), key_locs, vars_free)


def _lazy(node: yaml.Node, pending: _Pending, loc: Loc) -> Node:
    return LazyMap.of(pending, loc) if isinstance(node, yaml.MappingNode) else LazySeq.of(pending, loc)


def _key_text(node: yaml.ScalarNode) -> str:
    """A mapping key as the converter writes it (a checked document's keys
    are untagged scalars)."""
    text: str = node.value
    if node.style in _PLAIN and text and text[0] in _MAYBE_TYPED:
        value = resolve_source(text)
        if value is not None and not isinstance(value, str):
            return str(value)
    return text


class _Walk:
    """One pass over a composed document, cheaper than converting it.

    :meth:`check` raises _NotLean wherever converting might raise (a tagged
    key or number, a merge key, a deep or heavy tree: anything unusual is left
    to the converter) and notes, for each collection, the keys and string
    scalars below it that hold a "$", in the order substitution meets them
    (see Dollar in volsync_kit.core.model): what post-build substitution
    needs to fail or warn as it would on the whole tree, without building it.
    """

    def __init__(self, converter: _Converter, aliases: bool, no_dollar: bool) -> None:
        self.loc = converter.loc
        self.no_dollar = no_dollar
        # A node reached again through an alias is weighed once, as the
        # converter does; None when the file has no alias.
        self.seen: dict[int, int] | None = {} if aliases else None
        self.dollars: list[Dollar] = []
        self.below: dict[int, tuple[Dollar, ...]] = {}  # by collection, when not empty

    def check(self, node: yaml.Node, depth: int) -> int:
        """The weight the converter gives ``node`` (see MAX_EXPANDED_NODES)."""
        if depth >= MAX_DEPTH:
            raise _NotLean
        seen = self.seen
        if seen is not None and id(node) in seen:
            below = self.below.get(id(node))
            if below:
                self.dollars.extend(below)  # substitution walks a shared subtree at each place
            return seen[id(node)]
        first = len(self.dollars)
        weight = 1
        no_dollar = self.no_dollar
        if isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                    raise _NotLean
                key: str = key_node.value
                if key_node.style in _PLAIN:
                    if key == "<<":
                        raise _NotLean
                    if key and key[0] in _MAYBE_TYPED:
                        key = _key_text(key_node)
                if key in keys:
                    raise _NotLean
                keys.add(key)
                if not no_dollar and "$" in key:
                    self.dollars.append((key, self.loc(key_node), True))
                weight += self.value(value_node, depth)
        else:
            for item in node.value:
                weight += self.value(item, depth)
        if weight > MAX_EXPANDED_NODES:
            raise _NotLean
        if len(self.dollars) > first:
            self.below[id(node)] = tuple(self.dollars[first:])
        if seen is not None:
            seen[id(node)] = weight
        return weight

    def value(self, node: yaml.Node, depth: int) -> int:
        if not isinstance(node, yaml.ScalarNode):
            return self.check(node, depth + 1)
        tag = node.tag
        if tag in _TAG_TYPES:
            raise _NotLean
        if not self.no_dollar and "$" in node.value and tag not in _TYPED_TAGS:
            self.dollars.append((node.value, self.loc(node), False))
        return 1


class _Composed:
    """A lean document composed again, to build its lazy nodes."""

    def __init__(self, source: _Source, index: int) -> None:
        # It parsed before, so it does again, with the same loader.
        loader = _ReusingLoader if source.reusing else _Loader
        self.root: yaml.Node | None = None
        for at, root in enumerate(yaml.compose_all(source.text, Loader=loader)):
            if at == index:
                self.root = root
                break
        self.converter = _Converter(source.file, source.line_offset, source.col_offset)
        self.no_dollar = _no_dollar(source.text)
        self.below: dict[int, tuple[Dollar, ...]] = {}  # by collection

    def locate(self, path: tuple[int, ...]) -> yaml.Node:
        node = self.root
        assert node is not None
        for position in path:
            node = node.value[position][1] if isinstance(node, yaml.MappingNode) else node.value[position]
        return node

    def child(self, node: yaml.Node, pending: _Pending, position: int) -> Node:
        converter = self.converter
        if isinstance(node, yaml.ScalarNode):
            return Scalar(converter.scalar(node), converter.loc(node))
        # Its dollars are noted when asked: reading values (a plan's
        # checklist) never asks, substitution does.
        return _lazy(
            node, _Pending(pending.source, pending.index, (*pending.path, position), None), converter.loc(node)
        )

    def dollars(self, node: yaml.Node) -> tuple[Dollar, ...]:
        """The Dollars below ``node``, as :class:`_Walk` notes them (the
        document was checked when it was read: this only collects)."""
        if self.no_dollar:
            return ()
        found = self.below.get(id(node))
        if found is not None:
            return found
        loc = self.converter.loc
        out: list[Dollar] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if "$" in key_node.value:
                    out.append((_key_text(key_node), loc(key_node), True))
                if not isinstance(value_node, yaml.ScalarNode):
                    out.extend(self.dollars(value_node))
                elif "$" in value_node.value and value_node.tag not in _TYPED_TAGS:
                    out.append((value_node.value, loc(value_node), False))
        else:
            for item in node.value:
                if not isinstance(item, yaml.ScalarNode):
                    out.extend(self.dollars(item))
                elif "$" in item.value and item.tag not in _TYPED_TAGS:
                    out.append((item.value, loc(item), False))
        found = self.below[id(node)] = tuple(out)
        return found


@functools.lru_cache(maxsize=64)
def _composed(source: _Source, index: int) -> _Composed:
    # Bounded: a lean document's composed tree is not kept once it is read
    # (the point of the lean model is not to hold whole trees).
    return _Composed(source, index)


class _Pending:
    """A lazy node's source (the core's Pending): where it is in a lean
    document, and the "$" strings below it (None until asked).  Pickled as
    that, with the file's text (once per pickle), so that an unpickled node
    can still be built."""

    __slots__ = ("dollar_list", "index", "path", "source")

    def __init__(self, source: _Source, index: int, path: tuple[int, ...], dollars: tuple[Dollar, ...] | None) -> None:
        self.source = source
        self.index = index  # among the documents yaml.compose_all yields
        self.path = path  # positions from the document's root
        self.dollar_list = dollars

    def map_items(self) -> tuple[dict[str, Node], dict[str, Loc]]:
        composed = _composed(self.source, self.index)
        loc = composed.converter.loc
        items: dict[str, Node] = {}
        key_locs: dict[str, Loc] = {}
        for position, (key_node, value_node) in enumerate(composed.locate(self.path).value):
            key = _key_text(key_node)
            items[key] = composed.child(value_node, self, position)
            key_locs[key] = loc(key_node)
        return items, key_locs

    def seq_items(self) -> tuple[Node, ...]:
        composed = _composed(self.source, self.index)
        return tuple(
            composed.child(item, self, position) for position, item in enumerate(composed.locate(self.path).value)
        )

    def vars_free(self) -> bool:
        return not self.dollars()

    def strings(self) -> Iterator[str]:
        """The scalar texts below, from the composed nodes (no located node is built)."""
        composed = _composed(self.source, self.index)
        pending: list[yaml.Node] = [composed.locate(self.path)]
        while pending:
            node = pending.pop()
            if isinstance(node, yaml.ScalarNode):
                yield node.value
            elif isinstance(node, yaml.MappingNode):
                pending.extend(value for _, value in node.value)
            else:
                pending.extend(node.value)

    def texts(self) -> tuple[str, ...] | None:
        # The file's text: a superset of the document's.  An escape writes a
        # value that the text does not hold as written.
        text = self.source.text
        return None if "\\" in text else (text,)

    def dollars(self) -> tuple[Dollar, ...]:
        if self.dollar_list is None:
            composed = _composed(self.source, self.index)
            self.dollar_list = composed.dollars(composed.locate(self.path))
        return self.dollar_list

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_Pending, (self.source, self.index, self.path, self.dollar_list))


def _is_reused_anchor(err: yaml.YAMLError) -> bool:
    # libyaml's composer says "found duplicate anchor; first occurrence",
    # the pure-Python one "found duplicate anchor 'x'; first occurrence".
    return isinstance(err, ComposerError) and str(err.context or "").startswith("found duplicate anchor")


def load_inline(text: str, origin: Loc, source: str | None) -> tuple[Document, ...]:
    """Parse YAML embedded as a string at ``origin`` of a file whose text is ``source``.

    A block scalar (``patch: |``) starts on the line after its key, and its
    indentation is that of its first content line, read from the file itself,
    so that locations inside the embedded YAML point into the file.
    """
    line_offset, col_offset = origin.line - 1, origin.col - 1
    if source is not None:
        lines = source.splitlines()
        at = origin.line - 1
        if at < len(lines) and lines[at][origin.col - 1 : origin.col] in ("|", ">"):
            for following in lines[at + 1 :]:
                if following.strip():
                    col_offset = len(following) - len(following.lstrip())
                    break
            line_offset = origin.line
    return load_documents(text, origin.file, line_offset=line_offset, col_offset=col_offset)


def dump(data: object) -> str:
    """Deterministic block-style YAML for output (keys keep their order)."""
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(
        data, Dumper=dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )
    return text


def load_plain(text: str, file: str) -> list[Any]:
    """Every document of a YAML stream as plain data (a cluster dump: no
    locations needed); raises ModelError at the line of a syntax error."""
    try:
        return list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError as err:
        raise _syntax_error(err, text, file, 0) from None
