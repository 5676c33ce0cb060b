"""Edits of real files: a run that reuses its record says what a run without the cache says.

For each repository of ``repos.yaml`` (cloned as README.md says), at its pinned
commit, in a temporary checkout with a cache of its own: lint, render and plan
once with the cache, then, for up to three files, edit them in place and run
each command with the cache and without it.  Every pair must be equal (a plan
as its reports read it: ``planner.reported``).  ``interval`` and ``prune`` edit
a Flux Kustomization's field that neither lint nor render reads
(``runmemo.UNREAD_FIELDS``), so their runs should be answered from the record,
and so should plan's after ``interval`` (it reads prune: ``runmemo.PLAN``);
``comment`` appends a comment to a HelmRelease's file, and ``tag`` gives the
first ``tag:`` of one another value (a Renovate bump), which every command's
record should answer when the app's volumes do not read it; ``substitute``
gives a postBuild.substitute variable other than APP another value, in place,
which each command answers by building the app again alone when nothing it
reads of it changes (``runmemo._resubstitute``), and walks for otherwise;
``claim`` gives the first claim written with a plain size in a file another
size, which lint answers when the claim goes with no static volume
(``runmemo.LINT``, ``volumedocs.volume_facts``), and render and plan walk for;
``volume`` moves the first static CephFS volume written with a plain rootPath
to another folder, which lint answers by making that app's findings again
(``lint.patched``) when no other Kustomization holds what it compares.
The counts say how many runs were answered, per command, how many builds
were passed through (``runmemo._passed``) or made again, and how many builds
a walk carried over the edit (``runmemo.carried``).

    python benchmarks/corpus/edits.py CLONES [--edit interval|prune|comment|tag|substitute|claim|volume]

Exit 0 when every pair is equal, 1 when one differs, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from volsync_kit import app
from volsync_kit.core import flux, runmemo

HERE = Path(__file__).resolve().parent
INTERVAL = re.compile(r"^  interval: \S+$", re.M)


def checkout(clones: Path, entry: dict[str, str], work: Path) -> Path:
    """A checkout of the pinned commit that shares the clone's objects."""
    source = clones / entry["repo"].replace("/", "+")
    repo = work / "repo"
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(source), str(repo)], check=True)
    sparse = source / ".git" / "info" / "sparse-checkout"
    if sparse.exists():
        subprocess.run(["git", "-C", str(repo), "config", "core.sparseCheckout", "true"], check=True)
        (repo / ".git" / "info").mkdir(exist_ok=True)
        shutil.copy(sparse, repo / ".git" / "info" / "sparse-checkout")
    checkout_cmd = ["git", "-C", str(repo), "-c", "advice.detachedHead=false", "checkout", "-q", entry["commit"]]
    subprocess.run(checkout_cmd, check=True)
    return repo


def flux_files(repo: Path) -> Iterator[Path]:
    for path in sorted(repo.rglob("*.yaml")):
        if ".git" not in path.parts:
            text = path.read_text(encoding="utf-8", errors="replace")
            if "kustomize.toolkit.fluxcd.io" in text and INTERVAL.search(text):
                yield path


def release_files(repo: Path) -> Iterator[Path]:
    for path in sorted(repo.rglob("*.yaml")):
        if ".git" not in path.parts and "kind: HelmRelease" in path.read_text(encoding="utf-8", errors="replace"):
            yield path


def new_interval(text: str, number: int) -> str:
    return INTERVAL.sub(f"  interval: {17 + number}m", text, count=1)


def toggled_prune(text: str, number: int) -> str:
    """prune turned off where it is on; else another interval."""
    if re.search(r"^  prune: true$", text, re.M):
        return re.sub(r"^  prune: true$", "  prune: false", text, count=1, flags=re.M)
    return new_interval(text, number)


# The first variable of a postBuild.substitute other than APP, with a plain value.
SUBSTITUTED = re.compile(
    r"^(\s+substitute:\n(?:\s+[A-Z_][A-Z0-9_]*: .*\n)*?\s+)(?!APP:)([A-Z_][A-Z0-9_]*): ([^\s$#'\"{}]+)$", re.M
)


def substituted(text: str, number: int) -> str:
    """Another value of a postBuild.substitute variable but APP, in place; else another interval."""
    if SUBSTITUTED.search(text):
        return SUBSTITUTED.sub(rf"\g<1>\g<2>: \g<3>{number}", text, count=1)
    return new_interval(text, number)


def comment(text: str, number: int) -> str:
    return f"{text.rstrip()}\n# edited {number}\n"


TAG = re.compile(r"^(\s+tag: )([\w.@:-]+)$", re.M)


def tag(text: str, number: int) -> str:
    """The first image tag written plainly, bumped; else a comment."""
    if TAG.search(text):
        return TAG.sub(rf"\g<1>\g<2>-bump{number}", text, count=1)
    return comment(text, number)


# The first size written plainly after a claim's kind (in its document, or a later one's).
CLAIM_SIZE = re.compile(r"(^kind: PersistentVolumeClaim\n(?:.*\n)*?\s+storage: )(\d+)([KMGT]i)$", re.M)


def claim_size(text: str, number: int) -> str:
    """Another size of the first claim written with a plain one; else a comment."""
    if CLAIM_SIZE.search(text):
        return CLAIM_SIZE.sub(lambda m: f"{m[1]}{int(m[2]) + number + 1}{m[3]}", text, count=1)
    return comment(text, number)


def claim_files(repo: Path) -> Iterator[Path]:
    for path in sorted(repo.rglob("*.yaml")):
        if ".git" not in path.parts and CLAIM_SIZE.search(path.read_text(encoding="utf-8", errors="replace")):
            yield path


# A static CephFS volume's rootPath written plainly (no variable).
ROOT_PATH = re.compile(r"^(\s+rootPath: )(/[^\s$\"'#]+)$", re.M)


def root_path(text: str, number: int) -> str:
    """The first plain rootPath of a CephFS volume moved to another folder; else a comment."""
    if "cephfs" in text and ROOT_PATH.search(text):
        return ROOT_PATH.sub(rf"\g<1>\g<2>-edited{number}", text, count=1)
    return comment(text, number)


def volume_files(repo: Path) -> Iterator[Path]:
    for path in sorted(repo.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8", errors="replace") if ".git" not in path.parts else ""
        if "kind: PersistentVolume\n" in text and "cephfs" in text and ROOT_PATH.search(text):
            yield path


EDITS: dict[str, Callable[[str, int], str]] = {
    "interval": new_interval,
    "prune": toggled_prune,
    "comment": comment,
    "saved": comment,  # saved by renaming a new file over the old one (save below)
    "tag": tag,
    "substitute": substituted,
    "claim": claim_size,
    "volume": root_path,
}


def save(path: Path, text: str, *, renamed: bool) -> None:
    """Write in place, or as an editor's safe write, `sed -i` or a checkout do: a new
    file renamed over the old one, which moves the folder's stamp too."""
    if not renamed:
        path.write_text(text, encoding="utf-8")
        return
    new = path.with_name(f".{path.name}.saving")
    new.write_text(text, encoding="utf-8")
    os.replace(new, path)


def plan(repo: Path, *, cache: bool) -> object:
    """The plan as its reports read it: one reused from its record keeps no models."""
    from volsync_kit.core.planner import reported

    return reported(app.run_plan(repo, cache=cache))


def outcome(run: Callable[..., object], repo: Path, *, cache: bool) -> object:
    try:
        return run(repo, cache=cache)
    except Exception as err:  # compared as a value: both runs must fail alike
        return (type(err).__name__, str(err))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clones", type=Path)
    parser.add_argument("--edit", choices=sorted(EDITS), default="interval")
    args = parser.parse_args()
    entries = yaml.safe_load((HERE / "repos.yaml").read_text(encoding="utf-8"))["repos"]
    seen: list[runmemo.Reuse | None] = []
    real = runmemo.reuse

    def spy(*a: object, **k: object) -> runmemo.Reuse | None:
        found = real(*a, **k)  # type: ignore[arg-type]
        seen.append(found)
        return found

    runmemo.reuse = spy
    counts: Counter[str] = Counter()
    carry = flux.carried

    def carried(*a: object, **k: object) -> object:
        found = carry(*a, **k)  # type: ignore[arg-type]
        counts["builds carried by a walk"] += found is not None
        return found

    flux.carried = carried  # type: ignore[assignment]
    for entry in entries:
        with tempfile.TemporaryDirectory() as folder:
            work = Path(folder)
            os.environ["VOLSYNC_KIT_CACHE_DIR"] = str(work / "cache")
            repo = checkout(args.clones, entry, work)
            for run in (app.run_lint, app.run_render, plan):
                outcome(run, repo, cache=True)
            files = release_files(repo) if args.edit in ("comment", "saved", "tag") else flux_files(repo)
            if args.edit == "claim":
                files = claim_files(repo)
            if args.edit == "volume":
                files = volume_files(repo)
            if args.edit == "substitute":  # files with a variable to change, else the first ones
                candidates = list(files)
                chosen = [p for p in candidates if SUBSTITUTED.search(p.read_text(encoding="utf-8"))]
                files = iter(chosen or candidates)
            for number, path in enumerate(list(files)[:3]):
                save(path, EDITS[args.edit](path.read_text(encoding="utf-8"), number), renamed=args.edit == "saved")
                for run in (app.run_lint, app.run_render, plan):
                    seen.clear()
                    warm = outcome(run, repo, cache=True)
                    found = seen[-1] if seen else None
                    same = warm == outcome(run, repo, cache=False)
                    counts["same" if same else "DIFFERENT"] += 1
                    command = run.__name__.removeprefix("run_")
                    counts[f"{command} reused" if found is not None else f"{command} walked"] += 1
                    if found is not None:
                        counts[f"{command} patched"] += found.patched
                        counts["builds passed through"] += found.passed
                        counts["builds made again"] += found.rebuilt
                    if not same:
                        print(f"DIFFERENT: {entry['repo']} {path.relative_to(repo)} {run.__name__}", flush=True)
        print(entry["repo"], dict(counts), flush=True)
    print(dict(counts))
    return 1 if counts["DIFFERENT"] else 0


if __name__ == "__main__":
    sys.exit(main())
