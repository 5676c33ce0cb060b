"""Bounds that keep a hostile repository cheap: alias bombs, deep nesting, huge files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volsync_kit.adapters.fs import MAX_FILE_BYTES
from volsync_kit.adapters.yamlio import MAX_DEPTH, load_documents
from volsync_kit.cli import app
from volsync_kit.core.model import ModelError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"


def alias_bomb(levels: int = 9) -> str:
    lines = ["a: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused_at_its_line() -> None:
    with pytest.raises(ModelError) as err:
        load_documents(alias_bomb(), "bomb.yaml")
    assert err.value.code == "yaml-aliases"
    assert err.value.loc is not None
    assert (err.value.loc.file, err.value.loc.line) == ("bomb.yaml", 6)


def test_a_few_shared_aliases_are_fine() -> None:
    (doc,) = load_documents(alias_bomb(levels=3), "ok.yaml")
    assert doc.node is not None


def test_nesting_deeper_than_the_limit_is_refused() -> None:
    text = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    with pytest.raises(ModelError) as err:
        load_documents(text, "deep.yaml")
    assert err.value.code == "yaml-depth"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (alias_bomb().encode(), "yaml-aliases"),
        (b"# big\n" + b"x: " + b"y" * (MAX_FILE_BYTES + 1) + b"\n", "file-too-large"),
    ],
    ids=["alias-bomb", "too-large"],
)
def test_render_and_lint_report_the_bound_in_one_line(tmp_path: Path, content: bytes, code: str) -> None:
    root = tmp_path / "ops"
    shutil.copytree(EXAMPLE, root)
    (root / PV).write_bytes(content)
    result = CliRunner().invoke(app, ["render", "--repo", str(root)])
    assert result.exit_code == 2
    assert f"{PV}:" in result.stderr
    assert f"error [{code}]" in result.stderr
    assert "Traceback" not in result.stderr
    lint = CliRunner().invoke(app, ["lint", "--repo", str(root)])
    assert lint.exit_code == 1
    assert f"{PV}:" in lint.stdout
    assert "error VK001" in lint.stdout
