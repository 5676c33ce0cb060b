"""`plan --format shell`: a script that passes bash -n and shellcheck, runs its
steps in order, stops when another workload still uses a claim, and never
carries a name that is not a Kubernetes name."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from volsync_kit.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
REPO_PV = "kubernetes/flux/components/volsync/repository/pv.yaml"
SHELLCHECK = shutil.which("shellcheck")
ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    # Fixed dates, so the base commit, and the script's state-file name made from it, is the same each run.
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}

# A stand-in for kubectl and flux that records each call; `get pods` prints
# the pods named in $PODS (one "name claim" pair per line) for the pod guard.
RECORDER = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$(basename "$0")" = kubectl ] && [[ "$*" == *"get pods -o jsonpath"* ]]; then
  printf '%b' "${PODS:-}"
fi
"""


def repo_with_root_path_change(tmp_path: Path) -> Path:
    root = tmp_path / "ops"
    shutil.copytree(EXAMPLE, root)
    env = {**os.environ, **ENV}
    subprocess.run(["git", "init", "-q"], cwd=root, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "base"], cwd=root, check=True, env=env)
    pv = root / REPO_PV
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /k8s-backups/volsync/${APP}"))
    return root


def shell_plan(root: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["plan", "--repo", str(root), "--format", "shell", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout


def run_script(script: Path, tmp_path: Path, pods: str = "", answers: str = "") -> tuple[int, list[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("kubectl", "flux", "git"):
        (bin_dir / tool).write_text(RECORDER)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls.log"
    calls.write_text("")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), "PODS": pods}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, input=answers)
    return done.returncode, calls.read_text().splitlines(), done.stderr


def test_script_is_valid_bash(tmp_path: Path) -> None:
    script = tmp_path / "plan.sh"
    script.write_text(shell_plan(repo_with_root_path_change(tmp_path)))
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text


@pytest.mark.skipif(SHELLCHECK is None and not os.environ.get("CI"), reason="shellcheck is not installed")
def test_script_passes_shellcheck(tmp_path: Path) -> None:
    script = tmp_path / "plan.sh"
    script.write_text(shell_plan(repo_with_root_path_change(tmp_path)))
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# The order of the calls, and the questions, are checked against the cluster
# simulation in tests/procedures.


def test_script_names_its_kube_context_and_runs_nothing_unconfirmed(tmp_path: Path) -> None:
    root = repo_with_root_path_change(tmp_path)
    script = tmp_path / "plan.sh"
    script.write_text(shell_plan(root))
    code, calls, stderr = run_script(script, tmp_path)
    assert (code, calls) == (1, ["kubectl config current-context"])
    assert "volsync-kit: this plan acts on the kube context" in stderr
    # --context pins every command, the pod guard's included, and --yes still prints it
    script.write_text(shell_plan(root, "--context", "admin@prod", "--yes"))
    code, calls, stderr = run_script(script, tmp_path)
    assert code == 0, stderr
    assert "volsync-kit: this plan acts on the kube context admin@prod" in stderr
    assert calls
    assert all(call.split(" ")[1:3] == ["--context", "admin@prod"] for call in calls), calls
    assert any(call.startswith("kubectl --context admin@prod -n ") and "get pods" in call for call in calls)


@pytest.mark.parametrize("bad", ["", "-x", "a b", "$(touch pwned)", "x'y"])
def test_an_unsafe_context_is_refused(tmp_path: Path, bad: str) -> None:
    result = CliRunner().invoke(app, ["plan", "--repo", str(repo_with_root_path_change(tmp_path)), "--context", bad])
    assert result.exit_code == 2
    assert "--context" in result.stderr
    assert not (tmp_path / "pwned").exists()


def test_pod_guard_stops_before_deleting_a_claim_in_use(tmp_path: Path) -> None:
    script = tmp_path / "plan.sh"
    script.write_text(shell_plan(repo_with_root_path_change(tmp_path), "--yes"))
    code, calls, stderr = run_script(script, tmp_path, pods="backup-job volsync-cloudbeaver-repo\\n")
    assert code == 1
    assert "claim database/volsync-cloudbeaver-repo is still used by: backup-job" in stderr
    assert not any(" delete " in call for call in calls)


def test_movers_do_not_trip_the_pod_guard(tmp_path: Path) -> None:
    script = tmp_path / "plan.sh"
    script.write_text(shell_plan(repo_with_root_path_change(tmp_path), "--yes"))
    code, calls, stderr = run_script(script, tmp_path, pods="volsync-src-cloudbeaver-x1 volsync-cloudbeaver-repo\\n")
    assert code == 0, stderr
    assert "still used by" not in stderr
    assert any("get pods -o jsonpath=" in call for call in calls)


@pytest.mark.parametrize("bad", ["Bad_Name", "x;touch pwned", "$(touch pwned)", "x'y"])
def test_invalid_app_name_is_refused_and_never_emitted(tmp_path: Path, bad: str) -> None:
    root = repo_with_root_path_change(tmp_path)
    ks = root / "kubernetes/apps/media/radarr/ks.yaml"
    ks.write_text(ks.read_text().replace("      APP: *app", f"      APP: {json.dumps(bad)}"))
    for output in ("shell", "markdown", "json"):
        result = CliRunner().invoke(app, ["plan", "--repo", str(root), "--format", output])
        assert result.exit_code == 2, (output, result.stdout)
        assert result.stdout == ""
        assert result.stderr.startswith("volsync-kit: error: refusing to plan:")


def test_shell_golden(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    text = shell_plan(repo_with_root_path_change(tmp_path))
    assert str(tmp_path) not in text
    golden("plan/rootpath.sh", text)


MEDIA_PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"
CASES = {
    "mounter": (MEDIA_PV, "      rootPath: /media", "      rootPath: /media\n      mounter: fuse"),
    "label": (MEDIA_PV, "  name: media-share\n", "  name: media-share\n  labels:\n    tier: media\n"),
    "data-pvc-dropped": ("kubernetes/flux/components/volsync/operations/kustomization.yaml", "  - ./pvc.yaml\n", ""),
    "app-removed": ("kubernetes/apps/media/kustomization.yaml", "  - ./radarr/ks.yaml\n", ""),
    "data-pvc-replaced": (
        "kubernetes/flux/components/volsync/operations/pvc.yaml",
        "VOLSYNC_ACCESSMODES:=ReadWriteOnce",
        "VOLSYNC_ACCESSMODES:=ReadWriteMany",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.skipif(SHELLCHECK is None and not os.environ.get("CI"), reason="shellcheck is not installed")
def test_every_shell_plan_passes_bash_and_shellcheck(tmp_path: Path, case: str) -> None:
    root = repo_with_root_path_change(tmp_path)
    subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)  # undo the rootPath change
    path, old, new = CASES[case]
    file = root / path
    assert old in file.read_text()
    file.write_text(file.read_text().replace(old, new, 1))
    script = tmp_path / "plan.sh"
    script.write_text(shell_plan(root))
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert 'main "$@"' in script.read_text()  # a plan with steps, not the nothing-to-do stub


FAILING = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
echo "The connection to the server 127.0.0.1:6443 was refused" >&2
exit 1
"""


@pytest.mark.parametrize(
    "call",
    [
        "resume_flux kustomization media sonarr",
        "suspend_flux kustomization media sonarr",
        "delete_object pvc media volsync-sonarr-repo media sonarr '{.spec.volumeName}' x",
        "count_pending pv '' volsync-sonarr-repo-pv media sonarr '{.spec.csi.volumeAttributes.rootPath}' /v/sonarr",
        "wait_deleted pvc media volsync-sonarr-repo",
        "unpause_mover replicationsource media sonarr",
        "pause_mover replicationsource media sonarr",
        "sync_once replicationsource media sonarr",
        "scale_down media sonarr",
    ],
)
def test_a_kubectl_that_fails_stops_the_script_and_never_reads_as_absent(tmp_path: Path, call: str) -> None:
    """An API server that cannot be reached must not look like an object that is gone: that
    would skip a resume, a wait or a check, and go on to the next step."""
    text = shell_plan(repo_with_root_path_change(tmp_path), "--yes").replace('\nmain "$@"\n', "\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("kubectl", "flux"):
        (bin_dir / tool).write_text(FAILING)
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls.log"
    calls.write_text("")
    body = text + f'STATE="$STATE_DIR/t.state"\nPENDING=0\n{call}\necho went-on\n'
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls),
           "VOLSYNC_KIT_STATE_DIR": str(tmp_path / "state")}  # fmt: skip
    done = subprocess.run(["bash", "-c", body], env=env, capture_output=True, text=True)
    assert done.returncode != 0, done.stderr
    assert "went-on" not in done.stdout
    assert "does not exist" not in done.stderr
    logged = calls.read_text()
    assert " delete " not in logged
    assert not any(line.startswith(("flux resume", "flux suspend")) for line in logged.splitlines())


@pytest.mark.parametrize(
    ("name", "namespace"), [("a;rm -rf ~", "media"), ("$(id)", ""), ("radarr", "me dia"), ("radarr", "a/b")]
)
def test_a_target_refuses_an_unsafe_name_each_time(name: str, namespace: str) -> None:
    """Names that pass are remembered (procedure._check_names); one that
    does not is refused again on every target, after a safe one too."""
    from volsync_kit.core.names import UnsafeName
    from volsync_kit.core.procedure import Target

    assert Target("pvc", "radarr", "media").name == "radarr"
    for _ in range(2):
        with pytest.raises(UnsafeName):
            Target("pvc", name, namespace)
