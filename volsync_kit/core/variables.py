"""What a Flux Kustomization's post-build variables are, as exactly as git allows.

kustomize-controller reads ``postBuild.substituteFrom`` ConfigMaps and
Secrets from the cluster, in order (a later source wins), then
``postBuild.substitute`` over all of them (fluxcd/pkg
``kustomize/kustomize_varsub.go``).  Offline, each source is one of:

* **literal**: written in git, or produced by a build the walk has done
  (its namespace after the build's transforms), or by a ``configMapGenerator``
  with literals: names and values are known;
* **keyed**: a Secret made by an ExternalSecret or ClusterExternalSecret, or a
  SOPS-encrypted Secret (SOPS encrypts values and keeps key names in clear,
  getsops/sops ``README.rst`` "Encrypting only parts of a file"): the
  variables it defines are known, their values are not;
* **unknown**: not in git at all (made at bootstrap, by a controller): nothing
  is known.  Flux applies it once it exists, so this is never an error.  An
  ``optional: true`` source that git does not hold is taken not to exist,
  and Flux skips it.

A variable that is provably absent (no source can define it) takes its
default exactly as Flux does, and fails strict mode without one.  A variable
whose value cannot be known is kept as written (``${VAR}``): rules and plan
then treat that value as unknown.
"""

from __future__ import annotations

import base64
import binascii
import difflib
from collections.abc import Mapping
from dataclasses import dataclass

from volsync_kit.core.model import (
    Loc,
    Map,
    ModelError,
    Node,
    Resource,
    Scalar,
    loc_of,
    map_at,
    node_at,
    remembered,
    seq_at,
    str_at,
)
from volsync_kit.core.substitution import VAR_NAME

ES_GROUP = "external-secrets.io"
ANY_NAMESPACE = "*"  # a ClusterExternalSecret's Secret may land in any namespace


@dataclass(frozen=True, slots=True)
class VarSource:
    """One ``substituteFrom`` entry."""

    kind: str
    name: str
    optional: bool
    loc: Loc | None

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Known:
    """What the repository says about one source: its values, or only its keys.

    ``values`` holds the literal key/values; ``keys`` the names whose values
    are unknown; ``open`` that any other name may be defined too.
    """

    values: Mapping[str, str]
    keys: frozenset[str] = frozenset()
    open: bool = False
    why: str = ""  # for keyed and unknown sources: how the object is made
    # Where the repository writes a keyed source (the encrypted Secret, the
    # ExternalSecret): the one place every Kustomization reading it shares.
    where: Loc | None = None

    # The store pickles one with many objects: through the constructor, not
    # the slotted dataclass's __setstate__, which looks its fields up each time.
    def __reduce__(self) -> tuple[type[Known], tuple[object, ...]]:
        return (Known, (self.values, self.keys, self.open, self.why, self.where))


UNKNOWN = Known({}, open=True, why="is not in the repository")


@dataclass(frozen=True, slots=True)
class Variables:
    """A Kustomization's variables: known values, and what cannot be known."""

    values: Mapping[str, str]
    unknown: frozenset[str] = frozenset()  # defined, value unknown
    open: bool = False  # some source may define any variable
    notes: tuple[tuple[VarSource, str, Loc | None], ...] = ()  # sources not read literally, why, and where written
    strict: bool = True  # an unset variable without a default fails (see clusters.strict_substitution)

    @property
    def any(self) -> bool:
        """Whether Flux's default strategy substitutes at all: some variable may exist."""
        return bool(self.values) or bool(self.unknown) or self.open


class SourceMissing(Exception):
    """A source not (yet) produced by any build; the walk retries later."""

    def __init__(self, source: VarSource) -> None:
        super().__init__(source.name)
        self.source = source


def var_sources(node: Map) -> list[VarSource]:
    out: list[VarSource] = []
    for item in seq_at(node, "spec", "postBuild", "substituteFrom"):
        kind = str_at(item, "kind") or ""
        name = str_at(item, "name") or ""
        optional = node_at(item, "optional")
        if kind not in ("ConfigMap", "Secret") or not name:
            raise ModelError(
                "flux-invalid", "substituteFrom entries need kind ConfigMap or Secret and a name", item.loc
            )
        out.append(VarSource(kind, name, isinstance(optional, Scalar) and optional.value is True, item.loc))
    return out


def scalar_text(node: Node) -> str:
    if isinstance(node, Scalar):
        if isinstance(node.value, bool):
            return str(node.value).lower()
        return "" if node.value is None else str(node.value)
    return ""


def _keys(node: Map | None) -> frozenset[str]:
    return frozenset(node.items) if node is not None else frozenset()


def literal(res: Resource) -> Known:
    """A ConfigMap or Secret written in git (or built): its values, or its keys when SOPS-encrypted."""
    if map_at(res.node, "sops") is not None:
        keys = _keys(map_at(res.node, "data")) | _keys(map_at(res.node, "stringData"))
        return Known({}, keys, why="is SOPS-encrypted", where=res.origin)
    values: dict[str, str] = {}
    for key, value in (map_at(res.node, "data") or Map({})).items.items():
        text = scalar_text(value)
        if res.kind == "Secret":
            try:
                text = base64.b64decode(text, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise ModelError("secret-invalid", f"Secret data '{key}' is not base64", value.loc) from None
        values[key] = text
    for key, value in (map_at(res.node, "stringData") or Map({})).items.items():
        values[key] = scalar_text(value)
    return Known(values)


def external_secret(spec: Node | None, why: str, where: Loc | None = None) -> Known:
    """The keys of the Secret an ExternalSecret makes (external-secrets.io v1
    ``spec.data[].secretKey``; with a template whose ``mergePolicy`` is the
    default ``Replace``, the template's ``data`` keys instead).  ``dataFrom``
    and ``templateFrom`` add keys only the provider knows."""
    template = map_at(spec, "target", "template")
    open_ended = bool(seq_at(spec, "dataFrom")) or bool(seq_at(template, "templateFrom"))
    template_data = map_at(template, "data")
    if template_data is not None and (str_at(template, "mergePolicy") or "Replace") == "Replace":
        return Known({}, _keys(template_data), open_ended or bool(seq_at(template, "templateFrom")), why, where)
    keys = frozenset(str_at(item, "secretKey") or "" for item in seq_at(spec, "data")) - {""}
    return Known({}, keys | _keys(template_data), open_ended, why, where)


def produced(res: Resource) -> tuple[tuple[str, str, str], Known | Resource] | None:
    """The ConfigMap or Secret an object makes, keyed (kind, namespace, name)."""
    if res.kind in ("ConfigMap", "Secret") and not res.group:
        # Decoded when a Kustomization reads it, so that a bad Secret fails
        # that Kustomization, at the Secret's line, as it would in Flux.
        return (res.kind, res.namespace, res.name), res
    if res.group != ES_GROUP:
        return None
    # Read from the body once, and kept with the object (volsync_kit.core.facts).
    return remembered(res, "made", _made_by_external_secret)


def external_secret_target(res: Resource) -> str:
    """The Secret an ExternalSecret writes: from what it makes (read back with
    it from the store, see volsync_kit.core.facts) for external-secrets.io's, else from
    its body."""
    made = produced(res) if res.group == ES_GROUP and res.kind == "ExternalSecret" else None
    if made is not None:
        return made[0][2]
    return str_at(res.node, "spec", "target", "name") or res.name


def _made_by_external_secret(res: Resource) -> tuple[tuple[str, str, str], Known] | None:
    if res.kind == "ExternalSecret":
        target = str_at(res.node, "spec", "target", "name") or res.name
        why = f"is made by ExternalSecret {res.namespace}/{res.name}"
        return ("Secret", res.namespace, target), external_secret(node_at(res.node, "spec"), why, res.origin)
    if res.kind == "ClusterExternalSecret":
        target = str_at(res.node, "spec", "externalSecretName") or res.name
        why = f"is made by ClusterExternalSecret {res.name}"
        spec = node_at(res.node, "spec", "externalSecretSpec")
        return ("Secret", ANY_NAMESPACE, target), external_secret(spec, why, res.origin)
    return None


Index = Mapping[tuple[str, str, str], "Known | Resource"]


def lookup(index: Index, kind: str, namespace: str, name: str) -> Known | None:
    found = index.get((kind, namespace, name)) or index.get((kind, ANY_NAMESPACE, name))
    return literal(found) if isinstance(found, Resource) else found


def _unknown(index: Index, source: VarSource, namespace: str) -> Known:
    """A source in no file; when git has one of a close name, that may be a typo
    (Flux would then fail with "not found"), so the note says so."""
    names = {n for (kind, ns, n) in index if kind == source.kind and ns in (namespace, ANY_NAMESPACE)}
    close = difflib.get_close_matches(source.name, sorted(names), n=1, cutoff=0.8)
    if not close:
        return UNKNOWN
    return Known({}, open=True, why=f"is not in the repository (did you mean {close[0]}?)")


def resolve(node: Map, namespace: str, index: Index, *, final: bool, post_build_loc: Loc | None = None) -> Variables:
    """The variables of a Flux Kustomization ``node`` in ``namespace``.

    Raises :class:`SourceMissing` for a source not in ``index`` unless
    ``final``: a later build may still produce it.  On the final pass such a
    source is unknown.
    """
    values: dict[str, str] = {}
    unknown: set[str] = set()
    open_ended = False
    notes: list[tuple[VarSource, str, Loc | None]] = []
    for source in var_sources(node):
        known = lookup(index, source.kind, namespace, source.name)
        if known is None:
            if not final:
                raise SourceMissing(source)
            if source.optional:
                # Flux skips an optional source that does not exist; one that
                # git does not hold is taken not to exist.
                continue
            known = _unknown(index, source, namespace)
        # In order: a later source's key replaces an earlier one's, known or not.
        for key in known.keys:
            values.pop(key, None)
        values.update(known.values)
        unknown.difference_update(known.values)
        unknown.update(known.keys)
        open_ended = open_ended or known.open
        if known.why:
            notes.append((source, known.why, known.where))
    inline = map_at(node, "spec", "postBuild", "substitute")
    for key, value in (inline.items if inline else {}).items():
        if not isinstance(value, Scalar) or not isinstance(value.value, str):
            raise ModelError("flux-invalid", f"postBuild.substitute.{key} must be a string; quote the value", value.loc)
        values[key] = value.value
        unknown.discard(key)
    for name in values:
        if not VAR_NAME.match(name):
            raise ModelError(
                "variable-name",
                f"'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'",
                loc_of(inline, name) if inline else post_build_loc,
            )
    # Flux strips newlines from every value before substituting.
    clean = {k: v.replace("\n", "") for k, v in values.items()}
    return Variables(clean, frozenset(unknown), open_ended, tuple(notes))
