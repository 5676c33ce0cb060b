"""A reused anchor name: the latest definition before an alias wins.

go-yaml v3 (kustomize's kyaml) and the go-yaml v2 fork in sigs.k8s.io/yaml
(kustomization files, Flux's decoder) record an anchor as they parse it, so
PyYAML's "found duplicate anchor" must not reach the user.  The render
fixture ``tests/fixtures/render/reused-anchors`` checks the same against
``kubectl kustomize`` in test_differential.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers_repo import write_repo

from volsync_kit.adapters import yamlio
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core.kustomize import build_directory
from volsync_kit.core.model import Loc, ModelError, Scalar, node_at, to_plain

KUBECTL = shutil.which("kubectl")


def plain(text: str) -> list[object]:
    return [to_plain(d.node) if d.node is not None else None for d in yamlio.load_documents(text, "f.yaml")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # later aliases see the later definition, earlier ones keep theirs
        ("a: &x 1\nb: *x\nc: &x 2\nd: *x\n", [{"a": 1, "b": 1, "c": 2, "d": 2}]),
        # the kind of node may change with the redefinition
        ("a: &x [1, 2]\nb: *x\nc: &x {k: v}\nd: *x\n", [{"a": [1, 2], "b": [1, 2], "c": {"k": "v"}, "d": {"k": "v"}}]),
        # a redefinition nested inside the first definition's node
        ("a: &x {k: &x inner}\nb: *x\n", [{"a": {"k": "inner"}, "b": "inner"}]),
        # sequence items
        ("- &x a\n- *x\n- &x b\n- *x\n- *x\n", [["a", "a", "b", "b", "b"]]),
        # a merge key reads the definition current at that point
        ("a: &m {p: 1}\nb: &m {q: 2}\nc:\n  <<: *m\n  r: 3\n", [{"a": {"p": 1}, "b": {"q": 2}, "c": {"q": 2, "r": 3}}]),
        # every document starts without anchors; each may reuse names
        (
            "a: &x 1\nb: &x 2\nc: *x\n---\nd: &x 3\ne: &x 4\nf: *x\n",
            [{"a": 1, "b": 2, "c": 2}, {"d": 3, "e": 4, "f": 4}],
        ),
        # typing of the aliased scalars stays the YAML 1.2 typing of the fast path
        ("a: &x yes\nb: &x 0o17\nc: *x\n", [{"a": "yes", "b": 15, "c": 15}]),
    ],
)
def test_reused_anchor_takes_the_latest_definition(text: str, expected: list[object]) -> None:
    assert plain(text) == expected


def test_reused_anchor_keeps_locations() -> None:
    (doc,) = yamlio.load_documents("a: &x 1\nb: &x\n  k: v\nc: *x\n", "f.yaml", line_offset=10)
    assert doc.node is not None
    assert node_at(doc.node, "c") == node_at(doc.node, "b")
    assert node_at(doc.node, "b", "k") == Scalar("v", Loc("f.yaml", 13, 6))
    assert node_at(doc.node, "a") == Scalar(1, Loc("f.yaml", 11, 4))


@pytest.mark.parametrize(
    "text",
    [
        "a: *x\nb: &x 1\n",  # an alias before any definition
        "a: &x 1\n---\nb: *x\n",  # anchors do not cross documents
        "a: &x 1\nb: &x 2\n---\nc: *y\n",  # reused anchors, then an unknown alias
    ],
)
def test_undefined_alias_is_still_a_syntax_error(text: str) -> None:
    with pytest.raises(ModelError) as info:
        yamlio.load_documents(text, "f.yaml")
    assert info.value.code == "yaml-syntax"
    assert "found undefined alias" in info.value.message


def test_reused_anchor_after_a_syntax_error_reports_the_syntax_error() -> None:
    with pytest.raises(ModelError) as info:
        yamlio.load_documents("a: &x 1\nb: &x 2\nc: [1\n", "f.yaml")
    assert info.value.code == "yaml-syntax"
    assert info.value.loc is not None
    assert info.value.loc.line == 4


def test_reused_anchor_in_a_self_reference_is_refused_as_too_deep() -> None:
    # go-yaml: "anchor 'x' value contains itself"; here the depth guard.
    with pytest.raises(ModelError) as info:
        yamlio.load_documents("a: &x 1\nb: &x [*x]\n", "f.yaml")
    assert info.value.code == "yaml-depth"


def test_files_without_reused_anchors_stay_on_the_c_composer(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[object] = []
    real = yamlio._load_with

    def spy(loader: object, *args: object) -> object:
        used.append(loader)
        return real(loader, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(yamlio, "_load_with", spy)
    yamlio._load("a: &x 1\nb: *x\n", "plain.yaml", 0, 0)
    yamlio._load("a: &x 1\nb: &x 2\n", "reused.yaml", 0, 0)
    assert used == [yamlio._Loader, yamlio._Loader, yamlio._ReusingLoader]


KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namePrefix: &affix pre-
nameSuffix: &affix -post
commonAnnotations:
  example.com/affix: *affix
resources:
  - ./pvc.yaml
"""

PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: &name data
  labels:
    example.com/first: *name
    example.com/second: &name cache
    example.com/third: *name
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
"""

EXPECTED = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {
        "name": "pre-data-post",
        "labels": {"example.com/first": "data", "example.com/second": "cache", "example.com/third": "cache"},
        "annotations": {"example.com/affix": "-post"},
    },
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


def test_reused_anchors_in_kustomization_and_resource(tmp_path: Path) -> None:
    write_repo(tmp_path, {"app/kustomization.yaml": KUSTOMIZATION, "app/pvc.yaml": PVC})
    build = build_directory(FileRepo(tmp_path), "app")
    assert [to_plain(r.node) for r in build.resources] == [EXPECTED]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (with embedded kustomize) is not on PATH")
def test_reused_anchors_match_kubectl_kustomize(tmp_path: Path) -> None:
    write_repo(tmp_path, {"app/kustomization.yaml": KUSTOMIZATION, "app/pvc.yaml": PVC})
    out = subprocess.run(
        [KUBECTL or "kubectl", "kustomize", str(tmp_path / "app")], capture_output=True, text=True, check=True
    ).stdout
    assert list(yaml.safe_load_all(out)) == [EXPECTED]
