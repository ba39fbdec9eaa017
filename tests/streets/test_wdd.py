"""The WDD test (Wheeler & Ratcliffe 2018) and the WDQ (Bowers & Johnson 2003)."""

import math

import pytest

from layers.errors import ParameterError
from layers.wdd import wdd, wdq

KEYS = {"est_local", "se_local", "est_displace", "se_displace", "est_total", "se_total", "z", "p",
        "low_ci", "high_ci"}


def test_published_example():
    # Wheeler & Ratcliffe (2018): total -118, SE sqrt(1568) = 39.60, z = -2.98, 95 % CI [-196, -40]
    r = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    assert set(r) == KEYS
    assert r["est_total"] == -118
    assert r["se_total"] == pytest.approx(math.sqrt(1568))
    assert round(r["se_total"], 2) == 39.60
    assert round(r["z"], 2) == -2.98
    assert (round(r["low_ci"]), round(r["high_ci"])) == (-196, -40)
    # local: (110 - 207) - (318 - 308) = -107, variance 207 + 110 + 308 + 318 = 943
    assert r["est_local"] == -107 and r["se_local"] == pytest.approx(math.sqrt(943))
    # displacement: (157 - 178) - (140 - 150) = -11, variance 625
    assert r["est_displace"] == -11 and r["se_displace"] == pytest.approx(25)
    assert r["p"] == pytest.approx(0.00288, abs=1e-4)


@pytest.mark.parametrize("args, local, displace", [
    (((20, 20), (20, 10)), -10, 0),
    (((20, 20), (20, 20), (20, 20), (20, 10)), 0, -10),
    (((20, 20), (20, 10), (20, 20), (20, 10)), -10, -10),
])
def test_hand_cases(args, local, displace):
    r = wdd(*args)
    assert (r["est_local"], r["est_displace"], r["est_total"]) == (local, displace, local + displace)


def test_weights_by_hand():
    # before 12 months, after 6 months; the treated place half the control's size
    r = wdd((120, 60), (60, 15), time_weights=(12, 6), area_weights=(1, 0.5, 1, 1), alpha=0.1)
    # rates: control 10 -> 10 per month; treated 60/(12*0.5) = 10 -> 15/(6*0.5) = 5
    assert r["est_local"] == pytest.approx(-5)
    # variance: 60/36 + 120/144 + 15/9 + 60/36
    assert r["se_local"] ** 2 == pytest.approx(60 / 36 + 120 / 144 + 15 / 9 + 60 / 36)
    assert r["high_ci"] - r["est_total"] == pytest.approx(1.6448536 * r["se_total"], rel=1e-6)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="treated"):
        wdd((1, 2), (1, -2))
    with pytest.raises(ParameterError, match="area_weights"):
        wdd((1, 2), (1, 2), area_weights=(1, 1))
    with pytest.raises(ParameterError, match="alpha"):
        wdd((1, 2), (1, 2), alpha=1.5)


def test_wdq_by_hand():
    # control flat; the place fell 50 -> 30, the ring 40 -> 36: diffusion of benefits
    r = wdq((100, 100), (50, 30), (40, 36))
    assert r["success_measure"] == pytest.approx(-0.4)
    assert r["buffer_measure"] == pytest.approx(-0.1)
    assert r["wdq"] == pytest.approx(0.25)
    assert (r["net_effect_local"], r["net_effect"]) == (20, 24)
    # the ring rose: displacement, WDQ < 0
    assert wdq((100, 100), (50, 30), (40, 50))["wdq"] < 0
    with pytest.raises(ParameterError):
        wdq((0, 5), (1, 1), (1, 1))
