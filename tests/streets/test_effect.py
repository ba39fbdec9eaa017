"""Before/after evaluation of an action with an automatic control (layers.effect)."""

import numpy as np
import pandas as pd
import shapely

import pytest

from layers.effect import EffectIndex, evaluate_in, evaluate_place
from layers.errors import ParameterError

START = pd.Timestamp("2025-01-01", tz="UTC")


def city(effect: float, *, seed=3, ring_rise=0.0):
    """Uniform background over 3 x 3 km for two years, plus 200 incidents a year in the place
    (0..100 m square) before the action and ``200 * (1 - effect)`` after; ``ring_rise``: share
    of the place's loss moved into its ring."""
    rng = np.random.default_rng(seed)
    t0, t1 = (START - pd.Timedelta(days=365)).value, (START + pd.Timedelta(days=365)).value
    n_bg = 40_000
    x = list(rng.uniform(-1500, 1500, n_bg))
    y = list(rng.uniform(-1500, 1500, n_bg))
    t = list(rng.integers(t0, t1, n_bg))
    n_after = int(200 * (1 - effect))
    for n, (a, b) in ((200, (t0, START.value)), (n_after, (START.value, t1))):
        x += list(rng.uniform(0, 100, n))
        y += list(rng.uniform(0, 100, n))
        t += list(rng.integers(a, b, n))
    moved = int(ring_rise * (200 - n_after))
    x += list(rng.uniform(110, 200, moved))
    y += list(rng.uniform(0, 100, moved))
    t += list(rng.integers(START.value, t1, moved))
    return np.array(x), np.array(y), np.array(t)


PLACE = shapely.box(0, 0, 100, 100)


def test_a_real_fall_is_found():
    x, y, t = city(0.4)
    r = evaluate_place(x, y, t, PLACE, start=START, now=START + pd.Timedelta(days=365))
    assert r["status"] == "evaluated" and r["days"] == 365
    assert r["counts"]["treated"][0] > r["counts"]["treated"][1]
    assert r["verdict"] == "down" and r["wdd"]["z"] < -2
    assert r["control_auto"] and not shapely.from_wkt(r["control"]).intersects(PLACE.buffer(300))
    # the control is picked on before-period counts, so it regresses to its mean a little:
    # the control-adjusted change understates the 40 % fall, never reverses it
    assert -0.6 < r["change_local"] < 0


def test_no_effect_stays_no_effect():
    x, y, t = city(0.0, seed=5)
    r = evaluate_place(x, y, t, PLACE, start=START, now=START + pd.Timedelta(days=365))
    assert r["verdict"] == "no_effect"


def test_too_early_and_given_control():
    x, y, t = city(0.4)
    assert evaluate_place(x, y, t, PLACE, start=START, now=START + pd.Timedelta(days=30))["status"] == "too_early"
    ctrl = shapely.box(1000, 1000, 1100, 1100)
    r = evaluate_place(x, y, t, PLACE, start=START, now=START + pd.Timedelta(days=365), control=ctrl)
    assert not r["control_auto"] and shapely.from_wkt(r["control"]).equals(ctrl)
    # counts checked by hand with numpy
    inside = (x > 1000) & (x < 1100) & (y > 1000) & (y < 1100)
    assert r["counts"]["control"][0] == int((inside & (t < START.value)).sum())


def test_evaluation_sentences():
    from geo_app.i18n import evaluation_sentence

    ev = {"status": "evaluated", "verdict": "down", "change_local": -0.384, "displacement": "none"}
    assert evaluation_sentence(ev, "en") == ("Targeted incidents fell by 38 % more than in the comparison area; "
                                             "no sign of displacement.")
    assert evaluation_sentence(ev, "fr") == ("Les faits ciblés ont baissé de 38 % de plus que dans la zone de "
                                             "comparaison ; pas de signe de déplacement.")
    assert evaluation_sentence({"status": "too_early", "days": 12}, "en").startswith("Too early")
    assert "No significant difference" in evaluation_sentence({**ev, "verdict": "no_effect"}, "en")
    assert evaluation_sentence(None, "en") == ""


def test_the_index_path_equals_the_one_shot_path():
    x, y, t = city(0.4)
    now = START + pd.Timedelta(days=365)
    index = EffectIndex(x, y, t)
    assert len(index) == len(x) and index.last == pd.Timestamp(int(t.max()), tz="UTC")
    for geom in (PLACE, shapely.box(500, -200, 650, -50), shapely.Point(-700, 900).buffer(80)):
        a = evaluate_in(index, geom, start=START, now=now)
        b = evaluate_place(x, y, t, geom, start=START, now=now)
        assert a == b
    # ``now`` defaults to the latest incident
    assert evaluate_in(index, PLACE, start=START)["days"] == int((index.last - START) / pd.Timedelta(days=1))


def test_box_query_matches_a_scan():
    x, y, t = city(0.0, seed=9)
    index = EffectIndex(x, y, t)
    pos = index.box(-300, 200, 100, 450)
    inside = (index.x >= -300) & (index.x <= 100) & (index.y >= 200) & (index.y <= 450)
    assert sorted(pos) == list(np.flatnonzero(inside))


def test_before_period_stays_inside_the_data():
    """An action 100 days after the data starts: both periods are 100 days, not 365."""
    x, y, t = city(0.4)
    first = START - pd.Timedelta(days=365)
    r = evaluate_place(x, y, t, PLACE, start=first + pd.Timedelta(days=100), now=START + pd.Timedelta(days=365),
                       data_start=first)
    assert r["days"] == 100 and r["before"][0] == first.date().isoformat()


def test_min_days_and_alpha_are_reported_and_checked():
    x, y, t = city(0.4)
    now = START + pd.Timedelta(days=120)
    early = evaluate_place(x, y, t, PLACE, start=START, now=now, min_after_days=121)
    assert (early["status"], early["days"], early["min_days"]) == ("too_early", 120, 121)
    done = evaluate_place(x, y, t, PLACE, start=START, now=now, min_after_days=120, alpha=0.05)
    assert done["status"] == "evaluated" and done["alpha"] == 0.05
    # a narrower level, a wider interval: the 95 % interval holds the 90 % one
    ninety = evaluate_place(x, y, t, PLACE, start=START, now=now, min_after_days=120)
    assert done["wdd"]["low_ci"] < ninety["wdd"]["low_ci"] < ninety["wdd"]["high_ci"] < done["wdd"]["high_ci"]


@pytest.mark.parametrize("kwargs, param", [({"alpha": 1.5}, "alpha"), ({"alpha": 0}, "alpha"),
                                           ({"ring_m": -5}, "ring_m"),
                                           ({"end": START - pd.Timedelta(days=3)}, "end")])
def test_bad_options_name_the_option(kwargs, param):
    x, y, t = city(0.0)
    with pytest.raises(ParameterError) as e:
        evaluate_place(x, y, t, PLACE, start=START, now=START + pd.Timedelta(days=365), **kwargs)
    assert e.value.param == param


def test_bad_inputs_name_the_input():
    with pytest.raises(ParameterError) as e:
        EffectIndex([0.0, 1.0], [0.0], [1, 2])
    assert e.value.param == "y"
    with pytest.raises(ParameterError) as e:
        evaluate_in((np.zeros(2), np.zeros(2), np.zeros(2)), PLACE, start=START)
    assert e.value.param == "index"
