"""`plan` inputs and outputs: hostile names, bad refs, the index as head, and the JSON schema."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from plan_helpers import (
    APPS,
    COMMAND,
    MEDIA_KUSTOMIZATION,
    MEDIA_PV,
    REPO_KUSTOMIZATION,
    REPO_PV,
    SHA,
    Repo,
    change_root_path,
    check_json,
    commands,
    drop_data_pvc,
    example_repo,
    ks_file,
    markdown_commands,
    plan,
    plan_json,
    plan_markdown,
    remove_app,
    rows,
)

from volsync_kit.app import run_plan
from volsync_kit.errors import UsageError

# -- names that must never reach a command line -------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "bad"),
    [
        ("APP: *app", "APP: Bad_Name", "Bad_Name"),
        ("APP: *app", 'APP: "x;rm -rf ~"', ";rm -rf"),
        ("name: &app radarr", 'name: &app "radarr;rm -rf ~"', ";rm -rf"),
    ],
    ids=["app-underscore", "app-shell", "kustomization-shell"],
)
@pytest.mark.parametrize("output", ["markdown", "json"])
@pytest.mark.parametrize("then", ["root-path", "remove-app"])
def test_an_invalid_name_that_needs_a_command_is_refused(
    tmp_path: Path, old: str, new: str, bad: str, output: str, then: str
) -> None:
    repo = example_repo(tmp_path)
    repo.edit(ks_file("radarr"), old, new)
    repo.commit("radarr with a name Kubernetes refuses")
    if then == "root-path":
        change_root_path(repo)  # every repository volume, radarr's included, must be replaced by hand
    else:
        remove_app(repo, "radarr")  # its data volume must be rescued by hand
    result = plan(repo, "--format", output)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert bad not in result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith("volsync-kit: error: refusing to plan: ")
    assert "not a valid Kubernetes name" in result.stderr
    assert result.stderr.count("\n") == 1
    with pytest.raises(UsageError, match=r"^refusing to plan: "):
        run_plan(repo.root)


# -- usage errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--base", "nope"), "unknown revision 'nope'"),
        (("--base", "HEAD~1"), "unknown revision 'HEAD~1'"),
        (("--head", "nope"), "unknown revision 'nope'"),
        (("--staged", "--head", "HEAD"), "--staged and --head exclude each other"),
    ],
)
def test_errors_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    repo = example_repo(tmp_path)
    change_root_path(repo)
    result = plan(repo, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("volsync-kit: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_staged_with_head_is_refused_by_the_service(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    with pytest.raises(UsageError, match="--staged and --head"):
        run_plan(repo.root, staged=True, head="HEAD")


# -- the index as head ------------------------------------------------------------------------------

MEDIA_LABEL = ("  name: media-share\n", "  name: media-share\n  labels:\n    tier: media\n")


def test_staged_reads_the_index_only(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    change_root_path(repo)
    repo.git("add", REPO_PV)
    repo.edit(MEDIA_PV, *MEDIA_LABEL)  # left unstaged
    repository = {(app, "PersistentVolume", f"volsync-{app}-repo-pv", None, "replace") for app in APPS} | {
        (app, "PersistentVolumeClaim", f"volsync-{app}-repo", ns, "replace") for app, ns in APPS.items()
    }
    media = ("jellyfin", "PersistentVolume", "media-share", None, "update")

    staged = plan_json(repo, "--staged")
    assert staged["head"] == "index"
    assert staged["base"] == repo.sha()
    assert rows(staged) == repository

    work_tree = plan_json(repo)
    assert work_tree["head"] == "working-tree"
    assert rows(work_tree) == repository | {media}

    assert plan_markdown(repo, "--staged").startswith(f"## volsync-kit plan: {repo.sha()[:12]} -> index\n")
    assert plan_json(repo, "--head", "HEAD")["changes"] == []  # a ref reads neither the index nor the work tree


def test_staged_sees_only_an_unstaged_change_as_nothing(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    repo.edit(MEDIA_PV, *MEDIA_LABEL)
    assert plan_markdown(repo, "--staged").endswith(": nothing to do; no volume object changes.\n")
    repo.git("add", MEDIA_PV)
    assert rows(plan_json(repo, "--staged")) == {("jellyfin", "PersistentVolume", "media-share", None, "update")}


# -- JSON schema and command lines, for several kinds of plan ---------------------------------------


def bare_component(repo: Repo) -> None:
    repo.write(REPO_KUSTOMIZATION, "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n")


def new_app(repo: Repo) -> None:
    target = repo.root / "kubernetes" / "apps" / "media" / "lidarr"
    shutil.copytree(repo.root / "kubernetes" / "apps" / "media" / "radarr", target)
    for file in target.rglob("*.yaml"):
        file.write_text(file.read_text(encoding="utf-8").replace("radarr", "lidarr"), encoding="utf-8")
    repo.edit(MEDIA_KUSTOMIZATION, "  - ./radarr/ks.yaml\n", "  - ./lidarr/ks.yaml\n  - ./radarr/ks.yaml\n")


def in_place(repo: Repo) -> None:
    repo.edit(MEDIA_PV, "persistentVolumeReclaimPolicy: Retain", "persistentVolumeReclaimPolicy: Delete")


def nothing(repo: Repo) -> None:
    pass


def mixed(repo: Repo) -> None:
    change_root_path(repo)
    drop_data_pvc(repo)
    remove_app(repo, "pgadmin")
    new_app(repo)


CASES: dict[str, Callable[[Repo], None]] = {
    "root-path": change_root_path,
    "data-pvc-dropped": drop_data_pvc,
    "bare-component": bare_component,
    "new-app": new_app,
    "removed-app": lambda repo: remove_app(repo, "sonarr"),
    "in-place": in_place,
    "nothing": nothing,
    "mixed": mixed,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_json_matches_the_schema_and_commands_are_single_lines(tmp_path: Path, case: str) -> None:
    repo = example_repo(tmp_path)
    CASES[case](repo)
    head = repo.commit(case)
    fails = case == "bare-component"  # the head does not build: exit 2, the plan still printed
    doc = plan_json(repo, "--base", "HEAD~1", "--head", "HEAD", exit_code=2 if fails else 0)  # validates the schema
    check_json(doc)
    assert SHA.match(doc["base"])
    assert doc["base"] == repo.sha("HEAD~1")
    assert doc["head"] == head
    assert doc["version"] == 2
    for command in commands(doc):
        assert COMMAND.match(command), command
        assert "\n" not in command, command
        assert "\r" not in command, command
    markdown = plan_markdown(repo, "--base", "HEAD~1", "--head", "HEAD", exit_code=2 if fails else 0)
    assert markdown_commands(markdown) == commands(doc)
    if case == "nothing":
        assert doc["changes"] == []
        assert doc["steps"] == []
    else:
        assert doc["changes"] or doc["failures"]


def test_leaving_out_what_the_api_server_defaults_changes_nothing(tmp_path: Path) -> None:
    """volumeMode Filesystem (PV and PVC) and reclaim policy Retain (PV) are what
    the API server fills in (pkg/apis/core/v1/defaults.go): writing them or
    leaving them out is the same object, so nothing is replaced."""
    repo = example_repo(tmp_path)
    repo.edit(REPO_PV, "  volumeMode: Filesystem\n", "")
    repo.edit(REPO_PV, "  persistentVolumeReclaimPolicy: Retain\n", "")
    assert plan_json(repo)["changes"] == []

    repo.edit(REPO_PV, 'storageClassName: ""\n', 'storageClassName: ""\n  volumeMode: Block\n')
    doc = plan_json(repo)
    replaced = {(c["kind"], c["action"]) for c in doc["changes"]}
    assert replaced == {("PersistentVolume", "replace"), ("PersistentVolumeClaim", "replace")}
    fields = {f["path"]: (f["before"], f["after"]) for c in doc["changes"] for f in c["fields"]}
    assert fields["spec.volumeMode"] == ("Filesystem", "Block")


def test_a_refused_name_says_which_file_and_line_set_it(tmp_path: Path) -> None:
    """Flux drops a variable's newlines; the refusal shows the name Flux would
    use and the value as written, with the newline escaped, at its line."""
    repo = example_repo(tmp_path)
    repo.edit(ks_file("radarr"), "APP: *app", 'APP: "radarr\\nkubectl delete ns kube-system"')
    repo.commit("radarr with a newline in its name")
    change_root_path(repo)
    result = plan(repo)
    assert result.exit_code == 2
    line = next(n for n, text in enumerate(repo.read(ks_file("radarr")).splitlines(), 1) if "APP:" in text)
    assert result.stderr == (
        f"volsync-kit: error: refusing to plan: {ks_file('radarr')}:{line}:12: 'radarrkubectl delete ns kube-system' "
        "(written 'radarr\\nkubectl delete ns kube-system'; Flux drops a value's newlines) is not a valid "
        "Kubernetes name, so no command is emitted for it; fix the name there\n"
    )


def test_a_refused_object_name_points_at_its_field(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    repo.edit(REPO_PV, "name: volsync-${APP}-repo-pv", "name: volsync-${APP}_repo-pv")
    result = plan(repo)
    assert result.exit_code == 2
    line = next(n for n, text in enumerate(repo.read(REPO_PV).splitlines(), 1) if "_repo-pv" in text)
    assert result.stderr.startswith(f"volsync-kit: error: refusing to plan: {REPO_PV}:{line}:")
    assert "'volsync-" in result.stderr
    assert "_repo-pv' is not a valid Kubernetes name" in result.stderr
