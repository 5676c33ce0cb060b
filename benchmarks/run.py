"""Time volsync-kit and its peers on synthetic repositories and record the results.

    python benchmarks/run.py [--sizes 50,500,2000] [--runs 3] [--no-readme]

For every size, make_repo.py writes a repository (with --defects and --plan-change) into a
temporary folder. Each round runs every command once, in an order rotated from round to round,
and the table shows the medians of the whole-process wall times. The table goes to standard
output and, unless --no-readme, into benchmarks/README.md between the results markers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from make_repo import make_repo

RACY_SECONDS = 2.1  # volsync_kit.adapters.cache.RACY_NS, and a margin

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"


@dataclass(frozen=True)
class Command:
    argv: list[str]
    ok: tuple[int, ...] = (0,)  # accepted exit codes: lint and yamllint exit 1 on the deliberate defects
    cache: str | None = (
        None  # "cold": an empty cache folder for each run; "warm...": the size's shared one of that name
    )
    edit: Path | None = None  # a file to change (a comment line) before each run, outside the timing
    stage: bool = False  # and `git add` it (the commit-msg hook plans what is staged)
    # How to change it instead of adding a comment: the text, and a number new on every run.
    rewrite: Callable[[str, int], str] | None = None
    # Save the rewrite as an editor's safe write, `sed -i` or a checkout do: a new file renamed
    # over the old one, which moves its folder's stamp too.
    replace: bool = False


@dataclass(frozen=True)
class Sample:
    seconds: float
    rss_mb: float  # peak resident set size of the process
    # From the process's exit until the cache writer it detached is done (0: none).
    writer_seconds: float = 0.0


def tool(name: str) -> str | None:
    """The tool next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def measure(cmd: Command, cache_root: Path) -> Sample:
    """Wall time and peak RSS of one run; os.wait4 gives the rusage of this child alone."""
    env = dict(os.environ)
    if cmd.cache == "cold":
        env["VOLSYNC_KIT_CACHE_DIR"] = tempfile.mkdtemp(dir=cache_root, prefix="cold-")
    elif cmd.cache is not None and cmd.cache.startswith("warm"):
        env["VOLSYNC_KIT_CACHE_DIR"] = str(cache_root / cmd.cache)
    if cmd.edit is not None and cmd.rewrite is not None:
        text = cmd.rewrite(cmd.edit.read_text(), time.time_ns() // 1_000_000 % 100_000 + 1)
        if cmd.replace:
            saved = cmd.edit.with_name(f".{cmd.edit.name}.saving")
            saved.write_text(text)
            os.replace(saved, cmd.edit)
        else:
            cmd.edit.write_text(text)
    elif cmd.edit is not None:
        with cmd.edit.open("a") as handle:
            handle.write(f"# edited before a warm run at {time.time_ns()}\n")
        if cmd.stage:
            subprocess.run(["git", "-C", str(cmd.edit.parent), "add", cmd.edit.name], check=True)
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd.argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in cmd.ok:
            err.seek(0)
            message = err.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{shlex.join(cmd.argv)} exited {proc.returncode}:\n{message}")
    writer = 0.0
    if "VOLSYNC_KIT_CACHE_DIR" in env and cmd.cache is not None:
        # The console script leaves writing its cache to a process of its own
        # (adapters/cache.py, _Store.close): waited for here, untimed in the
        # command's own row, so that no run overlaps the writer of the one before.
        from volsync_kit.adapters.cache import wait_for_writers

        wait_for_writers(Path(env["VOLSYNC_KIT_CACHE_DIR"]), seconds=600)
        writer = time.perf_counter() - start - seconds
    if cmd.replace:
        # Its folder is now younger than the racy-timestamp window, and so unvouched for the
        # next run too: wait until the user's next commit would, so that the next row measures
        # its own edit only.
        time.sleep(RACY_SECONDS)
    return Sample(seconds, usage.ru_maxrss / 1024, writer)


def kustomize_folder(repo: Path, workdir: Path) -> Path:
    """One app's spec.path copied with its components, which are appended as Flux appends them."""
    ks_file = next(p for p in sorted(repo.glob("kubernetes/apps/*/*/ks.yaml")) if "components:" in p.read_text())
    spec = yaml.safe_load(ks_file.read_text())["spec"]
    path = Path(spec["path"])
    for rel in [path, *(Path(os.path.normpath(path / c)) for c in spec["components"])]:
        shutil.copytree(repo / rel, workdir / rel)
    kfile = workdir / path / "kustomization.yaml"
    kus = yaml.safe_load(kfile.read_text())
    kus["namespace"] = spec["targetNamespace"]
    kus["components"] = [*kus.get("components", []), *spec["components"]]
    kfile.write_text(yaml.safe_dump(kus, sort_keys=False))
    return workdir / path


def new_interval(text: str, number: int) -> str:
    """An app's ks.yaml with another spec.interval, in place: when Flux reconciles it."""
    return re.sub(r"(?m)^(  interval: )\S+$", rf"\g<1>{number}m", text, count=1)


def new_variable(text: str, number: int) -> str:
    """An app's ks.yaml with another postBuild.substitute value (one no template reads)."""
    if "VK_BENCH:" in text:
        return re.sub(r'VK_BENCH: "\d+"', f'VK_BENCH: "{number}"', text)
    return re.sub(r"(?m)^(      APP: .*)$", rf'\g<1>\n      VK_BENCH: "{number}"', text, count=1)


def new_tag(text: str, number: int) -> str:
    """An app's helmrelease.yaml with another image tag, in place (a Renovate bump): nothing plan reads."""
    return re.sub(r"(?m)^(\s+tag: )\S+$", rf"\g<1>{number}.0.0", text, count=1)


def new_capacity(text: str, number: int) -> str:
    """An app's ks.yaml with another VOLSYNC_CAPACITY, in place: its data claim grows, which plan reads."""
    return re.sub(r"(?m)^(\s+VOLSYNC_CAPACITY: )\S+$", rf"\g<1>{30 + number}Gi", text, count=1)


def new_root_path(text: str, number: int) -> str:
    """An app's own static volume with another rootPath, in place: what lint reads, so it
    makes that app's findings again (lint.patched)."""
    return re.sub(r"(?m)^(\s+rootPath: /media/)(\S+?)(-v\d+)?$", rf"\g<1>\g<2>-v{number}", text, count=1)


def commands(repo: Path, workdir: Path, ks_repo: Path, plan_repo: Path) -> dict[str, Command]:
    vk = tool("volsync-kit")
    if vk is None:
        raise SystemExit("volsync-kit is not installed: .venv/bin/pip install -e .")
    r = str(repo)
    # The warm lint follows a commit that changed one app's HelmRelease.
    edited = sorted(repo.glob("kubernetes/apps/*/*/app/helmrelease.yaml"))[0]
    # Two apps' ks.yaml, in a copy of the repository with a cache of its own (so that the
    # other warm rows see only HelmRelease edits, as before): one edit the recorded run
    # answers, one it walks for.
    ks_files = sorted(ks_repo.glob("kubernetes/apps/*/*/ks.yaml"))
    scheduled, substituted, saved = ks_files[1], ks_files[2], ks_files[3]
    grown = next(p for p in ks_files[4:] if "CAPACITY" in p.read_text())
    (volume,) = ks_repo.glob("kubernetes/apps/*/*/app/media-pv.yaml")  # make_repo's VK101 defect
    ks_lint = [vk, "lint", "--repo", str(ks_repo)]
    lint, plan = [vk, "lint", "--repo", r], [vk, "plan", "--repo", r]
    render = [vk, "render", "--repo", r, "--format", "json"]
    cmds = {
        "version": Command([vk, "--version"]),
        "help": Command([vk, "lint", "--help"]),
        "lint": Command(lint, ok=(0, 1), cache="cold"),
        "lint-nocache": Command([*lint, "--no-cache"], ok=(0, 1)),
        "lint-warm": Command(lint, ok=(0, 1), cache="warm", edit=edited),
        "lint-warm-interval": Command(ks_lint, ok=(0, 1), cache="warm-ks", edit=scheduled, rewrite=new_interval),
        "lint-warm-variable": Command(ks_lint, ok=(0, 1), cache="warm-ks", edit=substituted, rewrite=new_variable),
        "lint-warm-saved": Command(ks_lint, ok=(0, 1), cache="warm-ks", edit=saved, rewrite=new_interval, replace=True),
        "lint-warm-capacity": Command(ks_lint, ok=(0, 1), cache="warm-ks", edit=grown, rewrite=new_capacity),
        "lint-warm-volume": Command(ks_lint, ok=(0, 1), cache="warm-ks", edit=volume, rewrite=new_root_path),
        "render": Command([*render, "--no-cache"]),
        "render-warm": Command(render, cache="warm"),
        "plan": Command([*plan, "--no-cache"]),
        "plan-warm": Command(plan, cache="warm"),
        # In a copy with a cache of its own, so that the edits reach no other row; the two
        # rows alternate on it.
        "plan-warm-tag": Command(
            [vk, "plan", "--repo", str(plan_repo)],
            cache="warm-plan",
            edit=sorted(plan_repo.glob("kubernetes/apps/*/*/app/helmrelease.yaml"))[0],
            rewrite=new_tag,
        ),
        "plan-warm-capacity": Command(
            [vk, "plan", "--repo", str(plan_repo)],
            cache="warm-plan",
            edit=next(p for p in sorted(plan_repo.glob("kubernetes/apps/*/*/ks.yaml")) if "CAPACITY" in p.read_text()),
            rewrite=new_capacity,
        ),
        "plan-staged": Command([*plan, "--staged"], cache="warm", edit=edited, stage=True),
    }
    if yamllint := tool("yamllint"):
        cmds["yamllint"] = Command([yamllint, "-d", "relaxed", r], ok=(0, 1))
    if kubectl := shutil.which("kubectl"):
        folder = kustomize_folder(repo, workdir)
        cmds["kustomize"] = Command([kubectl, "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(folder)])
    return cmds


def bench(size: int, runs: int, tmp: Path) -> dict[str, list[Sample]]:
    print(f"{size} apps: generating", file=sys.stderr, flush=True)
    repo = make_repo(size, tmp / f"repo-{size}", defects=True, plan_change=True)
    ks_repo, plan_repo = tmp / f"repo-{size}-ks", tmp / f"repo-{size}-plan"
    shutil.copytree(repo, ks_repo, symlinks=True)
    shutil.copytree(repo, plan_repo, symlinks=True)
    # The cache trusts no stamp taken within RACY_SECONDS of a file's last write (git's
    # racy-timestamp rule), so a warm-up right after generating would record none, and
    # round 1 would read every file again. A user's checkout is older than that: wait as
    # long, so that the warm rows measure what a hook sees after one edit.
    time.sleep(RACY_SECONDS)
    cmds = commands(repo, tmp / f"kustomize-{size}", ks_repo, plan_repo)
    samples: dict[str, list[Sample]] = {name: [] for name in cmds}
    names = list(cmds)
    cache_root = tmp / f"cache-{size}"
    cache_root.mkdir()
    # Fill the shared cache the warm runs start from, with the commands that use it (render
    # and plan, unlike lint, are timed without it).
    for name in ("lint", "render-warm", "plan-warm", "plan-staged"):
        measure(Command(cmds[name].argv, cmds[name].ok, cache="warm"), cache_root)
    # The variable the substitute row changes is added before the warm-up: each round changes its value in place.
    variable = cmds["lint-warm-variable"].edit
    assert variable is not None
    variable.write_text(new_variable(variable.read_text(), 0))
    measure(Command(cmds["lint-warm-interval"].argv, (0, 1), cache="warm-ks"), cache_root)
    measure(Command(cmds["plan-warm-tag"].argv, cache="warm-plan"), cache_root)
    for round_ in range(runs):
        k = round_ % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(sample := measure(cmds[name], cache_root))
            print(f"{size} apps, round {round_ + 1}: {name} {sample.seconds:.2f} s", file=sys.stderr, flush=True)
    return samples


# --- the table -----------------------------------------------------------------------------

Results = dict[int, dict[str, list[Sample]]]


def median(results: Results, size: int, name: str) -> float | None:
    samples = results[size].get(name)
    return statistics.median(s.seconds for s in samples) if samples else None


def peak(results: Results, size: int, names: tuple[str, ...]) -> float | None:
    """The largest peak RSS over every run of these commands (cold, warm and --no-cache)."""
    samples = [s for name in names for s in results[size].get(name, [])]
    return max(s.rss_mb for s in samples) if samples else None


def verdict(values: dict[int, float | None], limits: dict[int | None, float], at_most: bool = True) -> str:
    """'met', or by how much it is missed, per budgeted size (None: every size)."""
    parts: list[str] = []
    for size, limit in limits.items():
        checked = [v for s, v in values.items() if (size is None or s == size) and v is not None]
        if not checked:
            continue
        worst = max(checked) if at_most else min(checked)
        ok = worst <= limit if at_most else worst >= limit
        prefix = "" if size is None else f"{size:,}: "
        # how far from the budget, as a factor (time over it, or a ratio under it)
        factor = worst / limit if at_most else limit / worst
        parts.append(f"{prefix}{'met' if ok else f'missed, {factor:.1f}× off'}")
    return ", ".join(parts) or "not measured at these sizes"


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    digits = 3 if value < 1 else 2 if value < 10 else 1 if value < 100 else 0
    return f"{value:.{digits}f}{unit}"


def table(results: Results, runs: int) -> str:
    sizes = sorted(results)
    rows: list[str] = []

    def times(name: str) -> dict[int, float | None]:
        return {s: median(results, s, name) for s in sizes}

    def ratio(top: dict[int, float | None], bottom: dict[int, float | None]) -> dict[int, float | None]:
        return {s: a / b if (a := top[s]) and (b := bottom[s]) else None for s in sizes}

    def row(
        label: str,
        values: dict[int, float | None],
        unit: str = "",
        budget: str = "—",
        limits: dict[int | None, float] | None = None,
        at_most: bool = True,
        missing: str = "—",
    ) -> None:
        cells = " | ".join(missing if values.get(s) is None else fmt(values[s], unit) for s in sizes)
        rows.append(f"| {label} | {cells} | {budget} | {verdict(values, limits, at_most) if limits else '—'} |")

    lint, render, plan, yamllint, kustomize = (times(n) for n in ("lint", "render", "plan", "yamllint", "kustomize"))
    row("`volsync-kit --version`", times("version"), budget="≤ 0.15 s", limits={None: 0.15})
    row("`volsync-kit lint --help`", times("help"), budget="≤ 0.15 s", limits={None: 0.15})
    row(
        "`volsync-kit lint`, cold (empty cache, which it writes)",
        lint,
        budget="500: ≤ 0.5 s; 2,000: ≤ 1.0 s",
        limits={500: 0.5, 2000: 1.0},
    )
    cold_written = {s: statistics.median(x.seconds + x.writer_seconds for x in results[s]["lint"])
                    if results[s].get("lint") else None for s in sizes}  # fmt: skip
    row("`volsync-kit lint`, cold, until its detached cache writer is done", cold_written)
    row("`volsync-kit lint --no-cache`", times("lint-nocache"))
    row(
        "`volsync-kit lint`, warm (one HelmRelease changed)",
        times("lint-warm"),
        budget="500: ≤ 0.2 s; 2,000: ≤ 0.3 s",
        limits={500: 0.2, 2000: 0.3},
    )
    for name, what in (("interval", "one ks.yaml's interval changed"),
                       ("saved", "the same, saved by renaming a new file over it"),
                       ("variable", "another value of a postBuild.substitute variable no template reads"),
                       ("capacity", "one app's VOLSYNC_CAPACITY changed: the size of its data claim, not read"),
                       ("volume", "one app's own static volume moved to another rootPath, which lint reads: "
                                  "that app's findings made again"),
                       ):  # fmt: skip
        row(f"`volsync-kit lint`, warm ({what})", times(f"lint-warm-{name}"), budget="500: ≤ 0.2 s; 2,000: ≤ 0.3 s",
            limits={500: 0.2, 2000: 0.3})  # fmt: skip
    # Issue 6 gives one render and one plan budget; both rows are held to it.
    row("`volsync-kit render --format json --no-cache`", render, budget="2,000: ≤ 1.5 s", limits={2000: 1.5})
    row("`volsync-kit render --format json`, warm", times("render-warm"), budget="2,000: ≤ 1.5 s", limits={2000: 1.5})
    row(
        "`volsync-kit plan --no-cache` (component change: every app)",
        plan,
        budget="2,000: ≤ 3 s",
        limits={2000: 3.0},
    )
    for name, what in (("", "a comment added to a HelmRelease: its record holds"),
                       ("-tag", "one HelmRelease's image tag changed: its record holds"),
                       ("-capacity", "one app's VOLSYNC_CAPACITY changed, which plan reads: it walks")):  # fmt: skip
        row(f"`volsync-kit plan`, warm ({what})", times(f"plan-warm{name}"), budget="2,000: ≤ 3 s",
            limits={2000: 3.0})  # fmt: skip
    row(
        "`volsync-kit plan --staged`, warm (one HelmRelease staged: the commit-msg hook)",
        times("plan-staged"),
        budget="2,000: ≤ 3 s",
        limits={2000: 3.0},
    )
    for name in ("lint", "render", "plan"):
        family = tuple(n for n in {n for s in sizes for n in results[s]} if n == name or n.startswith(f"{name}-"))
        rss = {s: peak(results, s, family) for s in sizes}
        row(f"peak RSS of `{name}` (the largest of its rows above), MB", rss, budget="2,000: ≤ 300 MB",
            limits={2000: 300.0})  # fmt: skip
    if 500 in results and 2000 in results:
        for name, values in (("lint --no-cache", times("lint-nocache")), ("render", render), ("plan", plan)):
            big, small = values[2000], values[500]
            growth = {2000: big / small if big and small else None}
            row(f"`{name}`: time at 2,000 ÷ at 500", growth, "×", "≤ 4.4×", {2000: 4.4})
    row("`yamllint -d relaxed` on all YAML files (peer)", yamllint, missing="not installed")
    for how, values in (("cold", lint), ("warm", times("lint-warm"))):
        row(f"`yamllint` ÷ `volsync-kit lint`, {how}", ratio(yamllint, values), "×", "2,000: ≥ 30×", {2000: 30.0},
            at_most=False)  # fmt: skip
    row("`kubectl kustomize` of one app with its components (peer)", kustomize, missing="not installed")
    all_apps = {s: v * s if v else None for s, v in kustomize.items()}
    row("`kubectl kustomize` × N apps, **extrapolated**", all_apps)
    row("extrapolated `kubectl kustomize` ÷ `volsync-kit render`", ratio(all_apps, render), "×")

    columns = " | ".join(f"{s:,} apps" for s in sizes)
    header = f"| median of {runs} runs, seconds | {columns} | budget (issue 6) | verdict |"
    return "\n".join([header, "|---|" + "---:|" * len(sizes) + "---|---|", *rows])


def first_line(argv: list[str], pick: str = "") -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout
    except OSError:
        return "not installed"
    lines = [line for line in out.splitlines() if pick in line]
    return lines[0].strip() if lines else "unknown"


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    models = (
        [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        if cpuinfo.exists()
        else []
    )
    vk, yamllint, kubectl = tool("volsync-kit"), tool("yamllint"), shutil.which("kubectl")
    commit = first_line(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"])
    return "\n".join(
        [
            f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC (start)",
            f"- machine: {len(os.sched_getaffinity(0))} CPUs (nproc), {models[0] if models else platform.processor()},"
            f" {platform.platform()}",
            f"- Python {platform.python_version()}; {first_line([vk or 'volsync-kit', '--version'])} at {commit}",
            f"- peers: {first_line([yamllint, '--version']) if yamllint else 'yamllint not installed'}; "
            + (
                f"kubectl {first_line([kubectl, 'version', '--client'], 'Kustomize')}"
                if kubectl
                else "kubectl not installed"
            ),
        ]
    )


def write_readme(block: str) -> None:
    text = README.read_text() if README.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, sep, rest = text.partition(START)
    _, sep2, tail = rest.partition(END)
    if not (sep and sep2):
        head, tail = text.rstrip() + "\n\n", ""
    README.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,500,2000", help="comma-separated app counts (default 50,500,2000)")
    parser.add_argument("--runs", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not tool("yamllint"):
        print("yamllint is not installed (.venv/bin/pip install yamllint): its row says so", file=sys.stderr)
    about = machine()  # before the run: the date and commit it started at
    with tempfile.TemporaryDirectory(prefix="volsync-kit-bench-") as tmp:
        results = {size: bench(size, args.runs, Path(tmp)) for size in sizes}
    command = f"python benchmarks/run.py --sizes {args.sizes} --runs {args.runs}"
    block = "\n".join(
        [
            about,
            f"- command: `{command}`; repositories from `make_repo.py N DIR --defects --plan-change`",
            "",
            table(results, args.runs),
        ]
    )
    print(block)
    if not args.no_readme:
        write_readme(block)


if __name__ == "__main__":
    main()
