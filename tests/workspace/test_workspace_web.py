"""The web's data path on a writable copy of the demo city: one workspace, one viewer.

What a coordinator relies on: the report follows imports and rollbacks; no request fails while
an import lands; a hotspot link opens from any filtered list; the web, the CLI and the report
give the same hotspot areas (ids and counts) for the same filters.
"""

from __future__ import annotations

import re
import threading
import time

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point

from geo_app.cli import main
from geo_app.config import Home
from geo_app.imports import import_frame

pytestmark = pytest.mark.slow

PASSWORD = "demo-password"  # tests/conftest.py builds the demo with it


@pytest.fixture(scope="module")
def writable_home(demo_copy):
    return demo_copy


@pytest.fixture(scope="module")
def app(demo_app):
    return demo_app


@pytest.fixture
def client_as(app, login):
    """A test client logged in with ``role`` (default: the coordinator)."""
    return lambda role="coordinator": login(app, role, PASSWORD)


def _last_month(home_path) -> pd.Period:
    from layers.report import local_months

    inc = Home(home_path).store.read("incidents", columns=["category", "occurred_from"])
    return local_months(inc, tz="Europe/Paris").max()


def _extra_incidents(month: pd.Period, n: int) -> gpd.GeoDataFrame:
    """``n`` thefts in the city centre in the middle of ``month``."""
    when = pd.Timestamp(month.start_time).tz_localize("Europe/Paris") + pd.Timedelta(days=14, hours=12)
    return gpd.GeoDataFrame(
        {"category": ["theft"] * n, "occurred_from": [when + pd.Timedelta(minutes=i) for i in range(n)]},
        geometry=[Point(3.8767 + 1e-5 * i, 43.6108) for i in range(n)], crs=4326)


def _total(body: dict) -> int:
    return int(re.sub(r"\D", "", body["figures"]["total"]["n"]))


def test_report_follows_an_import_and_its_rollback(app, writable_home, client_as):
    month = _last_month(writable_home)
    c = client_as()
    url = f"/reports?month={month}&format=json&lang=en"
    before = _total(c.get(url).json)
    home = Home(writable_home)
    outcome = import_frame(home, "incidents", _extra_incidents(month, 40), file_name="late-reports.csv",
                           user="test")
    after = _total(c.get(url).json)
    assert after == before + 40
    home.store.rollback(outcome.batch.id)
    assert _total(c.get(url).json) == before


def test_no_server_error_while_imports_and_rollbacks_land(app, writable_home, client_as):
    """A writer imports and rolls back, a write every two seconds, while the pages and the API
    are read: every answer is a success (a request whose store changed under it runs again on
    the new version)."""
    month = _last_month(writable_home)
    home = Home(writable_home)
    stop = threading.Event()
    errors: list[BaseException] = []
    writes = []

    def writer():
        try:
            for i in range(4):
                if stop.is_set():
                    break
                out = import_frame(home, "incidents", _extra_incidents(month, 30 + i), file_name=f"w{i}.csv",
                                   user="writer")
                writes.append(out.batch.id)
                time.sleep(2)
                home.store.rollback(out.batch.id)
                writes.append("rollback")
                time.sleep(2)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            errors.append(e)
        finally:
            stop.set()

    c = client_as()
    urls = ["/api/hotspots/areas", "/api/layers/incidents/grid?cells=20", "/api/hotspots?method=counts",
            "/api/layers/incidents?limit=5", "/", "/hotspots", f"/reports?month={month}&format=json"]
    statuses = []
    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 240
    while not stop.is_set() and time.monotonic() < deadline:
        for url in urls:
            r = c.get(url)
            statuses.append((url, r.status_code))
            assert r.status_code == 200, (url, r.status_code, r.data[:300])
    t.join(timeout=60)
    assert not errors, errors
    assert len(writes) == 8 and len(statuses) >= len(urls)


@pytest.mark.parametrize("query", ["category=theft", "category=property", "hours=18-23",
                                   "night=1", "from=2024-01-01&to=2024-12-31", "weekdays=5-6"])
def test_every_hotspot_link_of_a_filtered_list_opens(client_as, query):
    c = client_as()
    page = c.get(f"/hotspots?{query}")
    assert page.status_code == 200
    links = re.findall(r'class="hotspot-link" href="([^"]+)"', page.get_data(as_text=True))
    for link in links[:6]:
        link = link.replace("&amp;", "&")
        assert c.get(link).status_code == 200, link


def _web_areas(c, query="") -> dict[str, int]:
    body = c.get(f"/api/hotspots/areas?{query}").json
    return {f["properties"]["hotspot_id"]: f["properties"]["n"] for f in body["features"]}


def test_web_cli_and_report_give_the_same_hotspot_areas(writable_home, tmp_path, monkeypatch, capsys, client_as):
    monkeypatch.setenv("GEO_APP_HOME", str(writable_home))
    c = client_as("police")  # police: counts are never blanked, so they compare exactly
    web = _web_areas(c)
    assert web

    out = tmp_path / "areas.gpkg"
    assert main(["hotspots", "--areas", "--out", str(out)]) == 0, capsys.readouterr().err
    cli = pyogrio.read_dataframe(out, layer="hotspot_areas")
    assert dict(zip(cli["hotspot_id"], cli["n"].astype(int))) == web

    lit = tmp_path / "light.gpkg"
    assert main(["recommend", "lighting", "--places", "hotspots", "--out", str(lit)]) == 0, capsys.readouterr().err
    assert "hotspot areas: " + str(len(web)) in capsys.readouterr().out

    # the report's hotspots of a month are the web's hotspots for that month
    month = _last_month(writable_home)
    start, end = month.start_time.date(), (month.end_time.date())
    web_month = _web_areas(c, f"from={start}&to={end}")
    rep = c.get(f"/reports?month={month}&format=json&lang=en").json
    got = {h["hotspot_id"]: int(re.sub(r"\D", "", h["n"])) for h in rep["hotspots"]}
    assert got == web_month and got
    cli_month = tmp_path / "month.gpkg"
    assert main(["hotspots", "--areas", "--from", str(start), "--to", str(end), "--out", str(cli_month)]) == 0
    back = pyogrio.read_dataframe(cli_month, layer="hotspot_areas")
    assert dict(zip(back["hotspot_id"], back["n"].astype(int))) == web_month


def test_one_store_version_per_request(app, writable_home, monkeypatch):
    """Every read of a request comes from the version pinned at its start: when the store
    moves mid-request the request runs again, and the answer is from the new version only."""
    from geo_app.workspace import VersionChanged

    ws = app.extensions["vigie"].pinned()
    home = Home(writable_home)
    ws.clear()
    out = import_frame(home, "incidents", _extra_incidents(_last_month(writable_home), 3), file_name="v.csv",
                       user="test")
    try:
        with pytest.raises(VersionChanged):
            ws.frame("incidents")  # pinned before the import: the new file is refused, never mixed
        fresh = app.extensions["vigie"].pinned()
        assert fresh.version != ws.version and len(fresh.frame("incidents")) == len(ws.store.read("incidents"))
    finally:
        home.store.rollback(out.batch.id)
