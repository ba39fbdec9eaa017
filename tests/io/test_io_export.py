"""Exports: every format written, then re-read with GDAL (geopandas.read_file / pyogrio),
giving back the same features; provenance where a user sees it; CSV formula neutralisation."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from layers.errors import ParameterError
from layers.io import (
    EXPORT_FORMATS,
    SHP_FIELD_NAMES,
    get_export_format,
    read_layer,
    write_layer,
    write_layers,
)
from layers.registry import get_spec
from layers.settings import Settings

DATA = Path(__file__).parent.parent / "data"
PROV = {"batches": ["b-2024-01"], "filters": {"categories": ["theft"]}, "simulated": True}


@pytest.fixture(scope="module")
def incidents():
    """A small incident layer with every column type, awkward text and a negative longitude."""
    g = gpd.GeoDataFrame(
        {
            "category": ["theft", "burglary", "drugs", "nuisance"],
            "source_label": ["Vol", "Cambriolage", "Stups", "Tapage"],
            "occurred_from": pd.to_datetime(["2024-01-05T10:00:00Z", "2024-02-01T23:00:00Z",
                                             "2024-03-10T21:00:00Z", "2024-06-30T22:15:00Z"]).astype("datetime64[ns, UTC]"),
            "occurred_to": pd.to_datetime([None, "2024-02-02T23:00:00Z", "2024-03-11T06:30:00Z", None]).astype("datetime64[ns, UTC]"),
            "description": ["rue de l'Été — « vol »", "porte fracturée", "accents: àéîõü ß", "tapage nocturne"],
            "source": ["PM", "PN", None, "PM"],
            "address": ["1 rue A", None, "3 place C", "4 bd D"],
            "external_id": ["E1", "E2", "E3", "E4"],
            "simulated": [True, False, True, False],
            "geocode_precision": ["house", None, "street", None],
            "geocode_score": [100.0, np.nan, 92.5, np.nan],
        },
        geometry=gpd.points_from_xy([3.876543210123, -1.5, 3.9, 3.88], [43.611111111111, 51.5, 43.6, 43.62]),
        crs=4326,
    )
    return g


@pytest.fixture(scope="module")
def zac():
    r = read_layer(DATA / "montpellier" / "VilleMTP_MTP_ZAC.zip", "zac", settings=Settings())
    return r.data.drop(columns="source_row")


def _multi(geoms):
    out = []
    for g in geoms:
        g = shapely.force_2d(g)
        out.append(shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g)
    return np.array(out, dtype=object)


def _same_geoms(a, b, tol=1e-9):
    a, b = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
    if any(g.geom_type in ("Polygon", "MultiPolygon") for g in a):
        a, b = _multi(a), _multi(b)
    else:
        a, b = shapely.force_2d(a), shapely.force_2d(b)
    ok = shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=tol)
    assert ok.all(), f"{(~ok).sum()} geometries differ"


def _reread(path, fmt, layer=None, polygons=False):
    kw = {"layer": layer} if layer else {}
    if fmt == "csv":
        kw.update(GEOM_POSSIBLE_NAMES="wkt", KEEP_GEOM_COLUMNS="NO") if polygons else kw.update(
            X_POSSIBLE_NAMES="x", Y_POSSIBLE_NAMES="y")
        kw.update(AUTODETECT_TYPE="YES")
        g = gpd.read_file(path, **kw)
        return g.drop(columns=[c for c in ("x", "y") if c in g.columns]).set_crs(4326, allow_override=True)
    g = gpd.read_file(path, **kw)
    if fmt == "shp":
        g = g.rename(columns={v: k for k, v in SHP_FIELD_NAMES.items()})
        # other long names are cut to 10 characters (geocode_precision -> geocode_pr)
        g = g.rename(columns={c[:10]: c for c in get_spec("incidents").column_names if len(c) > 10})
    if fmt == "kml":
        g = g.rename(columns={"Name": "name"})
    return g


def _norm(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).tz_convert("UTC") if pd.Timestamp(v).tzinfo else pd.Timestamp(v).tz_localize("UTC")
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v)) if v not in (0, 1) else bool(v)
    if isinstance(v, str):
        if v == "":
            return None
        try:
            if len(v) >= 20 and v[4] == "-" and v.endswith("Z"):
                return pd.Timestamp(v)
        except ValueError:
            pass
        return v
    return v


def _same_attrs(ours: gpd.GeoDataFrame, back: gpd.GeoDataFrame, columns):
    for c in columns:
        assert c in back.columns, (c, list(back.columns))
        a = [_norm(v) for v in ours[c]]
        b = [_norm(v) for v in back[c]]
        assert a == b, c


@pytest.mark.parametrize("fmt", list(EXPORT_FORMATS))
def test_points_round_trip_through_gdal(tmp_path, incidents, fmt):
    path = write_layer(incidents, tmp_path / f"inc{EXPORT_FORMATS[fmt].extension}", fmt,
                       name="incidents", provenance=PROV)
    assert path.suffix == EXPORT_FORMATS[fmt].extension
    back = _reread(path, fmt, layer="incidents" if fmt in ("gpkg", "kml") else None)
    assert len(back) == len(incidents)
    _same_geoms(back.geometry, incidents.geometry)
    cols = [c for c in get_spec("incidents").column_names]
    if fmt == "kml":
        cols.remove("description")  # KML keeps it as the placemark's description (checked below)
        assert back["description"].tolist() == incidents["description"].tolist()
    _same_attrs(incidents, back, cols)


@pytest.mark.parametrize("fmt", list(EXPORT_FORMATS))
def test_polygons_round_trip_through_gdal(tmp_path, zac, fmt):
    path = write_layer(zac, tmp_path / f"zac{EXPORT_FORMATS[fmt].extension}", fmt, name="zac", provenance=PROV)
    back = _reread(path, fmt, layer="zac" if fmt in ("gpkg", "kml") else None, polygons=True)
    assert len(back) == 35
    _same_geoms(back.geometry, zac.geometry)
    _same_attrs(zac, back, ["name", "manager", "created"])


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_exports_read_back_by_read_layer(tmp_path, incidents, fmt):
    path = write_layer(incidents, tmp_path / f"inc{EXPORT_FORMATS[fmt].extension}", fmt,
                       name="incidents", provenance=PROV)
    r = read_layer(path, "incidents", settings=Settings(), now=pd.Timestamp("2025-01-01T00:00Z"))
    assert r.ok and len(r.data) == 4
    got = r.data.drop(columns="source_row")
    _same_geoms(got.geometry, incidents.geometry)
    _same_attrs(incidents, got, get_spec("incidents").column_names)


def test_provenance_is_visible_in_every_format(tmp_path, incidents):
    gj = write_layer(incidents, tmp_path / "a.geojson", "geojson", name="incidents", provenance=PROV)
    doc = json.loads(gj.read_text())
    assert doc["provenance"]["batches"] == ["b-2024-01"] and doc["provenance"]["simulated"] is True
    assert doc["provenance"]["layers"] == {"incidents": 4} and doc["provenance"]["crs"] == "EPSG:4326"

    gp = write_layer(incidents, tmp_path / "a.gpkg", "gpkg", name="incidents", provenance=PROV)
    table = pyogrio.read_dataframe(gp, layer="provenance")
    kv = dict(zip(table["key"], table["value"]))
    assert json.loads(kv["batches"]) == ["b-2024-01"] and kv["format"] == "gpkg"
    assert "b-2024-01" in pyogrio.read_info(gp, layer="incidents")["layer_metadata"]["DESCRIPTION"]

    shp = write_layer(incidents, tmp_path / "a.zip", "shp", name="incidents", provenance=PROV)
    with zipfile.ZipFile(shp) as zf:
        names = set(zf.namelist())
        text = zf.read("provenance.txt").decode()
    assert {"incidents.shp", "incidents.shx", "incidents.dbf", "incidents.prj", "incidents.cpg",
            "provenance.txt"} <= names
    assert "b-2024-01" in text and '"occurred_from": "occ_from"' in text

    csv = write_layer(incidents, tmp_path / "a.csv", "csv", name="incidents", provenance=PROV)
    side = json.loads((tmp_path / "a.provenance.json").read_text())
    assert side["filters"] == {"categories": ["theft"]} and csv.read_text().startswith("x,y,")

    kml = write_layer(incidents, tmp_path / "a.kml", "kml", name="incidents", provenance=PROV)
    assert "b-2024-01" in kml.read_text()


def test_csv_formula_injection_neutralised(tmp_path, incidents):
    risky = ["=SUM(A1:A9)", "+33 6 12", "-2+3", "@cmd", "\tx", "\rx", "normal", "5-4"]
    g = gpd.GeoDataFrame({"name": risky, "kind": ["bar"] * 8, "late_alcohol": [False] * 8},
                         geometry=gpd.points_from_xy([-1.5] * 8, [43.6] * 8), crs=4326)
    p = write_layer(g, tmp_path / "shops.csv", "csv", name="shops", provenance=PROV)
    back = pd.read_csv(p, dtype=str, keep_default_na=False)
    assert back["name"].tolist() == ["'=SUM(A1:A9)", "'+33 6 12", "'-2+3", "'@cmd", "'\tx", "'\rx", "normal", "5-4"]
    assert back["x"].tolist() == ["-1.5"] * 8  # numbers are not text cells: left alone


def test_several_layers(tmp_path, incidents, zac):
    layers = {"incidents": incidents, "zac": zac}
    gp = write_layers(layers, tmp_path / "all.gpkg", "gpkg", provenance=PROV)
    assert {n for n, _ in pyogrio.list_layers(gp)} == {"incidents", "zac", "provenance"}
    _same_geoms(gpd.read_file(gp, layer="zac").geometry, zac.geometry)
    shp = write_layers(layers, tmp_path / "all.zip", "shp", provenance=PROV)
    for name, g in layers.items():
        back = gpd.read_file(f"zip://{shp}!{name}.shp")
        _same_geoms(back.geometry, g.geometry)
    kml = write_layers(layers, tmp_path / "all.kml", "kml", provenance=PROV)
    assert len(gpd.read_file(kml, layer="zac")) == 35
    for fmt in ("geojson", "csv"):
        with pytest.raises(ParameterError, match=rf"format {fmt} holds one layer, but 2 were given"):
            write_layers(layers, tmp_path / f"all.{fmt}", fmt, provenance=PROV)


def test_output_crs(tmp_path, incidents):
    p = write_layer(incidents, tmp_path / "l93.geojson", "geojson", name="incidents", crs=2154, provenance=PROV)
    back = gpd.read_file(p)
    assert back.crs.to_epsg() == 2154
    _same_geoms(back.geometry, incidents.to_crs(2154).geometry, tol=1e-6)
    with pytest.raises(ParameterError, match="KML is always WGS84"):
        write_layer(incidents, tmp_path / "a.kml", "kml", name="incidents", crs=2154, provenance=PROV)


def test_input_not_modified_and_bad_options(tmp_path, incidents):
    before = incidents.copy()
    write_layer(incidents, tmp_path / "a.csv", "csv", name="incidents", provenance=PROV)
    pd.testing.assert_frame_equal(pd.DataFrame(incidents), pd.DataFrame(before))
    with pytest.raises(ParameterError, match="unknown export format 'xlsx'"):
        get_export_format("xlsx")
    with pytest.raises(ParameterError, match="bad layer name"):
        write_layer(incidents, tmp_path / "a.gpkg", "gpkg", name="../x", provenance=PROV)


@pytest.mark.parametrize("fmt", list(EXPORT_FORMATS))
def test_empty_layer_and_long_or_clashing_column_names(tmp_path, fmt):
    ext = EXPORT_FORMATS[fmt].extension
    empty = gpd.GeoDataFrame({"name": pd.Series([], dtype="str")}, geometry=gpd.GeoSeries([], crs=4326))
    p = write_layer(empty, tmp_path / f"empty{ext}", fmt, name="schools", provenance=PROV)
    assert len(_reread(p, fmt, layer="schools" if fmt in ("gpkg", "kml") else None)) == 0
    grid = gpd.GeoDataFrame({"incidents_per_km2": [1.5], "incidents_total": [3], "x": [7]},
                            geometry=gpd.points_from_xy([3.8], [43.6]), crs=4326)
    p = write_layer(grid, tmp_path / f"grid{ext}", fmt, name="grid", provenance=PROV)
    if fmt == "csv":
        back = pd.read_csv(p)
        assert back.columns.tolist() == ["geom_x", "geom_y", "incidents_per_km2", "incidents_total", "x"]
        assert back["geom_x"].iloc[0] == 3.8 and back["x"].iloc[0] == 7
        return
    back = _reread(p, fmt, layer="grid" if fmt in ("gpkg", "kml") else None)
    if fmt == "shp":
        assert {"incidents_", "incident_1", "x"} <= set(back.columns)
        assert back["incidents_"].iloc[0] == 1.5 and back["incident_1"].iloc[0] == 3
    else:
        # (KML gives integers back as text)
        assert float(back["incidents_per_km2"].iloc[0]) == 1.5 and int(back["incidents_total"].iloc[0]) == 3


def test_shapefile_export_read_back_by_read_layer(tmp_path, incidents):
    p = write_layer(incidents, tmp_path / "inc.zip", "shp", name="incidents", provenance=PROV)
    r = read_layer(p, "incidents", settings=Settings(), now=pd.Timestamp("2025-01-01T00:00Z"))
    assert r.ok, r.problems
    got = r.data.drop(columns="source_row")
    _same_geoms(got.geometry, incidents.geometry)
    _same_attrs(incidents, got, get_spec("incidents").column_names)


def test_failed_export_leaves_the_old_file(tmp_path, incidents, monkeypatch):
    import dataclasses

    p = write_layer(incidents, tmp_path / "a.geojson", "geojson", name="incidents", provenance=PROV)
    before = p.read_bytes()

    def half_then_fail(layers, path, provenance):
        Path(path).write_text('{"type": "FeatureCollection", "features": [')
        raise OSError("disk full")

    fmt = EXPORT_FORMATS["geojson"]
    monkeypatch.setitem(EXPORT_FORMATS, "geojson", dataclasses.replace(fmt, writer=half_then_fail))
    with pytest.raises(OSError, match="disk full"):
        write_layer(incidents, p, "geojson", name="incidents", provenance=PROV)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["a.geojson"]
