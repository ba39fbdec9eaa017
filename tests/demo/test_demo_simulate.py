"""The seeded generator of the demo city's simulated incidents (layers/simulate.py).

Runs on the real Montpellier layers kept in data/ (see data/README.md).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from layers.errors import InputError, ParameterError
from layers.registry import default_taxonomy
from layers.simulate import PLANTED, simulate_incidents

DATA = Path(__file__).resolve().parents[2] / "data"
TZ = "Europe/Paris"


@pytest.fixture(scope="module")
def context():
    shops = gpd.read_file(DATA / "OSM_MTP_Commerces.geojson")[["type", "name", "geometry"]]
    shops = shops.rename(columns={"type": "kind"})
    schools = gpd.read_file(DATA / "VilleMTP_MTP_Ecoles.geojson")[["LIBEL", "geometry"]]
    lights = gpd.read_file(f"zip://{DATA / 'VilleMTP_MTP_EclairagePublic.zip'}")
    lights = lights.rename(columns={"type_lante": "type"})
    quartiers = gpd.read_file(DATA / "VilleMTP_MTP_Quartiers.geojson")
    commune = gpd.read_file(DATA / "VilleMTP_MTP_LimiteCommune.geojson")
    zac = gpd.read_file(f"zip://{DATA / 'VilleMTP_MTP_ZAC.zip'}")
    return {"shops": shops, "schools": schools, "lights": lights, "areas": quartiers, "zac": zac,
                "study_area": commune}


@pytest.fixture(scope="module")
def incidents(context):
    return simulate_incidents(**context, seed=7, analysis_crs=2154)


@pytest.fixture(scope="module")
def local(incidents):
    return incidents["occurred_from"].dt.tz_convert(TZ)


def _within(incidents, name):
    p = PLANTED[name]
    centre = gpd.GeoSeries.from_xy([p["lon"]], [p["lat"]], crs=4326).to_crs(2154).iloc[0]
    return incidents.to_crs(2154).distance(centre).to_numpy() <= p["radius_m"]


def _month_offset(local):
    return ((local.dt.year - 2023) * 12 + local.dt.month - 11).to_numpy()


def test_same_seed_same_incidents_other_seed_differs(context, incidents):
    small = dict(context, n=3000, analysis_crs=2154)
    a = simulate_incidents(**small, seed=3)
    b = simulate_incidents(**small, seed=3)
    c = simulate_incidents(**small, seed=4)
    assert_geodataframe_equal(a, b)
    # the same draws, less what the planted lighting repair prevented (seed-dependent)
    assert len(c) + c.attrs["prevented"] == len(a) + a.attrs["prevented"] == 3000
    m = min(len(a), len(c))
    assert not np.allclose(a.geometry.x.to_numpy()[:m], c.geometry.x.to_numpy()[:m])


def test_counts_period_and_columns(incidents, local):
    # 50,000 drawn, less those the planted lighting repair prevented (PLANTED_ACTIONS)
    assert 200 < incidents.attrs["prevented"] < 500
    # a tenth of the incidents the lighting repair took away happen in its ring instead
    moved = incidents.attrs["displaced"]
    assert 0.05 < moved / (moved + incidents.attrs["prevented"]) < 0.15
    assert len(incidents) == 50_000 - incidents.attrs["prevented"]
    assert incidents.crs.to_epsg() == 4326
    assert set(incidents.geom_type) == {"Point"}
    assert str(incidents["occurred_from"].dtype) == "datetime64[ns, UTC]"
    assert str(incidents["occurred_to"].dtype) == "datetime64[ns, UTC]"
    assert local.min() >= pd.Timestamp("2023-11-01", tz=TZ)
    assert local.max() < pd.Timestamp("2025-11-01", tz=TZ)
    months = np.bincount(_month_offset(local), minlength=24)
    assert len(months) == 24 and months.min() > 1200  # every month populated
    assert incidents["simulated"].all()
    assert (incidents["source"] == "simulation").all()
    assert incidents["external_id"].is_unique
    assert incidents["description"].str.contains("simulé").all()
    assert incidents["occurred_from"].is_monotonic_increasing


def test_every_point_inside_the_study_area(context, incidents):
    commune = context["study_area"].union_all()
    assert incidents.geometry.within(commune).all()


def test_categories_and_labels_come_from_the_taxonomy(incidents):
    tax = default_taxonomy()
    assert set(incidents["category"]) <= set(tax.codes)
    # every category of the default taxonomy is present (sensitive ones too)
    assert set(incidents["category"]) == set(tax.codes)
    labels = incidents["category"].map(lambda c: tax[c].label_fr)
    assert (incidents["source_label"] == labels).all()
    shares = incidents["category"].value_counts(normalize=True)
    assert 0.12 < shares["theft"] < 0.22
    assert shares.index[0] == "theft"


def test_burglary_time_windows_are_valid(incidents):
    b = incidents[incidents["category"] == "burglary"]
    windowed = b[b["occurred_to"].notna()]
    assert 0.75 < len(windowed) / len(b) < 0.95
    hours = (windowed["occurred_to"] - windowed["occurred_from"]).dt.total_seconds() / 3600
    assert (hours > 0).all()
    assert hours.max() <= 48
    # an evening-out window: left in the evening, back the next morning
    lf = windowed["occurred_from"].dt.tz_convert(TZ)
    lt = windowed["occurred_to"].dt.tz_convert(TZ)
    overnight = (lf.dt.hour >= 18) & (lt.dt.hour < 11) & (lt.dt.normalize() > lf.dt.normalize())
    assert overnight.mean() > 0.2
    # exact times only for categories that are not windowed
    exact_only = {"shoplifting", "public_drinking", "violence_public", "robbery"}
    assert incidents.loc[incidents["category"].isin(exact_only), "occurred_to"].isna().all()


def test_weekly_rhythm_friday_saturday_nights(incidents, local):
    drinking = (incidents["category"] == "public_drinking").to_numpy()
    dow, hour = local.dt.day_of_week.to_numpy(), local.dt.hour.to_numpy()
    weekend_nights = ((np.isin(dow, [4, 5]) & (hour >= 22)) | (np.isin(dow, [5, 6]) & (hour < 4)))
    tuesday_morning = (dow == 1) & (hour >= 6) & (hour < 12)
    assert (drinking & weekend_nights).sum() > 20 * max(1, (drinking & tuesday_morning).sum())
    # shop crime: Saturday is the busiest day, Sunday the quietest
    shop = (incidents["category"] == "shoplifting").to_numpy()
    per_day = np.bincount(dow[shop], minlength=7)
    assert per_day.argmax() == 5 and per_day.argmin() == 6


def test_seasonal_rhythm_summer_over_winter(incidents, local):
    nuisance = incidents["category"].isin(["nuisance", "public_drinking", "youth_gathering"])
    month = local.dt.month
    summer = (nuisance & month.isin([6, 7, 8])).sum()
    winter = (nuisance & month.isin([12, 1, 2])).sum()
    assert summer > 1.8 * winter
    dropout = incidents["category"] == "school_dropout"
    assert (dropout & month.isin([7, 8])).sum() < 0.05 * dropout.sum()


def test_daily_rhythm_per_category(incidents, local):
    hour = local.dt.hour
    shoplifting = incidents["category"] == "shoplifting"
    assert hour[shoplifting].between(9, 19).mean() > 0.85
    violence = incidents["category"] == "violence_public"
    assert hour[violence].isin([21, 22, 23, 0, 1, 2, 3]).mean() > 0.6


def test_planted_emerging_appears_in_the_last_four_months(incidents, local):
    inside = _within(incidents, "emerging")
    months = np.bincount(_month_offset(local)[inside], minlength=24)
    assert months[:20].sum() <= 0.02 * months[20:].sum()
    assert months[20:].sum() > 500
    assert months[20] < months[21] < months[22] < months[23]  # grows


def test_planted_fading_is_gone_in_the_last_six_months(incidents, local):
    inside = _within(incidents, "fading")
    months = np.bincount(_month_offset(local)[inside], minlength=24)
    assert months[:12].min() > 30
    assert months[18:].sum() <= 0.02 * months[:12].sum()


def test_planted_night_bars_is_nocturnal_and_lit(context, incidents, local):
    inside = _within(incidents, "night_bars")
    planted = inside & (incidents["pattern"] == "night_bars").to_numpy()
    hour = local.dt.hour.to_numpy()
    night = np.isin(hour, [22, 23, 0, 1, 2, 3])
    assert night[planted].mean() > 0.8
    assert night[inside].mean() > 0.65  # background included
    assert planted.sum() > 1000
    # real lamps within its radius in the city's lights layer (the recommend test removes them)
    p = PLANTED["night_bars"]
    centre = gpd.GeoSeries.from_xy([p["lon"]], [p["lat"]], crs=4326).to_crs(2154).iloc[0]
    lights = context["lights"].to_crs(2154)
    lamps = lights.distance(centre) <= p["radius_m"]
    assert lamps.sum() >= 100
    # with them, the planted incidents are lit (95 % within 35 m of a lamp); without them they
    # are dark (no lamp within a quarter of the radius)
    pts = incidents.loc[planted].to_crs(2154)
    near = gpd.sjoin_nearest(pts[["geometry"]], lights[["geometry"]], distance_col="d")
    nearest = near.groupby(level=0)["d"].min()
    assert nearest.quantile(0.95) < 35 and nearest.max() < 60
    far = gpd.sjoin_nearest(pts[["geometry"]], lights.loc[~lamps, ["geometry"]], distance_col="d")
    assert far["d"].min() >= 0.25 * p["radius_m"] - 1e-6
    # and alcohol outlets nearby (the OSM extract has no bars: grocers, cavistes, kiosks)
    shops = context["shops"].to_crs(2154)
    alcohol = shops["kind"].isin(["Épiceries", "Alcools, Caves", "Kiosques", "Tabacs"])
    assert (alcohol & (shops.distance(centre) <= 300)).sum() >= 4


def test_planted_constant_is_complete(context):
    tax = default_taxonomy()
    commune = context["study_area"].to_crs(2154).union_all()
    for name in ("emerging", "fading", "night_bars"):
        p = PLANTED[name]
        assert {"lon", "lat", "radius_m", "categories", "description"} <= set(p)
        assert set(p["categories"]) <= set(tax.codes)
        centre = gpd.GeoSeries.from_xy([p["lon"]], [p["lat"]], crs=4326).to_crs(2154).iloc[0]
        # the whole disk inside the commune
        assert commune.contains(centre.buffer(p["radius_m"])), name


def test_inputs_are_not_mutated(context):
    before = {k: v.copy() for k, v in context.items()}
    simulate_incidents(**context, seed=1, n=500, analysis_crs=2154)
    for k, v in context.items():
        assert_geodataframe_equal(v, before[k])


@pytest.mark.parametrize(
    "option, value, param",
    [
        ("n", 0, "n"),
        ("n", 2.5, "n"),
        ("months", 6, "months"),
        ("start", "2023-11-15", "start"),
        ("start", "not a date", "start"),
        ("tz", "Mars/Olympus", "tz"),
        ("seed", None, "seed"),
    ],
)
def test_bad_parameters_name_the_parameter(context, option, value, param):
    with pytest.raises(ParameterError) as e:
        simulate_incidents(**context, **{option: value})
    assert e.value.param == param


def test_layer_without_crs_is_refused(context):
    shops = context["shops"].copy()
    shops = shops.set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="shops layer has no CRS"):
        simulate_incidents(**dict(context, shops=shops), n=100)


def test_wrong_geometry_type_is_refused(context):
    with pytest.raises(InputError, match="shops layer must hold Point"):
        simulate_incidents(**dict(context, shops=context["zac"]), n=100)


def test_layers_of_another_city_are_refused(context):
    far = context["shops"].copy()
    far["geometry"] = far.geometry.translate(xoff=10.0)  # 10 degrees east
    with pytest.raises(InputError, match="same city"):
        simulate_incidents(**dict(context, shops=far), n=100)


def test_planted_patterns_in_emerging_hotspot_analysis(context, incidents):
    """The space-time analysis (layers.spacetime) classes the planted patterns as intended."""
    spacetime = pytest.importorskip("layers.spacetime")
    commune = context["study_area"].to_crs(2154)
    cells = spacetime.emerging_hotspots(incidents.to_crs(2154), study_area=commune,
                                        period="month", tz=TZ)

    def classes(name):
        p = PLANTED[name]
        centre = gpd.GeoSeries.from_xy([p["lon"]], [p["lat"]], crs=4326).to_crs(2154).iloc[0]
        near = cells[cells.distance(centre) <= p["radius_m"] / 2]
        top = near.sort_values("n", ascending=False).iloc[0]
        return top["category"], top["sfhotspot_class"]

    emerging = classes("emerging")
    assert any(word in emerging[0] for word in ("new", "consecutive", "intensifying")), emerging
    assert "emerging" in emerging[1]
    fading = classes("fading")
    assert "former" in fading[1], fading
    night = classes("night_bars")
    assert any(word in night[0] for word in ("persistent", "intensifying")), night
