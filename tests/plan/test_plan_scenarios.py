"""`plan --scenario`: the guide's Scenario 2 (stuck cache PVCs) and Scenario 3 (full VolSync reset).

The operators' guide sweeps the cluster (``-A``, ``jq`` and regular expressions);
the plan must instead name every object this repository makes VolSync create,
each in its namespace, and keep the guide's order so that a reader finds every
step of the guide in it.  The VolSync operator is the one the ``operator:``
section of ``.volsync-kit.yaml`` names (``volsync-system`` in the example), or
the guide's ``storage/volsync`` without that section.
"""

from __future__ import annotations

import json
import re
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


def acts(step: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(verb, resource, namespace, name) of each action of a JSON step."""
    return [
        (a["verb"], a["target"]["resource"], a["target"]["namespace"] or "", a["target"]["name"])
        for a in step["actions"]
    ]


def same(actual: list[Any], expected: list[Any]) -> None:
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

    step1 = acts(guide_step(doc, 1))
    assert step1[0] == ("suspend", "kustomization", ks_ns, ks)
    same(step1[1:], [("suspend", "kustomization", ns, app) for ns, app in app_kustomizations()])

    assert acts(guide_step(doc, 2)) == [("scale-to", "deployment", op_ns, deploy)]
    assert guide_step(doc, 2)["commands"] == [f"kubectl scale deployment {deploy} -n {op_ns} --replicas=0"]

    # Each deletion is waited for in its own step: the resume never races a deletion.
    for number, resource, pairs in (
        (3, "replicationsource", sources()),
        (4, "replicationdestination", destinations()),
        (5, "pvc", caches()),
        (6, "pvc", snapshots()),
        (7, "pvc", repo_claims()),
        (8, "pv", [("", pv) for pv in repo_volumes()]),
    ):
        same(
            acts(guide_step(doc, number)),
            [(verb, resource, ns, name) for verb in ("delete", "wait-deleted") for ns, name in pairs],
        )

    step9 = acts(guide_step(doc, 9))
    assert step9[0] == ("resume", "kustomization", ks_ns, ks)
    assert step9[-1] == ("scale-back", "deployment", op_ns, deploy)
    same(step9[1:-1], [("resume", "kustomization", ns, app) for ns, app in app_kustomizations()])

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
    assert f"kubectl -n {op_ns} get deployment {deploy} -o wide --ignore-not-found" in all_commands

    # Every cache is a candidate; the script deletes only those Pending with the Volume-ID event.
    all_actions = [a for s in doc["steps"] for a in acts(s)]
    same([a for a in all_actions if a[0] == "delete-stuck"], [("delete-stuck", "pvc", ns, n) for ns, n in caches()])
    assert not any(a[0] == "delete" for a in all_actions)
    # The guide's two steps, in its order: delete, then wait for each source's cache to come back.
    # Only the sources': a destination with cleanupCachePVC recreates its cache at its next sync.
    delete_at = [i for i, s in enumerate(doc["steps"]) if any(a["verb"] == "delete-stuck" for a in s["actions"])]
    assert len(delete_at) == 1, [s["title"] for s in doc["steps"]]
    after = [a for s in doc["steps"][delete_at[0] + 1 :] for a in acts(s)]
    same(after, [("wait-recreated", "pvc", ns, f"volsync-src-{rs}-cache") for ns, rs in sources()])
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


# The scripts themselves run end to end in the cluster simulation: tests/procedures.


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
