"""``geo-app import addresses``, ``geo-app geocode`` and ``geo-app import incidents --geocode``,
through ``geo_app.cli.main`` (exit 0 done, 1 rejected, 2 usage); the store is unchanged on error."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from geo_app.cli import main

REGISTER_ZIP = Path(__file__).resolve().parents[1] / "data" / "addresses" / "mtp_adresses_centre.zip"
MAP = {"street": "LIB_OFF", "number": "NUM_VOI", "suffix": "SUF_VOI", "street_code": "CODE_VOIE"}

INCIDENTS = """date;categorie;adresse;lon;lat
2024-03-01 22:10;theft;17 bis av. de Toulouse;;
2024-03-02 01:00;theft;RUE DE LA LOGE 4;;
2024-03-03 12:00;drugs;angle rue Foch / rue Saint-Guilhem;;
2024-03-04 12:00;theft;;3.8770;43.6100
2024-03-05 12:00;theft;31 rue foch, 34000 Montpellier;;
2024-03-06 12:00;nuisance;13 rue de la Loge;;
2024-03-07 12:00;theft;3 rue qui n'existe pas;;
"""


def run(capsys, *args):
    code = main([*map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def incidents_csv(tmp_path):
    p = tmp_path / "main_courante.csv"
    p.write_text(INCIDENTS, encoding="utf-8")
    return p


def test_import_the_montpellier_register_with_map(home, capsys):
    args = [f"--map={k}={v}" for k, v in MAP.items()]
    code, out, _ = run(capsys, "import", "addresses", REGISTER_ZIP, *args, "--set", "commune=Montpellier")
    assert code == 0, out
    got = home.store.read("addresses")
    assert len(got) == 6644 and {"number", "suffix", "street", "street_code", "commune"} <= set(got.columns)
    assert got.loc[got.street_code == "1393", "street"].iloc[0] == "Rue de la Loge"


def test_import_the_ban_csv_layout_without_any_mapping(home, tmp_path, register, capsys):
    """The BAN's column names are aliases of the addresses kind: no --map needed."""
    rows = register[register.street_code.isin(["1393", "1043"])].to_crs(4326)
    ban = pd.DataFrame({
        "id": [f"34172_{c}_{n:05d}" for c, n in zip(rows.street_code, rows.number)],
        "id_fantoir": "34172_" + rows.street_code, "numero": rows.number, "rep": rows.suffix.fillna(""),
        "nom_voie": rows.street, "code_postal": "34000", "code_insee": "34172", "nom_commune": "Montpellier",
        "x": rows.to_crs(2154).geometry.x.round(2), "y": rows.to_crs(2154).geometry.y.round(2),
        "lon": rows.geometry.x.round(7), "lat": rows.geometry.y.round(7)})
    path = tmp_path / "adresses-34.csv"
    ban.to_csv(path, sep=";", index=False)
    code, out, _ = run(capsys, "import", "addresses", path)
    assert code == 0, out
    got = home.store.read("addresses")
    assert len(got) == len(ban) and set(got["postcode"]) == {"34000"} and set(got["commune"]) == {"Montpellier"}
    csv = tmp_path / "q.csv"
    csv.write_text("adresse\n4 rue de la loge 34000 montpellier\n", encoding="utf-8")
    code, out, _ = run(capsys, "geocode", csv, "--address-column", "adresse", "--out", tmp_path / "o.csv")
    assert code == 0 and "house 1" in out


@pytest.mark.parametrize("suffix", [".csv", ".gpkg"])
def test_geocode_a_file(address_home, incidents_csv, tmp_path, suffix, capsys):
    out_file = tmp_path / f"out{suffix}"
    code, out, _ = run(capsys, "geocode", incidents_csv, "--address-column", "ADRESSE", "--out", out_file)
    assert code == 0, out
    assert "house 2, interpolated 1, street 1, intersection 1, not found 2" in out
    got = pd.read_csv(out_file) if suffix == ".csv" else gpd.read_file(out_file, layer="geocoded")
    assert list(got["geocode_precision"]) == ["house", "house", "intersection", "not_found", "street",
                                              "interpolated", "not_found"]
    assert got["geocode_score"].between(0, 100).all()
    if suffix == ".csv":
        assert got["lon"].notna().sum() == 5 and got.loc[0, "lat"] == pytest.approx(43.6, abs=0.02)
    else:
        assert got.crs.to_epsg() == 4326 and got.geometry.notna().sum() == 5


def test_import_incidents_with_geocode(address_home, incidents_csv, capsys):
    code, out, err = run(capsys, "import", "incidents", incidents_csv, "--geocode", "adresse")
    assert code == 1 and address_home.store.counts()["incidents"] == 0
    assert "row 7, field 'adresse': address '3 rue qui n'existe pas' not found" in out + err
    code, out, _ = run(capsys, "import", "incidents", incidents_csv, "--geocode", "adresse", "--skip-invalid")
    assert code == 0, out
    assert "Geocoded 6 address(es)" in out
    got = address_home.store.read("incidents").sort_values("occurred_from").reset_index(drop=True)
    assert len(got) == 6
    assert list(got["geocode_precision"].fillna("")) == ["house", "house", "intersection", "", "street",
                                                         "interpolated"]
    assert got.loc[3, "geometry"].x == pytest.approx(3.877) and pd.isna(got.loc[3, "geocode_score"])
    assert got.loc[1, "address"] == "RUE DE LA LOGE 4" and got.loc[1, "geocode_score"] == 100
    (batch,) = address_home.store.batches("incidents")
    assert batch.options["geocode"] == "adresse" and batch.options["geocoded"]["not_found"] == 1
    assert any(p["row"] == 7 and p["field"] == "adresse" for p in batch.report)


def test_rows_without_point_nor_address_are_named(address_home, tmp_path, capsys):
    p = tmp_path / "f.csv"
    p.write_text("date,category,adresse\n2024-03-01,theft,4 rue de la loge\n2024-03-02,theft,\n", encoding="utf-8")
    code, out, err = run(capsys, "import", "incidents", p, "--geocode", "adresse")
    assert code == 1 and "row 2, field 'adresse': no coordinates and no address" in out + err
    assert address_home.store.counts()["incidents"] == 0


def test_unknown_column_is_a_usage_error(address_home, incidents_csv, tmp_path, capsys):
    code, _, err = run(capsys, "import", "incidents", incidents_csv, "--geocode", "rue")
    assert code == 2 and "no column 'rue'" in err and "adresse" in err
    code, _, err = run(capsys, "geocode", incidents_csv, "--address-column", "rue", "--out", tmp_path / "o.csv")
    assert code == 2 and "address-column: there is no column 'rue'" in err
    assert address_home.store.counts()["incidents"] == 0 and not (tmp_path / "o.csv").exists()


def test_no_register_in_the_store_says_how_to_get_one(home, incidents_csv, tmp_path, capsys):
    code, _, err = run(capsys, "import", "incidents", incidents_csv, "--geocode", "adresse")
    assert code == 1 and "No address register" in err and "adresses-NN.csv" in err
    code, _, err = run(capsys, "geocode", incidents_csv, "--address-column", "adresse", "--out", tmp_path / "o.csv")
    assert code == 1 and "BAN" in err
    assert home.store.counts()["incidents"] == 0


@pytest.mark.parametrize("content", ["", "date;categorie;adresse\n"])
def test_empty_file(address_home, tmp_path, content, capsys):
    p = tmp_path / "vide.csv"
    p.write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "import", "incidents", p, "--geocode", "adresse")
    assert code == 1 and "vide.csv" in err and ("empty" in err or "no data rows" in err)
    code, _, err = run(capsys, "geocode", p, "--address-column", "adresse", "--out", tmp_path / "o.csv")
    assert code == 1
    assert address_home.store.counts()["incidents"] == 0


def test_an_unread_file_type_and_polygons_are_usage_errors(address_home, tmp_path, capsys):
    p = tmp_path / "f.ods"
    p.write_text("not a sheet Vigie reads", encoding="utf-8")
    code, _, err = run(capsys, "import", "incidents", p, "--geocode", "adresse")
    assert code == 2 and "CSV" in err
    p = tmp_path / "f.geojson"
    p.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    code, _, err = run(capsys, "import", "zac", p, "--geocode", "adresse")
    assert code == 2 and "polygons" in err


def test_bad_threshold_and_out(address_home, incidents_csv, tmp_path, capsys):
    code, _, err = run(capsys, "geocode", incidents_csv, "--address-column", "adresse", "--out", tmp_path / "o.csv",
                       "--threshold", "95", "--house-threshold", "90")
    assert code == 2 and "--house-threshold" in err
    code, _, err = run(capsys, "geocode", incidents_csv, "--address-column", "adresse", "--out", tmp_path / "o.txt")
    assert code == 2 and "--out" in err
