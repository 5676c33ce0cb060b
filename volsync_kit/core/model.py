"""Located YAML trees, problems and references: the vocabulary of the core.

Every scalar keeps the file, line and column of the template text it came
from, so that a rule or a plan step can point at the line an operator must
edit, even after kustomize transforms and Flux substitution.  Trees are
immutable by convention: transforms build new nodes and share the rest.
"""

from __future__ import annotations

import enum
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

ScalarValue: TypeAlias = str | int | float | bool | None


# Loc, Scalar, Map and Seq are made millions of times in a large repository.
# A frozen dataclass's own __init__ sets each field through object.__setattr__;
# theirs set the slots through the slots' descriptors (bound below each
# class), which makes a node in two thirds of the time.  They stay frozen:
# assigning a field still raises.


@dataclass(frozen=True, slots=True, init=False)
class Loc:
    """A position in a repository file; ``line`` and ``col`` are 1-based."""

    file: str
    line: int
    col: int

    def __init__(self, file: str, line: int, col: int) -> None:
        # One string for each path, however it was read: a pickle writes a
        # string it has seen once, so whether two locations shared theirs
        # would otherwise change the bytes of a body written alike.
        _LOC_FILE(self, _intern(file))
        _LOC_LINE(self, line)
        _LOC_COL(self, col)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    # The cache pickles millions of these: rebuilding through the constructor
    # is three times faster than the dataclass default for slotted classes.
    def __reduce__(self) -> tuple[type[Loc], tuple[str, int, int]]:
        return (Loc, (self.file, self.line, self.col))


_LOC_FILE = Loc.__dict__["file"].__set__
_intern = sys.intern
_LOC_LINE = Loc.__dict__["line"].__set__
_LOC_COL = Loc.__dict__["col"].__set__


@dataclass(frozen=True, slots=True, init=False)
class Scalar:
    value: ScalarValue
    loc: Loc | None = None

    def __init__(self, value: ScalarValue, loc: Loc | None = None) -> None:
        _SCALAR_VALUE(self, value)
        _SCALAR_LOC(self, loc)

    def __reduce__(self) -> tuple[Callable[..., Scalar], tuple[object, ...]]:
        loc = self.loc
        if loc is None:
            return (Scalar, (self.value, None))
        # Its location inline: one call reads both back, where a warm plan
        # reads hundreds of thousands of scalars from the cache.
        return (scalar_at, (self.value, loc.file, loc.line, loc.col))


def scalar_at(value: ScalarValue, file: str, line: int, col: int) -> Scalar:
    """A Scalar at ``file:line:col``, as a pickle reads one back."""
    return Scalar(value, Loc(file, line, col))


_SCALAR_VALUE = Scalar.__dict__["value"].__set__
_SCALAR_LOC = Scalar.__dict__["loc"].__set__


@dataclass(frozen=True, slots=True, init=False)
class Map:
    items: Mapping[str, Node]
    loc: Loc | None = None
    # Where each key is written: a finding about a missing or nested field
    # points at the key's line (``volumeAttributes:``), not its first child.
    key_locs: Mapping[str, Loc] | None = None
    # True when no key or scalar below holds a "$": the parser knows, and
    # post-build substitution then skips the subtree (most of a manifest).
    # False means "not known", so a transform never has to maintain it.
    vars_free: bool = field(default=False, compare=False)

    def __init__(
        self,
        items: Mapping[str, Node],
        loc: Loc | None = None,
        key_locs: Mapping[str, Loc] | None = None,
        vars_free: bool = False,
    ) -> None:
        _SET_MAP_ITEMS(self, items)
        _SET_MAP_LOC(self, loc)
        _SET_MAP_KEY_LOCS(self, key_locs)
        _SET_MAP_VARS_FREE(self, vars_free)

    def get(self, key: str) -> Node | None:
        return self.items.get(key)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        key_locs = self.key_locs
        if key_locs:
            items = self.items
            keys = tuple(items)
            packed = None
            if type(key_locs) is KeyLocs:
                if key_locs.names == keys:
                    packed = key_locs.file, key_locs.at
                else:
                    key_locs = dict(key_locs.items())  # written as a dict that equals it is
            elif type(key_locs) is dict:
                packed = KeyLocs.pack(keys, key_locs)
            if packed is not None:
                return (keyed_map, (keys, tuple(items.values()), self.loc, *packed, self.vars_free))
        return (Map, (self.items, self.loc, key_locs, self.vars_free))


class KeyLocs(Mapping[str, Loc]):
    """Where each key of a map is written, when all are in one file and are
    the map's own keys, in order: a location is made when one is asked for,
    and few are (a finding points at its key).  The cache keeps thousands of
    builds, and a build's keys are half of its locations: unpickling each was
    most of the time a warm plan spent loading them.

    Pickled with its map, the same way as the dict it equals (see
    :meth:`Map.__reduce__`), so that a key of a value does not depend on
    which one it holds.  The map's keys are written once, as one tuple, which
    the cache's reader shares between every map of one shape.
    """

    __slots__ = ("_positions", "at", "file", "names")

    def __init__(self, file: str, keys: tuple[str, ...], at: bytes) -> None:
        self.file = file
        self.names = keys
        # Line, column, line, column...: one pair for each key, as unsigned
        # ints in one bytes object, smaller than a tuple of ints and one
        # object to pickle (130,000 of them in a warm plan of 2,000 apps).
        self.at = at
        self._positions: dict[str, tuple[int, int]] | None = None

    @staticmethod
    def pack(keys: tuple[str, ...], key_locs: Mapping[str, Loc]) -> tuple[str, bytes] | None:
        """The file and positions of ``key_locs``; None unless they are in one
        file and are ``keys``, in order."""
        if tuple(key_locs) != keys:
            return None
        file = ""
        at: list[int] = []
        for loc in key_locs.values():
            if not file:
                file = loc.file
            elif loc.file != file:
                return None
            at += (loc.line, loc.col)
        try:
            packed = array("I", at)
        except OverflowError:  # a position no unsigned int holds: kept as a dict
            return None
        return file, packed.tobytes()

    def _index(self) -> dict[str, tuple[int, int]]:
        positions = self._positions
        if positions is None:
            at = array("I")
            at.frombytes(self.at)
            positions = self._positions = dict(zip(self.names, zip(at[0::2], at[1::2], strict=True), strict=True))
        return positions

    def __getitem__(self, key: str) -> Loc:
        line, col = self._index()[key]
        return Loc(self.file, line, col)

    def positions(self) -> Iterator[tuple[int, int]]:
        """(line, column) of each key, in the order of ``names``."""
        at = array("I")
        at.frombytes(self.at)
        return zip(at[0::2], at[1::2], strict=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


# The slots of Map and Seq: set by their own __init__, and reached past the
# properties of the lazy classes below.
_MAP_ITEMS: Any = Map.__dict__["items"]
_MAP_LOC: Any = Map.__dict__["loc"]
_MAP_KEY_LOCS: Any = Map.__dict__["key_locs"]
_MAP_VARS_FREE: Any = Map.__dict__["vars_free"]
_SET_MAP_ITEMS = _MAP_ITEMS.__set__
_SET_MAP_LOC = _MAP_LOC.__set__
_SET_MAP_KEY_LOCS = _MAP_KEY_LOCS.__set__
_SET_MAP_VARS_FREE = _MAP_VARS_FREE.__set__


def keyed_map(
    keys: tuple[str, ...],
    values: tuple[Node, ...],
    loc: Loc | None,
    file: str,
    at: bytes,
    vars_free: bool,
) -> Map:
    """A map read back with its key locations (see :meth:`Map.__reduce__`);
    the file's name is interned: every map of a file names it."""
    return Map(dict(zip(keys, values, strict=True)), loc, KeyLocs(sys.intern(file), keys, at), vars_free)


@dataclass(frozen=True, slots=True, init=False)
class Seq:
    items: tuple[Node, ...]
    loc: Loc | None = None
    vars_free: bool = field(default=False, compare=False)  # as for Map

    def __init__(self, items: tuple[Node, ...], loc: Loc | None = None, vars_free: bool = False) -> None:
        _SET_SEQ_ITEMS(self, items)
        _SET_SEQ_LOC(self, loc)
        _SET_SEQ_VARS_FREE(self, vars_free)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (Seq, (self.items, self.loc, self.vars_free))


_SEQ_ITEMS: Any = Seq.__dict__["items"]
_SEQ_LOC: Any = Seq.__dict__["loc"]
_SEQ_VARS_FREE: Any = Seq.__dict__["vars_free"]
_SET_SEQ_ITEMS = _SEQ_ITEMS.__set__
_SET_SEQ_LOC = _SEQ_LOC.__set__
_SET_SEQ_VARS_FREE = _SEQ_VARS_FREE.__set__


Node: TypeAlias = Scalar | Map | Seq
Plain: TypeAlias = ScalarValue | dict[str, "Plain"] | list["Plain"]


# -- nodes built on first access ------------------------------------------------
#
# Most documents of a repository are objects no rule reads beyond their
# identity (HelmRelease values above all).  The YAML reader gives those a
# LazyMap or LazySeq below the identity fields: the same node to every
# reader, built one level at a time when a reader first looks inside, so that
# only the paths something follows (post-build substitution's way to a
# ``${VAR}``) are ever built.  Once built, the node *becomes* a plain Map or
# Seq (its class is switched), so later reads cost what they always did.


# A key (True) or string scalar (False) holding a "$", with where it is
# written: post-build substitution evaluates these, in the order its walk
# meets them, to fail or warn exactly as on the built tree.
Dollar: TypeAlias = tuple[str, Loc | None, bool]


class Pending(Protocol):
    """What a lazy node is built from: the reader's parsed, not yet converted,
    subtree.  Building never fails: the reader checked the whole document."""

    def map_items(self) -> tuple[dict[str, Node], dict[str, Loc]]: ...

    def seq_items(self) -> tuple[Node, ...]: ...

    def vars_free(self) -> bool: ...

    def dollars(self) -> tuple[Dollar, ...] | None:
        """Every Dollar below, in order; None when not known."""

    def strings(self) -> Iterator[str] | None:
        """The text of every scalar below, as a reader would see it after
        any substitution, but untyped: a superset of the string values, read
        without building the nodes; None when not known."""

    def texts(self) -> Sequence[str] | None:
        """Texts that hold every string value below as written (see
        :func:`written_texts`), read without building or composing anything;
        None when not known."""


class LazyMap(Map):
    """A Map whose entries are built when first read (see above).

    Until then its ``items`` slot holds the :class:`Pending` source.  It
    adds no slot of its own, so that building can switch it to Map.
    """

    __slots__ = ()

    @staticmethod
    def of(source: Pending, loc: Loc | None) -> LazyMap:
        node = object.__new__(LazyMap)
        _MAP_ITEMS.__set__(node, source)
        _MAP_LOC.__set__(node, loc)
        _MAP_KEY_LOCS.__set__(node, None)
        _MAP_VARS_FREE.__set__(node, False)
        return node

    def _build(self) -> Map:
        source: Pending = _MAP_ITEMS.__get__(self, Map)
        items, key_locs = source.map_items()
        free = source.vars_free()
        _MAP_ITEMS.__set__(self, items)
        _MAP_KEY_LOCS.__set__(self, key_locs)
        _MAP_VARS_FREE.__set__(self, free)
        object.__setattr__(self, "__class__", Map)
        return self

    # The properties stand in for Map's slots until the node is built; the
    # Map they return is this very object, so each is read through once.
    @property
    def items(self) -> Mapping[str, Node]:
        return self._build().items

    @property
    def key_locs(self) -> Mapping[str, Loc] | None:
        return self._build().key_locs

    @property
    def vars_free(self) -> bool:
        # Substitution asks first, and skips what holds no "$": not built.
        source: Pending = _MAP_ITEMS.__get__(self, Map)
        return source.vars_free()

    def get(self, key: str) -> Node | None:
        return self._build().items.get(key)

    def source(self) -> Pending | None:
        """What it is built from; None once built (it is then a Map)."""
        found: object = _MAP_ITEMS.__get__(self, Map)
        return None if isinstance(found, Mapping) else found  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        return self._build() == other

    def __repr__(self) -> str:
        return repr(self._build())

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Pickled unbuilt: the source pickles as a reference to its text.
        return (_lazy_map, (_MAP_ITEMS.__get__(self, Map), _MAP_LOC.__get__(self, Map)))


class LazySeq(Seq):
    """A Seq whose items are built when first read (see :class:`LazyMap`)."""

    __slots__ = ()

    @staticmethod
    def of(source: Pending, loc: Loc | None) -> LazySeq:
        node = object.__new__(LazySeq)
        _SEQ_ITEMS.__set__(node, source)
        _SEQ_LOC.__set__(node, loc)
        _SEQ_VARS_FREE.__set__(node, False)
        return node

    def _build(self) -> Seq:
        source: Pending = _SEQ_ITEMS.__get__(self, Seq)
        items = source.seq_items()
        free = source.vars_free()
        _SEQ_ITEMS.__set__(self, items)
        _SEQ_VARS_FREE.__set__(self, free)
        object.__setattr__(self, "__class__", Seq)
        return self

    @property
    def items(self) -> tuple[Node, ...]:
        return self._build().items

    def source(self) -> Pending | None:
        """What it is built from; None once built (it is then a Seq)."""
        found: object = _SEQ_ITEMS.__get__(self, Seq)
        return None if isinstance(found, tuple) else found  # type: ignore[return-value]

    @property
    def vars_free(self) -> bool:
        source: Pending = _SEQ_ITEMS.__get__(self, Seq)
        return source.vars_free()

    def __eq__(self, other: object) -> bool:
        return self._build() == other

    def __hash__(self) -> int:
        return hash(self._build())

    def __repr__(self) -> str:
        return repr(self._build())

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_lazy_seq, (_SEQ_ITEMS.__get__(self, Seq), _SEQ_LOC.__get__(self, Seq)))


def same_unbuilt(a: Node, b: Node) -> bool:
    """Whether ``a`` and ``b`` are equal because both are still to be built,
    from equal sources, at one location: the cache's bodies read back from
    the store compare by their bytes (equal bytes, equal values), without
    being built.  False says nothing: compare the values then."""
    if type(a) is not LazyMap or type(b) is not LazyMap:
        return False
    source = a.source()
    return source is not None and source == b.source() and a.loc == b.loc


def same_tree(a: Node, b: Node) -> bool:
    """Whether ``a`` and ``b`` are the same tree: equal, and written alike
    (keys in the same order, scalars of the same type, so 1 is not True),
    read without building a node not built yet (such a node is the same only
    as one :func:`same_unbuilt` says is).  Stricter than ``==``, which the
    output would tell apart."""
    pending: list[tuple[Node, Node]] = [(a, b)]
    while pending:
        x, y = pending.pop()
        if x is y:
            continue
        if type(x) is not type(y) or x.loc != y.loc:
            return False
        if type(x) is Scalar and type(y) is Scalar:
            if value_key(x.value) != value_key(y.value):
                return False
        elif type(x) is Map and type(y) is Map:
            if tuple(x.items) != tuple(y.items) or x.key_locs != y.key_locs:
                return False
            pending.extend(zip(x.items.values(), y.items.values(), strict=True))
        elif type(x) is Seq and type(y) is Seq:
            if len(x.items) != len(y.items):
                return False
            pending.extend(zip(x.items, y.items, strict=True))
        elif not same_unbuilt(x, y):
            return False
    return True


def _lazy_map(source: Pending, loc: Loc | None) -> LazyMap:
    return LazyMap.of(source, loc)


def _lazy_seq(source: Pending, loc: Loc | None) -> LazySeq:
    return LazySeq.of(source, loc)


_Cls = TypeVar("_Cls", bound=type)


def pickled_by_fields(cls: _Cls) -> _Cls:
    """Pickle a frozen, slotted dataclass as a call of its constructor with
    its fields, in order.  The ``__getstate__``/``__setstate__`` that
    dataclasses gives such a class list its fields on every call: reading a
    plan's record back (86,000 targets and actions at 2,000 apps) spent 0.3 s
    there.  Apply it outside ``@dataclass``, which makes a new class."""
    import dataclasses
    import operator

    names = tuple(f.name for f in dataclasses.fields(cls))
    get = operator.attrgetter(*names)
    if len(names) == 1:

        def reduce_one(self: object) -> tuple[type, tuple[object, ...]]:
            return (cls, (get(self),))

        cls.__reduce__ = reduce_one  # type: ignore[method-assign,assignment]
    else:

        def reduce(self: object) -> tuple[type, tuple[object, ...]]:
            return (cls, get(self))

        cls.__reduce__ = reduce  # type: ignore[method-assign,assignment]
    return cls


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class KsRef:
    """A Flux Kustomization, by name and namespace, and the file declaring it."""

    name: str
    namespace: str
    file: str
    # The cluster whose walk reached it; "" when the repository syncs one cluster.
    cluster: str = ""

    def __str__(self) -> str:
        where = f"{self.cluster}:" if self.cluster else ""
        return f"{where}{self.namespace}/{self.name}"


# Problems whose message names the folder they are about: a component (or
# folder) that is missing, has no kustomization or the wrong kind, or is
# remote.  Every app lists it in its own file, so the places differ; outputs
# say the one fact once, with every Kustomization that met it.
NAMED_FOLDER_CODES = frozenset({"component-missing", "kustomization-missing", "component-kind", "component-not-local"})


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the model could not evaluate, or found broken.

    ``code`` is a stable identifier (``yaml-syntax``, ``component-missing``…)
    that machine consumers may rely on; ``message`` is one line for humans.
    """

    severity: Severity
    code: str
    message: str
    loc: Loc | None = None
    kustomization: KsRef | None = None

    def where(self) -> str:
        return str(self.loc) if self.loc else "-"


class ModelError(Exception):
    """A build step failed the way kustomize or Flux would fail it."""

    def __init__(self, code: str, message: str, loc: Loc | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.loc = loc


@dataclass(frozen=True, slots=True, init=False)
class Resource:
    """One Kubernetes object in a build, with where its document starts."""

    node: Map
    origin: Loc | None
    # The name and namespace the object had when it was read: kustomize
    # selects patch targets by either, and follows name references
    # (PVC.spec.volumeName -> PV) through later renames by them.
    original_name: str = ""
    original_namespace: str = ""
    aliases: tuple[str, ...] = ()  # earlier names, oldest first

    # kind, apiVersion, name and namespace, read once: rules and transforms ask
    # for them millions of times in a large repository.
    _head: tuple[str, str, str, str] | None = field(default=None, init=False, repr=False, compare=False)
    # Facts read of its body once (see remembered); the store keeps them with
    # a packed body, so that a run reading the build back need not open it.
    facts: dict[str, object] | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(
        self,
        node: Map,
        origin: Loc | None,
        original_name: str = "",
        original_namespace: str = "",
        aliases: tuple[str, ...] = (),
    ) -> None:
        _SET_RES_NODE(self, node)  # as for Loc: a transform makes a Resource per object it touches
        _SET_RES_ORIGIN(self, origin)
        _SET_RES_NAME(self, original_name)
        _SET_RES_NAMESPACE(self, original_namespace)
        _SET_RES_ALIASES(self, aliases)
        _SET_RES_HEAD(self, None)
        _SET_RES_FACTS(self, None)

    def _identity(self) -> tuple[str, str, str, str]:
        head = self._head
        if head is None:
            # str_at(node, ...) or "" for each, written out: every transform
            # makes a Resource, and a cold walk of 2,000 apps asks 60,000 heads.
            items = self.node.items
            metadata = items.get("metadata")
            named = metadata.items if isinstance(metadata, Map) else _NO_ITEMS
            head = (
                _text(items.get("kind")),
                _text(items.get("apiVersion")),
                _text(named.get("name")),
                _text(named.get("namespace")),
            )
            object.__setattr__(self, "_head", head)
        return head

    @property
    def kind(self) -> str:
        return self._identity()[0]

    @property
    def api_version(self) -> str:
        return self._identity()[1]

    @property
    def name(self) -> str:
        return self._identity()[2]

    @property
    def namespace(self) -> str:
        return self._identity()[3]

    @property
    def group(self) -> str:
        av = self._identity()[1]
        group = _GROUPS.get(av)
        if group is None:
            group = _GROUPS[av] = av.split("/", 1)[0] if "/" in av else ""
        return group

    def with_node(self, node: Map) -> Resource:
        return Resource(node, self.origin, self.original_name, self.original_namespace, self.aliases)

    def __reduce__(self) -> tuple[type[Resource], tuple[object, ...]]:
        return (Resource, (self.node, self.origin, self.original_name, self.original_namespace, self.aliases))


# The group of each apiVersion: a repository writes a few dozen, and a plan
# asks the group of its objects hundreds of thousands of times.
_GROUPS: dict[str, str] = {}
_SET_RES_NODE = Resource.__dict__["node"].__set__
_SET_RES_ORIGIN = Resource.__dict__["origin"].__set__
_SET_RES_NAME = Resource.__dict__["original_name"].__set__
_SET_RES_NAMESPACE = Resource.__dict__["original_namespace"].__set__
_SET_RES_ALIASES = Resource.__dict__["aliases"].__set__
_SET_RES_HEAD = Resource.__dict__["_head"].__set__
_SET_RES_FACTS = Resource.__dict__["facts"].__set__
_F = TypeVar("_F")


def remembered(res: Resource, name: str, read: Callable[[Resource], _F]) -> _F:
    """``read(res)``, read of the object once and kept with it as its fact
    ``name``.  A fact is a pure function of the object, and small: the store
    writes an object's facts with its packed body (volsync_kit.core.facts)."""
    facts = res.facts
    if facts is None:
        facts = {}
        object.__setattr__(res, "facts", facts)
    if name in facts:
        return facts[name]  # type: ignore[return-value]
    value = facts[name] = read(res)
    return value


def scalar_key(value: ScalarValue, loc: Loc | None) -> tuple[object, ...]:
    """What makes two scalars one, for those that share them (:class:`Sharing`,
    the cache's reader): :func:`value_key`, and ``loc``, which is already
    shared, so its identity stands for it."""
    return (*value_key(value), id(loc))


def value_key(value: ScalarValue) -> tuple[object, object]:
    """What makes two scalar values one: 1, 1.0 and True are equal keys, and
    so are 0.0 and -0.0, so the type and a float's exact form keep them apart."""
    return (type(value), value.hex() if isinstance(value, float) else value)


class Sharing:
    """Equal trees as one object (hash-consing), so that a value kept for the
    next run pickles each repeated part once.

    Apps built from one component hold equal locations, scalars and
    subtrees, but as separate objects once their builds came from the cache
    (each unpickled on its own): render's record of 2,000 apps is then 31 MB
    and takes a second to load; shared, it is 11 MB and loads in a quarter of
    that.  A node built on first access (:class:`LazyMap`) below an object
    is kept as it is; the object's own node is built (a body the cache read
    back unopened would otherwise be kept as bytes, and read again on every
    use of what is kept).
    """

    def __init__(self) -> None:
        self._seen: dict[object, Any] = {}

    def resource(self, res: Resource) -> Resource:
        origin = self.loc(res.origin) if res.origin is not None else None
        node = self._map(res.node) if isinstance(res.node, Map) else res.node
        return Resource(node, origin, res.original_name, res.original_namespace, res.aliases)

    def loc(self, loc: Loc) -> Loc:
        key = ("L", loc.file, loc.line, loc.col)
        found: Loc | None = self._seen.get(key)
        if found is None:
            found = self._seen[key] = Loc(self._seen.setdefault(loc.file, loc.file), loc.line, loc.col)
        return found

    def node(self, node: Node) -> Node:
        kind = type(node)
        if kind is Scalar:
            return self._scalar(node)  # type: ignore[arg-type]
        if kind is Map:
            return self._map(node)  # type: ignore[arg-type]
        if kind is Seq:
            return self._seq(node)  # type: ignore[arg-type]
        return node

    def _scalar(self, node: Scalar) -> Scalar:
        loc = self.loc(node.loc) if node.loc is not None else None
        value = node.value
        if type(value) is str:
            value = self._seen.setdefault(value, value)
        key = ("S", *scalar_key(value, loc))
        found: Scalar | None = self._seen.get(key)
        if found is None:
            found = self._seen[key] = Scalar(value, loc)
        return found

    def _seq(self, node: Seq) -> Seq:
        items = tuple([self.node(item) for item in node.items])
        loc = self.loc(node.loc) if node.loc is not None else None
        # Children are shared already, so their identity stands for their value.
        # vars_free is left out: equal trees hold "$" alike, and False only
        # means "not known".
        key = ("Q", tuple(map(id, items)), id(loc))
        found: Seq | None = self._seen.get(key)
        if found is None:
            found = self._seen[key] = Seq(items, loc, node.vars_free)
        return found

    def _map(self, node: Map) -> Map:
        seen = self._seen
        items = {seen.setdefault(name, name): self.node(child) for name, child in node.items.items()}
        loc = self.loc(node.loc) if node.loc is not None else None
        key_locs = None if node.key_locs is None else {name: self.loc(at) for name, at in node.key_locs.items()}
        key = (
            "M",
            tuple([(name, id(child)) for name, child in items.items()]),
            id(loc),
            None if key_locs is None else tuple([(name, id(at)) for name, at in key_locs.items()]),
        )
        found: Map | None = self._seen.get(key)
        if found is None:
            found = self._seen[key] = Map(items, loc, key_locs, node.vars_free)
        return found


# -- tree helpers ---------------------------------------------------------


_NO_ITEMS: Mapping[str, Node] = {}


def _text(node: Node | None) -> str:
    """``str_at`` of a node already found, or "" where it gives None."""
    if isinstance(node, Scalar) and node.value is not None and not isinstance(node.value, bool):
        return str(node.value)
    return ""


def node_at(node: Node | None, *path: str | int) -> Node | None:
    for key in path:
        # Maps with string keys are nearly every step: test them first.
        if isinstance(node, Map):
            if not isinstance(key, str):
                return None
            node = node.items.get(key)
        elif isinstance(node, Seq) and isinstance(key, int) and -len(node.items) <= key < len(node.items):
            node = node.items[key]
        else:
            return None
    return node


def str_at(node: Node | None, *path: str | int) -> str | None:
    found = node_at(node, *path)
    if isinstance(found, Scalar) and found.value is not None and not isinstance(found.value, bool):
        return str(found.value)
    return None


def map_at(node: Node | None, *path: str | int) -> Map | None:
    found = node_at(node, *path)
    return found if isinstance(found, Map) else None


def seq_at(node: Node | None, *path: str | int) -> tuple[Node, ...]:
    found = node_at(node, *path)
    return found.items if isinstance(found, Seq) else ()


def loc_of(node: Node | None, *path: str | int) -> Loc | None:
    """The location of ``path`` below ``node``, or of its nearest ancestor."""
    best = node.loc if node is not None else None
    for key in path:
        node = node_at(node, key)
        if node is None:
            break
        best = node.loc or best
    return best


def key_loc(node: Node | None, *path: str | int) -> Loc | None:
    """Where the last key of ``path`` is written, else the best :func:`loc_of`."""
    parent = node_at(node, *path[:-1]) if path else None
    if isinstance(parent, Map) and parent.key_locs and isinstance(path[-1], str):
        found = parent.key_locs.get(path[-1])
        if found is not None:
            return found
    return loc_of(node, *path)


def set_at(node: Map, path: tuple[str, ...], value: Node) -> Map:
    """A copy of ``node`` with ``value`` at ``path``, creating maps on the way."""
    return set_all(node, path[:-1], ((path[-1], value),))


def set_all(node: Map, path: tuple[str, ...], values: Iterable[tuple[str, Node]]) -> Map:
    """A copy of ``node`` with each (key, value) of ``values`` set in the map at
    ``path`` (``node`` itself when empty), creating maps on the way: each map
    on the way is copied once, however many values are set."""
    items = dict(node.items)
    if not path:
        items.update(values)
    else:
        child = items.get(path[0])
        items[path[0]] = set_all(child if isinstance(child, Map) else Map({}, node.loc), path[1:], values)
    return Map(items, node.loc, node.key_locs)


def to_plain(node: Node | None) -> Plain:
    if node is None:
        return None
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Map):
        return {k: to_plain(v) for k, v in node.items.items()}
    return [to_plain(v) for v in node.items]


def from_plain(value: object, loc: Loc | None = None) -> Node:
    """Build a tree from plain data (JSON patch values, generated objects)."""
    if isinstance(value, Map | Seq | Scalar):
        return value
    if isinstance(value, Mapping):
        return Map({str(k): from_plain(v, loc) for k, v in value.items()}, loc)
    if isinstance(value, list | tuple):
        return Seq(tuple(from_plain(v, loc) for v in value), loc)
    if value is None or isinstance(value, str | int | float | bool):
        return Scalar(value, loc)
    return Scalar(str(value), loc)


def written_strings(node: Node) -> Iterator[str]:
    """The text of every scalar below ``node`` (untyped: ``true`` and ``3``
    are in it): a superset of the string values of :func:`iter_scalars`, for
    a quick test before reading those.  A subtree not built yet answers from
    its source, and stays unbuilt."""
    if isinstance(node, Scalar):
        yield node.value if isinstance(node.value, str) else str(node.value)
        return
    if type(node) is LazyMap or type(node) is LazySeq:
        source = node.source()
        strings = source.strings() if source is not None else None
        if strings is not None:
            yield from strings
            return
    children = node.items.values() if isinstance(node, Map) else node.items
    for child in children:
        yield from written_strings(child)


def written_texts(node: Node) -> list[str] | None:
    """Texts that hold every string value below ``node`` as it is written:
    the YAML text of each document a part not built yet comes from, when it
    holds no escape (no backslash), and, whole, every string value built or
    changed by substitution.  None when some part cannot say (an escape, or a
    source that keeps no text); nothing is built either way.

    What a reader may conclude: a string value on one line that is a run of
    letters, digits, ``_``, ``.`` and ``-`` stands in one of the texts as a
    whole run of those characters, since YAML ends a scalar only at a space,
    a quote, a flow indicator, ``:`` or the line's end, none of them in such
    a run (YAML 1.2.2, 7.3 "Flow Scalar Styles").  A value written over several
    lines is folded with spaces, so it is no such run.  That lets plan tell
    that a HelmRelease names no claim from its file's text alone
    (``checklist._may_name``).
    """
    out: list[str] = []
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, Scalar):
            if isinstance(item.value, str):
                out.append(item.value)
            continue
        if type(item) is LazyMap or type(item) is LazySeq:
            source = item.source()
            if source is not None:
                texts = source.texts()
                if texts is None:
                    return None
                out.extend(texts)
                continue
        pending.extend(item.items.values() if isinstance(item, Map) else item.items)
    return out


def iter_scalars(node: Node, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Scalar]]:
    if isinstance(node, Scalar):
        yield path, node
    elif isinstance(node, Map):
        for key, child in node.items.items():
            yield from iter_scalars(child, (*path, key))
    else:
        for index, child in enumerate(node.items):
            yield from iter_scalars(child, (*path, index))
