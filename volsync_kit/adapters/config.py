"""``.volsync-kit.yaml``: read, validate against its JSON Schema, and type.

Errors name the file, line and schema path, and end the command with exit
code 2.  Defaults live in the schema, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from volsync_kit.adapters import resources
from volsync_kit.adapters.resources import schema
from volsync_kit.core.model import Loc, ModelError, Node, Severity, key_loc, loc_of, to_plain
from volsync_kit.errors import UsageError

# The core's types are imported where they are made: a lint run that reuses
# its record, on every commit, loads neither plan nor the rules nor generate.
if TYPE_CHECKING:
    from volsync_kit.adapters.cache import DiskCache
    from volsync_kit.core.generate import AppSpec, ComponentFiles, RepositorySettings
    from volsync_kit.core.planner import Settings
    from volsync_kit.core.rules._api import Expectations
    from volsync_kit.core.scenarios import Operator

CONFIG_NAME = ".volsync-kit.yaml"
SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO, "off": None}


@dataclass(frozen=True)
class Config:
    path: str | None
    data: dict[str, Any]
    node: Node | None = None  # the located tree, for line numbers in errors

    @property
    def entry(self) -> str | None:
        value = self.data.get("entry")
        return value if isinstance(value, str) else None


def _fail(path: str, loc: Loc | None, message: str) -> UsageError:
    where = f"{loc.file}:{loc.line}:{loc.col}" if loc else path
    return UsageError(f"{where}: {message}")


def load(root: Path, explicit: Path | None = None, cache: DiskCache | None = None) -> Config:
    """The repository's config, or an empty one when there is none; with a
    ``cache``, a config whose text was read and validated before (against the
    same schema) is taken from it, and the hook does not load the YAML parser
    and jsonschema for a file that did not change."""
    path = explicit if explicit is not None else root / CONFIG_NAME
    shown = str(explicit) if explicit is not None else CONFIG_NAME
    if not path.is_file():
        if explicit is not None:
            raise UsageError(f"--config {explicit}: no such file")
        return Config(None, {})
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise UsageError(f"{shown}: cannot read: {err.strerror}") from None
    if cache is None:
        return _parsed(raw, shown)
    slot = cache.key(("config", shown))
    inputs = cache.key((raw, resources.schema_text("config.schema.json")))
    known = cache.get(slot, inputs)
    if isinstance(known, Config):
        return known
    config = _parsed(raw, shown)  # an invalid config raises, and is not kept
    cache.put(slot, inputs, config)
    return config


def _parsed(raw: bytes, shown: str) -> Config:
    from volsync_kit.adapters.yamlio import decode, load_documents

    try:
        docs = load_documents(decode(raw, shown), shown)
    except ModelError as err:
        raise _fail(shown, err.loc, err.message) from None
    nodes = [d.node for d in docs if d.node is not None]
    if not nodes:
        return Config(shown, {})
    if len(nodes) > 1:
        raise UsageError(f"{shown}: holds {len(nodes)} YAML documents; keep one")
    data = to_plain(nodes[0])
    _validate(shown, nodes[0], data)
    assert isinstance(data, dict)
    return Config(shown, data, nodes[0])


def _schema_errors(data: object) -> tuple[Any, int] | None:
    """The most telling error of ``data`` against the config schema, and how many there are."""
    import jsonschema

    errors = list(jsonschema.Draft202012Validator(schema("config.schema.json")).iter_errors(data))
    # best_match descends into oneOf/anyOf alternatives to the most specific cause.
    return (jsonschema.exceptions.best_match(errors), len(errors)) if errors else None


def _validate(shown: str, node: Node, data: object) -> None:
    found = _schema_errors(data)
    if found is None:
        return
    first, count = found
    path = [str(p) if isinstance(p, str) else p for p in first.absolute_path]
    loc = loc_of(node, *path) or Loc(shown, 1, 1)
    if first.validator == "additionalProperties" and isinstance(first.instance, dict):
        # Point at the unexpected key itself, not at its parent mapping.
        allowed = set(first.schema.get("properties", {}))
        unexpected = sorted(k for k in first.instance if k not in allowed)
        if unexpected:
            loc = key_loc(node, *path, unexpected[0]) or loc
    where = ".".join(str(p) for p in path) or "(top level)"
    more = f" (and {count - 1} more)" if count > 1 else ""
    raise _fail(shown, loc, f"invalid config at {where}: {first.message}{more}; see schemas/config.schema.json")


def expectations(config: Config) -> Expectations:
    """What lint pins: ``expect:``, and for each key it leaves out, what
    ``repository:`` makes ``generate`` write (so a repository that generates
    its component does not say everything twice)."""
    from volsync_kit.core.rules._api import Expectations

    expect = config.data.get("expect", {})
    secret = expect.get("nodeStageSecret")
    defaults = schema("config.schema.json")["properties"]["expect"]["properties"]
    pinned = Expectations(
        driver=expect.get("driver"),
        cluster_id=expect.get("clusterID"),
        fs_name=expect.get("fsName"),
        storage_class=expect.get("storageClassName"),
        node_stage_secret=(secret["name"], secret["namespace"]) if secret else None,
        root_path=expect.get("rootPath"),
        pv_name=expect.get("pvName", defaults["pvName"]["default"]),
    )
    if "repository" not in config.data:
        return pinned
    made = _repository(config.data["repository"])
    return Expectations(
        driver=pinned.driver if "driver" in expect else made.driver,
        cluster_id=pinned.cluster_id if "clusterID" in expect else made.cluster_id,
        fs_name=pinned.fs_name if "fsName" in expect else made.fs_name,
        storage_class=pinned.storage_class if "storageClassName" in expect else made.storage_class,
        node_stage_secret=pinned.node_stage_secret if secret else (made.secret_name, made.secret_namespace),
        root_path=pinned.root_path if "rootPath" in expect else made.root_path,
        pv_name=pinned.pv_name if "pvName" in expect else made.pv_name,
    )


def lint_settings(config: Config) -> tuple[dict[str, Severity | None], list[tuple[str, frozenset[str]]]]:
    """Per-rule severities keyed by rule ID, and (glob, rules) ignores."""
    lint = config.data.get("lint", {})
    severities: dict[str, Severity | None] = {}
    for key, level in lint.get("rules", {}).items():
        from volsync_kit.core.rules import get  # only a config that names rules loads them

        rule = get(key)
        if rule is None:
            loc = key_loc(config.node, "lint", "rules", key)
            raise _fail(str(config.path), loc, f"lint.rules.{key}: no such rule; `volsync-kit rules` lists them")
        severities[rule.id] = SEVERITIES[level]
    ignores = [(item["path"], frozenset(item.get("rules", []))) for item in lint.get("ignore", [])]
    return severities, ignores


def _default(*path: str) -> Any:
    node: Any = schema("config.schema.json")
    for key in path:
        node = node["properties"][key]
    return node["default"]


def operator(config: Config) -> Operator:
    from volsync_kit.core.scenarios import Operator

    section = config.data.get("operator", {})
    ks = section.get("kustomization", {})
    return Operator(
        namespace=section.get("namespace", _default("operator", "namespace")),
        deployment=section.get("deployment", _default("operator", "deployment")),
        kustomization=ks.get("name", _default("operator", "kustomization", "name")),
        kustomization_namespace=ks.get("namespace", _default("operator", "kustomization", "namespace")),
    )


def plan_settings(config: Config) -> Settings:
    from volsync_kit.core.planner import Settings

    section = config.data.get("plan", {})
    source = section.get("source", {})
    return Settings(
        source_kind=source.get("kind", _default("plan", "source", "kind")),
        source_name=source.get("name", _default("plan", "source", "name")),
        source_namespace=source.get("namespace", _default("plan", "source", "namespace")),
        gate_command=section.get("gateCommand"),
    )


def repository_settings(config: Config) -> RepositorySettings:
    """The ``repository:`` section, with the schema's defaults; UsageError when it is missing."""
    section = config.data.get("repository")
    components = config.data.get("components")
    if section is None or components is None:
        where = config.path or CONFIG_NAME
        missing = " and ".join(f"{name}:" for name in ("repository", "components") if name not in config.data)
        raise UsageError(
            f"{where} has no {missing} section, which `generate` renders the component from; run "
            "`volsync-kit generate --adopt` to write them from the component your apps already use, "
            "or write them by hand (README, 'generate')"
        )
    return _repository(section)


def invalid(data: dict[str, Any]) -> str | None:
    """Why ``data`` is no valid config (the first error, as a sentence), or None."""
    found = _schema_errors(data)
    if found is None:
        return None
    first = found[0]
    where = ".".join(str(p) for p in first.absolute_path) or "(top level)"
    return f"the config it would write is invalid at {where}: {first.message}"


def without_defaults(name: str, section: dict[str, Any]) -> dict[str, Any]:
    """``section`` of the config without the keys that say what the schema's default says."""
    properties = schema("config.schema.json")["properties"][name]["properties"]
    out: dict[str, Any] = {}
    for key, value in section.items():
        known = properties.get(key, {})
        if isinstance(value, dict) and "properties" in known:
            nested = {k: v for k, v in value.items() if known["properties"].get(k, {}).get("default", ...) != v}
            if nested:
                out[key] = nested
        elif known.get("default", ...) != value:
            out[key] = value
    return out


def repository_from(section: dict[str, Any]) -> RepositorySettings:
    """The settings of a ``repository:`` section (already valid)."""
    return _repository(section)


def _repository(section: dict[str, Any]) -> RepositorySettings:
    from volsync_kit.core.generate import RepositorySettings

    secret = section["nodeStageSecret"]
    return RepositorySettings(
        cluster_id=section["clusterID"],
        fs_name=section["fsName"],
        root_path=section["rootPath"],
        secret_name=secret["name"],
        secret_namespace=secret["namespace"],
        driver=section.get("driver", _default("repository", "driver")),
        pool=section.get("pool"),
        mounter=section.get("mounter"),
        storage_class=section.get("storageClassName", _default("repository", "storageClassName")),
        capacity=section.get("capacity", _default("repository", "capacity")),
        access_modes=tuple(section.get("accessModes", _default("repository", "accessModes"))),
        reclaim_policy=section.get("reclaimPolicy", _default("repository", "reclaimPolicy")),
        pv_name=section.get("pvName", _default("repository", "pvName")),
        pvc_name=section.get("pvcName", _default("repository", "pvcName")),
        volume_handle=section.get("volumeHandle", _default("repository", "volumeHandle")),
        capacity_variable=section.get("capacityVariable", _default("repository", "capacityVariable")),
        pv_labels=section.get("pvMetadata", {}).get("labels", {}),
        pv_annotations=section.get("pvMetadata", {}).get("annotations", {}),
        pvc_labels=section.get("pvcMetadata", {}).get("labels", {}),
        pvc_annotations=section.get("pvcMetadata", {}).get("annotations", {}),
        mount_options=tuple(section.get("mountOptions", ())),
    )


def component_files(config: Config) -> ComponentFiles:
    from volsync_kit.core.generate import ComponentFiles

    components = config.data.get("components", {})
    files = components.get("files", {})
    return ComponentFiles(
        files.get("pv", _default("components", "files", "pv")),
        files.get("pvc", _default("components", "files", "pvc")),
        components.get("kustomization", _default("components", "kustomization")),
    )


def component_folders(config: Config) -> tuple[str, str | None]:
    components = config.data.get("components", {})
    return components["repository"].strip("/"), (components.get("operations") or "").strip("/") or None


def app_specs(config: Config) -> list[AppSpec] | None:
    """The configured apps, or None for ``apps: discover`` (and when absent)."""
    from volsync_kit.core.generate import AppSpec

    apps = config.data.get("apps", "discover")
    if apps == "discover":
        return None
    specs = []
    for item in apps:
        variables = dict(item.get("variables", {}))
        if "capacity" in item:
            variables["VOLSYNC_REPO_CAPACITY"] = item["capacity"]
        specs.append(AppSpec(item["name"], item.get("kustomization", item["name"]), variables))
    return specs
