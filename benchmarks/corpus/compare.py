"""Compare volsync-kit with an independent Flux reference on real repositories.

Usage::

    python benchmarks/corpus/compare.py CLONES_DIR [--only owner/name] [--json OUT]

For every repository listed in ``repos.yaml`` (next to this file) whose clone
exists at ``CLONES_DIR/<owner>+<name>``, the pinned commit is checked out and:

1. the CLI runs as a subprocess (``render``, ``lint`` and ``plan``), and its exit
   code, time, error-level problems and crashes are recorded;
2. an independent reference is computed for each cluster: the Flux graph is
   walked from the cluster's ``entry`` (under ``source_root``), every
   Kustomization is built with the real ``kubectl kustomize`` (with the
   kustomization kustomize-controller writes: ``targetNamespace``,
   ``namePrefix``/``nameSuffix``, ``patches`` and ``components`` merged in, or
   a generated one for a bare folder), post-build substitution is applied to
   the YAML text of each object and the result decoded by YAML 1.1 rules,
   then the owner labels and ``commonMetadata`` are added;
3. the VolSync objects (PV, PVC, ReplicationSource, ReplicationDestination) of
   every reference Kustomization are compared with volsync-kit's render JSON.

Variables in the reference.  ``substituteFrom`` ConfigMaps and Secrets are
looked up in the output of every build of the walk (after kustomize's
transforms, by namespace; the walk runs twice so that a source built later in
the graph is known in the second pass), then in the files of the repository.
A SOPS-encrypted Secret and a Secret made by an ExternalSecret define known
key NAMES whose values are unknown; a source that exists nowhere is fully
unknown (it may define anything).  For the comparison, an unknown variable's
``${...}`` expression is kept exactly as written in the text; a variable that
is provably absent takes its default (or fails in strict mode, as in Flux).
This is done by a small lookup function of our own handed to the envsubst
parser and evaluator of ``volsync_kit.core.substitution`` (``parse`` and
``_eval``), which test_substitution checks against Flux's own test table.

Known simplifications (documented in README.md): ``spec.ignore`` of the source
is not applied (``.git`` is excluded); namespaced objects without a namespace
are indexed in the namespace of the Kustomization that applies them; a
Kustomization whose ``sourceRef`` is not the root source (or a source with the
root's URL) is skipped; suspended Kustomizations are skipped like Flux does.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from volsync_kit.core.substitution import (  # noqa: E402
    Part,
    SubstitutionError,
    _eval,
    parse,
)

KFILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
VOLUME_KINDS = {"PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination"}
FLUX_KS_API = "kustomize.toolkit.fluxcd.io/"
SOURCE_KINDS = {"GitRepository", "OCIRepository", "Bucket"}
CLI_TIMEOUT = 900
KUBECTL_TIMEOUT = 180
KUBECTL = shutil.which("kubectl") or "kubectl"
EXCLUDED_DIRS = {".git"}
ERROR_LINE = re.compile(r"^(?P<loc>\S+?):(?P<line>\d+):(?P<col>\d+): error \[(?P<code>[^\]]+)\] (?P<msg>.*)$")
SUBST_DISABLED = "kustomize.toolkit.fluxcd.io/substitute"

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name) of a Flux Kustomization


# -- YAML helpers ----------------------------------------------------------------

_ANCHOR = re.compile(r"([&*])([^\s,\[\]{}]+)")


def _rename_reused_anchors(text: str) -> str:
    """Rename a re-declared anchor (and the aliases after it) so that PyYAML,
    which refuses reused anchors, reads the document like go-yaml does (the
    later anchor wins).  A crude textual pass, used only when PyYAML fails."""
    seen: dict[str, int] = {}
    current: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        sigil, name = m.group(1), m.group(2)
        if sigil == "&":
            count = seen.get(name, 0)
            seen[name] = count + 1
            new = name if count == 0 else f"{name}__{count}"
            current[name] = new
            return f"&{new}"
        return f"*{current.get(name, name)}"

    out: list[str] = []
    for doc in re.split(r"(?m)^---\s*$", text):
        seen.clear()
        current.clear()
        out.append(_ANCHOR.sub(repl, doc))
    return "---\n".join(out)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without the YAML 1.1 "value" type (a bare ``=``),
    which go-yaml reads as the string "="."""


_Loader.yaml_implicit_resolvers = {
    key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:value"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_all(text: str) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as err:
        if "duplicate anchor" not in str(err):
            raise
        return list(yaml.load_all(_rename_reused_anchors(text), Loader=_Loader))


def load_one(text: str) -> Any:
    docs = load_all(text)
    return docs[0] if docs else None


def split_docs(text: str) -> list[str]:
    """kubectl kustomize output, one YAML text per object."""
    docs = re.split(r"(?m)^---\n", text)
    return [d for d in docs if d.strip()]


def norm_path(path: str) -> str:
    p = os.path.normpath(str(path).strip().lstrip("/"))
    return "" if p == "." else p


# -- variables -------------------------------------------------------------------


@dataclass
class VarSource:
    """What one substituteFrom source can contribute."""

    known: dict[str, str] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)  # key names known, values not
    opaque: bool = False  # may define anything (not found, or dataFrom)
    origin: str = ""


def _str_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def source_from_object(obj: Obj, origin: str) -> tuple[str, str, VarSource] | None:
    """(kind, name, contribution) for a ConfigMap, Secret or ExternalSecret."""
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str):
        return None
    if kind == "ConfigMap":
        data = {str(k): _str_value(v) for k, v in (obj.get("data") or {}).items()}
        if "sops" in obj:
            return "ConfigMap", name, VarSource(unknown=set(data), origin=f"{origin} (sops)")
        return "ConfigMap", name, VarSource(known=data, origin=origin)
    if kind == "Secret":
        keys = {str(k) for k in (obj.get("data") or {})} | {str(k) for k in (obj.get("stringData") or {})}
        if "sops" in obj:
            return "Secret", name, VarSource(unknown=keys, origin=f"{origin} (sops)")
        known: dict[str, str] = {}
        for k, v in (obj.get("data") or {}).items():
            try:
                known[str(k)] = base64.b64decode(str(v)).decode()
            except ValueError:
                known[str(k)] = ""
        for k, v in (obj.get("stringData") or {}).items():
            known[str(k)] = _str_value(v)
        return "Secret", name, VarSource(known=known, origin=origin)
    if kind in ("ExternalSecret", "ClusterExternalSecret"):
        spec = obj.get("spec") or {}
        if kind == "ClusterExternalSecret":
            spec = spec.get("externalSecretSpec") or {}
        target = spec.get("target") or {}
        tname = target.get("name") or name
        template = target.get("template") or {}
        es_keys: set[str] = set()
        opaque = False
        tdata = template.get("data")
        if isinstance(tdata, dict):
            es_keys |= {str(k) for k in tdata}
        if template.get("templateFrom"):
            opaque = True
        if not tdata:
            es_keys |= {str(d.get("secretKey")) for d in spec.get("data") or [] if isinstance(d, dict)}
            if spec.get("dataFrom"):
                opaque = True
        return "Secret", str(tname), VarSource(unknown=es_keys, opaque=opaque, origin=f"{origin} ({kind})")
    return None


class VarIndex:
    """ConfigMaps/Secrets seen in build output (by namespace), then in git."""

    def __init__(self) -> None:
        self.built: dict[tuple[str, str, str], VarSource] = {}
        self.git: dict[tuple[str, str], list[tuple[str | None, VarSource]]] = {}

    def add_built(self, obj: Obj, namespace: str, origin: str) -> None:
        got = source_from_object(obj, origin)
        if got is not None:
            kind, name, src = got
            self.built[(kind, namespace, name)] = src

    def add_git(self, obj: Obj, origin: str) -> None:
        got = source_from_object(obj, origin)
        if got is not None:
            kind, name, src = got
            ns = (obj.get("metadata") or {}).get("namespace")
            self.git.setdefault((kind, name), []).append((ns, src))

    def find(self, kind: str, namespace: str, name: str) -> VarSource | None:
        src = self.built.get((kind, namespace, name))
        if src is not None:
            return src
        candidates = self.git.get((kind, name), [])
        for ns, src in candidates:
            if ns == namespace:
                return src
        for ns, src in candidates:
            if ns is None:
                return src
        return None

    def copy(self) -> VarIndex:
        new = VarIndex()
        new.built = dict(self.built)
        new.git = self.git
        return new


@dataclass
class Variables:
    known: dict[str, str] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    opaque: bool = False
    notes: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return bool(self.known or self.unknown or self.opaque)


def collect_variables(spec: Obj, namespace: str, index: VarIndex) -> Variables:
    out = Variables()
    post = spec.get("postBuild") or {}
    for ref in post.get("substituteFrom") or []:
        if not isinstance(ref, dict):
            continue
        kind, name = str(ref.get("kind")), str(ref.get("name"))
        src = index.find(kind, namespace, name)
        if src is None:
            if ref.get("optional"):
                out.notes.append(f"{kind}/{name}: optional, not found")
                continue
            out.opaque = True
            out.notes.append(f"{kind}/{name}: not found anywhere (fully unknown)")
            continue
        out.notes.append(f"{kind}/{name}: {src.origin}")
        for k, v in src.known.items():  # later sources win
            out.known[k] = v
            out.unknown.discard(k)
        for k in src.unknown:
            out.known.pop(k, None)
            out.unknown.add(k)
        out.opaque = out.opaque or src.opaque
    for k, v in (post.get("substitute") or {}).items():
        out.known[str(k)] = _str_value(v)
        out.unknown.discard(str(k))
    return out


def substitute_text(text: str, variables: Variables) -> str:
    """Flux's strict envsubst on one object's text; unknown variables stay as
    written.  Raises SubstitutionError where Flux would fail."""

    def lookup(name: str) -> tuple[str | None, bool]:
        if name in variables.known:
            return variables.known[name], True
        if name in variables.unknown or variables.opaque:
            return None, True
        return "", False

    # _eval keeps an expression as written when the lookup answers None, and
    # raises in strict mode for an absent variable without a default operator.
    parts: tuple[Part, ...] = parse(text)
    return _eval(parts, lookup)


# -- the reference walk ----------------------------------------------------------


@dataclass
class RefKs:
    namespace: str
    name: str
    path: str
    status: str = "pending"  # built | reference-failed | external-source | suspended
    reason: str = ""
    parent: str = ""
    volumes: dict[str, Obj] = field(default_factory=dict)  # "Kind/ns/name" -> object
    variables: list[str] = field(default_factory=list)


def _generated_resources(folder: Path) -> list[str]:
    """kustomize-controller's generated kustomization for a bare folder."""
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        if here != folder and any((here / k).exists() for k in KFILES):
            out.append(os.path.relpath(here, folder))
            dirnames[:] = []
            continue
        dirnames.sort()
        out.extend(os.path.relpath(here / f, folder) for f in sorted(filenames) if f.endswith((".yaml", ".yml")))
    return sorted(out)


class Builder:
    """Builds a Flux Kustomization with kubectl in a scratch copy of the source."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.cache: dict[str, tuple[bool, str]] = {}
        self.calls = 0

    def build(self, spec: Obj) -> tuple[bool, str]:
        rel = norm_path(str(spec.get("path") or "."))
        folder = (self.base / rel).resolve()
        if not folder.is_dir() or not str(folder).startswith(str(self.base.resolve())):
            return False, f"kustomization path not found: {spec.get('path')}"
        existing = next((folder / k for k in KFILES if (folder / k).is_file()), None)
        original: str | None = None
        if existing is not None:
            original = existing.read_text(encoding="utf-8", errors="replace")
            merged = ("targetNamespace", "namePrefix", "nameSuffix", "patches", "components")
            if any(spec.get(k) for k in merged):
                try:
                    kus = load_one(original) or {}
                except yaml.YAMLError as err:
                    return False, f"kustomization file does not parse: {err}"
                if not isinstance(kus, dict):
                    return False, "kustomization file is not a mapping"
            else:
                kus = None
        else:
            kus = {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": _generated_resources(folder),
            }
        if kus is not None:
            if spec.get("targetNamespace"):
                kus["namespace"] = spec["targetNamespace"]
            for key in ("namePrefix", "nameSuffix"):
                if spec.get(key):
                    kus[key] = spec[key]
            for key in ("patches", "components"):
                if spec.get(key):
                    kus[key] = [*(kus.get(key) or []), *spec[key]]
            text = yaml.safe_dump(kus, sort_keys=False)
        else:
            text = original or ""
        cache_key = hashlib.sha256(f"{folder}\0{text}".encode()).hexdigest()
        if cache_key in self.cache:
            return self.cache[cache_key]
        target = existing if existing is not None else folder / "kustomization.yaml"
        try:
            if kus is not None:
                target.write_text(text, encoding="utf-8")
            self.calls += 1
            try:
                proc = subprocess.run(
                    [KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],
                    capture_output=True,
                    text=True,
                    timeout=KUBECTL_TIMEOUT,
                    check=False,
                )
                result = (proc.returncode == 0, proc.stdout if proc.returncode == 0 else _kubectl_reason(proc.stderr))
            except subprocess.TimeoutExpired:
                result = (False, "kubectl kustomize timed out")
        finally:
            if kus is not None:
                if existing is not None:
                    existing.write_text(original or "", encoding="utf-8")
                elif target.exists():
                    target.unlink()
        self.cache[cache_key] = result
        return result


REMOTE = re.compile(r"(https?://|git::|github\.com/|ssh://)")


def _kubectl_reason(stderr: str) -> str:
    """kubectl's error on one line, without the klog prefix."""
    text = " ".join(stderr.split())
    text = re.sub(r"^E\d{4} [\d:.]+\s+\d+ \S+\] \"command failed\" err=", "", text)
    return text.strip('<>" ')[:400] or "kubectl kustomize failed"


@dataclass
class RootInfo:
    ks: Obj
    source_kind: str
    source_name: str
    urls: set[str]
    how: str


def _norm_url(url: str) -> str:
    u = url.strip().lower().rstrip("/")
    u = re.sub(r"\.git$", "", u)
    u = re.sub(r"^(ssh://)?git@github\.com[:/]", "https://github.com/", u)
    u = re.sub(r"^https?://(www\.)?", "", u)
    return u


def iter_yaml_docs(base: Path) -> Iterator[tuple[str, Obj]]:
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in EXCLUDED_DIRS)
        for fname in sorted(filenames):
            if not fname.endswith((".yaml", ".yml")):
                continue
            path = Path(dirpath) / fname
            try:
                if path.stat().st_size > 2_000_000:
                    continue
                docs = load_all(path.read_text(encoding="utf-8", errors="replace"))
            except (yaml.YAMLError, OSError, RecursionError):
                continue
            for doc in docs:
                if isinstance(doc, dict):
                    yield str(path.relative_to(base)), doc


def _find_sync_blocks(node: Any) -> Iterator[Obj]:
    if isinstance(node, dict):
        sync = node.get("sync")
        if isinstance(sync, dict) and "path" in sync:
            yield sync
        for v in node.values():
            yield from _find_sync_blocks(v)
    elif isinstance(node, list):
        for v in node:
            yield from _find_sync_blocks(v)


def find_root(base: Path, entry: str, repo: str, docs: list[tuple[str, Obj]]) -> RootInfo:
    entry_n = norm_path(entry)
    candidates: list[tuple[str, Obj]] = []
    sync_blocks: list[Obj] = []
    sources: dict[tuple[str, str], set[str]] = {}
    for rel, doc in docs:
        api = str(doc.get("apiVersion") or "")
        kind = doc.get("kind")
        spec = doc.get("spec") or {}
        if not isinstance(spec, dict):
            continue
        if kind == "Kustomization" and api.startswith(FLUX_KS_API):
            if norm_path(str(spec.get("path") or ".")) == entry_n:
                candidates.append((rel, doc))
        elif kind in SOURCE_KINDS and isinstance(spec.get("url"), str):
            name = str((doc.get("metadata") or {}).get("name"))
            sources.setdefault((str(kind), name), set()).add(_norm_url(spec["url"]))
        for block in _find_sync_blocks(doc):
            if norm_path(str(block.get("path"))) == entry_n:
                sync_blocks.append(block)
    urls = {f"github.com/{repo.lower()}"}
    if candidates:
        # Prefer the one in flux-system and the one not under an archive folder.
        candidates.sort(
            key=lambda c: (
                (c[1].get("metadata") or {}).get("namespace") != "flux-system",
                "archive" in c[0].lower(),
                c[0],
            )
        )
        rel, ks = candidates[0]
        ref = (ks.get("spec") or {}).get("sourceRef") or {}
        skind, sname = str(ref.get("kind") or "GitRepository"), str(ref.get("name") or "flux-system")
        urls |= sources.get((skind, sname), set())
        for block in sync_blocks:
            if isinstance(block.get("url"), str):
                urls.add(_norm_url(block["url"]))
        return RootInfo(ks, skind, sname, urls, f"Kustomization in {rel}")
    skind = "GitRepository"
    for block in sync_blocks:
        skind = str(block.get("kind") or skind)
        if isinstance(block.get("url"), str):
            urls.add(_norm_url(block["url"]))
    ks = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "flux-system", "namespace": "flux-system"},
        "spec": {"path": entry, "sourceRef": {"kind": skind, "name": "flux-system"}},
    }
    how = "FluxInstance/flux-instance sync block" if sync_blocks else "synthesised flux-system"
    return RootInfo(ks, skind, "flux-system", urls, how)


def _source_urls(docs: Iterable[Obj]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for doc in docs:
        if doc.get("kind") in SOURCE_KINDS:
            spec = doc.get("spec") or {}
            if isinstance(spec, dict) and isinstance(spec.get("url"), str):
                out[(str(doc["kind"]), str((doc.get("metadata") or {}).get("name")))] = _norm_url(spec["url"])
    return out


def walk_cluster(
    base: Path, root: RootInfo, builder: Builder, index: VarIndex, git_sources: dict[tuple[str, str], str]
) -> tuple[dict[Key, RefKs], VarIndex]:
    """One pass over the Flux graph; returns the Kustomizations and the
    ConfigMaps/Secrets this pass saw in build output."""
    seen_index = index.copy()
    result: dict[Key, RefKs] = {}
    built_sources: dict[tuple[str, str], str] = dict(git_sources)
    queue: deque[tuple[Obj, str]] = deque([(root.ks, "")])
    while queue:
        ks, parent = queue.popleft()
        meta = ks.get("metadata") or {}
        spec = ks.get("spec") or {}
        key = (str(meta.get("namespace") or "flux-system"), str(meta.get("name")))
        if key in result:
            continue
        item = RefKs(key[0], key[1], norm_path(str(spec.get("path") or ".")), parent=parent)
        result[key] = item
        ref = spec.get("sourceRef") or {}
        skind, sname = str(ref.get("kind") or ""), str(ref.get("name") or "")
        same = (skind, sname) == (root.source_kind, root.source_name)
        if not same:
            url = built_sources.get((skind, sname))
            same = url is not None and url in root.urls
        if not same:
            item.status, item.reason = "external-source", f"sourceRef {skind}/{sname}"
            continue
        if spec.get("suspend") is True:
            item.status = "suspended"
            continue
        ok, out = builder.build(spec)
        if not ok:
            # A remote base needs the network, which the reference does not
            # use: that build is unknown, not failed.
            remote = REMOTE.search(out) is not None and "no such file" not in out
            item.status = "reference-unavailable" if remote else "reference-failed"
            item.reason = out
            continue
        variables = collect_variables(spec, key[0], index)
        item.variables = variables.notes
        substitute = "postBuild" in spec and spec.get("postBuild") is not None and variables.any()
        common = spec.get("commonMetadata") or {}
        children: list[Obj] = []
        failed = ""
        for text in split_docs(out):
            try:
                obj = load_one(text)
            except yaml.YAMLError as err:
                failed = f"output does not parse: {err}"
                break
            if not isinstance(obj, dict):
                continue
            m = obj.get("metadata") or {}
            opted_out = "disabled" in (
                str((m.get("labels") or {}).get(SUBST_DISABLED)),
                str((m.get("annotations") or {}).get(SUBST_DISABLED)),
            )
            if substitute and not opted_out and "$" in text:
                try:
                    obj = load_one(substitute_text(text, variables))
                except SubstitutionError as err:
                    failed = f"substitution: {err.message} in {obj.get('kind')}/{m.get('name')}"
                    break
                except yaml.YAMLError as err:
                    failed = f"substituted YAML does not parse: {str(err).splitlines()[0]}"
                    break
                if not isinstance(obj, dict):
                    continue
            kind = obj.get("kind")
            m = obj.setdefault("metadata", {}) or {}
            ns = str(m.get("namespace") or key[0])
            if kind in ("ConfigMap", "Secret", "ExternalSecret", "ClusterExternalSecret"):
                seen_index.add_built(obj, ns, f"built by {key[0]}/{key[1]}")
            if kind in SOURCE_KINDS and isinstance((obj.get("spec") or {}).get("url"), str):
                built_sources[(str(kind), str(m.get("name")))] = _norm_url(obj["spec"]["url"])
            if kind == "Kustomization" and str(obj.get("apiVersion") or "").startswith(FLUX_KS_API):
                m.setdefault("namespace", key[0])
                children.append(obj)
            if kind in VOLUME_KINDS:
                labels = m.get("labels") or {}
                labels["kustomize.toolkit.fluxcd.io/name"] = key[1]
                labels["kustomize.toolkit.fluxcd.io/namespace"] = key[0]
                labels.update(common.get("labels") or {})
                m["labels"] = labels
                if common.get("annotations"):
                    annotations = m.get("annotations") or {}
                    annotations.update(common["annotations"])
                    m["annotations"] = annotations
                item.volumes[f"{kind}/{m.get('namespace') or ''}/{m.get('name')}"] = obj
        if failed:
            item.status, item.reason, item.volumes = "reference-failed", failed, {}
            continue
        item.status = "built"
        for child in children:
            queue.append((child, f"{key[0]}/{key[1]}"))
    return result, seen_index


def reference_for_repo(clone: Path, repo: str, clusters: list[Obj]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="corpus-ref-") as tmp:
        work = Path(tmp) / "src"
        shutil.copytree(clone, work, ignore=shutil.ignore_patterns(*EXCLUDED_DIRS), symlinks=True)
        for cluster in clusters:
            started = time.monotonic()
            base = work / norm_path(str(cluster.get("source_root") or ""))
            docs = list(iter_yaml_docs(base))
            index = VarIndex()
            for rel, doc in docs:
                index.add_git(doc, f"git {rel}")
            root = find_root(base, str(cluster["entry"]), repo, docs)
            builder = Builder(base)
            git_sources = _source_urls(d for _, d in docs)
            first, seen = walk_cluster(base, root, builder, index, git_sources)
            second, _ = walk_cluster(base, root, builder, seen, git_sources)
            out[str(cluster["name"])] = {
                "entry": cluster["entry"],
                "source_root": cluster.get("source_root") or "",
                "root": root.how,
                "root_source": f"{root.source_kind}/{root.source_name}",
                "kubectl_builds": builder.calls,
                "first_pass_kustomizations": len(first),
                "seconds": round(time.monotonic() - started, 1),
                "kustomizations": {
                    f"{k[0]}/{k[1]}": {
                        "status": v.status,
                        "reason": v.reason,
                        "path": v.path,
                        "parent": v.parent,
                        "variables": v.variables,
                        "volumes": v.volumes,
                    }
                    for k, v in sorted(second.items())
                },
            }
    return out


# -- volsync-kit ----------------------------------------------------------------


def cli_command() -> list[str]:
    exe = Path(sys.executable).with_name("volsync-kit")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "volsync_kit"]


def run_cli(args: list[str], cwd: Path) -> dict[str, Any]:
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [*cli_command(), *args], capture_output=True, text=True, timeout=CLI_TIMEOUT, cwd=cwd, check=False
        )
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as err:
        code = -1
        stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
        stderr = "timeout"
    seconds = round(time.monotonic() - started, 2)
    crash = code == 3 or "Traceback" in stderr or "internal error" in stderr
    errors = [line for line in stderr.splitlines() if ERROR_LINE.match(line)]
    payload: Any = None
    try:
        payload = json.loads(stdout) if stdout.strip() else None
    except json.JSONDecodeError:
        payload = None
    return {
        "args": args,
        "exit": code,
        "seconds": seconds,
        "crash": crash,
        "stderr_errors": errors,
        "stderr_tail": stderr.strip().splitlines()[-5:] if crash or code < 0 else [],
        "json": payload,
    }


def vk_errors(render: dict[str, Any], lint: dict[str, Any]) -> list[dict[str, Any]]:
    """Distinct error-level problems of render and findings of lint."""
    out: dict[tuple[str, ...], dict[str, Any]] = {}
    for p in ((render.get("json") or {}).get("problems")) or []:
        if p.get("severity") != "error":
            continue
        ks = p.get("kustomization") or {}
        entry = {
            "source": "render",
            "code": p.get("code"),
            "message": p.get("message"),
            "file": p.get("file"),
            "line": p.get("line"),
            "kustomization": f"{ks.get('namespace')}/{ks.get('name')}" if ks else None,
            "cluster": p.get("cluster") or ks.get("cluster"),
        }
        out[("render", str(entry["code"]), str(entry["file"]), str(entry["line"]), str(entry["message"]))] = entry
    for f in ((lint.get("json") or {}).get("findings")) or []:
        if f.get("severity") != "error":
            continue
        ks = f.get("kustomization") or {}
        entry = {
            "source": "lint",
            "code": f"{f.get('rule')} {f.get('name')}",
            "message": f.get("message"),
            "file": f.get("path"),
            "line": f.get("line"),
            "kustomization": f"{ks.get('namespace')}/{ks.get('name')}" if ks else None,
            "cluster": f.get("cluster") or ks.get("cluster"),
        }
        out[("lint", str(entry["code"]), str(entry["file"]), str(entry["line"]), str(entry["message"]))] = entry
    return list(out.values())


def _objkey(obj: Obj) -> str:
    m = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{m.get('namespace') or ''}/{m.get('name')}"


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                return f"{path}.{k} (only in volsync-kit)"
            if k not in b:
                return f"{path}.{k} (missing in volsync-kit)"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if a != b or type(a) is not type(b):
        return f"{path}: reference {a!r} vs volsync-kit {b!r}"
    return None


def compare(reference: dict[str, Any], render: dict[str, Any]) -> dict[str, Any]:
    apps = ((render.get("json") or {}).get("apps")) or []
    by_key: dict[tuple[str, str], list[Obj]] = {}
    for app in apps:
        ks = app.get("kustomization") or {}
        by_key.setdefault((str(ks.get("namespace")), str(ks.get("name"))), []).append(app)
    rows: list[dict[str, Any]] = []
    matched_apps: set[int] = set()
    for cluster, ref in reference.items():
        for kskey, item in ref["kustomizations"].items():
            if item["status"] != "built" or not item["volumes"]:
                continue
            ns, name = kskey.split("/", 1)
            candidates = by_key.get((ns, name), [])
            with_cluster = [a for a in candidates if a.get("cluster") == cluster]
            if with_cluster:
                candidates = with_cluster
            elif any("cluster" in a for a in candidates) and len(reference) > 1:
                candidates = [a for a in candidates if a.get("cluster") in (None, "", cluster)] or candidates
            row: dict[str, Any] = {"cluster": cluster, "kustomization": kskey, "objects": len(item["volumes"])}
            if not candidates:
                row["result"] = "missing"
                rows.append(row)
                continue
            best: tuple[str, str | None, Obj] | None = None
            for app in candidates:
                ours = {_objkey(o): o for o in app.get("objects") or [] if o.get("kind") in VOLUME_KINDS}
                diff = first_difference(item["volumes"], ours) if set(ours) == set(item["volumes"]) else None
                if set(ours) != set(item["volumes"]):
                    only_ref = sorted(set(item["volumes"]) - set(ours))
                    only_vk = sorted(set(ours) - set(item["volumes"]))
                    diff = f"objects differ: only in reference {only_ref[:3]}, only in volsync-kit {only_vk[:3]}"
                verdict = "identical" if diff is None else "different"
                if best is None or verdict == "identical":
                    best = (verdict, diff, app)
                if verdict == "identical":
                    break
            assert best is not None
            matched_apps.add(id(best[2]))
            row["result"], row["first_difference"] = best[0], best[1]
            row["cluster_matched"] = best[2].get("cluster") == cluster
            rows.append(row)
    ref_keys = {k for ref in reference.values() for k, v in ref["kustomizations"].items() if v["status"] == "built"}
    extra = []
    for app in apps:
        ks = app.get("kustomization") or {}
        k = f"{ks.get('namespace')}/{ks.get('name')}"
        has_vol = any(o.get("kind") in VOLUME_KINDS for o in app.get("objects") or [])
        if has_vol and id(app) not in matched_apps and k not in ref_keys:
            extra.append({"kustomization": k, "cluster": app.get("cluster"), "file": ks.get("file")})
    return {"rows": rows, "extra_in_volsync_kit": extra}


def classify_errors(errors: list[dict[str, Any]], reference: dict[str, Any]) -> None:
    """FALSE: the reference built that Kustomization fine; TRUE: the reference
    failed there too; otherwise unverified (not reached, another source, ...)."""
    status: dict[str, set[str]] = {}
    for ref in reference.values():
        for k, v in ref["kustomizations"].items():
            status.setdefault(k, set()).add(v["status"])
    for e in errors:
        st = status.get(e["kustomization"] or "", set())
        if "built" in st:
            e["verdict"] = "false"
        elif "reference-failed" in st:
            e["verdict"] = "true"
        elif "external-source" in st:
            # Flux builds that Kustomization from another artifact, never
            # from these files: an error found in this tree is spurious.
            e["verdict"] = "false (other source)"
        elif st:
            e["verdict"] = f"unverified ({', '.join(sorted(st))})"
        elif e["kustomization"]:
            e["verdict"] = "false (not reached)"
        else:
            e["verdict"] = "unverified (no Kustomization)"


# -- driver -----------------------------------------------------------------------


def checkout(clone: Path, commit: str) -> str | None:
    head = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if head.stdout.strip() == commit:
        return None
    proc = subprocess.run(
        ["git", "-C", str(clone), "checkout", "-q", commit], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        return proc.stderr.strip() or "git checkout failed"
    return None


def run_repo(entry: Obj, clone: Path) -> dict[str, Any]:
    repo = str(entry["repo"])
    result: dict[str, Any] = {"repo": repo, "commit": entry["commit"], "shapes": entry.get("shapes", [])}
    err = checkout(clone, str(entry["commit"]))
    if err:
        result["error"] = f"checkout: {err}"
        return result
    started = time.monotonic()
    render = run_cli(["render", "--repo", str(clone), "--format", "json", "--no-cache"], clone)
    lint = run_cli(["lint", "--repo", str(clone), "--format", "json", "--no-cache"], clone)
    plan = run_cli(
        ["plan", "--repo", str(clone), "--base", "HEAD~1", "--head", "HEAD", "--format", "json", "--no-cache"], clone
    )
    vk_seconds = round(render["seconds"] + lint["seconds"] + plan["seconds"], 2)
    clusters = entry.get("clusters") or []
    reference = reference_for_repo(clone, repo, clusters)
    comparison = compare(reference, render)
    errors = vk_errors(render, lint)
    classify_errors(errors, reference)
    rows = comparison["rows"]
    result.update(
        {
            "clusters": [c["name"] for c in clusters],
            "reference": reference,
            "comparison": comparison,
            "errors": errors,
            "cli": {
                name: {k: v for k, v in run.items() if k != "json"}
                | {"apps": len(((run.get("json") or {}).get("apps")) or [])}
                for name, run in (("render", render), ("lint", lint), ("plan", plan))
            },
            "summary": {
                "reference_ks_with_volumes": len(rows),
                "identical": sum(r["result"] == "identical" for r in rows),
                "different": sum(r["result"] == "different" for r in rows),
                "missing": sum(r["result"] == "missing" for r in rows),
                "extra": len(comparison["extra_in_volsync_kit"]),
                "reference_failed": sum(
                    v["status"] == "reference-failed"
                    for ref in reference.values()
                    for v in ref["kustomizations"].values()
                ),
                "errors": len(errors),
                "false_errors": sum(e["verdict"].startswith("false") for e in errors),
                "true_errors": sum(e["verdict"] == "true" for e in errors),
                "crash": any(r["crash"] for r in (render, lint, plan)),
                "volsync_kit_seconds": vk_seconds,
                "total_seconds": round(time.monotonic() - started, 1),
            },
        }
    )
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'repository':34} {'shapes':44} {'cl':>2} {'vol-ks':>6} {'ident':>5} {'diff':>4} {'miss':>4} "
        f"{'extra':>5} {'ref-f':>5} {'errs':>4} {'false':>5} {'crash':>5} {'vk-s':>6}"
    )
    print(head)
    print("-" * len(head))
    totals = {"ks": 0, "identical": 0, "no_false": 0, "repos": 0}
    for r in results:
        if "summary" not in r:
            print(f"{r['repo']:34} {r.get('error', 'skipped')}")
            continue
        s = r["summary"]
        totals["repos"] += 1
        totals["ks"] += s["reference_ks_with_volumes"]
        totals["identical"] += s["identical"]
        totals["no_false"] += s["false_errors"] == 0
        shapes = ",".join(r["shapes"])[:44]
        print(
            f"{r['repo']:34} {shapes:44} {len(r['clusters']):>2} {s['reference_ks_with_volumes']:>6} "
            f"{s['identical']:>5} {s['different']:>4} {s['missing']:>4} {s['extra']:>5} {s['reference_failed']:>5} "
            f"{s['errors']:>4} {s['false_errors']:>5} {'yes' if s['crash'] else 'no':>5} "
            f"{s['volsync_kit_seconds']:>6}"
        )
    pct = 100.0 * totals["identical"] / totals["ks"] if totals["ks"] else 0.0
    print()
    print(f"repositories without a false error: {totals['no_false']} / {totals['repos']}")
    print(f"Kustomizations identical: {totals['identical']} / {totals['ks']} ({pct:.1f}%)")
    print()
    for r in results:
        if "summary" not in r:
            continue
        lines: list[str] = []
        for e in r["errors"]:
            lines.append(f"  [{e['verdict']}] {e['source']} {e['code']} {e['file']}:{e['line']} {e['message']}")
        for row in r["comparison"]["rows"]:
            if row["result"] != "identical":
                where = f"{row['cluster']} {row['kustomization']}"
                lines.append(f"  [{row['result']}] {where} {row.get('first_difference') or ''}")
        for x in r["comparison"]["extra_in_volsync_kit"]:
            lines.append(f"  [extra] {x['kustomization']} {x.get('file')}")
        for name, ref in r["reference"].items():
            for k, v in ref["kustomizations"].items():
                if v["status"] in ("reference-failed", "reference-unavailable"):
                    lines.append(f"  [{v['status']}] {name} {k}: {v['reason'][:200]}")
        if lines:
            print(f"== {r['repo']} ({r['commit'][:10]})")
            for name, ref in r["reference"].items():
                print(
                    f"  cluster {name}: entry {ref['entry']!r} root {ref['root']} ({ref['root_source']}), "
                    f"{len(ref['kustomizations'])} Kustomizations, {ref['kubectl_builds']} builds, {ref['seconds']} s"
                )
            print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("clones", type=Path, help="folder holding <owner>+<name> clones")
    parser.add_argument("--only", action="append", default=[], help="owner/name (repeatable)")
    parser.add_argument("--json", type=Path, help="write all details here")
    args = parser.parse_args(argv)
    corpus = yaml.safe_load((HERE / "repos.yaml").read_text(encoding="utf-8"))
    results: list[dict[str, Any]] = []
    for entry in corpus["repos"]:
        repo = str(entry["repo"])
        if args.only and repo not in args.only:
            continue
        clone = args.clones / repo.replace("/", "+")
        if not clone.is_dir():
            results.append({"repo": repo, "commit": entry["commit"], "error": f"no clone at {clone}"})
            continue
        print(f"... {repo}", file=sys.stderr, flush=True)
        try:
            results.append(run_repo(entry, clone))
        except Exception as err:  # keep going: one repository must not stop the corpus
            results.append({"repo": repo, "commit": entry["commit"], "error": f"harness: {type(err).__name__}: {err}"})
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
