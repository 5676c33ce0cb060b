"""How the Go YAML libraries in the Flux pipeline type plain scalars.

Two libraries are involved, with different rules, and the difference is
visible to operators:

* kustomize reads manifests with kyaml (go-yaml v3, YAML 1.2 core schema):
  ``yes``/``on`` stay strings, ``0777`` is the octal integer 511.  It writes
  its output again, dropping the source's quotes wherever a string would
  still read back as a string (``"${VAR:-1000}"`` comes out unquoted).
* kustomize-controller substitutes variables in that output text, then
  decodes it with sigs.k8s.io/yaml (go-yaml v2, YAML 1.1), where ``yes``,
  ``on``, ``y`` are booleans and an empty value is null.

So a substituted value is re-typed by YAML 1.1 rules, whatever quotes the
template had: ``runAsUser: "${PUID:-1000}"`` becomes the integer 1000.
And quotes the *substituted text* brings are YAML quotes, since the text is
parsed after substitution: ``schedule: ${CRON:-"0 * * * *"}`` is written
unquoted by kustomize and becomes ``schedule: "0 * * * *"``, the string
``0 * * * *``; ``${UID:-"1000"}`` is the string ``1000``
(:func:`read_spliced`).
Sources: kustomize-controller ``kustomize_varsub.go`` (envsubst on
``res.AsYAML()``, then ``yaml.YAMLToJSON``); go-yaml ``resolve.go`` (v2, v3).
"""

from __future__ import annotations

import math
import re

from volsync_kit.core.model import ScalarValue

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE_12 = frozenset({"true", "True", "TRUE"})
_FALSE_12 = frozenset({"false", "False", "FALSE"})
# go-yaml v2 (YAML 1.1) also reads these as booleans; v3 calls them "old
# booleans" and quotes them on output so that they stay strings.
_TRUE_11 = _TRUE_12 | {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON"}
_FALSE_11 = _FALSE_12 | {"n", "N", "no", "No", "NO", "off", "Off", "OFF"}
_SPECIAL_FLOATS: dict[str, float] = {
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
    "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
}  # fmt: skip
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT = re.compile(r"^[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$")
_INT64 = 2**63


def _parse_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(s, 0, 64)`` after removing underscores."""
    plain = text.replace("_", "")
    if not _INT.match(plain):
        return None
    sign = -1 if plain[0] == "-" else 1
    digits = plain.lstrip("+-")
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        value = int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits, 8)
    else:
        value = int(digits)
    value *= sign
    return value if -_INT64 <= value < _INT64 else None


def _resolve(text: str, trues: frozenset[str], falses: frozenset[str]) -> ScalarValue:
    if text in _NULLS:
        return None
    if text in trues:
        return True
    if text in falses:
        return False
    if text[0] in "+-.0123456789":
        number = _parse_int(text)
        if number is not None:
            return number
        if text in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[text]
        if _FLOAT.match(text.replace("_", "")):
            return float(text.replace("_", ""))
    return text


def resolve_source(text: str) -> ScalarValue:
    """Type a plain scalar as kustomize's reader (YAML 1.2) does."""
    return _resolve(text, _TRUE_12, _FALSE_12)


def resolve_applied(text: str) -> ScalarValue:
    """Type a plain scalar as Flux's post-substitution decoder (YAML 1.1) does."""
    return _resolve(text, _TRUE_11, _FALSE_11)


_INDICATORS = frozenset(",[]{}#&*!|>'\"%@`")


def _syntax(text: str) -> bool:
    """Does the text carry YAML syntax when written unquoted?"""
    first = text[0]
    if first in _INDICATORS or (first in "-?:" and (len(text) == 1 or text[1] == " ")):
        return True
    return ": " in text or " #" in text or text.endswith(":")


def emitted_plain(text: str) -> bool:
    """Would kyaml write this string unquoted, so that the text is re-typed?

    An approximation of the go-yaml v3 emitter's analysis: strings that read
    back as another type, or that carry YAML syntax, get quotes or a block.
    """
    if not text or text != text.strip() or "\n" in text:
        return False
    if _syntax(text):
        return False
    return isinstance(resolve_applied(text), str)


# go-yaml v2 ``yaml_parser_scan_flow_scalar``: the escapes of a double-quoted
# scalar, and the hex digits of \x, \u and \U.
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "'": "'", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _unescape_double(text: str, start: int) -> tuple[str, int] | None:
    """The value of a double-quoted scalar opening before ``start``, and the
    index of its closing quote; None where go-yaml would fail."""
    out: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(out), i
        if ch == "\\":
            code = text[i + 1 : i + 2]
            width = _HEX_ESCAPES.get(code)
            if width is not None:
                digits = text[i + 2 : i + 2 + width]
                if len(digits) != width or not set(digits) <= _HEX_DIGITS:
                    return None
                value = int(digits, 16)
                if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
                    return None  # "found invalid Unicode character escape code"
                out.append(chr(value))
                i += 2 + width
                continue
            if code not in _ESCAPES:
                return None  # "found unknown escape character"
            out.append(_ESCAPES[code])
            i += 2
            continue
        out.append(ch)
        i += 1
    return None


def _unescape_single(text: str, start: int) -> tuple[str, int] | None:
    """A single-quoted scalar: ``''`` is a quote, nothing else is escaped."""
    out: list[str] = []
    i = start
    while i < len(text):
        if text[i] == "'":
            if text[i + 1 : i + 2] != "'":
                return "".join(out), i
            i += 1
        out.append(text[i])
        i += 1
    return None


def read_spliced(text: str) -> tuple[bool, ScalarValue]:
    """Read ``text`` as Flux does after splicing it into ``key: <text>``.

    kustomize-controller substitutes into the YAML text, so the result is a
    YAML scalar of its own: a quoted one (``"0 * * * *"``, ``'a b'``) is the
    string inside its quotes, anything else a plain scalar typed by YAML 1.1.
    Answers (False, None) where the text would not read back as one scalar
    (YAML syntax, several lines, a quote followed by more text), which would
    change the document or fail in Flux.
    """
    if text[:1] in ("'", '"'):
        if "\n" in text:
            return False, None
        read = _unescape_double(text, 1) if text[0] == '"' else _unescape_single(text, 1)
        if read is None:
            return False, None
        value, end = read
        tail = text[end + 1 :]
        # Only blanks may follow, or a comment, which needs a blank before "#".
        if tail.strip() and not (tail[0] in " \t" and tail.lstrip(" \t").startswith("#")):
            return False, None
        return True, value
    if breaks_plain(text):
        return False, None
    return True, resolve_applied(text)


def breaks_plain(text: str) -> bool:
    """Would this text, spliced unquoted after ``key: ``, change the YAML structure?"""
    if text == "":
        return False
    if "\n" in text or text != text.strip():
        return True
    return _syntax(text)
