"""``plan --format shell``: the checklist as a bash script an operator can run.

The script is the procedure's actions (:mod:`volsync_kit.core.procedure`),
one shell function call each; the functions in the prelude carry the
safety: each remembers the live state before it changes it (in a state file
kept until the run completes), each inverse restores exactly that, each
deletion first checks that the live object still has the base commit's
value, and each step can be run again.  ``--list`` shows the steps,
``--from STEP`` resumes after an interruption, ``--yes`` skips the
questions (never the line naming the kube context).

Every name was validated as a Kubernetes name by the planner and is
shell-quoted here; prose (titles and notes) becomes comments only after a
character check, so nothing from the repository can escape into code.
"""

from __future__ import annotations

import re
import shlex

from volsync_kit.core.planner import Plan, Step
from volsync_kit.core.procedure import Action, Target
from volsync_kit.report.shell_prelude import PRELUDE

_SAFE_COMMENT = re.compile(r"^[A-Za-z0-9 .,:;()'`/_=\"{}\[\]*<>+-]*$")
_HEX = re.compile(r"^[0-9a-f]{40}$")
_FLUX_VERBS = ("suspend", "resume", "push")


def _comment(text: str) -> str:
    return f"# {text}" if _SAFE_COMMENT.match(text) else "# (text withheld: unexpected characters)"


def _q(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)


def _where(t: Target) -> tuple[str, str, str]:
    return (t.resource, t.namespace, t.name)


def _owner(a: Action) -> tuple[str, str]:
    return (a.owner.namespace, a.owner.name) if a.owner else ("", "")


def _checked(a: Action) -> tuple[str, ...]:
    if a.check is None:
        return ()
    via = (a.check.on.resource, a.check.on.name) if a.check.on else ()
    return (a.check.jsonpath, a.check.expected, *via)


def _call(a: Action) -> str:
    t = a.target
    if a.verb == "gate":
        return f"confirm {_q(a.text)}" if a.text else _comment("run it yourself: " + a.value)
    assert t is not None, a.verb
    simple = {
        "show": "show",
        "suspend": "suspend_flux",
        "resume": "resume_flux",
        "unpause": "unpause_mover",
        "sync": "sync_once",
        "wait-deleted": "wait_deleted",
    }
    if a.verb in simple:
        return f"{simple[a.verb]} {_q(*_where(t))}"
    if a.verb == "pods":
        return f"show_pods {_q(t.namespace)}"
    if a.verb in ("pending", "delete"):
        function = "count_pending" if a.verb == "pending" else "delete_object"
        return f"{function} {_q(*_where(t), *_owner(a), *_checked(a))}"
    if a.verb == "pause":
        return f"pause_mover {_q(*_where(t))}"
    if a.verb == "wait-movers":
        return f"wait_movers {_q(t.namespace, a.value)}"
    if a.verb in ("scale-down", "scale-up"):
        return f"{a.verb.replace('-', '_')} {_q(t.namespace, t.name)}"
    if a.verb == "guard":
        return f"guard_claim {_q(t.namespace, t.name, *_owner(a))}"
    if a.verb == "wait-bound":
        return f"wait_bound {_q(*_where(t), *_owner(a))}"
    if a.verb == "free":
        return f"free_volume {_q(t.name, a.value or 'whole')}"
    if a.verb == "retain":
        return f"retain_volume {_q(t.namespace, t.name)}"
    if a.verb == "delete-stuck":
        return f"delete_if_stuck {_q(t.namespace, t.name)}"
    if a.verb == "wait-recreated":
        return f"wait_recreated {_q(t.namespace, t.name)}"
    if a.verb == "scale-to":
        return f"scale_operator {_q(t.namespace, t.name, a.value)}"
    if a.verb == "scale-back":
        return f"scale_back {_q(t.namespace, t.name)}"
    if a.verb == "push":
        return f"push_and_fetch {_q(a.value or 'git', t.namespace, t.name)}"
    raise AssertionError(a.verb)


def _calls(actions: tuple[Action, ...]) -> list[str]:
    """One line per action; objects of one kind and namespace shown in one call."""
    out: list[str] = []
    shown: dict[tuple[str, str], list[str]] = {}
    for a in actions:
        if a.verb == "show" and a.target:
            where = (a.target.resource, a.target.namespace)
            if where not in shown:
                shown[where] = []
                out.append(f"@show:{len(shown) - 1}")
            shown[where].append(a.target.name)
        else:
            out.append(_call(a))
    groups = list(shown.items())
    return [f"show {_q(*groups[int(c[6:])][0], *groups[int(c[6:])][1])}" if c.startswith("@show:") else c
            for c in out]  # fmt: skip


def _name(number: int, step: Step) -> str:
    return f"step_{number}_{step.kind or 'step'}".replace("-", "_")


def _function(number: int, step: Step) -> list[str]:
    body = [f"{_name(number, step)}() {{", f"  {_comment(step.title)}"]
    body.extend(f"  {_comment(note)}" for note in step.notes)
    if step.actions:
        calls = _calls(step.actions)
        if step.kind == "delete" and any(a.verb in ("delete", "delete-stuck") for a in step.actions):
            first = next(i for i, c in enumerate(calls) if c.startswith(("delete_object ", "delete_if_stuck ")))
            calls.insert(first, 'confirm "Delete the objects listed in this step (those still to delete)?"')
        body.extend(f"  {call}" for call in calls)
        if step.kind == "preflight" and any(a.verb == "pending" for a in step.actions):
            body.append("  stop_when_done")
    else:
        # Text-only advice (doctor's): shown, never run.
        body.extend(f"  {_comment('run it yourself: ' + c)}" for c in step.commands)
    if len(body) == 2 + len(step.notes):
        body.append("  :")
    body.append("}")
    return [*body, ""]


def _prelude(plan: Plan, yes: bool) -> str:
    context = shlex.quote(plan.context) if plan.context is not None else None
    pin = f" --context {context}" if context else ""
    head = plan.head if _HEX.match(plan.head) else ""
    plan_id = re.sub(r"[^A-Za-z0-9._-]", "_", plan.scenario or f"{plan.base[:12]}-{plan.head[:12]}")
    return (
        PRELUDE.replace("@YES@", "1" if yes else "0")
        .replace("@PLAN_ID@", shlex.quote(plan_id))
        .replace("@HEAD@", shlex.quote(head))
        .replace("@TIMEOUT@", shlex.quote(plan.settings.timeout))
        .replace("@PIN@", pin)
        .replace("@CONTEXT@", context or "")
    )


def to_shell(plan: Plan, *, yes: bool = False) -> str:
    lines = [_prelude(plan, yes)]
    if plan.nothing_to_do or not plan.steps:
        lines.append("# Nothing to do for this change.")
        lines.append("exit 0")
        return "\n".join(lines) + "\n"
    names: list[str] = []
    titles: list[str] = []
    for number, step in enumerate(plan.steps, start=1):
        lines.extend(_function(number, step))
        names.append(_name(number, step))
        titles.append(step.title if _SAFE_COMMENT.match(step.title) else "(title withheld)")
    uses_flux = any(a.verb in _FLUX_VERBS for s in plan.steps for a in s.actions)
    lines.append(f"STEPS=({' '.join(names)})")
    lines.append("TITLES=(")
    lines.extend(f"  {shlex.quote(title)}" for title in titles)
    lines.append(")")
    lines.append(f"NEEDS_FLUX={1 if uses_flux else 0}")
    # Where a declined question points the operator: the step that restores what was stopped.
    resume = [number for number, step in enumerate(plan.steps, start=1) if step.kind == "resume"]
    lines.append(f"RESUME_STEP={resume[-1] if resume else ''}")
    lines.append("")
    lines.append('main "$@"')
    return "\n".join(lines) + "\n"
