"""wire_app edits one Kustomization and leaves every other byte of the file alone."""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from volsync_kit.adapters.yamledit import EditError, wire_app

APPS = Path(__file__).resolve().parents[1] / "examples" / "home-ops" / "kubernetes" / "apps"
REPOSITORY = "../../../../flux/components/volsync/repository"
OPERATIONS = "../../../../flux/components/volsync/operations"
VOLSYNC = "../../../../flux/components/volsync"
HEADER = (
    "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
    "kind: Kustomization\n"
    "metadata:\n"
    "  name: &app app\n"
)  # fmt: skip


def changes(before: str, after: str) -> list[str]:
    """The +/- lines of the unified diff from ``before`` to ``after``."""
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))
    return [line for line in diff[2:] if line[:1] in "+-"]


def wire(text: str, name: str = "app", component: str = VOLSYNC, **variables: str) -> str:
    result = wire_app(text, kustomization=name, component=component, variables=variables)
    assert wire_app(result, kustomization=name, component=component, variables=variables) is result
    return result


def docs(text: str) -> list[Any]:
    return list(yaml.safe_load_all(text))


def ks_files() -> list[Path]:
    return sorted(APPS.glob("*/*/ks.yaml"))


def wired_files() -> list[Path]:
    return [path for path in ks_files() if REPOSITORY in path.read_text(encoding="utf-8")]


# -- the example repository ----------------------------------------------------


def test_the_examples_are_there() -> None:
    assert len(wired_files()) >= 5
    assert len(ks_files()) > len(wired_files())


@pytest.mark.parametrize("path", wired_files(), ids=lambda p: p.parent.name)
def test_a_wired_example_comes_back_unchanged(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    app = path.parent.name
    for component in (REPOSITORY, OPERATIONS):
        assert wire_app(text, kustomization=app, component=component, variables={"APP": app}) is text
    assert wire_app(text, kustomization=app, component=REPOSITORY, variables={}) is text


@pytest.mark.parametrize("path", wired_files(), ids=lambda p: p.parent.name)
def test_a_removed_last_component_is_added_back_exactly(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    line = f"    - {OPERATIONS}\n"
    assert text.count(line) == 1
    assert wire(text.replace(line, ""), path.parent.name, OPERATIONS, APP=path.parent.name) == text


@pytest.mark.parametrize("path", wired_files(), ids=lambda p: p.parent.name)
def test_a_removed_first_component_is_appended_as_one_line(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    copy_ = text.replace(f"    - {REPOSITORY}\n", "")
    result = wire(copy_, path.parent.name, REPOSITORY, APP=path.parent.name)
    assert changes(copy_, result) == [f"+    - {REPOSITORY}"]
    assert result.index(OPERATIONS) < result.index(REPOSITORY)


def test_an_unwired_example_gets_components_and_post_build_in_key_order() -> None:
    text = (APPS / "volsync-system" / "volsync" / "ks.yaml").read_text(encoding="utf-8")
    result = wire(text, "volsync", REPOSITORY, APP="volsync", VOLSYNC_CAPACITY="2Gi")
    assert changes(text, result) == [
        "+  components:",
        f"+    - {REPOSITORY}",
        "+  postBuild:",
        "+    substitute:",
        "+      APP: volsync",
        "+      VOLSYNC_CAPACITY: 2Gi",
    ]
    assert result.splitlines()[10:13] == ["      app.kubernetes.io/name: *app", "  components:", f"    - {REPOSITORY}"]
    (doc,) = docs(result)
    assert doc["spec"]["components"] == [REPOSITORY]
    assert doc["spec"]["postBuild"] == {"substitute": {"APP": "volsync", "VOLSYNC_CAPACITY": "2Gi"}}


def test_an_end_of_line_comment_on_a_neighbour_stays() -> None:
    text = (APPS / "flux-system" / "flux-instance" / "ks.yaml").read_text(encoding="utf-8")
    result = wire(text, "flux-instance", REPOSITORY, APP="flux-instance")
    assert "  prune: false # never delete the thing that runs Flux\n" in result
    assert [line for line in changes(text, result) if line.startswith("-")] == []


def test_the_second_document_of_an_example_is_edited_alone() -> None:
    text = (APPS / "default" / "paperless" / "ks.yaml").read_text(encoding="utf-8")
    result = wire(text, "paperless-config", REPOSITORY, APP="paperless")
    assert changes(text, result) == [
        "+  components:",
        f"+    - {REPOSITORY}",
        "+  postBuild:",
        "+    substitute:",
        "+      APP: paperless",
    ]
    first, second = docs(result)
    assert first == docs(text)[0]
    assert second["spec"]["components"] == [REPOSITORY]
    assert result.index("paperless-config") < result.index("    - " + REPOSITORY, result.index("paperless-config"))


def test_an_example_variable_with_another_value_is_replaced() -> None:
    text = (APPS / "database" / "pgadmin" / "ks.yaml").read_text(encoding="utf-8")
    result = wire(text, "pgadmin", REPOSITORY, APP="pgadmin", VOLSYNC_PUID="5050", VOLSYNC_CAPACITY="4Gi")
    assert changes(text, result) == ["-      VOLSYNC_CAPACITY: 2Gi", "+      VOLSYNC_CAPACITY: 4Gi"]


# -- a file full of comments, anchors, quoting and documents ---------------------

BUSY = """\
# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/source.toolkit.fluxcd.io/ocirepository_v1.json
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: foo   # same name, another kind
  namespace: flux-system
spec:
  interval: 5m
  ref: {tag: '1.0'}
  url: oci://ghcr.io/example/foo
---
# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/kustomize.toolkit.fluxcd.io/kustomization_v1.json
apiVersion: "kustomize.toolkit.fluxcd.io/v1"
kind: 'Kustomization'
metadata:
  name: &app foo  # the app
  namespace: &ns media
spec:
  # who owns this
  commonMetadata:
    labels:
      app.kubernetes.io/name: *app
      mode: "0777"
  # the components wire in shared bits
  components:
    - ../../../../flux/components/gatus   # health checks
    # - ../../../../flux/components/keda
  dependsOn: [{name: volsync, namespace: volsync-system}]
  interval: 1h   # how often

  path: ./kubernetes/apps/media/foo/app
  postBuild:
    substitute:
      APP: *app
      GATUS_SUBDOMAIN: 'yes'
      # the size of the volume
      VOLSYNC_CAPACITY: "1Gi"
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
  targetNamespace: *ns
  wait: false
"""


def test_a_busy_file_changes_only_the_intended_lines() -> None:
    result = wire(BUSY, "foo", APP="foo", GATUS_SUBDOMAIN="yes", VOLSYNC_CAPACITY="5Gi", VOLSYNC_PUID="5050")
    assert changes(BUSY, result) == [
        f"+    - {VOLSYNC}",
        '-      VOLSYNC_CAPACITY: "1Gi"',
        '+      VOLSYNC_CAPACITY: "5Gi"',
        '+      VOLSYNC_PUID: "5050"',
    ]
    # the new entry comes after the last live one, before the commented-out one
    assert f"   # health checks\n    - {VOLSYNC}\n    # - ../../../../flux/components/keda\n" in result
    oci, ks = docs(result)
    assert oci == docs(BUSY)[0]
    expected = copy.deepcopy(docs(BUSY)[1])
    assert isinstance(expected, dict)
    expected["spec"]["components"].append(VOLSYNC)
    expected["spec"]["postBuild"]["substitute"].update(VOLSYNC_CAPACITY="5Gi", VOLSYNC_PUID="5050")
    assert ks == expected
    assert ks["spec"]["postBuild"]["substitute"]["GATUS_SUBDOMAIN"] == "yes"
    assert ks["spec"]["commonMetadata"]["labels"]["mode"] == "0777"


def test_an_alias_that_already_holds_the_value_stays_an_alias() -> None:
    result = wire(BUSY, "foo", APP="foo")
    assert "      APP: *app\n" in result
    assert changes(BUSY, result) == [f"+    - {VOLSYNC}"]


def test_an_alias_with_another_value_is_replaced_and_its_comment_kept() -> None:
    text = HEADER + "spec:\n  path: x\n  postBuild:\n    substitute:\n      APP: *app # the name\n"
    assert changes(text, wire(text, component="../c", APP="other")) == [
        "+  components:",
        "+    - ../c",
        "-      APP: *app # the name",
        "+      APP: other # the name",
    ]


def test_only_the_named_kustomization_of_two_is_edited() -> None:
    first = HEADER.replace("&app app", "first") + "spec:\n  path: ./first\n  prune: true\n"
    second = HEADER + "spec:\n  path: ./second\n  prune: true\n"
    text = f"---\n{first}---\n{second}"
    result = wire(text, APP="app")
    assert result.startswith(f"---\n{first}---\n")
    assert changes(text, result) == [
        "+  components:",
        f"+    - {VOLSYNC}",
        "+  postBuild:",
        "+    substitute:",
        "+      APP: app",
    ]
    one, two = docs(result)
    assert "components" not in one["spec"]
    assert two["spec"] == {
        "components": [VOLSYNC],
        "path": "./second",
        "postBuild": {"substitute": {"APP": "app"}},
        "prune": True,
    }


def test_documents_that_are_not_mappings_are_skipped() -> None:
    text = "- a list\n---\njust a scalar\n---\n---\n" + HEADER + "spec:\n  path: x\n"
    assert changes(text, wire(text, component="../c")) == ["+  components:", "+    - ../c"]


# -- components -----------------------------------------------------------------


def test_a_flow_sequence_of_components_grows_on_its_line() -> None:
    text = HEADER + "spec:\n  components: [../a]  # see below\n  path: x\n"
    result = wire(text, component="../b")
    assert changes(text, result) == ["-  components: [../a]  # see below", "+  components: [../a, ../b]  # see below"]
    assert docs(result)[0]["spec"]["components"] == ["../a", "../b"]


def test_an_empty_flow_sequence_of_components_gets_the_item() -> None:
    text = HEADER + "spec:\n  components: []\n  path: x\n"
    assert changes(text, wire(text, component="../b")) == ["-  components: []", "+  components: [../b]"]


def test_a_null_components_key_gets_a_block_list() -> None:
    text = HEADER + "spec:\n  components: # none yet\n  path: x\n"
    assert changes(text, wire(text, component="../b")) == ["+    - ../b"]
    text = HEADER + "spec:\n  components: ~\n  path: x\n"
    assert changes(text, wire(text, component="../b")) == ["-  components: ~", "+  components: [../b]"]


def test_a_quoted_component_list_gets_a_quoted_item() -> None:
    text = HEADER + "spec:\n  components:\n    - '../a'\n  path: x\n"
    assert changes(text, wire(text, component="../b")) == ["+    - '../b'"]


def test_new_keys_go_to_the_end_of_an_unsorted_spec() -> None:
    text = HEADER + "spec:\n  path: x\n  interval: 1h\n"
    assert changes(text, wire(text, component="../b")) == ["+  components:", "+    - ../b"]
    assert wire(text, component="../b").endswith("  interval: 1h\n  components:\n    - ../b\n")


def test_a_new_first_key_goes_before_the_comments_of_the_old_first_key() -> None:
    text = HEADER + "spec:\n  # what it needs\n  dependsOn: []\n  path: x\n"
    result = wire(text, component="../b")
    assert "spec:\n  components:\n    - ../b\n  # what it needs\n  dependsOn: []\n" in result


def test_a_flow_spec_stays_flow() -> None:
    text = HEADER + "spec: {path: x}\n"
    assert changes(text, wire(text, component="../b", APP="app")) == [
        "-spec: {path: x}",
        "+spec: {path: x, components: [../b], postBuild: {substitute: {APP: app}}}",
    ]


# -- postBuild.substitute ---------------------------------------------------------


def test_post_build_without_substitute_gets_it_before_substitute_from() -> None:
    text = HEADER + "spec:\n  path: x\n  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: c\n"
    result = wire(text, component="../b", APP="app")
    assert changes(text, result) == [
        "+  components:",
        "+    - ../b",
        "+    substitute:",
        "+      APP: app",
    ]
    assert "  postBuild:\n    substitute:\n      APP: app\n    substituteFrom:\n" in result


def test_an_absent_post_build_is_created() -> None:
    text = HEADER + "spec:\n  components:\n    - ../b\n  path: x\n  prune: true\n"
    result = wire(text, component="../b", APP="app", VOLSYNC_PUID="5050")
    assert changes(text, result) == [
        "+  postBuild:",
        "+    substitute:",
        "+      APP: app",
        '+      VOLSYNC_PUID: "5050"',
    ]
    assert "  path: x\n  postBuild:\n" in result
    assert docs(result)[0]["spec"]["postBuild"]["substitute"] == {"APP": "app", "VOLSYNC_PUID": "5050"}


def test_a_null_post_build_or_substitute_is_filled() -> None:
    text = HEADER + "spec:\n  path: x\n  postBuild:\n"
    assert changes(text, wire(text, component="../b", A="1")) == [
        "+  components:",
        "+    - ../b",
        "+    substitute:",
        '+      A: "1"',
    ]
    text = HEADER + "spec:\n  path: x\n  postBuild:\n    substitute: # later\n"
    assert changes(text, wire(text, component="../b", A="1"))[2:] == ['+      A: "1"']


def test_a_different_value_is_replaced_and_stays_a_string() -> None:
    text = HEADER + "spec:\n  postBuild:\n    substitute:\n      VOLSYNC_PUID: 1000  # uid\n      X: '1'\n"
    result = wire(text, component="../b", VOLSYNC_PUID="5050", X="2")
    assert changes(text, result)[-4:] == [
        "-      VOLSYNC_PUID: 1000  # uid",
        "-      X: '1'",
        '+      VOLSYNC_PUID: "5050"  # uid',
        "+      X: '2'",
    ]
    assert docs(result)[0]["spec"]["postBuild"]["substitute"] == {"VOLSYNC_PUID": "5050", "X": "2"}


def test_a_plain_number_is_not_the_same_string() -> None:
    text = HEADER + "spec:\n  components: [../b]\n  postBuild:\n    substitute:\n      V: 5050\n"
    assert changes(text, wire(text, component="../b", V="5050")) == ["-      V: 5050", '+      V: "5050"']


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("5Gi", "5Gi"),
        ("yes", '"yes"'),
        ("0777", '"0777"'),
        ("1:20", '"1:20"'),
        ("2024-01-01", '"2024-01-01"'),
        ("", '""'),
        ("~", '"~"'),
        ("a: b", '"a: b"'),
        ("a #b", '"a #b"'),
        ("two\nlines", '"two\\nlines"'),
        ('say "hi"', 'say "hi"'),
        ('"hi"', '"\\"hi\\""'),
        ("it's", "it's"),
        ("${APP}-data", "${APP}-data"),
    ],
)
def test_new_values_are_quoted_only_when_needed(value: str, written: str) -> None:
    text = HEADER + "spec:\n  components: [../b]\n  postBuild:\n    substitute:\n      APP: *app\n"
    result = wire(text, component="../b", V=value)
    assert changes(text, result) == [f"+      V: {written}"]
    assert docs(result)[0]["spec"]["postBuild"]["substitute"]["V"] == value


def test_a_block_scalar_value_is_replaced_by_one_line() -> None:
    text = HEADER + "spec:\n  postBuild:\n    substitute:\n      V: |\n        old\n      W: w\n"
    assert changes(text, wire(text, component="../b", V="new"))[-3:] == ["-      V: |", "-        old", "+      V: new"]


def test_a_flow_substitute_stays_flow() -> None:
    text = HEADER + "spec:\n  components: [../b]\n  postBuild: {substitute: {APP: *app, V: '1'}}\n"
    assert changes(text, wire(text, component="../b", APP="app", V="2", W="x, y")) == [
        "-  postBuild: {substitute: {APP: *app, V: '1'}}",
        "+  postBuild: {substitute: {APP: *app, V: '2', W: \"x, y\"}}",
    ]


# -- indentation ---------------------------------------------------------------------

INDENTLESS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
spec:
  components:
  - ../a
  dependsOn:
  - name: volsync
  path: x
"""

FOUR = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
    name: app
spec:
    dependsOn:
        -   name: volsync
    path: x
"""


def test_two_spaces_with_dashes_at_the_parent_indentation() -> None:
    assert changes(INDENTLESS, wire(INDENTLESS, component="../b")) == ["+  - ../b"]
    no_components = INDENTLESS.replace("  components:\n  - ../a\n", "")
    assert changes(no_components, wire(no_components, component="../b", A="a")) == [
        "+  components:",
        "+  - ../b",
        "+  postBuild:",
        "+    substitute:",
        "+      A: a",
    ]


def test_two_spaces_with_indented_dashes() -> None:
    text = INDENTLESS.replace("\n  - ", "\n    - ")
    assert changes(text, wire(text, component="../b")) == ["+    - ../b"]
    no_components = text.replace("  components:\n    - ../a\n", "")
    assert changes(no_components, wire(no_components, component="../b")) == ["+  components:", "+    - ../b"]


def test_four_spaces() -> None:
    assert changes(FOUR, wire(FOUR, component="../b", A="a")) == [
        "+    components:",
        "+        -   ../b",
        "+    postBuild:",
        "+        substitute:",
        "+            A: a",
    ]
    docs(wire(FOUR, component="../b", A="a"))


def test_windows_line_endings_and_a_missing_final_newline_are_kept() -> None:
    text = (HEADER + "spec:\n  path: x\n  wait: true").replace("\n", "\r\n")
    result = wire(text, component="../b")
    assert result == (HEADER + "spec:\n  components:\n    - ../b\n  path: x\n  wait: true").replace("\n", "\r\n")
    text = HEADER + "spec:\n  path: x\n  postBuild:\n    substitute:\n      A: a"
    assert wire(text, component="../b", B="b").endswith("      A: a\n      B: b")


# -- refusals ---------------------------------------------------------------------------


def test_an_unknown_kustomization_is_named_in_the_error() -> None:
    text = (APPS / "default" / "paperless" / "ks.yaml").read_text(encoding="utf-8")
    with pytest.raises(EditError, match=r"'paperles'.*'paperless', 'paperless-config'"):
        wire_app(text, kustomization="paperles", component="../b", variables={})


def test_a_kustomize_kustomization_is_not_a_flux_one() -> None:
    text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: app\n"
    with pytest.raises(EditError, match="no Flux Kustomization named 'app'"):
        wire_app(text, kustomization="app", component="../b", variables={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "spec: [\n", "not valid YAML"),
        (HEADER + "spec:\n  path: a\n  path: b\n", "'path' twice"),
        (HEADER + "spec: *nowhere\n", "no anchor"),
        (HEADER + "base: &b {path: a}\nspec: *b\n", "spec is an alias"),
        (HEADER + "base: &b {path: a}\nspec:\n  <<: *b\n", "merge key"),
        (HEADER + "spec:\n  postBuild:\n    substitute:\n      A: &v x\n      B: *v\n", "used elsewhere"),
        (HEADER + "spec:\n  components: ../b\n", "not a list"),
        (HEADER + "spec:\n  postBuild:\n    substitute: [a]\n", "not a mapping"),
        (HEADER, "no spec"),
    ],
)
def test_unsafe_edits_are_refused(text: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        wire_app(text, kustomization="app", component="../c", variables={"A": "y"})


# -- properties ---------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(value=st.text(max_size=20), component=st.text(min_size=1, max_size=20))
def test_any_value_and_component_read_back_as_written(value: str, component: str) -> None:
    for text in (BUSY, HEADER + "spec:\n  components: [../a]\n  postBuild: {substitute: {A: a}}\n"):
        name = "foo" if text is BUSY else "app"
        result = wire(text, name, component, APP=name, V=value)
        spec = docs(result)[-1]["spec"]
        assert spec["postBuild"]["substitute"]["V"] == value
        assert component in spec["components"]
