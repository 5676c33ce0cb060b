"""What source-controller leaves out of a GitRepository artifact.

kustomize-controller builds from the artifact, not from the repository, so
a file the ignore rules match does not exist for Flux.  This module
reimplements the rules as source-controller applies them:

* patterns come from every ``.sourceignore`` file of the tree, read by
  fluxcd/pkg ``sourceignore.LoadIgnorePatterns``: the root's file first, then
  each sub-folder's in a depth-first walk of sorted names (``os.ReadDir``),
  skipping ``.git``.  A file's patterns are scoped to its folder (their
  *domain*): they match only paths below that folder, relative to it;
* ``spec.ignore`` follows, read with the root as its domain, so it has the
  last word (``gitrepository_controller.go``: ``ps = append(ps,
  sourceignore.ReadPatterns(strings.NewReader(*obj.Spec.Ignore), ...))``).
  Lines starting with ``#`` and blank lines are skipped (``ReadPatterns``);
* ``storage.SourceIgnoreFilter`` then puts the VCS patterns (``.git/``,
  ``.gitignore``, ``.gitmodules``, ``.gitattributes``) first and, only when
  no pattern was found at all, the default exclusions (images, archives, CI
  files, ``**/.goreleaser.yml``, ``**/.sops.yaml``, ``**/.flux.yaml``).  So
  ``spec.ignore`` **replaces** the defaults, and so does any
  ``.sourceignore`` file; an empty or comment-only ``spec.ignore`` does not.
  The Flux docs' "overrides the set of excluded patterns" means exactly
  this (fluxcd/source-controller issue 429);
* matching is go-git's ``plumbing/format/gitignore`` as vendored in fluxcd/pkg
  ``sourceignore/gitignore`` (copied from go-git v5.16.4): the last pattern
  that matches decides; a ``!`` pattern includes; a trailing ``/`` restricts
  the pattern's final segment to folders; a pattern with a ``/`` is anchored
  to its domain and matched segment by segment (``**`` spans folders), one
  without is matched against every path segment; each segment is Go's
  ``filepath.Match`` (``*``, ``?``, ``[a-z]``, ``[^a]``, ``\\`` escapes; a
  malformed pattern matches nothing).  A pattern that matches a folder also
  matches everything below it, because a match may end before the path does.

Where this differs from git: ``storage.Archive`` walks *into* excluded
folders (its ``filepath.Walk`` callback returns ``nil``, not
``filepath.SkipDir``) and asks the matcher about each file, and
fluxcd/pkg ``tar.Untar`` recreates the missing parent folders.  So a later
``!`` pattern *does* re-include a file inside an excluded folder, which git
would not.  :meth:`Ignore.ignored` answers for one path as the matcher does;
:meth:`Ignore.descend` tells whether anything below a folder can survive.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

IGNORE_FILE = ".sourceignore"
# fluxcd/pkg sourceignore.go: ExcludeVCS, then ExcludeExt, ExcludeCI, ExcludeExtra.
VCS_PATTERNS = (".git/", ".gitignore", ".gitmodules", ".gitattributes")
DEFAULT_PATTERNS = (
    "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
    ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml",
    "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
    "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
)  # fmt: skip

_NO_MATCH, _EXCLUDE, _INCLUDE = 0, 1, 2


# -- Go's path/filepath.Match, for one path segment ----------------------------


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    """A leading run of ``*``, then the literal chunk up to the next ``*``."""
    star = False
    while pattern.startswith("*"):
        pattern, star = pattern[1:], True
    in_range = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern):
                i += 1
        elif ch == "[":
            in_range = True
        elif ch == "]":
            in_range = False
        elif ch == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _get_esc(chunk: str) -> tuple[str, str] | None:
    """One class endpoint, or None where Go reports ErrBadPattern."""
    if not chunk or chunk[0] in "-]":
        return None
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            return None
    rest = chunk[1:]
    return (chunk[0], rest) if rest else None


def _match_chunk(chunk: str, s: str) -> str | None:
    """The rest of ``s`` after ``chunk`` matched its start; None if it did
    not (a malformed chunk never matches, as callers treat ErrBadPattern)."""
    failed = False
    while chunk:
        if not failed and not s:
            failed = True
        head = chunk[0]
        if head == "[":
            r = ""
            if not failed:
                r, s = s[0], s[1:]
            chunk = chunk[1:]
            negated = chunk.startswith("^")
            if negated:
                chunk = chunk[1:]
            matched = False
            ranges = 0
            while True:
                if chunk.startswith("]") and ranges > 0:
                    chunk = chunk[1:]
                    break
                lo_rest = _get_esc(chunk)
                if lo_rest is None:
                    return None
                lo, chunk = lo_rest
                hi = lo
                if chunk[0] == "-":
                    hi_rest = _get_esc(chunk[1:])
                    if hi_rest is None:
                        return None
                    hi, chunk = hi_rest
                if r and lo <= r <= hi:
                    matched = True
                ranges += 1
            if matched == negated:
                failed = True
        elif head == "?":
            if not failed:
                if s[0] == "/":
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
        else:
            if head == "\\":
                chunk = chunk[1:]
                if not chunk:
                    return None
            if not failed:
                if chunk[0] != s[0]:
                    failed = True
                s = s[1:]
            chunk = chunk[1:]
    return None if failed else s


@functools.lru_cache(maxsize=65536)
def go_match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match(pattern, name)`` on POSIX, an error counting as
    no match (go-git's gitignore ignores the error the same way)."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return "/" not in name  # a trailing * matches the rest, but no /
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if not star:
            return False
        skipped = _skip_for_star(chunk, name, last=not pattern)
        if skipped is None:
            return False
        name = skipped
    return not name


def _skip_for_star(chunk: str, name: str, *, last: bool) -> str | None:
    """Go's retry loop for ``*``: let the star eat 1, 2, ... characters (never
    a ``/``) until the chunk matches; the last chunk must end the name."""
    for i, ch in enumerate(name):
        if ch == "/":
            break
        rest = _match_chunk(chunk, name[i + 1 :])
        if rest is not None and not (last and rest):
            return rest
    return None


# -- go-git's gitignore pattern --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pattern:
    """One gitignore line as go-git's ``ParsePattern`` reads it."""

    text: str
    domain: tuple[str, ...]
    segments: tuple[str, ...]
    inclusion: bool
    dir_only: bool
    is_glob: bool  # the pattern has a "/" (other than a trailing one)

    @classmethod
    def parse(cls, text: str, domain: Sequence[str] = ()) -> Pattern:
        p = text
        inclusion = p.startswith("!")
        if inclusion:
            p = p[1:]
        if not p.endswith("\\ "):
            p = p.rstrip(" ")
        dir_only = p.endswith("/")
        if dir_only:
            p = p[:-1]
        return cls(text, tuple(domain), tuple(p.split("/")), inclusion, dir_only, "/" in p)

    def match(self, path: Sequence[str], is_dir: bool) -> int:
        """go-git ``pattern.Match``: no match, exclude or include."""
        n = len(self.domain)
        if len(path) <= n or tuple(path[:n]) != self.domain:
            return _NO_MATCH
        rel = path[n:]
        found = self._glob_match(rel, is_dir) if self.is_glob else self._name_match(rel, is_dir)
        if not found:
            return _NO_MATCH
        return _INCLUDE if self.inclusion else _EXCLUDE

    def _name_match(self, path: Sequence[str], is_dir: bool) -> bool:
        # go-git simpleNameMatch: the first segment that matches decides.
        for i, name in enumerate(path):
            if not go_match(self.segments[0], name):
                continue
            return not (self.dir_only and not is_dir and i == len(path) - 1)
        return False

    def _glob_match(self, path: Sequence[str], is_dir: bool) -> bool:
        # go-git globMatch, step for step: a match may end before the path
        # does (the pattern then matched a folder above it).
        rest = list(path)
        matched = False
        traverse = False
        last = len(self.segments) - 1
        for i, segment in enumerate(self.segments):
            if segment == "":
                traverse = False
                continue
            if segment == "**":
                if i == last:
                    break
                traverse = True
                continue
            if "**" in segment:
                return False
            if not rest:
                return False
            if traverse:
                traverse = False
                while rest:
                    head = rest.pop(0)
                    if go_match(segment, head):
                        matched = True
                        break
                    if not rest:
                        matched = False
            else:
                if not go_match(segment, rest[0]):
                    return False
                matched = True
                rest.pop(0)
        if matched and self.dir_only and not is_dir and not rest:
            matched = False
        return matched

    def may_match_below(self, folder: Sequence[str]) -> bool:
        """Could this pattern match some path strictly below ``folder``?
        Conservative: True unless the pattern's domain or its leading
        segments rule every such path out."""
        n = len(self.domain)
        if len(folder) < n:
            return tuple(folder) == self.domain[: len(folder)]
        if tuple(folder[:n]) != self.domain:
            return False
        if not self.is_glob:
            return True  # a deeper segment may match the name
        rest = list(folder[n:])
        for segment in self.segments:
            if segment == "":
                continue
            if "**" in segment:
                return segment == "**"
            if not rest:
                return True
            if not go_match(segment, rest.pop(0)):
                return False
        return True  # matched a folder at or above: its descendants match

    def covers(self, folder: Sequence[str]) -> bool:
        """Does this pattern match every path strictly below ``folder``?"""
        n = len(self.domain)
        if len(folder) <= n or tuple(folder[:n]) != self.domain:
            return False
        rel = folder[n:]
        if not self.is_glob:
            # a matching segment above the last one of any longer path
            return any(go_match(self.segments[0], name) for name in rel)
        # globMatch only reads a path's tail for the dir-only check, which
        # applies where the path ends exactly; below the folder it never does.
        return self._glob_match(rel, True)


def read_patterns(text: str, domain: Sequence[str] = ()) -> tuple[Pattern, ...]:
    """fluxcd/pkg ``ReadPatterns``: every line but blank ones and ``#`` comments."""
    out: list[Pattern] = []
    for line in text.split("\n"):
        line = line.removesuffix("\r")  # bufio.ScanLines drops a trailing \r
        if not line.startswith("#") and line.strip():
            out.append(Pattern.parse(line, domain))
    return tuple(out)


def _segments(path: str) -> tuple[str, ...]:
    path = path.strip("/")
    return tuple(path.split("/")) if path else ()


@dataclass(frozen=True)
class Ignore:
    """source-controller's exclusions for one source, lowest priority first."""

    patterns: tuple[Pattern, ...]
    defaults: bool  # whether the default exclusions apply (no pattern was given)

    @classmethod
    def for_source(cls, spec_ignore: str | None, sourceignore_files: Mapping[str, str]) -> Ignore:
        """The rules for a source with ``spec.ignore`` (None when unset) and
        the ``.sourceignore`` files of its tree, given as {repo-relative
        folder ("" for the root): file text}.  Every such file counts, even
        in a folder the rules exclude, so callers must find them all."""
        found: list[Pattern] = []
        # Sorted segment tuples put a folder before its sub-folders and
        # siblings in name order: LoadIgnorePatterns' depth-first walk.
        texts = {_segments(f): t for f, t in sourceignore_files.items()}
        for folder in sorted(texts):
            if ".git" in folder:
                continue  # LoadIgnorePatterns does not walk into .git
            found.extend(read_patterns(texts[folder], folder))
        if spec_ignore is not None:
            found.extend(read_patterns(spec_ignore))
        defaults = not found
        base = VCS_PATTERNS + DEFAULT_PATTERNS if defaults else VCS_PATTERNS
        return cls(tuple(Pattern.parse(p) for p in base) + tuple(found), defaults)

    def ignored(self, path: str, is_dir: bool) -> bool:
        """Does source-controller leave this repo-relative POSIX path out?

        The answer of go-git's matcher for the path itself: the last matching
        pattern decides.  A path below an excluded folder is excluded by the
        same pattern, unless a later ``!`` pattern matches the path (see the
        module docstring: unlike git, source-controller honours that).
        """
        segments = _segments(path)
        if not segments:
            return False
        if self.defaults:
            return _default_ignored(segments, is_dir)
        for pattern in reversed(self.patterns):
            result = pattern.match(segments, is_dir)
            if result != _NO_MATCH:
                return result == _EXCLUDE
        return False

    def descend(self, folder: str) -> bool:
        """Must a walker list ``folder`` to find what the artifact keeps?

        False only when every path below it is certainly ignored: a pattern
        excludes everything below, and no later ``!`` pattern could match
        anything there.  An excluded folder is still listed when it may hold
        re-included files.
        """
        segments = _segments(folder)
        if not segments:
            return True
        if self.defaults:
            return not _default_ignored(segments, True)
        for index in range(len(self.patterns) - 1, -1, -1):
            pattern = self.patterns[index]
            if pattern.inclusion:
                if pattern.may_match_below(segments):
                    return True
                continue
            if pattern.covers(segments):
                return False
        return True


# The built-in patterns hold no negation, so a path is left out when any of
# them matches; each matches a path segment by its name.  Every file of every
# folder is asked, so this is the matcher's answer for them without the
# general machinery (tests/test_sourceignore.py checks that both agree).
_DEFAULT_NAMES = frozenset(
    {".gitignore", ".gitmodules", ".gitattributes", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml",
     "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml", ".goreleaser.yml", ".sops.yaml", ".flux.yaml"}
)  # fmt: skip
_DEFAULT_DIRS = frozenset({".git", ".github", ".circleci"})
_DEFAULT_SUFFIXES = (".jpg", ".jpeg", ".gif", ".png", ".wmv", ".flv", ".tar.gz", ".zip")


def _default_ignored(segments: Sequence[str], is_dir: bool) -> bool:
    last = len(segments) - 1
    for i, name in enumerate(segments):
        if name in _DEFAULT_NAMES or name.endswith(_DEFAULT_SUFFIXES):
            return True
        if name in _DEFAULT_DIRS and (i < last or is_dir):
            return True
    return False
