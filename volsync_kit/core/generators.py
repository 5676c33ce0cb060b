"""kustomize's ConfigMap and Secret generators.

Flux Kustomizations read their ``substituteFrom`` ConfigMaps and Secrets
from the cluster, and repositories often make those with a
``configMapGenerator``: so the generators are evaluated, from
``literals`` (``KEY=value``), ``envs`` (one ``KEY=value`` a line, ``#``
comments) and ``files`` (``key=path`` or the file's base name), as
kubernetes-sigs/kustomize ``api/kv/kv.go`` reads them.

The name gets kustomize's content hash unless ``disableNameSuffixHash``
(``api/hasher/hasher.go``: SHA-256 of the JSON of kind, data (and type for
a Secret) and an empty name, the first ten hex digits with 0, 1, 3, a and e mapped to
g, h, k, m and t so that the suffix never reads as a number).
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
from collections.abc import Callable

from volsync_kit.core.model import Loc, Map, ModelError, Node, Scalar, Seq, from_plain, loc_of, map_at, str_at

GENERATORS = {"configMapGenerator": "ConfigMap", "secretGenerator": "Secret"}
_HASH_MAP = str.maketrans({"0": "g", "1": "h", "3": "k", "a": "m", "e": "t"})


def _go_json(value: object) -> str:
    """``encoding/json.Marshal``: sorted keys, no spaces, HTML characters escaped."""
    import json  # only a generator's name hash needs it: a warm run that builds an app again need not load it

    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text


def name_hash(kind: str, data: dict[str, str], secret_type: str = "") -> str:
    # kustomize's api/hasher getNodeValues looks up "metadata/name" as one
    # field name, which no object has: the name hashed is always "".
    fields: dict[str, object] = {"kind": kind, "name": "", "data": data}
    if kind == "Secret":
        fields["type"] = secret_type
    digest = hashlib.sha256(_go_json(fields).encode()).hexdigest()
    return digest[:10].translate(_HASH_MAP)


def _pair(text: str, loc: Loc | None, what: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ModelError("kustomize-build", f"invalid {what} '{text}': expected KEY=value", loc)
    return key, value


def _strings(node: Node | None, field: str, loc: Loc | None) -> list[tuple[str, Loc | None]]:
    if node is None or (isinstance(node, Scalar) and node.value is None):
        return []
    if isinstance(node, Scalar) and isinstance(node.value, str) and field == "env":
        return [(node.value, node.loc)]
    if not isinstance(node, Seq):
        raise ModelError("kustomization-invalid", f"'{field}' must be a list", loc)
    out: list[tuple[str, Loc | None]] = []
    for item in node.items:
        if not isinstance(item, Scalar) or not isinstance(item.value, str):
            raise ModelError("kustomization-invalid", f"'{field}' entries must be strings", item.loc or loc)
        out.append((item.value, item.loc))
    return out


def generate(
    kind: str,
    spec: Map,
    directory: str,
    options: Map | None,
    read: Callable[[str, str, Loc | None], str | None],
) -> Map:
    """One generated object from a generator entry ``spec`` of a kustomization in
    ``directory``; ``read(directory, path, loc)`` gives a source file's text,
    or None for one that cannot be read offline (a URL), which is left out."""
    loc = spec.loc
    name = str_at(spec, "name")
    if not name:
        raise ModelError("kustomization-invalid", f"a {kind} generator needs a name", loc)
    data: dict[str, str] = {}
    for text, at in _strings(spec.get("literals"), "literals", loc):
        key, value = _pair(text, at, "literal")
        # api/kv/kv.go parseLiteralSource: one pair of matching quotes is removed.
        data[key] = value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'" else value
    for field in ("envs", "env"):
        for path, at in _strings(spec.get(field), field, loc):
            lines = read(directory, path, at)
            for number, raw in enumerate((lines or "").splitlines(), 1):
                # api/kv/kv.go KeyValuesFromLines: leading space goes, nothing else.
                line = raw.lstrip()
                if line and not line.startswith("#"):
                    key, value = _pair(line, at, f"line {number} of {path}")
                    data[key] = value
    for entry, at in _strings(spec.get("files"), "files", loc):
        key, sep, path = entry.partition("=")
        if not sep:
            key, path = posixpath.basename(entry), entry
        content = read(directory, path, at)
        if content is not None:
            data[key] = content
    secret_type = str_at(spec, "type") or "Opaque"
    if kind == "Secret":
        data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    plain: dict[str, object] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    namespace = str_at(spec, "namespace")
    if namespace:
        plain["metadata"] = {"name": name, "namespace": namespace}
    if kind == "Secret":
        plain["type"] = secret_type
    if data:
        plain["data"] = data
    for field in ("labels", "annotations"):
        # generatorOptions, then the generator's own options (which win), as
        # api/types/generatoroptions.go MergeGlobalOptionsIntoLocal merges them.
        # This is how a generated ConfigMap opts out of Flux's substitution.
        merged: dict[str, str] = {}
        for where in (options, map_at(spec, "options")):
            values = map_at(where, field)
            for key, item in values.items.items() if values is not None else ():
                merged[key] = str(item.value) if isinstance(item, Scalar) and item.value is not None else ""
        if merged:
            plain["metadata"] = {**plain["metadata"], field: merged}  # type: ignore[dict-item]
    if not _disabled(spec, options):
        plain["metadata"] = {**plain["metadata"], "name": f"{name}-{name_hash(kind, data, secret_type)}"}  # type: ignore[dict-item]
    node = from_plain(plain, loc)
    assert isinstance(node, Map)
    return node


def _disabled(spec: Map, options: Map | None) -> bool:
    """``generatorOptions`` or the generator's own ``options`` turn the hash off
    (api/types/generatoroptions.go MergeGlobalOptionsIntoLocal ORs them)."""
    for where in (map_at(spec, "options"), options):
        flag = where.get("disableNameSuffixHash") if where is not None else None
        if isinstance(flag, Scalar) and flag.value is True:
            return True
    return False


def entries(node: Node | None, field: str, loc: Loc | None) -> list[Map]:
    if node is None or (isinstance(node, Scalar) and node.value is None):
        return []
    if not isinstance(node, Seq) or not all(isinstance(i, Map) for i in node.items):
        raise ModelError("kustomization-invalid", f"'{field}' must be a list of generators", loc_of(node) or loc)
    return [i for i in node.items if isinstance(i, Map)]
