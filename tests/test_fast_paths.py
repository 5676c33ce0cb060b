"""Every fast path gives what the slow path gives (issue 6): shared parses,
the shortcut tag resolution, and entry detection's text pre-filter."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from volsync_kit.adapters import yamlio
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core import flux

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(p for p in ROOT.glob("examples/**/*.y*ml")) + sorted(ROOT.glob("tests/fixtures/render/**/*.y*ml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_shared_parse_equals_a_fresh_parse(path: Path) -> None:
    text = path.read_text()
    assert yamlio.load_documents(text, "f.yaml") == yamlio._load(text, "f.yaml", 0, 0)


def test_shortcut_tag_resolution_equals_pyyamls(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [p.read_text() for p in FILES]
    fast = [yamlio._load(t, "f.yaml", 0, 0) for t in texts]
    monkeypatch.setattr(yamlio._Loader, "resolve", yaml.resolver.BaseResolver.resolve)
    slow = [yamlio._load(t, "f.yaml", 0, 0) for t in texts]
    assert fast == slow


def test_entry_prefilter_finds_what_parsing_every_file_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [e.path for e in flux.detect_entries(FileRepo(ROOT / "examples" / "home-ops"))] == [
        "kubernetes/flux/cluster"
    ]
    for root in (ROOT / "examples" / "home-ops", *sorted((ROOT / "tests" / "fixtures" / "render").iterdir())):
        filtered = flux.detect_entries(FileRepo(root))
        monkeypatch.setattr(flux, "_may_hold_entry", lambda text: True)
        unfiltered = flux.detect_entries(FileRepo(root))
        monkeypatch.undo()
        assert filtered == unfiltered, root
