"""read_layer on the real samples of tests/data (Montpellier, Essex police.uk, SFPD, Paris CCTV).

Each test compares Vigie's reading with an independent one: GDAL through
``geopandas.read_file`` + ``to_crs``, Python's ``csv`` module, hand-written date arithmetic.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.errors import InputError
from layers.io import read_layer
from layers.registry import get_spec, load_label_mapping
from layers.settings import Settings

DATA = Path(__file__).parent.parent / "data"
MTP = DATA / "montpellier"
MTP_TERRITORY = (3.70, 43.50, 4.05, 43.75)
SETTINGS = Settings(territory=MTP_TERRITORY)

pytestmark = pytest.mark.slow


def _peer(path, crs=None) -> gpd.GeoDataFrame:
    src = f"zip://{path}" if str(path).endswith(".zip") else str(path)
    g = gpd.read_file(src)
    if crs is not None:
        g = g.set_crs(crs, allow_override=True)
    return g.to_crs(4326)


def _check_contract(result, kind):
    spec = get_spec(kind)
    data = result.data
    assert list(data.columns) == [*spec.column_names, "source_row", "geometry"]
    assert data.crs.to_epsg() == 4326
    assert data["source_row"].dtype == np.int64
    for col in spec.columns:
        if col.type == "datetime":
            assert str(data[col.name].dtype) == "datetime64[ns, UTC]", col.name
        elif col.type == "date":
            assert str(data[col.name].dtype) == "datetime64[ns]", col.name
        elif col.type == "float":
            assert data[col.name].dtype == np.float64
        elif col.type == "bool":
            assert data[col.name].dtype == bool


def _same_geometries(ours, peer, tol=1e-9):
    a = np.asarray(ours, dtype=object)
    b = np.asarray(peer, dtype=object)
    assert len(a) == len(b)
    ok = shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=tol)
    assert ok.all(), f"{(~ok).sum()} geometries differ, first at index {np.flatnonzero(~ok)[0]}"


# --------------------------------------------------------------------------------------------
# Montpellier


def test_zac_from_shapefile_zip_repairs_one_polygon():
    r = read_layer(MTP / "VilleMTP_MTP_ZAC.zip", "zac", settings=SETTINGS)
    _check_contract(r, "zac")
    peer = _peer(MTP / "VilleMTP_MTP_ZAC.zip")
    assert r.n_read == 35 and len(r.data) == 35 and r.ok
    assert r.source_crs == "EPSG:2154"
    assert r.column_mapping["name"] == "NOMZAC"
    assert r.data["name"].tolist() == peer["NOMZAC"].tolist()
    # the one self-intersecting ring is repaired and said so; the others are unchanged
    invalid = np.flatnonzero(~peer.geometry.is_valid.to_numpy())
    assert [p.row for p in r.warnings] == [int(i) + 1 for i in invalid]
    assert "repaired with make_valid" in r.warnings[0].message
    keep = np.ones(35, dtype=bool)
    keep[invalid] = False
    _same_geometries(r.data.geometry[keep], peer.geometry[keep])
    fixed = r.data.geometry.iloc[invalid[0]]
    assert fixed.is_valid
    assert fixed.area == pytest.approx(shapely.make_valid(peer.geometry.iloc[invalid[0]]).area, rel=1e-9)


def test_zac_geojson_without_crs_member_needs_crs_2154():
    path = MTP / "VilleMTP_MTP_ZAC.geojson"
    with pytest.raises(InputError, match=r"pass --crs 2154"):
        read_layer(path, "zac", settings=SETTINGS)
    r = read_layer(path, "zac", settings=SETTINGS, crs=2154)
    assert r.source_crs == "EPSG:2154" and len(r.data) == 35
    z = read_layer(MTP / "VilleMTP_MTP_ZAC.zip", "zac", settings=SETTINGS)
    _same_geometries(r.data.geometry, z.data.geometry, tol=1e-7)
    assert r.data["name"].tolist() == z.data["name"].tolist()


@pytest.mark.parametrize("fmt", ["zip", "geojson"])
def test_cameras_both_formats(fmt):
    path = MTP / f"VilleMTP_MTP_CameraSurv.{fmt}"
    if fmt == "geojson":
        with pytest.raises(InputError, match=r"Lambert-93\?\): pass --crs 2154"):
            read_layer(path, "cameras", settings=SETTINGS)
    r = read_layer(path, "cameras", settings=SETTINGS, crs=2154 if fmt == "geojson" else None)
    _check_contract(r, "cameras")
    peer = _peer(path, crs=2154 if fmt == "geojson" else None)
    assert len(r.data) == 141 and r.ok and not r.problems
    _same_geometries(r.data.geometry, peer.geometry)
    assert r.data["name"].tolist() == peer["Nom"].tolist()
    assert r.data["address"].tolist() == peer["Adresse"].tolist()
    # the installation year becomes the 1st of January of that year
    assert r.data["installed"].dt.year.tolist() == peer["Année"].tolist()
    assert (r.data["installed"].dt.day_of_year == 1).all()
    assert r.data.total_bounds == pytest.approx([3.8117, 43.5812, 3.9301, 43.6418], abs=1e-4)


def test_lights_29969_points_and_exact_duplicates_dropped():
    path = MTP / "VilleMTP_MTP_EclairagePublic.zip"
    r = read_layer(path, "lights", settings=SETTINGS)
    _check_contract(r, "lights")
    peer = _peer(path)
    assert r.n_read == 29_969
    dup = pd.DataFrame({"wkb": peer.geometry.to_wkb(), "t": peer["type_lante"]}).duplicated()
    assert int(dup.sum()) == 124  # hand check of the source: same support twice
    assert [p.row for p in r.warnings] == (np.flatnonzero(dup.to_numpy()) + 1).tolist()
    assert all("exact duplicate of row" in p.message and p.severity == "warning" for p in r.warnings)
    assert r.ok and len(r.data) == 29_969 - 124
    _same_geometries(r.data.geometry, peer.geometry[~dup.to_numpy()])
    assert r.data["type"].value_counts()["LANTERNE"] == (peer["type_lante"][~dup.to_numpy()] == "LANTERNE").sum()


@pytest.mark.parametrize("fmt", ["zip", "geojson"])
def test_public_establishments_as_schools(fmt):
    path = MTP / f"VilleMTP_MTP_EtabliPublic.{fmt}"
    r = read_layer(path, "schools", settings=SETTINGS, mapping={"name": "LIBEL"})
    _check_contract(r, "schools")
    peer = _peer(path)
    assert len(r.data) == 1024 and r.ok
    assert r.source_crs == ("EPSG:2154" if fmt == "zip" else "EPSG:4326")
    assert r.data["name"].tolist() == peer["LIBEL"].tolist()
    _same_geometries(r.data.geometry, peer.geometry)
    # the two publications of the same layer agree within a few centimetres
    other = read_layer(MTP / f"VilleMTP_MTP_EtabliPublic.{'geojson' if fmt == 'zip' else 'zip'}",
                       "schools", settings=SETTINGS, mapping={"name": "LIBEL"})
    d = np.hypot(r.data.geometry.x - other.data.geometry.x, r.data.geometry.y - other.data.geometry.y)
    assert d.max() < 1e-5


def test_shops_from_osm_geojson():
    path = MTP / "OSM_MTP_Commerces.geojson"
    r = read_layer(path, "shops", settings=SETTINGS)
    _check_contract(r, "shops")
    peer = _peer(path)
    assert r.column_mapping["name"] == "name" and r.column_mapping["kind"] == "type"
    filled = (peer["name"].fillna("") != "") | (peer["type"].fillna("") != "")
    assert len(r.data) == int(filled.sum()) == 953
    assert r.data["kind"].value_counts()["Salons de Coiffure"] == 135
    _same_geometries(r.data.geometry, peer.geometry)


@pytest.mark.parametrize(
    "name, n, expected_name_col",
    [("VilleMTP_MTP_Quartiers.geojson", 7, "LIBQUART"),
     ("VilleMTP_MTP_SousQuartiers.geojson", 31, "LIBSQUART")],
)
def test_quartiers(name, n, expected_name_col):
    r = read_layer(MTP / name, "areas", settings=SETTINGS)
    _check_contract(r, "areas")
    peer = _peer(MTP / name)
    assert len(r.data) == n and r.ok
    assert r.column_mapping["name"] == expected_name_col
    assert r.data["name"].tolist() == peer[expected_name_col].tolist()
    _same_geometries(r.data.geometry, peer.geometry)


def test_commune_limit_needs_a_name_column():
    path = MTP / "VilleMTP_MTP_LimiteCommune.geojson"
    with pytest.raises(InputError, match=r"required field 'name'.*columns are: ID, AREA, LEN.*--map"):
        read_layer(path, "areas", settings=SETTINGS)
    r = read_layer(path, "areas", settings=SETTINGS, mapping={"name": "ID"})
    assert len(r.data) == 1
    assert r.data.geometry.iloc[0].geom_type == "MultiPolygon"
    area = r.data.to_crs(2154).area.iloc[0]
    assert area == pytest.approx(48_200_184, rel=1e-3)  # AREA attribute of the source, m²


# --------------------------------------------------------------------------------------------
# Essex police.uk (sample of January and February 2018)

ESSEX = DATA / "essex" / "essex_2018-01_02_sample.csv"
ESSEX_BOX = (0.0, 51.4, 1.3, 52.1)


def _essex_rows():
    with open(ESSEX, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_police_uk_sample_with_territory():
    rows = _essex_rows()
    r = read_layer(ESSEX, "incidents", settings=Settings(territory=ESSEX_BOX, timezone="Europe/London"))
    _check_contract(r, "incidents")
    no_xy = {i for i, row in enumerate(rows, 1) if not row["longitude"] or not row["latitude"]}
    outside = {
        i for i, row in enumerate(rows, 1)
        if i not in no_xy and not (ESSEX_BOX[0] <= float(row["longitude"]) <= ESSEX_BOX[2]
                                   and ESSEX_BOX[1] <= float(row["latitude"]) <= ESSEX_BOX[3])
    }
    assert len(no_xy) > 0 and len(outside) > 100  # the sample keeps them on purpose
    by_row = {p.row: p for p in r.errors}
    assert set(by_row) == no_xy | outside
    assert all("missing coordinates" in by_row[i].message for i in no_xy)
    assert all("outside the territory" in by_row[i].message for i in outside)
    assert by_row[min(outside)].field == "longitude/latitude"
    assert len(r.data) == len(rows) - len(no_xy) - len(outside)
    # labels through the shipped police_uk table, source label kept
    table = load_label_mapping("police_uk")
    assert r.labels == "police_uk" and r.unmapped_labels == {}
    src = {i: row for i, row in enumerate(rows, 1)}
    expect = [table[src[i]["crime_type"]] for i in r.data["source_row"]]
    assert r.data["category"].tolist() == expect
    assert r.data["source_label"].tolist() == [src[i]["crime_type"] for i in r.data["source_row"]]
    # month-only: [first instant of the month, first instant of the next) in London time
    jan = r.data[r.data["source_row"].map(lambda i: src[i]["month"]) == "2018-01"].iloc[0]
    assert jan["occurred_from"] == pd.Timestamp("2018-01-01T00:00Z")
    assert jan["occurred_to"] == pd.Timestamp("2018-02-01T00:00Z")
    # anonymised anti-social behaviour rows without crime_id are never deduplicated (at most
    # reported as possible duplicates, kept)
    assert not any("dropped" in p.message for p in r.problems)
    assert all("identical" in p.message and "kept" in p.message for p in r.warnings)


def test_police_uk_month_window_in_paris_time():
    r = read_layer(ESSEX, "incidents", settings=Settings())
    feb = r.data[r.data["occurred_from"] == pd.Timestamp("2018-01-31T23:00Z")]
    assert len(feb) > 1000
    assert (feb["occurred_to"] == pd.Timestamp("2018-02-28T23:00Z")).all()
    # without a territory only the rows without coordinates are rejected
    assert all("missing coordinates" in p.message for p in r.errors)


# --------------------------------------------------------------------------------------------
# San Francisco (EPSG:2227, US feet; many exact duplicates)


def test_sf_robbery_feet_and_duplicates():
    path = DATA / "sf" / "sf_robbery.zip"
    st = Settings(timezone="America/Los_Angeles", territory=(-122.6, 37.6, -122.3, 37.9))
    r = read_layer(path, "incidents", settings=st)
    _check_contract(r, "incidents")
    peer = gpd.read_file(f"zip://{path}")
    assert r.source_crs == "EPSG:2227" and r.n_read == 2761
    attrs = pd.DataFrame(peer.drop(columns="geometry"))
    dup = attrs.assign(w=peer.geometry.to_wkb()).duplicated().to_numpy()
    assert dup.sum() == 715
    assert len(r.data) == 2761 - 715 == peer["IncidntNum"].nunique()
    assert r.ok and [p.row for p in r.warnings] == (np.flatnonzero(dup) + 1).tolist()
    # reprojected from feet: matches the source's own X/Y lon/lat columns within 1 m or so
    kept = peer[~dup].reset_index(drop=True)
    assert np.abs(r.data.geometry.x - kept["X"]).max() < 2e-5
    assert np.abs(r.data.geometry.y - kept["Y"]).max() < 2e-5
    # day-only dates: the local day as a window
    first = r.data.iloc[0]
    day = pd.Timestamp(kept["Date"].iloc[0]).date()
    assert first["occurred_from"] == pd.Timestamp(day).tz_localize("America/Los_Angeles")
    assert first["occurred_to"] - first["occurred_from"] == pd.Timedelta(days=1)
    # "ROBBERY" is the taxonomy code written in capitals
    assert set(r.data["category"]) == {"robbery"} and r.unmapped_labels == {}
    assert r.data["description"].iloc[0] == kept["Descript"].iloc[0]


# --------------------------------------------------------------------------------------------
# Paris CCTV list: dd/mm/yy, Excel serial numbers and free text in one column


def test_paris_cameras_mixed_dates():
    path = DATA / "paris" / "paris_cameras_data.csv"
    r = read_layer(path, "cameras", settings=Settings(territory=(2.2, 48.8, 2.5, 48.95)))
    _check_contract(r, "cameras")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    expected, unreadable = {}, {}
    for i, row in enumerate(rows, 1):
        v = row["Date de mise en service"].strip()
        try:
            expected[i] = dt.datetime.strptime(v, "%d/%m/%y")
        except ValueError:
            if v.isdigit():
                expected[i] = dt.datetime(1899, 12, 30) + dt.timedelta(days=int(v))
            else:
                unreadable[i] = v
    assert len(r.data) == 707  # an unreadable optional date does not reject the camera
    assert sorted(unreadable.values()).count("inconnue") == 9
    assert {p.row: p.field for p in r.warnings} == {i: "installed" for i in unreadable}
    assert all(f"'{unreadable[p.row]}' is not a date" in p.message for p in r.warnings)
    got = dict(zip(r.data["source_row"], r.data["installed"]))
    for i, d in expected.items():
        assert got[i] == pd.Timestamp(d), i
    assert all(pd.isna(got[i]) for i in unreadable)
    assert r.data["name"].iloc[0] == rows[0]["Numéro"]
    assert r.data.geometry.x.iloc[0] == pytest.approx(float(rows[0]["lon"]), abs=1e-12)


# --------------------------------------------------------------------------------------------
# Paris DansMaRue: coordinates in a Python-dict string


def test_dansmarue_dict_string_coordinates():
    import ast

    path = DATA / "paris" / "dansmarue_sample.csv"
    r = read_layer(path, "incidents", settings=Settings(territory=(2.2, 48.8, 2.5, 48.95)),
                   mapping={"external_id": "id_dmr"})
    _check_contract(r, "incidents")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert r.ok and len(r.data) == len(rows) == 300
    assert r.column_mapping["point"] == "geo_point_2d"
    pts = [ast.literal_eval(row["geo_point_2d"]) for row in rows]
    assert r.data.geometry.x.tolist() == [p["lon"] for p in pts]
    assert r.data.geometry.y.tolist() == [p["lat"] for p in pts]
    assert r.data["external_id"].tolist() == [row["id_dmr"] for row in rows]
    # no label table for these: every type is kept as source label and counted as unmapped
    assert set(r.data["category"]) == {"other"}
    types = pd.Series([row["type"] for row in rows]).value_counts().to_dict()
    assert r.unmapped_labels == types
    first = r.data.iloc[0]
    assert first["occurred_from"] == pd.Timestamp(rows[0]["datedecl"]).tz_localize("Europe/Paris")
    assert first["occurred_to"] - first["occurred_from"] == pd.Timedelta(days=1)
