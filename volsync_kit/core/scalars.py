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


def breaks_plain(text: str) -> bool:
    """Would this text, spliced unquoted after ``key: ``, change the YAML structure?"""
    if text == "":
        return False
    if "\n" in text or text != text.strip():
        return True
    return _syntax(text)
