"""Each thing once: a finding many apps share is one line, infos only when asked.

The repository is built from scratch, shaped like a real home-ops one: 30
apps under ``kubernetes/apps/<namespace>/<app>/ks.yaml`` (``name: &app``
anchors, the VolSync components listed as ``../../../../flux/components/...``),
every app reading one SOPS-encrypted Secret through
``postBuild.substituteFrom``; each namespace gets the Secret from a shared
component.  It is generated into a temporary git repository rather than
committed 30 times.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_repo import (
    OPS_COMPONENT,
    PV,
    REPO_COMPONENT,
    REPO_PVC,
    app_ks,
    git,
    home_ops,
    line_of,
    namespace_kustomization,
    write_repo,
)
from lint_helpers import hits, lint
from typer.testing import CliRunner

from volsync_kit.cli import app as cli
from volsync_kit.core.findings import Finding, LintResult, group_by_place
from volsync_kit.core.model import KsRef, Loc, Problem, Severity
from volsync_kit.core.render import group_by_place as group_problems
from volsync_kit.report import lint_out, render_out

runner = CliRunner()

APPS = {
    "database": ["cloudbeaver", "pgadmin", "redis"],
    "default": ["actual", "atuin", "bookstack", "echo", "homepage", "linkding", "memos", "paperless", "vaultwarden"],
    "home": ["esphome", "home-assistant", "mosquitto", "node-red", "zigbee2mqtt", "zwave-js-ui"],
    "media": [
        "bazarr",
        "jellyfin",
        "lidarr",
        "overseerr",
        "plex",
        "prowlarr",
        "qbittorrent",
        "radarr",
        "readarr",
        "sabnzbd",
        "sonarr",
        "tautulli",
    ],
}
ALL_APPS = sorted(a for apps in APPS.values() for a in apps)
FIRST_THREE = "actual, atuin, bazarr"  # the first three apps by name
KS_FILES = sorted(f"kubernetes/apps/{ns}/{a}/ks.yaml" for ns, apps in APPS.items() for a in apps)

SECRET = "kubernetes/components/common/sops/cluster-secrets.sops.yaml"
SOPS_SECRET = """
---
# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/v1/secret.json
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
stringData:
  SECRET_DOMAIN: ENC[AES256_GCM,data:ZXhhbXBsZS5jb20=,iv:aXZpdml2aXZpdg==,tag:dGFndGFndGFn,type:str]
  SECRET_ACME_EMAIL: ENC[AES256_GCM,data:YUBiLmM=,iv:aXZpdml2aXZpdg==,tag:dGFndGFndGFn,type:str]
sops:
  age:
    - recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhYmMK
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2025-06-01T10:00:00Z"
  mac: ENC[AES256_GCM,data:bWFjbWFj,iv:aXZpdml2aXZpdg==,tag:dGFndGFndGFn,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.9.4
"""
COMMON = """
---
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./sops/cluster-secrets.sops.yaml
"""
SUBSTITUTE_FROM = "    substituteFrom:\n      - kind: Secret\n        name: cluster-secrets\n"
# The helpers' PV, with the node stage Secret a real one has: the repository lints clean.
CLEAN_PV = PV.replace(
    "    volumeHandle: volsync-${APP}-repo-pv\n",
    "    volumeHandle: volsync-${APP}-repo-pv\n"
    "    nodeStageSecretRef:\n      name: rook-csi-cephfs-node\n      namespace: rook-ceph\n",
)
VK902_MESSAGE = (
    "substituteFrom Secret/cluster-secrets is SOPS-encrypted: the variables it defines keep their ${...} and are "
    "judged unknown; volsync-kit cannot vouch for what it produces, so check it by hand"
)


def home_ops_repo(root: Path, change: dict[str, str] | None = None) -> Path:
    """The 30-app repository (with ``change`` applied: path -> text), committed."""
    overrides = {(ns, a): app_ks(ns, a, post_build_extra=SUBSTITUTE_FROM) for ns, apps in APPS.items() for a in apps}
    files = home_ops(APPS, ks_overrides=overrides)
    for ns, apps in APPS.items():
        files[f"kubernetes/apps/{ns}/kustomization.yaml"] = (
            namespace_kustomization(ns, apps) + "components:\n  - ../../components/common\n"
        )
    files["kubernetes/components/common/kustomization.yaml"] = COMMON
    files[SECRET] = SOPS_SECRET
    files[f"{REPO_COMPONENT}/pv.yaml"] = CLEAN_PV
    files.update(change or {})
    write_repo(root, files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "home-ops")
    return root


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def rule_lines(out: str, rule: str) -> list[str]:
    return [line for line in out.splitlines() if f" {rule} " in line or f"title={rule} " in line]


@pytest.fixture(scope="module")
def shared_secret(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return home_ops_repo(tmp_path_factory.mktemp("home-ops"))


# -- one encrypted Secret read by every app --------------------------------------------


def test_shared_sops_secret_prints_no_info_by_default(shared_secret: Path) -> None:
    code, out, err = invoke("lint", "--repo", str(shared_secret))
    assert (code, err) == (0, "")
    (summary,) = out.splitlines()  # no finding line at all: the summary alone
    assert summary.startswith("0 error(s), 0 warning(s), 1 info (hidden; -v shows them), 0 suppressed; 30 app(s), ")


@pytest.mark.parametrize("flag", [["-v"], ["--verbose"], ["--show", "info"]])
def test_shared_sops_secret_is_one_vk902_line_naming_the_30_apps(shared_secret: Path, flag: list[str]) -> None:
    code, out, _ = invoke("lint", "--repo", str(shared_secret), *flag)
    assert code == 0
    line = line_of(SOPS_SECRET, "apiVersion: v1")  # the Secret's document
    assert rule_lines(out, "VK902") == [f"{SECRET}:{line}:1: info VK902 {VK902_MESSAGE} [30 apps: {FIRST_THREE}, …]"]
    assert out.splitlines()[-1].startswith("0 error(s), 0 warning(s), 1 info, 0 suppressed; 30 app(s), ")


def test_shared_sops_secret_github_annotations(shared_secret: Path) -> None:
    code, out, _ = invoke("lint", "--repo", str(shared_secret), "--format", "github")
    assert (code, out) == (0, "")
    code, out, _ = invoke("lint", "--repo", str(shared_secret), "--format", "github", "-v")
    assert code == 0
    line = line_of(SOPS_SECRET, "apiVersion: v1")
    assert out.splitlines() == [
        f"::notice file={SECRET},line={line},col=1,title=VK902 not-evaluated::"
        f"{VK902_MESSAGE} [30 apps: {FIRST_THREE}, …]"
    ]


def test_shared_sops_secret_json_keeps_every_app(shared_secret: Path) -> None:
    """JSON stays complete: a finding for each app, all at the Secret."""
    result = lint(shared_secret)
    line = line_of(SOPS_SECRET, "apiVersion: v1")
    assert hits(result, "VK902") == [("VK902", SECRET, line, a) for a in ALL_APPS]
    code, out, _ = invoke("lint", "--repo", str(shared_secret), "--format", "json")
    assert code == 0
    assert out.count('"rule": "VK902"') == 30
    assert '"infos": 30' in out


def test_verbose_and_show_error_contradict(shared_secret: Path) -> None:
    code, out, err = invoke("lint", "--repo", str(shared_secret), "-v", "--show", "error")
    assert (code, out) == (2, "")
    assert "-v is --show info" in err


# -- an emptied or missing component --------------------------------------------------


def test_emptied_component_is_one_line_with_every_app_and_the_fix(tmp_path: Path) -> None:
    emptied = "---\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
    path = f"{REPO_COMPONENT}/kustomization.yaml"
    root = home_ops_repo(tmp_path, {path: emptied})
    result = lint(root)
    assert hits(result, "VK306") == [("VK306", path, 2, a) for a in ALL_APPS]  # JSON: every app

    code, out, _ = invoke("lint", "--repo", str(root))
    assert code == 1
    assert rule_lines(out, "VK306") == [
        f"{path}:2:1: error VK306 kustomization.yaml is empty; Flux builds no app that lists it; restore what it "
        f"declared (a component's kind: Component and its resources), or stop listing its folder "
        f"[30 apps: {FIRST_THREE}, …]"
    ]
    # the summary agrees: the 30 apps failed to render, none was checked
    assert out.splitlines()[-1].startswith("1 error(s), 0 warning(s), 0 info, 0 suppressed; 0 app(s), 30 failed to ")


def test_missing_component_is_one_line_at_the_first_listing(tmp_path: Path) -> None:
    """Each app lists the folder in its own ks.yaml; the folder is the one fact."""
    root = home_ops_repo(tmp_path)
    git(root, "rm", "-rq", OPS_COMPONENT)
    result = lint(root)
    entry = line_of(app_ks("database", "cloudbeaver"), "volsync/operations")
    assert sorted((f.loc.file, f.loc.line) for f in result.findings if f.rule == "VK306" and f.loc) == [
        (ks, entry) for ks in KS_FILES
    ]

    code, out, _ = invoke("lint", "--repo", str(root))
    assert code == 1
    (line,) = rule_lines(out, "VK306")
    first = KS_FILES[0]  # kubernetes/apps/database/cloudbeaver/ks.yaml
    assert line.startswith(f"{first}:{entry}:7: error VK306 accumulateDirectory: component ")
    assert line.endswith(
        "or restore the folder; Flux builds no app that lists it [30 apps: cloudbeaver, pgadmin, redis, …]"
    )
    assert "; 0 app(s), 30 failed to render, " in out.splitlines()[-1]


# -- a YAML syntax error in a shared file ------------------------------------------------


def test_shared_yaml_syntax_error_once_in_lint_and_render(tmp_path: Path) -> None:
    broken = REPO_PVC.replace("      storage: 5Ti\n", "      storage: 5Ti: broken\n")
    path = f"{REPO_COMPONENT}/pvc.yaml"
    root = home_ops_repo(tmp_path, {path: broken})
    line = line_of(broken, "5Ti: broken")
    col = 1 + broken.lstrip("\n").splitlines()[line - 1].index(": broken")
    message = "invalid YAML: mapping values are not allowed in this context"

    assert hits(lint(root), "VK001") == [("VK001", path, line, a) for a in ALL_APPS]
    code, out, _ = invoke("lint", "--repo", str(root))
    assert code == 1
    assert rule_lines(out, "VK001") == [f"{path}:{line}:{col}: error VK001 {message} [30 apps: {FIRST_THREE}, …]"]

    code, _, err = invoke("render", "--repo", str(root))
    assert code == 2
    assert [e for e in err.splitlines() if "[yaml-syntax]" in e] == [
        f"{path}:{line}:{col}: error [yaml-syntax] {message} "
        "(30 Kustomizations: database/cloudbeaver, database/pgadmin, database/redis, …)"
    ]


# -- the grouping itself -------------------------------------------------------------------


HERE = Loc("c.yaml", 3, 5)


def finding(
    app: str | None, message: str = "m", loc: Loc = HERE, kustomization: KsRef | None = None, shared: bool = False
) -> Finding:
    return Finding("VK101", "static-volume", Severity.ERROR, message, loc, app, kustomization, shared=shared)


@pytest.mark.parametrize(
    ("apps", "tag"),
    [
        (["a"], " [a]"),
        (["a", "b"], " [2 apps: a, b]"),
        (["a", "b", "c"], " [3 apps: a, b, c]"),
        (["a", "b", "c", "d"], " [4 apps: a, b, c, …]"),
    ],
)
def test_apps_tag_lists_up_to_three(apps: list[str], tag: str) -> None:
    result = LintResult(tuple(finding(a) for a in apps), (), 1, len(apps))
    assert lint_out.to_text(result).splitlines()[0] == f"c.yaml:3:5: error VK101 m{tag}"


def test_grouping_keeps_apart_what_differs() -> None:
    findings = [
        finding(None),  # the file as written
        finding("a"),
        finding("b"),
        finding("c", message="m for c"),  # a message naming the app stays its own
        finding("d", loc=Loc("c.yaml", 4, 5)),
    ]
    assert [(g.finding.app, g.finding.message, g.apps) for g in group_by_place(findings)] == [
        (None, "m", ()),
        ("a", "m", ("a", "b")),
        ("c", "m for c", ("c",)),
        ("d", "m", ("d",)),
    ]


def test_grouping_names_the_cluster_when_apps_span_several() -> None:
    prod = KsRef("nextcloud", "default", "apps/nextcloud/ks.yaml", "prod")
    test = KsRef("nextcloud", "default", "apps/nextcloud/ks.yaml", "test")
    (group,) = group_by_place([finding("nextcloud", kustomization=prod), finding("nextcloud", kustomization=test)])
    assert group.apps == ("prod:nextcloud", "test:nextcloud")


def test_shared_findings_group_by_message_wherever_listed() -> None:
    one = finding("a", loc=Loc("apps/a/ks.yaml", 13, 7), shared=True)
    two = finding("b", loc=Loc("apps/b/ks.yaml", 13, 7), shared=True)
    other = finding("c", message="another folder", loc=Loc("apps/c/ks.yaml", 13, 7), shared=True)
    groups = group_by_place([one, two, other])
    assert [(g.finding.loc, g.apps) for g in groups] == [(one.loc, ("a", "b")), (other.loc, ("c",))]


def test_show_error_hides_warnings_and_says_how_to_see_them() -> None:
    findings = (
        finding("a"),
        Finding("VK201", "volume-name", Severity.WARNING, "w", Loc("d.yaml", 1, 1), "a"),
        Finding("VK901", "unused-suppression", Severity.INFO, "i", Loc("e.yaml", 1, 1)),
    )
    result = LintResult(findings, (), 3, 1)
    assert lint_out.to_text(result, Severity.ERROR).splitlines() == [
        "c.yaml:3:5: error VK101 m [a]",
        "1 error(s), 1 warning(s) (hidden; --show warning shows them), 1 info (hidden; -v shows them), "
        "0 suppressed; 1 app(s), 3 file(s)",
    ]
    assert lint_out.to_github(result, Severity.ERROR).splitlines() == [
        "::error file=c.yaml,line=3,col=5,title=VK101 static-volume::m [a]"
    ]


def test_render_problem_lines_group_builds_and_hide_infos() -> None:
    ks = [KsRef(name, "media", f"kubernetes/apps/media/{name}/ks.yaml") for name in ("jellyfin", "radarr")]
    loc = Loc("kubernetes/flux/components/volsync/repository/pvc.yaml", 13, 22)
    problems = [
        *(Problem(Severity.ERROR, "yaml-syntax", "invalid YAML", loc, k) for k in ks),
        Problem(Severity.INFO, "not-evaluated", "kustomize 'replacements' is not evaluated", loc, ks[0]),
    ]
    assert [(g.problem.code, g.kustomizations) for g in group_problems(problems)] == [
        ("yaml-syntax", tuple(ks)),
        ("not-evaluated", (ks[0],)),
    ]
    assert render_out.problem_lines(problems) == [
        f"{loc}: error [yaml-syntax] invalid YAML (2 Kustomizations: media/jellyfin, media/radarr)"
    ]
    assert render_out.problem_lines(problems, verbose=True)[1] == (
        f"{loc}: info [not-evaluated] kustomize 'replacements' is not evaluated (Kustomization media/jellyfin)"
    )
