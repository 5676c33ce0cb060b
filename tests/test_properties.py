"""Property tests (issue 7), with hypothesis.

- The substitution engine raises nothing but its own error, and leaves text
  without ``${`` alone.
- For random valid repositories (apps, namespaces, component layouts, an
  optional defect), render is deterministic, and lint exits 0 exactly when no
  rule fires (and 1 when one does).
- For random pairs of states, plan never deletes an object the head renders
  (a replacement deletes and recreates it, and is listed as such), and every
  command of ``plan --format shell`` is a kubectl or flux invocation whose
  names are valid Kubernetes names.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import subprocess
import tempfile
from pathlib import Path

from helpers_repo import app_ks, git_init, home_ops, write_repo
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from volsync_kit import app as services
from volsync_kit.core.model import Map, Scalar, Seq
from volsync_kit.core.substitution import (
    SubstitutionError,
    TreeSubstitutionError,
    expand,
    substitute_tree,
)
from volsync_kit.report import lint_out, plan_shell, render_out

SLOW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- substitution ------------------------------------------------------------------

TEMPLATE_ALPHABET = st.sampled_from([*"${}:-=+?#%/^,@!*aZ_1 \n\"'\\.", "${", "${A", "$$", "${APP}"])
templates = st.lists(TEMPLATE_ALPHABET, max_size=30).map("".join)
variables = st.dictionaries(st.sampled_from(["A", "APP", "Z_1", "a"]), st.text(max_size=8), max_size=4)


@given(templates, variables, st.booleans())
def test_substitution_raises_only_its_own_error(text: str, env: dict[str, str], strict: bool) -> None:
    try:
        result = expand(text, env, strict=strict)
    except SubstitutionError:
        return
    assert isinstance(result, str)


@given(st.text().filter(lambda t: "${" not in t), variables)
def test_text_without_a_variable_is_left_alone(text: str, env: dict[str, str]) -> None:
    assert expand(text, env) == text


@given(
    st.recursive(
        templates.map(Scalar),
        lambda kids: st.one_of(
            st.lists(kids, max_size=3).map(lambda items: Seq(tuple(items))),
            st.dictionaries(templates, kids, max_size=3).map(Map),
        ),
        max_leaves=12,
    ),
    variables,
)
def test_tree_substitution_raises_only_its_own_error(node: Scalar | Map | Seq, env: dict[str, str]) -> None:
    with contextlib.suppress(TreeSubstitutionError):
        substitute_tree(node, env)


# -- random repositories -------------------------------------------------------------

# YAML 1.1 reads y, n, on, off, yes and no as booleans: after Flux's substitution
# an app of that name has no string name, which Flux cannot apply (not valid).
YAML11_BOOLS = {"y", "n", "yes", "no", "on", "off", "true", "false"}
NAME = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True).filter(lambda n: n not in YAML11_BOOLS)
ROOT_PATHS = ("/volsync/${APP}", "/volsync/repos/${APP}", "/backups/${APP}/restic")


@st.composite
def repositories(draw: st.DrawFn) -> dict[str, object]:
    namespaces = draw(st.lists(NAME, min_size=1, max_size=3, unique=True))
    apps = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    layout = {ns: [] for ns in namespaces}  # type: dict[str, list[str]]
    for app in apps:
        layout[draw(st.sampled_from(namespaces))].append(app)
    layout = {ns: sorted(names) for ns, names in layout.items() if names}
    return {
        "apps": layout,
        "per_namespace": draw(st.booleans()),
        "root_path": draw(st.sampled_from(ROOT_PATHS)),
        "defect": draw(st.sampled_from([None, "duplicate-app", "no-static-volume", "retain-off"])),
    }


def files_of(state: dict[str, object]) -> dict[str, str]:
    apps: dict[str, list[str]] = state["apps"]  # type: ignore[assignment]
    overrides: dict[tuple[str, str], str] = {}
    defect = state["defect"]
    pairs = [(ns, app) for ns in sorted(apps) for app in apps[ns]]
    if defect == "duplicate-app" and len(pairs) > 1:
        (ns, app), (_, other) = pairs[-1], pairs[0]
        overrides[(ns, app)] = app_ks(ns, app).replace("      APP: *app\n", f"      APP: {other}\n")
    files = home_ops(apps, per_namespace=bool(state["per_namespace"]), ks_overrides=overrides)
    pv = "kubernetes/flux/components/volsync/repository/pv.yaml"
    files[pv] = files[pv].replace("rootPath: /volsync/${APP}", f"rootPath: {state['root_path']}")
    stage_secret = "    nodeStageSecretRef:\n      name: rook-csi-cephfs-node\n      namespace: rook-ceph\n"
    files[pv] = files[pv].replace("    volumeAttributes:\n", stage_secret + "    volumeAttributes:\n")
    if defect == "no-static-volume":
        files[pv] = files[pv].replace('      staticVolume: "true"\n', "")
    if defect == "retain-off":
        files[pv] = files[pv].replace("persistentVolumeReclaimPolicy: Retain", "persistentVolumeReclaimPolicy: Delete")
    return files


def clean(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if ".git" in path.parts:
            continue
        if path.is_file():
            path.unlink()


@SLOW
@given(repositories())
def test_render_is_deterministic_and_lint_fails_exactly_when_a_rule_fires(state: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp), files_of(state))
        first = render_out.to_json(services.run_render(root, cache=False))
        second = render_out.to_json(services.run_render(root, cache=True))
        third = render_out.to_json(services.run_render(root, cache=True))  # warm
        assert first == second == third
        result = services.run_lint(root, cache=False)
        fired = [f for f in result.findings if f.severity.value == "error"]
        assert result.failed == bool(fired)
        if state["defect"] is None:
            assert result.findings == (), lint_out.to_text(result)
        elif (
            state["defect"] in ("no-static-volume", "retain-off")
            or len(
                [a for names in state["apps"].values() for a in names]  # type: ignore[attr-defined]
            )
            > 1
        ):
            assert result.failed, f"{state['defect']} fired no rule"


# -- random pairs of states -------------------------------------------------------------

KUBE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
KINDS = {"pv", "pvc", "replicationsource", "replicationdestination", "kustomization", "helmrelease", "pods", "pod"}
KINDS |= {"source", "sources", "git", "oci", "bucket", "pvc/", "pv/"}


def shell_commands(script: str) -> list[list[str]]:
    """Every command the step functions run (the prelude's helpers are fixed text)."""
    commands: list[list[str]] = []
    inside = False
    for line in script.splitlines():
        if re.match(r"^step_\d+_[a-z_]+\(\) \{$", line):
            inside = True
            continue
        if line == "}":
            inside = False
            continue
        stripped = line.strip()
        if inside and stripped and not stripped.startswith("#"):
            commands.append(shlex.split(stripped))
    return commands


def check_name(value: str) -> None:
    assert len(value) <= 253, value
    assert KUBE_NAME.match(value), value


VERBS = {"get", "delete", "patch", "wait", "suspend", "resume", "reconcile", "annotate"}
NOT_NAMES = {"-o", "-p", "--type"}  # options whose value is a format, a patch or a patch type


# The script's helper functions (report/shell_prelude.py) and what each
# argument is: a resource keyword, a Kubernetes name, a namespace (may be
# empty for cluster-scoped objects), or a value the function only compares.
RESOURCES = {"pv", "pvc", "storageclass", "replicationsource", "replicationdestination", "kustomization",
             "helmrelease", "deployment", "git", "oci", "bucket"}  # fmt: skip
OBJECT = ("resource", "namespace", "name")
OWNER = ("namespace", "name?")
CHECKED = ("jsonpath?", "value?", "resource?", "name?")
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "show": OBJECT,
    "show_pods": ("namespace",),
    "count_pending": OBJECT + OWNER + CHECKED,
    "delete_object": OBJECT + OWNER + CHECKED,
    "suspend_flux": OBJECT,
    "resume_flux": OBJECT,
    "pause_mover": OBJECT,
    "unpause_mover": OBJECT,
    "sync_once": OBJECT,
    "wait_movers": ("namespace", "name"),
    "scale_down": ("namespace", "name"),
    "scale_up": ("namespace", "name"),
    "guard_claim": ("namespace", "name", *OWNER),
    "wait_deleted": OBJECT,
    "wait_bound": OBJECT + OWNER,
    "free_volume": ("name", "mode"),
    "retain_volume": ("namespace", "name"),
    "delete_if_stuck": ("namespace", "name"),
    "wait_recreated": ("namespace", "name"),
    "scale_operator": ("namespace", "name", "count"),
    "scale_back": ("namespace", "name"),
    "push_and_fetch": OBJECT,
    "stop_when_done": (),
}


def check_command(argv: list[str]) -> None:
    """A call of one of the script's functions whose every name is a Kubernetes name."""
    tool, *args = argv
    if tool == "confirm":
        assert len(args) == 1, argv
        return
    if tool == ":":  # an empty step
        assert not args, argv
        return
    assert tool in FUNCTIONS, argv
    spec = FUNCTIONS[tool]
    if tool == "show":  # several objects of one kind and namespace
        spec = OBJECT + ("name",) * (len(args) - len(OBJECT))
    required = [kind for kind in spec if not kind.endswith("?")]
    assert len(required) <= len(args) <= len(spec), argv
    for kind, arg in zip(spec, args, strict=False):
        kind = kind.rstrip("?")
        if kind == "resource":
            assert arg in RESOURCES, argv
        elif kind == "namespace":
            if arg:
                check_name(arg)
        elif kind == "name":
            if arg or tool not in ("count_pending", "delete_object", "guard_claim", "wait_bound"):
                check_name(arg)
        elif kind == "jsonpath":
            assert re.fullmatch(r"\{\.[A-Za-z0-9_.*\[\]]+\}", arg), argv
        elif kind == "mode":
            assert arg in ("keep-name", "whole"), argv
        elif kind == "count":
            assert arg.isdigit(), argv


@st.composite
def state_pairs(draw: st.DrawFn) -> tuple[dict[str, object], dict[str, object]]:
    base = draw(repositories())
    head = dict(base)
    apps: dict[str, list[str]] = {ns: list(names) for ns, names in base["apps"].items()}  # type: ignore[attr-defined]
    choice = draw(st.sampled_from(["remove-app", "add-app", "move-root", "same"]))
    if choice == "remove-app" and sum(len(v) for v in apps.values()) > 1:
        ns = draw(st.sampled_from(sorted(apps)))
        apps[ns] = apps[ns][:-1]
        apps = {k: v for k, v in apps.items() if v}
    elif choice == "add-app":
        ns = draw(st.sampled_from(sorted(apps)))
        apps[ns] = sorted({*apps[ns], draw(NAME)})
    elif choice == "move-root":
        head["root_path"] = draw(st.sampled_from([p for p in ROOT_PATHS if p != base["root_path"]]))
    head["apps"] = apps
    head["defect"] = draw(st.sampled_from([None, base["defect"]]))
    return base, head


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=root, check=True, capture_output=True
    )


@SLOW
@given(state_pairs())
def test_plan_never_deletes_what_the_head_renders_and_emits_only_kube_names(
    pair: tuple[dict[str, object], dict[str, object]],
) -> None:
    base, head = pair
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        git_init(root)
        write_repo(root, files_of(base))
        git(root, "add", "-A")
        git(root, "commit", "-qm", "base")
        clean(root)
        write_repo(root, files_of(head))
        plan = services.run_plan(root, cache=False)
        event(f"actions: {sorted({c.action for c in plan.diff.changes})}")
        rendered = services.run_render(root, cache=False)
        head_objects = {(o.kind, o.namespace, o.name) for a in rendered.apps for o in a.objects}
        for change in plan.diff.changes:
            if change.action == "delete":
                assert (change.kind, change.namespace, change.name) not in head_objects, change
        for argv in shell_commands(plan_shell.to_shell(plan)):
            check_command(argv)
