"""A kustomization's list fields with no value are empty lists, not errors.

kustomize decodes kustomization.yaml into ``types.Kustomization`` with
sigs.k8s.io/yaml: a null list is a nil slice, the same as a missing key.
Its emptiness check (``CheckEmpty``) compares with an empty struct, so null
and empty-string values do not make a kustomization non-empty, while an empty
list does.  The kubectl test at the end checks these expectations against
kustomize v5.5.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers_repo import write_repo

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core.kustomize import build_directory
from volsync_kit.core.model import ModelError, to_plain

KUBECTL = shutil.which("kubectl")

PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 1Gi
"""
HEAD = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
COMPONENT = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"

NULL_LISTS = (
    "components:\n"
    "patches:\n"
    "patchesStrategicMerge:\n"
    "patchesJson6902: ~\n"
    "configMapGenerator:\n"
    "secretGenerator: null\n"
    "generators:\n"
    "transformers:\n"
    "replacements:\n"
    "helmCharts:\n"
    "labels:\n"
    "commonLabels:\n"
    "commonAnnotations:\n"
    "namespace:\n"
    "namePrefix:\n"
)

BUILT: dict[str, object] = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "data"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


def files(kustomization: str, extra: dict[str, str] | None = None) -> dict[str, str | bytes]:
    return {"app/kustomization.yaml": kustomization, "app/pvc.yaml": PVC, **(extra or {})}


# (kustomization body, extra files, the objects built or the error kustomize gives)
BUILDS: list[tuple[str, str, dict[str, str], list[object] | str]] = [
    ("every list null", HEAD + "resources:\n  - ./pvc.yaml\n" + NULL_LISTS, {}, [BUILT]),
    ("null resources with a component", HEAD + "resources:\ncomponents:\n  - ./comp\n", {
        "app/comp/kustomization.yaml": COMPONENT + "resources:\n  - ../pvc.yaml\npatches:\ncomponents:\n",
    }, [BUILT]),
    ("null lists in a resource folder", HEAD + "resources:\n  - ./base\npatches:\n", {
        "app/base/kustomization.yaml": HEAD + "resources:\n  - ../pvc.yaml\ncomponents:\npatches:\n",
    }, [BUILT]),
    ("empty list builds nothing", HEAD + "resources: []\n", {}, []),
    ("only null lists is empty", HEAD + "resources:\npatches:\n", {}, "kustomization.yaml is empty"),
    ("only null namespace is empty", "namespace: ~\n", {}, "kustomization.yaml is empty"),
    ("only empty namespace is empty", 'namespace: ""\n', {}, "kustomization.yaml is empty"),
    ("a string is not a list", HEAD + "resources: ./pvc.yaml\n", {}, "error"),
]  # fmt: skip


def built(root: Path) -> list[object] | str:
    try:
        build = build_directory(FileRepo(root), "app")
    except ModelError as err:
        return err.message if err.code == "kustomization-empty" else "error"
    return [to_plain(r.node) for r in build.resources]


@pytest.mark.parametrize(
    ("kustomization", "extra", "expected"), [case[1:] for case in BUILDS], ids=[case[0] for case in BUILDS]
)
def test_null_lists(tmp_path: Path, kustomization: str, extra: dict[str, str], expected: object) -> None:
    write_repo(tmp_path, files(kustomization, extra))
    assert built(tmp_path) == expected


def test_null_generator_fields_are_not_reported(tmp_path: Path) -> None:
    write_repo(tmp_path, files(HEAD + "resources:\n  - ./pvc.yaml\n" + NULL_LISTS))
    assert build_directory(FileRepo(tmp_path), "app").notes == []


def test_null_lists_in_a_flux_generated_root(tmp_path: Path) -> None:
    # spec.path's own kustomization is built with check_empty off: only nulls is no error there.
    write_repo(tmp_path, files(HEAD + "resources:\npatches:\n"))
    assert build_directory(FileRepo(tmp_path), "app", flux_root=True).resources == []


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (with embedded kustomize) is not on PATH")
@pytest.mark.parametrize(
    ("kustomization", "extra", "expected"), [case[1:] for case in BUILDS], ids=[case[0] for case in BUILDS]
)
def test_null_lists_match_kubectl_kustomize(
    tmp_path: Path, kustomization: str, extra: dict[str, str], expected: object
) -> None:
    write_repo(tmp_path, files(kustomization, extra))
    run = subprocess.run(
        [KUBECTL or "kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(tmp_path / "app")],
        capture_output=True,
        text=True,
    )
    if isinstance(expected, str):
        assert run.returncode != 0
        if expected != "error":
            assert expected in run.stderr
    else:
        assert run.returncode == 0, run.stderr
        assert [d for d in yaml.safe_load_all(run.stdout) if d is not None] == expected
