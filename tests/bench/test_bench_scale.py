"""``python -m bench scale``: its options, its per-process memory readings, the throw-away
PostgreSQL cluster kept between runs, and a small real run on each store (generation, import,
a server process, ``geo-app serve --workers 2``) whose printed figures are checked against
the kernel's own accounting and the input."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench import pgcluster
from bench.bench_scale import _parse, children, smaps_mb

ROOT = Path(__file__).resolve().parents[2]


def _status_kb(field: str) -> int:
    line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith(field + ":"))
    return int(line.split()[1])


def test_smaps_mb_agrees_with_the_kernels_status():
    """RSS from smaps_rollup equals VmRSS (both the kernel's counts, read a moment apart); PSS
    and private memory are parts of it; anonymous memory is RssAnon."""
    m = smaps_mb(os.getpid())
    assert m["Rss"] == pytest.approx(_status_kb("VmRSS") / 1024, rel=0.05)
    assert m["Anonymous"] == pytest.approx(_status_kb("RssAnon") / 1024, rel=0.05)
    assert 0 < m["Private"] <= m["Pss"] <= m["Rss"]


def test_children_lists_the_processes_forked_by_a_process():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert proc.pid in children(os.getpid())
        assert children(proc.pid) == []
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("argv, named", [
    (["--store", "sqlite"], "--store"),
    (["--n", "0"], "--n"),
    (["--n", "many"], "--n"),
    (["--stages", "serve,import"], "--stages"),
    (["--workers", "3"], "--workers"),
])
def test_bad_options_are_refused_naming_the_option(argv, named, capsys):
    with pytest.raises(SystemExit) as exc:
        _parse(["scale", *argv])
    assert exc.value.code == 2
    assert named in capsys.readouterr().err


def test_options_after_the_names_go_to_the_benchmark_only():
    """``python -m bench scale --store postgis`` runs bench_scale alone (not also bench_postgis)."""
    out = subprocess.run([sys.executable, "-m", "bench", "scale", "--store", "postgis", "--n", "0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert "=== bench_scale ===" in out.stdout
    assert "bench_postgis" not in out.stdout
    assert "--n must be at least 1, got 0" in out.stderr


def _cluster_or_skip():
    reason = pgcluster.missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: required under CI=true")
        pytest.skip(f"{reason}: test skipped")


@pytest.fixture
def open_folder():
    """A folder the ``postgres`` user can traverse (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="vigie-test-scale-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_kept_cluster_is_stopped_and_starts_again_with_its_data(open_folder):
    import psycopg

    _cluster_or_skip()
    root = open_folder / "pg"
    cluster = pgcluster.start_cluster(root=root, settings={"maintenance_work_mem": "96MB"})
    try:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            assert conn.execute("SHOW maintenance_work_mem").fetchone()[0] == "96MB"
            conn.execute("CREATE TABLE kept AS SELECT 42 AS answer")
        cluster.stop(remove=False)
        assert cluster.postmaster_pid() is None and (root / "data" / "PG_VERSION").exists()
        cluster = pgcluster.start_cluster(root=root)
        with psycopg.connect(cluster.url) as conn:
            assert conn.execute("SELECT answer FROM kept").fetchone()[0] == 42
    finally:
        cluster.stop()
    assert not root.exists()


def _run(folder: Path, *args: str) -> str:
    env = {**os.environ, "VIGIE_BENCH_SCALE_DIR": str(folder)}
    out = subprocess.run([sys.executable, "-m", "bench", "scale", "--n", "3000", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def _number(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return float(m.group(1).replace(",", ""))


@pytest.mark.slow
@pytest.mark.parametrize("store", ["gpkg", "postgis"])
def test_a_small_run_measures_every_stage_and_leaves_no_server_behind(store, open_folder):
    if store == "postgis":
        _cluster_or_skip()
    out = _run(open_folder, "--store", store)
    assert _number(r"import: .*?([\d,]+) stored", out) == 3000
    if store == "postgis":
        table = _number(r"incidents table ([\d,.]+) MB", out)
        assert 0 < table < _number(r"database ([\d,.]+) MB", out)
    rows = re.findall(r"^(main|worker) (\d+) +([\d,]+) +([\d,]+) +([\d,]+) +([\d,]+)$", out, re.M)
    assert [r[0] for r in rows] == ["main", "worker", "worker"], out
    pss = [float(r[3].replace(",", "")) for r in rows]
    for _, _, rss, pss_, private, _ in rows:  # PSS between the private pages and the RSS
        assert float(private.replace(",", "")) <= float(pss_.replace(",", "")) <= float(rss.replace(",", ""))
    total = _number(r"PSS over the 3 processes: ([\d,]+) MB", out)
    assert total == pytest.approx(sum(pss), abs=2)
    assert _number(r"MB = (\d+) bytes per incident", out) == pytest.approx(total * 2**20 / 3000, rel=0.01)
    cpu = re.search(r"worker CPU during the rounds ([\d.]+) / ([\d.]+) s", out)
    assert cpu, out
    assert ("PostgreSQL server:" in out) == (store == "postgis")
    for _, pid, *_ in rows:  # the server is stopped: main process and workers
        assert not Path(f"/proc/{pid}").exists()
    only_import = _run(open_folder, "--store", store, "--stages=")  # imported already: nothing to do
    assert "import:" not in only_import and "server" not in only_import and "PSS" not in only_import
    if store == "postgis":  # stopped but kept; the next run reuses its data without importing
        root = open_folder / "pg-3000"
        assert (root / "data" / "PG_VERSION").exists() and not (root / "data" / "postmaster.pid").exists()
        again = _run(open_folder, "--store", store, "--stages", "serve")
        assert "import:" not in again and "new server process" in again
        assert not (root / "data" / "postmaster.pid").exists()


def _phase_reached(when: str, pid: int, folder: Path) -> bool:
    """Whether the run ``pid`` using ``folder`` is at ``when`` (from the process table)."""
    if when == "importing":
        out = subprocess.run(["ps", "-ww", "--ppid", str(pid), "-o", "args="], capture_output=True, text=True).stdout
        return "--child import" in out
    out = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    return f"{'initdb' if when == 'initdb' else 'bin/postgres'} -D {folder}" in out


@pytest.mark.slow
@pytest.mark.parametrize("when", ["initdb", "server started", "importing"])
def test_a_killed_run_stops_and_removes_its_cluster(when, open_folder):
    """``kill`` (SIGTERM) while the cluster is created, once its server runs, or during the
    import: every PostgreSQL process of the run ends, its folder and the work folder go."""
    import time

    _cluster_or_skip()
    env = {**os.environ, "TMPDIR": str(open_folder)}
    env.pop("VIGIE_BENCH_SCALE_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "bench", "scale", "--n", "3000", "--store", "postgis"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _phase_reached(when, proc.pid, open_folder):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[0]
            time.sleep(0.02)
        clusters = list(open_folder.glob("vigie-pg-*"))
        proc.terminate()
        out = proc.communicate(timeout=60)[0]
    finally:
        proc.kill()
    assert proc.returncode == 143, out
    assert not any(c.exists() for c in clusters)
    assert list(open_folder.iterdir()) == []  # the work folder too
    ps = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(open_folder) not in ps
