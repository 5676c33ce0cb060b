"""The on-disk cache: parsed files, Kustomization builds, and an index of the tree.

Where: ``$VOLSYNC_KIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/volsync-kit``, else
``~/.cache/volsync-kit``; one folder per tool fingerprint (version, Python,
and the package's own files, so an upgrade or an edited checkout never reads
entries an older build wrote), and in it one SQLite file per repository
(``<digest of its path>.sqlite3``, with SQLite's ``-wal`` and ``-shm`` files
beside it while a run has it open).

What: two tables.  ``entries`` holds one row per entry, keyed by a digest of
what it is for (a file's path, a Kustomization's identity), with the digest
of the inputs it was made from, a checksum and the pickled value.  A parsed
file is reused only when the file's text has the same digest; a build only
when its Kustomization is the same and every answer the repository gave it
still holds (:mod:`volsync_kit.core.buildmemo`).  ``files`` is the index of
the tree: per path of the work tree, the file's stat (size, mtime, ctime,
inode, device, real path), and per git blob its id, with the text's digest
and which of the words the core asked about
(:meth:`~volsync_kit.adapters.fs.TextReader.mentions`) it contains.  A file
whose stat is unchanged, or a blob seen before (plan's base), is neither read
nor hashed: its digest and words come from the index, its parse from
``entries``.  As git does with racy
timestamps, a file modified within :data:`RACY_NS` of the moment it was
looked at is not indexed, so a second edit within the same timestamp tick is
read rather than missed; and a run that finds a file changed between the
moment the index answered for it and the moment it was read writes nothing.
So a warm run reads, reparses and rebuilds only what an edit touched, and an
entry can be stale but is never served stale.  The documents of a file have
one slot per kind of reader, so that plan's base (from git) and head (the
work tree) do not evict each other's.

Safety: the store runs in WAL mode, so readers never block and never see a
half-written transaction; each run keeps what it made in memory and writes
it in a few short transactions (``BEGIN IMMEDIATE``), at the end of each walk
and whenever :data:`FLUSH_BYTES` are pending; or, for the console script,
all at once, after the command's output, by a detached writer process
(:meth:`_Store.close`).  Two runs writing at once both succeed,
or one waits up to :data:`BUSY_SECONDS` and then drops its batch (a miss for
the next run).  Anything unreadable is a miss: a row whose checksum, inputs
or type do not match is ignored and rewritten, and a store SQLite calls
corrupt (truncated, garbled, not a database, another layout) is deleted and
recreated, once a run.  A write that fails otherwise (a read-only or full
disk) turns writing off for the run, and a store that cannot be opened the
whole cache; the cache never fails a command.  Values are pickles, so the
folders are created private (0700) and the store's files 0600; like any
cache under your home, do not point it at a folder others can write.
"""

from __future__ import annotations

import contextlib
import copyreg
import functools
import hashlib
import io
import os
import pickle
import sys
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from volsync_kit import __version__
from volsync_kit.core.buildmemo import Scanned, Stored
from volsync_kit.core.model import (
    LazyMap,
    Loc,
    Map,
    Node,
    Resource,
    Scalar,
    ScalarValue,
    keyed_map,
    value_key,
    written_strings,
    written_texts,
)
from volsync_kit.core.ports import Document
from volsync_kit.core.sources import FLUX_GROUP

if TYPE_CHECKING:
    import sqlite3

ENV_DIR = "VOLSYNC_KIT_CACHE_DIR"
_PROTOCOL = 5
# Builds of alias-heavy files can be large; an entry above this is not kept.
MAX_ENTRY_BYTES = 32 * 1024 * 1024
# What a run keeps in memory before it writes a transaction: a cold run of a
# large repository makes tens of megabytes of entries.
FLUSH_BYTES = 8 * 1024 * 1024
# How long a writer waits for another one before it drops its batch.
BUSY_SECONDS = 5.0
# Set to 0, the process writes its cache before it exits (see _Store.close).
DETACH_ENV = "VOLSYNC_KIT_CACHE_DETACH"
# How long a run waits for the detached writer of the run before.
WRITER_WAIT_SECONDS = 30.0
_LOCK_SUFFIX = ".writing"  # beside the store: held by its detached writer
# Coarser than any file system's timestamps (FAT's are 2 s): a file modified
# this close to the moment it was looked at may change again unseen.
RACY_NS = 2_000_000_000
# The layout of the tables; a store of another layout is recreated.
_LAYOUT = 2
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, inputs TEXT NOT NULL,"
    " checksum INTEGER NOT NULL, value BLOB NOT NULL)",
    # What _Store._load_inputs reads, apart from the values: scanning the table
    # for it reads a page of each entry (0.46 s of a store of 26,000 entries
    # out of the page cache, 0.03 s from this index).
    "CREATE INDEX IF NOT EXISTS entries_inputs ON entries (key, inputs)",
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, stamp TEXT NOT NULL, digest TEXT NOT NULL,"
    " asked TEXT NOT NULL, found TEXT NOT NULL, checksum INTEGER NOT NULL)",
    f"PRAGMA user_version = {_LAYOUT}",
)
INPUTS_QUERY = "SELECT key, inputs FROM entries"
PAGE_SIZE = 16384
# How many rows of a table a run reads one by one before it reads the table whole.
SINGLE_ROWS = 64
# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF).
_BUSY, _LOCKED, _CORRUPT, _NOTADB = 5, 6, 11, 26

Parse = Callable[[str, str], tuple[Document, ...]]


def default_dir() -> Path:
    explicit = os.environ.get(ENV_DIR)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "volsync-kit"


def tool_fingerprint() -> str:
    """Changes with the version, the Python, and any edit of the package."""
    package = Path(__file__).resolve().parent.parent
    parts = [__version__, f"{sys.version_info[0]}.{sys.version_info[1]}", sys.implementation.name]
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                full = os.path.join(dirpath, name)
                stat = os.stat(full)
                parts.append(f"{os.path.relpath(full, package)}:{stat.st_size}:{stat.st_mtime_ns}")
    return _digest("\n".join(parts).encode())[:16]


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def text_digest(text: str) -> str:
    """The digest by which the cache knows a file's text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Stamp:
    """What ``stat`` says of a file; while it is the same, so is the file's
    text (ctime too, as git does: no tool can set it back)."""

    real: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    ctime_ns: int

    def key(self) -> str:
        return f"{self.dev}:{self.ino}:{self.size}:{self.mtime_ns}:{self.ctime_ns}:{self.real}"

    def settled(self, seen_ns: int) -> bool:
        """Whether the file was last changed well before ``seen_ns``, the
        moment it was looked at (see RACY_NS)."""
        return max(self.mtime_ns, self.ctime_ns) < seen_ns - RACY_NS


@dataclass(frozen=True, slots=True)
class Look:
    """How the index knows one file: the row it is kept in (a path of the
    work tree, or a git blob's id, the same in every commit), what must
    still hold for the row to be believed (a Stamp's key, or the blob id),
    and whether the row may be written (a racy file is not)."""

    row: str
    stamp: str
    settled: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """What a run knows of one file's text without keeping the text: its
    digest, and which of the words asked about so far it contains."""

    digest: str
    asked: frozenset[str]
    found: frozenset[str] = field(default_factory=frozenset)


def facts_of(text: str, words: frozenset[str]) -> Facts:
    return Facts(text_digest(text), words, frozenset(w for w in words if w in text))


class DiskCache:
    """The cache of one repository, for one fingerprint of the tool."""

    def __init__(self, base: Path, repo_root: Path, fingerprint: str | None = None, *, detach: bool = False) -> None:
        self.base = base
        self.version_dir = base / f"v-{fingerprint or tool_fingerprint()}"
        self.path = self.version_dir / f"{_digest(str(repo_root.resolve()).encode())[:16]}.sqlite3"
        # Entries read whole, and entries (re)written: a run writes exactly what
        # it had to parse or build again.
        self.reads = 0
        self.writes = 0
        self._parsed: dict[tuple[str, str], tuple[Document, ...]] = {}
        self._store = _Store(self)
        # See _Store.close: what a run made is written by a process of its own
        # once the command's output is out (the console script asks for it).
        self._store.detach = detach and _can_detach()
        # Whatever is still pending when the cache is dropped (or the
        # interpreter exits) is written then; walk() flushes on its own.
        self._finalizer = weakref.finalize(self, self._store.close)

    @property
    def writable(self) -> bool:
        return self._store.writable

    def flush(self) -> None:
        """Write what this run made so far, in one transaction."""
        self._store.flush()

    def close(self) -> None:
        self._finalizer()

    # -- the BuildMemo port ------------------------------------------------------

    def key(self, material: object) -> str:
        # Without the memo (the pickler's "fast" mode), a part that occurs twice
        # is written twice: equal values give equal bytes, whether their parts
        # are one object or copies.  With it, a Kustomization's material
        # differed between a run that parsed its file and one that read the
        # parse from here (see _Shared), and the build was made again.
        # Materials are trees, never cycles, which fast mode cannot write.
        if type(material) is tuple:
            # A Kustomization's node is most of what its build is made of, and
            # plan's two revisions hold one node of each Kustomization the
            # change leaves alone: its digest is taken once.
            material = tuple(_Digested(self._node_digest(part)) if isinstance(part, Map) else part
                             for part in material)  # fmt: skip
        return _digest(_fast_dumps(material))

    def _node_digest(self, node: Map) -> str:
        return _node_digest(self._store.shared, node)

    def get(self, key: str, inputs: str) -> object | None:
        value = self._store.get(key, inputs)
        if value is not None:
            self.reads += 1
        return value

    def put(self, key: str, inputs: str, value: object) -> None:
        self._store.put_value(key, inputs, value)

    def latest(self, key: str) -> tuple[str, object] | None:
        inputs = self._store.inputs_of(key)
        if inputs is None:
            return None
        value = self.get(key, inputs)
        return None if value is None else (inputs, value)

    # -- parsed files ------------------------------------------------------------

    def documents(
        self, reader: str, path: str, digest: str, text: Callable[[], str], parse: Parse
    ) -> tuple[Document, ...]:
        """The parsed documents of ``path`` whose text has ``digest``: from an
        earlier run when they were kept, else ``parse(text(), path)``.

        One slot per kind of ``reader``: plan reads the base from git and the
        head from the work tree, and a file that differs would otherwise
        evict its other version on every run."""
        if (path, digest) in self._parsed:
            return self._parsed[(path, digest)]
        slot = _digest(f"documents\0{reader}\0{path}".encode("utf-8", "surrogatepass"))
        stored = self.get(slot, digest)
        if isinstance(stored, tuple) and all(isinstance(d, Document) for d in stored):
            docs: tuple[Document, ...] = stored
        else:
            source = text()
            docs = parse(source, path)  # a syntax error is raised, and not kept
            # Kept under the digest of the text parsed, which is the one asked
            # for unless the file changed since (then the reader turns writing off).
            self.put(slot, text_digest(source), docs)
        self._parsed[(path, digest)] = docs
        return docs

    # -- the index of the tree ---------------------------------------------------

    def facts(self, look: Look) -> Facts | None:
        """What the index knows of a file, if its row still holds."""
        return self._store.facts(look.row, look.stamp)

    def index(self, look: Look, facts: Facts) -> None:
        """Remember ``facts`` of a file, read after it was looked at
        (``look``); a racy one is not remembered."""
        if look.settled:
            self._store.index(look.row, look.stamp, facts)

    def stop_writing(self) -> None:
        """Write nothing more this run (a file changed while it was read)."""
        self._store.stop_writing()


class _Shared:
    """Equal locations, scalars, key tuples and packed bodies as one object,
    across every entry one run reads.

    Each entry is unpickled on its own, so the component that 2,000 builds
    share would come back as 2,000 copies of its locations and scalars, each
    made anew.  Taken from here, equal ones are made once: builds load a third
    faster, and a warm plan of 2,000 apps holds 450 MB instead of 600 MB.
    """

    def __init__(self) -> None:
        self._locs: dict[str, dict[object, Loc]] = {}
        # By the location's identity (it is shared already): the scalar written
        # there, or a table by value once a location holds several (a
        # template's ${APP}, one value for each app).  Most locations hold one,
        # and a key tuple for each was 9 MB of a warm plan of 2,000 apps.
        self._scalars: dict[int, Scalar | dict[tuple[object, object], Scalar]] = {}
        self._bodies: dict[tuple[bytes, bool, int], LazyMap] = {}
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}
        # The digest of each node a key's material holds (DiskCache._node_digest),
        # by identity, the node kept alive with it: a build's child
        # Kustomizations are read back with theirs (_KeptKs).
        self.digests: dict[int, tuple[Map, str]] = {}

    def loc(self, file: str, line: int, col: int) -> Loc:
        in_file = self._locs.get(file)
        if in_file is None:
            in_file = self._locs[file] = {}
        # One int, not a tuple, for each location (a tuple for a column no
        # 32 bits hold, which no int key can then equal).
        key: object = line << 32 | col if 0 <= col < 1 << 32 else (line, col)
        found = in_file.get(key)
        if found is None:
            found = in_file[key] = Loc(file, line, col)
        return found

    def scalar(self, value: ScalarValue, loc: Loc | None = None) -> Scalar:
        at = id(loc)
        found = self._scalars.get(at)
        if found is None:
            # The location is kept alive by the scalar, so its id stays its own.
            made = self._scalars[at] = Scalar(value, loc)
            return made
        if type(found) is Scalar:
            held = found.value
            # value_key(held) == value_key(value), without making the tuples
            # but for a float (0.0 == -0.0): this is most scalars of a load.
            same = type(held) is type(value) and held == value
            if same and type(value) is float:
                same = value_key(held) == value_key(value)
            if same:
                return found
            found = self._scalars[at] = {value_key(held): found}
        table: dict[tuple[object, object], Scalar] = found  # type: ignore[assignment]
        key = value_key(value)
        shared = table.get(key)
        if shared is None:
            shared = table[key] = Scalar(value, loc)
        return shared

    def scalar_at(self, value: ScalarValue, file: str, line: int, col: int) -> Scalar:
        """scalar(value, loc(file, line, col)), most of it without a call:
        the cache's reader makes a scalar in one of these for each it reads.
        The lookup of loc() is written out here: a change to how it keys a
        location changes both."""
        in_file = self._locs.get(file)
        if in_file is None:
            in_file = self._locs[file] = {}
        key: object = line << 32 | col if 0 <= col < 1 << 32 else (line, col)
        loc = in_file.get(key)
        if loc is None:
            loc = in_file[key] = Loc(file, line, col)
            # A new location (kept here for the run, so its id is its own) holds no scalar yet.
            made = self._scalars[id(loc)] = Scalar(value, loc)
            return made
        found = self._scalars.get(id(loc))
        if type(value) is not float:  # else value_key below: 0.0 == -0.0
            if type(found) is Scalar:
                held = found.value
                if type(held) is type(value) and held == value:
                    return found
            elif found is not None:
                # A table: a component's ${APP}, one value for each app.
                shared = found.get((type(value), value))  # type: ignore[union-attr]
                if shared is not None:
                    return shared
        return self.scalar(value, loc)

    def keyed_map(self, keys: tuple[str, ...], *rest: Any) -> Map:
        """model.keyed_map, its keys shared with every map of one shape: each
        body is a pickle of its own, and would otherwise come back with its
        own "name", "kind" and "spec" (40 MB of 2,000 apps)."""
        return keyed_map(self._keys.setdefault(keys, keys), *rest)

    def body(self, body: _PackedBody, loc: Loc | None) -> LazyMap:
        """The node of a packed body: one for each body written alike at one
        location.  plan reads both revisions of an app its change touches
        from the store, and a body both wrote alike is then opened once, held
        once, and passed over by the diff, whether lint or plan wrote it.
        (A tree read back from here and pickled again may not be written
        alike: the memo of a pickle follows which of its parts are one
        object.  flux.Memo shares between revisions only trees it built.)"""
        # Keyed by a digest, not the bytes: a body opened is not kept as bytes
        # too.  The digest is written with the body: taken here, it was a
        # third of reading a build back (18,000 bodies for 2,000 apps).
        key = (body.digest, body.free, id(loc))
        found = self._bodies.get(key)
        if found is None:
            found = self._bodies[key] = LazyMap.of(body, loc)
        return found


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, shared: _Shared) -> None:
        super().__init__(io.BytesIO(data))
        self._shared = shared

    def find_class(self, module: str, name: str) -> object:
        if module == Loc.__module__:
            if name == "Loc":
                return self._shared.loc
            if name == "scalar_at":
                return self._shared.scalar_at
            if name == "Scalar":
                return self._shared.scalar
            if name == "keyed_map":
                return self._shared.keyed_map
        elif module == __name__ and name in ("_Packed", "_PackedBody"):
            # Read back later with this run's shared locations and scalars.
            return functools.partial(_Packed if name == "_Packed" else _PackedBody, shared=self._shared)
        elif module == __name__ and name == "_kept_ks":
            return functools.partial(_kept_ks, shared=self._shared)
        # A warm plan of 2,000 apps unpickles 16,000 entries and bodies, each
        # naming its classes again.  (Not kept on _Shared: what is bound to
        # it would hold it in a cycle, and the CLI runs without the collector.)
        found = _GLOBALS.get((module, name))
        if found is None:
            found = _GLOBALS[(module, name)] = super().find_class(module, name)
        return found


_GLOBALS: dict[tuple[str, str], object] = {}


# -- builds, packed ----------------------------------------------------------
#
# A build is read from the store whole, yet most runs only pass most of it
# on: plan takes an app the change leaves alone to both revisions as one
# build and compares its objects by identity, and a walk reads the kinds and
# names of a build's objects, not their bodies.  Unpickling every node of
# 2,000 builds was half of a `plan --staged`.  So an entry holds the bodies
# of its objects (all but those _kept_whole), and what the build was made of,
# as pickles of their own, read back when something first looks inside (a body is a
# LazyMap: see volsync_kit.core.model).  Two bodies written alike are equal
# values: a run reads them as one node (_Shared.body), and plan's diff passes
# over an unchanged object unread.


class _Packed:
    """A value kept as the bytes it was pickled to, until first read."""

    __slots__ = ("data", "shared")

    def __init__(self, data: bytes, shared: _Shared | None = None) -> None:
        self.data = data
        self.shared = shared

    def value(self) -> object:
        return _Unpickler(self.data, self.shared or _Shared()).load()

    def __eq__(self, other: object) -> bool:
        # Equal bytes are equal values; unequal ones say nothing (see
        # model.same_unbuilt), so this never stands for a value's equality.
        return type(other) is type(self) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (type(self), (self.data,))


class _PackedBody(_Packed):
    """The body of an object, as the source of its LazyMap (a model.Pending)."""

    __slots__ = ("digest", "free")

    def __init__(self, data: bytes, free: bool = False, digest: bytes = b"", shared: _Shared | None = None) -> None:
        super().__init__(data, shared)
        self.free = free
        # Of the bytes (see _Shared.body); a body not read from a store takes it here.
        self.digest = digest or hashlib.blake2b(data, digest_size=16).digest()

    def map_items(self) -> tuple[dict[str, Node], dict[str, Loc]]:
        node = self.node(self.shared or _Shared())
        return node.items, node.key_locs  # type: ignore[return-value]

    def node(self, shared: _Shared) -> Map:
        node = _Unpickler(self.data, shared).load()
        if not isinstance(node, Map):
            raise TypeError("a packed body is a map")
        return node

    def seq_items(self) -> tuple[Node, ...]:
        raise TypeError("a packed body is a map")

    def vars_free(self) -> bool:
        return self.free

    def dollars(self) -> None:
        return None

    def strings(self) -> Iterator[str]:
        # Read apart, and the node stays unbuilt: plan asks every release in
        # a namespace whether it names a claim, and keeps none of them.
        return written_strings(self.node(_Shared()))

    def texts(self) -> list[str] | None:
        return written_texts(self.node(_Shared()))

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_PackedBody, (self.data, self.free, self.digest))


def _kept_whole(res: Resource) -> bool:
    """Objects whose bodies are kept inline in a build: Flux's own (children,
    sources, read by every walk, and whose nodes plan compares between
    revisions to find an app's build in the other) and the ConfigMaps and
    Secrets substitution reads.

    Every other body is packed, even of objects a walk or plan reads
    (ExternalSecrets, VolSync's movers, PersistentVolumes): plan reads
    both revisions from the store, and a body both wrote alike is then
    unpickled, held and passed over by the diff once (_Shared.body).  At
    2,000 apps, packing these made a warm plan 0.6 s faster and 15 MB
    smaller; packing Flux's own made it 0.8 s slower and 90 MB larger."""
    group, kind = res.group, res.kind
    if not group:
        return kind in ("ConfigMap", "Secret")
    if group.endswith(".fluxcd.io"):
        return kind != "HelmRelease"
    return group == "fluxcd.controlplane.io"


def _stored_resource(
    head: tuple[str, str, str, str],
    loc: Loc | None,
    body: _PackedBody,
    origin: Loc | None,
    original_name: str,
    original_namespace: str,
    aliases: tuple[str, ...],
    facts: dict[str, object] | None = None,
) -> Resource:
    shared = body.shared
    node = shared.body(body, loc) if shared is not None else LazyMap.of(body, loc)
    res = Resource(node, origin, original_name, original_namespace, aliases)
    object.__setattr__(res, "_head", head)  # its identity, without reading the body
    object.__setattr__(res, "facts", facts)  # and what was read of it (core.facts)
    return res


class _PackResource:
    """How a Resource of a build is written: its identity, then its body apart."""

    __slots__ = ("res",)

    def __init__(self, res: Resource) -> None:
        self.res = res

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        res = self.res
        node = res.node
        source = node.source() if type(node) is LazyMap else None
        # A body read from the store and never opened is written as the same bytes.
        body = source if isinstance(source, _PackedBody) else _PackedBody(_plain_dumps(node), node.vars_free)
        head = (res.kind, res.api_version, res.name, res.namespace)
        return (_stored_resource, (head, node.loc, body, res.origin, res.original_name, res.original_namespace,
                                   res.aliases, res.facts))  # fmt: skip


class _KeptKs:
    """How a Flux Kustomization of a build is written: whole, with the digest of
    its node.  The build of each child is keyed by that node, and a walk
    reading 2,000 of them back would otherwise pickle each again to digest it
    (a fifth of its time).  The digest stands for the value: equal values
    pickle alike in the key's "fast" mode, and a Kustomization's node holds no
    part left unbuilt (yamlio.EAGER_KINDS)."""

    __slots__ = ("digest", "res")

    def __init__(self, res: Resource, digest: str) -> None:
        self.res = res
        self.digest = digest

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        res = self.res
        return (_kept_ks, (res.node, res.origin, res.original_name, res.original_namespace, res.aliases, self.digest))


def _kept_ks(
    node: Map,
    origin: Loc | None,
    original_name: str,
    original_namespace: str,
    aliases: tuple[str, ...],
    digest: str,
    shared: _Shared | None = None,
) -> Resource:
    if shared is not None:
        shared.digests.setdefault(id(node), (node, digest))
    return Resource(node, origin, original_name, original_namespace, aliases)


def _is_flux_ks(res: Resource) -> bool:
    return res.kind == "Kustomization" and res.group == FLUX_GROUP


def _learned(resources: tuple[Resource, ...]) -> None:
    """Read every fact of each object (core.facts) as it is written, so that
    the store keeps them with its body: here, where pickling is, rather than
    before each put, as a detached writer does both after the command
    returned (a fifth of what a cold run spent on its cache)."""
    from volsync_kit.core.facts import learn  # a run that writes nothing never loads it

    for res in resources:
        learn(res)


def _reduce_stored(
    stored: Stored, node_digest: Callable[[Map], str]
) -> tuple[Callable[..., object], tuple[object, ...]]:
    _learned(stored.resources)
    resources = tuple(
        (_KeptKs(res, node_digest(res.node)) if _is_flux_ks(res) else res) if _kept_whole(res) else _PackResource(res)
        for res in stored.resources
    )
    kept = stored.kept_of
    if isinstance(kept, tuple) and kept:
        kept = _Packed(_plain_dumps(kept))
    shown = stored.shown
    if not shown:
        # Taken here, where the detached writer pickles, not on the command's time.
        from volsync_kit.core.runmemo import holds_many_apps, shown_of

        shown = shown_of(stored) if holds_many_apps(stored) else ""
    return (
        Stored,
        (stored.material, stored.asked, resources, stored.problems, stored.files, kept, shown, stored.passing),
    )


def _reduce_scanned(scanned: Scanned) -> tuple[Callable[..., object], tuple[object, ...]]:
    # Every body packed, Flux's own too: the scan reads their facts, not them.
    _learned(scanned.resources)
    return (Scanned, (tuple(_PackResource(res) for res in scanned.resources),))


def _node_digest(shared: _Shared, node: Map) -> str:
    # Kept with its node, so that no other object takes its id this run.
    found = shared.digests.get(id(node))
    if found is None:
        found = shared.digests[id(node)] = (node, _digest(_fast_dumps(node)))
    return found[1]


def _fast_dumps(value: object) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)
    return buffer.getvalue()


class _Digested:
    """A node in a key's material, written as the digest of its own bytes:
    nothing a material holds otherwise pickles as this class."""

    __slots__ = ("digest",)

    def __init__(self, digest: str) -> None:
        self.digest = digest

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_Digested, (self.digest,))


def _plain_dumps(value: object) -> bytes:
    return pickle.dumps(value, protocol=_PROTOCOL)


def _dumps(value: object, node_digest: Callable[[Map], str]) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=_PROTOCOL)
    pickler.dispatch_table = {
        **copyreg.dispatch_table,
        Stored: functools.partial(_reduce_stored, node_digest=node_digest),
        Scanned: _reduce_scanned,
    }
    pickler.dump(value)
    return buffer.getvalue()


class _Store:
    """The SQLite file of one repository, opened on first use; what a run
    makes is kept in memory and written in a few transactions."""

    def __init__(self, cache: DiskCache) -> None:
        self.path = cache.path
        self.version_dir = cache.version_dir
        self.base = cache.base
        self.db: sqlite3.Connection | None = None
        self.off = False  # nothing to read or write this run
        self.writable = True
        self.reset_done = False
        self.pending_entries: dict[str, tuple[str, str, int, bytes]] = {}
        self.pending_files: dict[str, tuple[str, str, str, str, str, int]] = {}
        self.pending_bytes = 0
        # Entries put while writing is left to the end (see close): pickled then.
        self.detach = False
        self.deferred: dict[str, tuple[str, object]] = {}
        self.holds_writer_lock = False  # the detached writer: it waits for no one
        self.shared = _Shared()  # what the entries read share (see _Shared)
        self.files: dict[str, tuple[str, Facts]] | None = None
        # The inputs of every entry, read in one query: a miss costs no query.
        self.inputs: dict[str, str] | None = None
        # Rows read one at a time before a table is read whole: a run that
        # reuses its last record asks about a few files and entries, not thousands.
        self.single_files = self.single_entries = 0
        # What a query may raise, known once sqlite3 is imported.
        self.errors: tuple[type[Exception], ...] = (OSError,)
        # Writes are counted on the cache; a weak reference, so that the
        # finalizer that closes this store does not keep the cache alive.
        self._cache = weakref.ref(cache)

    # -- reading ------------------------------------------------------------------

    def get(self, key: str, inputs: str) -> object | None:
        deferred = self.deferred.pop(key, None)
        if deferred is not None:
            # Read back as a value put without deferring would be: from its bytes.
            self._pack(key, *deferred)
        pending = self.pending_entries.get(key)
        if pending is not None:
            row: tuple[object, object, object] | None = pending[1:]
        elif self.inputs is None and self.single_entries < SINGLE_ROWS:
            self.single_entries += 1
            row = self._entry(key)
        else:
            if self.inputs is None:
                self.inputs = self._load_inputs()
            # Checked again on the row read: another run may have replaced it.
            row = self._entry(key) if self.inputs.get(key) == inputs else None
        if row is None:
            return None
        stored, checksum, data = row
        if stored != inputs or not isinstance(data, bytes) or zlib.crc32(data, _check(key, inputs)) != checksum:
            return None
        try:
            value: object = _Unpickler(data, self.shared).load()
        except Exception:  # any damage to an entry is a miss, never an error
            return None
        return value

    def inputs_of(self, key: str) -> str | None:
        """The inputs ``key`` was last put with: this run's, else the store's."""
        deferred = self.deferred.get(key)
        if deferred is not None:
            return deferred[0]
        pending = self.pending_entries.get(key)
        if pending is not None:
            return pending[1]
        if self.inputs is None:
            # One query for every key: a walk asks this of each file it scans
            # again (core.flux._scanned), and a cold run of all of them.
            self.inputs = self._load_inputs()
        return self.inputs.get(key)

    def facts(self, row: str, stamp: str) -> Facts | None:
        if self.files is None and self.single_files < SINGLE_ROWS:
            self.single_files += 1
            known = self._load_files(row).get(row)
        else:
            if self.files is None:
                self.files = self._load_files()
            known = self.files.get(row)
        return known[1] if known is not None and known[0] == stamp else None

    def _load_inputs(self) -> dict[str, str]:
        db = self._connection()
        if db is None:
            return {}
        try:
            return dict(db.execute(INPUTS_QUERY).fetchall())
        except self.errors as err:
            self._failed(err)
            return {}

    def _load_files(self, only: str | None = None) -> dict[str, tuple[str, Facts]]:
        db = self._connection()
        if db is None:
            return {}
        query = "SELECT path, stamp, digest, asked, found, checksum FROM files"
        try:
            if only is None:
                rows = db.execute(query).fetchall()
            else:
                rows = db.execute(query + " WHERE path = ?", (only,)).fetchall()
        except self.errors as err:
            self._failed(err)
            return {}
        files: dict[str, tuple[str, Facts]] = {}
        for *fields, checksum in rows:
            # A damaged row could otherwise say a file lacks a word it has.
            if all(isinstance(f, str) for f in fields) and _check(*fields) == checksum:
                path, stamp, digest, asked, found = fields
                files[path] = (stamp, Facts(digest, _words(asked), _words(found)))
        return files

    def _entry(self, key: str) -> tuple[object, object, object] | None:
        db = self._connection()
        if db is None:
            return None
        try:
            row = db.execute("SELECT inputs, checksum, value FROM entries WHERE key = ?", (key,)).fetchone()
        except self.errors as err:
            self._failed(err)
            return None
        return (row[0], row[1], row[2]) if row is not None else None

    # -- writing ------------------------------------------------------------------

    def stop_writing(self) -> None:
        """Write nothing more this run, and drop what is pending."""
        self.writable = False
        self.pending_entries.clear()
        self.pending_files.clear()
        self.deferred.clear()

    def put_value(self, key: str, inputs: str, value: object) -> None:
        if not self.writable:
            return
        if not self.detach:
            self._pack(key, inputs, value)
            if self.pending_bytes >= FLUSH_BYTES:
                self.flush()
            return
        # The values a run keeps are never changed after (frozen dataclasses of
        # tuples and located trees), so pickling one later writes the same.
        self.deferred[key] = (inputs, value)
        if self.inputs is not None:
            self.inputs[key] = inputs

    def _pack(self, key: str, inputs: str, value: object) -> None:
        try:
            data = _dumps(value, functools.partial(_node_digest, self.shared))
        except Exception:
            # A value that does not pickle, or whose keeping fails as it is
            # pickled (runmemo.Kept, a build's projection), is not stored: the
            # cache never fails a command, and a missing entry is a miss.
            return
        if len(data) <= MAX_ENTRY_BYTES:
            self.put(key, inputs, data)

    def put(self, key: str, inputs: str, data: bytes) -> None:
        self.pending_entries[key] = (key, inputs, zlib.crc32(data, _check(key, inputs)), data)
        if self.inputs is not None:
            self.inputs[key] = inputs
        self.pending_bytes += len(data)

    def index(self, row: str, stamp: str, facts: Facts) -> None:
        if self.files is not None:
            self.files[row] = (stamp, facts)
        if self.writable:
            fields = (row, stamp, facts.digest, "\0".join(sorted(facts.asked)), "\0".join(sorted(facts.found)))
            self.pending_files[row] = (*fields, _check(*fields))

    def flush(self) -> None:
        if self.detach:
            return  # all at once, at the end (see close)
        while self.deferred:
            self._pack(*self._next_deferred())
            if self.pending_bytes >= FLUSH_BYTES:
                self._write()
        self._write()

    def _next_deferred(self) -> tuple[str, str, object]:
        key = next(iter(self.deferred))
        inputs, value = self.deferred.pop(key)
        return key, inputs, value

    def _write(self) -> None:
        entries, files = list(self.pending_entries.values()), list(self.pending_files.values())
        self.pending_entries.clear()
        self.pending_files.clear()
        self.pending_bytes = 0
        # A second attempt only after a corrupt store was replaced by a new one.
        for _ in range(2):
            if not (entries or files) or not self.writable:
                return
            db = self._connection()
            if db is None:
                return
            try:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", entries)
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", files)
                db.execute("COMMIT")
            except self.errors as err:
                with contextlib.suppress(*self.errors):
                    db.execute("ROLLBACK")
                if not self._failed(err, writing=True):
                    return
                continue
            cache = self._cache()
            if cache is not None:
                cache.writes += len(entries)
            return

    def close(self) -> None:
        """Write what is pending and close the store.  A store that may detach
        (the console script's) leaves the writing to a process of its own,
        started here, and returns at once: the command's output is out by
        then, and pickling and writing what a cold run of 2,000 apps made
        (2.5 s) would otherwise keep the hook from returning.  As git's
        ``gc --auto`` does, the writer detaches from the terminal and from the
        command's pipes; a run that opens the store while it writes waits for
        it (_wait_for_writer) and then reads every entry.  A writer started
        while another one writes waits for it before it writes.  Where it
        cannot detach (no fork, no flock), the run writes as before."""
        if self.detach and self._hand_off():
            return
        self.detach = False
        self.flush()
        self._close_db()

    def _hand_off(self) -> bool:
        if not self.writable or not (self.deferred or self.pending_entries or self.pending_files):
            return False
        taken = self._writer_lock()
        if taken is None:
            return False
        lock, held = taken
        count = len(self.deferred) + len(self.pending_entries)
        # The writer opens a connection of its own: SQLite's must not cross a fork.
        self._close_db()
        try:
            pid = os.fork()
        except OSError:
            os.close(lock)
            return False
        if pid == 0:
            self._start_writer(lock, held)
        os.close(lock)  # the writer holds the lock until it exits
        # The first child leaves at once: the writer is nobody's child here,
        # and a process that goes on (a library's) keeps no zombie.
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
        cache = self._cache()
        if cache is not None:
            cache.writes += count
        return True

    def _start_writer(self, lock: int, held: bool) -> NoReturn:
        try:
            os.setsid()  # no terminal's signals, no wait by the caller's process group
            null = os.open(os.devnull, os.O_RDWR)
            for stream in (0, 1, 2):
                os.dup2(null, stream)  # pre-commit waits until the hook's pipes close
            try:
                writer = os.fork()
            except OSError:
                writer = 0  # then this child writes, and the caller waits for it
            if writer == 0:
                # Nothing else of the command's stays open here: a pipe that
                # a caller waits on, another lock on this store (which would
                # then never be released), a subprocess's stdin.  No object
                # that owns one is freed while the writer runs.
                os.closerange(3, lock)
                os.closerange(lock + 1, _max_fd())
                if not held:
                    import fcntl

                    # The writer of a run before still writes: this one waits its turn.
                    fcntl.flock(lock, fcntl.LOCK_EX)
                self.detach = False
                self.holds_writer_lock = True
                self.flush()
                self._close_db()
        finally:
            os._exit(0)  # nothing of the command runs again in either child

    def _lock_path(self) -> str:
        return str(self.path.with_suffix(_LOCK_SUFFIX))

    def _writer_lock(self) -> tuple[int, bool] | None:
        """A descriptor of the store's writer lock, and whether it now holds
        it (False: another writer does); None where it cannot be locked."""
        import fcntl

        try:
            self._prepare()
            lock = os.open(self._lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
            if lock < 3:
                # A process started without its standard streams: the writer
                # puts /dev/null on 0 to 2, which must not close the lock.
                low, lock = lock, fcntl.fcntl(lock, fcntl.F_DUPFD_CLOEXEC, 3)
                os.close(low)
        except OSError:
            return None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return lock, False
        except OSError:
            os.close(lock)
            return None
        return lock, True

    # -- the file -----------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection | None:
        if self.db is None and not self.off:
            try:
                self.db = self._open()
            except Exception as err:  # a Python without sqlite3, a folder that is a file...
                self._failed(err)
        return self.db

    def _open(self) -> sqlite3.Connection:
        import sqlite3  # only a run that uses the cache pays for the import

        self.errors = (sqlite3.Error, OSError)
        self._prepare()
        if not self.holds_writer_lock:
            _wait_for_writer(self._lock_path(), WRITER_WAIT_SECONDS)
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
        try:
            # Set before anything is written (a store's pages keep their size):
            # a build of an app is about 22 KB, and reading 4,000 of them from
            # pages of 4 KB out of the page cache took 0.30 s, from 16 KB 0.15 s
            # (0.057 s and 0.044 s from the page cache).
            db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
            # WAL: readers see whole transactions and never wait for a writer.
            # NORMAL: a power cut may lose the last transactions, never
            # corrupt the store; a cache needs no more.
            if db.execute("PRAGMA journal_mode = WAL").fetchone() != ("wal",):
                raise OSError("the cache's file system cannot hold a WAL database")
            db.execute("PRAGMA synchronous = NORMAL")
            layout = db.execute("PRAGMA user_version").fetchone()
            if layout != (_LAYOUT,):
                if layout != (0,):
                    raise sqlite3.DatabaseError("a store of another layout")
                db.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    db.execute(statement)
                db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self) -> None:
        """Private folders, and a private store file, created as needed."""
        self.base.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.version_dir.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            self._remove_other_versions()
        # SQLite gives its -wal and -shm files the mode of the store.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))

    def _remove_other_versions(self) -> None:
        """Stores of another build of the tool can never be read again."""
        import shutil

        try:
            siblings = list(os.scandir(self.base))
        except OSError:
            return
        for entry in siblings:
            if entry.name.startswith("v-") and entry.path != str(self.version_dir):
                shutil.rmtree(entry.path, ignore_errors=True)

    def _failed(self, err: Exception, writing: bool = False) -> bool:
        """What a failure means: a corrupt store is deleted and recreated (once
        a run); a busy one costs this batch; a write that fails otherwise (a
        read-only or full disk) turns writing off for the run, and anything
        else (no such folder, a folder that is a file) the whole cache.  True
        when the store was recreated, and what failed may be tried again."""
        code = getattr(err, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        if primary in (_BUSY, _LOCKED):
            return False
        corrupt = primary in (_CORRUPT, _NOTADB) or type(err).__name__ == "DatabaseError"
        if corrupt and not self.reset_done:
            self.reset_done = True
            self._close_db()
            self.files = self.inputs = None
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{self.path}{suffix}")
            return True  # the next use opens a new, empty store
        self.stop_writing()
        if corrupt or not writing:
            self._close_db()
            self.off = True
        return False

    def _close_db(self) -> None:
        if self.db is not None:
            with contextlib.suppress(*self.errors):
                self.db.close()
            self.db = None


def _max_fd() -> int:
    """One past the highest descriptor a process may hold (as subprocess does)."""
    try:
        return int(os.sysconf("SC_OPEN_MAX"))
    except (ValueError, OSError):
        return 65536


def _can_detach() -> bool:
    if os.environ.get(DETACH_ENV) == "0" or not hasattr(os, "fork"):
        return False
    try:
        import fcntl  # noqa: F401  (POSIX only: elsewhere the run writes before it exits)
    except ImportError:
        return False
    return True


def wait_for_writers(base: Path, seconds: float = WRITER_WAIT_SECONDS) -> None:
    """Wait for the detached writer of every store under the cache folder
    ``base`` (see _Store.close): for what reads a store other than through
    a run (the benchmarks, tests reading its tables)."""
    for lock in sorted(base.glob(f"v-*/*{_LOCK_SUFFIX}")):
        _wait_for_writer(str(lock), seconds)


def _wait_for_writer(path: str, seconds: float) -> None:
    """Wait, up to ``seconds``, for the detached writer of an earlier run (see
    _Store.close) to finish: a run started while it writes would otherwise
    find half of what the last run made, and make it again.  Nothing waits
    for a writer that holds on longer (its store is read as it stands, as
    with any other writer), and a store no writer ever locked costs one open."""
    try:
        import fcntl
    except ImportError:
        return
    try:
        lock = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return
                time.sleep(0.005)
            except OSError:
                return
    finally:
        os.close(lock)  # and with it the shared lock


def _check(*fields: str) -> int:
    """A checksum of a row's text fields: SQLite checks its pages' structure,
    not what they hold."""
    return zlib.crc32("\x1e".join(fields).encode("utf-8", "surrogatepass"))


# Files of one kind ask and hold the same few words: one set for each list,
# not two per file (12 MB of the index of a 2,000-app repository).
@functools.lru_cache(maxsize=1024)
def _words(joined: object) -> frozenset[str]:
    return frozenset(joined.split("\0")) - {""} if isinstance(joined, str) else frozenset()
