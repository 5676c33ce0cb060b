"""The kubectl/flux subset the procedures use: argument parsing, commands, jsonpath and printers.

Kept apart from cli.py so that its bytecode is cached: a call must stay cheap (see cli.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from sim.world import API, CLUSTER_SCOPED, REQUESTED_AT, World, dig, key, validate_update

Obj = dict[str, Any]
WAIT_TICKS = 40
# kind -> (aliases, plural, group); group "" is the core API
KINDS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "PersistentVolume": (("pv",), "persistentvolumes", ""),
    "PersistentVolumeClaim": (("pvc",), "persistentvolumeclaims", ""),
    "Pod": (("po",), "pods", ""),
    "Event": (("ev",), "events", ""),
    "Deployment": (("deploy",), "deployments", "apps"),
    "StatefulSet": (("sts",), "statefulsets", "apps"),
    "StorageClass": (("sc",), "storageclasses", "storage.k8s.io"),
    "ReplicationSource": ((), "replicationsources", "volsync.backube"),
    "ReplicationDestination": ((), "replicationdestinations", "volsync.backube"),
    "Kustomization": (("ks",), "kustomizations", "kustomize.toolkit.fluxcd.io"),
    "HelmRelease": (("hr",), "helmreleases", "helm.toolkit.fluxcd.io"),
    "GitRepository": (("gitrepo",), "gitrepositories", "source.toolkit.fluxcd.io"),
}
CRDS = {"ReplicationSource", "ReplicationDestination", "Kustomization", "HelmRelease", "GitRepository"}
VALUE_FLAGS = {
    "-n",
    "--namespace",
    "--context",
    "-l",
    "--selector",
    "-o",
    "--output",
    "-p",
    "--patch",
    "--type",
    "--for",
    "--timeout",
    "--replicas",
    "--field-selector",
}
BOOL_FLAGS = {
    "--ignore-not-found",
    "--wait",
    "-A",
    "--all-namespaces",
    "--no-headers",
    "--with-source",
    "--all",
    "-h",
    "--help",
}


class Raw(str):
    """Output printed as is, without the newline other output lines get (kubectl -o jsonpath)."""


class CliError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message, self.code = message, code


def resolve(word: str) -> str:
    """Resource name (plural, singular, short, with group) -> Kind, as kubectl's discovery would."""
    base, _, group = word.lower().partition(".")
    for kind, (aliases, plural, grp) in KINDS.items():
        if base in (kind.lower(), plural, *aliases) and group in ("", grp):
            return kind
    raise CliError(f'error: the server doesn\'t have a resource type "{word}"')


def singular(kind: str) -> str:
    grp = KINDS[kind][2]
    return f"{kind.lower()}.{grp}" if grp else kind.lower()


def resource(kind: str) -> str:
    grp = KINDS[kind][2]
    return f"{KINDS[kind][1]}.{grp}" if grp else KINDS[kind][1]


def not_found(kind: str, name: str) -> str:
    return f'Error from server (NotFound): {resource(kind)} "{name}" not found'


# ---------------------------------------------------------------- argument parsing
def parse(args: list[str], tool: str) -> tuple[list[str], dict[str, str]]:
    """Split args into positionals and flags; unknown flags fail like cobra does."""
    pos: list[str] = []
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            pos += args[i:]
            break
        if not a.startswith("-") or a == "-":
            pos.append(a)
            continue
        name, eq, val = a.partition("=")
        if not eq and not a.startswith("--") and len(a) > 2:
            name, val, eq = a[:2], a[2:].lstrip("="), "="
        if name in VALUE_FLAGS:
            if not eq:
                if i >= len(args):
                    raise CliError(f"error: flag needs an argument: {name}")
                val = args[i]
                i += 1
            flags[name] = val
        elif name in BOOL_FLAGS:
            flags[name] = val if eq else "true"
        else:
            what = (
                f"unknown shorthand flag: '{name[1]}' in {a}" if not name.startswith("--") else f"unknown flag: {name}"
            )
            raise CliError(f"✗ {what}" if tool == "flux" else f"error: {what}")
    for short, long_ in (
        ("-n", "--namespace"),
        ("-l", "--selector"),
        ("-o", "--output"),
        ("-p", "--patch"),
        ("-A", "--all-namespaces"),
        ("-h", "--help"),
    ):
        if short in flags:
            flags[long_] = flags.pop(short)
    return pos, flags


# A requirement of apimachinery's labels.Parse: `key`, `key=v`, `key==v`,
# `key!=v`, or the set-based `key in (a,b)` and `key notin (a,b)`.
_REQUIREMENT = re.compile(
    r"\s*([A-Za-z0-9_./-]+)\s*(?:(==|=|!=)\s*([A-Za-z0-9_.-]*)|\s(in|notin)\s*\(([A-Za-z0-9_.,\s-]*)\))?\s*"
)


def _requirements(sel: str) -> list[str]:
    """Split on the commas between requirements, not those inside `in (a,b)`."""
    parts, depth, current = [], 0, ""
    for ch in sel:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p for p in [*parts, current] if p.strip()]


def selector(sel: str | None) -> list[tuple[str, str, str | None]]:
    out: list[tuple[str, str, str | None]] = []
    for part in _requirements(sel or ""):
        m = _REQUIREMENT.fullmatch(part)
        if not m:
            raise CliError(f"error: unable to parse requirement: {part}")
        if m.group(4):
            values = ",".join(v.strip() for v in m.group(5).split(",") if v.strip())
            out.append((m.group(1), m.group(4), values))
        else:
            out.append((m.group(1), m.group(2) or "exists", m.group(3) if m.group(2) else None))
    return out


def matches(o: Obj, sel: list[tuple[str, str, str | None]]) -> bool:
    labels = o["metadata"].get("labels") or {}
    for k, op, v in sel:
        if (op == "exists" and k not in labels) or (op in ("=", "==") and labels.get(k) != v):
            return False
        if op == "!=" and labels.get(k) == v:
            return False
        if op == "in" and labels.get(k) not in (v or "").split(","):
            return False
        if op == "notin" and labels.get(k) in (v or "").split(","):
            return False
    return True


def field_match(o: Obj, fs: str | None) -> bool:
    for part in filter(None, (fs or "").split(",")):
        path, op, val = re.split(r"(!=|==|=)", part, maxsplit=1)
        got = dig(o, *path.split("."))
        if (str(got) == val) != (op != "!="):
            return False
    return True


# ------------------------------------------------ jsonpath (kubernetes.io/docs/reference/kubectl/jsonpath)
class JsonPathError(Exception):
    pass


def jp_parse(template: str) -> list[Any]:
    nodes: list[Any] = []
    stack: list[list[Any]] = [nodes]
    i = 0
    while i < len(template):
        j = template.find("{", i)
        if j < 0:
            stack[-1].append(("text", template[i:]))
            break
        if j > i:
            stack[-1].append(("text", template[i:j]))
        k, quote = j + 1, ""
        while k < len(template) and (quote or template[k] != "}"):
            if template[k] in "\"'" and (not quote or quote == template[k]):
                quote = "" if quote else template[k]
            k += 1
        if k >= len(template):
            raise JsonPathError("unclosed action")
        expr = template[j + 1 : k].strip()
        i = k + 1
        if expr.startswith("range "):
            body: list[Any] = []
            stack[-1].append(("range", jp_path(expr[6:].strip()), body))
            stack.append(body)
        elif expr == "end":
            if len(stack) == 1:
                raise JsonPathError("not in range, nothing to end")
            stack.pop()
        elif len(expr) >= 2 and expr[0] == expr[-1] == '"':
            stack[-1].append(("text", json.loads(expr)))
        else:
            stack[-1].append(("expr", jp_path(expr)))
    if len(stack) != 1:
        raise JsonPathError("range without end")
    return nodes


STEP = re.compile(
    r"\.\.|\.([^.\[\]\s]+)|\.(?=$|\[)|\[\*\]|\[(-?\d+)\]|\[(-?\d*):(-?\d*)\]|\[(['\"])(.*?)\5\]"
    r"|\[\?\(@((?:\.[^.\s=!)\]]+)+)\s*(?:(==|!=)\s*(?:(['\"])(.*?)\9|(-?[\d.]+|true|false)))?\s*\)\]"
)


def jp_path(expr: str) -> list[tuple[Any, ...]]:
    expr = expr.lstrip("$@") if expr not in ("$", "@") else ""
    steps: list[tuple[Any, ...]] = []
    pos = 0
    while pos < len(expr):
        m = STEP.match(expr, pos)
        if not m or m.end() == pos:
            raise JsonPathError(f"unrecognized character in action: {expr[pos:]!r}")
        g = m.groups()
        if m.group(0) == "..":
            raise JsonPathError("recursive descent is not supported by the simulation")
        if g[0] is not None:
            steps.append(("field", g[0]))
        elif m.group(0) == "[*]":
            steps.append(("all",))
        elif g[1] is not None:
            steps.append(("index", int(g[1])))
        elif m.group(0).startswith("[") and ":" in m.group(0) and g[2] is not None:
            steps.append(("slice", int(g[2]) if g[2] else None, int(g[3]) if g[3] else None))
        elif g[4] is not None:
            steps.append(("field", g[5]))
        elif g[6] is not None:
            lit: Any = g[9] if g[9] is not None else (json.loads(g[10]) if g[10] is not None else None)
            steps.append(("filter", g[6].strip(".").split("."), g[7], lit))
        pos = m.end()
    return steps


def jp_eval(steps: list[tuple[Any, ...]], cur: Any) -> list[Any]:
    vals = [cur]
    for st in steps:
        out: list[Any] = []
        for v in vals:
            if st[0] == "field" and isinstance(v, dict) and st[1] in v:
                out.append(v[st[1]])
            elif st[0] == "all":
                out += list(v.values()) if isinstance(v, dict) else (v if isinstance(v, list) else [])
            elif st[0] == "index" and isinstance(v, list) and -len(v) <= st[1] < len(v):
                out.append(v[st[1]])
            elif st[0] == "slice" and isinstance(v, list):
                out += v[st[1] : st[2]]
            elif st[0] == "filter" and isinstance(v, list):
                for item in v:
                    got = dig(item, *st[1], default=None)
                    if st[2] is None:
                        keep = got is not None
                    else:
                        keep = (got == st[3] or str(got) == str(st[3])) == (st[2] == "==")
                    if keep:
                        out.append(item)
        vals = out
    return vals


def jp_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(",", ":"))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def jp_render(nodes: list[Any], cur: Any) -> str:
    out = []
    for n in nodes:
        if n[0] == "text":
            out.append(n[1])
        elif n[0] == "expr":
            out.append(" ".join(jp_str(v) for v in jp_eval(n[1], cur)))
        else:
            vals = jp_eval(n[1], cur)
            if len(vals) == 1 and isinstance(vals[0], list) and (not n[1] or n[1][-1][0] != "all"):
                vals = vals[0]
            out += [jp_render(n[2], v) for v in vals]
    return "".join(out)


def jsonpath(template: str, data: Any) -> str:
    try:
        return jp_render(jp_parse(template), data)
    except (JsonPathError, ValueError) as e:
        raise CliError(f"error: error parsing jsonpath {template}, {e}") from None


# ---------------------------------------------------------------- printers
def to_yaml(v: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(v, dict):
        if not v:
            return "{}"
        lines = []
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                sub = to_yaml(x, indent + (0 if isinstance(x, list) else 1))
                lines.append(f"{pad}{yaml_scalar(k)}:\n{sub}")
            else:
                lines.append(f"{pad}{yaml_scalar(k)}: {to_yaml(x)}")
        return "\n".join(lines)
    if isinstance(v, list):
        if not v:
            return "[]"
        lines = []
        for x in v:
            if isinstance(x, dict) and x:
                body = to_yaml(x, indent + 1)
                lines.append(f"{pad}- {body[len(pad) + 2 :]}")
            else:
                lines.append(f"{pad}- {to_yaml(x, indent + 1).lstrip()}")
        return "\n".join(lines)
    return yaml_scalar(v)


def yaml_scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    plain = re.fullmatch(r"[A-Za-z_./][A-Za-z0-9_./@-]*(?: [A-Za-z0-9_./@()-]+)*", s)
    if plain and s.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "~"):
        return s
    return json.dumps(s)


def age(o: Obj, now: int) -> str:
    return f"{max(now - int(o['metadata'].get('creationTimestamp', 0)), 0)}m"


def modes(o: Obj, *path: str) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadWriteMany": "RWX", "ReadOnlyMany": "ROX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in dig(o, *path, default=[]) or [])


def ready(o: Obj) -> tuple[str, str]:
    c = [c for c in dig(o, "status", "conditions", default=[]) or [] if c["type"] == "Ready"]
    return (c[0]["status"], c[0]["message"].split("\n")[0]) if c else ("Unknown", "")


def row(kind: str, o: Obj, now: int) -> dict[str, str]:
    md, sp, st = o["metadata"], o.get("spec") or {}, o.get("status") or {}
    if kind == "PersistentVolumeClaim":
        return {
            "STATUS": "Terminating" if "deletionTimestamp" in md else st.get("phase", ""),
            "VOLUME": sp.get("volumeName", ""),
            "CAPACITY": dig(st, "capacity", "storage", default=""),
            "ACCESS MODES": modes(o, "status", "accessModes"),
            "STORAGECLASS": sp.get("storageClassName", ""),
            "VOLUMEATTRIBUTESCLASS": "<unset>",
            "AGE": age(o, now),
        }
    if kind == "PersistentVolume":
        ref = sp.get("claimRef") or {}
        return {
            "CAPACITY": dig(sp, "capacity", "storage", default=""),
            "ACCESS MODES": modes(o, "spec", "accessModes"),
            "RECLAIM POLICY": sp.get("persistentVolumeReclaimPolicy", ""),
            "STATUS": "Terminating" if "deletionTimestamp" in md else st.get("phase", ""),
            "CLAIM": f"{ref['namespace']}/{ref['name']}" if ref else "",
            "STORAGECLASS": sp.get("storageClassName", ""),
            "VOLUMEATTRIBUTESCLASS": "<unset>",
            "REASON": "",
            "AGE": age(o, now),
        }
    if kind == "Pod":
        phase = "Terminating" if "deletionTimestamp" in md else st.get("phase", "")
        return {"READY": "1/1" if phase == "Running" else "0/1", "STATUS": phase, "RESTARTS": "0", "AGE": age(o, now)}
    if kind in ("Deployment", "StatefulSet"):
        r = f"{st.get('readyReplicas', 0)}/{sp.get('replicas', 1)}"
        if kind == "StatefulSet":
            return {"READY": r, "AGE": age(o, now)}
        return {
            "READY": r,
            "UP-TO-DATE": str(st.get("replicas", 0)),
            "AVAILABLE": str(st.get("availableReplicas", 0)),
            "AGE": age(o, now),
        }
    if kind == "StorageClass":
        default = " (default)" if md["annotations"].get("storageclass.kubernetes.io/is-default-class") == "true" else ""
        return {
            "NAME": md["name"] + default,
            "PROVISIONER": o.get("provisioner", ""),
            "RECLAIMPOLICY": o.get("reclaimPolicy", ""),
            "VOLUMEBINDINGMODE": o.get("volumeBindingMode", ""),
            "ALLOWVOLUMEEXPANSION": str(bool(o.get("allowVolumeExpansion"))).lower(),
            "AGE": age(o, now),
        }
    if kind == "Event":
        inv = o["involvedObject"]
        return {
            "LAST SEEN": "1m",
            "TYPE": o.get("type", ""),
            "REASON": o.get("reason", ""),
            "OBJECT": f"{inv['kind'].lower()}/{inv['name']}",
            "MESSAGE": o.get("message", ""),
        }
    if kind in ("ReplicationSource", "ReplicationDestination"):
        cols = {"SOURCE": sp.get("sourcePVC", "")} if kind == "ReplicationSource" else {}
        return {
            **cols,
            "LAST SYNC": str(st.get("lastSyncTime", "")),
            "DURATION": "",
            "NEXT SYNC": str(st.get("nextSyncTime", "")),
        }
    r_, msg = ready(o)
    return {"AGE": age(o, now), "READY": r_, "STATUS": msg}


def table(objs: list[Obj], now: int, all_ns: bool, headers: bool) -> str:
    rows = []
    for o in objs:
        r = row(o["kind"], o, now)
        r = {"NAME": r.pop("NAME", o["metadata"]["name"]), **r} if o["kind"] != "Event" else r
        rows.append({"NAMESPACE": o["metadata"].get("namespace", ""), **r} if all_ns else r)
    cols = list(rows[0])
    width = {c: max(len(c), *(len(r.get(c, "")) for r in rows)) for c in cols}
    lines = [list(cols)] if headers else []
    lines += [[r.get(c, "") for c in cols] for r in rows]
    return "\n".join("   ".join(v.ljust(width[c]) for c, v in zip(cols, line, strict=True)).rstrip() for line in lines)


def emit(objs: list[Obj], fmt: str | None, single: bool, now: int, flags: dict[str, str]) -> str:
    data: Any = (
        objs[0] if single else {"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {"resourceVersion": ""}}
    )
    if fmt == "json":
        return json.dumps(data, indent=4)
    if fmt == "yaml":
        return to_yaml(data)
    if fmt == "name":
        return "\n".join(f"{singular(o['kind'])}/{o['metadata']['name']}" for o in objs)
    if fmt and fmt.startswith(("jsonpath=", "jsonpath-as-json=")):
        return Raw(jsonpath(fmt.partition("=")[2], data))
    if fmt and fmt.startswith("custom-columns="):
        cols = [c.partition(":") for c in fmt.partition("=")[2].split(",")]
        lines = [[c[0] for c in cols]] + [
            [" ".join(jp_str(v) for v in jp_eval(jp_path(c[2].strip("{}")), o)) or "<none>" for c in cols] for o in objs
        ]
        width = [max(len(line[i]) for line in lines) for i in range(len(cols))]
        return "\n".join("   ".join(v.ljust(w) for v, w in zip(line, width, strict=True)).rstrip() for line in lines)
    if fmt not in (None, "", "wide"):
        raise CliError(
            f'error: unable to match a printer suitable for the output format "{fmt}", allowed formats are: '
            "custom-columns,json,jsonpath,name,wide,yaml"
        )
    return table(objs, now, "--all-namespaces" in flags, "--no-headers" not in flags)


# ---------------------------------------------------------------- kubectl
class Kubectl:
    def __init__(self, world: World, ns: str, flags: dict[str, str]) -> None:
        self.w, self.ns, self.flags = world, ns, flags
        self.out: list[str] = []
        self.err: list[str] = []

    def objects(self) -> dict[str, Obj]:
        objs: dict[str, Obj] = self.w.state["objects"]
        return objs

    def targets(self, pos: list[str]) -> list[tuple[str, str | None]]:
        """`KIND NAME...`, `KIND/NAME...`, `k1,k2` -> [(kind, name|None)]."""
        if not pos:
            raise CliError("error: You must provide one or more resources by argument or filename.")
        if "/" in pos[0]:
            out: list[tuple[str, str | None]] = []
            for p in pos:
                kind, _, name = p.partition("/")
                out.append((resolve(kind), name))
            return out
        kinds = [resolve(k) for k in pos[0].split(",")]
        if len(pos) == 1:
            return [(k, None) for k in kinds]
        if len(kinds) > 1:
            raise CliError("error: you must specify only one resource type when specifying names")
        return [(kinds[0], n) for n in pos[1:]]

    def find(self, kind: str, name: str | None) -> list[Obj]:
        if name is not None:
            o = self.objects().get(key(kind, self.ns, name))
            return [o] if o is not None else []
        all_ns = "--all-namespaces" in self.flags or kind in CLUSTER_SCOPED
        sel = selector(self.flags.get("--selector"))
        return [
            o
            for o in self.w._of(kind, None if all_ns else self.ns)
            if matches(o, sel) and field_match(o, self.flags.get("--field-selector"))
        ]

    def get(self, pos: list[str]) -> int:
        code, found, named = 0, [], False
        ignore = self.flags.get("--ignore-not-found", "false") == "true"
        for kind, name in self.targets(pos):
            named = named or name is not None
            objs = self.find(kind, name)
            if name is not None and not objs and not ignore:
                self.err.append(not_found(kind, name))
                code = 1
            found += objs
        fmt = self.flags.get("--output")
        targets = self.targets(pos)
        single = len(targets) == 1 and targets[0][1] is not None
        if not found:
            if not named and not ignore:
                kinds = [k for k, _ in self.targets(pos)]
                scoped = "--all-namespaces" in self.flags or all(k in CLUSTER_SCOPED for k in kinds)
                self.err.append("No resources found" if scoped else f"No resources found in {self.ns} namespace.")
            if fmt in ("json", "yaml") and not named:
                self.out.append(emit([], fmt, False, self.w.state["ticks"], self.flags))
            return code
        text = emit([dict(o) for o in found], fmt, single, self.w.state["ticks"], self.flags)
        if text:
            self.out.append(text)
        return code

    def patch(self, pos: list[str]) -> int:
        """Each named object in turn, as kubectl's RunPatch visits every object the
        builder yields with ContinueOnError (kubectl/pkg/cmd/patch/patch.go): one
        that fails is reported and the others are still patched; exit 1 if any failed."""
        targets = self.targets(pos)
        if any(name is None for _, name in targets):
            raise CliError("error: resource(s) were provided, but no name was specified")
        if "--patch" not in self.flags:
            raise CliError("error: must specify -p to patch")
        code = 0
        for kind, name in targets:
            assert name is not None
            try:
                self._patch_one(kind, name)
            except CliError as err:
                self.err.append(str(err))
                code = 1
        return code

    def _patch_one(self, kind: str, name: str) -> None:
        o = self.objects().get(key(kind, self.ns, name))
        if o is None:
            raise CliError(not_found(kind, name))
        ptype = self.flags.get("--type", "strategic")
        try:
            patch = json.loads(self.flags["--patch"])
        except ValueError as e:
            raise CliError(f'error: unable to parse "{self.flags["--patch"]}": {e}') from None
        if ptype == "strategic" and kind in CRDS:
            v = f"{API[kind]}, Kind={kind}"
            raise CliError(
                f"Error from server (UnsupportedMediaType): the body of the request was in an unknown format - "
                f"accepted media types include: application/json-patch+json, application/merge-patch+json, "
                f"application/apply-patch+yaml ({v})"
            )
        if ptype in ("merge", "strategic"):
            new = merge_patch(o, patch)
        elif ptype == "json":
            new = json_patch(o, patch)
        else:
            raise CliError(f'error: --type must be one of [json merge strategic], not "{ptype}"')
        for f in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp"):
            if f in o["metadata"]:
                new["metadata"][f] = o["metadata"][f]
        new["status"], new["kind"], new["apiVersion"] = (
            o.get("status", {}),
            o["kind"],
            o["apiVersion"],
        )  # status subresource
        err = validate_update(o, new)
        if err:
            raise CliError(f"The {err}")
        label = f"{singular(kind)}/{name}"
        if new == o:
            self.out.append(f"{label} patched (no change)")
            return
        if new.get("spec") != o.get("spec"):
            new["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
        self.objects()[key(kind, self.ns, name)] = new
        self.out.append(f"{label} patched")

    def delete(self, pos: list[str]) -> int:
        ignore = self.flags.get("--ignore-not-found", "false") == "true"
        code, gone = 0, []
        targets = self.targets(pos)
        for kind, name in targets:
            if name is None and "--selector" not in self.flags and "--all" not in self.flags:
                raise CliError("error: resource(s) were provided, but no name was specified")
            objs = self.find(kind, name)
            if name is not None and not objs and not ignore:
                self.err.append(not_found(kind, name))
                code = 1
            for o in objs:
                self.w._delete(self.w._key(o))
                self.out.append(f'{singular(kind)} "{o["metadata"]["name"]}" deleted')
                gone.append((kind, o["metadata"]["name"], self.w._key(o)))
        if not gone and targets[0][1] is None and not ignore:
            scoped = targets[0][0] in CLUSTER_SCOPED
            self.err.append("No resources found" if scoped else f"No resources found in {self.ns} namespace.")
        if self.flags.get("--wait", "true") != "false":
            for _ in range(WAIT_TICKS):  # kubectl delete waits for the finalizers (--wait=true is the default)
                if all(k not in self.objects() for _, _, k in gone):
                    break
                self.w.tick()
            stuck = [(k, n) for k, n, ok in gone if ok in self.objects()]
            if stuck:
                raise CliError(f"error: timed out waiting for the condition on {KINDS[stuck[0][0]][1]}/{stuck[0][1]}")
        return code

    def wait(self, pos: list[str]) -> int:
        cond = self.flags.get("--for")
        if not cond:
            raise CliError("error: --for must be specified")
        targets = self.targets(pos)
        named = [(k, n) for k, n in targets if n is not None]
        if cond == "delete":
            # NotFound counts as deleted (kubernetes/kubernetes#90969); -l matching nothing errors (kubernetes#96676)
            keys = [key(k, self.ns, n) for k, n in named if key(k, self.ns, n) in self.objects()]
            if not named:
                keys = [self.w._key(o) for k, _ in targets for o in self.find(k, None)]
                if not keys:
                    raise CliError("error: no matching resources found")
            for _ in range(WAIT_TICKS):
                if not any(k in self.objects() for k in keys):
                    break
                self.w.tick()
            left = [k for k in keys if k in self.objects()]
            if left:
                kind, _, name = left[0].split("/")
                raise CliError(f"error: timed out waiting for the condition on {KINDS[kind][1]}/{name}")
            self.out += [f"{singular(k.split('/')[0])}/{k.split('/')[2]} condition met" for k in keys]
            return 0
        check = self.condition(cond)
        for kind, name in named:
            if key(kind, self.ns, name) not in self.objects():
                raise CliError(not_found(kind, name))
        objs = [self.w._key(o) for k, n in targets for o in self.find(k, n)]
        if not objs:
            raise CliError("error: no matching resources found")
        for _ in range(WAIT_TICKS + 1):
            pending = [k for k in objs if k not in self.objects() or not check(self.objects()[k])]
            if not pending:
                self.out += [f"{singular(k.split('/')[0])}/{k.split('/')[2]} condition met" for k in objs]
                return 0
            self.w.tick()
        kind, _, name = pending[0].split("/")
        raise CliError(f"error: timed out waiting for the condition on {KINDS[kind][1]}/{name}")

    @staticmethod
    def condition(cond: str) -> Any:
        if cond.startswith("jsonpath="):
            expr = cond[len("jsonpath=") :].strip("'")
            m = re.fullmatch(r"(\{.*\})(?:=(.*))?", expr)
            if not m:
                raise CliError(f'error: unrecognized condition: "{cond}"')
            nodes, want = jp_parse(m.group(1)), m.group(2)
            return lambda o: (jp_render(nodes, o) == want) if want is not None else bool(jp_render(nodes, o))
        if cond.startswith("condition="):
            ctype, _, want = cond[len("condition=") :].partition("=")
            want = want or "True"
            return lambda o: any(
                c["type"] == ctype and c["status"].lower() == want.lower()
                for c in dig(o, "status", "conditions", default=[]) or []
            )
        raise CliError(f'error: unrecognized condition: "{cond}"')

    def scale(self, pos: list[str]) -> int:
        if "--replicas" not in self.flags:
            raise CliError('error: required flag(s) "replicas" not set')
        n = int(self.flags["--replicas"])
        code, objs = 0, []
        for kind, name in self.targets(pos):
            if kind not in ("Deployment", "StatefulSet"):
                raise CliError(f"error: cannot scale {resource(kind)}")
            found = self.find(kind, name)
            if name is not None and not found:
                self.err.append(not_found(kind, name))
                code = 1
            objs += found
        if not objs:
            if code:
                return code
            raise CliError("error: no objects passed to scale")  # kubernetes/kubectl#1770
        for o in objs:
            if o["spec"].get("replicas") != n:
                o["spec"]["replicas"] = n
                o["metadata"]["generation"] = o["metadata"].get("generation", 1) + 1
            self.out.append(f"{singular(o['kind'])}/{o['metadata']['name']} scaled")
        return code


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: null deletes."""
    if not isinstance(patch, dict):
        return json.loads(json.dumps(patch))
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def json_patch(doc: Obj, ops: Any) -> Obj:
    """RFC 6902 add/replace/remove, failing like the API server (evanphx/json-patch messages)."""
    doc = json.loads(json.dumps(doc))
    if not isinstance(ops, list):
        raise CliError("error: unable to parse patch: json patch must be an array")
    for op in ops:
        path = op.get("path", "")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]
        parent: Any = doc
        for p in parts[:-1]:
            parent = (
                parent.get(p)
                if isinstance(parent, dict)
                else (parent[int(p)] if isinstance(parent, list) and p.isdigit() and int(p) < len(parent) else None)
            )
            if parent is None:
                raise CliError(
                    f"Error from server: jsonpatch {op['op']} operation does not apply: doc is missing path: "
                    f'"{path}": missing value'
                )
        last = parts[-1] if parts else ""
        kind = op.get("op")
        if kind not in ("add", "replace", "remove"):
            raise CliError(f"Error from server: Unexpected kind: {kind}")
        exists = (isinstance(parent, dict) and last in parent) or (
            isinstance(parent, list) and last.isdigit() and int(last) < len(parent)
        )
        if kind == "remove":
            if not exists:
                raise CliError(
                    f"Error from server: jsonpatch remove operation does not apply: doc is missing path: "
                    f'"{path}": missing value'
                )
            del parent[int(last) if isinstance(parent, list) else last]
        elif kind == "replace" and not exists:
            raise CliError(
                f"Error from server: jsonpatch replace operation does not apply: doc is missing key: {path}: "
                "missing value"
            )
        elif isinstance(parent, list):
            if last == "-":
                parent.append(op.get("value"))
            elif kind == "add":
                parent.insert(int(last), op.get("value"))
            else:
                parent[int(last)] = op.get("value")
        else:
            parent[last] = op.get("value")
    return doc


def kubectl(world: World, pos: list[str], flags: dict[str, str]) -> tuple[int, list[str], list[str], bool]:
    """Run one kubectl command; returns (code, stdout lines, stderr lines, tick afterwards)."""
    if "--help" in flags or not pos:
        return 0, ["kubectl controls the Kubernetes cluster manager (simulation subset)."], [], False
    cmd, rest = pos[0], pos[1:]
    if cmd == "version":
        return 0, ["Client Version: v1.31.0", "Server Version: v1.31.0"], [], False
    if cmd == "config":
        if rest != ["current-context"]:
            raise CliError(f'error: unknown command "{" ".join(rest)}" for "kubectl config"')
        return 0, [world.state["context"]], [], False
    k = Kubectl(world, flags.get("--namespace", "default"), flags)
    run = {"get": k.get, "patch": k.patch, "delete": k.delete, "wait": k.wait, "scale": k.scale}.get(cmd)
    if run is None:
        raise CliError(f'error: unknown command "{cmd}" for "kubectl"')
    try:
        code = run(rest)
    except CliError as e:
        k.err.append(e.message)
        code = e.code
    return code, k.out, k.err, True


# ---------------------------------------------------------------- flux (fluxcd.io/flux/cmd)
def flux(world: World, pos: list[str], flags: dict[str, str]) -> tuple[int, list[str], list[str], bool]:
    ns = flags.get("--namespace", "flux-system")
    out: list[str] = []
    if "--help" in flags or not pos:
        return 0, ["Command line utility for assembling Kubernetes CD pipelines (simulation subset)."], [], False
    if pos[0] == "version":
        return 0, ["flux: v2.4.0"], [], False
    cmd, rest = pos[0], pos[1:]
    if cmd not in ("suspend", "resume", "reconcile", "get"):
        raise CliError(f'✗ unknown command "{cmd}" for "flux"')
    if cmd == "get" and rest[:1] in (["sources"], ["source"]):
        rest = rest[1:]
        if rest[:1] != ["git"]:
            raise CliError(f'✗ unknown command "{" ".join(rest[:1])}" for "flux get sources"')
        rest = ["gitrepository", *rest[1:]]
    if cmd == "reconcile" and rest[:1] == ["source"]:
        rest = ["gitrepository", *rest[2:]] if rest[1:2] == ["git"] else rest
    if not rest:
        raise CliError(f'✗ unknown command "" for "flux {cmd}"')
    word = {
        "ks": "kustomization",
        "kustomizations": "kustomization",
        "hr": "helmrelease",
        "helmreleases": "helmrelease",
    }.get(rest[0], rest[0])
    if word not in ("kustomization", "helmrelease", "gitrepository"):
        raise CliError(f'✗ unknown command "{rest[0]}" for "flux {cmd}"')
    kind = resolve(word)
    names = rest[1:]
    if cmd == "get":
        objs = [world.state["objects"][key(kind, ns, n)] for n in names if key(kind, ns, n) in world.state["objects"]]
        if names and not objs:
            raise CliError(f'✗ {resource(kind)} "{names[0]}" not found')
        objs = objs if names else world._of(kind, ns)
        rows = [["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]]
        for o in objs:
            rev = dig(o, "status", "artifact", "revision") or dig(o, "status", "lastAppliedRevision") or ""
            r, msg = ready(o)
            rows.append([o["metadata"]["name"], rev, str(bool(dig(o, "spec", "suspend"))), r, msg])
        width = [max(len(r[i]) for r in rows) for i in range(5)]
        return 0, ["\t".join(v.ljust(w) for v, w in zip(r, width, strict=True)).rstrip() for r in rows], [], True
    if not names:
        raise CliError("✗ please specify a name")
    code = 0
    for name in names:
        o = world.state["objects"].get(key(kind, ns, name))
        if o is None:
            raise CliError(f'✗ {resource(kind)} "{name}" not found')
        if cmd == "suspend":
            out.append(f"► suspending {word} {name} in {ns} namespace")
            o["spec"]["suspend"] = True
            out.append(f"✔ {word} suspended")
            continue
        if cmd == "resume":
            out.append(f"► resuming {word} {name} in {ns} namespace")
            o["spec"]["suspend"] = (
                False  # flux resume sets spec.suspend=false and waits (fluxcd.io/flux/cmd/flux_resume)
            )
            out.append(f"✔ {word} resumed")
        elif dig(o, "spec", "suspend"):
            raise CliError("✗ resource is suspended")
        requested = f"sim-{world.state['ticks']}-{name}"
        o["metadata"]["annotations"][REQUESTED_AT] = requested
        out.append(f"◎ waiting for {kind} reconciliation")
        k = key(kind, ns, name)
        for _ in range(WAIT_TICKS):
            world.tick()
            o = world.state["objects"].get(k)
            if o is None or dig(o, "status", "lastHandledReconcileAt") == requested:
                break
        if o is None or dig(o, "status", "lastHandledReconcileAt") != requested:
            raise CliError(f"✗ timeout waiting for {kind} {ns}/{name} reconciliation")
        r, _ = ready(o)
        msg = "\n".join(c["message"] for c in o["status"].get("conditions", []) if c["type"] == "Ready")
        if r != "True":
            out.append(f"✗ {msg}")
            code = 1
            continue
        if kind == "GitRepository":
            out.append(f"✔ fetched revision {dig(o, 'status', 'artifact', 'revision')}")
        elif kind == "Kustomization":
            out.append(f"✔ applied revision {dig(o, 'status', 'lastAppliedRevision')}")
        else:
            out.append(f"✔ applied revision {dig(o, 'spec', 'chart', 'spec', 'version', default='')}".rstrip())
    return code, out, [], True
