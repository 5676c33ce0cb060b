"""A repository as git stored it, seen through the core's RepoReader protocol.

:class:`GitTreeRepo` reads the tree of one commit and :class:`IndexRepo` the
index (the staged state), both from git objects only: the work tree and the
index are never written, checked out or stashed.  Only read-only plumbing
runs (``rev-parse``, ``ls-tree``, ``ls-files``, ``cat-file``), with the
caller's ``GIT_*`` variables scrubbed, as in :mod:`volsync_kit.adapters.git`.

The semantics are :class:`~volsync_kit.adapters.fs.FileRepo`'s: a path that
leaves the tree, directly or through a symlink, reads as missing, as does a
symlink loop; a submodule reads as a missing folder; each file is read and
parsed at most once.  The tree is listed by one process, and every blob is
read through one long-lived ``git cat-file --batch`` process, so reading
thousands of files costs three processes, not thousands.
"""

from __future__ import annotations

import posixpath
import subprocess
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from volsync_kit.adapters.cache import Look
from volsync_kit.adapters.fs import MAX_FILE_BYTES, YAML_SUFFIXES, TextReader, too_large
from volsync_kit.adapters.git import _env
from volsync_kit.core.model import Loc, ModelError
from volsync_kit.core.ports import PathKind

# Read-only commands must not take optional locks nor run fsmonitor hooks; a
# folder prefix is a path, not a pattern; with -z output, core.quotepath only
# matters for messages.
_GIT = ("git", "--no-optional-locks", "--literal-pathspecs", "-c", "core.quotepath=off", "-c", "core.fsmonitor=false")

MODE_SYMLINK = "120000"
MODE_GITLINK = "160000"
MODE_CONFLICT = "conflict"  # an index path with merge stages and no stage 0
MAX_SYMLINK_HOPS = 40  # what Linux allows before ELOOP
_CHUNK = 1 << 16
# A blob over the size limit is read through and dropped up to this size; a
# larger one ends the cat-file process instead (see _CatFile.read).
_DRAIN_BYTES = 32 << 20


class GitError(Exception):
    """Git could not give what was asked; the message is one actionable line."""


@dataclass(frozen=True, slots=True)
class _Entry:
    mode: str
    oid: str


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    if not root.is_dir():
        raise GitError(f"{root} is not a folder: pass the root of your git repository")
    try:
        return subprocess.run([*_GIT, *args], cwd=root, env=_env(), capture_output=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH: install git; plan reads its base from git") from None
    except OSError as err:
        raise GitError(f"cannot run git in {root}: {err.strerror}") from None


def _failure(root: Path, out: subprocess.CompletedProcess[bytes]) -> GitError:
    """A GitError for a failed command, from the first line of its stderr."""
    message = out.stderr.decode("utf-8", "replace").strip()
    first = message.splitlines()[0] if message else f"exit status {out.returncode}"
    if "not a git repository" in message:
        return GitError(f"{root} is not inside a git repository: plan compares with a git base, so run it in a clone")
    if "dubious ownership" in message:
        return GitError(f"git refuses {root} (dubious ownership): run git config --global --add safe.directory {root}")
    if "must be run in a work tree" in message:
        return GitError(f"{root} has no work tree, so no index: read a commit instead")
    first = first.removeprefix("fatal: ").removeprefix("error: ")
    return GitError(f"git failed in {root}: {first}")


def _diagnose(root: Path, rev: str) -> GitError:
    """Why ``rev`` does not resolve to a commit (only run once it failed)."""
    head = _run(root, "rev-parse", "--verify", "-q", "HEAD")
    if head.returncode != 0:
        refs = _run(root, "for-each-ref", "--count=1")
        if refs.returncode == 0 and not refs.stdout.strip():
            return GitError("the repository has no commits yet: commit first; plan compares with a git base")
    shallow = _run(root, "rev-parse", "--is-shallow-repository")
    if shallow.returncode == 0 and shallow.stdout.strip() == b"true":
        return GitError(f"{rev!r} is not available in this shallow clone: fetch more history (git fetch --unshallow)")
    kind = _run(root, "cat-file", "-t", rev)
    if kind.returncode == 0 and kind.stdout.strip():
        name = kind.stdout.decode("utf-8", "replace").strip()
        return GitError(f"{rev!r} names a {name}, not a commit: use a branch, tag or commit")
    return GitError(f"unknown revision {rev!r}: use a branch, tag or commit that exists (git fetch it first)")


def _locate(root: Path, rev: str) -> tuple[str, str]:
    """The commit ``rev`` names and ``root``'s folder prefix in the repository."""
    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n"):
        raise GitError(f"invalid revision {rev!r}: use a branch, tag or commit name")
    out = _run(root, "rev-parse", "--show-prefix", "--verify", "-q", f"{rev}^{{commit}}")
    lines = out.stdout.decode("utf-8", "surrogateescape").split("\n")
    if out.returncode == 0 and len(lines) >= 2 and lines[1].strip():
        return lines[1].strip(), lines[0]
    if out.returncode != 1 or b"not a git repository" in out.stderr or b"dubious ownership" in out.stderr:
        raise _failure(root, out)
    raise _diagnose(root, rev)  # --verify -q: exit status 1 when rev names no commit


def resolve_rev(root: Path, rev: str) -> str:
    """The full commit id ``rev`` names in the repository at ``root``; raises GitError."""
    return _locate(root, rev)[0]


def _close_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


class _CatFile:
    """One long-lived ``git cat-file --batch``, started on the first read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        self._finalizer: weakref.finalize[[subprocess.Popen[bytes]], _CatFile] | None = None

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._closed:
            raise GitError("the git repository reader is closed: open a new one to read more files")
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    [*_GIT, "cat-file", "--batch"],
                    cwd=self.root,
                    env=_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except OSError as err:
                raise GitError(f"cannot run git cat-file in {self.root}: {err.strerror}") from None
            self._finalizer = weakref.finalize(self, _close_process, self._process)
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def read(self, oid: str, limit: int) -> tuple[int, bytes | None]:
        """The size of the blob ``oid`` and its bytes, or None when over ``limit``."""
        stdin, stdout = self._pipes()
        try:
            stdin.write(oid.encode("ascii") + b"\n")
            stdin.flush()
            header = stdout.readline()
        except OSError:
            header = b""
        fields = header.split()
        if len(fields) == 2 and fields[1] == b"missing":
            raise KeyError(oid)
        if len(fields) != 3 or not fields[2].isdigit():
            self.close()
            raise GitError(f"git cat-file stopped answering in {self.root}: check the repository with git fsck")
        size = int(fields[2])
        if size > limit and size > _DRAIN_BYTES:
            # Cheaper to end this reader than to read the blob through: the next
            # read starts another (ls-tree no longer gives sizes up front).
            self._end_process()
            return size, None
        if size > limit:
            remaining = size + 1
            while remaining:
                chunk = stdout.read(min(remaining, _CHUNK))
                if not chunk:
                    break
                remaining -= len(chunk)
            return size, None
        data = stdout.read(size + 1)
        if len(data) != size + 1:
            self.close()
            raise GitError(f"git cat-file stopped answering in {self.root}: check the repository with git fsck")
        return size, data[:-1]

    def close(self) -> None:
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()

    def _end_process(self) -> None:
        process, finalizer = self._process, self._finalizer
        self._process = self._finalizer = None
        if process is not None and finalizer is not None:
            finalizer.detach()
            process.kill()  # it is writing the rest of the blob: closing its input would not stop it
            _close_process(process)


class _GitView(TextReader):
    """What GitTreeRepo and IndexRepo share: a path table and one blob reader."""

    def __init__(self, root: Path, entries: dict[str, _Entry]) -> None:
        super().__init__()
        self.root = root
        self._entries = entries
        self._children: dict[str, set[str]] = {"": set()}
        for path in entries:
            child = path
            while True:
                parent, _, name = child.rpartition("/")
                known = parent in self._children
                self._children.setdefault(parent, set()).add(name)
                if known or not parent:
                    break
                child = parent
        self._cat = _CatFile(root)
        self._kinds: dict[str, PathKind] = {}
        self._targets: dict[str, str | None] = {}
        # Most trees hold no symbolic link: a path then names itself, once
        # "." and ".." are taken out (plan's base asks about every path its
        # builds read, tens of thousands at 2,000 apps).
        self._links = any(entry.mode == MODE_SYMLINK for entry in entries.values())

    # -- lifetime -------------------------------------------------------------------

    def close(self) -> None:
        """End the ``git cat-file`` process; texts already read stay readable."""
        self._cat.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- paths ----------------------------------------------------------------------

    def _target(self, link: str) -> str | None:
        if link not in self._targets:
            entry = self._entries[link]
            try:
                _, data = self._cat.read(entry.oid, 4096)
            except KeyError:
                data = None
            self._targets[link] = None if data is None else data.decode("utf-8", "surrogateescape")
        return self._targets[link]

    def _resolve(self, path: str) -> str | None:
        """The tree path ``path`` names after following symlinks, like
        ``os.path.realpath``; None when it leaves the tree or loops."""
        if path.startswith("/"):
            return None
        if not self._links:
            plain = posixpath.normpath(path) if path else "."
            return None if plain == ".." or plain.startswith("../") else "" if plain == "." else plain
        pending = path.split("/")
        pending.reverse()
        resolved: list[str] = []
        hops = 0
        while pending:
            name = pending.pop()
            if name in ("", "."):
                continue
            if name == "..":
                if not resolved:
                    return None
                resolved.pop()
                continue
            resolved.append(name)
            current = "/".join(resolved)
            entry = self._entries.get(current)
            if entry is None or entry.mode != MODE_SYMLINK:
                continue
            hops += 1
            target = self._target(current)
            if hops > MAX_SYMLINK_HOPS or not target or target.startswith("/"):
                return None
            resolved.pop()
            parts = target.split("/")
            parts.reverse()
            pending.extend(parts)
        return "/".join(resolved)

    def _blob(self, path: str) -> _Entry | None:
        real = self._resolve(path)
        if real is None:
            return None
        entry = self._entries.get(real)
        if entry is None or entry.mode in (MODE_GITLINK, MODE_SYMLINK):
            return None
        return entry

    def kind(self, path: str) -> PathKind:
        if path not in self._kinds:
            real = self._resolve(path) if path not in ("", ".") else ""
            if real is None:
                self._kinds[path] = "missing"
            elif real in self._children:
                self._kinds[path] = "dir"
            else:
                entry = self._entries.get(real)
                ok = entry is not None and entry.mode not in (MODE_GITLINK, MODE_SYMLINK)
                self._kinds[path] = "file" if ok else "missing"
        return self._kinds[path]

    def listdir(self, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        real = self._resolve(path) if path not in ("", ".") else ""
        if real is None or real not in self._children:
            return (), ()
        dirs: list[str] = []
        files: list[str] = []
        for name in sorted(self._children[real]):
            rel = f"{path}/{name}" if path not in ("", ".") else name
            kind = self.kind(rel)
            if kind == "dir":
                dirs.append(name)
            elif kind == "file":
                files.append(name)
        return tuple(dirs), tuple(files)

    # -- contents -------------------------------------------------------------------

    def _look(self, path: str) -> Look | None:
        # A blob's id names its bytes: the cache's index knows the file by it,
        # in every commit and in the index alike, and it is never racy.  (A
        # blob lost from the object store since it was indexed goes unnoticed
        # then, where reading it would say so.)
        entry = self._blob(path)
        if entry is None or entry.mode == MODE_CONFLICT:
            return None
        return Look(f"git-blob:{entry.oid}", entry.oid, True)

    def _read_bytes(self, path: str) -> bytes:
        entry = self._blob(path)
        if entry is None:
            raise ModelError("file-missing", "no such file in the repository", Loc(path, 1, 1))
        if entry.mode == MODE_CONFLICT:
            raise ModelError(
                "file-unreadable",
                "the file has unresolved merge conflicts: resolve them and git add it",
                Loc(path, 1, 1),
            )
        try:
            # A blob over the limit is passed over unread; cat-file says its size first.
            size, data = self._cat.read(entry.oid, MAX_FILE_BYTES)
        except KeyError:
            raise ModelError(
                "file-unreadable", f"git object {entry.oid} is missing: fetch it (git fetch)", Loc(path, 1, 1)
            ) from None
        if data is None:
            raise too_large(path, size, MAX_FILE_BYTES)
        return data

    def yaml_files(self) -> Iterator[str]:
        # os.walk's order and choices: a folder's files first, then its
        # sub-folders; hidden folders and symlinked folders are not entered;
        # a symlink that is not a folder (even a broken one) counts as a file.
        yield from self._yaml_files("")

    def _yaml_files(self, folder: str) -> Iterator[str]:
        dirs: list[str] = []
        files: list[str] = []
        for name in sorted(self._children.get(folder, ())):
            path = f"{folder}/{name}" if folder else name
            entry = self._entries.get(path)
            if entry is None:
                if not name.startswith("."):
                    dirs.append(path)
            elif entry.mode == MODE_SYMLINK:
                if self.kind(path) != "dir":
                    files.append(path)
            elif entry.mode != MODE_GITLINK:
                files.append(path)
        yield from (f for f in files if f.endswith(YAML_SUFFIXES))
        for sub in dirs:
            yield from self._yaml_files(sub)


def _records(data: bytes) -> Iterator[tuple[list[str], str]]:
    """``<fields> TAB <path> NUL`` records, as ls-tree -z and ls-files -z print."""
    for record in data.split(b"\0"):
        if not record:
            continue
        head, _, raw_path = record.partition(b"\t")
        yield head.decode("ascii").split(), raw_path.decode("utf-8", "surrogateescape")


class GitTreeRepo(_GitView):
    """A read-only, caching view of the tree of commit ``rev`` (any revision
    git understands), for the folder ``root`` of the repository's work tree."""

    def __init__(self, root: Path, rev: str) -> None:
        root = root.resolve()
        self.sha, prefix = _locate(root, rev)
        # Without -l: git then reads no blob's size, a third of the time of the
        # listing (0.1 s at 6,000 files); reading a blob says its size first.
        args = ["ls-tree", "-r", "-z", "--full-tree", self.sha]
        if prefix:
            args += ["--", prefix]
        out = _run(root, *args)
        if out.returncode != 0:
            raise _failure(root, out)
        entries: dict[str, _Entry] = {}
        for fields, path in _records(out.stdout):
            if len(fields) != 3 or not path.startswith(prefix):
                continue
            mode, _, oid = fields
            entries[path[len(prefix) :]] = _Entry(mode, oid)
        super().__init__(root, entries)


class IndexRepo(_GitView):
    """A read-only, caching view of the index (what ``git commit`` would
    record), for the folder ``root`` of the repository's work tree."""

    def __init__(self, root: Path) -> None:
        root = root.resolve()
        # Run in root, ls-files lists only root's files, relative to it.
        out = _run(root, "ls-files", "-s", "-z")
        if out.returncode != 0:
            raise _failure(root, out)
        entries: dict[str, _Entry] = {}
        for fields, path in _records(out.stdout):
            if len(fields) != 3:
                continue
            mode, oid, stage = fields
            if stage == "0":
                entries[path] = _Entry(mode, oid)
            elif path not in entries:
                entries[path] = _Entry(MODE_CONFLICT, oid)
        super().__init__(root, entries)
