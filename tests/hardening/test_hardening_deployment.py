"""A broken deployment folder (``--home``) through the CLI: a store file that is not a
GeoPackage, a config.toml that is not TOML or holds bad values, a home that is a file. Each gives
exit 1 or 2 with a message naming the file or setting, no traceback, and touches nothing."""

from __future__ import annotations

import hashlib

import pytest

from geo_app.cli import main

GOOD_CSV = "lon,lat,date,category\n3.87,43.61,2024-01-15,theft\n"
COMMANDS = [
    ["batches"],
    ["config"],
    ["import", "incidents", "{csv}"],
    ["export", "incidents", "--format", "geojson", "--out", "{tmp}/out.geojson"],
    ["hotspots", "--out", "{tmp}/out.gpkg"],
    ["rollback", "b-1"],
]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _run(capsys, home, args, tmp_path):
    (tmp_path / "x.csv").write_text(GOOD_CSV, encoding="utf-8")
    args = [a.replace("{csv}", str(tmp_path / "x.csv")).replace("{tmp}", str(tmp_path)) for a in args]
    try:
        code = main(["--home", str(home), *args])
    except Exception as e:  # noqa: BLE001 -- an escaped exception is the failure being tested
        pytest.fail(f"geo-app {' '.join(args)}: uncaught {type(e).__name__}: {e}")
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("args", COMMANDS, ids=[a[0] for a in COMMANDS])
def test_store_that_is_not_a_geopackage(home, capsys, tmp_path, args):
    home.store_url  # noqa: B018 -- the path of the store of the `home` fixture
    store = home.path / "store.gpkg"
    store.write_bytes(b"this is not a GeoPackage\n" * 10)
    before = _digest(store)
    code, text = _run(capsys, home.path, args, tmp_path)
    if args == ["config"]:  # config does not open the store
        assert code == 0, text
    else:
        assert code == 1, text
        assert "Cannot open the store" in text and "store.gpkg" in text, text
    assert "Traceback" not in text
    assert _digest(store) == before
    assert not (tmp_path / "out.geojson").exists() and not (tmp_path / "out.gpkg").exists()


@pytest.mark.parametrize("config, word", [
    ("analysis_crs = [\n", "config.toml"),
    ("[vigie]\nanalysis_crs = \"abc\"\n", "analysis_crs"),
    ("[vigie]\nanalysis_crs = 4326\n", "analysis crs"),  # not projected
    ("[vigie]\ntimezone = \"Mars/Base\"\n", "Mars/Base"),
    ("[vigie]\nstudy_area = \"nowhere\"\n", "study_area"),
    ("[vigie]\nk_anonymity = 0\n", "k_anonymity"),
    ("[vigie]\nterritory = \"1,2,3\"\n", "territory"),
], ids=["not-toml", "crs-abc", "crs-4326", "timezone", "study-area", "k-anonymity", "territory"])
@pytest.mark.parametrize("args", [c for c in COMMANDS if c[0] in ("config", "import", "hotspots")],
                         ids=["config", "import", "hotspots"])
def test_bad_config_is_a_usage_error(home, capsys, tmp_path, config, word, args):
    home.config_path.write_text(config, encoding="utf-8")
    code, text = _run(capsys, home.path, args, tmp_path)
    assert code == 2, text
    assert word.lower() in text.lower().replace("_", " ") or word in text, text
    assert "Traceback" not in text
    assert not (home.path / "store.gpkg").exists()


def test_home_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "home"
    f.write_text("x")
    code, text = _run(capsys, f, ["batches"], tmp_path)
    assert code == 2 and "--home" in text, text


@pytest.mark.parametrize("args", [["batches"], ["import", "incidents", "{csv}"], ["config"],
                                  ["user", "list"]], ids=["batches", "import", "config", "user-list"])
def test_home_without_a_deployment_is_a_usage_error(tmp_path, capsys, args):
    """A mistyped --home (or GEO_APP_HOME) used to create an empty folder and answer "No batches."
    — or store an import under default settings; now it says to run ``geo-app init``."""
    missing = tmp_path / "no-such-home"
    code, text = _run(capsys, missing, args, tmp_path)
    assert code == 2, text
    assert "no deployment" in text and " init " in text and str(missing) in text, text
    assert not missing.exists()


def test_help_needs_no_deployment(tmp_path, capsys):
    code, text = _run(capsys, tmp_path / "no-such-home", ["hotspots", "--help"], tmp_path)
    assert code == 0 and "--cell-size" in text, text
