"""Bad input never reaches the user as a traceback: each broken file gives
exit code 2, one problem line naming the file and line, and the apps that
do not depend on it still render.

The CLI runs in real processes (``python -m volsync_kit``), all started at
once by a module fixture so that the file stays fast.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from helpers_repo import app_ks, home_ops, line_of, write_repo
from typer.testing import CliRunner, Result

from volsync_kit.cli import app as cli_app

PROBLEM_LINE = re.compile(r"^(?:-|[^\s:]+:\d+:\d+): (?:error|warning|info) \[[a-z0-9-]+\] \S.*$")
NFS = "kubernetes/components/nfs"
SONARR_KS = "kubernetes/apps/media/sonarr/ks.yaml"

NFS_PV = """\
---
# Shared media library, mounted by the media apps
apiVersion: v1
kind: PersistentVolume
metadata:
  name: ${APP}-media-nfs
spec:
  accessModes:
    - ReadWriteMany
  capacity:
    storage: 10Ti
  nfs:
    server: nas.lan
    path: /export/media
  storageClassName: nfs
"""

NFS_COMPONENT = """\
---
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./pv.yaml
"""

SONARR_WITH_NFS = app_ks(
    "media",
    "sonarr",
    components=(
        "../../../../flux/components/volsync/repository",
        "../../../../flux/components/volsync/operations",
        "../../../../components/nfs",
    ),
)
SONARR_PLAIN = app_ks("media", "sonarr")


@dataclass
class Case:
    files: dict[str, str | bytes]
    file: str
    line: int
    code: str | None
    renders: set[str]


def nfs(pv: str | bytes) -> dict[str, str | bytes]:
    return {SONARR_KS: SONARR_WITH_NFS, f"{NFS}/kustomization.yaml": NFS_COMPONENT, f"{NFS}/pv.yaml": pv}


MALFORMED_PV = NFS_PV.replace("storageClassName: nfs", "storageClassName: nfs: slow")
MALFORMED_KS = SONARR_PLAIN.replace("  interval: 1h\n", "  interval: 1h: 2\n")
SPEC_LIST_KS = """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: sonarr
  namespace: media
spec: [1, 2]
"""
POSTBUILD_LIST_KS = SONARR_PLAIN.replace("  postBuild:\n    substitute:\n      APP: *app\n", "  postBuild: [APP]\n")
LIST_DOC = "---\n- apiVersion: v1\n  kind: PersistentVolume\n  metadata:\n    name: media-nfs\n"
UNRESOLVED_PV = NFS_PV.replace("path: /export/media", "path: /export/${NFS_MEDIA_ROOT}")
NOT_UTF8_PV = NFS_PV.replace("# Shared media library", "# Médiathèque partagée").encode("latin-1")
NOT_UTF8_KS = SONARR_PLAIN.replace("  interval: 1h\n", "  interval: 1h # café\n").encode("latin-1")

CASES: dict[str, Case] = {
    # -- a component file (only sonarr uses it: radarr and paperless render)
    "component-malformed-yaml": Case(
        nfs(MALFORMED_PV), f"{NFS}/pv.yaml", line_of(MALFORMED_PV, "nfs: slow"), "yaml-syntax", {"radarr", "paperless"}
    ),
    "component-document-is-a-list": Case(nfs(LIST_DOC), f"{NFS}/pv.yaml", 2, "object-invalid", {"radarr", "paperless"}),
    "component-folder-missing": Case(
        {SONARR_KS: SONARR_WITH_NFS},
        SONARR_KS,
        line_of(SONARR_WITH_NFS, "components/nfs"),
        "component-missing",
        {"radarr", "paperless"},
    ),
    "unresolved-variable": Case(
        nfs(UNRESOLVED_PV),
        f"{NFS}/pv.yaml",
        line_of(UNRESOLVED_PV, "NFS_MEDIA_ROOT"),
        "substitution",
        {"radarr", "paperless"},
    ),
    "component-not-utf8": Case(
        nfs(NOT_UTF8_PV),
        f"{NFS}/pv.yaml",
        line_of(NFS_PV, "# Shared media library"),
        "encoding",
        {"radarr", "paperless"},
    ),
    "component-utf16": Case(nfs(NFS_PV.encode("utf-16")), f"{NFS}/pv.yaml", 1, "encoding", {"radarr", "paperless"}),
    # -- the app's ks.yaml (its namespace's parent fails: the other namespace renders)
    "ks-malformed-yaml": Case(
        {SONARR_KS: MALFORMED_KS}, SONARR_KS, line_of(MALFORMED_KS, "interval: 1h: 2"), "yaml-syntax", {"paperless"}
    ),
    "ks-document-is-a-list": Case(
        {
            SONARR_KS: LIST_DOC.replace("v1\n", "kustomize.toolkit.fluxcd.io/v1\n", 1).replace(
                "PersistentVolume", "Kustomization"
            )
        },
        SONARR_KS,
        2,
        "object-invalid",
        {"paperless"},
    ),
    "ks-spec-is-a-list": Case(
        {SONARR_KS: SPEC_LIST_KS}, SONARR_KS, line_of(SPEC_LIST_KS, "spec:"), "flux-invalid", {"paperless"}
    ),
    "ks-postbuild-is-a-list": Case(
        {SONARR_KS: POSTBUILD_LIST_KS},
        SONARR_KS,
        line_of(POSTBUILD_LIST_KS, "postBuild:"),
        "flux-invalid",
        {"paperless"},
    ),
    "ks-not-utf8": Case(
        {SONARR_KS: NOT_UTF8_KS}, SONARR_KS, line_of(SONARR_PLAIN, "interval: 1h"), "encoding", {"paperless"}
    ),
    "ks-utf16": Case({SONARR_KS: SONARR_PLAIN.encode("utf-16")}, SONARR_KS, 1, "encoding", {"paperless"}),
}


def repo_files(case: Case) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = dict(
        home_ops({"media": ["sonarr", "radarr"], "default": ["paperless"]}, per_namespace=True)
    )
    files.update(case.files)
    return files


def cli_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "volsync_kit", *args]


@pytest.fixture(scope="module")
def good_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_repo(
        tmp_path_factory.mktemp("good"), dict(home_ops({"media": ["sonarr", "radarr"], "default": ["paperless"]}))
    )


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory, good_repo: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run the CLI on every case's repository, and every usage error, in
    real processes all started at once."""
    jobs: dict[str, list[str]] = {}
    for name, case in CASES.items():
        root = write_repo(tmp_path_factory.mktemp(name), repo_files(case))
        jobs[name] = cli_args("render", "--repo", str(root))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    jobs.update(
        {
            "repo-missing": cli_args("render", "--repo", str(elsewhere / "nope")),
            "app-unknown": cli_args("render", "--repo", str(good_repo), "--app", "lidarr"),
            "entry-root": cli_args("render", "--repo", str(good_repo), "--entry", "/"),
            "entry-dotdot": cli_args("render", "--repo", str(good_repo), "--entry", "../outside"),
            "entry-sibling": cli_args("render", "--repo", str(good_repo), "--entry", str(elsewhere)),
        }
    )
    running = {
        name: subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        for name, args in jobs.items()
    }
    done: dict[str, subprocess.CompletedProcess[str]] = {}
    for name, proc in running.items():
        out, err = proc.communicate(timeout=120)
        done[name] = subprocess.CompletedProcess(jobs[name], proc.returncode, out, err)
    return done


def rendered_apps(stdout: str) -> set[str]:
    return {line.split()[2] for line in stdout.splitlines() if line.startswith("# app: ")}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_problem_line_and_exit_2(
    name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    case = CASES[name]
    proc = outcomes[name]

    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines, "no problem reported"
    for line in lines:
        assert PROBLEM_LINE.match(line), line
    errors = [line for line in lines if ": error [" in line]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"{case.file}:{case.line}:"), proc.stderr
    if case.code is not None:
        assert f" error [{case.code}] " in errors[0]


@pytest.mark.parametrize("name", list(CASES))
def test_other_apps_still_render(name: str, outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    case = CASES[name]
    proc = outcomes[name]

    apps = rendered_apps(proc.stdout)
    assert case.renders <= apps, proc.stderr
    assert "sonarr" not in apps
    # what is printed is a valid YAML stream of the apps' objects
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d is not None]
    names = {d["metadata"]["name"] for d in docs}
    for app in case.renders:
        assert f"volsync-{app}-repo-pv" in names
    assert not any("sonarr" in n for n in names)


def test_good_repository_renders_all_apps_with_exit_0(tmp_path: Path) -> None:
    """The baseline the cases above break: without the damage, all three render."""
    write_repo(tmp_path, repo_files(Case(nfs(NFS_PV), "", 0, None, set())))

    res = CliRunner().invoke(cli_app, ["render", "--repo", str(tmp_path)])

    assert res.exit_code == 0, res.stderr
    assert res.stderr == ""
    assert rendered_apps(res.stdout) == {"sonarr", "radarr", "paperless"}
    assert "name: sonarr-media-nfs" in res.stdout


def test_malformed_yaml_json_output_names_file_line_and_kustomization(tmp_path: Path) -> None:
    import json

    case = CASES["component-malformed-yaml"]
    write_repo(tmp_path, repo_files(case))

    res = CliRunner().invoke(cli_app, ["render", "--repo", str(tmp_path), "--format", "json"])

    assert res.exit_code == 2
    assert res.exception is None or isinstance(res.exception, SystemExit)
    doc = json.loads(res.stdout)
    errors = [p for p in doc["problems"] if p["severity"] == "error"]
    assert [(p["code"], p["file"], p["line"]) for p in errors] == [("yaml-syntax", case.file, case.line)]
    assert errors[0]["kustomization"] == {"name": "sonarr", "namespace": "media", "file": SONARR_KS, "cluster": ""}
    assert sorted(a["app"] for a in doc["apps"]) == ["paperless", "radarr"]


# -- usage errors --------------------------------------------------------------------------


def one_error_line(proc: subprocess.CompletedProcess[str] | Result) -> str:
    code = proc.returncode if isinstance(proc, subprocess.CompletedProcess) else proc.exit_code
    assert code == 2, (code, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("volsync-kit: error: ")
    return lines[0]


def test_repo_missing_folder(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    line = one_error_line(outcomes["repo-missing"])
    assert re.fullmatch(
        r"volsync-kit: error: --repo \S+/nope: no such folder; pass the root of your Flux repository", line
    )


def test_unknown_app_names_the_known_apps(outcomes: dict[str, subprocess.CompletedProcess[str]]) -> None:
    line = one_error_line(outcomes["app-unknown"])
    assert "--app lidarr" in line
    assert line.endswith("known apps: paperless, radarr, sonarr")


@pytest.mark.parametrize(
    ("job", "words"),
    [
        ("entry-root", "--entry /: not inside the repository"),
        ("entry-dotdot", "--entry ../outside: '../outside' leaves the repository"),
        ("entry-sibling", "not inside the repository"),
    ],
)
def test_entry_outside_the_repository(
    outcomes: dict[str, subprocess.CompletedProcess[str]], job: str, words: str
) -> None:
    line = one_error_line(outcomes[job])
    assert words in line


# the same and more, in process


def test_cli_runner_usage_errors(good_repo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "ks.yaml").write_text("kind: Kustomization\n")

    missing = runner.invoke(cli_app, ["render", "--repo", str(tmp_path / "nope")])
    a_file = runner.invoke(cli_app, ["render", "--repo", str(tmp_path / "ks.yaml")])
    unknown = runner.invoke(cli_app, ["render", "--repo", str(good_repo), "--app", "lidarr"])
    outside = runner.invoke(cli_app, ["render", "--repo", str(good_repo), "--entry", str(tmp_path)])
    escapes = runner.invoke(cli_app, ["render", "--repo", str(good_repo), "--entry", "kubernetes/../../outside"])
    no_entry = runner.invoke(cli_app, ["render", "--repo", str(good_repo), "--entry", "kubernetes/flux/nope"])

    for res in (missing, a_file, unknown, outside, escapes, no_entry):
        one_error_line(res)
        assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "--repo" in a_file.stderr
    assert "known apps: paperless, radarr, sonarr" in unknown.stderr
    assert "not inside the repository" in outside.stderr
    assert "'kubernetes/../../outside' leaves the repository" in escapes.stderr
    assert "--entry kubernetes/flux/nope: no such folder" in no_entry.stderr


def test_cli_runner_bad_format_is_a_usage_error(good_repo: Path) -> None:
    res = CliRunner().invoke(cli_app, ["render", "--repo", str(good_repo), "--format", "toml"])
    assert res.exit_code == 2
    assert "toml" in res.stderr
    assert res.stdout == ""


def test_cli_runner_one_app(good_repo: Path) -> None:
    res = CliRunner().invoke(cli_app, ["render", "--repo", str(good_repo), "--app", "radarr"])
    assert res.exit_code == 0, res.stderr
    assert rendered_apps(res.stdout) == {"radarr"}


def test_cli_runner_component_missing_exit_2(tmp_path: Path) -> None:
    case = CASES["component-folder-missing"]
    write_repo(tmp_path, repo_files(case))

    res = CliRunner().invoke(cli_app, ["render", "--repo", str(tmp_path)])

    assert res.exit_code == 2
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert res.stderr.splitlines() == [
        f"{SONARR_KS}:{case.line}:7: error [component-missing] accumulateDirectory: component "
        "'../../../../components/nfs' is not a folder ('kubernetes/components/nfs' does not exist); "
        "fix the path, which is relative to the kustomization's folder (Kustomization media/sonarr)"
    ]
    assert rendered_apps(res.stdout) == {"radarr", "paperless"}
