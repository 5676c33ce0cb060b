"""kustomize ``replacements``, checked against the real kustomize (in kubectl).

The fixture copies a Namespace's name into every Flux Kustomization's
``targetNamespace`` (from a ``path`` file, with ``create``), a ConfigMap value
into a list element picked by ``[name=app]`` and an index, one part of a
delimited string into another, a value into a created field of objects chosen
by ``reject``, and one into objects chosen by a label selector.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from helpers_repo import write_repo

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core.kustomize import build_directory
from volsync_kit.core.model import ModelError, to_plain

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "kustomize" / "replacements"
KUBECTL = shutil.which("kubectl")


def _key(obj: dict[str, object]) -> tuple[str, str]:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    return (str(obj["kind"]), str(meta["name"]))


@pytest.mark.skipif(KUBECTL is None and not os.environ.get("CI"), reason="kubectl is not on PATH")
def test_replacements_equal_kustomize() -> None:
    reference = subprocess.run(
        [KUBECTL or "kubectl", "kustomize", str(FIXTURE)], capture_output=True, text=True, check=True
    ).stdout
    expected = sorted(yaml.safe_load_all(reference), key=_key)
    ours = sorted((to_plain(r.node) for r in build_directory(FileRepo(FIXTURE), "").resources), key=_key)  # type: ignore[arg-type]
    assert ours == expected
    # the case real repositories have: every Flux Kustomization gets the Namespace's name
    ks = next(o for o in ours if o["kind"] == "Kustomization")  # type: ignore[index]
    assert ks["spec"]["targetNamespace"] == "dbms"  # type: ignore[index]


def test_a_missing_target_field_fails_like_kustomize(tmp_path: Path) -> None:
    kustomization = (
        "resources: [cm.yaml]\n"
        "replacements:\n"
        "  - source: {kind: ConfigMap, name: cm, fieldPath: data.a}\n"
        "    targets:\n"
        "      - select: {kind: ConfigMap}\n"
        "        fieldPaths: [spec.missing]\n"
    )
    write_repo(
        tmp_path,
        {
            "kustomization.yaml": kustomization,
            "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n",
        },
    )
    with pytest.raises(ModelError) as err:
        build_directory(FileRepo(tmp_path), "")
    assert err.value.message == 'unable to find field "spec.missing" in replacement target'
    assert err.value.loc is not None
    assert (err.value.loc.file, err.value.loc.line) == ("kustomization.yaml", 6)
