"""Every case of the hostile corpus through every command that reads it.

For each case and each command that reads the repository (lint, render, plan,
``generate --check``, tree and doctor): no
traceback, the exact exit code, the exact first line of the message (which
names the file and line where there is one), an answer within the time limit,
and a working tree left byte for byte as it was.

All runs are real processes, started together on a thread pool by one module
fixture, so the corpus costs about as long as its slowest cases.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cases import CASES, COMMANDS, CONFIG, Case, Expect, git

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("expected.yaml")
HEALTHY_DUMP = ROOT / "tests" / "doctor" / "dumps" / "healthy.json"
TIMEOUT = 120  # seconds: a hostile repository must cost seconds, never hang
RECORD = bool(os.environ.get("RECORD_HOSTILE"))


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    changed: tuple[str, ...]  # files whose bytes differ after the run

    def first_line(self, repo: Path) -> str:
        text = self.stderr if self.stderr.strip() else self.stdout
        line = text.strip().splitlines()[0] if text.strip() else ""
        # The base commit's name depends on git's clock: it is not part of the contract.
        return re.sub(r"\b[0-9a-f]{12}\b", "<sha>", line.replace(str(repo), "<repo>"))


def checksums(root: Path) -> dict[str, str]:
    sums: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                sums[rel] = "link:" + os.readlink(path)
            else:
                try:
                    sums[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
                except OSError as err:  # unreadable by this test as well: compare its mode and size
                    stat = path.stat()
                    sums[rel] = f"unreadable:{err.errno}:{stat.st_mode}:{stat.st_size}"
    return sums


def argv(command: str, repo: Path, case: Case) -> list[str]:
    base = [sys.executable, "-m", "volsync_kit"]
    args = {
        "lint": ["lint", "--repo", str(repo)],
        "render": ["render", "--repo", str(repo)],
        "plan": ["plan", "--repo", str(repo), *case.plan_args],
        "generate": ["generate", "--check", "--repo", str(repo)],
        "tree": ["tree", "--repo", str(repo)],
        "doctor": ["doctor", "--repo", str(repo), "--from", str(HEALTHY_DUMP), "--now", "2026-11-28T12:00:00Z"],
    }[command]
    if case.unreadable and os.geteuid() == 0:
        # root reads any file; without these capabilities it obeys the mode bits.
        base = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *base]
    return [*base, *args]


def make_base(tmp: Path) -> Path:
    """The example (less its inactive app), with the generate settings, its
    component generated, committed."""
    base = tmp / "base"
    shutil.copytree(ROOT / "examples" / "home-ops", base)
    # The example's deliberately inactive app would be every lint's first line.
    shutil.rmtree(base / "kubernetes" / "apps" / "media" / "oldapp")
    settings = yaml.safe_load((ROOT / "tests" / "fixtures" / "generate" / "volsync-kit.yaml").read_text())
    config = base / CONFIG
    extra = {key: settings[key] for key in ("repository", "components", "apps")}
    config.write_text(config.read_text() + yaml.safe_dump(extra, sort_keys=False))
    done = subprocess.run(
        [sys.executable, "-m", "volsync_kit", "generate", "--force", "--repo", str(base)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    git(base, "init", "-q")
    git(base, "add", "-A")
    git(base, "commit", "-qm", "base")
    return base


def run_case(case: Case, base: Path, tmp: Path) -> dict[str, tuple[Path, Outcome]]:
    repo = tmp / case.name / "repo"
    repo.parent.mkdir()
    shutil.copytree(base, repo, symlinks=True)
    case.setup(repo)
    for rel in case.unreadable:
        (repo / rel).chmod(0)
    before = checksums(repo)
    results: dict[str, tuple[Path, Outcome]] = {}
    try:
        for command in COMMANDS:
            done = subprocess.run(
                argv(command, repo, case), capture_output=True, text=True, timeout=TIMEOUT, cwd=repo.parent
            )
            after = checksums(repo)
            changed = tuple(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)))
            results[command] = (repo, Outcome(done.returncode, done.stdout, done.stderr, changed))
    finally:
        for rel in case.unreadable:
            (repo / rel).chmod(0o644)
    return results


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[Path, Outcome]]]:
    tmp = tmp_path_factory.mktemp("hostile")
    base = make_base(tmp)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {case.name: pool.submit(run_case, case, base, tmp) for case in CASES}
        results = {name: future.result() for name, future in futures.items()}
    if RECORD:
        recorded = {
            name: {cmd: [out.code, out.first_line(repo)] for cmd, (repo, out) in by_cmd.items()}
            for name, by_cmd in results.items()
        }
        EXPECTED.write_text(yaml.safe_dump(recorded, sort_keys=False, allow_unicode=True, width=1000))
    return results


def expected() -> dict[str, dict[str, Expect]]:
    data = yaml.safe_load(EXPECTED.read_text()) if EXPECTED.exists() else {}
    return {case: {cmd: Expect(code, message) for cmd, (code, message) in cmds.items()} for case, cmds in data.items()}


def test_the_corpus_has_at_least_40_cases_each_with_expectations_for_every_command() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)
    assert set(expected()) == {c.name for c in CASES}
    for case, by_command in expected().items():
        assert set(by_command) == set(COMMANDS), case


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_input(case: Case, command: str, outcomes: dict[str, dict[str, tuple[Path, Outcome]]]) -> None:
    repo, outcome = outcomes[case.name][command]
    assert "Traceback" not in outcome.stderr + outcome.stdout
    assert outcome.changed == (), f"{command} changed {outcome.changed}"
    want = expected()[case.name][command]
    assert (outcome.code, outcome.first_line(repo)) == (want.code, want.message)
    assert outcome.code in (0, 1, 2), "3 is an internal error: a bug, whatever the input"
