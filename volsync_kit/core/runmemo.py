"""Reusing a whole check when an edit changes nothing the check reads of it.

A pre-commit run follows an edit of one or two files, most often a HelmRelease
(a Renovate tag bump): the repository's VolSync volumes are the same as at the
last run, and so is everything lint says.  Walking 2,000 apps again to learn
that costs seconds; this module answers it in proportion to the edit.

A check is a pure function of what it asked the repository
(:mod:`volsync_kit.core.buildmemo` makes the same argument for one build).  A
run that has the disk cache records:

* every question asked *outside* a build (the scan for Flux objects, entry
  detection, source ignore files, the lint file view), with its answer: for
  ``mentions``, which of the words a file contains, not the file's digest,
  so that an edit which adds no such word leaves the answer as it was; and
  for the substitution sources a file writes, what it writes
  (:meth:`RunRecorder.derived`), so that a HelmRelease naming a Secret is
  not taken for one;
* for each Flux Kustomization built, the questions its build asked (through
  the source's view of the tree), and where the build memo keeps the build;
* the value computed from the walk: lint's
  :class:`~volsync_kit.core.lintreport.Checked`, render's result.

A later run asks again the questions about paths whose stamp moved (see
:class:`Stamped`; without stamps, every question).  The list of every YAML
file is vouched for by each folder it was found in, with a digest of what it
took of each (its YAML files, the folders it went into): when the folders that
moved still hold that, the list is the same, and only they are listed again
(:func:`_listed_alike`; a file saved by renaming a new one over it moves its
folder).  When an answer outside
builds differs, nothing is reused.  Each build with an answer that differs is
built again, alone, from the Kustomization and variables it was built from;
when every such build's *projection* (the part of its output that the walk and
the rules read, :func:`projection`) is the same as that of the build the record
saw, the walk would make the same apps, the same variables and the same
volumes, and the rules would find the same: the recorded value is returned,
and the record updated.  Otherwise the run walks the repository as usual.

An app's ``ks.yaml`` is read outside builds by the scan for entry points,
and inside the build that holds it (cluster-apps).  The scan's read is one
"scanned" question, judged by what the scan takes of the file
(:func:`_same_scan`); both it and the projection leave out a Flux
Kustomization's fields that lint and render do not read
(:data:`UNREAD_FIELDS`).  So an edit of when Flux reconciles an app (its
interval, timeout, dependsOn, suspend, prune) reuses the record.  cluster-apps,
which reads the file only as objects and carries those fields through
untouched, is not even built again (:func:`_passed`); a build that may read
them (a replacement, a JSON 6902 operation on them, a variable in them) is.
An edit of a postBuild.substitute value changes what the walk reads (the
app's variables): cluster-apps carries it through when no transform may set
it, the app is built again alone with its variables changed
(:func:`_resubstitute`), and the record holds when its projection is the
same and the command reads none of those variables itself.  Any other
ks.yaml edit walks.

Why the projection is enough: the walk reads of a build's objects the
Flux Kustomizations, sources, ConfigMaps, Secrets and ExternalSecrets it
makes; the rules read PersistentVolumes, the claims that go with the static
ones, the claims VolSync movers mount, and of the build its problems and the
files it read.  Those kinds are digested whole, locations included; every
other object by its identity and location.  render prints every claim and
mover whole; lint reads of another claim only whether it goes with a static
volume, and of a mover only the claims it mounts and under which mover (:data:`LINT`), so another
size of an app's data claim keeps lint's record.  Its file view reads the
volume documents of every file Flux reads through one derived question per
file (``volumedocs.volume_facts``), and a file holding what it judges as text.
``tests/test_runmemo.py`` edits repositories in the ways that matter and
compares every reuse with a run without the cache.

lint brings its record up to date rather than walk (:class:`Patching`) after
an edit of what its rules read of a few apps: an app's own static volume, the
claim that goes with it, a mover's claims.  The apps' builds are made again
alone, as above; when what the walk reads of each (:func:`walked_part`: the
Flux objects, ConfigMaps, Secrets, ExternalSecrets, and its files) is the
same, and the only questions outside builds that changed are the file view's
own ("viewed", and its derived question), ``lint.patched`` makes the findings
of those apps and of the file view's folders again, and keeps every other
app's.  It walks when an app made again shares with another Kustomization
what rules compare across apps (a volume's name, rootPath or handle, its app's
name), when another build reads a file of those folders, or when a folder lies
in a component.

plan of the work tree records its run too, under the commit it compares with
(whose tree never moves).  Of the head it reads a little more than lint and
render (:data:`PLAN`): the StorageClasses its diff compares, and whether a
Kustomization prunes and is suspended.  Its checklist reads every object of
an app, the HelmReleases that mount a claim among them, but of the base only.
So a Renovate tag bump, or an interval, is answered for plan as for lint; an
edit of prune or suspend walks.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import hashlib
import io
import pickle
import posixpath
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from volsync_kit.core.buildmemo import (
    Answers,
    NotingReader,
    Passing,
    RecordingReader,
    Rescanned,
    Scanned,
    Stored,
    answer_now,
)
from volsync_kit.core.buildmemo import Question as BuildQuestion
from volsync_kit.core.model import KeyLocs, KsRef, Loc, Map, ModelError, Node, Problem, Resource, Scalar, Seq, node_at
from volsync_kit.core.ports import BuildMemo, PathKind, RepoReader
from volsync_kit.core.sources import FLUX_GROUP

if TYPE_CHECKING:
    from volsync_kit.core.flux import KsResult
    from volsync_kit.core.sourceignore import Ignore

# (view, what, path, words): view -1 is the repository itself, any other the
# index of a source's view (root and ignore rules) that builds read through.
Question = tuple[int, str, str, str]

# Kinds whose content the walk or the rules read: digested whole.
READ_KINDS = frozenset(
    {
        "PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination",
        "ConfigMap", "Secret", "ExternalSecret", "ClusterExternalSecret",
        "Kustomization", "GitRepository", "OCIRepository", "Bucket", "FluxInstance",
    }
)  # fmt: skip


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# -- what a build's output means to the walk and the rules ---------------------------


def _loc(loc: Loc | None) -> tuple[str, int, int] | None:
    return (loc.file, loc.line, loc.col) if loc is not None else None


def _canon(node: Node) -> object:
    """``node`` as plain tuples, locations included: equal trees give equal
    text, however their objects are shared."""
    if isinstance(node, Scalar):
        value, loc = node.value, node.loc
        return (type(value).__name__, value, None if loc is None else (loc.file, loc.line, loc.col))
    loc = node.loc
    at = None if loc is None else (loc.file, loc.line, loc.col)
    if isinstance(node, Seq):
        return ("seq", at, tuple([_canon(item) for item in node.items]))
    return ("map", at, _canon_items(node))


def _canon_items(node: Map) -> tuple[object, ...]:
    items = node.items
    key_locs = node.key_locs
    if type(key_locs) is KeyLocs and key_locs.names == tuple(items):
        # Packed positions, read in order: a projection of cluster-apps reads
        # 2,000 Kustomizations, and a Loc made per key was a third of it.
        file = key_locs.file
        return tuple(
            [
                (key, (file, line, col), _canon(value))
                for (key, value), (line, col) in zip(items.items(), key_locs.positions(), strict=True)
            ]
        )
    key_locs = key_locs or {}
    return tuple([(key, _loc(key_locs.get(key)), _canon(value)) for key, value in items.items()])


def _tree_digest(parts: object) -> str:
    """A digest of plain tuples (of :func:`_canon`): pickled without its memo,
    equal values give equal bytes, and faster than their repr."""
    out = io.BytesIO()
    pickler = pickle.Pickler(out, protocol=5)
    pickler.fast = True  # no memo: a string seen twice is written twice
    pickler.dump(parts)
    return hashlib.blake2b(out.getbuffer(), digest_size=16).hexdigest()


# The spec fields of a Flux Kustomization that neither the walk nor the rules
# (nor render) read: when and how kustomize-controller reconciles it, how
# often (interval, retryInterval), how long it waits and for what (timeout,
# wait, healthChecks, healthCheckExprs), after what (dependsOn), whether it
# recreates an object it cannot patch (force); whether it reconciles at all
# (suspend); and what becomes of the objects it stops applying (prune,
# deletionPolicy), which plan reads (see PLAN).
# See the Kustomization API, https://fluxcd.io/flux/components/kustomize/kustomizations/.
# An edit of one alone changes nothing lint's or render's recorded value says:
# tests/test_runmemo.py edits them and compares with a run without the cache,
# and fails when code lint or render runs names one.  Their keys and values
# go; every other key keeps its location, so an edit that moves a line still
# counts.
UNREAD_FIELDS = frozenset(
    {
        "interval", "retryInterval", "timeout", "wait", "healthChecks", "healthCheckExprs", "dependsOn", "force",
        "suspend", "prune", "deletionPolicy",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Reads:
    """What a command reads of the objects of a build and of a file the scan
    reads: the content of the ``kinds`` (digested whole, locations included),
    of a Flux Kustomization all but the spec fields ``unread``, and of any
    other object its identity and where it comes from.  Of an object of the
    ``partial`` kinds that the command does not read whole, what it does read
    (lint's: ``volumedocs.partly_read``)."""

    kinds: frozenset[str]
    unread: frozenset[str]
    partial: frozenset[str] = frozenset()


# render: it prints every claim and mover whole.
RENDER = Reads(READ_KINDS, UNREAD_FIELDS)
# lint: the walk reads no claim and no mover, and the rules read the static
# CephFS volumes and the claims that go with them (core.volumedocs.related_objects,
# digested whole); of any other claim what tells whether it goes with one
# (facts.claim_volume, facts.claim_without_class), and of a mover the claims
# it mounts, with the mover (VK301, facts.mounts).  So another size of an app's data
# claim (and of its ReplicationDestination, both from VOLSYNC_CAPACITY in
# the usual component) leaves lint's record as it is.
LINT = Reads(
    READ_KINDS, UNREAD_FIELDS, frozenset({"PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination"})
)
# plan: what its diff compares (diff.TRACKED: a StorageClass says whether a
# claim may grow in place), and what it prunes and whether it is suspended
# (diff._prunes, diff._deletes_on_removal, planner._explicit_unsuspend).  Its
# checklist reads the HelmReleases, and every object of an app, of the base
# only, whose commit's tree never moves: a release's tag at the head is not
# read (tests/test_runmemo.py names the edits, and fails when the code
# plan runs names one of ``unread``).
PLAN = Reads(
    READ_KINDS | {"StorageClass", "VolumeSnapshotClass"}, UNREAD_FIELDS - {"suspend", "prune", "deletionPolicy"}
)


def reads_of(name: str) -> Reads:
    """What the command ``name`` reads (see Reads); any but lint and plan,
    every object of the kinds as render does."""
    return LINT if name == "lint" else PLAN if name == "plan" else RENDER


def _is_flux_ks(res: Resource) -> bool:
    return res.kind == "Kustomization" and res.group == FLUX_GROUP


def _flux_spec(res: Resource) -> Map | None:
    """The spec of a Flux Kustomization, else None."""
    spec = res.node.items.get("spec") if _is_flux_ks(res) else None
    return spec if isinstance(spec, Map) else None


def _canon_object(res: Resource, unread: frozenset[str] = UNREAD_FIELDS, *, values: bool = True) -> object:
    """``res`` as :func:`_canon` gives it; of a Flux Kustomization, without the
    spec fields ``unread`` (those the command does not read), and without
    ``values``, without the values of its postBuild.substitute (their keys and
    where each is written stay)."""
    node = res.node
    spec = _flux_spec(res)
    if spec is None:
        return _canon(node)
    kept = {key: value for key, value in spec.items.items() if key not in unread}
    if not values and isinstance(post := kept.get("postBuild"), Map):
        kept["postBuild"] = _without_values(post)
    key_locs = spec.key_locs or {}
    lean = Map(kept, spec.loc, {key: loc for key in kept if (loc := key_locs.get(key)) is not None})
    return _canon(Map({**node.items, "spec": lean}, node.loc, node.key_locs))


def _without_values(post: Map) -> Map:
    inline = post.items.get("substitute")
    if not isinstance(inline, Map):
        return post
    blank = {key: Scalar(None, v.loc) if isinstance(v, Scalar) else v for key, v in inline.items.items()}
    return Map({**post.items, "substitute": Map(blank, inline.loc, inline.key_locs)}, post.loc, post.key_locs)


# What the walk reads of a build: the kinds it reads whole but the volumes,
# claims and movers (only the rules read those), and which files it read.
WALK_KINDS = READ_KINDS - {"PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination"}


def walked_part(resources: Iterable[Resource], files: Iterable[str], reads: Reads = RENDER) -> str:
    """A digest of what the walk reads of one build (:data:`WALK_KINDS`, and its
    files): when it is the same, a build made again changed only what the rules
    read of it, which a patch makes again (:class:`Patching`)."""
    kept = tuple(
        (res.kind, res.api_version, res.name, res.namespace, _loc(res.origin), _canon_object(res, reads.unread))
        for res in resources
        if res.kind in WALK_KINDS
    )
    return _tree_digest((kept, tuple(sorted(files))))


def projection(
    resources: Iterable[Resource], problems: Iterable[Problem], files: Iterable[str], reads: Reads = RENDER
) -> str:
    """A digest of what the walk and a command (``reads``: render's by
    default) read of one build (see module doc).

    A build without objects of ``reads.partial`` kinds has the same
    projection for lint and for render; one with them never has (a fact
    is no tree), so comparing one command's projection with the other's
    can only make the run walk."""
    resources = tuple(resources)
    parts: list[object] = []
    kinds, unread, partial = reads.kinds, reads.unread, reads.partial
    whole: frozenset[int] = frozenset()
    if partial and any(res.kind in partial for res in resources):
        from volsync_kit.core import volumedocs  # lint's own reading: no rule loaded

        whole = frozenset(id(res) for res in volumedocs.related_objects(resources))
    for res in resources:
        head = (res.kind, res.api_version, res.name, res.namespace, _loc(res.origin), res.original_name)
        if res.kind in partial and id(res) not in whole:
            parts.append((head, volumedocs.partly_read(res)))
        else:
            parts.append((head, _canon_object(res, unread)) if res.kind in kinds else head)
    parts.append(tuple(repr(p) for p in problems))
    parts.append(tuple(sorted(files)))
    return _tree_digest(parts)


# -- recording a run ---------------------------------------------------------------------


def ask(answers: Answers, what: str, path: str, words: str) -> str:
    """The answer the tree of ``answers`` gives to one question, as recorded."""
    if what == "mentions":
        try:
            return "\0".join(sorted(answers.repo.mentions(path, frozenset(words.split("\0")))))
        except ModelError as err:
            return f"error:{err.code}:{err.message}"
    if what == "yaml_files":
        return _digest("\0".join(answers.repo.yaml_files()))
    if what == "derived":
        return _derived_answer(words, _derive(answers.repo, words, path))
    if what in ("scanned", "viewed"):
        return answers.answer(("text", path))
    return answers.answer((what, path))


def _derive(repo: RepoReader, name: str, path: str) -> tuple[object, ...]:
    """What a named, pure function of one file gives (see RunRecorder.derived)."""
    from volsync_kit.core import flux

    if name == flux.WRITTEN_OBJECTS:
        return flux.written_objects_of(repo, path)
    from volsync_kit.core import volumedocs

    if name == volumedocs.VOLUME_DOCUMENTS:
        return volumedocs.volume_documents(repo, path)
    raise KeyError(name)


def _derived_answer(name: str, made: tuple[object, ...]) -> str:
    """The recorded answer of a derivation: a digest of what the run reads of
    its result (all of it, but of the volume documents volumedocs.volume_facts)."""
    from volsync_kit.core import volumedocs

    if name == volumedocs.VOLUME_DOCUMENTS:
        made = volumedocs.volume_facts(made)  # type: ignore[arg-type]
    return _digest(repr(_plain(made)))


def _plain(value: object) -> object:
    """``value`` as plain tuples whose ``repr`` is the same in every process
    (sets sorted: string hashes differ from one process to the next)."""
    if isinstance(value, Map | Seq | Scalar):
        return _canon(value)
    if isinstance(value, Loc):
        return _loc(value)
    if isinstance(value, Resource):
        return ("resource", _loc(value.origin), value.original_name, _canon(value.node))
    if isinstance(value, frozenset | set):
        return ("set", tuple(sorted(repr(_plain(v)) for v in value)))
    if isinstance(value, Mapping):
        return ("map", tuple((repr(k), _plain(v)) for k, v in value.items()))
    if isinstance(value, tuple | list):
        return tuple(_plain(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, tuple(_plain(getattr(value, f.name)) for f in dataclasses.fields(value)))
    return value


class RunRecorder(NotingReader):
    """A RepoReader that notes each question asked outside a build."""

    def __init__(self, repo: RepoReader) -> None:
        self.repo = repo
        # Builds name their slots after the reader: the same as without recording.
        self.label = getattr(repo, "label", type(repo).__name__)
        self.asked: dict[tuple[str, str, str], str] = {}
        self._answers = Answers(repo)
        self._building = 0

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Questions asked inside are the build's own (see RunLog.note_build)."""
        self._building += 1
        try:
            yield
        finally:
            self._building -= 1

    def _note(self, what: str, path: str, words: str = "") -> None:
        question = (what, path, words)
        if not self._building and question not in self.asked:
            self.asked[question] = ask(self._answers, *question)

    def mentions(self, path: str, words: frozenset[str]) -> frozenset[str]:
        self._note("mentions", path, "\0".join(sorted(words)))
        return self.repo.mentions(path, words)

    def yaml_files(self) -> Iterator[str]:
        self._note("yaml_files", "")
        return self.repo.yaml_files()

    @contextlib.contextmanager
    def scanning(self, path: str) -> Iterator[None]:
        """The scan for Flux objects reads ``path`` inside: noted as one
        "scanned" question, whose answer is the file's digest like a "text"
        question's, but which a later run may find still holds when the text
        changed and what the scan takes of it did not (see :func:`_same_scan`)."""
        self._note("scanned", path)
        self._building += 1
        try:
            yield
        finally:
            self._building -= 1

    def viewed(self, path: str) -> None:
        """lint's file view reads the text of ``path`` (a static volume's file):
        noted as a question of its own, whose answer is the file's digest like a
        "text" question's, and which a patch may answer changed (:class:`Patching`)."""
        self._note("viewed", path)

    def derived(self, name: str, path: str) -> tuple[object, ...]:
        """What the pure function ``name`` of one file gives (flux.written_objects_of),
        noted as its own question: its answer is a digest of the result, so an
        edit that changes the file's text and not the result changes nothing."""
        made = _derive(self.repo, name, path)
        question = ("derived", path, name)
        if not self._building and question not in self.asked:
            self.asked[question] = _derived_answer(name, made)
        return made


class Stamped(Protocol):
    """What a reader may add so that a run skips the questions about paths that
    are as they were (the file system adapter does; a git tree need not)."""

    def kind(self, path: str) -> PathKind: ...

    def seen_stamp(self, path: str) -> bytes | None:
        """How ``path`` stood before this run first read it, when that vouches
        for what was read; None otherwise."""

    @property
    def stamp_size(self) -> int:
        """The length of every stamp."""

    def stamps(self, paths: Iterable[str]) -> bytes:
        """How each of ``paths`` stands now, in the terms of seen_stamp, one
        after the other (zeros for a path that is not there; never every
        byte 0xFF, which a record writes for a folder not settled yet)."""

    def walked(self) -> tuple[str, ...]:
        """The folders listed to find every YAML file."""

    @property
    def listing_size(self) -> int:
        """The length of the digest :meth:`listed` gives."""

    def walked_listings(self) -> bytes:
        """Of each folder :meth:`walked` gives, in order, what :meth:`listed` gave."""

    def listed(self, path: str) -> bytes:
        """A digest of what the folder ``path`` holds now that the search for
        every YAML file reads; it stamps the folder first, as that search does."""

    def sealed(self) -> Stamped:
        """This reader, vouching only for the paths read so far, as they stood then."""


@runtime_checkable
class _StampedReader(Stamped, Protocol):
    pass


View = tuple[str, "Ignore | None"] | None  # a source's (root, ignore rules); None: the repository
WHATS = ("kind", "listdir", "text", "mentions", "yaml_files", "derived", "scanned", "viewed")
_WHAT_CODE = {what: code for code, what in enumerate(WHATS)}
ANSWER_SIZE = 16
# Beyond this many builds to make again one by one (each also compared with the
# build it replaces), walking the repository with the build memo costs less.
MAX_REBUILDS = 128


def _answer_key(answer: str) -> bytes:
    return hashlib.blake2b(answer.encode("utf-8", "surrogatepass"), digest_size=ANSWER_SIZE).digest()


def _key_of(what: str, answer: str) -> bytes:
    """How a record keeps an answer: a digest of it, except that a "scanned"
    answer (a file's digest, ANSWER_SIZE bytes in hex) is kept as it is, so
    that a later run can find what the scan made of that text in the store."""
    if what == "scanned" and len(answer) == 2 * ANSWER_SIZE:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(answer)
    return _answer_key(answer)


@dataclass(frozen=True)
class BuildNote:
    """One build of the recorded run: where the build memo keeps it, and the
    questions it asked."""

    slot: str  # "" for a build that failed
    material: str
    view: int
    asked: array[int]  # question numbers
    ks: str = ""  # the Flux Kustomization built: its file, namespace and name (ks_key)


@dataclass(frozen=True)
class RunState:
    """What changes from one run to the next: the answers, and the stamps that
    vouch for them.  Stored apart from its RunRecord, whose ``ident`` names
    it, so that a run after a small edit writes this and not the whole record."""

    answers: bytes  # ANSWER_SIZE bytes per question: a digest of its answer
    # Paths whose stamps vouch for some questions' answers: the i-th is path
    # number w_path[i], whose stamp is the i-th stamp_size bytes of w_stamp,
    # and vouches for the questions w_numbers[w_start[i]:w_start[i + 1]].
    stamp_size: int
    w_path: array[int]
    w_stamp: bytes
    w_start: array[int]
    w_numbers: array[int]
    always: array[int] | None  # asked on every run; None: no stamps at all, every question is
    walked: array[int]  # path numbers of the folders listed to find every YAML file
    listings: bytes = b""  # what each of those held (Stamped.listed), one digest after the other

    def stamp(self, position: int) -> bytes:
        return self.w_stamp[position * self.stamp_size : (position + 1) * self.stamp_size]

    def vouched(self, position: int) -> array[int]:
        return self.w_numbers[self.w_start[position] : self.w_start[position + 1]]


@dataclass(frozen=True)
class RunRecord:
    """What one run asked, and the value it made of the answers.

    Kept in columns (arrays, one bytes object of answer digests): a record of
    tens of thousands of questions is read on every commit, and pickle's cost
    is per object.
    """

    paths: tuple[str, ...]  # every path a question is about, and every folder listed
    words: tuple[str, ...]  # the word lists of mentions questions
    views: tuple[View, ...]
    # Per question: its view (-1: the repository), what (an index of WHATS), path, words.
    q_view: array[int]
    q_what: bytes
    q_path: array[int]
    q_words: array[int]
    builds: tuple[BuildNote, ...]
    value: object
    state: RunState | None = None
    ident: str = ""  # set by the store: the key of its state

    def question(self, number: int) -> Question:
        words = self.q_words[number]
        return (
            self.q_view[number],
            WHATS[self.q_what[number]],
            self.paths[self.q_path[number]],
            self.words[words] if words else "",
        )

    def answer(self, number: int) -> bytes:
        assert self.state is not None
        return self.state.answers[number * ANSWER_SIZE : (number + 1) * ANSWER_SIZE]


class _Columns:
    """A RunRecord being made: from a run's questions, or from a record and what changed."""

    def __init__(self, record: RunRecord | None = None) -> None:
        self.paths: list[str] = list(record.paths) if record else []
        self.path_ids = {path: number for number, path in enumerate(self.paths)}
        self.words: list[str] = list(record.words) if record else [""]
        self.word_ids = {words: number for number, words in enumerate(self.words)}
        self.q_view = array("h", record.q_view if record else ())
        self.q_what = bytearray(record.q_what if record else b"")
        self.q_path = array("I", record.q_path if record else ())
        self.q_words = array("H", record.q_words if record else ())
        self.answers = bytearray(record.state.answers if record and record.state else b"")
        self.index: dict[Question, int] = {}

    def path(self, path: str) -> int:
        number = self.path_ids.get(path)
        if number is None:
            number = self.path_ids[path] = len(self.paths)
            self.paths.append(path)
        return number

    def add(self, question: Question, answer: str) -> int:
        """The number of ``question``, added unless this record made it already."""
        found = self.index.get(question)
        if found is not None:
            return found
        view, what, path, words = question
        number = self.index[question] = len(self.q_view)
        word_id = self.word_ids.get(words)
        if word_id is None:
            word_id = self.word_ids[words] = len(self.words)
            self.words.append(words)
        self.q_view.append(view)
        self.q_what.append(_WHAT_CODE[what])
        self.q_path.append(self.path(path))
        self.q_words.append(word_id)
        self.answers += _key_of(what, answer)
        return number

    def set_answer(self, number: int, key: bytes) -> None:
        self.answers[number * ANSWER_SIZE : (number + 1) * ANSWER_SIZE] = key

    def record(self, views: tuple[View, ...], builds: tuple[BuildNote, ...], value: object, watch: _Watch) -> RunRecord:
        state = RunState(
            bytes(self.answers),
            watch.stamp_size,
            watch.w_path,
            b"".join(watch.w_stamp),
            watch.w_start,
            watch.w_numbers,
            watch.always,
            watch.walked,
            watch.listings,
        )
        return RunRecord(
            tuple(self.paths),
            tuple(self.words),
            views,
            self.q_view,
            bytes(self.q_what),
            self.q_path,
            self.q_words,
            builds,
            value,
            state,
        )


class _Watch:
    """The stamps that vouch for a record's answers (see :func:`_anchor`)."""

    def __init__(self, stamp_size: int = 0) -> None:
        self.stamp_size = stamp_size
        self.w_path = array("I")
        self.w_stamp: list[bytes] = []
        self.w_start = array("I", [0])
        self.w_numbers = array("I")
        self.always: array[int] | None = array("I")
        self.walked = array("I")
        self.listings = b""

    def group(self, path: int, stamp: bytes, numbers: Iterable[int]) -> None:
        self.w_path.append(path)
        self.w_stamp.append(stamp)
        self.w_numbers.extend(numbers)
        self.w_start.append(len(self.w_numbers))


@dataclass(frozen=True)
class ValueRef:
    """Where a record's value is kept: in a slot of its own, under this
    ident, read only when the record holds.  A record that does not hold
    (the run walks) then costs no unpickling of the value: 0.3 s for a
    plan that replaces 2,000 volumes.  A record updated after an edit it
    answers keeps pointing at the same value, which is not written again."""

    ident: str


class Kept:
    """A recorded run's value, to be kept as ``keep`` makes it: an equal value
    that pickles smaller (render's, :func:`~volsync_kit.core.render.shared`).

    ``keep`` runs when the record is pickled, which the console script leaves
    to its detached cache writer, after the output: sharing the equal parts
    of 2,000 apps' volumes took about 1.5 s of a render that walked, and
    doubled its memory.  What is read back is ``keep(value)`` itself.
    """

    __slots__ = ("keep", "value")

    def __init__(self, value: object, keep: Callable[[Any], object]) -> None:
        self.value = value
        self.keep = keep

    def __reduce__(self) -> tuple[Callable[[object], object], tuple[object]]:
        return (_as_kept, (self.keep(self.value),))


def _as_kept(value: object) -> object:
    return value


class RecordLater:
    """The record of a walk (:func:`_record_of` its :class:`RunLog`), made when
    the first of its parts is kept: the console script leaves that to its
    detached cache writer, after the output.  Numbering every question the run asked and finding the stamps
    that vouch for them took 0.15 s of a walk at 2,000 apps.

    It holds what the run noted, and its reader sealed (:meth:`Stamped.sealed`):
    the record vouches for the paths the run read, as they stood before it read
    them, and for no path first read later.  Not the log, whose reader holds
    the cache that holds this: the cache would then outlive its run."""

    __slots__ = ("ident", "made", "noted")

    def __init__(self, log: RunLog, ident: str) -> None:
        repo = log.recorder.repo
        stamped = repo.sealed() if isinstance(repo, _StampedReader) else None
        self.noted = (dict(log.recorder.asked), tuple(log.builds), tuple(log.views), stamped)
        self.ident = ident
        self.made: RunRecord | None = None

    def record(self) -> RunRecord:
        """The record, its value in a slot of its own (:class:`ValueRef`)."""
        if self.made is None:
            asked, builds, views, stamped = self.noted
            made = _record_of(asked, builds, views, stamped, ValueRef(self.ident))
            self.made = dataclasses.replace(made, ident=self.ident)
        return self.made

    def without_state(self) -> RunRecord:
        return dataclasses.replace(self.record(), state=None)

    def state(self) -> RunState | None:
        return self.record().state


class RunLog:
    """The builds of a run being recorded, noted by flux.Memo as it makes or reuses them."""

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder
        # By identity, holding the view: a walk that is dropped frees its
        # view, and another one could otherwise be given its id.
        self._views: dict[int, tuple[int, RepoReader]] = {}
        self.views: list[View] = []
        self.builds: list[_Built] = []

    def view_of(self, repo: RepoReader) -> int:
        """The index of the view a build reads through."""
        if id(repo) not in self._views:
            root, ignore = getattr(repo, "root", None), getattr(repo, "ignore", None)
            self._views[id(repo)] = (len(self.views), repo)
            self.views.append((root, ignore) if isinstance(root, str) else None)
        return self._views[id(repo)][0]

    def note_build(self, slot: str, view: int, stored: Stored, ks: KsRef) -> None:
        self.builds.append((slot, stored.material, view, stored.asked, ks_key(ks.file, ks.namespace, ks.name)))

    def summarize(self, store: BuildMemo, slot: str, stored: Stored) -> None:
        """Keep summaries of a build that holds many apps (see SHOWN_FROM): one
        for lint and render, one for plan, which reads more of it."""
        for reads in (RENDER, PLAN):
            kept = summary(stored, reads)
            if kept is not None:
                store.put(summary_slot(store, slot, reads), stored.material, kept)

    def note_failed(self, view: int, asked: tuple[tuple[BuildQuestion, str], ...]) -> None:
        """A build that failed: nothing is stored, so a change to what it read
        means walking again (its note has no slot)."""
        self.builds.append(("", "", view, asked, ""))


_Built = tuple[str, str, int, tuple[tuple[BuildQuestion, str], ...], str]  # RunLog.builds


def _record_of(
    asked: Mapping[tuple[str, str, str], str],
    builds: Iterable[_Built],
    views: Iterable[View],
    repo: Stamped | None,
    value: object,
) -> RunRecord:
    """The record of a run that asked ``asked`` outside its builds and made
    ``builds``, vouched for by the stamps of ``repo``."""
    columns = _Columns()
    for (what, path, words), answer in asked.items():
        columns.add((-1, what, path, words), answer)
    notes = tuple(
        BuildNote(slot, material, view, array("I", (columns.add((view, q[0], q[1], ""), a) for q, a in made)), ks)
        for slot, material, view, made, ks in builds
    )
    watch = _Watch(repo.stamp_size if repo is not None else 0)
    if repo is not None:
        walked = [columns.path(d) for d in repo.walked()]
        _vouch(watch, columns, range(len(columns.q_view)), repo, {}, walked, repo.walked_listings())
    else:
        watch.always = None
    return columns.record(tuple(views), notes, value, watch)


def _vouch(
    watch: _Watch,
    columns: _Columns,
    numbers: Iterable[int],
    repo: Stamped,
    kept: _StampsKept,
    walked: list[int],
    listings: bytes = b"",
) -> None:
    """Add to ``watch`` the stamps that vouch for the questions ``numbers``: a
    question about a path is vouched for by the path's stamp, or, for a path
    that is missing, by the stamp of the nearest folder that exists (adding
    the path changes it); the list of every YAML file by each folder listed
    (``walked``, each of which held what ``listings`` says).  ``kept`` holds
    stamps known to vouch still (paths not read again since).

    A folder listed too soon after it changed to trust its stamp (RACY_NS)
    gets a stamp no folder has: the next run finds it moved, and lists that
    folder alone again (_listed_alike) rather than the whole tree."""
    anchors: dict[int, tuple[int, bytes] | None] = {}

    def anchor(path: int) -> tuple[int, bytes] | None:
        if path not in anchors:
            anchors[path] = _anchor(repo, columns, path, kept)
        return anchors[path]

    groups: dict[int, tuple[bytes, list[int]]] = {}
    always = watch.always if watch.always is not None else array("I")
    unsettled = _unsettled(repo.stamp_size)
    for number in numbers:
        if columns.q_what[number] == _WHAT_CODE["yaml_files"]:
            listed = len(listings) == len(walked) * repo.listing_size
            targets = [anchor(d) or ((d, unsettled) if listed else None) for d in walked]
            watch.walked = array("I", walked)
            watch.listings = listings if listed else b""
        else:
            targets = [anchor(columns.q_path[number])]
        if not targets or any(t is None for t in targets):
            always.append(number)
            continue
        for target in targets:
            assert target is not None
            groups.setdefault(target[0], (target[1], []))[1].append(number)
    for path, (stamp, vouched) in groups.items():
        watch.group(path, stamp, vouched)
    watch.always = always


def _kept_groups(state: RunState, moved: set[int]) -> tuple[_Watch, set[int]]:
    """The groups of ``state`` whose path did not move, and the questions to
    vouch for again: those the moved paths vouched for, and those asked on
    every run.  Every other group is kept as it was, copied in runs (10,000
    paths at 2,000 apps); one that also vouches for a question vouched for
    again (the list of YAML files) loses it, so that it is not kept twice."""
    stale = [position for position, path in enumerate(state.w_path) if path in moved]
    again = {number for position in stale for number in state.vouched(position)} | set(state.always or ())
    watch = _Watch(state.stamp_size)
    begin = 0
    for position in [*sorted(set(stale) | _holding(state, again)), len(state.w_path)]:
        _copy_groups(watch, state, begin, position)
        if position < len(state.w_path) and state.w_path[position] not in moved:
            numbers = [n for n in state.vouched(position) if n not in again]
            if numbers:  # a group left with nothing to vouch for goes: kept, each such run would add one
                watch.group(state.w_path[position], state.stamp(position), numbers)
        begin = position + 1
    return watch, again


class _StampsKept(Protocol):
    def get(self, path: int, /) -> bytes | None: ...


class _KeptStamps:
    """The stamps of a record's paths that did not move: they still vouch."""

    def __init__(self, state: RunState, moved: set[int]) -> None:
        self.state = state
        self.moved = moved
        self._at: dict[int, int] | None = None

    def get(self, path: int) -> bytes | None:
        if path in self.moved:
            return None
        if self._at is None:
            # Positions looked up, not searched for: vouching again for the list of
            # YAML files asks about every folder walked (4,000 at 2,000 apps), and a
            # search of the 10,000 paths for each took 0.15 s.
            self._at = {}
            for at, number in enumerate(self.state.w_path):
                self._at.setdefault(number, at)
        position = self._at.get(path)
        return None if position is None else self.state.stamp(position)


def _holding(state: RunState, numbers: set[int]) -> set[int]:
    """The positions of the groups of ``state`` that vouch for any of ``numbers``."""
    found: set[int] = set()
    for number in numbers:
        at = 0
        with contextlib.suppress(ValueError):
            while True:
                at = state.w_numbers.index(number, at)
                found.add(bisect.bisect_right(state.w_start, at) - 1)
                at += 1
    return found


def _copy_groups(watch: _Watch, state: RunState, begin: int, end: int) -> None:
    """Append the groups ``begin`` to ``end`` (excluded) of ``state`` to ``watch``, as they are."""
    if begin >= end:
        return
    size = state.stamp_size
    first, last = state.w_start[begin], state.w_start[end]
    offset = len(watch.w_numbers) - first
    watch.w_path.extend(state.w_path[begin:end])
    watch.w_stamp.append(state.w_stamp[begin * size : end * size])
    watch.w_numbers.extend(state.w_numbers[first:last])
    watch.w_start.extend(array("I", [start + offset for start in state.w_start[begin + 1 : end + 1]]))


def _anchor(repo: Stamped, columns: _Columns, number: int, kept: _StampsKept) -> tuple[int, bytes] | None:
    path = columns.paths[number]
    stamp = kept.get(number) or repo.seen_stamp(path)
    if stamp is not None:
        return number, stamp
    if repo.kind(path) != "missing":
        return None
    while path:
        path = posixpath.dirname(path)
        folder = columns.path(path)
        stamp = kept.get(folder) or repo.seen_stamp(path)
        if stamp is not None:
            return folder, stamp
        if repo.kind(path) != "missing":
            return None
    return None


# -- reusing a recorded run ----------------------------------------------------------------


# Changes, Patching, Remade and _Made are named tuples: every warm run loads
# this module, and a frozen dataclass costs about 0.6 ms to create, a named
# tuple 0.1 ms.
class Changes(NamedTuple):
    """What an edit the record does not answer as it stands changed, as a
    patch is told (:class:`Patching`)."""

    value: object  # the recorded value (or its ValueRef)
    results: tuple[KsResult, ...]  # each Kustomization built again, as it renders now
    viewed: frozenset[str]  # the files whose questions of the patching command's own changed
    # Whether a build not made again asked about any of these paths.
    read_elsewhere: Callable[[frozenset[str]], bool]


class Patching(NamedTuple):
    """How a command brings its recorded value up to date after an edit of
    what it reads of a few apps, rather than walk (lint: lint.patched): the
    questions of its own it may find changed ("viewed", and the derived ones
    named here), and the patch, which gives the new value or None (walk)."""

    derived: frozenset[str]
    patch: Callable[[Changes], object | None]


@dataclass(frozen=True)
class Reuse:
    """A recorded value that still holds, and the record to keep for the next
    run: None when it is unchanged; ``whole`` when more than its state changed."""

    value: object
    record: RunRecord | None
    rebuilt: int  # builds made again, each alone
    whole: bool = False
    passed: int = 0  # builds that only carry the edited fields through (_passed): not made again
    patched: bool = False  # the value is the recorded one brought up to date (Patching)


def reuse(
    record: object,
    repo: RepoReader,
    store: BuildMemo,
    name: str,
    variables_read: Callable[[], frozenset[str]] | None = None,
    patching: Patching | None = None,
) -> Reuse | None:
    """The value of ``record`` when the tree ``repo`` reads still gives it (see
    module doc), else None; builds made again are written to ``store``, in
    slots of their own for the command ``name`` (see :func:`_rebuild`), and
    compared in what that command reads (:func:`reads_of`).

    ``variables_read`` gives the variables the command reads of an app
    itself, not through its build's objects (lint: APP and those its
    expectations name), asked only when it matters; given, an edit of the
    other values of a Kustomization's postBuild.substitute builds its app
    again alone (:func:`_resubstitute`).

    With ``patching``, an edit that changes what the command reads of the
    apps built again, or the answers of its own questions, gives the value
    the patch makes of them rather than None."""
    if not isinstance(record, RunRecord) or not isinstance(record.state, RunState):
        return None
    answerers = [Answers(_view(repo, view)) for view in record.views]
    top = Answers(repo)
    moved: set[int] = set()
    changed: dict[int, bytes] = {}
    viewed: set[str] = set()
    plain: set[str] = set()
    substituted: dict[str, list[Substituted]] | None = {} if variables_read is not None else None
    for number in sorted(_to_ask(record.paths, record.state, repo, moved)):
        view, what, path, words = record.question(number)
        if view < 0 and what == "yaml_files" and _listed_alike(record, number, moved, repo):
            continue  # the same list of YAML files, without listing every folder again
        key = _key_of(what, ask(top, what, path, words) if view < 0 else answerers[view].answer((what, path)))
        if key != record.answer(number):
            if view < 0 and _patched_question(patching, what, words):
                viewed.add(path)
            elif view < 0 and not (
                what == "scanned" and _same_scan(store, repo, path, record.answer(number), name, plain, substituted)
            ):
                return None  # the scan, entry detection or the file view reads something new
            changed[number] = key
    touched = [p for p, note in enumerate(record.builds) if not changed.keys().isdisjoint(note.asked)]
    if len(touched) > MAX_REBUILDS or any(not record.builds[p].slot for p in touched):
        # A checkout of another branch (the walk, with the build memo, is
        # cheaper), or a build that failed and may not fail now.
        return None
    rebuilt: dict[int, tuple[tuple[BuildQuestion, str], ...]] = {}
    results: dict[int, KsResult] = {}
    passed = 0
    differs = False
    for position in touched:
        note = record.builds[position]
        made = _rebuild(record, note, answerers[note.view], store, name, plain, substituted or {}, patching)
        if made is None:
            return None
        rebuilt[position] = made.asked
        passed += not made.built
        differs = differs or made.differs
        if made.result is not None:
            results[position] = made.result
    edits = [edit for found in (substituted or {}).values() for edit in found]
    materials: dict[int, str] = {}
    if edits and variables_read is not None:
        again = _resubstituted(record, edits, variables_read(), answerers, store, name, rebuilt.keys())
        if again is None:
            return None
        for position, (asked, material) in again.items():
            rebuilt[position], materials[position] = asked, material
    value = record.value
    if patching is not None and (viewed or differs):
        value = patching.patch(
            Changes(value, tuple(results.values()), frozenset(viewed), _readers_but(record, results.keys()))
        )
        if value is None:
            return None
    elif not rebuilt and (not moved or (not changed and _still_unsettled(record, moved, repo))):
        return Reuse(record.value, None, 0)
    updated = _updated(record, changed, rebuilt, repo, moved, materials)
    whole = value is not record.value or updated.builds != record.builds or len(updated.paths) != len(record.paths)
    updated = dataclasses.replace(updated, value=value)
    return Reuse(value, updated, len(rebuilt) - passed, whole, passed, value is not record.value)


def _patched_question(patching: Patching | None, what: str, words: str) -> bool:
    """Whether a changed answer to a question outside builds is one the patch answers."""
    return patching is not None and (what == "viewed" or (what == "derived" and words in patching.derived))


def _readers_but(record: RunRecord, made: Iterable[int]) -> Callable[[frozenset[str]], bool]:
    """Whether a build of ``record`` other than those at the positions ``made``
    asked about any of some paths."""
    skip = frozenset(made)

    def read_elsewhere(paths: frozenset[str]) -> bool:
        numbers = {n for n, path in enumerate(record.paths) if path in paths}
        if not numbers:
            return False
        questions = {q for q, path in enumerate(record.q_path) if path in numbers}
        return any(not questions.isdisjoint(note.asked) for at, note in enumerate(record.builds) if at not in skip)

    return read_elsewhere


def _unsettled(size: int) -> bytes:
    """The stamp of a folder listed too soon after it changed to trust its own
    (Stamped.stamps never gives it): it moves on every run, until one lists it settled."""
    return b"\xff" * size


def _still_unsettled(record: RunRecord, moved: set[int], repo: RepoReader) -> bool:
    """Whether each path that moved is a folder the record could not trust the
    stamp of yet (_vouch), and still cannot: the record would be written again
    as it is."""
    state = record.state
    if state is None or not isinstance(repo, _StampedReader):
        return False
    unsettled = _unsettled(state.stamp_size)
    stamps = {path: state.stamp(position) for position, path in enumerate(state.w_path) if path in moved}
    return all(stamps.get(path) == unsettled and repo.seen_stamp(record.paths[path]) is None for path in moved)


def _listed_alike(record: RunRecord, number: int, moved: set[int], repo: RepoReader) -> bool:
    """Whether the list of YAML files (question ``number``) is asked only
    because some folders it was found in moved (an editor that saves a file
    by renaming a new one over it moves its folder's stamp), and each of them
    still holds what that search read of it: then the list is the same, and
    only those folders are listed again, not the 4,000 of 2,000 apps."""
    state = record.state
    if (
        state is None
        or state.always is None
        or number in state.always
        or not isinstance(repo, _StampedReader)
        or repo.stamp_size != state.stamp_size
        or len(state.listings) != len(state.walked) * repo.listing_size
        or not state.walked
    ):
        return False
    size = repo.listing_size
    at = {path: position for position, path in enumerate(state.walked)}
    folders = [(path, at[path]) for path in moved if path in at]
    if not folders:
        return False  # asked for another reason: the list is made again
    for path, position in folders:
        if repo.listed(record.paths[path]) != state.listings[position * size : (position + 1) * size]:
            return False
    return True


def _same_scan(
    store: BuildMemo,
    repo: RepoReader,
    path: str,
    was: bytes,
    name: str,
    plain: set[str],
    substituted: dict[str, list[Substituted]] | None = None,
) -> bool:
    """Whether the scan for Flux objects takes the same of ``path`` now as it
    took of the text whose digest ``was``: the same objects, each the same
    but for the fields of a Flux Kustomization that the command ``name``
    does not read (:func:`reads_of`).  When it does, and those fields held
    no ``$`` then and hold none now, and every document is an object,
    ``path`` joins ``plain`` (see _passed).  With ``substituted``, a
    file whose Flux Kustomizations differ in the values of their
    postBuild.substitute too is the same when each such value is a plain
    string, and what changed is added to it (see _resubstitute).

    What it took then is read back from the store: from the command's own
    slot, where this kept it after the last edit, else from the scan's, where
    the walk kept it (flux.kept_scan); when neither holds it, no.  What
    it takes now goes to the command's own slot only: lint and render each
    keep the text their own record saw, whichever ran last."""
    from volsync_kit.core.flux import kept_scan, objects_of

    own = store.key(("scanned-for", name, getattr(repo, "label", type(repo).__name__), path))
    try:
        before = store.get(own, was.hex())
        if not isinstance(before, Scanned):
            found = kept_scan(repo, path, store, was.hex())
            if found is None:
                return False
            before = Scanned(found)
        documents = repo.documents(path)
    except ModelError:
        return False
    now = objects_of(documents)
    reads = reads_of(name)
    if _scan_view(before.resources, reads) != _scan_view(now, reads):
        edits = None if substituted is None else _substitutions(path, before.resources, now, reads)
        if edits is None or substituted is None:
            return False
        substituted[path] = edits
    store.put(own, repo.digest(path), Scanned(now))
    if (
        all(doc.node is None or isinstance(doc.node, Map) for doc in documents)
        and _unread_plain(before.resources, reads.unread)
        and _unread_plain(now, reads.unread)
    ):
        plain.add(path)
    return True


def _unread_plain(resources: Iterable[Resource], unread: frozenset[str]) -> bool:
    """Whether no Flux Kustomization of ``resources`` has a ``$`` in a field
    of ``unread``: post-build substitution then leaves them as they are."""
    for res in resources:
        spec = _flux_spec(res)
        if spec is not None and any(key in unread and _has_dollar(v) for key, v in spec.items.items()):
            return False
    return True


def _has_dollar(node: Node) -> bool:
    if isinstance(node, Scalar):
        return isinstance(node.value, str) and "$" in node.value
    if isinstance(node, Seq):
        return any(_has_dollar(item) for item in node.items)
    return any("$" in key or _has_dollar(value) for key, value in node.items.items())


def _scan_view(resources: Iterable[Resource], reads: Reads = RENDER, *, values: bool = True) -> str:
    """What the scan takes of a file's objects, as a command (``reads``) reads
    them; without ``values``, not the values of a postBuild.substitute."""
    return _tree_digest(
        tuple(
            [
                (res.kind, res.api_version, res.name, res.namespace, _loc(res.origin), res.original_name,
                 _canon_object(res, reads.unread, values=values))
                for res in resources
            ]
        )
    )  # fmt: skip


def ks_key(file: str, namespace: str, name: str) -> str:
    """How a BuildNote names the Flux Kustomization it built."""
    return f"{file}\0{namespace}\0{name}"


@dataclass(frozen=True)
class Substituted:
    """A Flux Kustomization of an edited file that changed in the values of
    its postBuild.substitute alone (and UNREAD_FIELDS): each value that
    changed, as a plain string without ``$`` before and after."""

    file: str
    namespace: str  # "" when the file does not say: a transformer sets it
    name: str
    values: tuple[tuple[str, str, str], ...]  # (key, before, after)

    def built_by(self, note: BuildNote) -> bool:
        file, namespace, name = note.ks.split("\0") if note.ks else ("", "", "")
        return file == self.file and name == self.name and self.namespace in ("", namespace)


def _substitutions(
    path: str, before: tuple[Resource, ...], now: tuple[Resource, ...], reads: Reads = RENDER
) -> list[Substituted] | None:
    """The Flux Kustomizations of ``path`` whose substitute values changed, when
    that and fields the command does not read are all that did; else None."""
    if len(before) != len(now) or _scan_view(before, reads, values=False) != _scan_view(now, reads, values=False):
        return None
    out: list[Substituted] = []
    for old, new in zip(before, now, strict=True):
        was, inline = (node_at(res.node, "spec", "postBuild", "substitute") for res in (old, new))
        if not (isinstance(was, Map) and isinstance(inline, Map)):
            continue  # neither has one: the views are equal there
        values: list[tuple[str, str, str]] = []
        for key, value in inline.items.items():
            prior = was.items.get(key)
            if isinstance(prior, Scalar) and isinstance(value, Scalar) and prior.value == value.value:
                continue
            if not (_plain_string(prior) and _plain_string(value)):
                return None
            values.append((key, str(prior.value), str(value.value)))  # type: ignore[union-attr]
        if values:
            out.append(Substituted(path, new.namespace, new.name, tuple(values)))
    return out or None


def _plain_string(node: Node | None) -> bool:
    return isinstance(node, Scalar) and isinstance(node.value, str) and "$" not in node.value


def _to_ask(paths: tuple[str, ...], state: RunState, repo: RepoReader, moved: set[int]) -> Iterable[int]:
    """The questions whose answers may have changed: those no stamp vouches for,
    and those of paths whose stamp moved (added to ``moved``)."""
    if state.always is None or not isinstance(repo, _StampedReader) or repo.stamp_size != state.stamp_size:
        return range(len(state.answers) // ANSWER_SIZE)
    numbers = set(state.always)
    now = repo.stamps(paths[path] for path in state.w_path)
    if now != state.w_stamp:  # one comparison when nothing moved
        size = state.stamp_size
        for position, path in enumerate(state.w_path):
            if now[position * size : (position + 1) * size] != state.stamp(position):
                moved.add(path)
                numbers.update(state.vouched(position))
    return numbers


def _view(repo: RepoReader, view: View) -> RepoReader:
    if view is None:
        return repo
    from volsync_kit.core.sources import SourceView

    return SourceView(repo, view[0], view[1])


class Remade(NamedTuple):
    """One build made again by :func:`_rebuild`."""

    asked: tuple[tuple[BuildQuestion, str], ...]  # its questions, with today's answers
    built: bool  # False: it only carries the edited fields through (_passed)
    differs: bool = False  # its projection is not the record's (given a patch)
    result: KsResult | None = None  # as it renders now (given a patch, when built)


def _rebuild(
    record: RunRecord,
    note: BuildNote,
    answers: Answers,
    store: BuildMemo,
    name: str,
    plain: set[str],
    substituted: Mapping[str, list[Substituted]],
    patching: Patching | None = None,
) -> Remade | None:
    """Build one Kustomization again from what it was built of; None when its
    projection is not that of the build the record saw (but, given a patch,
    when it still builds: the patch is told).  When the edit changed only what
    the build carries through (_passed), it is not built.

    What is made here is kept in a slot of the command's own: the walk's
    slot is shared by every command, and one that builds the app again after
    the next edit (render after lint) would replace the build this record
    saw with one it did not."""
    reads = reads_of(name)
    own = store.key(("rebuilt", name, note.slot))
    slots = (own, summary_slot(store, note.slot, reads), note.slot)
    found = _recorded_build(record, note, store, slots, reads)
    if found is None:
        return None
    stored, was = found
    asked = _passed(stored, answers, plain, reads.unread, substituted)
    if asked is not None:
        store.put(own, note.material, Rebuilt(note.material, asked, stored.made_of, was, stored.passing))
        return Remade(asked, built=False)
    made = _built_alone(answers, stored.made_of, reads)
    if made is None or not _carries(made.passing, made.files, substituted):
        return None
    differs = made.shown != was
    # What the walk reads of it, for a patch (lint's), of a build of a few apps.
    walked = walked_part(made.result.resources, made.files, reads) if patching and _few_apps(made.result) else ""
    if differs and (not walked or _walked_before(stored, reads) != walked):
        return None  # what the walk reads of it changed too (or a patch cannot tell): walk
    rebuilt = Rebuilt(note.material, made.asked, stored.made_of, made.shown, made.passing, walked)
    store.put(own, note.material, rebuilt)
    return Remade(made.asked, True, differs, made.result if patching is not None else None)


def _few_apps(result: KsResult) -> bool:
    return sum(1 for res in result.resources if _is_flux_ks(res)) < SHOWN_FROM


def _walked_before(stored: Stored | Rebuilt, reads: Reads) -> str | None:
    """:func:`walked_part` of the build the record saw; None when not known (a
    build that holds many apps, which is not read back to learn it)."""
    if isinstance(stored, Rebuilt):
        return stored.walked or None
    if stored.shown:
        return None
    return walked_part(stored.resources, stored.files, reads)


def _recorded_build(
    record: RunRecord, note: BuildNote, store: BuildMemo, slots: Iterable[str], reads: Reads = RENDER
) -> tuple[Stored | Rebuilt, str] | None:
    """The build the record saw, from the first of ``slots`` that holds it,
    and its projection as the command reads it (a Rebuilt of a slot of the
    command's own, or of the summary for lint's and render's, holds that).

    The projection kept with a build that holds many apps (Stored.shown, and
    its summary) is render's, and lint's too when the build holds no claim
    and no mover; when it does, lint's never equals it (:func:`projection`),
    and lint walks rather than answer wrong."""
    for slot in slots:
        stored = store.get(slot, note.material)
        if isinstance(stored, Stored | Rebuilt) and len(stored.made_of) == 3 and _as_recorded(record, note, stored):
            if isinstance(stored, Rebuilt):
                return stored, stored.shown
            if reads is not PLAN and stored.shown:
                return stored, stored.shown
            return stored, projection(stored.resources, stored.problems, stored.files, reads)
    return None


class _Made(NamedTuple):
    asked: tuple[tuple[BuildQuestion, str], ...]
    shown: str  # its projection
    passing: Passing  # how it read its files
    files: frozenset[str]
    result: KsResult


def _built_alone(answers: Answers, made_of: tuple[object, ...], reads: Reads = RENDER) -> _Made | None:
    """One Kustomization built alone from what it is made of; None when it
    fails now (the walk says how) or is not made of what a build is."""
    from volsync_kit.core.flux import FluxKs, rebuild, rendered
    from volsync_kit.core.variables import Variables

    ks, variables, root = made_of
    if not isinstance(ks, FluxKs) or not isinstance(variables, Variables) or not isinstance(root, str):
        return None
    recorder = RecordingReader(answers)
    try:
        resources, problems, files, passing = rebuild(recorder, ks, variables, root)
    except ModelError:
        return None
    shown = projection(resources, problems, files, reads)
    result = rendered(ks, variables, resources, problems, files, root)
    return _Made(tuple(recorder.asked.items()), shown, passing, files, result)


def _passed(
    stored: Stored | Rebuilt,
    answers: Answers,
    plain: set[str],
    unread: frozenset[str] = UNREAD_FIELDS,
    substituted: Mapping[str, object] | None = None,
) -> tuple[tuple[BuildQuestion, str], ...] | None:
    """The questions ``stored`` asked, with today's answers, when the edit
    changed only what the build carries through: else None.

    That is when every file whose answer changed is one it read only as
    objects (the scan found them the same but for the fields ``unread``,
    which held no ``$`` before or after: ``plain``), and no transform of the
    build read or required one of those fields (_blind).  Each step of a build then
    leaves them where they were, as they were: a strategic merge goes key by
    key, the namespace, prefix, suffix, label and annotation transformers
    set metadata, name references and the post-build substitution touch no
    value without a ``$``.  The build's output differs from the one the
    record saw in those fields only, which its projection leaves out, and it
    read the same files: at 2,000 apps, building cluster-apps again to learn
    so was most of the reuse."""
    passing = stored.passing
    if passing is None or not _blind(passing, unread):
        return None
    out: list[tuple[BuildQuestion, str]] = []
    for question, answer in stored.asked:
        # Asked again only when its path's stamp moved (reuse: _to_ask).
        now = answers.known.get(question, answer)
        if now != answer and (
            question[0] != "text" or question[1] not in passing.object_files or question[1] not in plain
        ):
            return None
        out.append((question, now))
    if not _carries(passing, frozenset(q[1] for q, _ in stored.asked), substituted or {}):
        return None
    return tuple(out)


def _carries(passing: Passing | None, read: frozenset[str], substituted: Mapping[str, object]) -> bool:
    """Whether a build that read ``read`` holds, of each Kustomization whose
    substitute values an edit changed (``substituted``), the values the file
    writes: it read the file as objects only, and no transform may set them
    (_substitute_blind).  Only then is its app built from those values."""
    edited = read & substituted.keys()
    if not edited:
        return True
    return passing is not None and edited <= passing.object_files and _substitute_blind(passing)


# What a carried build compares of a file read again: every field of every
# object, locations included (see carried).
_WHOLE_FILE = Reads(frozenset(), frozenset())


def carried(stored: Stored, answers: Answers, rescanned: Mapping[str, Rescanned]) -> Stored | None:
    """``stored``, carried over an edit of files the walk's scan read again
    (``rescanned``), when the edit changed nothing but the values of a Flux
    Kustomization's postBuild.substitute, each a plain string without ``$``
    before and after; else None.

    That is when every question whose answer changed asked a file's text,
    the build read that file as objects and in no other way, the scan read
    it again from the text the build read, and every object of it is the
    same, locations included, but for those values (runmemo._substitutions);
    and no transform of the build may read or set them: no replacements, no
    strategic-merge patch that sets a postBuild.substitute, no JSON 6902
    operation on a Flux Kustomization but inside its spec, outside its
    postBuild (_substitute_blind).  Each step of the build then carries those
    values through as the file wrote them (post-build substitution touches no
    value without ``$``), so its output is the stored one with the new values
    in each such Kustomization, which must hold the old ones.
    ``tests/test_runmemo.py`` compares it with the build made again."""
    passing = stored.passing
    if passing is None or passing.replaced or not _substitute_blind(passing):
        return None
    asked: list[tuple[BuildQuestion, str]] = []
    edits: list[tuple[Rescanned, list[Substituted]]] = []
    for question, answer in stored.asked:
        now = answer_now(question, answers)
        if now != answer:
            what, path = question
            again = rescanned.get(path)
            if (
                what != "text"
                or path not in passing.object_files
                or again is None
                or (again.was, again.now) != (answer, now)
            ):
                return None
            found = _substitutions(path, again.before, again.after, _WHOLE_FILE)
            if found is None:
                return None
            edits.append((again, found))
        asked.append((question, now))
    resources = _with_substituted(stored.resources, edits)
    if not edits or resources is None:
        return None
    return Stored(
        stored.material, tuple(asked), resources, stored.problems, stored.files, stored.kept_of, passing=passing
    )


def _with_substituted(
    resources: tuple[Resource, ...], edits: list[tuple[Rescanned, list[Substituted]]]
) -> tuple[Resource, ...] | None:
    """``resources`` with each edited Kustomization's new values, found by
    where its file writes it; None when one is not there exactly once, or
    does not hold the values its file held before."""
    out = list(resources)
    for again, changes in edits:
        for change in changes:
            origins = [r.origin for r in again.after if (r.name, r.namespace) == (change.name, change.namespace)]
            at = [i for i, res in enumerate(out) if _is_flux_ks(res) and res.origin in origins]
            if len(origins) != 1 or len(at) != 1:
                return None
            node = _substituted_node(out[at[0]].node, change)
            if node is None:
                return None
            out[at[0]] = out[at[0]].with_node(node)
    return tuple(out)


def _substitute_blind(passing: Passing) -> bool:
    """Whether no transform of a build may set a Flux Kustomization's
    postBuild.substitute: no strategic-merge patch that sets it (or stands on
    its way with a directive), no JSON 6902 operation at, inside or over it.
    Its output then holds the values the file wrote (no ``$``: post-build
    substitution leaves them), and the app's variables follow from them."""
    if passing.substitute_merged:
        return False
    for op, path, source in passing.ks_operations:
        for pointer in (path, source) if op in ("copy", "move") else (path,):
            parts = _pointer_parts(pointer)
            if parts[:1] != ["spec"] or len(parts) < 2 or parts[1] == "postBuild":
                return False
    return True


def _resubstituted(
    record: RunRecord,
    edits: Iterable[Substituted],
    read: frozenset[str],
    answerers: list[Answers],
    store: BuildMemo,
    name: str,
    rebuilt: Iterable[int],
) -> dict[int, tuple[tuple[tuple[BuildQuestion, str], ...], str]] | None:
    """Each build of a Kustomization whose substitute values ``edits`` changed,
    made again alone (_resubstitute), by position; None when the command
    reads one of the variables itself (``read``), when no build of it was
    recorded, or when one was made again already (it read the edited file)."""
    out: dict[int, tuple[tuple[tuple[BuildQuestion, str], ...], str]] = {}
    for edit in edits:
        if not read.isdisjoint(key for key, _, _ in edit.values):
            return None
        positions = [p for p, note in enumerate(record.builds) if edit.built_by(note)]
        if not positions or not set(rebuilt).isdisjoint(positions):
            return None
        for position in positions:
            note = record.builds[position]
            again = _resubstitute(record, note, answerers[note.view], store, name, edit)
            if again is None:
                return None
            out[position] = again
    return out


def _resubstitute(
    record: RunRecord,
    note: BuildNote,
    answers: Answers,
    store: BuildMemo,
    name: str,
    edit: Substituted,
) -> tuple[tuple[tuple[BuildQuestion, str], ...], str] | None:
    """Build the app of a Kustomization whose substitute values changed again,
    alone, with its variables changed as the edit changed them (postBuild.substitute
    wins over every substituteFrom source: fluxcd/pkg kustomize
    ``SubstituteVariables``, and core.variables.resolve); its questions and
    the key of what it is now made of, when its projection is the same as
    that of the build the record saw, else None.

    The Kustomization it was built from must hold the values the file held
    before (no transform made them), and so must its variables."""
    from volsync_kit.core.flux import FluxKs
    from volsync_kit.core.variables import Variables

    own = store.key(("rebuilt", name, note.slot))
    reads = reads_of(name)
    found = _recorded_build(record, note, store, (own, note.slot), reads)
    if found is None:
        return None
    stored, was = found
    ks, variables, root = stored.made_of
    if not isinstance(ks, FluxKs) or not isinstance(variables, Variables):
        return None
    node = _substituted_node(ks.node, edit)
    if node is None or any(variables.values.get(key) != before.replace("\n", "") for key, before, _ in edit.values):
        return None
    changed = {key: after.replace("\n", "") for key, _, after in edit.values}  # Flux strips newlines
    kept = dataclasses.replace(
        variables, values={**variables.values, **changed}, unknown=variables.unknown - changed.keys()
    )
    again = FluxKs(ks.ref, node, ks.loc)
    made = _built_alone(answers, (again, kept, root), reads)
    if made is None or made.shown != was:
        return None
    material = store.key((again.node, again.loc, again.ref, root, kept))  # as flux.Memo keys it
    store.put(own, material, Rebuilt(material, made.asked, (again, kept, root), made.shown, made.passing))
    return made.asked, material


def _substituted_node(node: Map, edit: Substituted) -> Map | None:
    """A Kustomization's node with the edit's values in its substitute, when
    it held the values before; else None."""
    spec = node.items.get("spec")
    post = spec.items.get("postBuild") if isinstance(spec, Map) else None
    inline = post.items.get("substitute") if isinstance(post, Map) else None
    if not (isinstance(spec, Map) and isinstance(post, Map) and isinstance(inline, Map)):
        return None
    items = dict(inline.items)
    for key, before, after in edit.values:
        value = items.get(key)
        if not (isinstance(value, Scalar) and value.value == before):
            return None
        items[key] = Scalar(after, value.loc)
    post = Map({**post.items, "substitute": Map(items, inline.loc, inline.key_locs)}, post.loc, post.key_locs)
    spec = Map({**spec.items, "postBuild": post}, spec.loc, spec.key_locs)
    return Map({**node.items, "spec": spec}, node.loc, node.key_locs)


def _blind(passing: Passing, unread: frozenset[str] = UNREAD_FIELDS) -> bool:
    """Whether no transform of a build read a field of ``unread``, or
    required it to be there: no replacements, and no JSON 6902 operation on a
    Flux Kustomization that tests, copies or moves one, or that adds, replaces
    or removes at or inside one."""
    if passing.replaced:
        return False
    for op, path, source in passing.ks_operations:
        if _inside_unread(path, unread, whole=op in ("test", "copy", "move")):
            return False
        if op in ("copy", "move") and _inside_unread(source, unread, whole=True):
            return False
    return True


def _inside_unread(pointer: str, unread: frozenset[str], *, whole: bool) -> bool:
    """Whether the JSON pointer is a field of ``unread`` or inside one; with
    ``whole``, also when it holds one (the object, its spec)."""
    parts = _pointer_parts(pointer)
    if len(parts) >= 2 and parts[0] == "spec":
        return parts[1] in unread
    return whole and (not parts or parts == ["spec"])


def _pointer_parts(pointer: str) -> list[str]:
    """The tokens of a JSON 6902 operation's path, as kustomize applied it;
    none (the whole object) for one it could not have applied."""
    from volsync_kit.core.patches import pointer_parts

    try:
        return pointer_parts(pointer)
    except ValueError:
        return []


def shown_of(stored: Stored) -> str:
    """Render's projection of ``stored``, taken once (see SHOWN_FROM)."""
    if not stored.shown:
        object.__setattr__(stored, "shown", projection(stored.resources, stored.problems, stored.files))
    return stored.shown


# A build holding this many Flux Kustomizations (cluster-apps) is written with
# its projection (Stored.shown), and with a summary (a Rebuilt) in a slot of
# its own: the first edit of an app's ks.yaml after a walk then reads what it
# compares with, not the build's 2,000 objects (0.15 s at 2,000 apps).  Both
# are taken where the store pickles, which the console script leaves to its
# detached writer.
SHOWN_FROM = 8


def holds_many_apps(stored: Stored) -> bool:
    return sum(1 for res in stored.resources if _is_flux_ks(res)) >= SHOWN_FROM


def summary_slot(store: BuildMemo, slot: str, reads: Reads = RENDER) -> str:
    """Where the summary of a build for commands that read ``reads`` is kept:
    lint and render share render's (see _recorded_build)."""
    return store.key(("summary-plan", slot) if reads is PLAN else ("summary", slot))


def summary(stored: Stored, reads: Reads = RENDER) -> Kept | None:
    """What to keep in the summary slot of a build a walk made, if any: its
    projection for commands that read ``reads``."""
    if not holds_many_apps(stored):
        return None
    return Kept(stored, _summarized_for_plan if reads is PLAN else _summarized)


def _summarized(stored: Stored) -> Rebuilt:
    return Rebuilt(stored.material, stored.asked, stored.made_of, shown_of(stored), stored.passing)


def _summarized_for_plan(stored: Stored) -> Rebuilt:
    shown = projection(stored.resources, stored.problems, stored.files, PLAN)
    return Rebuilt(stored.material, stored.asked, stored.made_of, shown, stored.passing)


@dataclass(frozen=True)
class Rebuilt:
    """A build made again alone by :func:`_rebuild`: what it asked, what it was
    made of, and its projection's digest; all that the next edit's rebuild
    compares with.  Its objects are not kept: cluster-apps holds every app's
    Kustomization, and reading those back to project them again cost as much
    as building them."""

    material: str
    asked: tuple[tuple[BuildQuestion, str], ...]
    made_of: tuple[object, ...]
    shown: str
    passing: Passing | None = None
    walked: str = ""  # walked_part of it, when known


def _as_recorded(record: RunRecord, note: BuildNote, stored: Stored | Rebuilt) -> bool:
    """Whether ``stored`` is the build the record saw: it asked the same
    questions and had the same answers (another command may have built the
    Kustomization again since, after an edit, in the same slot)."""
    numbers = {record.question(n): n for n in note.asked}
    if len(numbers) != len(stored.asked):
        return False
    for (what, path), answer in stored.asked:
        number = numbers.get((note.view, what, path, ""))
        if number is None or record.answer(number) != _answer_key(answer):
            return False
    return True


def _updated(
    record: RunRecord,
    changed: dict[int, bytes],
    rebuilt: dict[int, tuple[tuple[BuildQuestion, str], ...]],
    repo: RepoReader,
    moved: set[int],
    materials: Mapping[int, str],
) -> RunRecord:
    """``record`` with today's answers and stamps, and the questions of the builds
    made again; the questions keep their numbers, so the other builds' notes
    still hold, and the work is in proportion to what changed."""
    columns = _Columns(record)
    for number, key in changed.items():
        columns.set_answer(number, key)
    notes = list(record.builds)
    added: list[int] = []
    for position, made in rebuilt.items():
        note = notes[position]
        old = {record.question(n): n for n in note.asked}
        ids = array("I")
        for (what, where), answer in made:
            question = (note.view, what, where, "")
            known = old.get(question)
            if known is None:
                known = columns.add(question, answer)
                added.append(known)
            else:
                columns.set_answer(known, _answer_key(answer))
            ids.append(known)
        notes[position] = BuildNote(note.slot, materials.get(position, note.material), note.view, ids, note.ks)

    state = record.state
    assert state is not None
    watch, again = _kept_groups(state, moved)
    kept = _KeptStamps(state, moved)
    if isinstance(repo, _StampedReader):
        # The folders listed this run, when it listed the tree again; else those the record saw.
        relisted = repo.walked()
        walked = [columns.path(d) for d in relisted] if relisted else list(state.walked)
        listings = repo.walked_listings() if relisted else state.listings
        watch.walked, watch.listings = state.walked, state.listings
        _vouch(watch, columns, sorted(again | set(added)), repo, kept, walked, listings)
    else:
        watch.always = None
    updated = columns.record(record.views, tuple(notes), record.value, watch)
    return dataclasses.replace(updated, ident=record.ident)
