"""Would a process pool pay? (issue 16, item 4)

    python benchmarks/pool.py [--sizes 50,500,2000]

For each size, make_repo.py writes a repository and this measures, in one
process, on the machine's cores:

* parsing every YAML file serially, against one forked worker that parses
  every other file and sends the parsed documents back while the parent
  parses the rest (what the parent needs: a worker's parse is no use unless
  it is shipped); each starts with an empty parse cache, as a run does;
* walking every Flux Kustomization serially (its files already parsed),
  against what shipping half of the builds back from a worker would cost
  (pickling in the worker plus unpickling in the parent), the least a pool of
  two would add to the half it saves.

A pool pays when its time is below the serial one.  The table goes to
standard output.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

from make_repo import make_repo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from volsync_kit.adapters import yamlio
from volsync_kit.adapters.fs import FileRepo
from volsync_kit.adapters.yamlio import load_documents
from volsync_kit.core import flux

HEADER = (
    "| apps | files | parse, serial | parse, 2 processes | walk, serial | half the walk | shipping half the builds |"
)


def _parse(files: list[tuple[str, str]]) -> list[object]:
    return [load_documents(text, path) for path, text in files]


def parse_times(repo: Path) -> tuple[int, float, float]:
    files = [(p.relative_to(repo).as_posix(), p.read_text()) for p in sorted(repo.rglob("*.yaml"))]
    # load_documents keeps what it parsed: a worker forked after the serial
    # parse would inherit it and ship without parsing.
    yamlio._load_shared.cache_clear()
    start = time.perf_counter()
    _parse(files)
    serial = time.perf_counter() - start
    yamlio._load_shared.cache_clear()
    with multiprocessing.get_context("fork").Pool(1) as pool:
        start = time.perf_counter()
        theirs = pool.apply_async(_parse, (files[1::2],))
        _parse(files[::2])
        theirs.get()
        pooled = time.perf_counter() - start
    return len(files), serial, pooled


def walk_times(repo: Path) -> tuple[float, float]:
    _parse([(p.relative_to(repo).as_posix(), p.read_text()) for p in sorted(repo.rglob("*.yaml"))])
    start = time.perf_counter()
    model = flux.walk(FileRepo(repo), fallback=False)
    serial = time.perf_counter() - start
    half = [(r.resources, r.problems, r.files) for r in model.results[len(model.results) // 2 :]]
    start = time.perf_counter()
    pickle.loads(pickle.dumps(half, protocol=pickle.HIGHEST_PROTOCOL))
    return serial, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50,500,2000")
    args = parser.parse_args()
    gc.disable()  # as the CLI runs
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print(HEADER)
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            repo = Path(tmp) / f"r{size}"
            make_repo(size, repo, defects=True, plan_change=False)
            files, parse, pooled = parse_times(repo)
            walk, shipping = walk_times(repo)
            cells = [f"{size}", f"{files}", *(f"{t:.2f} s" for t in (parse, pooled, walk, walk / 2, shipping))]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
