"""One time-zone check (``layers.settings.parse_tz``) behind Settings, layers.temporal,
layers.report and layers.recommend: the same ParameterError naming the parameter."""

from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pytest

from layers.errors import ParameterError
from layers.recommend._common import hour_weights
from layers.report import local_months
from layers.settings import Settings, parse_tz
from layers.temporal import hour_weekday_profile


def test_parse_tz():
    assert parse_tz("Europe/Paris") == ZoneInfo("Europe/Paris")
    z = ZoneInfo("Pacific/Noumea")
    assert parse_tz(z) is z
    with pytest.raises(ParameterError, match="time zone 'Mars/Olympus' is unknown") as e:
        parse_tz("Mars/Olympus", param="timezone")
    assert e.value.param == "timezone"


def _incidents():
    return gpd.GeoDataFrame({"category": ["theft"], "occurred_from": pd.to_datetime(["2024-01-01T10:00Z"]),
                             "occurred_to": pd.to_datetime([pd.NaT]).tz_localize("UTC")},
                            geometry=gpd.points_from_xy([0], [0]), crs=2154)


@pytest.mark.parametrize("call", [
    lambda: hour_weekday_profile(_incidents(), tz="Mars/Olympus"),
    lambda: local_months(_incidents(), tz="Mars/Olympus"),
    lambda: hour_weights(_incidents()["occurred_from"], (8, 9), tz="Mars/Olympus"),
])
def test_every_module_answers_alike(call):
    with pytest.raises(ParameterError, match="time zone 'Mars/Olympus' is unknown") as e:
        call()
    assert e.value.param == "tz"


def test_settings_names_timezone():
    with pytest.raises(ParameterError) as e:
        Settings(timezone="Mars/Olympus")
    assert e.value.param == "timezone"
