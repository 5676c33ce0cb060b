"""Every fast path gives what the slow path gives (issue 6): shared parses,
the shortcut tag resolution, and entry detection's text pre-filter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from volsync_kit.adapters import yamlio
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.core import flux
from volsync_kit.core.model import Map, Node, Scalar, Seq, iter_scalars, str_at
from volsync_kit.core.substitution import TreeSubstituter, TreeSubstitutionError, substitute_tree

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
        monkeypatch.setattr(flux, "may_declare", lambda text: True)
        unfiltered = flux.detect_entries(FileRepo(root))
        monkeypatch.undo()
        assert filtered == unfiltered, root


# -- this round's fast paths -------------------------------------------------------------


def _unflagged(node: Node) -> Node:
    """The same tree with every ``vars_free`` flag at its default (unknown)."""
    if isinstance(node, Map):
        return Map({k: _unflagged(v) for k, v in node.items.items()}, node.loc, node.key_locs)
    if isinstance(node, Seq):
        return Seq(tuple(_unflagged(v) for v in node.items), node.loc)
    return node


VARIABLES = {"APP": "sonarr", "VOLSYNC_CAPACITY": "10Gi", "TIMEZONE": "Europe/Berlin", "PUID": "1000"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_skipping_variable_free_subtrees_substitutes_what_a_full_walk_does(path: Path) -> None:
    for doc in yamlio.load_documents(path.read_text(), "f.yaml"):
        if doc.node is None:
            continue
        assert _outcome(doc.node) == _outcome(_unflagged(doc.node))


def _outcome(node: Node) -> object:
    try:
        return substitute_tree(node, VARIABLES, strict=False)
    except TreeSubstitutionError as err:  # the same error, at the same place
        return (err.message, err.loc, err.variable)


def test_the_parser_flags_exactly_the_subtrees_without_a_dollar() -> None:
    for path in FILES:
        for doc in yamlio.load_documents(path.read_text(), "f.yaml"):
            stack = [doc.node] if doc.node is not None else []
            while stack:
                node = stack.pop()
                if isinstance(node, Scalar):
                    continue
                texts = [*iter_scalars(node)]
                keys = _keys(node)
                has_dollar = any(isinstance(s.value, str) and "$" in s.value for _, s in texts) or any(
                    "$" in k for k in keys
                )
                assert node.vars_free is not has_dollar, (path, node.loc)
                stack.extend(node.items.values() if isinstance(node, Map) else node.items)


def _keys(node: Node) -> list[str]:
    if isinstance(node, Map):
        return [*node.items, *(k for v in node.items.values() for k in _keys(v))]
    if isinstance(node, Seq):
        return [k for v in node.items for k in _keys(v)]
    return []


def test_one_substituter_per_build_equals_one_per_object() -> None:
    """The memo of evaluated texts, shared by a build's objects, changes nothing."""
    model = flux.walk(FileRepo(ROOT / "examples" / "home-ops"))
    for result in model.results:
        if not result.variables:
            continue
        shared = TreeSubstituter(result.variables, strict=False)
        for res in result.resources:
            assert shared.tree(res.node) == TreeSubstituter(result.variables, strict=False).tree(res.node)


def test_resource_identity_read_once_equals_reading_the_tree() -> None:
    model = flux.walk(FileRepo(ROOT / "examples" / "home-ops"))
    for result in model.results:
        for res in result.resources:
            assert (res.kind, res.api_version, res.name, res.namespace) == (
                str_at(res.node, "kind") or "",
                str_at(res.node, "apiVersion") or "",
                str_at(res.node, "metadata", "name") or "",
                str_at(res.node, "metadata", "namespace") or "",
            )


def test_resolving_paths_one_folder_at_a_time_equals_realpath(tmp_path: Path) -> None:
    """FileRepo resolves a path on top of its cached parent; the slow path is
    os.path.realpath of the whole path plus the containment check."""
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f.yaml").write_text("x: 1\n")
    (root / "outside-target").mkdir()
    os.symlink("b", root / "a" / "link-to-b")
    os.symlink("../a/b/f.yaml", root / "a" / "link-to-f.yaml")
    os.symlink(str(tmp_path), root / "a" / "link-out")
    os.symlink("loop2", root / "a" / "loop1")
    os.symlink("loop1", root / "a" / "loop2")
    os.symlink("link-to-b/f.yaml", root / "a" / "chain.yaml")
    paths = [
        "a", "a/b", "a/b/f.yaml", "a/link-to-b", "a/link-to-b/f.yaml", "a/link-to-f.yaml", "a/link-out",
        "a/link-out/repo/a/b/f.yaml", "a/loop1", "a/loop1/x", "a/chain.yaml", "a/missing", "a/missing/deeper",
    ]  # fmt: skip
    repo = FileRepo(root)
    real_root = str(root.resolve())

    def slow(path: str) -> str | None:
        try:
            expected: str | None = os.path.realpath(os.path.join(real_root, path), strict=False)
        except (OSError, RuntimeError):
            expected = None
        if expected is not None and expected != real_root and not expected.startswith(real_root + os.sep):
            expected = None
        return expected

    for path in paths:
        assert repo._real(path) == slow(path), path
    # Listing every YAML file first resolves the plain ones from the listing.
    scanned = FileRepo(root)
    files = list(scanned.yaml_files())
    assert {"a/b/f.yaml", "a/link-to-f.yaml", "a/chain.yaml"} <= set(files)
    assert "a/b/f.yaml" in scanned._reals
    for path in [*files, *paths]:
        assert scanned._real(path) == slow(path), path
    listing = repo.listdir("a")
    assert listing == FileRepo(root).listdir("a")
    assert listing == (("b", "link-to-b"), ("chain.yaml", "link-to-f.yaml"))


def test_listing_every_yaml_file_first_lists_and_kinds_folders_as_listdir_does(tmp_path: Path) -> None:
    """FileRepo.yaml_files keeps each folder's listing and its entries' kinds
    (the search for .sourceignore files lists every folder again): a folder
    holding a link is listed by listdir as before, and every answer equals
    one from a FileRepo that never listed the YAML files."""
    root = tmp_path / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / ".hidden").mkdir()
    (root / "a" / ".hidden" / "h.yaml").write_text("x: 1\n")
    (root / "a" / "b" / "f.yaml").write_text("x: 1\n")
    (root / "a" / "b" / ".sourceignore").write_text("*.txt\n")
    (root / "a" / "b" / "notes.txt").write_text("x\n")
    (root / "a" / "b" / "g.yml").write_text("x: 1\n")
    (root / "c").mkdir()
    os.symlink("../a/b", root / "c" / "to-b")
    os.symlink("../a/b/f.yaml", root / "c" / "to-f.yaml")
    os.symlink("nowhere.yaml", root / "c" / "broken.yaml")
    os.mkfifo(root / "a" / "pipe.yaml")
    (root / "top.yaml").write_text("x: 1\n")
    scanned = FileRepo(root)
    files = list(scanned.yaml_files())
    assert files == ["top.yaml", "a/pipe.yaml", "a/b/f.yaml", "a/b/g.yml", "c/broken.yaml", "c/to-f.yaml"]
    assert set(scanned._listings) == {"", "a", "a/b"}  # c holds links: listed by listdir, as before
    paths = ["", "a", "a/b", "a/.hidden", "a/.hidden/h.yaml", "c", "c/to-b", "c/to-b/f.yaml", "top.yaml",
             "a/pipe.yaml", "a/b/notes.txt", "a/b/.sourceignore", *files]  # fmt: skip
    for path in paths:
        fresh = FileRepo(root)
        assert scanned.kind(path) == fresh.kind(path), path
        assert scanned._real(path) == fresh._real(path), path
        if fresh.kind(path) == "dir":
            assert scanned.listdir(path) == FileRepo(root).listdir(path), path
    assert scanned.listdir("a") == ((".hidden", "b"), ())  # the pipe is no file


@pytest.mark.parametrize(
    "root", [ROOT / "examples" / "home-ops", *sorted((ROOT / "tests" / "fixtures" / "render").iterdir())], ids=str
)
def test_streamed_render_json_is_byte_for_byte_json_dumps(root: Path) -> None:
    import json

    from volsync_kit.core import render
    from volsync_kit.core.render import RenderResult
    from volsync_kit.report import render_out

    # the core's walk: the render fixtures are single Kustomizations without an entry point
    result = render.render(flux.walk(FileRepo(root)))
    for case in (result, RenderResult((), (), 0), RenderResult(result.apps, (), 1)):
        text = render_out.to_json(case)
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


# A name, and text made of its pieces and of characters at a word's edge.
_NAMES = st.sampled_from(["a", "sonarr", "app-1", "x.y", "aa", "a-a"])
_TEXTS = st.lists(st.sampled_from(["a", "sonarr", "app-1", "x.y", "aa", "-", "/", "1", "Z", " ", "${APP}", "."]))


@settings(max_examples=2000, deadline=None)
@given(_TEXTS.map("".join), _NAMES)
def test_templated_equals_the_word_bounded_regex_it_replaces(text: str, app: str) -> None:
    import re

    from volsync_kit.core.names import templated

    expected = re.sub(rf"(?<![A-Za-z0-9]){re.escape(app)}(?![A-Za-z0-9])", "${APP}", text)
    assert templated(text, app) == expected


def test_templated_writes_the_app_as_a_variable_only_where_it_stands_as_a_word() -> None:
    from volsync_kit.core.names import templated

    assert templated("/volsync/sonarr", "sonarr") == "/volsync/${APP}"
    assert templated("sonarr2 sonarr-x xsonarr", "sonarr") == "sonarr2 ${APP}-x xsonarr"
    assert templated("aaa", "aa") == "aaa"
    assert templated("Za-a-a", "a-a") == "Za-${APP}"
    assert templated("a.a", "a") == "${APP}.${APP}"
    assert templated("/volsync/sonarr", None) == "/volsync/sonarr"
