"""The layering contract: a pure core, adapters behind it, a thin CLI on top."""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "volsync_kit"
STDLIB = set(sys.stdlib_module_names)


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(sub: str = "") -> list[Path]:
    return sorted((PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_imports_only_stdlib_and_core(path: Path) -> None:
    for name in imports(path):
        top = name.split(".")[0]
        assert top in STDLIB or name.startswith("volsync_kit.core"), f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_cli_imports_typer_and_nothing_imports_click(path: Path) -> None:
    names = imports(path)
    assert not any(n.split(".")[0] == "click" or n.startswith("typer._click") for n in names)
    if path.name != "cli.py":
        assert not any(n.split(".")[0] == "typer" for n in names), path


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_third_party_libraries_stay_in_their_adapter(path: Path) -> None:
    names = {n.split(".")[0] for n in imports(path)}
    rel = path.relative_to(PACKAGE).as_posix()
    if "yaml" in names:
        assert rel == "adapters/yamlio.py"
    if "ruamel" in names:
        assert rel.startswith("adapters/")
    if "jsonschema" in names:
        assert rel.startswith("adapters/")


@pytest.mark.parametrize("path", modules("report") + modules("adapters"), ids=lambda p: p.name)
def test_reports_and_adapters_do_not_reach_up(path: Path) -> None:
    for name in imports(path):
        assert not name.startswith(("volsync_kit.cli", "volsync_kit.app")), f"{path.name} imports {name}"
        if "report" in path.parts:
            assert not name.startswith("volsync_kit.adapters"), f"{path.name} imports {name}"


def test_cli_help_does_not_import_the_core() -> None:
    """`--help` and the hook's start-up stay fast: the core loads on demand."""
    import json
    import subprocess

    code = "import json, sys, volsync_kit.cli; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "volsync_kit.cli" in loaded
    assert not loaded & {"volsync_kit.core.flux", "volsync_kit.core.kustomize", "yaml", "jsonschema", "ruamel"}


def test_lint_help_builds_no_pydantic_adapters() -> None:
    """typer 0.29 builds a pydantic TypeAdapter for every parameter when it builds a
    command, which costs about 0.1 s before `lint --help` prints (issue 16: the hook
    starts on every commit); pyproject keeps typer below it."""
    import json
    import subprocess

    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from volsync_kit.cli import app\n"
        "assert CliRunner().invoke(app, ['lint', '--help']).exit_code == 0\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(json.loads(out))
    assert "typer" in loaded
    assert not {m for m in loaded if m == "pydantic" or m.startswith("pydantic.")}


def _modules_loaded_by(args: list[str], env: dict[str, str] | None = None) -> set[str]:
    """The modules a successful command loads, run in a fresh interpreter."""
    import json
    import subprocess

    code = (
        "import json, sys\n"
        "from typer.testing import CliRunner\n"
        "from volsync_kit.cli import app\n"
        f"result = CliRunner().invoke(app, {args!r})\n"
        "assert result.exit_code == 0, result.output\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return set(json.loads(out.stdout))


def test_lint_loads_nothing_of_plan() -> None:
    """The hook runs lint on every commit: plan's planner, checklist and scenarios
    (a tenth of lint's start-up on a small repository) are imported only by the
    commands that plan."""
    example = str(PACKAGE.parent / "examples" / "home-ops")
    loaded = _modules_loaded_by(["lint", "--repo", example, "--no-cache"])
    assert "volsync_kit.core.lint" in loaded
    assert not loaded & {"volsync_kit.core.planner", "volsync_kit.core.checklist", "volsync_kit.core.scenarios"}


def test_a_lint_that_reuses_its_record_loads_neither_rules_nor_model(tmp_path: Path) -> None:
    """The hook's run after an edit that changes no volume answers from the
    recorded run: it loads no rule, no Flux model and neither YAML parser nor
    jsonschema (the config was read and validated before), nor
    importlib.resources (the schema is read from the package folder)."""
    import shutil

    example = tmp_path / "repo"
    shutil.copytree(PACKAGE.parent / "examples" / "home-ops", example)
    time.sleep(2.1)  # settled (cache.RACY_NS): stamps vouch for the files, none is read again
    env = {**os.environ, "VOLSYNC_KIT_CACHE_DIR": str(tmp_path / "cache")}
    first = _modules_loaded_by(["lint", "--repo", str(example)], env)  # walks and records
    assert {"volsync_kit.core.rules", "volsync_kit.core.flux", "jsonschema"} <= first
    again = _modules_loaded_by(["lint", "--repo", str(example)], env)
    assert "volsync_kit.core.lintreport" in again
    assert not again & {"volsync_kit.core.rules", "volsync_kit.core.flux", "yaml", "ruamel.yaml", "jsonschema",
                         "importlib.resources", "volsync_kit.core.facts", "volsync_kit.core.variables",
                         "volsync_kit.core.substitution"}  # fmt: skip


def test_a_lint_that_builds_one_app_again_loads_no_rule(tmp_path: Path) -> None:
    """After a Renovate tag bump the app is built again alone (the Flux model
    loads) and its projection compared; the file view's question about the
    file is asked again too (core.volumedocs): neither loads the lint engine
    or a rule, which only a walk needs."""
    import shutil

    example = tmp_path / "repo"
    shutil.copytree(PACKAGE.parent / "examples" / "home-ops", example)
    time.sleep(2.1)  # settled (cache.RACY_NS)
    env = {**os.environ, "VOLSYNC_KIT_CACHE_DIR": str(tmp_path / "cache")}
    _modules_loaded_by(["lint", "--repo", str(example)], env)  # walks and records
    release = example / "kubernetes/apps/database/pgadmin/app/helmrelease.yaml"
    release.write_text(release.read_text(encoding="utf-8").replace("tag: 9.5", "tag: 9.6"), encoding="utf-8")
    again = _modules_loaded_by(["lint", "--repo", str(example)], env)
    assert {"volsync_kit.core.flux", "volsync_kit.core.volumedocs"} <= again
    # Nor tempfile (generate's writes).  (json the harness loads itself: see _modules_loaded_by.)
    assert not again & {"volsync_kit.core.lint", "volsync_kit.core.rules", "volsync_kit.core.rules._api", "tempfile"}


@pytest.mark.parametrize("command", [["render", "--format", "json"], ["plan"], ["tree"]])
def test_a_warm_run_validates_an_unchanged_config_no_more(tmp_path: Path, command: list[str]) -> None:
    """render, tree and plan read the config through the cache as lint does: once
    validated, an unchanged config costs no jsonschema import (0.1 s) again."""
    import shutil
    import subprocess

    example = tmp_path / "repo"
    shutil.copytree(PACKAGE.parent / "examples" / "home-ops", example)
    assert (example / ".volsync-kit.yaml").is_file()
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "b"]):
        subprocess.run(["git", *args], cwd=example, check=True, capture_output=True)
    env = {**os.environ, "VOLSYNC_KIT_CACHE_DIR": str(tmp_path / "cache")}
    assert "jsonschema" in _modules_loaded_by([*command, "--repo", str(example)], env)
    assert "jsonschema" not in _modules_loaded_by([*command, "--repo", str(example)], env)
