"""The connection pool of the PostGIS store and of the app tables on PostgreSQL
(``layers.store.postgis.connection_pool``): bounded by ``pool_size``, shared by threads, a
connection the server closed replaced before use, a new pool in a forked process."""

from __future__ import annotations

import os
import threading
import time

import pytest

from geo_app.config import Home
from geo_app.db import AppDB
from layers.errors import ParameterError
from layers.filters import parse_filters
from layers.store import Batch, open_store
from layers.store.postgis import DEFAULT_POOL_SIZE, check_pool_size, close_pool, connection_pool

from tests.store.test_postgis import generated


def _batch(bid: str, n: int) -> Batch:
    return Batch(id=bid, kind="incidents", file_name=f"{bid}.csv", checksum="0" * 64, user="test",
                 created="2026-01-01T00:00:00Z", n_read=n, n_stored=n, n_rejected=0)


@pytest.fixture
def pooled(postgis):
    """A store of 500 generated incidents whose pool holds at most 3 connections."""
    url = postgis.fresh_url()
    store = open_store(url, pool_size=3)
    frame = generated(500, 11)
    store.import_batch("incidents", frame, _batch("base", 500))
    yield store, frame
    postgis.drop(url)


def _backend_pid(store) -> int:
    with store.connection() as conn:
        return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_threads_read_in_parallel_on_at_most_pool_size_connections(pooled):
    store, frame = pooled
    theft = parse_filters(categories="theft", tz="UTC")
    expected = int((frame["category"] == "theft").sum())
    assert expected > 0
    counts, pids, errors = [], set(), []

    def work():
        try:
            with store.connection() as conn:
                pids.add(conn.execute("SELECT pg_backend_pid(), pg_sleep(0.3)").fetchone()[0])
            counts.append(store.count("incidents", theft, tz="UTC"))
            counts.append(len(store.read("incidents", theft, tz="UTC")))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    elapsed = time.perf_counter() - t
    assert not errors, errors
    assert counts == [expected] * 12
    # six sleeps of 0.3 s on three connections: two rounds, not six, and never a fourth backend
    assert len(pids) == 3
    assert elapsed < 6 * 0.3


def test_a_connection_killed_by_the_server_is_replaced_and_the_read_succeeds(pooled, postgis):
    store, frame = pooled
    close_pool(store.url)
    store = open_store(store.url, pool_size=1)  # one connection: the next read must reuse it
    first = _backend_pid(store)
    assert postgis.execute("SELECT pg_terminate_backend(%s)", (first,)) == [(True,)]
    time.sleep(0.2)
    assert store.count("incidents") == 500
    assert len(store.read("incidents", columns=["category"])) == 500
    assert _backend_pid(store) != first
    store.close()


def test_the_app_tables_share_the_pool_and_survive_a_killed_connection(pooled, postgis):
    store, _ = pooled
    db = AppDB(store.url, pool_size=3)
    db.add_user("alice", "analyst", "hash")
    with connection_pool(store.url).connection() as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'vigie' AND pid <> pg_backend_pid()")]
    for pid in pids:  # every other connection of the pool
        postgis.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    assert [u.name for u in db.users()] == ["alice"]
    assert connection_pool(store.url) is connection_pool(store.url)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork only")
def test_a_forked_process_opens_its_own_pool_and_leaves_the_parents_alone(pooled):
    store, _ = pooled
    close_pool(store.url)
    store = open_store(store.url, pool_size=1)  # one connection: the parent's is always the same
    parent_pid = _backend_pid(store)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            line = f"{store.count('incidents')} {_backend_pid(store)}"
        except BaseException as e:  # noqa: BLE001
            line = f"error {e!r}"
        os.write(w, line.encode())
        os._exit(0)
    os.close(w)
    _, status = os.waitpid(child, 0)
    got = os.read(r, 1000).decode().split()
    os.close(r)
    assert status == 0 and got[0] == "500", got
    assert int(got[1]) != parent_pid
    # the child's exit closed nothing of the parent's
    assert _backend_pid(store) == parent_pid and store.count("incidents") == 500


@pytest.mark.parametrize("value", ["0", "-2", "many", "101", "2.5"])
def test_a_bad_pool_size_is_refused_naming_the_setting(value, tmp_path, monkeypatch):
    with pytest.raises(ParameterError, match="pool_size") as e:
        check_pool_size(value)
    assert e.value.param == "pool_size"
    monkeypatch.setenv("GEO_APP_POOL_SIZE", value)
    with pytest.raises(ParameterError, match="pool_size"):
        Home(tmp_path).pool_size


def test_the_pool_size_comes_from_the_config_or_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("GEO_APP_POOL_SIZE", raising=False)
    assert Home(tmp_path).pool_size == DEFAULT_POOL_SIZE
    (tmp_path / "config.toml").write_text("[vigie]\npool_size = 7\n")
    assert Home(tmp_path).pool_size == 7
    monkeypatch.setenv("GEO_APP_POOL_SIZE", "2")
    assert Home(tmp_path).pool_size == 2


def test_a_busy_pool_answers_a_store_error_naming_pool_size(pooled, monkeypatch):
    from layers.errors import StoreError
    from layers.store import postgis

    store, _ = pooled
    close_pool(store.url)
    monkeypatch.setattr(postgis, "_POOL_TIMEOUT", 0.5)
    store = open_store(store.url, pool_size=1)
    with store.connection():  # the only connection, held
        with pytest.raises(StoreError, match="all 1 connections of this process are busy.*pool_size"):
            store.count("incidents")
    assert store.count("incidents") == 500  # free again
    close_pool(store.url)


def test_a_web_request_succeeds_after_the_server_killed_every_connection(home, postgis, tmp_path, monkeypatch,
                                                                          login):
    """The web app on a PostGIS deployment: the store's and the app tables' pooled connections
    are all terminated server-side between two requests; the second request (session check,
    store version, points) still answers 200 with the same points."""
    from bench.gen import write_incident_csv
    from geo_app import create_app
    from geo_app.accounts import add_user
    from geo_app.cli import main

    url = postgis.fresh_url()
    monkeypatch.setenv("GEO_APP_STORE_URL", url)
    csv = write_incident_csv(tmp_path / "in.csv", 300, seed=3)
    assert main(["import", "incidents", str(csv)]) == 0
    add_user(home, "coord", role="coordinator", password="pool-test-password-1")
    app = create_app({"TESTING": True, "HOME": str(home.path), "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    client = login(app, "coord", "pool-test-password-1")
    first = client.get("/api/layers/incidents?limit=1000")
    assert first.status_code == 200
    killed = postgis.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
        "AND application_name = 'vigie' AND pid <> pg_backend_pid()")
    assert killed and all(ok for (ok,) in killed)
    time.sleep(0.2)
    again = client.get("/api/layers/incidents?limit=1000")
    assert again.status_code == 200
    assert again.get_json()["features"] == first.get_json()["features"]
    assert len(first.get_json()["features"]) > 0
    postgis.drop(url)


def test_geo_app_config_shows_the_pool_size_and_refuses_a_bad_one(home, monkeypatch, capsys):
    from geo_app.cli import main

    monkeypatch.setenv("GEO_APP_POOL_SIZE", "7")
    assert main(["config"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("pool_size"))
    assert line.split()[1] == "7" and "env GEO_APP_POOL_SIZE" in line
    monkeypatch.setenv("GEO_APP_POOL_SIZE", "lots")
    assert main(["config"]) == 2
    assert "pool_size must be a whole number" in capsys.readouterr().err
