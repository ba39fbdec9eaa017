"""Exports from the web, re-read with GDAL (pyogrio) and checked against the store and the role."""

from __future__ import annotations

import json
import sqlite3
import zipfile

import pyogrio
import pytest
from access_city import medium_incidents
from test_access_web import PASSWORD, login, make_app

from layers.registry import default_taxonomy

SENSITIVE = default_taxonomy().sensitive


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from access_city import fill_medium_store

    from geo_app.accounts import create_demo_accounts
    from geo_app.config import Home, write_config

    path = tmp_path_factory.mktemp("access-exports") / "home"
    write_config(path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris", "k_anonymity": 5})
    home = Home(path)
    fill_medium_store(home)
    create_demo_accounts(home, PASSWORD)
    return make_app(home)


def _save(tmp_path, r):
    assert r.status_code == 200, r.data[:400]
    name = r.headers["Content-Disposition"].split("filename=")[1].strip('"')
    p = tmp_path / name
    p.write_bytes(r.data)
    return p


def _read(path, layer=None):
    """Re-read with GDAL: zips through /vsizip/, CSV with its x/y columns."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        target = next(n for n in names if n.endswith((".shp", ".csv", ".geojson")) and
                      (layer is None or n.startswith(layer + ".")))
        src = f"/vsizip/{path}/{target}"
    else:
        src = str(path)
    if src.endswith(".csv"):
        return pyogrio.read_dataframe(src, layer=None, X_POSSIBLE_NAMES="x", Y_POSSIBLE_NAMES="y")
    return pyogrio.read_dataframe(src, layer=layer)


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "shp", "csv", "kml"])
def test_coordinator_export_every_format(app, tmp_path, fmt):
    """Thefts (a filter) as points: exactly the store's thefts, no sensitive row, provenance."""
    c = login(app, "coordinator")
    r = c.get(f"/exports/download?layer=incidents&format={fmt}&category=theft")
    p = _save(tmp_path, r)
    gdf = _read(p, "incidents")
    expected = int((medium_incidents()["category"] == "theft").sum())
    assert len(gdf) == expected
    assert (gdf.geom_type == "Point").all()
    if "category" in gdf.columns:
        assert set(gdf["category"]) == {"theft"}
    # provenance travels with the file
    if fmt == "gpkg":
        prov = dict(pyogrio.read_dataframe(p, layer="provenance", read_geometry=False).values)
        assert json.loads(prov["filters"])["categories"] == ["theft"]
        assert prov["data"] == "simulated"
        assert "medium-incidents" in prov["batches"]
    elif fmt == "geojson":
        assert json.loads(p.read_text())["provenance"]["data"] == "simulated"
    else:
        blob = p.read_bytes() if fmt == "kml" else b"".join(
            zipfile.ZipFile(p).read(n) for n in zipfile.ZipFile(p).namelist() if "provenance" in n)
        assert b"simulated" in blob and b"medium-incidents" in blob


def test_police_export_holds_sensitive_points_coordinator_not(app, tmp_path):
    n_all = len(medium_incidents())
    n_sensitive = int(medium_incidents()["category"].isin(SENSITIVE).sum())
    police = _read(_save(tmp_path, login(app, "police").get("/exports/download?layer=incidents&format=gpkg")), "incidents")
    coord = _read(_save(tmp_path, login(app, "coordinator").get("/exports/download?layer=incidents&format=geojson")))
    assert len(police) == n_all and police["category"].isin(SENSITIVE).sum() == n_sensitive
    assert len(coord) == n_all - n_sensitive and not coord["category"].isin(SENSITIVE).any()


def test_gpkg_holds_several_layers_with_qgis_styles(app, tmp_path):
    r = login(app, "coordinator").get("/exports/download?layer=incidents,zac,hotspots,incidents_grid&format=gpkg")
    p = _save(tmp_path, r)
    names = {n for n, _ in pyogrio.list_layers(p)}
    assert {"incidents", "zac", "hotspots", "incidents_grid", "provenance"} <= names
    con = sqlite3.connect(p)
    styles = dict(con.execute("SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault = 1"))
    geomcols = {t for (t,) in con.execute("SELECT table_name FROM gpkg_geometry_columns")}
    con.close()
    assert set(styles) == geomcols == {"incidents", "zac", "hotspots", "incidents_grid"}
    assert "SimpleMarker" in styles["incidents"] and "SimpleFill" in styles["zac"]
    assert all(q.lstrip().startswith("<!DOCTYPE qgis") for q in styles.values())


@pytest.mark.parametrize("fmt", ["gpkg", "csv", "shp"])
def test_planner_export_has_no_point_and_no_cell_under_k(app, tmp_path, fmt):
    c = login(app, "planner")
    assert c.get(f"/exports/download?layer=incidents&format={fmt}").status_code == 403
    layers = "incidents_grid,hotspots,gistar" if fmt != "csv" else "incidents_grid"
    p = _save(tmp_path, c.get(f"/exports/download?layer={layers}&format={fmt}"))
    if fmt == "gpkg":
        present = [n for n, _ in pyogrio.list_layers(p) if n != "provenance"]
    else:
        present = layers.split(",")
    assert "incidents" not in present
    for name in present:
        gdf = _read(p, name)
        assert not (gdf.geom_type == "Point").any(), name
        assert not {"z", "p", "p_adj", "z_max"} & set(gdf.columns), name  # classes, not statistics
        if name == "gistar":
            assert "n" not in gdf.columns and "bin" in gdf.columns
            continue
        n = gdf["n"].dropna().astype(float)
        assert (n >= 5).all(), (name, n.min())
    grid = _read(p, "incidents_grid")
    # hand check: the grid keeps only cells with at least 5 non-sensitive incidents; their sum
    # equals a direct count of those incidents
    from layers.privacy import aggregate_to_grid

    inc = medium_incidents()
    ref = aggregate_to_grid(inc[~inc["category"].isin(SENSITIVE)], crs=2154, k=5)
    assert sorted(grid["n"].astype(int)) == sorted(ref["n"].astype(int))


def test_zac_manager_export_is_own_zac_aggregates(app, tmp_path):
    c = login(app, "zac_manager")
    assert c.get("/exports/download?layer=incidents&format=geojson").status_code == 403
    assert c.get("/exports/download?layer=incidents_grid&format=geojson&zac=Beta").status_code == 403
    grid = _read(_save(tmp_path, c.get("/exports/download?layer=incidents_grid&format=geojson")))
    assert len(grid) and (grid["n"] >= 5).all()
    from access_city import small_zacs

    alpha = small_zacs().to_crs(4326).set_index("name").geometry["Alpha"]
    assert grid.intersects(alpha).all()


def test_export_bad_input(app):
    c = login(app, "coordinator")
    for q, param in (("layer=incidents&format=dwg", "format"), ("format=gpkg", "layer"),
                     ("layer=nothing&format=gpkg", "layer"), ("layer=zac&format=gpkg&from=yesterday", "from")):
        r = c.get(f"/exports/download?{q}", headers={"Accept": "application/json"})
        assert r.status_code == 400 and r.json["param"] == param, (q, r.data)


def test_export_page_lists_role_layers(app):
    planner = login(app, "planner").get("/exports/").get_data(as_text=True)
    assert 'value="incidents_grid"' in planner and 'value="incidents"' not in planner
    coord = login(app, "coordinator").get("/exports/?category=theft").get_data(as_text=True)
    assert 'value="incidents"' in coord and 'name="category" value="theft"' in coord
