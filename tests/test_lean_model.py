"""The lean model (issue 16, item 1) gives what the full model gives.

Documents of kinds no rule reads keep their identity and convert the rest
on first read (volsync_kit.adapters.yamlio, LazyMap/LazySeq in the core
model); post-build substitution defers inside them.  Only the work may
differ: every output is compared with a run that converts everything
(``yamlio.LEAN = False``, what ``VOLSYNC_KIT_FULL_MODEL=1`` sets).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from helpers_repo import committed_example, generated_repo
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from volsync_kit.adapters import yamlio
from volsync_kit.cli import app
from volsync_kit.core.model import (
    LazyMap,
    LazySeq,
    Map,
    ModelError,
    Node,
    Scalar,
    Seq,
    iter_scalars,
    to_plain,
    written_strings,
)
from volsync_kit.core.substitution import TreeSubstituter, TreeSubstitutionError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
FIXTURES = ROOT / "tests" / "fixtures"
FIXTURE_REPOS = sorted(
    p for group in ("layouts", "kustomize", "render") for p in (FIXTURES / group).iterdir() if p.is_dir()
)
OLD_ROOT, NEW_ROOT = "rootPath: /volsync/${APP}", "rootPath: /volsync/repos/${APP}"


def run(monkeypatch: pytest.MonkeyPatch, lean: bool, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(yamlio, "LEAN", lean)
    result = CliRunner().invoke(app, [*args, "--no-cache"])
    return result.exit_code, result.stdout, result.stderr


def same_either_way(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    lean = run(monkeypatch, True, *args)
    full = run(monkeypatch, False, *args)
    assert lean == full
    return lean[1]


def commands(repo: Path) -> list[list[str]]:
    return [
        ["render", "--repo", str(repo), "--format", "json"],
        ["lint", "--repo", str(repo), "--format", "json"],
    ]


@pytest.mark.parametrize("repo", [EXAMPLE, *FIXTURE_REPOS], ids=lambda p: str(p.relative_to(ROOT)))
def test_render_and_lint_are_the_full_models(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for args in commands(repo):
        same_either_way(monkeypatch, *args)


def test_plan_of_the_example_is_the_full_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = committed_example(tmp_path)
    for rel in ("kubernetes/flux/components/volsync/repository/pv.yaml", ".volsync-kit.yaml"):
        path = repo / rel
        path.write_text(path.read_text().replace(OLD_ROOT, NEW_ROOT))
    out = same_either_way(monkeypatch, "plan", "--repo", str(repo), "--format", "json")
    assert "repos/" in out  # the plan has something to say


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_repo(tmp_path_factory.mktemp("lean") / "repo", 24, "--defects", "--plan-change")


def test_a_generated_repository_is_lean(generated: Path) -> None:
    release = next(generated.glob("kubernetes/apps/*/*/app/helmrelease.yaml"))
    (doc,) = yamlio.load_documents(release.read_text(), "helmrelease.yaml")
    assert isinstance(doc.node, Map)
    assert type(doc.node.items["spec"]) is LazyMap


@pytest.mark.parametrize("command", ["render", "lint", "plan"])
def test_a_generated_repository_gives_the_full_models_output(
    command: str, generated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = same_either_way(monkeypatch, command, "--repo", str(generated), "--format", "json")
    assert out.strip()


# -- the lazy nodes themselves ------------------------------------------------------

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: &app radarr
  labels: {app: *app}
spec:
  values:
    image: {repository: ghcr.io/x/radarr, tag: "1.0"}
    env:
      TZ: ${TIMEZONE:-Etc/UTC}
      ${KEY:=k}: 1
    hosts: ["{{ .Release.Name }}.${DOMAIN}", plain]
    ports: [80, 0x1F, true, ~]
    alias: *app
    nested: [[a, "${B}"], {c: "${C:-3}"}]
"""


def both(text: str) -> tuple[tuple[yamlio.Document, ...], tuple[yamlio.Document, ...]]:
    return yamlio._load(text, "f.yaml", 0, 0, True), yamlio._load(text, "f.yaml", 0, 0, False)


def test_a_lazy_node_reads_as_the_converted_one_and_becomes_it() -> None:
    (lean,), (full,) = both(RELEASE)
    assert isinstance(lean.node, Map)
    spec = lean.node.items["spec"]
    assert type(spec) is LazyMap
    assert spec == full.node.items["spec"] if isinstance(full.node, Map) else False
    assert type(spec) is Map  # built once, then an ordinary Map
    assert lean == full
    assert to_plain(lean.node) == to_plain(full.node)


def test_an_unbuilt_node_pickles_small_and_unpickles_equal() -> None:
    (lean,), (full,) = both(RELEASE)
    data = pickle.dumps(lean, protocol=5)
    assert b"yaml.nodes" not in data  # the composed tree is not kept or pickled
    revived = pickle.loads(data)
    assert type(revived.node.items["spec"]) is LazyMap
    assert revived == full


def test_a_lean_document_flags_vars_free_as_the_converter_does() -> None:
    (lean,), (full,) = both(RELEASE)

    def flags(node: Node) -> list[tuple[object, bool]]:
        if isinstance(node, Scalar):
            return []
        children = node.items.values() if isinstance(node, Map) else node.items
        return [(node.loc, node.vars_free), *(f for child in children for f in flags(child))]

    assert lean.node is not None
    assert full.node is not None
    assert flags(lean.node) == flags(full.node)


@pytest.mark.parametrize(
    "spec",
    [
        "a: 1\na: 2",  # a duplicate key
        "true: 1\nTrue: 2",  # keys that are one boolean
        "a: !!int nope",  # a tag that does not convert
        "<<: {a: 1}",  # a merge key (converted whole: merges are the converter's)
        "[a]: 1",  # a key that is no scalar
        "a: " + "[" * 210 + "]" * 210,  # too deep
    ],
)
def test_a_lean_kind_fails_or_converts_as_the_full_model(spec: str) -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  " + spec.replace("\n", "\n  ") + "\n"
    outcomes = []
    for lean in (True, False):
        try:
            outcomes.append(to_plain(yamlio._load(text, "f.yaml", 0, 0, lean)[0].node))
        except ModelError as err:
            outcomes.append((err.code, err.message, err.loc))
    assert outcomes[0] == outcomes[1]


def test_an_alias_bomb_in_a_lean_kind_is_refused_as_before() -> None:
    lines = [
        "apiVersion: v1",
        "kind: Service",
        "metadata: {name: s}",
        "spec:",
        "  a0: &a0 [x, x, x, x, x, x, x, x, x, x]",
    ]
    lines += [f"  a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    text = "\n".join(lines) + "\n"
    for lean in (True, False):
        with pytest.raises(ModelError) as caught:
            yamlio._load(text, "f.yaml", 0, 0, lean)
        assert caught.value.code == "yaml-aliases"


def substituted(node: Node, variables: dict[str, str], strict: bool) -> object:
    try:
        result, notices = TreeSubstituter(variables, strict=strict).tree(node)
    except TreeSubstitutionError as err:
        return ("error", err.message, err.loc, err.variable)
    return to_plain(result), result, [(n.message, n.loc) for n in notices]


@pytest.mark.parametrize(
    ("variables", "strict"),
    [
        ({"TIMEZONE": "Europe/Berlin", "DOMAIN": "example.com", "B": "b"}, False),
        ({"TIMEZONE": "Europe/Berlin", "DOMAIN": "example.com", "B": "b"}, True),
        ({"TIMEZONE": "Europe/Berlin", "DOMAIN": "example.com"}, True),  # B undefined: fails
        ({"TIMEZONE": "a: b", "DOMAIN": "[x", "B": "{", "C": "- 1", "KEY": "k"}, True),  # notices
        ({"TIMEZONE": "${X}", "DOMAIN": "d", "B": "$$", "C": "0777", "KEY": "${"}, False),
    ],
)
def test_substitution_defers_inside_a_lean_node_with_the_same_outcome(variables: dict[str, str], strict: bool) -> None:
    (lean,), (full,) = both(RELEASE)
    assert lean.node is not None
    assert full.node is not None
    lean_outcome = substituted(lean.node, variables, strict)
    assert lean_outcome == substituted(full.node, variables, strict)
    if lean_outcome[0] != "error":
        assert isinstance(lean_outcome, tuple)
        result = lean_outcome[1]
        assert isinstance(result, Map)
        assert isinstance(result.items["spec"], LazyMap | Map)
        # A deferred subtree pickles (into the build cache) and reads the same.
        assert pickle.loads(pickle.dumps(result, protocol=5)) == result


def test_a_lazy_seq_hashes_and_compares_as_a_seq() -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nports: [1, 2]\n"
    (lean,), (full,) = both(text)
    assert isinstance(lean.node, Map)
    assert isinstance(full.node, Map)
    ports = lean.node.items["ports"]
    assert type(ports) is LazySeq
    assert hash(ports) == hash(full.node.items["ports"])
    assert type(ports) is Seq
    assert ports == full.node.items["ports"]


def string_values(node: Node) -> set[str]:
    return {s.value for _, s in iter_scalars(node) if isinstance(s.value, str)}


@pytest.mark.parametrize(
    "variables", [{"TIMEZONE": "UTC", "DOMAIN": "example.com", "B": "b", "C": "c", "KEY": "k"}, None]
)
def test_written_strings_hold_every_string_value_and_build_nothing(variables: dict[str, str] | None) -> None:
    """The quick test plan's checklist makes before reading a HelmRelease
    for claims (checklist._may_name) may only err towards reading it."""
    (lean,), (full,) = both(RELEASE)
    assert isinstance(lean.node, Map)
    assert isinstance(full.node, Map)
    node, expected = lean.node, full.node
    if variables is not None:
        node = TreeSubstituter(variables, strict=False).tree(node)[0]
        expected = TreeSubstituter(variables, strict=False).tree(expected)[0]
    assert isinstance(node, Map)
    written = set(written_strings(node))
    assert type(node.items["spec"]) is LazyMap  # answered without building the values
    assert string_values(expected) <= written
    assert ("{{ .Release.Name }}.example.com" in written) is (variables is not None)  # substituted as Flux does


CLAIMS = {("media", "radarr-config"), ("media", "volsync-radarr-repo")}


@pytest.mark.parametrize(
    ("values", "mounts"),
    [
        ("persistence: {config: {existingClaim: radarr-config}}", True),
        ("persistence: {config: {existingClaim: '${APP}-config'}}", True),
        ("persistence: {config: {existingClaim: '{{ .Release.Name }}-config'}}", True),
        ("persistence: {config: {existingClaim: '{{.Release.Name}}-config'}}", True),
        ("volumes: [{persistentVolumeClaim: {claimName: volsync-radarr-repo}}]", True),
        ("persistence: {config: {existingClaim: '${APP}'}}", False),  # the data claim, not one being replaced
        ("hosts: ['{{ .Release.Name }}.example.com']", False),
        ("persistence: {config: {existingClaim: '{{ .Release.Name }}-config'}}\nname: x", True),
    ],
)
def test_the_quick_test_before_reading_a_release_agrees_with_reading_it(values: str, mounts: bool) -> None:
    from volsync_kit.core.checklist import _claim_value, _may_name
    from volsync_kit.core.model import Resource

    text = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: radarr, namespace: media}\n"
        "spec:\n  values:\n    " + values.replace("\n", "\n    ") + "\n"
    )
    (lean,) = yamlio._load(text, "hr.yaml", 0, 0, True)
    assert isinstance(lean.node, Map)
    node = TreeSubstituter({"APP": "radarr"}, strict=True).tree(lean.node)[0]
    assert isinstance(node, Map)
    release = Resource(node, None)
    names = {name for _, name in CLAIMS}
    read = any(_claim_value(s, "radarr") in names for _, s in iter_scalars(release.node))
    assert read is mounts
    assert (
        _may_name(Resource(TreeSubstituter({"APP": "radarr"}, strict=True).tree(lean.node)[0], None), names, True)
        is mounts
    )


# How a claim's name may be written in a release's values: every scalar style,
# anchors, flow and block collections, substitution with and without defaults,
# app-template's release name, escapes, and values folded over lines.
_CLAIM_SPELLINGS = st.sampled_from(
    [
        "radarr-config", "'radarr-config'", '"radarr-config"', '"radarr\\x2dconfig"', '"radarr\\u002Dconfig"',
        "'${APP}-config'", "${APP}-config", '"${APP}\\x2dconfig"', "${NONE:=radarr-config}",
        "'${NONE:-radarr}-config'", "$${APP}-config", "'{{ .Release.Name }}-config'", "'{{.Release.Name}}-config'",
        "'{{ .Release.Name\n        }}-config'", "radarr-\n        config", '"radarr-\\\n        config"',
        "|-\n        radarr-config", ">-\n        radarr-config", "&c radarr-config", "x-radarr-config",
        "radarr-config-x", "'radarr.config'", "volsync-${APP}-repo", "'volsync-{{ .Release.Name }}-repo'",
        "${APP}", "radarr_config", "[radarr-config]", "{c: radarr-config}", '{"c":radarr-config}',
        "!!str radarr-config", "# radarr-config\n        other", "éradarr-config", "radarr-configé",
        "'radarr-config\u00b5'", "ünits-radarr-config",
    ]
)  # fmt: skip
_PLACES = st.sampled_from(["persistence: {config: {existingClaim: %s}}", "x:\n  y: %s", "l:\n  - %s"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_PLACES, _CLAIM_SPELLINGS), min_size=1, max_size=3), st.booleans())
def test_reading_a_releases_text_never_misses_a_claim_its_values_name(
    written: list[tuple[str, str]], packed: bool
) -> None:
    """checklist._may_name answers from the release's text when it can
    (model.written_texts): it may say yes where the values name no claim,
    never no where they do."""
    from volsync_kit.core.checklist import _claim_value, _may_name
    from volsync_kit.core.model import Resource, written_texts

    values = "\n".join(f"v{i}:\n  " + (place % spelling).replace("\n", "\n  ") for i, (place, spelling) in
                       enumerate(written))  # fmt: skip
    text = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: radarr, namespace: media}\n"
        "spec:\n  values:\n    " + values.replace("\n", "\n    ") + "\n"
    )
    try:
        (lean,) = yamlio._load(text, "hr.yaml", 0, 0, True)
        (full,) = yamlio._load(text, "hr.yaml", 0, 0, False)
    except ModelError:
        return  # not YAML (an anchor's spelling twice, ...): no release to read
    names = {name for _, name in CLAIMS}

    def substituted(node: Node) -> Map:
        out = TreeSubstituter({"APP": "radarr"}, strict=False).tree(node)[0]
        assert isinstance(out, Map)
        return out

    node = substituted(lean.node)
    if packed:
        node = pickle.loads(pickle.dumps(node, protocol=5))
    quick = _may_name(Resource(node, None), names, True)
    assert type(node.items["spec"]) is LazyMap or written_texts(node) is None  # asked without building
    read = any(_claim_value(s, "radarr") in names for _, s in iter_scalars(substituted(full.node)))
    assert quick or not read


def test_a_release_that_names_no_claim_is_told_from_its_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The common release (app-template, its own data claim, the release's
    name in a host) is answered without composing its file again."""
    from volsync_kit.core.checklist import _may_name
    from volsync_kit.core.model import Resource

    text = (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: radarr, namespace: media}\n"
        "spec:\n  values:\n    persistence: {config: {existingClaim: '${APP}'}}\n"
        "    route: {app: {hostnames: ['{{ .Release.Name }}.${DOMAIN}']}}\n"
    )
    (lean,) = yamlio._load(text, "hr.yaml", 0, 0, True)
    node = TreeSubstituter({"APP": "radarr", "DOMAIN": "example.com"}, strict=True).tree(lean.node)[0]
    assert isinstance(node, Map)
    node = pickle.loads(pickle.dumps(node, protocol=5))
    monkeypatch.setattr(yamlio, "_composed", None)  # composing again would raise
    names = {name for _, name in CLAIMS}
    assert _may_name(Resource(node, None), names, True) is False
    assert _may_name(Resource(node, None), names | {"radarr"}, True) is True
    assert type(node.items["spec"]) is LazyMap


def test_only_ascii_names_are_looked_for_in_a_releases_text() -> None:
    """A release's text is split into ASCII runs (checklist._ascii_runs): a
    claim named with another letter, which no such run can equal, is looked
    for in the values instead; other letters only split runs, so an ASCII
    name is found wherever the pattern's runs find it."""
    from volsync_kit.core.checklist import _RUN, _ascii_runs, _is_run

    assert _is_run("radarr-config")
    assert not _is_run("rädarr-config")
    text = "a: éradarr-config\nb: [x.y_z, 'q-1']\nc: radarr-configé µ {{ .Release.Name }}"
    ascii_runs = set(_ascii_runs(text))
    assert {run for run in _RUN.findall(text) if run.isascii()} <= ascii_runs
    assert "radarr-config" in ascii_runs  # a piece: may say yes, never no
