"""Deployment settings: config.toml, then GEO_APP_* environment variables."""

import pytest

from geo_app.config import Home, write_config
from layers.errors import ParameterError


def test_config_file_is_read(tmp_path, monkeypatch):
    for v in ("GEO_APP_ANALYSIS_CRS", "GEO_APP_TIMEZONE", "GEO_APP_TERRITORY"):
        monkeypatch.delenv(v, raising=False)
    write_config(tmp_path / "config.toml", {"analysis_crs": 3163, "timezone": "Pacific/Noumea",
                                            "territory": [166.3, -22.4, 166.6, -22.1]})
    s = Home(tmp_path).settings
    assert (s.analysis_crs, s.timezone, s.territory) == (3163, "Pacific/Noumea", (166.3, -22.4, 166.6, -22.1))


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    write_config(tmp_path / "config.toml", {"analysis_crs": 2154, "timezone": "Europe/Paris"})
    monkeypatch.setenv("GEO_APP_ANALYSIS_CRS", "EPSG:3163")
    monkeypatch.setenv("GEO_APP_TIMEZONE", "Pacific/Noumea")
    monkeypatch.setenv("GEO_APP_TERRITORY", "166.3,-22.4,166.6,-22.1")
    s = Home(tmp_path).settings
    assert (s.analysis_crs, s.timezone, s.territory[0]) == (3163, "Pacific/Noumea", 166.3)


@pytest.mark.parametrize(
    "var, value, param",
    [
        ("GEO_APP_ANALYSIS_CRS", "lambert", "analysis_crs"),
        ("GEO_APP_TIMEZONE", "Mars/Olympus", "timezone"),
        ("GEO_APP_TERRITORY", "1,2", "territory"),
        ("GEO_APP_K_ANONYMITY", "five", "k_anonymity"),
        ("GEO_APP_EVALUATION_MIN_DAYS", "ninety", "evaluation_min_days"),
        ("GEO_APP_EVALUATION_MIN_DAYS", "0", "evaluation_min_days"),
        ("GEO_APP_EVALUATION_MIN_DAYS", "400", "evaluation_min_days"),
        ("GEO_APP_EVALUATION_ALPHA", "5%", "evaluation_alpha"),
        ("GEO_APP_EVALUATION_ALPHA", "0.7", "evaluation_alpha"),
        ("GEO_APP_EVALUATION_ALPHA", "0", "evaluation_alpha"),
    ],
)
def test_bad_settings_name_the_setting(tmp_path, monkeypatch, var, value, param):
    monkeypatch.setenv(var, value)
    with pytest.raises(ParameterError) as e:
        Home(tmp_path).settings
    assert e.value.param == param


def test_broken_toml_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "config.toml").write_text("[vigie\nanalysis_crs = ", encoding="utf-8")
    with pytest.raises(ParameterError, match="not valid TOML"):
        Home(tmp_path).settings


def test_evaluation_settings_default_and_file(tmp_path, monkeypatch):
    for v in ("GEO_APP_EVALUATION_MIN_DAYS", "GEO_APP_EVALUATION_ALPHA"):
        monkeypatch.delenv(v, raising=False)
    s = Home(tmp_path).settings
    assert (s.evaluation_min_days, s.evaluation_alpha) == (90, 0.1)
    write_config(tmp_path / "config.toml", {"evaluation_min_days": 30, "evaluation_alpha": 0.05})
    s = Home(tmp_path).settings
    assert (s.evaluation_min_days, s.evaluation_alpha) == (30, 0.05)
    monkeypatch.setenv("GEO_APP_EVALUATION_MIN_DAYS", "120")
    assert Home(tmp_path).settings.evaluation_min_days == 120
