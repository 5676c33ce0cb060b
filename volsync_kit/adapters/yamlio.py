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
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.events import AliasEvent

from volsync_kit.core.model import Loc, Map, ModelError, Node, Scalar, ScalarValue, Seq
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
    from the base commit and the working tree, and parses it once.
    """
    return _load_shared(text, file, line_offset, col_offset)


@functools.lru_cache(maxsize=32768)
def _load_shared(text: str, file: str, line_offset: int, col_offset: int) -> tuple[Document, ...]:
    return _load(text, file, line_offset, col_offset)


def _load(text: str, file: str, line_offset: int, col_offset: int) -> tuple[Document, ...]:
    try:
        return _load_with(_Loader, text, file, line_offset, col_offset)
    except _AnchorReused:
        return _load_with(_ReusingLoader, text, file, line_offset, col_offset)


def _load_with(loader: Any, text: str, file: str, line_offset: int, col_offset: int) -> tuple[Document, ...]:
    converter = _Converter(file, line_offset, col_offset)
    docs: list[Document] = []
    try:
        for root in yaml.compose_all(text, Loader=loader):
            if root is None:
                continue
            loc = converter.loc(root)
            if isinstance(root, yaml.ScalarNode) and root.value == "" and root.style in _PLAIN:
                docs.append(Document(None, loc))
            else:
                docs.append(Document(converter.convert(root), loc))
    except yaml.YAMLError as err:
        if _is_reused_anchor(err) and loader is _Loader:
            # Documents converted so far are converted again, with the same
            # outcome: the first pass raised no error before this point.
            raise _AnchorReused from None
        raise _syntax_error(err, text, file, line_offset) from None
    except RecursionError:
        raise ModelError("yaml-depth", "document nested too deeply", Loc(file, 1 + line_offset, 1)) from None
    return tuple(docs)


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
