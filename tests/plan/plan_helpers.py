"""Helpers for ``plan`` tests: the example repository in a real git repository.

Each test copies ``examples/home-ops`` into ``tmp_path``, commits it with a
fixed identity and date (so commit ids are stable), makes a change, and
either commits it (``--base HEAD~1 --head HEAD``), stages it (``--staged``)
or leaves it in the work tree (the default head).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from typer.testing import CliRunner, Result

from volsync_kit.cli import app as cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "home-ops"
SCHEMA = ROOT / "schemas" / "plan.schema.json"

COMPONENTS = "kubernetes/flux/components/volsync"
REPO_COMPONENT = f"{COMPONENTS}/repository"
OPS_COMPONENT = f"{COMPONENTS}/operations"
REPO_KUSTOMIZATION = f"{REPO_COMPONENT}/kustomization.yaml"
REPO_PV = f"{REPO_COMPONENT}/pv.yaml"
REPO_PVC = f"{REPO_COMPONENT}/pvc.yaml"
OPS_KUSTOMIZATION = f"{OPS_COMPONENT}/kustomization.yaml"
MEDIA_PV = "kubernetes/apps/media/jellyfin/app/media-pv.yaml"
MEDIA_KUSTOMIZATION = "kubernetes/apps/media/kustomization.yaml"
CLUSTER_KS = "kubernetes/flux/cluster/ks.yaml"

# The apps of the example that use the VolSync components, and their namespaces.
APPS = {
    "cloudbeaver": "database",
    "pgadmin": "database",
    "home-assistant": "default",
    "paperless": "default",
    "jellyfin": "media",
    "radarr": "media",
    "sonarr": "media",
}

FIXED_DATE = "2024-01-01T12:00:00+00:00"
SHA = re.compile(r"^[0-9a-f]{40}$")
COMMAND = re.compile(r"^(kubectl|flux|git) [^\n]*$")

runner = CliRunner()


def ks_file(app: str) -> str:
    return f"kubernetes/apps/{APPS[app]}/{app}/ks.yaml"


def git_env(tmp: Path) -> dict[str, str]:
    """No user or system git config, a fixed identity and a fixed date."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    config = tmp / "gitconfig"
    config.touch()
    env.update(
        GIT_AUTHOR_NAME="Plan Test",
        GIT_AUTHOR_EMAIL="plan@example.com",
        GIT_COMMITTER_NAME="Plan Test",
        GIT_COMMITTER_EMAIL="plan@example.com",
        GIT_AUTHOR_DATE=FIXED_DATE,
        GIT_COMMITTER_DATE=FIXED_DATE,
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


class Repo:
    """A git repository holding a copy of the example."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.env = env

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=self.root, env=self.env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"git {' '.join(args)}: {out.stderr}"
        return out.stdout

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.sha()

    def sha(self, rev: str = "HEAD") -> str:
        return self.git("rev-parse", rev).strip()

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def write(self, path: str, text: str) -> None:
        file = self.root / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")

    def edit(self, path: str, old: str, new: str, count: int = 1) -> None:
        """Replace ``old`` (which must occur) by ``new`` in one file."""
        text = self.read(path)
        assert old in text, f"{old!r} not in {path}"
        self.write(path, text.replace(old, new, count))


def example_repo(tmp_path: Path) -> Repo:
    """The example, committed once on ``main``."""
    root = tmp_path / "home-ops"
    shutil.copytree(EXAMPLE, root)
    repo = Repo(root, git_env(tmp_path))
    repo.git("init", "-q", "-b", "main")
    repo.commit("home-ops")
    return repo


# -- changes ------------------------------------------------------------------------


def change_root_path(repo: Repo) -> None:
    repo.edit(REPO_PV, "rootPath: /volsync/${APP}", "rootPath: /k8s-backups/volsync/${APP}")


def drop_data_pvc(repo: Repo) -> None:
    repo.edit(OPS_KUSTOMIZATION, "  - ./pvc.yaml\n", "")


def remove_app(repo: Repo, app: str) -> None:
    namespace = APPS[app]
    repo.edit(f"kubernetes/apps/{namespace}/kustomization.yaml", f"  - ./{app}/ks.yaml\n", "")
    shutil.rmtree(repo.root / "kubernetes" / "apps" / namespace / app)


# -- running ------------------------------------------------------------------------


def plan(repo: Repo, *args: str) -> Result:
    return runner.invoke(cli, ["plan", "--repo", str(repo.root), *args])


@cache
def plan_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def check_json(doc: dict[str, Any]) -> None:
    """The document matches the schema and every command is one kubectl/flux/git line."""
    jsonschema.Draft202012Validator(plan_schema()).validate(doc)
    for step in doc["steps"]:
        for command in step["commands"]:
            assert COMMAND.match(command), f"not one kubectl/flux/git command line: {command!r}"


def plan_json(repo: Repo, *args: str, exit_code: int = 0) -> dict[str, Any]:
    result = plan(repo, "--format", "json", *args)
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    doc: dict[str, Any] = json.loads(result.stdout)
    check_json(doc)
    return doc


def plan_markdown(repo: Repo, *args: str, exit_code: int = 0) -> str:
    result = plan(repo, *args)
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    return result.stdout


# -- reading a plan -------------------------------------------------------------------

Row = tuple[str, str, str, str | None, str]  # app, kind, name, namespace, action


def rows(doc: dict[str, Any]) -> set[Row]:
    return {(c["app"], c["kind"], c["name"], c["namespace"], c["action"]) for c in doc["changes"]}


def change(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    found = [c for c in doc["changes"] if c["kind"] == kind and c["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {rows(doc)}"
    return found[0]


def commands(doc: dict[str, Any]) -> list[str]:
    return [command for step in doc["steps"] for command in step["commands"]]


Act = tuple[str, str, str, str]  # verb, resource, namespace ("" when cluster-scoped), name


def acts(step_or_doc: dict[str, Any]) -> list[Act]:
    """(verb, resource, namespace, name) of each action of a JSON step, or of every step."""
    steps = step_or_doc.get("steps", [step_or_doc])
    return [
        (a["verb"], a["target"]["resource"], a["target"]["namespace"] or "", a["target"]["name"])
        for s in steps
        for a in s["actions"]
        if "target" in a
    ]


def named(command: str, after: str) -> list[str]:
    """The names a batched command lists after ``after`` (up to its first flag)."""
    rest = command.split(f" {after} ", 1)[1].split()
    return rest[: next((i for i, w in enumerate(rest) if w.startswith("-")), len(rest))]


def step(doc: dict[str, Any], prefix: str) -> tuple[int, dict[str, Any]]:
    """The one step whose title starts with ``prefix`` (case-insensitive), and its index."""
    found = [(i, s) for i, s in enumerate(doc["steps"]) if s["title"].lower().startswith(prefix.lower())]
    assert len(found) == 1, f"{prefix!r}: {[s['title'] for s in doc['steps']]}"
    return found[0]


def markdown_commands(text: str) -> list[str]:
    """The lines inside the ```bash blocks of a markdown plan."""
    out: list[str] = []
    inside = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "```bash":
            inside = True
        elif stripped == "```":
            inside = False
        elif inside:
            out.append(stripped)
    return out


def redact(text: str, **shas: str) -> str:
    """Replace each commit id, and its 12-character prefix, by ``<name>`` / ``<name>-12``."""
    for name, sha in shas.items():
        assert SHA.match(sha), sha
        text = text.replace(sha, f"<{name}>").replace(sha[:12], f"<{name}-12>")
    return text
