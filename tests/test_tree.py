"""``tree``: the guide's hierarchy for the example (golden text, Mermaid and JSON),
VolSync's naming rules for every object it predicts, the plan's diagram, and
doctor's live overlay."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import jsonschema
import pytest
from helpers_repo import committed_example, home_ops, write_repo
from typer.testing import CliRunner

from volsync_kit.adapters.fs import FileRepo
from volsync_kit.cli import app
from volsync_kit.core import flux
from volsync_kit.core.tree import TreeNode, build, walk_nodes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
SCHEMA = json.loads((ROOT / "schemas" / "tree.schema.json").read_text())


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--no-cache"])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("mermaid", "mmd"), ("json", "json")])
def test_example_tree_golden(fmt: str, suffix: str, golden) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("tree", "--repo", str(EXAMPLE), "--format", fmt)
    assert code == 0, err
    golden(f"tree/example.{suffix}", out)
    if fmt == "json":
        doc = json.loads(out)
        jsonschema.validate(doc, SCHEMA)
        assert doc["version"] == 2


def test_one_app_and_an_unknown_app() -> None:
    code, out, _ = cli("tree", "--repo", str(EXAMPLE), "--app", "sonarr")
    assert code == 0
    assert "# app sonarr" in out
    assert "# app radarr" not in out
    code, _, err = cli("tree", "--repo", str(EXAMPLE), "--app", "nope")
    assert code == 2
    assert "known apps: cloudbeaver" in err


# -- VolSync's names, computed here from domain-facts 3.1 and compared with the tree ---------


def crc_job(direction: str, owner: str) -> str:
    name = f"volsync-{direction}-{owner}"
    return name if len(name) <= 63 else f"volsync-{direction}-{zlib.crc32(owner.encode()):08x}"


def expected_dynamic(node: TreeNode) -> set[tuple[str, str]]:
    """What VolSync creates for one ReplicationSource or ReplicationDestination node."""
    method = re.search(r"copyMethod (\w+)", node.note)
    copy = method.group(1) if method else "Direct"
    if node.kind == "ReplicationSource":
        out = {("PersistentVolumeClaim", f"volsync-src-{node.name}-cache"), ("Job", crc_job("src", node.name))}
        if copy in ("Snapshot", "Clone"):
            out.add(("PersistentVolumeClaim", f"volsync-{node.name}-src"))
        if copy == "Snapshot":
            out.add(("VolumeSnapshot", f"volsync-{node.name}-src"))
        return out
    out = {("PersistentVolumeClaim", f"volsync-dst-{node.name}-cache"), ("Job", crc_job("dst", node.name))}
    out.add(("PersistentVolumeClaim", f"volsync-{node.name}-dest"))
    if copy == "Snapshot":
        out.add(("VolumeSnapshot", f"volsync-{node.name}-dest-<YYYYMMDDHHMMSS>"))
    return out


def movers(trees: list) -> list[TreeNode]:  # type: ignore[type-arg]
    return [n for t in trees for n in walk_nodes(t.root) if n.kind in ("ReplicationSource", "ReplicationDestination")]


def check_names(trees: list) -> int:  # type: ignore[type-arg]
    checked = 0
    for mover in movers(trees):
        predicted = {(n.kind, n.name) for n in walk_nodes(mover) if n.origin == "volsync"}
        assert predicted == expected_dynamic(mover), mover.name
        for kind, name in predicted:
            assert len(name.replace("-<YYYYMMDDHHMMSS>", "-20261128120000")) <= (63 if kind == "Job" else 253)
        checked += 1
    return checked


def test_every_dynamic_name_follows_volsyncs_rules() -> None:
    assert check_names(build(flux.walk(FileRepo(EXAMPLE)))) == 21  # 7 apps x (2 sources + 1 destination)


def test_long_names_get_volsyncs_hashed_job_name(tmp_path: Path) -> None:
    long_app = "a" + "b" * 54  # 55 characters: volsync-src-<app> is 67
    root = write_repo(tmp_path, home_ops({"media": ["sonarr", long_app]}))
    trees = build(flux.walk(FileRepo(root)), long_app)
    assert check_names(trees) == 1  # the helpers' operations component has one ReplicationSource
    jobs = {n.name for n in walk_nodes(trees[0].root) if n.kind == "Job"}
    assert f"volsync-src-{zlib.crc32(long_app.encode()):08x}" in jobs
    assert all(len(j) <= 63 for j in jobs)
    caches = {n.name for n in walk_nodes(trees[0].root) if n.name.endswith("-cache")}
    assert f"volsync-src-{long_app}-cache" in caches  # claims are not shortened


def test_static_and_dynamic_objects_are_marked_apart() -> None:
    (tree,) = build(flux.walk(FileRepo(EXAMPLE)), "sonarr")
    origins = {(n.kind, n.name): n.origin for n in walk_nodes(tree.root)}
    assert origins[("PersistentVolume", "volsync-sonarr-repo-pv")] == "repository"
    assert origins[("PersistentVolumeClaim", "volsync-sonarr-repo")] == "repository"
    assert origins[("PersistentVolumeClaim", "volsync-src-sonarr-cache")] == "volsync"
    assert origins[("Kustomization", "sonarr")] == "flux"
    pv = next(n for n in walk_nodes(tree.root) if n.name == "volsync-sonarr-repo-pv")
    assert pv.note == "static CephFS, rootPath /volsync/sonarr"


# -- Mermaid -----------------------------------------------------------------------------------

MERMAID = Path("/tmp/volsync-kit-mermaid")  # npm install cache shared by the tests of one machine


def mermaid_parser() -> list[str] | None:
    """node with mermaid and jsdom from the npm registry, or None when they cannot be had."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    if not (MERMAID / "node_modules" / "mermaid").is_dir():
        MERMAID.mkdir(exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent", "mermaid@11", "jsdom@25"],
            cwd=MERMAID,
            capture_output=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            return None
    script = MERMAID / "parse.mjs"
    script.write_text(PARSE_SCRIPT)
    return ["node", str(script)]


PARSE_SCRIPT = """
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMPurify = undefined;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
const text = readFileSync(0, "utf8");
const result = await mermaid.parse(text);
console.log(JSON.stringify(result));
"""

GRAMMAR = [
    re.compile(r"^flowchart (LR|TD)$"),
    re.compile(r'^  n\d+(\["[^"]*"\]|\(\["[^"]*"\]\))$'),
    re.compile(r"^  n\d+ --> n\d+$"),
    re.compile(r"^  classDef \w+ [\w:#,. -]+$"),
    re.compile(r"^  class n\d+(,n\d+)* \w+$"),
    re.compile(r'^  subgraph g\d+\["[^"]*"\]$'),
    re.compile(r'^    g\d+o\d+\["[^"]*"\]:::\w+$'),
    re.compile(r"^  end$"),
]


def check_mermaid(text: str) -> None:
    """Mermaid's own parser when it can run; the grammar of what volsync-kit emits in any case."""
    for line in text.strip().splitlines():
        assert any(g.match(line) for g in GRAMMAR), line
    parser = mermaid_parser()
    if parser is not None:
        done = subprocess.run(parser, input=text, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1])["diagramType"].startswith("flowchart")


def test_the_mermaid_tree_parses() -> None:
    _, out, _ = cli("tree", "--repo", str(EXAMPLE), "--format", "mermaid")
    check_mermaid(out)


def plan_markdown(tmp_path: Path, edit: str) -> str:
    repo = committed_example(tmp_path)
    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", edit))
    _, out, _ = cli("plan", "--repo", str(repo))
    return out


def test_the_plan_for_a_root_path_change_draws_its_diagram(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    # rootPath moves for every app, and one app (sonarr) also gains a claim: two
    # groups of apps changed differently, which the table alone does not show.
    repo = committed_example(tmp_path)
    pv = repo / "kubernetes/flux/components/volsync/repository/pv.yaml"
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /volsync/moved/${APP}"))
    data = repo / "kubernetes/apps/media/sonarr/app"
    (data / "extra-pvc.yaml").write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: sonarr-extra\nspec:\n"
        "  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
    )
    kustomization = data / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n  - ./extra-pvc.yaml\n"))
    _, markdown, _ = cli("plan", "--repo", str(repo))
    diagram = markdown.split("```mermaid\n", 1)[1].split("```", 1)[0]
    # Six apps changed the same way are one group, not six; sonarr, which also gains a claim, is another.
    assert diagram.count("subgraph") == 2
    assert "6 apps: cloudbeaver, home-assistant, jellyfin, paperless, pgadmin, radarr" in diagram
    assert "PersistentVolume volsync-${APP}-repo-pv<br/>replace" in diagram
    assert "PersistentVolumeClaim sonarr-extra<br/>create" in diagram
    assert "classDef replace" in diagram
    assert "classDef create" in diagram
    # in the folded table's block, before the checklist
    assert markdown.index("| app | object |") < markdown.index("```mermaid") < markdown.index("</details>")
    assert markdown.index("</details>") < markdown.index("### Checklist")
    check_mermaid(diagram)
    golden("tree/plan-rootpath.mmd", diagram)


def test_a_plan_of_one_group_draws_no_diagram(tmp_path: Path) -> None:
    """Seven apps changed alike: the summary line and the grouped danger say it all."""
    markdown = plan_markdown(tmp_path, "rootPath: /volsync/moved/${APP}")
    assert "```mermaid" not in markdown
    assert "**Plan:** 14 to replace" in markdown


def test_doctor_overlays_live_status_and_orphans(tmp_path: Path) -> None:
    dump = json.loads((ROOT / "tests/doctor/dumps/stuck-cache.json").read_text())
    orphan = json.loads(
        json.dumps(next(i for i in dump["items"] if i["metadata"]["name"] == "volsync-src-sonarr-cache"))
    )
    orphan["metadata"]["name"] = "volsync-sonarr-cache"  # VolSync's pre-0.11 cache name, left behind
    dump["items"].append(orphan)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(dump))
    code, out, _ = cli("doctor", "--repo", str(EXAMPLE), "--from", str(path), "--tree", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    sonarr = next(t for t in doc["trees"] if t["app"] == "sonarr")
    nodes: list[dict] = []  # type: ignore[type-arg]
    stack = [sonarr["tree"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node["children"])
    status = {(n["kind"], n["name"]): n["status"] for n in nodes}
    assert status[("PersistentVolumeClaim", "volsync-src-sonarr-cache")] == "Pending"
    assert status[("PersistentVolume", "volsync-sonarr-repo-pv")] == "Bound"
    assert status[("ReplicationSource", "sonarr")] == (
        "Synchronizing=False WaitingForSchedule, last sync 2026-11-28T11:00:07Z"
    )
    assert status[("Job", "volsync-src-sonarr")] == "not read"  # the dump holds no Job: none was read
    assert status[("PersistentVolumeClaim", "volsync-sonarr-cache")] == "Pending"  # the orphan, listed
    orphan_node = next(n for n in nodes if n["name"] == "volsync-sonarr-cache")
    assert orphan_node["note"] == "orphan: in the cluster, not in this tree"
    cache = next(n for n in nodes if n["name"] == "volsync-src-sonarr-cache")
    assert cache["findings"] == ["D101 stuck-claim"]  # doctor's diagnosis, on the claim it is about


def test_apps_that_fail_to_render_are_errors_and_the_others_are_drawn(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    ks = repo / "kubernetes/apps/media/sonarr/ks.yaml"
    ks.write_text(ks.read_text().replace("path: ./kubernetes/apps/media/sonarr/app", "path: ./nowhere"))
    code, out, err = cli("tree", "--repo", str(repo))
    assert code == 2
    assert "# app radarr" in out
    assert "# app sonarr" not in out
    assert err.startswith("kubernetes/apps/media/sonarr/ks.yaml:")
    assert "[path-missing]" in err


def test_mermaid_draws_every_app_that_json_lists() -> None:
    """Each app's tree starts at the shared Flux root: every app is drawn, not the first only."""
    example = Path(__file__).resolve().parents[1] / "examples" / "home-ops"
    runner = CliRunner()
    doc = json.loads(runner.invoke(app, ["tree", "--repo", str(example), "--format", "json"]).stdout)
    mermaid = runner.invoke(app, ["tree", "--repo", str(example), "--format", "mermaid"]).stdout
    apps = doc["apps"]
    assert len(apps) == 7
    for entry in apps:
        ks = entry["kustomization"]
        assert f'Kustomization {ks["namespace"]}/{ks["name"]} — {ks["file"]}"]' in mermaid, ks["name"]
    # each node is declared once, each edge drawn once
    lines = mermaid.splitlines()
    assert len(lines) == len(set(lines))


# -- movers other than restic: what VolSync makes for each ------------------------------------

SOURCE = "kubernetes/flux/components/volsync/operations/replicationsource.yaml"


@pytest.mark.parametrize(
    ("mover", "secret", "cache", "job"),
    [
        # kopia names its cache and Job as restic does (perfectra1n/volsync mover/kopia/mover.go)
        ("kopia", "; kopia Secret sonarr-volsync-secret", True, "volsync-src-sonarr"),
        # rclone and rsyncTLS keep no cache; their Jobs have prefixes of their own
        # (backube/volsync mover/rclone/mover.go, mover/rsynctls/mover.go)
        ("rclone", "", False, "volsync-rclone-src-sonarr"),
        ("rsyncTLS", "", False, "volsync-rsync-tls-src-sonarr"),
    ],
)
def test_each_mover_draws_what_volsync_makes_for_it(
    tmp_path: Path, mover: str, secret: str, cache: bool, job: str
) -> None:
    root = tmp_path / "ops"
    shutil.copytree(EXAMPLE, root)
    source = root / SOURCE
    text = source.read_text()
    assert text.count("\n  restic:\n") == 2
    source.write_text(text.replace("\n  restic:\n", f"\n  {mover}:\n"))
    code, out, err = cli("tree", "--repo", str(root), "--app", "sonarr")
    assert code == 0, err
    drawn = [line.split("── ", 1)[1] for line in out.splitlines() if "── " in line]
    first = drawn.index(f"● ReplicationSource sonarr — copyMethod Snapshot{secret}")
    after = drawn[first + 1 :]
    mine = after[: next(n for n, line in enumerate(after) if line.startswith("● Replication"))]
    assert ("○ PersistentVolumeClaim volsync-src-sonarr-cache — cache, class ceph-block" in mine) is cache
    assert mine[-1] == f"○ Job {job} — mover; its pods are named after it"
    assert "● PersistentVolumeClaim volsync-sonarr-repo" in mine  # moverVolumes, under any of these movers
