"""The on-disk cache: parsed files and Kustomization builds from earlier runs.

Where: ``$VOLSYNC_KIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/volsync-kit``, else
``~/.cache/volsync-kit``; one folder per tool fingerprint (version, Python,
and the package's own files, so an upgrade or an edited checkout never reads
entries an older build wrote), and in it one folder per repository.

What: each entry is one file, named by a digest of what it is for (a file's
path, a Kustomization's identity), holding the digest of the inputs it was
made from.  A parsed file is reused only when the file's text has the same
digest; a build only when its Kustomization and every answer the repository
gave it are the same (:mod:`volsync_kit.core.buildmemo`).  So a warm run
reparses and rebuilds only what an edit touched, and an entry can be stale
but is never served stale.

Safety: an entry is written to a temporary file and renamed into place, so
concurrent runs see a whole entry or none (the last writer wins, and every
writer writes a valid entry).  Anything unreadable (truncated, corrupt,
written by another layout) is a miss, removed and rebuilt.  Failures to write
(a read-only or full disk) turn the cache off for the run; the cache never
fails a command.  Entries are pickles, so the folder is created private
(0700); like any cache under your home, do not point it at a folder others
can write.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from volsync_kit import __version__
from volsync_kit.core.ports import Document

ENV_DIR = "VOLSYNC_KIT_CACHE_DIR"
_PROTOCOL = 5
# Builds of alias-heavy files can be large; an entry above this is not kept.
MAX_ENTRY_BYTES = 32 * 1024 * 1024

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


class DiskCache:
    """The cache of one repository, for one fingerprint of the tool."""

    def __init__(self, base: Path, repo_root: Path, fingerprint: str | None = None) -> None:
        self.base = base
        self.version_dir = base / f"v-{fingerprint or tool_fingerprint()}"
        self.dir = self.version_dir / _digest(str(repo_root.resolve()).encode())[:16]
        self.writable = True
        # Entries read whole, and entries (re)written: a run writes exactly what
        # it had to parse or build again.
        self.reads = 0
        self.writes = 0
        self._parsed: dict[tuple[str, str], tuple[Document, ...]] = {}
        self._folders: set[Path] = set()

    # -- the BuildMemo port ------------------------------------------------------

    def key(self, material: object) -> str:
        return _digest(pickle.dumps(material, protocol=_PROTOCOL))

    def get(self, key: str) -> object | None:
        path = self._path(key)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        try:
            value: object = pickle.loads(data)
        except Exception:  # any damage to an entry is a miss, never an error
            self._discard(path)
            return None
        self.reads += 1
        return value

    def put(self, key: str, value: object) -> None:
        if not self.writable:
            return
        try:
            data = pickle.dumps(value, protocol=_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return
        if len(data) > MAX_ENTRY_BYTES:
            return
        path = self._path(key)
        # A name no other writer uses; the rename makes the entry appear whole.
        tmp = path.parent / f".tmp-{os.getpid()}-{threading.get_ident()}-{key[:8]}"
        try:
            self._prepare(path.parent)
            with open(tmp, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
            self.writes += 1
        except OSError:
            self._discard(tmp)
            self.writable = False  # read-only or full: run without writing

    # -- parsed files ------------------------------------------------------------

    def documents(self, path: str, text: str, parse: Parse) -> tuple[Document, ...]:
        """The parsed documents of ``path``, reused while its text is the same."""
        digest = _digest(text.encode("utf-8", "surrogatepass"))
        if (path, digest) in self._parsed:
            return self._parsed[(path, digest)]
        slot = self.key(("documents", path))
        stored = self.get(slot)
        if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == digest and isinstance(stored[1], tuple):
            docs: tuple[Document, ...] = stored[1]
        else:
            docs = parse(text, path)  # a syntax error is raised, and not kept
            self.put(slot, (digest, docs))
        self._parsed[(path, digest)] = docs
        return docs

    # -- files -------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.dir / key[:2] / key

    def _prepare(self, folder: Path) -> None:
        if folder in self._folders:
            return
        fresh = not self.version_dir.exists()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._folders.add(folder)
        if fresh:
            self._remove_other_versions()

    def _remove_other_versions(self) -> None:
        """Entries of another build of the tool can never be read again."""
        import shutil

        try:
            siblings = list(os.scandir(self.base))
        except OSError:
            return
        for entry in siblings:
            if entry.name.startswith("v-") and entry.path != str(self.version_dir):
                shutil.rmtree(entry.path, ignore_errors=True)

    @staticmethod
    def _discard(path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
