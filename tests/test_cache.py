"""The on-disk cache (issue 6): a warm run gives what a run without the cache
gives, an edit is never served stale, and a cache that is corrupt, of another
version, read-only or written by several runs at once is never an error.

Commands run as real processes (``python -m volsync_kit``) on real repositories:
the example, and a 30-app repository from the benchmark generator.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_repo import committed_example, generated_repo

from volsync_kit.adapters import cache as cache_module
from volsync_kit.adapters import fs, gitrepo
from volsync_kit.adapters.cache import RACY_NS, DiskCache, Stamp, text_digest
from volsync_kit.adapters.fs import FileRepo, TextReader
from volsync_kit.app import run_lint, run_plan, run_render, walk
from volsync_kit.core import planner, render
from volsync_kit.core.model import Loc, Map, Scalar, Seq

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "home-ops"
COMPONENT_PV = "kubernetes/flux/components/volsync/repository/pv.yaml"


def run(args: list[str], cache_dir: Path | None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if cache_dir is not None:
        env["VOLSYNC_KIT_CACHE_DIR"] = str(cache_dir)
    return subprocess.run(
        [sys.executable, "-m", "volsync_kit", *args], capture_output=True, text=True, env=env, cwd=cwd, check=False
    )


def outputs(repo: Path, cache_dir: Path | None) -> dict[str, tuple[int, str, str]]:
    """What lint, render and plan say about ``repo`` (a git repository)."""
    extra = [] if cache_dir is not None else ["--no-cache"]
    commands = {
        "lint": ["lint", "--repo", str(repo), "--format", "json", *extra],
        "render": ["render", "--repo", str(repo), "--format", "json", *extra],
        "plan": ["plan", "--repo", str(repo), "--format", "json", *extra],
    }
    results = {}
    for name, args in commands.items():
        done = run(args, cache_dir)
        assert "Traceback" not in done.stderr, done.stderr
        results[name] = (done.returncode, done.stdout, done.stderr)
    return results


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return committed_example(tmp_path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_repo(tmp_path_factory.mktemp("gen") / "repo", 30, "--defects", "--plan-change")


def stores(cache_dir: Path) -> list[Path]:
    """The stores under ``cache_dir``, once the runs' detached writers are done
    (a reader of the tables is not a run, which waits on its own)."""
    cache_module.wait_for_writers(cache_dir)
    return sorted(cache_dir.glob("v-*/*.sqlite3"))


def rows(cache_dir: Path, table: str = "entries") -> list[tuple[object, ...]]:
    """Every row of a table of the one store under ``cache_dir``, once SQLite
    found the whole store sound."""
    [store] = stores(cache_dir)
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def values(cache_dir: Path) -> list[object]:
    """The value of every entry, each checked against its checksum."""
    found = []
    for key, inputs, checksum, value in rows(cache_dir):
        assert zlib.crc32(value, zlib.crc32(f"{key}\x1e{inputs}".encode())) == checksum
        found.append(pickle.loads(value))
    return found


@pytest.mark.parametrize("which", ["example", "generated"])
def test_cold_and_warm_runs_equal_a_run_without_cache(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    repo: Path = request.getfixturevalue(which)
    cache_dir = tmp_path / "cache"
    expected = outputs(repo, None)
    assert expected["lint"][0] in (0, 1)
    assert expected["render"][1]
    assert not cache_dir.exists()  # --no-cache writes nothing
    assert outputs(repo, cache_dir) == expected  # cold: writes the cache
    cold = rows(cache_dir)
    assert len(cold) > 20
    # The cold runs came within RACY_NS of the checkout, too soon to trust a
    # folder's stamp: the first warm run after that window vouches for them
    # and writes the records' new state, and the next one writes nothing.
    time.sleep(RACY_NS / 1e9)
    assert outputs(repo, cache_dir) == expected  # warm: reads it
    written = rows(cache_dir)
    assert {row[0] for row in written} == {row[0] for row in cold}  # no new entry
    assert outputs(repo, cache_dir) == expected
    assert rows(cache_dir) == written  # and has nothing to write again


def test_an_edited_file_is_never_served_stale(example: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    outputs(example, cache_dir)
    pv = example / COMPONENT_PV
    pv.write_text(pv.read_text().replace("rootPath: /volsync/${APP}", "rootPath: /volsync/moved/${APP}"))
    warm = outputs(example, cache_dir)
    assert warm == outputs(example, None)
    assert "/volsync/moved/" in warm["render"][1]
    assert '"replace"' in warm["plan"][1]


def test_a_new_file_in_a_folder_without_kustomization_is_seen(tmp_path: Path) -> None:
    """Flux generates the kustomization of a folder that has none from its
    listing, so a file added next to the others changes the build."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    app = repo / "kubernetes/apps/default/echo/app"
    app.mkdir(parents=True)
    (repo / "kubernetes/apps/default/echo/ks.yaml").write_text(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: echo\n"
        "  namespace: flux-system\nspec:\n  path: ./kubernetes/apps/default/echo/app\n  targetNamespace: default\n"
        "  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  interval: 1h\n  prune: true\n"
    )
    kustomization = repo / "kubernetes/apps/default/kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("resources:\n", "resources:\n  - ./echo/ks.yaml\n", 1))
    (app / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n")
    cache = DiskCache(tmp_path / "cache", repo)
    first = walk(FileRepo(repo), None, cache)
    (app / "pvc.yaml").write_text(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: echo-data\nspec:\n"
        "  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
    )
    second = walk(FileRepo(repo), None, DiskCache(tmp_path / "cache", repo))
    names = [
        {res.name for result in model.results if result.ks.ref.name == "echo" for res in result.resources}
        for model in (first, second)
    ]
    assert names == [{"one"}, {"one", "echo-data"}]


def test_the_latest_value_of_a_key_is_what_it_holds_whatever_it_was_made_from(tmp_path: Path) -> None:
    """DiskCache.latest: this run's value when it put one (deferred for the
    detached writer or not), else the stored one; None for a key never put."""
    repo = tmp_path / "repo"
    repo.mkdir()
    first = DiskCache(tmp_path / "cache", repo)
    assert first.latest("slot") is None
    first.put("slot", "one", ("a",))
    assert first.latest("slot") == ("one", ("a",))
    first.flush()
    first.close()
    second = DiskCache(tmp_path / "cache", repo)
    assert second.latest("slot") == ("one", ("a",))
    assert second.latest("other") is None
    second._store.detach = True  # as the console script's store: written at exit
    second.put("slot", "two", ("b",))
    assert second.latest("slot") == ("two", ("b",))
    assert second.get("slot", "one") is None


def test_a_warm_run_reparses_and_rebuilds_only_what_an_edit_touched(generated: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    cold = DiskCache(tmp_path / "cache", repo)
    model = walk(FileRepo(repo), None, cold)
    assert cold.reads == 0
    assert cold.writes > 60
    helmrelease = next(repo.glob("kubernetes/apps/*/*/app/helmrelease.yaml"))
    helmrelease.write_text(helmrelease.read_text().replace("interval: 1h", "interval: 2h", 1))
    warm = DiskCache(tmp_path / "cache", repo)
    again = walk(FileRepo(repo), None, warm)
    # The file's parse, and the build of the one app that reads it.
    assert warm.writes == 2
    assert warm.reads > 60
    unchanged = walk(FileRepo(repo), None, None)
    assert render.render(again) == render.render(unchanged)
    assert [r.ks.ref for r in again.results] == [r.ks.ref for r in model.results]


def test_another_version_of_the_tool_never_reads_these_entries(example: Path, tmp_path: Path) -> None:
    base = tmp_path / "cache"
    old = DiskCache(base, example, fingerprint="old")
    walk(FileRepo(example), None, old)
    assert (base / "v-old").is_dir()
    new = DiskCache(base, example, fingerprint="new")
    model = walk(FileRepo(example), None, new)
    assert new.reads == 0
    assert new.writes > 0
    assert not (base / "v-old").exists()  # unreachable entries are removed
    assert render.render(model) == render.render(walk(FileRepo(example), None, None))


def test_the_real_fingerprint_changes_with_the_version(monkeypatch: pytest.MonkeyPatch) -> None:
    from volsync_kit.adapters import cache

    before = cache.tool_fingerprint()
    monkeypatch.setattr(cache, "__version__", "99.0.0")
    assert cache.tool_fingerprint() != before


def test_concurrent_runs_on_one_empty_cache(generated: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    expected = run(["lint", "--repo", str(generated), "--no-cache"], None)
    env = dict(os.environ, VOLSYNC_KIT_CACHE_DIR=str(cache_dir))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "volsync_kit", "lint", "--repo", str(generated)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    results = [(p.wait(), *p.communicate()) for p in procs]
    assert all(r == (expected.returncode, expected.stdout, expected.stderr) for r in results)
    assert len(values(cache_dir)) > 60  # a sound store of whole entries
    warm = run(["lint", "--repo", str(generated)], cache_dir)
    assert (warm.returncode, warm.stdout, warm.stderr) == (expected.returncode, expected.stdout, expected.stderr)


# One writer process: it waits for the test's signal, so that all of them
# write at once, then writes 240 entries in transactions of 20.
WRITER = """
import sys, time
from pathlib import Path
from volsync_kit.adapters.cache import DiskCache
base, repo, who, go = sys.argv[1:]
cache = DiskCache(Path(base), Path(repo), fingerprint="test")
print("ready", flush=True)
while not Path(go).exists():
    time.sleep(0.001)
for i in range(240):
    cache.put(f"key-{i}", f"inputs-{who}", (who, i, who * 20_000))
    if i % 20 == 19:
        cache.flush()
print(cache.writes, cache.writable, flush=True)
"""


def test_concurrent_writer_processes_each_write_whole_entries(tmp_path: Path) -> None:
    """Four processes write the same keys at once: each transaction is whole
    or absent (a writer that waited too long drops its batch), and every
    entry reads back as one writer's value, for that writer's inputs."""
    cache_dir, go = tmp_path / "cache", tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cache_dir), str(tmp_path), who, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in "abcd"
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    go.touch()
    outs = [(p.wait(), *p.communicate()) for p in procs]
    assert [(code, err) for code, _, err in outs] == [(0, "")] * 4
    written = [int(out.split()[0]) for _, out, _ in outs]
    assert sum(written) >= 240
    assert all(n % 20 == 0 for n in written)  # whole transactions only
    entries = rows(cache_dir)
    assert len(entries) == 240
    for (key, inputs, _, _), value in zip(entries, values(cache_dir), strict=True):
        who, i, payload = value
        assert (key, inputs, payload) == (f"key-{i}", f"inputs-{who}", who * 20_000)
    reader = DiskCache(cache_dir, tmp_path, fingerprint="test")
    for key, inputs, _, _ in entries:
        assert isinstance(key, str)
        assert isinstance(inputs, str)
        assert reader.get(key, inputs) is not None
        assert reader.get(key, "inputs-other") is None  # made from other inputs: a miss


def test_a_writer_that_waits_too_long_drops_its_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache_module, "BUSY_SECONDS", 0.05)
    store = DiskCache(tmp_path / "cache", tmp_path, fingerprint="test")
    store.put("a", "in", 1)
    store.flush()
    other = sqlite3.connect(store.path, isolation_level=None)  # another run, mid-transaction
    other.execute("BEGIN IMMEDIATE")
    store.put("b", "in", 2)
    store.flush()
    assert store.get("a", "in") == 1  # reading goes on
    other.execute("COMMIT")
    other.close()
    store.put("c", "in", 3)
    store.flush()
    assert (store.writes, store.writable) == (2, True)
    assert (store.get("b", "in"), store.get("c", "in")) == (None, 3)  # b: a miss next time, never an error


def _rewrite(store: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(store, isolation_level=None)) as db:
        for statement in statements:
            db.execute(statement)


def _wrong_objects(store: Path) -> None:
    """Rows that are sound, checksums included, but hold another object."""
    with contextlib.closing(sqlite3.connect(store)) as db, db:
        for key, inputs in db.execute("SELECT key, inputs FROM entries").fetchall():
            value = pickle.dumps({"surprise": [1, 2, 3]})
            checksum = zlib.crc32(value, zlib.crc32(f"{key}\\x1e{inputs}".encode()))
            db.execute("UPDATE entries SET value = ?, checksum = ? WHERE key = ?", (value, checksum, key))


def _garble(store: Path, start: float) -> None:
    """Flip every byte of 16 KB from ``start`` (a fraction of the file): the
    pages there may be structure SQLite checks, or values only the checksum does."""
    data = bytearray(store.read_bytes())
    at = int(len(data) * start)
    data[at : at + 16384] = bytes(b ^ 0xFF for b in data[at : at + 16384])
    store.write_bytes(bytes(data))


def _garble_read_pages(store: Path) -> None:
    """Flip every byte of the pages that hold the entry every warm lint reads
    first, its run record (the row and its key's index entry).  Where a fixed
    offset lands depends on the store's layout: it may hold only rows no run
    reads until a file changes, which SQLite then finds damaged."""
    key = DiskCache(store.parent, store.parent).key(("run", "lint")).encode()
    data = bytearray(store.read_bytes())
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        [(size,)] = db.execute("PRAGMA page_size").fetchall()
    at = data.find(key)
    assert at >= 0, "the run record is in the store"
    while at >= 0:
        page = at - at % size
        data[page : page + size] = bytes(b ^ 0xFF for b in data[page : page + size])
        at = data.find(key, page + size)
    store.write_bytes(bytes(data))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncate": lambda store: store.write_bytes(store.read_bytes()[: store.stat().st_size // 2]),
    "garbage": lambda store: store.write_bytes(b"\\x80\\x05not a database at all" * 1000),
    "empty": lambda store: store.write_bytes(b""),
    "garble-read-pages": _garble_read_pages,
    "garble-late-pages": lambda store: _garble(store, 0.8),
    "another-layout": lambda store: _rewrite(store, "PRAGMA user_version = 99"),
    "wrong-object": _wrong_objects,
    # An index row that no longer matches its checksum could say a file
    # lacks the words that make it read: it is ignored.
    "garble-index": lambda store: _rewrite(store, "UPDATE files SET found = ''"),
    "garble-values": lambda store: _rewrite(store, "UPDATE entries SET value = substr(value, 1, length(value) - 1)"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_corrupt_store_is_a_miss_and_is_rebuilt(example: Path, tmp_path: Path, damage: str) -> None:
    cache_dir = tmp_path / "cache"
    expected = outputs(example, None)
    assert outputs(example, cache_dir) == expected
    [store] = stores(cache_dir)
    assert not Path(f"{store}-wal").exists()  # every run checkpointed: the store file holds it all
    DAMAGE[damage](store)
    assert outputs(example, cache_dir) == expected
    # The run that met the damage wrote what it made after recreating the
    # store (plan's base may take its builds from the head, and write only
    # those); the next run fills in the rest.
    assert outputs(example, cache_dir) == expected
    rebuilt = values(cache_dir)  # integrity checked, checksums match
    assert len(rebuilt) > 20
    assert not any(isinstance(value, dict) for value in rebuilt)  # written again, whole


def test_an_unwritable_cache_is_not_an_error(example: Path, tmp_path: Path) -> None:
    """A cache path that is a file fails every write, as a read-only or full
    disk would (and, unlike a read-only folder, also when the tests run as root)."""
    cache_dir = tmp_path / "cache"
    cache_dir.write_text("not a folder")
    assert outputs(example, cache_dir) == outputs(example, None)
    assert cache_dir.read_text() == "not a folder"


def test_a_full_store_turns_writing_off_for_the_run(example: Path, tmp_path: Path) -> None:
    """SQLite's own "database or disk is full", from a page limit on the store."""
    store = DiskCache(tmp_path / "cache", example)
    store.put("first", "in", "a small entry")
    store.flush()
    db = store._store.db  # the one connection, to cap its pages where they are now
    assert db is not None
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    model = walk(FileRepo(example), None, store)
    assert (store.writable, store.writes) == (False, 1)
    assert render.render(model) == render.render(walk(FileRepo(example), None, None))
    assert store.get("first", "in") == "a small entry"


class _PickledBy:
    """A value that notes which process pickled it, and reads back as "value"."""

    def __init__(self, note: Path, seconds: float = 0.0) -> None:
        self.note = note
        self.seconds = seconds  # a slow writer, for a reader to wait for

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        time.sleep(self.seconds)
        self.note.write_text(str(os.getpid()))
        return (str, ("value",))


DETACHES = cache_module._can_detach()


@pytest.mark.skipif(not DETACHES, reason="no fork or flock here: every run writes before it exits")
def test_a_detached_store_is_written_after_close_by_another_process(tmp_path: Path) -> None:
    """The console script's cache (detach=True) pickles and writes nothing
    while the command runs, and hands everything to a process of its own when
    it closes; the next run waits for that writer and then reads it all."""
    note = tmp_path / "pickled-by"
    store = DiskCache(tmp_path / "cache", tmp_path, detach=True)
    store.put("a", "in", _PickledBy(note, seconds=0.5))
    store.put("b", "in", "plain")
    assert not note.exists()  # nothing pickled while the command runs
    store.close()
    assert store.writes == 2
    again = DiskCache(tmp_path / "cache", tmp_path)
    assert (again.get("a", "in"), again.get("b", "in")) == ("value", "plain")  # waited for the writer
    assert int(note.read_text()) != os.getpid()
    [version] = (tmp_path / "cache").glob("v-*")
    assert {p.name.rpartition(".")[2]: oct(p.stat().st_mode & 0o777) for p in version.iterdir()}["writing"] == "0o600"


@pytest.mark.skipif(not DETACHES, reason="no fork or flock here: every run writes before it exits")
def test_a_writer_started_while_another_writes_waits_its_turn(tmp_path: Path) -> None:
    """Two commands in quick succession: the second's writer does not write
    while the first's holds the lock, and the second command does not wait
    for either (its writer does)."""
    import fcntl

    note = tmp_path / "pickled-by"
    store = DiskCache(tmp_path / "cache", tmp_path, detach=True)
    store.put("a", "in", _PickledBy(note))
    store._store._prepare()
    other = os.open(store._store._lock_path(), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)  # the first command's writer, still at work
    try:
        store.close()
        assert store.writes == 1  # handed off, not written here
        time.sleep(0.3)
        assert not note.exists()  # the writer waits for the lock before it pickles
    finally:
        os.close(other)
    for _ in range(400):
        if note.exists():
            break
        time.sleep(0.025)
    assert int(note.read_text()) != os.getpid()
    assert DiskCache(tmp_path / "cache", tmp_path).get("a", "in") == "value"


@pytest.mark.parametrize("detach", [True, False])
def test_a_store_writes_every_entry_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, detach: bool) -> None:
    """What a run makes is written in transactions of FLUSH_BYTES: all of it,
    however many batches (a cold run of 2,000 apps pends about 60 MB; the
    detached writer once lost a fifth of that to a flush within a flush)."""
    monkeypatch.setattr(cache_module, "FLUSH_BYTES", 200)
    store = DiskCache(tmp_path / "cache", tmp_path, detach=detach)
    for number in range(1500):
        store.put(f"key-{number}", "in", ("value", number))
    store.close()
    again = DiskCache(tmp_path / "cache", tmp_path)
    assert [again.get(f"key-{number}", "in") for number in range(1500)] == [("value", n) for n in range(1500)]


@pytest.mark.skipif(not DETACHES, reason="no fork or flock here: every run writes before it exits")
def test_a_command_started_without_standard_streams_still_locks_its_writer(tmp_path: Path) -> None:
    """With descriptors 0 to 2 closed, the lock is opened as one of them; the
    writer's /dev/null must not replace it, or the next run reads a store
    that is still being written."""
    script = (
        "import os, sys, time\n"
        "for fd in (0, 1, 2): os.close(fd)\n"
        "from pathlib import Path\n"
        "from volsync_kit.adapters.cache import DiskCache\n"
        "class Slow:\n"
        "    def __reduce__(self):\n"
        "        time.sleep(0.5)\n"
        "        return (str, ('value',))\n"
        "store = DiskCache(Path(sys.argv[1]), Path(sys.argv[1]), detach=True)\n"
        "store.put('a', 'in', Slow())\n"
        "store.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "cache")], check=True, timeout=60)
    assert DiskCache(tmp_path / "cache", tmp_path / "cache").get("a", "in") == "value"


def test_a_store_that_may_not_detach_writes_in_this_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache_module.DETACH_ENV, "0")
    note = tmp_path / "pickled-by"
    store = DiskCache(tmp_path / "cache", tmp_path, detach=True)
    store.put("a", "in", _PickledBy(note))
    store.close()
    assert int(note.read_text()) == os.getpid()
    assert DiskCache(tmp_path / "cache", tmp_path).get("a", "in") == "value"


def test_an_entry_put_for_later_reads_back_as_one_written_at_once(example: Path, tmp_path: Path) -> None:
    """A detached store pickles an entry when it is first read back in the run,
    so that the run sees what it would have read from a store that wrote it."""
    model = walk(FileRepo(example), None, None)
    value = tuple(model.results[0].resources)
    at_once, later = DiskCache(tmp_path / "one", example), DiskCache(tmp_path / "two", example, detach=True)
    for store in (at_once, later):
        store.put("slot", "in", value)
    read = [store.get("slot", "in") for store in (at_once, later)]
    assert read[0] == read[1] == value
    assert later.get("slot", "other inputs") is None


def test_a_detached_store_that_stops_writing_writes_nothing(tmp_path: Path) -> None:
    store = DiskCache(tmp_path / "cache", tmp_path, detach=True)
    store.put("a", "in", "first")
    store.stop_writing()  # a file changed while the run read it
    store.put("b", "in", "second")
    store.close()
    again = DiskCache(tmp_path / "cache", tmp_path)
    assert (again.get("a", "in"), again.get("b", "in"), store.writes) == (None, None, 0)


def test_the_cache_is_private(example: Path, tmp_path: Path) -> None:
    base = tmp_path / "cache"
    store = DiskCache(base, example)
    walk(FileRepo(example), None, store)
    [version] = base.glob("v-*")
    assert [oct(p.stat().st_mode & 0o777) for p in (base, version)] == ["0o700"] * 2
    files = sorted(version.iterdir())
    assert [p.name.rpartition(".")[2] for p in files] == ["sqlite3", "sqlite3-shm", "sqlite3-wal"]  # while open
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {"0o600"}


# -- the index of the tree -----------------------------------------------------------


def _look_later(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Runs look at files ``seconds`` after now (files just written are racy)."""
    real = time.time_ns
    monkeypatch.setattr(fs, "_clock", lambda: real() + int(seconds * 1e9))


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read from now on, from the work tree or from git."""
    read: list[str] = []
    for reader in (FileRepo, gitrepo._GitView):
        original = reader._read_bytes

        def counted(self: TextReader, path: str, original: Callable[[TextReader, str], bytes] = original) -> bytes:
            read.append(path)
            return original(self, path)

        monkeypatch.setattr(reader, "_read_bytes", counted)
    return read


def _results(repo: Path, cache: bool = True) -> tuple[object, ...]:
    # A plan as its reports read it: one reused from its record keeps no models.
    plan = planner.reported(run_plan(repo, cache=cache))
    return run_lint(repo, cache=cache), run_render(repo, cache=cache), plan


@pytest.mark.parametrize("which", ["example", "generated"])
def test_what_the_index_answers_equals_a_run_without_cache(
    which: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lint, render and plan from the index (digests, the words looked for,
    parses and builds; no file read, of the work tree or of plan's base in
    git) give what reading every file gives."""
    repo: Path = request.getfixturevalue(which)
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "cache"))
    _look_later(monkeypatch, 10)
    expected = _results(repo, cache=False)
    assert _results(repo) == expected  # cold: indexes every file
    read = _count_reads(monkeypatch)
    assert _results(repo) == expected
    assert read == []


def test_a_warm_run_reads_only_the_files_that_changed(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "cache"))
    _look_later(monkeypatch, 10)
    read = _count_reads(monkeypatch)
    cold = run_lint(repo)
    assert len(read) > 60
    read.clear()
    assert run_lint(repo) == cold
    assert read == []  # lint, its rules and its directives included
    # An app's own HelmRelease (flux-instance's build would read its values too).
    helmrelease = next(
        p for p in sorted(repo.glob("kubernetes/apps/*/*/app/helmrelease.yaml")) if "flux-system" not in p.parts
    )
    helmrelease.write_text(helmrelease.read_text().replace("interval: 1h", "interval: 2h", 1))
    read.clear()
    edited = run_lint(repo)
    assert read == [helmrelease.relative_to(repo).as_posix()]
    assert edited == run_lint(repo, cache=False)


def test_a_file_changed_within_its_timestamp_tick_is_read_again(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system with coarse timestamps, a file edited twice within
    one tick, to the same size, keeps its stat.  The index trusts a stat only
    when the file was settled (RACY_NS) when it was looked at, as git does."""
    now = time.time_ns()
    real_stamp = FileRepo._stamp

    def coarse(self: FileRepo, path: str, seen_ns: int) -> Stamp | None:
        stamp = real_stamp(self, path, seen_ns)
        return dataclasses.replace(stamp, mtime_ns=now, ctime_ns=now) if stamp and path == COMPONENT_PV else stamp

    monkeypatch.setattr(FileRepo, "_stamp", coarse)
    pv = example / COMPONENT_PV
    base = tmp_path / "cache"

    original = pv.read_text()
    assert "rootPath: /volsync/" in original

    def rendered(mark: str) -> bool:
        """Edit the file to the same size, and say whether a run sees the edit."""
        pv.write_text(original.replace("rootPath: /volsync/", f"rootPath: /{mark}/"))
        out = render.render(walk(FileRepo(example), None, DiskCache(base, example)))
        return f"/{mark}/" in repr(out)

    _look_later(monkeypatch, RACY_NS / 2e9)  # within the tick: not indexed
    walk(FileRepo(example), None, DiskCache(base, example))
    assert rendered("volsynA")
    assert rendered("volsynB")
    # The same edits, looked at long after the tick: the index trusts the
    # (forged, unchanged) stat and the file is not read again.  Real stats
    # change with every edit (ctime cannot be set back); this shows that
    # the racy rule, not luck, is what read the edits above.
    _look_later(monkeypatch, 10)
    walk(FileRepo(example), None, DiskCache(base, example))
    assert not rendered("volsynC")


def test_a_file_changed_while_a_run_reads_it_stops_that_run_writing(
    example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _look_later(monkeypatch, 10)
    walk(FileRepo(example), None, DiskCache(tmp_path / "cache", example))
    reader, store = FileRepo(example), DiskCache(tmp_path / "cache", example)
    reader.cache = store
    read = _count_reads(monkeypatch)
    before = reader.digest(COMPONENT_PV)  # from the index
    assert read == []
    pv = example / COMPONENT_PV
    pv.write_text(pv.read_text().replace("rootPath: /volsync", "rootPath: /volsync/moved"))
    assert "/volsync/moved" in reader.text(COMPONENT_PV)
    assert before != text_digest(reader.text(COMPONENT_PV))
    assert not store.writable  # what it built may mix both texts


def test_the_default_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from volsync_kit.adapters.cache import default_dir

    monkeypatch.delenv("VOLSYNC_KIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_dir() == tmp_path / "volsync-kit"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # invalid per the spec: ignored
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_dir() == tmp_path / "home" / ".cache" / "volsync-kit"
    monkeypatch.setenv("VOLSYNC_KIT_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_dir() == tmp_path / "explicit"


@pytest.mark.parametrize("cache", [False, True])
def test_only_a_run_that_uses_the_cache_loads_sqlite(example: Path, tmp_path: Path, cache: bool) -> None:
    code = (
        "import sys; from pathlib import Path; from volsync_kit.app import run_lint; "
        "run_lint(Path(sys.argv[1]), cache=sys.argv[2] == 'True'); print('sqlite3' in sys.modules)"
    )
    env = dict(os.environ, VOLSYNC_KIT_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-c", code, str(example), str(cache)], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == str(cache)


def test_a_key_is_of_the_value_not_of_which_parts_are_one_object(tmp_path: Path) -> None:
    """A Kustomization read from a fresh parse and one read from the store are
    equal, but share their parts differently (see cache._Shared): their
    materials must be the same key, or every warm run builds again."""

    def loc() -> Loc:  # a new object each time, down to its file name
        return Loc("/".join(["kubernetes", "apps", "a", "ks.yaml"]), 3, 5)

    def scalar() -> Scalar:
        return Scalar("".join(["x", "y"]), loc())

    at, one = loc(), scalar()
    shared = Map({"a": one, "b": one, "c": Seq((one, one), at)}, at)
    copies = Map({"a": scalar(), "b": scalar(), "c": Seq((scalar(), scalar()), loc())}, loc())
    cache = DiskCache(tmp_path / "cache", tmp_path)
    assert shared == copies
    assert cache.key(shared) == cache.key(copies)
    assert cache.key(shared) != cache.key(Map({"a": one, "b": one, "c": Seq((one,), at)}, at))


def _count_fast_dumps(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What the cache pickles to digest a key's material, from now on."""
    pickled: list[object] = []
    real = cache_module._fast_dumps

    def counting(value: object) -> bytes:
        pickled.append(value)
        return real(value)

    monkeypatch.setattr(cache_module, "_fast_dumps", counting)
    return pickled


def test_a_node_in_a_material_is_digested_once_and_keys_by_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """plan keys each Kustomization's build by what it is made of, once per
    revision; a node both revisions hold is pickled once, and the key is still
    that of its value."""

    def ks(path: str) -> Map:
        at = Loc("kubernetes/apps/default/app/ks.yaml", 1, 1)
        return Map({"kind": Scalar("Kustomization", at), "spec": Map({"path": Scalar(path, at)}, at)}, at)

    pickled = _count_fast_dumps(monkeypatch)
    cache = DiskCache(tmp_path / "cache", tmp_path)
    node = ks("./app")
    key = cache.key((node, "kubernetes", {"APP": "app"}))
    assert cache.key((node, "kubernetes", {"APP": "app"})) == key
    assert sum(part is node for part in pickled) == 1
    assert cache.key((ks("./app"), "kubernetes", {"APP": "app"})) == key  # an equal node, another object
    assert DiskCache(tmp_path / "cache", tmp_path).key((node, "kubernetes", {"APP": "app"})) == key  # another run
    assert cache.key((ks("./other"), "kubernetes", {"APP": "app"})) != key
    assert cache.key((node, "kubernetes", {"APP": "other"})) != key


def test_a_walk_reading_builds_back_keys_their_children_by_the_digests_kept_with_them(
    generated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build's child Kustomizations are stored with the digests of their
    nodes (cache._KeptKs): a walk reading it back keys each child's build
    without pickling the node again, and finds every build it keyed."""
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    first = walk(FileRepo(repo), None, DiskCache(tmp_path / "cache", repo))
    real = cache_module._fast_dumps
    pickled = _count_fast_dumps(monkeypatch)
    warm = DiskCache(tmp_path / "cache", repo)
    again = walk(FileRepo(repo), None, warm)
    assert warm.writes == 0  # every build found under the key its node gives
    roots = [id(result.ks.node) for result in again.results if result.parent is None]
    assert [id(value) for value in pickled if isinstance(value, Map)] == roots  # the entry points' own, no child's
    assert len(again.results) - len(roots) > 10
    children = [result.ks.node for result in again.results if result.parent is not None]
    assert all(warm._node_digest(node) == cache_module._digest(real(node)) for node in children)  # its own digest
    assert again == first


def test_entries_one_run_reads_share_their_equal_locations_and_scalars(generated: Path, tmp_path: Path) -> None:
    """Two apps' builds, each pickled on its own, come back holding one copy of
    what they have in common, and as equal as they were."""
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    first = walk(FileRepo(repo), None, DiskCache(tmp_path / "cache", repo))
    warm = DiskCache(tmp_path / "cache", repo)
    again = walk(FileRepo(repo), None, warm)
    assert warm.writes == 0
    assert render.render(again) == render.render(first)
    component = "kubernetes/flux/components/volsync/repository/pv.yaml"
    pvs = [
        res.node
        for result in again.results
        for res in result.resources
        if res.kind == "PersistentVolume" and res.origin and res.origin.file == component
    ]
    assert len(pvs) > 5
    kinds = [pv.items["kind"] for pv in pvs]
    assert all(kind is kinds[0] for kind in kinds)  # one Scalar, with one Loc
    assert len({id(pv.loc) for pv in pvs}) == 1
    assert len({id(pv) for pv in pvs}) == len(pvs)  # the PVs themselves differ by app


def test_values_the_reader_shares_keep_their_type_and_sign(tmp_path: Path) -> None:
    """1, 1.0 and True are equal in Python, and so are 0.0 and -0.0: read back
    through the store's sharing reader, each is still what was written."""
    at = Loc("a.yaml", 1, 1)
    written = [Scalar(v, at) for v in (1, 1.0, True, 0, 0.0, -0.0, False, None, "1")]
    # Without a float between them (which the reader tells apart on its own path).
    written += [Scalar(v, Loc("b.yaml", 1, 1)) for v in (1, True)]
    written += [Scalar(v, Loc("c.yaml", 1, 1)) for v in (False, 0)]
    cache = DiskCache(tmp_path / "cache", tmp_path)
    cache.put("k", "i", written)
    back = cache.get("k", "i")
    assert repr(back) == repr(written)
    assert [type(s.value) for s in back] == [type(s.value) for s in written]  # type: ignore[attr-defined, union-attr]
    # Read again, in an entry of its own, each is the scalar read first
    # (cache._Shared.scalar_at): one table of values at the location.
    cache.put("k2", "i", list(reversed(written)))
    again = cache.get("k2", "i")
    assert isinstance(again, list)
    assert isinstance(back, list)
    assert all(a is b for a, b in zip(reversed(again), back, strict=True))


def test_the_benchmark_waits_out_the_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """benchmarks/run.py waits this long after generating a repository, so that
    its warm-up records stamps the cache trusts (see test_a_file_changed_within_its_timestamp_tick_is_read_again)."""
    import importlib.util

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location("bench_run", folder / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_run", module)  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    assert RACY_NS / 1e9 < module.RACY_SECONDS < RACY_NS / 1e9 + 1


def test_the_index_holds_one_set_for_each_list_of_words(generated: Path, tmp_path: Path) -> None:
    """Files of one kind ask about and hold the same words: read back, the
    index shares one set for each list (and each file still has its own)."""
    repo = tmp_path / "repo"
    shutil.copytree(generated, repo)
    walk(FileRepo(repo), None, DiskCache(tmp_path / "cache", repo))
    time.sleep(RACY_NS / 1e9 + 0.1)  # settled: the next run indexes every file
    walk(FileRepo(repo), None, DiskCache(tmp_path / "cache", repo))
    files = DiskCache(tmp_path / "cache", repo)._store._load_files()
    facts = [f for _, f in files.values()]
    assert len(facts) > 60
    sets = {id(s) for f in facts for s in (f.asked, f.found)}
    assert len(sets) == len({s for f in facts for s in (f.asked, f.found)})  # one object per distinct set
    assert any(f.found for f in facts)
    assert any(f.asked != f.found for f in facts)


def test_the_inputs_of_every_entry_are_read_from_an_index_without_the_values(example: Path, tmp_path: Path) -> None:
    """A warm run reads the inputs of every entry at once (_Store._load_inputs):
    from an index that holds keys and inputs alone, not by reading a page of
    each entry, and the index answers what the table does."""
    from volsync_kit.adapters.cache import INPUTS_QUERY

    done = run(["lint", "--repo", str(example)], tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    [store] = stores(tmp_path / "cache")
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        plan = " ".join(str(row[-1]) for row in db.execute(f"EXPLAIN QUERY PLAN {INPUTS_QUERY}"))
        assert "COVERING INDEX entries_inputs" in plan
        from_index = sorted(db.execute(INPUTS_QUERY).fetchall())
    assert from_index == sorted((key, inputs) for key, inputs, _, _ in rows(tmp_path / "cache"))
    assert len(from_index) > 10


def test_a_new_store_has_pages_of_the_size_chosen(example: Path, tmp_path: Path) -> None:
    """Builds are read one by one, each about 22 KB at 2,000 apps: pages of
    PAGE_SIZE keep each in a few reads (see _Store._open)."""
    from volsync_kit.adapters.cache import PAGE_SIZE

    done = run(["lint", "--repo", str(example)], tmp_path / "cache")
    assert done.returncode == 0, done.stderr
    [store] = stores(tmp_path / "cache")
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert PAGE_SIZE == 16384


class _FailsToKeep:
    def __reduce__(self) -> tuple[object, ...]:
        raise ValueError("a keeping that fails")


@pytest.mark.parametrize("detach", [False, True])
def test_a_value_that_fails_as_it_is_pickled_is_a_miss_not_an_error(tmp_path: Path, detach: bool) -> None:
    store = DiskCache(tmp_path / "cache", tmp_path, detach=detach)
    store.put("bad", "in", _FailsToKeep())
    store.put("good", "in", "value")
    store.flush()
    store.close()
    cache_module.wait_for_writers(tmp_path / "cache")
    again = DiskCache(tmp_path / "cache", tmp_path)
    assert (again.get("bad", "in"), again.get("good", "in")) == (None, "value")


def test_the_classes_pickled_by_their_fields_read_back_equal_without_dataclasses_state() -> None:
    """model.pickled_by_fields: each such value reads back equal, field by
    field, through its constructor (a name a Target refuses is refused
    again), never through the __setstate__ dataclasses would give it."""
    import pickletools

    from volsync_kit.core.diff import FieldChange
    from volsync_kit.core.model import KsRef
    from volsync_kit.core.names import UnsafeName
    from volsync_kit.core.planner import Danger
    from volsync_kit.core.procedure import Action, Check, Target

    target = Target("pvc", "volsync-a-repo", "media")
    values = [
        target,
        Check("{.spec.volumeName}", "volsync-a-repo-pv", target),
        Action("delete", target, value="x"),
        FieldChange("spec.csi.volumeAttributes.rootPath", "/a", {"b": [1]}, True, "immutable"),
        Danger("shared-root-path", "Apps a, b end up on one rootPath /x.", "a"),
        KsRef("a", "media", "kubernetes/apps/media/a/ks.yaml", "main"),
    ]
    for value in values:
        data = pickle.dumps(value, protocol=5)
        assert "BUILD" not in {op.name for op, _, _ in pickletools.genops(data)}  # no state set after the call
        back = pickle.loads(data)
        assert back == value
        assert dataclasses.astuple(back) == dataclasses.astuple(value)
    bad = pickle.dumps(target, protocol=5).replace(b"volsync-a-repo", b"volsync-a-rep;")
    with pytest.raises(UnsafeName):
        pickle.loads(bad)
