"""`plan --scenario`: the guide's Scenario 2 (stuck cache PVCs) and Scenario 3 (full VolSync reset).

The operators' guide sweeps the cluster (``-A``, ``jq`` and regular expressions);
the plan must instead name every object this repository makes VolSync create,
each in its namespace, and keep the guide's order so that a reader finds every
step of the guide in it.  The VolSync operator is the one the ``operator:``
section of ``.volsync-kit.yaml`` names (``volsync-system`` in the example), or
the guide's ``storage/volsync`` without that section.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from plan_helpers import (
    APPS,
    EXAMPLE,
    Repo,
    check_json,
    commands,
    example_repo,
    markdown_commands,
    plan,
    plan_json,
    plan_markdown,
)

from volsync_kit import app as services
from volsync_kit.errors import UsageError

CONFIG = ".volsync-kit.yaml"

# The guide's Scenario 3, step by step: what each step's title must say.
FULL_RESET_STEPS = [
    ("suspend", "volsync"),
    ("scale down", "operator"),
    ("delete", "replicationsources"),
    ("delete", "replicationdestinations"),
    ("delete", "cache pvcs"),
    ("delete", "snapshot pvcs"),
    ("delete", "repository pvcs"),
    ("delete", "repository pvs"),
    ("resume", ""),
]

# The guide's Scenario 2: delete the stuck cache PVCs, then wait for the operator to recreate them.
STUCK_CACHE_GUIDE_STEPS = [("delete", "cache pvc"), ("wait", "recreate")]

# Anything that sweeps the cluster or selects by pattern instead of by name.
SWEEP = re.compile(r"(^|\s)(-A|--all-namespaces|--all)(\s|=|$)|\||\bgrep\b|\bjq\b|\bxargs\b|test\(|\.\*|[\^$]")

# A stand-in for kubectl and flux that records each call (after the shell removed quotes).
# $MISSING lists claim names for which `kubectl -n <ns> get pvc <claim>` answers NotFound, as kubectl does
# (and, as kubectl does, exits 0 and prints nothing with --ignore-not-found).
RECORDER = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$CALLS"
if [ "$(basename "$0")" = kubectl ] && [ "${3:-}" = "get" ] && [ "${4:-}" = "pvc" ] \\
    && [[ " $* " != *" --ignore-not-found "* ]]; then
  for missing in ${MISSING:-}; do
    if [ "${5:-}" = "$missing" ]; then
      echo "Error from server (NotFound): persistentvolumeclaims \\"$5\\" not found" >&2
      exit 1
    fi
  done
fi
"""


# -- the repository's objects -----------------------------------------------------------


def sources() -> list[tuple[str, str]]:
    """Every ReplicationSource: ``${APP}`` (local repository) and ``${APP}-r2`` (remote)."""
    return [(ns, name) for app, ns in APPS.items() for name in (app, f"{app}-r2")]


def destinations() -> list[tuple[str, str]]:
    return [(ns, f"{app}-dst") for app, ns in APPS.items()]


def caches() -> list[tuple[str, str]]:
    """backube/volsync: ``volsync-src-<rs>-cache`` and ``volsync-dst-<rd>-cache``."""
    return [(ns, f"volsync-src-{rs}-cache") for ns, rs in sources()] + [
        (ns, f"volsync-dst-{rd}-cache") for ns, rd in destinations()
    ]


def snapshots() -> list[tuple[str, str]]:
    """backube/volsync: ``volsync-<rs>-src`` and ``volsync-<rd>-dest``."""
    return [(ns, f"volsync-{rs}-src") for ns, rs in sources()] + [
        (ns, f"volsync-{rd}-dest") for ns, rd in destinations()
    ]


def repo_claims() -> list[tuple[str, str]]:
    return [(ns, f"volsync-{app}-repo") for app, ns in APPS.items()]


def repo_volumes() -> list[str]:
    return [f"volsync-{app}-repo-pv" for app in APPS]


def app_kustomizations() -> list[tuple[str, str]]:
    return [(ns, app) for app, ns in APPS.items()]


def delete_pvc(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"kubectl -n {ns} delete pvc {name} --ignore-not-found --wait=false" for ns, name in pairs]


def same(actual: list[str], expected: list[str]) -> None:
    """The same commands, each once, in any order."""
    assert Counter(actual) == Counter(expected), (
        sorted(set(actual) - set(expected)),
        sorted(set(expected) - set(actual)),
    )
    assert len(actual) == len(set(actual)), f"a command repeats: {actual}"


# -- repositories ---------------------------------------------------------------------------


def without_operator_section(repo: Repo) -> None:
    text = repo.read(CONFIG)
    start = text.index("\noperator:\n")
    repo.write(CONFIG, text[: start + 1])
    assert "operator" not in repo.read(CONFIG)
    assert "rootPath: /volsync/${APP}" in repo.read(CONFIG)  # the rest of the config is kept


# (config kept?, operator namespace, deployment, operator Kustomization name, its namespace)
OPERATORS = [
    pytest.param(True, "volsync-system", "volsync", "volsync", "volsync-system", id="operator-from-config"),
    pytest.param(False, "storage", "volsync", "volsync", "storage", id="guide-defaults"),
]


def scenario_repo(tmp_path: Path, keep_operator: bool) -> Repo:
    repo = example_repo(tmp_path)
    if not keep_operator:
        without_operator_section(repo)
    return repo


def by_title(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {s["title"]: s["commands"] for s in doc["steps"]}


def no_sweeps(all_commands: list[str]) -> None:
    assert all_commands
    for command in all_commands:
        assert not SWEEP.search(command), f"a sweep or a pattern instead of names: {command!r}"
        assert len(command.splitlines()) == 1, command


def guide_step(doc: dict[str, Any], number: int) -> dict[str, Any]:
    found = [s for s in doc["steps"] if s["title"].startswith(f"Guide step {number}:")]
    assert len(found) == 1, [s["title"] for s in doc["steps"]]
    return found[0]


# -- Scenario 3: full reset ----------------------------------------------------------------


@pytest.mark.parametrize(("keep_operator", "op_ns", "deploy", "ks", "ks_ns"), OPERATORS)
def test_full_reset_has_every_guide_step_in_the_guides_order(
    tmp_path: Path, keep_operator: bool, op_ns: str, deploy: str, ks: str, ks_ns: str
) -> None:
    doc = plan_json(scenario_repo(tmp_path, keep_operator), "--scenario", "full-reset")
    titles = [s["title"] for s in doc["steps"]]
    assert len(titles) == len(FULL_RESET_STEPS), titles
    for number, (title, (verb, what)) in enumerate(zip(titles, FULL_RESET_STEPS, strict=True), start=1):
        assert title.startswith(f"Guide step {number}:"), titles
        lowered = title.lower()
        assert verb in lowered, (number, title)
        assert what in lowered, (number, title)
    # Step 7 is the repository PVCs, step 8 the PVs: "repository pvs" is not "repository pvcs".
    assert "repository pvcs" not in titles[7].lower(), titles[7]


@pytest.mark.parametrize(("keep_operator", "op_ns", "deploy", "ks", "ks_ns"), OPERATORS)
def test_full_reset_names_exactly_this_repositorys_objects(
    tmp_path: Path, keep_operator: bool, op_ns: str, deploy: str, ks: str, ks_ns: str
) -> None:
    doc = plan_json(scenario_repo(tmp_path, keep_operator), "--scenario", "full-reset")
    assert doc["scenario"] == "full-reset"
    assert doc["changes"] == []
    assert doc["dangers"] == []
    assert doc["failures"] == []

    step1 = guide_step(doc, 1)["commands"]
    assert step1[0] == f"flux suspend kustomization {ks} -n {ks_ns}"
    same(step1[1:], [f"flux suspend kustomization {app} -n {ns}" for ns, app in app_kustomizations()])

    assert guide_step(doc, 2)["commands"] == [f"kubectl scale deployment {deploy} -n {op_ns} --replicas=0"]

    same(
        guide_step(doc, 3)["commands"],
        [f"kubectl -n {ns} delete replicationsource {rs} --ignore-not-found" for ns, rs in sources()],
    )
    same(
        guide_step(doc, 4)["commands"],
        [f"kubectl -n {ns} delete replicationdestination {rd} --ignore-not-found" for ns, rd in destinations()],
    )
    same(guide_step(doc, 5)["commands"], delete_pvc(caches()))
    same(guide_step(doc, 6)["commands"], delete_pvc(snapshots()))
    same(guide_step(doc, 7)["commands"], delete_pvc(repo_claims()))
    same(
        guide_step(doc, 8)["commands"],
        [f"kubectl delete pv {pv} --ignore-not-found --wait=false" for pv in repo_volumes()],
    )

    step9 = guide_step(doc, 9)["commands"]
    assert step9[0] == f"flux resume kustomization {ks} -n {ks_ns}"
    assert step9[-1] == f"kubectl scale deployment {deploy} -n {op_ns} --replicas=1"
    same(step9[1:-1], [f"flux resume kustomization {app} -n {ns}" for ns, app in app_kustomizations()])

    # The operator is named from the config, or the guide's defaults, and nowhere else.
    other = "storage" if op_ns == "volsync-system" else "volsync-system"
    assert not any(f"-n {other}" in c for c in commands(doc))
    # The app that the example keeps disabled renders nothing, so nothing of it is deleted.
    assert not any("oldapp" in c for c in commands(doc))
    no_sweeps(commands(doc))


def test_full_reset_markdown_lists_the_same_steps_and_commands(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    doc = plan_json(repo, "--scenario", "full-reset")
    text = plan_markdown(repo, "--scenario", "full-reset")
    assert text.startswith("## volsync-kit plan --scenario full-reset (working-tree)\n")
    numbered = re.findall(r"^(\d+)\. \*\*(.+)\*\*$", text, flags=re.MULTILINE)
    assert numbered == [(str(i), s["title"]) for i, s in enumerate(doc["steps"], start=1)]
    assert markdown_commands(text) == commands(doc)
    no_sweeps(markdown_commands(text))
    assert "Changes" not in text
    assert "Dangers" not in text


def test_scenarios_need_no_git_history(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    shutil.copytree(EXAMPLE, root)
    result = plan(Repo(root, {}), "--scenario", "full-reset", "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    check_json(doc)
    assert doc["scenario"] == "full-reset"
    assert len(doc["steps"]) == len(FULL_RESET_STEPS)


# -- Scenario 2: stuck cache PVCs -------------------------------------------------------------


@pytest.mark.parametrize(("keep_operator", "op_ns", "deploy", "ks", "ks_ns"), OPERATORS)
def test_stuck_cache_deletes_only_the_cache_pvcs_and_checks_them_again(
    tmp_path: Path, keep_operator: bool, op_ns: str, deploy: str, ks: str, ks_ns: str
) -> None:
    doc = plan_json(scenario_repo(tmp_path, keep_operator), "--scenario", "stuck-cache")
    assert doc["scenario"] == "stuck-cache"
    assert doc["changes"] == []
    assert doc["dangers"] == []
    assert doc["failures"] == []
    all_commands = commands(doc)

    # The operator keeps running: it is what recreates the claims.
    assert not any(" scale " in c or "--replicas" in c for c in all_commands), all_commands
    assert not any(c.startswith(("flux suspend", "flux resume")) for c in all_commands), all_commands
    assert f"kubectl -n {op_ns} get deployment {deploy}" in all_commands

    deletions = [c for c in all_commands if " delete " in c]
    same(deletions, delete_pvc(caches()))

    # The guide's two steps, in its order: delete, then check that each comes back. A check, not a
    # wait: a destination with cleanupCachePVC recreates its cache only at its next sync.
    delete_at = [i for i, s in enumerate(doc["steps"]) if any(" delete " in c for c in s["commands"])]
    assert len(delete_at) == 1, [s["title"] for s in doc["steps"]]
    assert not any(" wait " in c for c in all_commands)
    after = [c for s in doc["steps"][delete_at[0] + 1 :] for c in s["commands"]]
    same(after, [f"kubectl -n {ns} get pvc {name} --ignore-not-found" for ns, name in caches()])
    titles = [s["title"].lower() for s in doc["steps"]]
    guide_titles = [t for t in titles if t.startswith("guide step")]
    assert len(guide_titles) == len(STUCK_CACHE_GUIDE_STEPS), titles
    for number, (title, (verb, what)) in enumerate(zip(guide_titles, STUCK_CACHE_GUIDE_STEPS, strict=True), 1):
        assert title.startswith(f"guide step {number}:"), title
        assert verb in title, title
        assert what in title, title
    # Nothing but caches is touched: no source, destination, snapshot or repository object.
    for command in all_commands:
        assert "replicationsource" not in command, command
        assert "replicationdestination" not in command, command
        assert not re.search(r"volsync-[a-z0-9-]+-(repo|repo-pv|src|dest)(\s|$)", command), command
    no_sweeps(all_commands)


# -- golden files ------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["full-reset", "stuck-cache"])
def test_scenario_golden_files(tmp_path: Path, golden, scenario: str) -> None:  # type: ignore[no-untyped-def]
    repo = example_repo(tmp_path)
    text = plan_markdown(repo, "--scenario", scenario)
    result = plan(repo, "--scenario", scenario, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    check_json(doc)  # the schema, and every command one kubectl/flux/git line
    assert doc["scenario"] == scenario
    assert doc["steps"]
    assert all(s["commands"] for s in doc["steps"])
    assert str(tmp_path) not in text + result.stdout
    golden(f"plan/scenario-{scenario}.md", text)
    golden(f"plan/scenario-{scenario}.json", result.stdout)


# -- shell ---------------------------------------------------------------------------------------


def shell_script(tmp_path: Path, repo: Repo, scenario: str, *args: str) -> Path:
    result = plan(repo, "--scenario", scenario, "--format", "shell", *args)
    assert result.exit_code == 0, result.stderr
    script = tmp_path / f"{scenario}.sh"
    script.write_text(result.stdout, encoding="utf-8")
    return script


CONTEXT_CALL = "kubectl config current-context"  # the script names its target before anything else


def run_script(script: Path, tmp_path: Path, missing: str = "", answers: str = "") -> tuple[int, list[str], str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("kubectl", "flux", "git"):
        (bin_dir / tool).write_text(RECORDER, encoding="utf-8")
        (bin_dir / tool).chmod(0o755)
    calls = tmp_path / "calls.log"
    calls.write_text("", encoding="utf-8")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(calls), "MISSING": missing}
    done = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, input=answers, check=False)
    return done.returncode, calls.read_text(encoding="utf-8").splitlines(), done.stderr


def as_called(command: str) -> str:
    """What the recording stand-in writes for a command: the words after the shell removed quotes."""
    return " ".join(shlex.split(command))


@pytest.mark.parametrize("scenario", ["full-reset", "stuck-cache"])
def test_scenario_scripts_pass_bash_n_and_shellcheck(tmp_path: Path, scenario: str) -> None:
    repo = example_repo(tmp_path)
    for args in ((), ("--yes",)):
        script = shell_script(tmp_path, repo, scenario, *args)
        text = script.read_text(encoding="utf-8")
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in text
        checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stderr
        shellcheck = shutil.which("shellcheck")
        assert shellcheck is not None, "shellcheck is required (.ci/run installs it)"
        linted = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
        assert linted.returncode == 0, linted.stdout


def test_full_reset_script_runs_the_guides_steps_in_order_with_yes(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    doc = plan_json(repo, "--scenario", "full-reset")
    code, calls, stderr = run_script(shell_script(tmp_path, repo, "full-reset", "--yes"), tmp_path)
    assert code == 0, stderr
    # Every command of the plan, each once, in the plan's order, once the target is named.
    assert calls == [CONTEXT_CALL, *(as_called(c) for c in commands(doc))]
    calls = calls[1:]

    def first(prefix: str) -> int:
        found = [i for i, call in enumerate(calls) if call.startswith(prefix)]
        assert found, f"never called: {prefix}"
        return found[0]

    def last(prefix: str) -> int:
        found = [i for i, call in enumerate(calls) if call.startswith(prefix)]
        assert found, f"never called: {prefix}"
        return found[-1]

    # The guide's order: each stage starts only after the previous one ended.
    stages = [
        "flux suspend kustomization ",
        "kubectl scale deployment volsync -n volsync-system --replicas=0",
        "kubectl -n database delete replicationsource ",
        "kubectl -n database delete replicationdestination ",
        "kubectl -n database delete pvc volsync-src-cloudbeaver-cache ",
        "kubectl -n database delete pvc volsync-cloudbeaver-src ",
        "kubectl -n database delete pvc volsync-cloudbeaver-repo ",
        "kubectl delete pv volsync-cloudbeaver-repo-pv ",
        "flux resume kustomization volsync -n volsync-system",
        "kubectl scale deployment volsync -n volsync-system --replicas=1",
    ]
    groups = [
        "flux suspend kustomization ",
        "kubectl scale deployment volsync -n volsync-system --replicas=0",
        re.compile(r"^kubectl -n \S+ delete replicationsource "),
        re.compile(r"^kubectl -n \S+ delete replicationdestination "),
        re.compile(r"^kubectl -n \S+ delete pvc volsync-(src|dst)-\S+-cache "),
        re.compile(r"^kubectl -n \S+ delete pvc volsync-\S+-(src|dest) "),
        re.compile(r"^kubectl -n \S+ delete pvc volsync-\S+-repo "),
        "kubectl delete pv ",
        "flux resume kustomization ",
        "kubectl scale deployment volsync -n volsync-system --replicas=1",
    ]
    assert [first(s) for s in stages] == sorted(first(s) for s in stages)
    spans = []
    for group in groups:
        hits = [
            i for i, c in enumerate(calls) if (group.match(c) if isinstance(group, re.Pattern) else c.startswith(group))
        ]
        assert hits, group
        assert hits == list(range(hits[0], hits[-1] + 1)), f"{group}: interleaved with another stage"
        spans.append((hits[0], hits[-1]))
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans)), spans
    assert spans[0][0] == 0
    assert spans[-1][1] == len(calls) - 1
    assert last("kubectl scale deployment volsync -n volsync-system --replicas=0") < first("kubectl -n ")


def test_full_reset_script_stops_before_the_first_deletion_without_yes(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    doc = plan_json(repo, "--scenario", "full-reset")
    script = shell_script(tmp_path, repo, "full-reset")
    # The operator declines the kube context: nothing runs.
    code, calls, stderr = run_script(script, tmp_path)
    assert (code, calls) == (1, [CONTEXT_CALL])
    assert "volsync-kit: this plan acts on the kube context" in stderr
    # The operator confirms the context, then declines the deletion.
    code, calls, stderr = run_script(script, tmp_path, answers="y\n")
    assert code == 1
    assert "aborted" in stderr
    # Suspended and scaled down (guide steps 1 and 2), then asked, and stopped: nothing deleted.
    expected = [as_called(c) for c in guide_step(doc, 1)["commands"] + guide_step(doc, 2)["commands"]]
    assert calls == [CONTEXT_CALL, *expected]
    assert not any(" delete " in call for call in calls)


def test_stuck_cache_script_keeps_the_operator_and_deletes_only_caches(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    doc = plan_json(repo, "--scenario", "stuck-cache")
    code, calls, stderr = run_script(shell_script(tmp_path, repo, "stuck-cache", "--yes"), tmp_path)
    assert code == 0, stderr
    assert calls == [CONTEXT_CALL, *(as_called(c) for c in commands(doc))]
    assert not any("scale" in call or call.startswith("flux ") for call in calls)
    deletions = [i for i, call in enumerate(calls) if " delete " in call]
    checks = [i for i, call in enumerate(calls) if " get pvc " in call and i > max(deletions)]
    same([calls[i] for i in deletions], [as_called(c) for c in delete_pvc(caches())])
    assert len(checks) == len(caches())

    # Without --yes, the kube context confirmed and nothing more: only the read-only checks run.
    code, calls, stderr = run_script(shell_script(tmp_path, repo, "stuck-cache"), tmp_path, answers="y\n")
    assert code == 1
    assert "aborted" in stderr
    assert calls[0] == CONTEXT_CALL
    assert calls[1:]
    assert all(" get " in call for call in calls[1:]), calls


def test_stuck_cache_script_survives_a_cache_pvc_that_does_not_exist(tmp_path: Path) -> None:
    """A ReplicationDestination with ``cleanupCachePVC: true`` (as in the example) deletes its
    cache PVC after every successful sync, so ``volsync-dst-<rd>-cache`` is normally absent.
    The read-only "find the stuck ones" checks must not end the script then."""
    repo = example_repo(tmp_path)
    rd_caches = " ".join(name for _, name in caches() if name.startswith("volsync-dst-"))
    code, calls, stderr = run_script(shell_script(tmp_path, repo, "stuck-cache", "--yes"), tmp_path, missing=rd_caches)
    assert any(" delete pvc volsync-src-" in call for call in calls), (
        f"the script stopped (exit {code}) before deleting a stuck cache: {stderr.strip()}"
    )


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["markdown", "json", "shell"])
def test_unknown_scenario_is_a_usage_error(tmp_path: Path, output: str) -> None:
    repo = example_repo(tmp_path)
    result = plan(repo, "--scenario", "partial-reset", "--format", output)
    assert result.exit_code == 2, (result.exit_code, result.stdout)
    assert result.stdout == ""
    assert "--scenario" in result.stderr
    assert "partial-reset" in result.stderr


def test_unknown_scenario_is_refused_by_the_service_too(tmp_path: Path) -> None:
    repo = example_repo(tmp_path)
    with pytest.raises(UsageError, match=r"--scenario partial-reset: unknown; use one of stuck-cache, full-reset"):
        services.run_plan(repo.root, scenario="partial-reset")
