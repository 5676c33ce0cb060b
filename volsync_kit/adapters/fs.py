"""A repository on disk, seen through the core's RepoReader protocol.

Paths stay inside the repository: a path that leaves it, directly or through
a symlink, reads as missing, the way kustomize's load restrictor refuses it.
Each file is read and parsed at most once per run, and, with the cache, a
file the cache's index knows unchanged is not read at all: its digest, the
words it mentions and its parse come from the cache.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import struct
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from stat import S_IFMT, S_ISDIR, S_ISREG

from volsync_kit.adapters.cache import RACY_NS, DiskCache, Facts, Look, Stamp, facts_of, text_digest
from volsync_kit.core.model import Loc, ModelError
from volsync_kit.core.ports import Document, PathKind

MAX_FILE_BYTES = 10 * 1024 * 1024
# When a file was looked at, against its stat's times (see cache.RACY_NS);
# tests move it to look at files later than they were written.
_clock = time.time_ns
YAML_SUFFIXES = (".yaml", ".yml")
LISTING_SIZE = 8  # bytes of the digest of what a folder holds that the search for YAML files reads
# A path's stamp (see FileRepo.seen_stamp): its type, device, inode, size, mtime and ctime.
_STAMP = struct.Struct("<6q")
STAMP_SIZE = _STAMP.size
_NO_STAMP = bytes(STAMP_SIZE)


def too_large(path: str, size: int, limit: int) -> ModelError:
    return ModelError("file-too-large", f"file is {size} bytes, over the {limit}-byte limit", Loc(path, 1, 1))


class TextReader:
    """What every repository reader shares: decoded texts cached per path,
    what is known of each text (its digest, the words it mentions), and
    parsing through yamlio (whose results are shared by content)."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._facts: dict[str, Facts] = {}
        # How the index knows each file, always found before the file is read.
        self._looked: dict[str, Look] = {}
        self.cache: DiskCache | None = None  # parsed files and the tree's index from earlier runs

    def _read_bytes(self, path: str) -> bytes:
        raise NotImplementedError

    def _look(self, path: str) -> Look | None:
        """How the cache's index knows the file; None when it cannot."""
        return None

    # The rest of the RepoReader protocol, which each reader implements.
    def kind(self, path: str) -> PathKind:
        raise NotImplementedError

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        raise NotImplementedError

    def yaml_files(self) -> Iterator[str]:
        raise NotImplementedError

    def text(self, path: str) -> str:
        if path not in self._texts:
            from volsync_kit.adapters.yamlio import decode  # PyYAML: only a run that reads a file loads it

            text = decode(self._read_bytes(path), path)
            known = self._facts.get(path)
            if known is not None and self.cache is not None and known.digest != text_digest(text):
                # The index's digest was used this run, and the file changed
                # since it was looked at: what this run makes mixes both texts.
                self.cache.stop_writing()
            self._texts[path] = text
        return self._texts[path]

    def digest(self, path: str) -> str:
        return self._known(path, frozenset()).digest

    def mentions(self, path: str, words: frozenset[str]) -> frozenset[str]:
        return self._known(path, words).found & words

    def _known(self, path: str, words: frozenset[str]) -> Facts:
        """The facts of ``path`` that answer for ``words``: from this run, else
        from the cache's index while the file's stat is the same, else read."""
        known = self._facts.get(path)
        if known is not None and words <= known.asked:
            return known
        looked = self._looked.get(path)
        if looked is None and self.cache is not None and path not in self._texts:
            looked = self._look(path)
            if looked is not None:
                self._looked[path] = looked
                indexed = self.cache.facts(looked)
                if indexed is not None and words <= indexed.asked:
                    self._facts[path] = indexed
                    return indexed
                known = known or indexed
        facts = facts_of(self.text(path), words | known.asked if known is not None else words)
        self._facts[path] = facts
        if looked is not None and self.cache is not None:
            self.cache.index(looked, facts)
        return facts

    def documents(self, path: str) -> tuple[Document, ...]:
        from volsync_kit.adapters.yamlio import load_documents

        if self.cache is not None:
            reader = type(self).__name__
            return self.cache.documents(reader, path, self.digest(path), lambda: self.text(path), load_documents)
        return load_documents(self.text(path), path)

    def parse_inline(self, text: str, origin: Loc) -> tuple[Document, ...]:
        # The file's own text gives the indentation of a block scalar; a
        # file known from the cache's index has not been read yet.
        try:
            source: str | None = self.text(origin.file)
        except ModelError:
            source = None
        from volsync_kit.adapters.yamlio import load_inline

        return load_inline(text, origin, source)


class FileRepo(TextReader):
    """A read-only, caching view of the folder ``root``."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()
        self._kinds: dict[str, PathKind] = {}
        self._reals: dict[str, str | None] = {}
        self._listings: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._yaml_files: tuple[str, ...] | None = None
        self._prefix = str(self.root) + os.sep
        # Each file and folder looked at, as it stood just then: (stamp, settled).
        self._seen: dict[str, tuple[bytes, bool]] = {}
        self._walked: tuple[str, ...] = ()  # the folders yaml_files listed
        self._listed: dict[str, bytes] = {}  # what each of those held that the walk reads (_listing)

    def _real(self, path: str) -> str | None:
        """The real path of ``path``, or None when it leaves the repository.

        Resolved one component at a time on top of the cached parent, so that
        a file costs one ``lstat`` rather than one per folder above it.
        """
        if path in ("", "."):
            return str(self.root)
        if path in self._reals:
            return self._reals[path]
        parent, _, name = path.rpartition("/")
        if name in ("", ".", ".."):
            real = self._resolve(os.path.join(self.root, path))
        else:
            real_parent = self._real(parent)
            if real_parent is None:
                # Out and back in again (a link out of the tree whose target
                # links back) is inside after all: resolve the whole path.
                real = self._resolve(os.path.join(self.root, path))
            else:
                candidate = os.path.join(real_parent, name)
                real = self._resolve(candidate) if os.path.islink(candidate) else candidate
        self._reals[path] = real
        return real

    def _resolve(self, candidate: str) -> str | None:
        try:
            real = os.path.realpath(candidate, strict=False)
        except (OSError, RuntimeError):  # symlink loops
            return None
        if real != str(self.root) and not real.startswith(self._prefix):
            return None
        return real

    def kind(self, path: str) -> PathKind:
        if path not in self._kinds:
            real = self._real(path)
            if real is None:
                self._kinds[path] = "missing"
            elif os.path.isdir(real):
                self._kinds[path] = "dir"
            else:
                self._kinds[path] = "file" if os.path.isfile(real) else "missing"
        return self._kinds[path]

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if path not in self._listings:
            self._listings[path] = self._scan(path)
        return self._listings[path]

    def _scan(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        real = self._real(path)
        dirs: list[str] = []
        files: list[str] = []
        if real is None:
            return (), ()
        self._see_dir(path, real)
        try:
            entries = sorted(os.scandir(real), key=lambda e: e.name)
        except OSError:
            return (), ()
        for entry in entries:
            rel = f"{path}/{entry.name}" if path not in ("", ".") else entry.name
            if rel not in self._kinds and not entry.is_symlink():
                # scandir already knows what a plain entry is: no extra stat.
                self._reals[rel] = os.path.join(real, entry.name)
                self._kinds[rel] = "dir" if entry.is_dir() else "file" if entry.is_file() else "missing"
            kind = self.kind(rel)
            if kind == "dir":
                dirs.append(entry.name)
            elif kind == "file":
                files.append(entry.name)
        return tuple(dirs), tuple(files)

    def _look(self, path: str) -> Look | None:
        seen = _clock()  # before the stat, which comes before any read
        stamp = self._stamp(path, seen)
        return None if stamp is None else Look(path, stamp.key(), stamp.settled(seen))

    def _stamp(self, path: str, seen_ns: int) -> Stamp | None:
        real = self._real(path)
        if real is None:
            return None
        try:
            stat = os.stat(real)
        except OSError:
            return None
        if path not in self._kinds:
            # What kind() would find with two more stat calls (isdir, isfile).
            mode = stat.st_mode
            self._kinds[path] = "dir" if S_ISDIR(mode) else "file" if S_ISREG(mode) else "missing"
        if self._kinds[path] != "file":
            return None
        self._seen.setdefault(path, (_packed(stat), max(stat.st_mtime_ns, stat.st_ctime_ns) < seen_ns - RACY_NS))
        return Stamp(real, stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)

    def _read_bytes(self, path: str) -> bytes:
        real = self._real(path)
        if real is None or self.kind(path) != "file":
            raise ModelError("file-missing", "no such file in the repository", Loc(path, 1, 1))
        try:
            size = os.stat(real).st_size
            if size > MAX_FILE_BYTES:
                raise too_large(path, size, MAX_FILE_BYTES)
            with open(real, "rb") as handle:
                return handle.read()
        except PermissionError:
            raise ModelError("file-unreadable", "permission denied; make the file readable", Loc(path, 1, 1)) from None
        except OSError as err:
            raise ModelError("file-unreadable", f"cannot read file: {err.strerror}", Loc(path, 1, 1)) from None

    def yaml_files(self) -> Iterator[str]:
        if self._yaml_files is None:
            found: list[str] = []
            walked: list[str] = []
            self._scan_yaml_files("", str(self.root), found, walked)
            self._yaml_files, self._walked = tuple(found), tuple(walked)
        return iter(self._yaml_files)

    def _scan_yaml_files(self, rel: str, full: str, found: list[str], walked: list[str]) -> None:
        """What ``os.walk`` gives, top-down, without following links to
        folders, hidden folders left out, names sorted; each folder is
        stamped before it is listed."""
        self._see_dir(rel, full)
        walked.append(rel)
        entries = _entries(full)
        self._listed[rel] = _listing(entries or [])
        if entries is None:
            return  # unlisted: listdir and kind look again
        folders: list[os.DirEntry[str]] = []
        # The folder's listing, as listdir gives it (the search for
        # .sourceignore files lists every folder again), when no entry is a link.
        dirs: list[str] = []
        files: list[str] = []
        plain = True
        for entry, (is_dir, is_link, is_file) in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            if is_link:
                plain = False
            else:
                # A plain entry of a folder reached without a link: its real
                # path and kind need no stat of their own (see _real and
                # kind), 6,000 files in a repository of 2,000 apps.
                self._reals.setdefault(path, entry.path)
                self._kinds.setdefault(path, "dir" if is_dir else "file" if is_file else "missing")
            if is_dir:
                dirs.append(entry.name)
                if not entry.name.startswith(".") and not is_link:
                    folders.append(entry)
            elif is_file:
                files.append(entry.name)
            if not is_dir and entry.name.endswith(YAML_SUFFIXES):
                found.append(path)
        if plain:
            self._listings.setdefault(rel, (tuple(dirs), tuple(files)))
        for entry in folders:  # what _listing takes of them
            self._scan_yaml_files(f"{rel}/{entry.name}" if rel else entry.name, entry.path, found, walked)

    def listed(self, path: str) -> bytes:
        """What the folder ``path`` holds now that the search for every YAML
        file reads (its YAML files, and the folders it goes into), as a digest;
        the folder is stamped first, as that search stamps it."""
        full = self._prefix + path if path else str(self.root)
        self._see_dir(path, full)
        return _listing(_entries(full) or [])

    def walked_listings(self) -> bytes:
        """Of each folder :meth:`walked` gives, in order, what :meth:`listed` gave."""
        return b"".join(self._listed[folder] for folder in self._walked)

    # -- stamps: whether a path is as it was when a run read it (core.runmemo) ---------------

    def _see_dir(self, rel: str, real: str) -> None:
        if rel in self._seen:
            return
        seen = _clock()
        try:
            st = os.stat(real)
        except OSError:
            return
        self._seen[rel] = (_packed(st), max(st.st_mtime_ns, st.st_ctime_ns) < seen - RACY_NS)

    def _plain(self, path: str) -> bool:
        """Whether ``path`` is reached without a symbolic link."""
        return self._real(path) == (os.path.join(self._prefix, path) if path else str(self.root))

    def seen_stamp(self, path: str) -> bytes | None:
        """How the file or folder ``path`` stood before this run first read it,
        when that vouches for what was read: it was settled then (RACY_NS), and
        it is reached without a symbolic link (a link's target may change
        without its folder changing).  None otherwise."""
        seen = self._seen.get(path)
        if seen is not None and seen[1] and self._plain(path):
            return seen[0]
        return None

    def sealed(self) -> FileRepo:
        """This reader as the run it served leaves it: it vouches only for the
        paths read so far, as they stood then, and holds no cache.  The
        console script's detached writer makes a walk's record after the
        output (runmemo.RecordLater): a path first read after the run is
        stamped later than the run's answers, and must not vouch for them."""
        sealed = copy.copy(self)
        sealed.cache = None
        # Its own copies of what a later read through this reader adds to:
        # what the record reads of it (seen_stamp, kind, walked) stamps nothing.
        sealed._seen, sealed._listed = dict(self._seen), dict(self._listed)
        return sealed

    stamp_size = STAMP_SIZE
    listing_size = LISTING_SIZE

    def stamps(self, paths: Iterable[str]) -> bytes:
        """How each of ``paths`` stands now, in the terms of seen_stamp (asked
        of every path a recorded run read: one ``lstat`` each)."""
        prefix, root = self._prefix, self._prefix[:-1]
        out: list[bytes] = []
        for path in paths:
            try:
                out.append(_packed(os.lstat(prefix + path if path else root)))
            except OSError:
                out.append(_NO_STAMP)
        return b"".join(out)

    def walked(self) -> tuple[str, ...]:
        """The folders yaml_files listed: adding or removing a file changes one of them."""
        return self._walked


_Entry = tuple[os.DirEntry[str], tuple[bool, bool, bool]]  # and whether it is a folder, a link, a file


def _entries(full: str) -> list[_Entry] | None:
    """The entries of the folder ``full``, sorted by name; None when it cannot be listed."""
    try:
        with os.scandir(full) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return None
    out: list[_Entry] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
            is_link = entry.is_symlink()
            is_file = not is_dir and entry.is_file()
        except OSError:
            # Neither listed nor known here: listdir and kind look again.
            is_dir = is_file = False
            is_link = True
        out.append((entry, (is_dir, is_link, is_file)))
    return out


def _listing(entries: list[_Entry]) -> bytes:
    """A digest of what the search for every YAML file takes of a folder's
    ``entries``: the YAML files it finds there, and the folders it goes into
    (not hidden, not a link).  Another file, a hidden folder, or a file saved
    by renaming a new one over it, leave it as it was."""
    taken = [
        ("d" if is_dir else "f") + entry.name
        for entry, (is_dir, is_link, _) in entries
        if (is_dir and not is_link and not entry.name.startswith("."))
        or (not is_dir and entry.name.endswith(YAML_SUFFIXES))
    ]
    return hashlib.blake2b("\0".join(taken).encode("utf-8", "surrogatepass"), digest_size=LISTING_SIZE).digest()


def _packed(st: os.stat_result) -> bytes:
    # The type too: a file replaced by a folder is another thing.  A folder's
    # mtime and ctime change whenever an entry is added, removed or renamed.
    return _STAMP.pack(S_IFMT(st.st_mode), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename over the
    target: a reader, or a run killed half-way, sees the old file or the new,
    never a part. An existing file keeps its permissions."""
    import tempfile  # only generate writes: lint and render do not load it

    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
