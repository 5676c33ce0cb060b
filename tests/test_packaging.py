"""The wheel ships schemas/ and templates/, and an installed build loads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("volsync_kit-*.whl")
    return built


def test_wheel_contains_schemas_and_templates(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in (ROOT / "schemas").glob("*.json"):
        assert f"volsync_kit/schemas/{schema.name}" in names
    for template in (ROOT / "templates").rglob("*"):
        if template.is_file():
            assert f"volsync_kit/templates/{template.relative_to(ROOT / 'templates').as_posix()}" in names
    assert not any(n.startswith(("tests/", "examples/")) for n in names)


def test_installed_build_loads_schemas_and_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    probe = (
        "import json, volsync_kit\n"
        "from volsync_kit.adapters.resources import data_dir, schema\n"
        "print(json.dumps({'module': volsync_kit.__file__, 'schemas': str(data_dir('schemas')),\n"
        "  'templates': sorted(p.name for p in data_dir('templates').iterdir()),\n"
        "  'component': sorted(__import__('volsync_kit.adapters.templates', fromlist=['x']).component_templates()),\n"
        "  'render_title': schema('render.schema.json')['title']}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout
    found = json.loads(out)
    assert found["module"].startswith(str(target))
    assert found["schemas"] == str(target / "volsync_kit" / "schemas")
    assert found["templates"] == sorted(p.name for p in (ROOT / "templates").iterdir())
    assert found["render_title"] == "volsync-kit render --format json"
    assert found["component"] == ["kustomization.yaml", "pv.yaml", "pvc.yaml"]
