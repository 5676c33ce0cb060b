"""Flux post-build variable substitution, as kustomize-controller does it.

kustomize-controller runs fluxcd/pkg ``envsubst`` (a fork of drone/envsubst)
over the YAML text of every built object.  This module reimplements its
behaviour, read from fluxcd/pkg ``envsubst/parse/{scan,parse}.go``,
``envsubst/{template,funcs}.go`` and ``kustomize/kustomize_varsub.go``:

* only the braced form ``${VAR}`` is expanded; ``$VAR`` is left alone;
* ``$$`` outside a ``${...}`` is an escape for ``$``, so ``$${VAR}`` gives a
  literal ``${VAR}``;
* ``${VAR:-d}``, ``${VAR:=d}``, ``${VAR=d}`` (and ``:?``, ``:+``, which the
  fork also maps to "default") give ``d`` when VAR is empty or unset;
* ``${VAR-d}``, ``${VAR+d}`` and ``${VAR?d}`` do **not** parse in the fork
  (its parser only branches on ``:``, ``=``, ``,``, ``^``, ``/``, ``#``,
  ``%`` after the name) and fail with "missing closing brace", although the
  fork's README lists ``-``;
* strict mode (the default since kustomize-controller v1.9.0) fails on an
  unset variable unless a default operator is used.  Default arguments are
  evaluated first, so ``${A:-${B}}`` fails when B is unset even if A is set.

Evaluation here works per scalar rather than on the whole document text.
The results are the same because every ``${...}`` lies inside one scalar,
except for the typing of the result, which :func:`substitute_tree` redoes
the way the YAML text round trip does (see :mod:`volsync_kit.core.scalars`).
"""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from volsync_kit.core.model import Dollar, LazyMap, LazySeq, Loc, Map, Node, Scalar, Seq
from volsync_kit.core.scalars import emitted_plain, read_spliced

# kustomize-controller validates variable names with this expression.
VAR_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
DEFAULT_OPS = frozenset({"-", "+", "=", "?", ":-", ":+", ":=", ":?"})

# A lookup answers (value, exists).  A value of None means "exists, but the
# value cannot be known offline" (an encrypted Secret); the expression is then
# kept as written.
Lookup = Callable[[str], "tuple[str | None, bool]"]


class SubstitutionError(Exception):
    """The envsubst fork refused the text (parse error or unset variable)."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.variable = variable


# -- parse tree -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Func:
    param: str
    op: str  # "" for a bare ${VAR}
    args: tuple[Part, ...]
    raw: str = ""  # the expression's source text, kept when a value is unknowable


Part = Text | Func


def _is_ident(ch: str) -> bool:
    # Go's unicode.IsLetter / unicode.IsDigit, plus underscore.
    return ch == "_" or unicodedata.category(ch)[0] == "L" or unicodedata.category(ch) == "Nd"


class _Parser:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.s[j] if j < len(self.s) else ""

    def at_lbrack(self) -> bool:
        return self.peek() == "$" and self.peek(1) == "{"

    # top level: text runs and ${...}
    def parse_any(self) -> tuple[Part, ...]:
        parts: list[Part] = []
        while self.i < len(self.s):
            if self.at_lbrack():
                self.i += 2
                parts.append(self.parse_func())
                continue
            out: list[str] = []
            while self.i < len(self.s) and not self.at_lbrack():
                if self.peek() == "$" and self.peek(1) == "$":
                    # the escape drops one dollar and the kept one is plain text
                    out.append("$")
                    self.i += 2
                    continue
                out.append(self.peek())
                self.i += 1
            parts.append(Text("".join(out)))
        return tuple(parts)

    def ident(self) -> str:
        start = self.i
        while self.i < len(self.s) and _is_ident(self.s[self.i]):
            self.i += 1
        return self.s[start : self.i]

    def expect_close(self, error: str = "bad substitution") -> None:
        if self.peek() != "}":
            raise SubstitutionError(error)
        self.i += 1

    def parse_func(self) -> Func:
        start = self.i - 2
        func = self._parse_func()
        return Func(func.param, func.op, func.args, self.s[start : self.i])

    def _parse_func(self) -> Func:
        if self.peek() == "#":
            self.i += 1
            name = self.ident()
            if not name:
                raise SubstitutionError("bad substitution")
            self.expect_close()
            return Func(name, "#", ())
        name = self.ident()
        if not name:
            raise SubstitutionError("unable to parse variable name")
        nxt = self.peek()
        if nxt == ":":
            if self.peek(1) in ("=", "-", "?", "+"):
                return self.parse_default(name, ":" + self.peek(1), 2)
            return self.parse_substr(name)
        if nxt == "=":
            return self.parse_default(name, "=", 1)
        if nxt in (",", "^"):
            return self.parse_casing(name)
        if nxt == "/":
            return self.parse_replace(name)
        if nxt in ("#", "%"):
            return self.parse_remove(name, nxt)
        self.expect_close("missing closing brace")
        return Func(name, "", ())

    def param(self, stop: Callable[[str], bool], *, escapes: bool = False) -> Part:
        """One argument token: a nested ${...} or a run of accepted text."""
        if self.at_lbrack():
            self.i += 2
            return self.parse_func()
        out: list[str] = []
        while self.i < len(self.s) and not self.at_lbrack():
            ch = self.peek()
            if escapes and ch == "$" and self.peek(1) == "$":
                out.append("$")
                self.i += 2
                continue
            if escapes and ch == "\\" and self.peek(1) in ("/", "\\"):
                out.append(self.peek(1))
                self.i += 2
                continue
            if stop(ch):
                break
            out.append(ch)
            self.i += 1
        if not out:
            raise SubstitutionError("unable to parse substitution within function")
        return Text("".join(out))

    def parse_default(self, name: str, op: str, width: int) -> Func:
        self.i += width
        args: list[Part] = []
        while True:
            if self.peek() == "}":
                self.i += 1
                return Func(name, op, tuple(args))
            args.append(self.param(lambda ch: ch == "}"))

    def parse_substr(self, name: str) -> Func:
        self.i += 1
        args = [self.param(lambda ch: ch in (":", "}"))]
        if self.peek() == "}":
            self.i += 1
            return Func(name, ":", tuple(args))
        if self.peek() != ":":
            raise SubstitutionError("bad substitution")
        while self.peek() == ":":
            self.i += 1
        args.append(self.param(lambda ch: ch == "}"))
        self.expect_close()
        return Func(name, ":", tuple(args))

    def parse_casing(self, name: str) -> Func:
        start = self.i
        while self.i - start < 2 and self.peek() in (",", "^"):
            self.i += 1
        op = self.s[start : self.i]
        self.expect_close()
        return Func(name, op, ())

    def parse_replace(self, name: str) -> Func:
        start = self.i
        self.i += 1
        if self.peek() in ("/", "#", "%"):
            self.i += 1
        op = self.s[start : self.i]
        args: list[Part] = []
        if self.peek() == "/":
            args.append(Text(""))
        else:
            args.append(self.param(lambda ch: ch == "/", escapes=True))
        if self.peek() != "/":
            raise SubstitutionError("bad substitution")
        while self.peek() == "/":
            self.i += 1
        if self.peek() == "}":
            self.i += 1
            return Func(name, op, tuple(args))
        args.append(self.param(lambda ch: ch == "}", escapes=True))
        self.expect_close()
        return Func(name, op, tuple(args))

    def parse_remove(self, name: str, mark: str) -> Func:
        start = self.i
        while self.i - start < 2 and self.peek() == mark:
            self.i += 1
        op = self.s[start : self.i]
        args = (self.param(lambda ch: ch == "}"),)
        self.expect_close()
        return Func(name, op, args)


@functools.lru_cache(maxsize=16384)
def _parse_cached(text: str) -> tuple[Part, ...] | SubstitutionError:
    # Templates repeat across every app that includes a component, so each
    # distinct string is parsed once per run.  Errors are cached as values.
    try:
        return _Parser(text).parse_any()
    except SubstitutionError as err:
        return err


def parse(text: str) -> tuple[Part, ...]:
    """Parse ``text`` into literal runs and ``${...}`` expressions."""
    parsed = _parse_cached(text)
    if isinstance(parsed, SubstitutionError):
        raise SubstitutionError(parsed.message, parsed.variable)
    return parsed


# -- evaluation -------------------------------------------------------------


_ATOI = re.compile(r"^[+-]?[0-9]+$")


def _substr(value: str, args: list[str]) -> str:
    # Go's strconv.Atoi: an unparsable offset or length returns the value.
    if not _ATOI.match(args[0]):
        return value
    pos = int(args[0])
    if pos < 0:
        pos = max(len(value) + pos, 0)
    if len(args) == 1:
        return value[pos:]
    if not _ATOI.match(args[1]):
        return value
    length = int(args[1])
    if length < 0:
        end = len(value) + length
        return "" if end < pos else value[pos:end]
    return value[pos : pos + length]


def _trim(value: str, pattern: str, *, longest: bool, suffix: bool) -> str:
    text, pat = (value[::-1], pattern[::-1]) if suffix else (value, pattern)
    prefixes = [text[: len(text) - i] for i in range(len(text))]
    matches = [p for p in prefixes if fnmatch.fnmatchcase(p, pat)]
    if matches:
        chosen = matches[0] if longest else matches[-1]
        text = text[len(chosen) :]
    return text[::-1] if suffix else text


# The fork's operators other than its defaults; each gets the value and the
# evaluated arguments.  Built once: ``_apply`` runs for every variable.
_OPERATORS: dict[str, Callable[[str, list[str]], str]] = {
    ",": lambda value, args: value[:1].lower() + value[1:],
    ",,": lambda value, args: value.lower(),
    "^": lambda value, args: value[:1].upper() + value[1:],
    "^^": lambda value, args: value.upper(),
    "#": lambda value, args: _trim(value, args[0], longest=False, suffix=False),
    "##": lambda value, args: _trim(value, args[0], longest=True, suffix=False),
    "%": lambda value, args: _trim(value, args[0], longest=False, suffix=True),
    "%%": lambda value, args: _trim(value, args[0], longest=True, suffix=True),
    ":": _substr,
    "/": lambda value, args: value.replace(args[0], args[1] if len(args) > 1 else "", 1),
    "//": lambda value, args: value.replace(args[0], args[1] if len(args) > 1 else ""),
    "/#": lambda value, args: (
        args[1] + value[len(args[0]) :] if len(args) == 2 and value.startswith(args[0]) else value
    ),
    "/%": lambda value, args: (
        value[: len(value) - len(args[0])] + args[1] if len(args) == 2 and value.endswith(args[0]) else value
    ),
}


def _apply(op: str, value: str, args: list[str]) -> str:
    if op == "#" and not args:
        return str(len(value.encode()))
    operator = _OPERATORS.get(op)
    if operator is not None:
        return operator(value, args)
    # Every other operator, the default ones included, is the fork's toDefault.
    return "".join(args) if value == "" and args else value


def _eval(parts: tuple[Part, ...], lookup: Lookup) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, Text):
            out.append(part.value)
            continue
        args = [_eval((a,), lookup) for a in part.args]
        value, exists = lookup(part.param)
        if value is None:
            out.append(part.raw)
            continue
        if not exists and part.op not in DEFAULT_OPS:
            raise SubstitutionError(f'variable not set (strict mode): "{part.param}"', part.param)
        out.append(_apply(part.op, value, args))
    return "".join(out)


def make_lookup(
    variables: Mapping[str, str], *, strict: bool = True, opaque: bool = False, unknown: frozenset[str] = frozenset()
) -> Lookup:
    """Flux's variable lookup.  A variable in ``unknown`` (defined, value not
    known offline), or any undefined one when ``opaque`` (a source that may
    define anything), is kept as written; any other is provably absent."""

    def lookup(name: str) -> tuple[str | None, bool]:
        if name in variables:
            return variables[name], True
        if opaque or name in unknown:
            return None, True
        return "", not strict

    return lookup


def expand(text: str, variables: Mapping[str, str], *, strict: bool = True) -> str:
    """Expand one string exactly as the envsubst fork would."""
    if "$" not in text:
        return text
    return _eval(parse(text), make_lookup(variables, strict=strict))


def variable_names(text: str) -> list[str]:
    """The variables a text refers to, in order (parse errors give none)."""
    try:
        parts = parse(text)
    except SubstitutionError:
        return []
    names: list[str] = []

    def walk(ps: tuple[Part, ...]) -> None:
        for p in ps:
            if isinstance(p, Func):
                names.append(p.param)
                walk(p.args)

    walk(parts)
    return names


# -- trees --------------------------------------------------------------------


class TreeSubstitutionError(Exception):
    """Substitution failed in one scalar; carries that scalar's location."""

    def __init__(self, message: str, loc: Loc | None, variable: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.variable = variable


@dataclass(frozen=True, slots=True)
class Notice:
    """A substituted value whose effect the model could not reproduce exactly."""

    message: str
    loc: Loc | None


def substitute_tree(
    node: Node, variables: Mapping[str, str], *, strict: bool = True, opaque: bool = False
) -> tuple[Node, list[Notice]]:
    """Substitute every string scalar and key below ``node``.

    A string whose text changes is re-typed the way Flux's YAML round trip
    re-types it: when the template would be written unquoted, the result is
    read again as a YAML scalar, so ``"${PUID:-1000}"`` becomes 1000, an
    empty result becomes null and ``${CRON:-"0 * * * *"}`` the string
    ``0 * * * *`` (its quotes are YAML's).
    """
    return TreeSubstituter(variables, strict=strict, opaque=opaque).tree(node)


_BREAKS = object()  # memo marker: the result would change the YAML structure


class TreeSubstituter:
    """One Kustomization's substitution, applied to each of its objects.

    The objects of one build repeat the same templates (``${APP}`` in every
    name), so each distinct text is evaluated and re-typed once.
    """

    def __init__(
        self,
        variables: Mapping[str, str],
        *,
        strict: bool = True,
        opaque: bool = False,
        unknown: frozenset[str] = frozenset(),
    ) -> None:
        self.lookup = make_lookup(variables, strict=strict, opaque=opaque, unknown=unknown)
        self.texts: dict[str, str] = {}
        self.values: dict[str, object] = {}
        # What it was made with: a deferred subtree (see _defer) pickles it.
        self.made_with = (variables, strict, opaque, unknown)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_substituter, self.made_with)

    def text(self, value: str, loc: Loc | None) -> str:
        found = self.texts.get(value)
        if found is None:
            try:
                found = _eval(parse(value), self.lookup)
            except SubstitutionError as err:
                raise TreeSubstitutionError(err.message, loc, err.variable) from None
            self.texts[value] = found
        return found

    def scalar_value(self, value: str, loc: Loc | None) -> object:
        """The value a scalar written as ``value`` has after substitution."""
        if value in self.values:
            return self.values[value]
        result = self.text(value, loc)
        typed: object
        if result == value or not emitted_plain(value):
            typed = result
        else:
            # Written unquoted, the template's result is read back as a YAML
            # scalar, its own quotes included (scalars.read_spliced).
            readable, read = read_spliced(result)
            typed = read if readable else _BREAKS
        self.values[value] = typed
        return typed

    def tree(self, node: Node) -> tuple[Node, list[Notice]]:
        notices: list[Notice] = []
        return self._walk(node, notices), notices

    def _scalar(self, written: str, loc: Loc | None, notices: list[Notice]) -> object:
        """The value of a string scalar holding a "$" (raises, or notes, as Flux fails or warns)."""
        typed = self.scalar_value(written, loc)
        if typed is _BREAKS:
            result = self.text(written, loc)
            message = f"substituted value {result!r} changes the YAML structure; kept as a string"
            notices.append(Notice(message, loc))
            return result
        return typed

    def _walk(self, n: Node, notices: list[Notice]) -> Node:
        if isinstance(n, Scalar):
            written = n.value
            if not isinstance(written, str) or "$" not in written:
                return n
            typed = self._scalar(written, n.loc, notices)
            return n if typed == written and isinstance(typed, str) else Scalar(typed, n.loc)  # type: ignore[arg-type]
        if n.vars_free:
            return n
        if type(n) is LazyMap or type(n) is LazySeq:
            deferred = self._defer(n, notices)
            if deferred is not None:
                return deferred
        if isinstance(n, Map):
            items: dict[str, Node] = {}
            key_locs: dict[str, Loc] = {}
            changed = False
            locs = n.key_locs
            for key, value in n.items.items():
                key_at = locs.get(key) if locs else None
                new_key = self.text(key, key_at or n.loc) if "$" in key else key
                # Skipping the call for a scalar without "$" halves the walk.
                if isinstance(value, Scalar) and not (isinstance(value.value, str) and "$" in value.value):
                    new_value: Node = value
                else:
                    new_value = self._walk(value, notices)
                changed = changed or new_key != key or new_value is not value
                items[new_key] = new_value
                if key_at is not None:
                    key_locs[new_key] = key_at
            # Most of a manifest holds no variable: share the untouched subtree.
            return Map(items, n.loc, key_locs or None) if changed else n
        values = tuple(self._walk(v, notices) for v in n.items)
        return Seq(values, n.loc) if any(a is not b for a, b in zip(values, n.items, strict=True)) else n

    def _defer(self, n: LazyMap | LazySeq, notices: list[Notice]) -> Node | None:
        """A subtree not built yet (a lean document's, see the YAML reader)
        stays so: its "$" strings are evaluated now, in the order the walk
        would meet them, so that it fails or warns as the walk would; the
        values are put in when something reads inside it.  None when its
        strings are not known (then it is walked)."""
        source = n.source()
        dollars: tuple[Dollar, ...] | None = source.dollars() if source is not None else None
        if dollars is None:
            return None
        for text, loc, is_key in dollars:
            if is_key:
                self.text(text, loc)
            else:
                self._scalar(text, loc, notices)
        deferred = _Deferred(n, self)
        return LazyMap.of(deferred, n.loc) if isinstance(n, Map) else LazySeq.of(deferred, n.loc)


def _substituter(variables: Mapping[str, str], strict: bool, opaque: bool, unknown: frozenset[str]) -> TreeSubstituter:
    return TreeSubstituter(variables, strict=strict, opaque=opaque, unknown=unknown)


class _Deferred:
    """A substituted subtree, built one level at a time as :meth:`TreeSubstituter._walk`
    would have built it (the model's Pending)."""

    __slots__ = ("base", "substituter")

    def __init__(self, base: Map | Seq, substituter: TreeSubstituter) -> None:
        self.base = base
        self.substituter = substituter

    def map_items(self) -> tuple[dict[str, Node], dict[str, Loc]]:
        base, walk, text = self.base, self.substituter._walk, self.substituter.text
        assert isinstance(base, Map)
        items: dict[str, Node] = {}
        key_locs: dict[str, Loc] = {}
        locs = base.key_locs
        ignored: list[Notice] = []  # said when the subtree was deferred
        for key, value in base.items.items():
            key_at = locs.get(key) if locs else None
            new_key = text(key, key_at or base.loc) if "$" in key else key
            items[new_key] = walk(value, ignored)
            if key_at is not None:
                key_locs[new_key] = key_at
        return items, key_locs

    def seq_items(self) -> tuple[Node, ...]:
        assert isinstance(self.base, Seq)
        ignored: list[Notice] = []
        return tuple(self.substituter._walk(item, ignored) for item in self.base.items)

    def vars_free(self) -> bool:
        return False  # not known: substitution is done once, so never asked

    def dollars(self) -> tuple[Dollar, ...] | None:
        return None

    def strings(self) -> Iterator[str] | None:
        """The base's strings, each holding a "$" substituted (all were
        evaluated when the subtree was deferred, so none raises)."""
        base = self.base
        source = base.source() if type(base) is LazyMap or type(base) is LazySeq else None
        strings = source.strings() if source is not None else None
        if strings is None:
            return None
        text = self.substituter.text
        return (text(s, base.loc) if "$" in s else s for s in strings)

    def texts(self) -> tuple[str, ...] | None:
        """The base's texts, and each string value holding a "$" as
        substitution writes it (read back as a scalar from there: an escape
        in it makes the answer unknown)."""
        base = self.base
        source = base.source() if type(base) is LazyMap or type(base) is LazySeq else None
        texts = source.texts() if source is not None else None
        dollars = source.dollars() if source is not None else None
        if texts is None or dollars is None:
            return None
        text = self.substituter.text
        changed = tuple(text(value, base.loc) for value, _, is_key in dollars if not is_key)
        return None if any("\\" in value for value in changed) else (*texts, *changed)

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_Deferred, (self.base, self.substituter))
