"""`volsync-kit render` end to end: golden output, JSON contract, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from volsync_kit.adapters.resources import schema
from volsync_kit.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
runner = CliRunner()


def render(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["render", "--repo", str(EXAMPLE), *args])
    return result.exit_code, result.stdout, result.stderr


def test_yaml_output_matches_golden(golden) -> None:  # type: ignore[no-untyped-def]
    code, out, err = render()
    assert code == 0, err
    assert err == ""  # the only notes on the example are informational
    golden("render/home-ops.yaml", out)


def test_json_output_matches_golden_and_schema(golden) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = render("--format", "json", "--verbose")
    assert code == 0
    doc = json.loads(out)
    jsonschema.Draft202012Validator(schema("render.schema.json")).validate(doc)
    assert doc["version"] == 2
    assert [a["app"] for a in doc["apps"]] == [
        "cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr",
    ]  # fmt: skip
    golden("render/home-ops.json", out)


def test_verbose_prints_informational_problems() -> None:
    code, _, err = render("-v")
    assert code == 0
    lines = err.splitlines()
    assert (
        "kubernetes/apps/media/oldapp/ks.yaml:4:1: info [kustomization-inactive] Kustomization oldapp is not "
        "reached from the entry point; treated as inactive (Kustomization media/oldapp)"
    ) in lines


def test_app_filter_by_app_variable() -> None:
    code, out, _ = render("--app", "pgadmin", "--format", "json")
    assert code == 0
    apps = json.loads(out)["apps"]
    assert [a["kustomization"] for a in apps] == [
        {"name": "pgadmin", "namespace": "database", "file": "kubernetes/apps/database/pgadmin/ks.yaml", "cluster": ""}
    ]
    kinds = [o["kind"] for o in apps[0]["objects"]]
    assert kinds == [
        "PersistentVolume", "PersistentVolumeClaim", "PersistentVolumeClaim", "ReplicationSource",
        "ReplicationSource", "ReplicationDestination", "ExternalSecret", "ExternalSecret",
    ]  # fmt: skip


def test_unknown_app_is_a_usage_error() -> None:
    code, out, err = render("--app", "nope")
    assert code == 2
    assert out == ""
    assert err.startswith("volsync-kit: error: --app nope: no app of that name")
    assert "jellyfin" in err


def test_bad_format_is_a_usage_error() -> None:
    code, _, _ = render("--format", "xml")
    assert code == 2


@pytest.mark.parametrize(
    ("command", "codes"),
    [
        (["--help"], "Exit codes: 0 OK; 1 findings"),
        (["render", "--help"], "Exit codes: 0 OK; 2 usage, config or input error, or an app that cannot be rendered"),
    ],
)
def test_help_documents_exit_codes(command: list[str], codes: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "volsync_kit", *command], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert codes in text
    assert "2 usage, config or input error" in text


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("volsync-kit ")


def test_repo_defaults_to_git_toplevel(tmp_path: Path) -> None:
    repo = tmp_path / "ops"
    subprocess.run(["cp", "-r", str(EXAMPLE), str(repo)], check=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    inside = repo / "kubernetes" / "apps" / "media"
    result = subprocess.run(
        [sys.executable, "-m", "volsync_kit", "render", "--app", "radarr", "--format", "json"],
        cwd=inside,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["apps"][0]["app"] == "radarr"


@pytest.mark.parametrize("command", [[], ["lint"], ["render"], ["plan"], ["generate"], ["tree"], ["doctor"]])
def test_dash_h_is_help_everywhere(command: list[str]) -> None:
    long = CliRunner().invoke(app, [*command, "--help"])
    short = CliRunner().invoke(app, [*command, "-h"])
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout
    assert short.stdout.startswith("Usage: volsync-kit")


def test_lint_of_a_file_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[1] / "examples" / "home-ops"
    result = CliRunner().invoke(app, ["lint", "--repo", str(example), str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"volsync-kit: error: {tmp_path / 'missing.yaml'}: no such file; name files of the repository, "
        "or none to lint it all\n"
    )


@pytest.mark.parametrize("command", ["render", "tree"])
def test_render_and_tree_read_the_config_as_lint_does(tmp_path: Path, command: str) -> None:
    import shutil

    root = tmp_path / "ops"
    shutil.copytree(Path(__file__).resolve().parents[1] / "examples" / "home-ops", root)
    (root / "other.yaml").write_text("entry: kubernetes/nowhere\n")
    for args in (["lint"], [command]):
        result = CliRunner().invoke(app, [*args, "--repo", str(root), "--config", str(root / "other.yaml")])
        assert result.exit_code == 2, (args, result.stdout)
        assert "--entry kubernetes/nowhere: no such folder" in result.stderr
    missing = CliRunner().invoke(app, [command, "--repo", str(root), "--config", str(root / "missing.yaml")])
    assert missing.exit_code == 2
    assert missing.stderr == f"volsync-kit: error: --config {root / 'missing.yaml'}: no such file\n"
