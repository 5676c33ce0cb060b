"""Strict post-build substitution follows the cluster's kustomize-controller: strict by
default since Flux 2.9 (fluxcd/kustomize-controller#1671), lenient where the FluxInstance
patches the controller with --feature-gates=StrictPostBuildSubstitutions=false, as real
repositories did when 2.9 broke their apps (gavinmcfall/home-ops#2425)."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from volsync_kit.cli import app

LAYOUT = Path(__file__).parent / "fixtures" / "layouts" / "generator-vars"
INSTANCE = "kubernetes/apps/flux-system/flux-instance/app/fluxinstance.yaml"
RELEASE = "kubernetes/apps/media/jellystat/app/helmrelease.yaml"
OPT_OUT = """  kustomize:
    patches:
      - patch: |
          - op: add
            path: /spec/template/spec/containers/0/args/-
            value: --feature-gates=StrictPostBuildSubstitutions=false
        target:
          kind: Deployment
          name: kustomize-controller
"""


def repo(tmp_path: Path, opt_out: bool) -> Path:
    root = tmp_path / "ops"
    shutil.copytree(LAYOUT, root)
    release = root / RELEASE
    release.write_text(release.read_text().rstrip("\n") + "\n      banner: https://${PUBLIC_DOMAIN}/\n")
    if opt_out:
        instance = root / INSTANCE
        instance.write_text(instance.read_text() + OPT_OUT)
    return root


def render(root: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["render", "--repo", str(root), "--no-cache"])
    return result.exit_code, result.stderr


def test_an_unset_variable_fails_the_build_by_default(tmp_path: Path) -> None:
    code, err = render(repo(tmp_path, opt_out=False))
    assert code == 2
    assert f"{RELEASE}:" in err
    assert 'variable not set (strict mode): "PUBLIC_DOMAIN"' in err


def test_a_cluster_that_opts_out_of_strict_mode_builds(tmp_path: Path) -> None:
    code, err = render(repo(tmp_path, opt_out=True))
    assert code == 0, err
    assert "strict mode" not in err
