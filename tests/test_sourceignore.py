"""source-controller's ignore rules (volsync_kit.core.sourceignore).

Expected values follow fluxcd/pkg ``sourceignore`` (defaults, loading order,
the defaults being replaced) and its vendored go-git ``gitignore`` matcher,
with ``storage.Archive`` asking about every file, also inside excluded
folders.  Where that differs from git, the case says so.
"""

from __future__ import annotations

import itertools

import pytest

from volsync_kit.core.sourceignore import DEFAULT_PATTERNS, VCS_PATTERNS, Ignore, Pattern, go_match, read_patterns

D, F = True, False  # is_dir

# (spec.ignore, .sourceignore files, path, is_dir, ignored)
CASES: list[tuple[str, str | None, dict[str, str], str, bool, bool]] = [
    # -- defaults: VCS, images and archives, CI files, **/.sops.yaml & co --------------
    ("vcs dir", None, {}, ".git", D, True),
    ("vcs below", None, {}, ".git/config", F, True),
    ("vcs .gitignore", None, {}, ".gitignore", F, True),
    ("vcs .gitignore anywhere", None, {}, "apps/.gitignore", F, True),
    ("vcs .gitattributes", None, {}, ".gitattributes", F, True),
    ("default image", None, {}, "logo.png", F, True),
    ("default image deep", None, {}, "docs/img/shot.jpeg", F, True),
    ("default archive", None, {}, "backup.tar.gz", F, True),
    ("default .github", None, {}, ".github/workflows/ci.yaml", F, True),
    ("default .github anywhere", None, {}, "apps/.github/x.yaml", F, True),
    ("default .github is dir-only", None, {}, ".github", F, False),
    ("default .travis.yml", None, {}, ".travis.yml", F, True),
    ("default cloudbuild", None, {}, "sub/cloudbuild.yaml", F, True),
    ("default .sops.yaml root", None, {}, ".sops.yaml", F, True),
    ("default .sops.yaml deep", None, {}, "kubernetes/apps/.sops.yaml", F, True),
    ("default .flux.yaml", None, {}, "clusters/.flux.yaml", F, True),
    ("default .goreleaser.yml", None, {}, ".goreleaser.yml", F, True),
    ("default keeps manifests", None, {}, "kubernetes/apps/app/ks.yaml", F, False),
    ("default keeps .yml of other names", None, {}, ".sops.yml", F, False),
    ("root is never ignored", None, {}, "", D, False),
    # -- spec.ignore replaces the defaults (not the VCS patterns) ----------------------
    ("spec replaces image default", "/docs/\n", {}, "logo.png", F, False),
    ("spec replaces .sops.yaml default", "/docs/\n", {}, ".sops.yaml", F, False),
    ("spec keeps VCS", "/docs/\n", {}, ".git/HEAD", F, True),
    ("spec pattern applies", "/docs/\n", {}, "docs/index.md", F, True),
    ("empty spec keeps defaults", "", {}, "logo.png", F, True),
    ("comment-only spec keeps defaults", "# nothing\n\n   \n", {}, "logo.png", F, True),
    # -- flux-cluster-template: /* then !/kubernetes ------------------------------------
    ("fct root file", "/*\n!/kubernetes\n", {}, "README.md", F, True),
    ("fct other dir", "/*\n!/kubernetes\n", {}, "docs", D, True),
    ("fct below other dir", "/*\n!/kubernetes\n", {}, "docs/a/b.md", F, True),
    ("fct kubernetes dir", "/*\n!/kubernetes\n", {}, "kubernetes", D, False),
    ("fct below kubernetes", "/*\n!/kubernetes\n", {}, "kubernetes/apps/app/ks.yaml", F, False),
    (
        "fct .sops.yaml below kubernetes (defaults replaced)",
        "/*\n!/kubernetes\n",
        {},
        "kubernetes/.sops.yaml",
        F,
        False,
    ),
    ("fct root .sops.yaml", "/*\n!/kubernetes\n", {}, ".sops.yaml", F, True),
    # -- negation inside an excluded folder --------------------------------------------
    # git would keep keep.yaml out (its parent is excluded); source-controller
    # walks into the folder and asks about each file, so the ! re-includes it.
    ("excluded folder", "/secret/\n!/secret/keep.yaml\n", {}, "secret", D, True),
    ("excluded folder's file", "/secret/\n!/secret/keep.yaml\n", {}, "secret/other.yaml", F, True),
    ("re-included inside excluded folder", "/secret/\n!/secret/keep.yaml\n", {}, "secret/keep.yaml", F, False),
    ("simple negation inside excluded folder", "build/\n!*.yaml\n", {}, "build/out/app.yaml", F, False),
    # -- later patterns win ---------------------------------------------------------------
    ("later negation wins", "*.yaml\n!keep.yaml\n", {}, "apps/keep.yaml", F, False),
    ("later exclusion wins", "!keep.yaml\n*.yaml\n", {}, "apps/keep.yaml", F, True),
    ("earlier exclusion still applies", "*.yaml\n!keep.yaml\n", {}, "apps/other.yaml", F, True),
    # -- anchoring ----------------------------------------------------------------------
    ("leading / anchors", "/config.yaml\n", {}, "config.yaml", F, True),
    ("leading / not deeper", "/config.yaml\n", {}, "sub/config.yaml", F, False),
    ("no slash matches at any depth", "config.yaml\n", {}, "a/b/config.yaml", F, True),
    ("no slash matches a folder name above", "tmp\n", {}, "a/tmp/b.yaml", F, True),
    ("middle slash anchors", "apps/x.yaml\n", {}, "apps/x.yaml", F, True),
    ("middle slash not deeper", "apps/x.yaml\n", {}, "k/apps/x.yaml", F, False),
    ("glob matches below a matched folder", "apps/*\n", {}, "apps/a/b/c.yaml", F, True),
    ("* does not cross /", "apps/*.yaml\n", {}, "apps/a/b.yaml", F, False),
    # -- trailing / : folders only ----------------------------------------------------------
    ("dir-only matches dir", "build/\n", {}, "build", D, True),
    ("dir-only skips file", "build/\n", {}, "build", F, False),
    ("dir-only matches below", "build/\n", {}, "src/build/out.txt", F, True),
    ("anchored dir-only skips file", "/out/\n", {}, "out", F, False),
    # -- ** ------------------------------------------------------------------------------
    ("leading **", "**/tmp\n", {}, "a/b/tmp", F, True),
    ("leading ** at top", "**/tmp\n", {}, "tmp", F, True),
    ("leading ** below", "**/tmp\n", {}, "a/tmp/x", F, True),
    ("middle ** zero dirs", "a/**/b\n", {}, "a/b", F, True),
    ("middle ** many dirs", "a/**/b\n", {}, "a/x/y/b", F, True),
    ("middle ** below match", "a/**/b\n", {}, "a/x/b/c", F, True),
    ("middle ** no b", "a/**/b\n", {}, "a/x/c", F, False),
    ("trailing ** below", "a/**\n", {}, "a/x/y", F, True),
    ("trailing ** matches the folder itself (go-git, not git)", "a/**\n", {}, "a", F, True),
    ("** inside a segment never matches (go-git)", "a/b**\n", {}, "a/bc", F, False),
    ("/** alone matches nothing (go-git)", "/**\n", {}, "a/b", F, False),
    # -- wildcards and classes: Go's filepath.Match ------------------------------------------
    ("? one char", "file?.yaml\n", {}, "file1.yaml", F, True),
    ("? not two", "file?.yaml\n", {}, "file10.yaml", F, False),
    ("class", "[ab].yaml\n", {}, "b.yaml", F, True),
    ("class miss", "[ab].yaml\n", {}, "c.yaml", F, False),
    ("range", "v[0-9].yaml\n", {}, "v7.yaml", F, True),
    ("^ negates", "[^ab].yaml\n", {}, "c.yaml", F, True),
    ("^ negates miss", "[^ab].yaml\n", {}, "a.yaml", F, False),
    ("! is literal in a Go class", "[!a].yaml\n", {}, "!.yaml", F, True),
    ("! in a Go class does not negate", "[!a].yaml\n", {}, "b.yaml", F, False),
    ("escaped *", "\\*.yaml\n", {}, "*.yaml", F, True),
    ("escaped * literal only", "\\*.yaml\n", {}, "a.yaml", F, False),
    ("malformed class matches nothing", "[a-.yaml\n", {}, "a.yaml", F, False),
    # -- line syntax -----------------------------------------------------------------------
    ("trailing spaces trimmed", "app.yaml   \n", {}, "app.yaml", F, True),
    ("escaped trailing space kept", "app\\ \n", {}, "app ", F, True),
    ("leading # is a comment", "#app.yaml\n", {}, "#app.yaml", F, False),
    ("indented # is a pattern", " #app.yaml\n", {}, " #app.yaml", F, True),
    ("CRLF lines", "app.yaml\r\nother.yaml\r\n", {}, "app.yaml", F, True),
    # -- .sourceignore files: scoped to their folder, replace the defaults -------------------
    ("sourceignore scoped", None, {"apps": "*.md\n"}, "apps/README.md", F, True),
    ("sourceignore scoped deeper", None, {"apps": "*.md\n"}, "apps/x/README.md", F, True),
    ("sourceignore not outside its folder", None, {"apps": "*.md\n"}, "README.md", F, False),
    ("sourceignore replaces defaults", None, {"apps": "*.md\n"}, "logo.png", F, False),
    ("sourceignore anchored to its folder", None, {"apps": "/local.yaml\n"}, "apps/local.yaml", F, True),
    ("sourceignore anchored not deeper", None, {"apps": "/local.yaml\n"}, "apps/sub/local.yaml", F, False),
    ("sourceignore never matches its folder", None, {"apps": "apps\n*\n"}, "apps", D, False),
    ("sourceignore * covers its folder's content", None, {"apps": "*\n"}, "apps/x", F, True),
    ("root sourceignore", None, {"": "/docs/\n"}, "docs/a.md", F, True),
    ("deeper file after root", None, {"apps": "!keep.yaml\n", "": "*.yaml\n"}, "apps/keep.yaml", F, False),
    ("deeper folder after parent", None, {"a/b": "!x.yaml\n", "a": "x.yaml\n"}, "a/b/x.yaml", F, False),
    (
        "spec.ignore after every file",
        "apps/keep.yaml\n",
        {"apps": "!keep.yaml\n", "": "*.yaml\n"},
        "apps/keep.yaml",
        F,
        True,
    ),
    ("sourceignore below .git is not read", None, {".git": "*\n"}, "logo.png", F, True),
]


@pytest.mark.parametrize(
    ("spec", "files", "path", "is_dir", "ignored"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_ignored(spec: str | None, files: dict[str, str], path: str, is_dir: bool, ignored: bool) -> None:
    assert Ignore.for_source(spec, files).ignored(path, is_dir) is ignored


def test_defaults_are_fluxcd_pkg_lists() -> None:
    assert VCS_PATTERNS == (".git/", ".gitignore", ".gitmodules", ".gitattributes")
    assert DEFAULT_PATTERNS == (
        "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
        ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml",
        "cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
        "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
    )  # fmt: skip


def test_pattern_order_and_defaults_flag() -> None:
    rules = Ignore.for_source("c\n", {"x": "b\n", "": "a\n", "x/y": "d\n", "w": "e\n"})
    assert [(p.text, p.domain) for p in rules.patterns] == [
        *((v, ()) for v in VCS_PATTERNS),
        ("a", ()),
        ("e", ("w",)),
        ("b", ("x",)),
        ("d", ("x", "y")),
        ("c", ()),
    ]
    assert rules.defaults is False
    assert Ignore.for_source(None, {}).defaults is True
    assert len(Ignore.for_source(None, {}).patterns) == len(VCS_PATTERNS) + len(DEFAULT_PATTERNS)


def test_parse_pattern() -> None:
    assert Pattern.parse("!/a/b/ ", ("d",)) == Pattern("!/a/b/ ", ("d",), ("", "a", "b"), True, True, True)
    assert Pattern.parse("*.yaml") == Pattern("*.yaml", (), ("*.yaml",), False, False, False)
    assert read_patterns("# c\n\na\n  \n!b\r\n", ("x",)) == (
        Pattern.parse("a", ("x",)),
        Pattern.parse("!b", ("x",)),
    )


@pytest.mark.parametrize(
    ("pattern", "name", "matched"),
    [
        ("*", "", True),
        ("*", "abc", True),
        ("a*b*c", "axxbyyc", True),
        ("a*b*c", "axxbyycd", False),
        ("a*c", "abcbc", True),
        ("?", "", False),
        ("[a-c]x", "bx", True),
        ("[z-a]", "m", False),
        ("[]a]", "]", False),  # ']' first is malformed in Go
        ("[a-]", "a", False),
        ("[\\]]", "]", True),
        ("[abc", "a", False),
        ("\\", "\\", False),
        ("a[", "a[", False),
        ("**", "abc", True),
        ("*.tar.gz", "a.tar.gz", True),
        ("é?", "éa", True),
    ],
)
def test_go_filepath_match(pattern: str, name: str, matched: bool) -> None:
    assert go_match(pattern, name) is matched


# (spec.ignore, .sourceignore files, folder, descend)
DESCEND: list[tuple[str, str | None, dict[str, str], str, bool]] = [
    ("defaults .git", None, {}, ".git", False),
    ("defaults .github", None, {}, "apps/.github", False),
    ("defaults manifests", None, {}, "kubernetes", True),
    ("root", "/*\n", {}, "", True),
    ("fct other folder", "/*\n!/kubernetes\n", {}, "docs", False),
    ("fct other folder deeper", "/*\n!/kubernetes\n", {}, "docs/a", False),
    ("fct kubernetes", "/*\n!/kubernetes\n", {}, "kubernetes", True),
    ("fct kubernetes deeper", "/*\n!/kubernetes\n", {}, "kubernetes/apps", True),
    ("simple negation may match anywhere", "/*\n!keep.yaml\n", {}, "docs", True),
    ("negation inside excluded folder", "/secret/\n!/secret/keep.yaml\n", {}, "secret", True),
    ("negation elsewhere", "/secret/\n!/other/keep.yaml\n", {}, "secret", False),
    ("negation before the exclusion", "!/secret/keep.yaml\n/secret/\n", {}, "secret", False),
    ("negation through **", "/secret/\n!**/keep.yaml\n", {}, "secret", True),
    ("nested sourceignore re-includes", None, {"": "/docs/\n", "docs": "!*.yaml\n"}, "docs", True),
    ("spec.ignore has the last word", "/docs/\n", {"docs": "!*.yaml\n"}, "docs", False),
    ("not excluded", "/docs/\n", {}, "apps", True),
    ("dir-only name pattern", "build/\n", {}, "src/build", False),
]


@pytest.mark.parametrize(
    ("spec", "files", "folder", "descend"), [case[1:] for case in DESCEND], ids=[case[0] for case in DESCEND]
)
def test_descend(spec: str | None, files: dict[str, str], folder: str, descend: bool) -> None:
    assert Ignore.for_source(spec, files).descend(folder) is descend


NAMES = ("kubernetes", "docs", "secret", "keep.yaml", "a.md", ".sops.yaml", "build", "x")


@pytest.mark.parametrize(("spec", "files"), sorted({(c[1], tuple(c[2].items())) for c in CASES + DESCEND}, key=str))
def test_descend_false_means_everything_below_is_ignored(spec: str | None, files: tuple[tuple[str, str], ...]) -> None:
    """Pruning a folder never loses a file the artifact would hold."""
    rules = Ignore.for_source(spec, dict(files))
    folders = ["/".join(p) for n in (1, 2) for p in itertools.product(NAMES, repeat=n)]
    for folder in folders:
        if rules.descend(folder):
            continue
        for tail in itertools.chain(NAMES, ("/".join(p) for p in itertools.product(NAMES, repeat=2))):
            for is_dir in (True, False):
                assert rules.ignored(f"{folder}/{tail}", is_dir), (folder, tail)


def test_default_fast_path_agrees_with_the_matcher() -> None:
    """The built-in patterns have a fast path; every answer equals the general matcher's."""
    import itertools

    from volsync_kit.core.sourceignore import Ignore

    fast = Ignore.for_source(None, {})
    slow = Ignore(fast.patterns, defaults=False)
    names = [
        *("kubernetes", "app", ".git", ".github", ".circleci", "x.png", ".png", "a.tar.gz", "b.tar"),
        *(".sops.yaml", "sops.yaml", ".gitignore", "ks.yaml", "appveyor.yml", ".flux.yaml", "logo.JPG", "c.zip"),
    ]
    checked = 0
    for depth in (1, 2, 3):
        for parts in itertools.product(names, repeat=depth):
            path = "/".join(parts)
            for is_dir in (False, True):
                assert fast.ignored(path, is_dir) == slow.ignored(path, is_dir), (path, is_dir)
                checked += 1
            assert fast.descend(path) == slow.descend(path), path
    assert checked > 10_000
