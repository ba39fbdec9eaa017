"""All-or-nothing writes of the GeoPackage store: an exception, a SIGKILL in the middle of a
large import, and readers in another process while an import runs."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from layers.filters import Filters
from layers.store import Batch, open_store
from layers.store import gpkg as gpkg_module

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_batch(bid: str, n: int) -> Batch:
    return Batch(id=bid, kind="incidents", file_name=f"{bid}.csv", checksum="0" * 64, user="test",
                 created="2026-01-01T00:00:00Z", n_read=n, n_stored=n, n_rejected=0)


def small(n=1000, seed=1):
    sys.path.insert(0, str(ROOT))
    from bench.gen import clustered_incidents

    return clustered_incidents(n, seed=seed).to_crs(4326)


@pytest.fixture
def base_store(tmp_path):
    store = open_store(tmp_path / "store.gpkg")
    store.import_batch("incidents", small(), make_batch("base", 1000))
    return store


# the child imports 300,000 incidents (streamed in chunks of 100,000) and reports each chunk
CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from bench.gen import clustered_incidents
    from layers.store import Batch, open_store
    store = open_store({path!r})
    gdf = clustered_incidents(300_000, seed=7).to_crs(4326)
    batch = Batch(id="big", kind="incidents", file_name="big.csv", checksum="0" * 64, user="child",
                  created="2026-01-02T00:00:00Z", n_read=300_000, n_stored=300_000, n_rejected=0)
    print("ready", flush=True)
    def progress(done, total):
        print("written", done, total, flush=True)
        if {slow} and done < total:
            time.sleep(10)  # the parent kills us here, with a third of the rows written
    store.import_batch("incidents", gdf, batch, progress=progress)
    print("done", flush=True)
    """
)


def start_child(path, *, slow=False) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path), slow=slow)],
        stdout=subprocess.PIPE, text=True,
    )


@pytest.mark.parametrize("ratio", [0, 10**9], ids=["append", "rewrite"])
def test_an_exception_mid_write_leaves_the_store_byte_identical(base_store, monkeypatch, ratio):
    monkeypatch.setattr(gpkg_module, "_APPEND_RATIO", ratio)
    before, v = sha256(base_store.path), base_store.version
    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 800:  # chunks of 400 rows: the write is not finished
            raise KeyboardInterrupt("interrupted (simulated)")

    monkeypatch.setattr(gpkg_module, "_CHUNK", 400)
    with pytest.raises((KeyboardInterrupt, Exception)):
        base_store.import_batch("incidents", small(1000, seed=2), make_batch("half", 1000), progress=progress)
    assert seen == [400, 800]
    assert sha256(base_store.path) == before and base_store.version == v
    assert [b.id for b in base_store.batches()] == ["base"]
    assert not list(base_store.path.parent.glob(".store.gpkg.tmp-*"))


@pytest.mark.slow
def test_a_process_killed_mid_import_leaves_the_store_exactly_as_it_was(base_store):
    before_hash, before_version = sha256(base_store.path), base_store.version
    before_frame = base_store.read("incidents")
    child = start_child(base_store.path, slow=True)
    try:
        lines = []
        for line in child.stdout:
            lines.append(line.split()[0])
            if lines[-1] == "written":  # first chunk of three is in the temporary file
                child.send_signal(signal.SIGKILL)
                break
        child.wait(timeout=60)
    finally:
        child.kill()
    assert child.returncode == -signal.SIGKILL and "done" not in lines
    assert list(base_store.path.parent.glob(".store.gpkg.tmp-*")), "the kill should leave the temp file"
    assert sha256(base_store.path) == before_hash
    assert base_store.version == before_version
    assert [b.id for b in base_store.batches()] == ["base"]
    assert base_store.read("incidents").equals(before_frame)
    # the next writer is not blocked by the dead one's lock and removes its leftovers
    base_store.import_batch("incidents", small(10, seed=3), make_batch("after", 10))
    assert base_store.counts()["incidents"] == 1010
    assert not list(base_store.path.parent.glob(".store.gpkg.tmp-*"))


@pytest.mark.slow
def test_readers_keep_working_during_an_import(base_store):
    reader = open_store(base_store.path)
    bbox = Filters(bbox=(3.0, 43.0, 5.0, 44.0))
    child = start_child(base_store.path)
    seen, reads_during = [], 0
    try:
        assert child.stdout.readline().strip() == "ready"
        while child.poll() is None:
            v = reader.version
            n = reader.count("incidents")
            frame = reader.read("incidents", bbox, columns=["category"])
            batches = [b.id for b in reader.batches()]
            seen.append(n)
            # every read sees a whole state: old (1000 rows, one batch) or new (301000, two)
            assert n in (1000, 301_000) and len(frame) in (1000, 301_000)
            if reader.version == v:  # no replace between the three reads: they agree
                assert (n, len(frame), batches) in ((1000, 1000, ["base"]),
                                                    (301_000, 301_000, ["base", "big"]))
            if n == 1000:
                reads_during += 1
            time.sleep(0.05)
        assert child.wait(timeout=120) == 0
    finally:
        child.kill()
    assert reads_during >= 3, f"too few reads during the import: {seen}"
    assert reader.count("incidents") == 301_000


def test_the_store_is_a_plain_geopackage_gdal_reads(base_store):
    import pyogrio

    layers = dict(pyogrio.list_layers(base_store.path))
    assert layers["incidents"] == "Point"
    assert "vigie_batches" in layers  # registered as an attributes table (QGIS lists it)
    info = pyogrio.read_info(base_store.path, layer="incidents")
    assert info["crs"] == "EPSG:4326" and info["features"] == 1000
    assert info["capabilities"]["fast_spatial_filter"]  # the R-tree is there
    assert dict(zip(info["fields"], info["ogr_types"]))["occurred_from"] == "OFTDateTime"
    batches = pyogrio.read_dataframe(base_store.path, layer="vigie_batches")
    assert batches["id"].tolist() == ["base"]
