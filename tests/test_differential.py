"""Differential test: volsync-kit's offline render against the real tools.

For every Flux Kustomization of the example repository and of the render
fixtures, the volume objects volsync-kit renders must equal what Flux itself
would apply, reproduced step by step with the real kustomize:

1. write the kustomization Flux generates for ``spec.path`` (its own file with
   ``targetNamespace``, ``namePrefix``/``nameSuffix``, ``patches`` and
   ``components`` merged in, or one listing the folder's manifests);
2. build it with ``kubectl kustomize`` (kustomize embedded in kubectl), with
   load restrictions off as kustomize-controller builds;
3. substitute variables in the YAML *text* of each object, as
   kustomize-controller does, and decode the result by YAML 1.1 rules
   (PyYAML, like sigs.k8s.io/yaml's go-yaml v2);
4. add the owner labels, then ``commonMetadata``.

Step 3 uses volsync-kit's envsubst engine on text, which test_substitution
checks against Flux's own test table; everything else here is independent
of the model under test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core.flux import FluxKs, KsResult, walk
from volsync_kit.core.model import to_plain
from volsync_kit.core.render import is_volume_object
from volsync_kit.core.substitution import _eval, make_lookup, parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
FIXTURES = ROOT / "tests" / "fixtures" / "render"
KUBECTL = shutil.which("kubectl")
KFILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
VOLUME_KINDS = {"PersistentVolume", "PersistentVolumeClaim", "ReplicationSource", "ReplicationDestination"}

# Developers without kubectl skip this module; CI (CI=true) must never skip it.
pytestmark = pytest.mark.skipif(
    KUBECTL is None and not os.environ.get("CI"), reason="kubectl (with embedded kustomize) is not on PATH"
)


LAYOUTS = ROOT / "tests" / "fixtures" / "layouts"
Case = tuple[Path, str, str, str]  # repository, cluster, namespace, name


def _cases() -> list[Case]:
    cases: list[Case] = []
    # Every rendered Kustomization with volumes, of every cluster, in the
    # example and in the layouts written in the shapes of real repositories.
    for root in (EXAMPLE, *sorted(p for p in LAYOUTS.iterdir() if p.is_dir())):
        for result in walk(FileRepo(root)).results:
            if any(is_volume_object(r) for r in result.resources):
                ref = result.ks.ref
                cases.append((root, ref.cluster, ref.namespace, ref.name))
    for case in sorted(FIXTURES.iterdir()):
        expect = yaml.safe_load((case / "expect.yaml").read_text())
        for ks in expect["kustomizations"]:
            cases.append((case, "", ks["namespace"], ks["name"]))
    return cases


def _find(root: Path, namespace: str, name: str, cluster: str = "") -> KsResult:
    for result in walk(FileRepo(root)).results:
        if (result.ks.ref.cluster, result.ks.ref.namespace, result.ks.ref.name) == (cluster, namespace, name):
            return result
    raise AssertionError(f"{cluster}:{namespace}/{name} not rendered in {root}")


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


def _flux_kustomization(workdir: Path, ks: FluxKs, root: str = "") -> Path:
    spec: dict[str, Any] = to_plain(ks.node)["spec"]  # type: ignore[index,call-overload]
    # spec.path is relative to the source's artifact: an OCI artifact holds one folder.
    folder = (workdir / root / spec.get("path", ".").strip().lstrip("/")).resolve()
    existing = next((folder / k for k in KFILES if (folder / k).exists()), None)
    if existing is not None:
        kus = yaml.safe_load(existing.read_text())
        existing.unlink()
    else:
        kus = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        kus["resources"] = _generated_resources(folder)
    if spec.get("targetNamespace"):
        kus["namespace"] = spec["targetNamespace"]
    for key in ("namePrefix", "nameSuffix"):
        if spec.get(key):
            kus[key] = spec[key]
    for key in ("patches", "components"):
        if spec.get(key):
            kus[key] = [*(kus.get(key) or []), *spec[key]]
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kus, sort_keys=False))
    return folder


def _flux_apply_view(result: KsResult, workdir: Path) -> dict[tuple[str, str], Any]:
    folder = _flux_kustomization(workdir, result.ks, result.root)
    built = subprocess.run(
        [KUBECTL, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    spec = to_plain(result.ks.node)["spec"]  # type: ignore[index,call-overload]
    post = spec.get("postBuild")
    substitute = post is not None and (
        bool(result.variables) or bool(result.unknown) or result.open or post.get("substituteStrategy") == "Always"
    )
    # Flux's envsubst on the object's text; a variable whose value cannot be
    # known offline (a SOPS or ExternalSecret key, a source not in git) keeps
    # its ${...}, which is what volsync-kit must show for it too.
    lookup = make_lookup(dict(result.variables), opaque=result.open, unknown=result.unknown)
    common = spec.get("commonMetadata") or {}
    objects: dict[tuple[str, str], Any] = {}
    for text in built.split("\n---\n"):
        obj = yaml.safe_load(text)
        if obj["kind"] not in VOLUME_KINDS:
            continue
        meta = obj["metadata"]
        opted_out = "disabled" in (
            (meta.get("labels") or {}).get("kustomize.toolkit.fluxcd.io/substitute"),
            (meta.get("annotations") or {}).get("kustomize.toolkit.fluxcd.io/substitute"),
        )
        if substitute and not opted_out:
            obj = yaml.safe_load(_eval(parse(text), lookup) if "$" in text else text)
            meta = obj["metadata"]
        labels = meta.setdefault("labels", {})
        labels["kustomize.toolkit.fluxcd.io/name"] = result.ks.ref.name
        labels["kustomize.toolkit.fluxcd.io/namespace"] = result.ks.ref.namespace
        labels.update(common.get("labels") or {})
        if common.get("annotations"):
            meta.setdefault("annotations", {}).update(common["annotations"])
        objects[(obj["kind"], meta["name"])] = obj
    return objects


@pytest.mark.parametrize(
    ("root", "cluster", "namespace", "name"),
    _cases(),
    ids=lambda v: v.name if isinstance(v, Path) else (v or "-"),
)
def test_render_equals_kustomize_plus_flux(root: Path, cluster: str, namespace: str, name: str, tmp_path: Path) -> None:
    result = _find(root, namespace, name, cluster)
    assert result.status == "rendered", result.problems
    workdir = tmp_path / "repo"
    shutil.copytree(root, workdir)
    expected = _flux_apply_view(result, workdir)
    ours = {(r.kind, r.name): to_plain(r.node) for r in result.resources if r.kind in VOLUME_KINDS}
    assert expected, "the reference build produced no volume objects"
    assert sorted(ours) == sorted(expected)
    for key, obj in expected.items():
        assert ours[key] == obj, key


def test_failing_fixtures_fail_like_flux() -> None:
    """Builds that Flux refuses are failures here too, never empty renders."""
    checked = 0
    for case in sorted(FIXTURES.iterdir()):
        expect = yaml.safe_load((case / "expect.yaml").read_text())
        for ks in expect.get("failing", []):
            result = _find(case, ks["namespace"], ks["name"])
            assert result.status == "failed"
            assert result.resources == ()
            assert any(ks["error"] in p.message for p in result.problems), result.problems
            checked += 1
    assert checked >= 1
