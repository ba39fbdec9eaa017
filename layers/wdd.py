"""Did it work? The Weighted Displacement Difference test and the Weighted Displacement Quotient.

A place-based action (lighting repaired, a camera, target hardening…) is judged by the change of
incidents in the treated place against a comparison (control) area, and by what happened in a
ring around the place (displacement, or a diffusion of benefits) against the control's own ring.

==========  =======================================================================
``wdd``     Weighted Displacement Difference, its standard error, z and CI
            (Wheeler & Ratcliffe 2018)
``wdq``     Weighted Displacement Quotient and total net effect (Bowers & Johnson 2003)
==========  =======================================================================

References
----------
Wheeler, A. P. & Ratcliffe, J. H. (2018). A simple weighted displacement difference test to
evaluate place based crime interventions. Crime Science 7(11).
Bowers, K. J. & Johnson, S. D. (2003). Measuring the geographical displacement and diffusion of
benefit effects of crime prevention activity. Journal of Quantitative Criminology 19(3), 275-301.
"""

from __future__ import annotations

import math

from scipy import special

from layers.errors import ParameterError

__all__ = ["wdd", "wdq"]


def _pair(value, name: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a pair (before, after) of numbers, got {value!r}.", name) from None
    if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b < 0:
        raise ParameterError(f"{name} must hold non-negative counts, got {value!r}.", name)
    return a, b


def _weights(value, k: int, name: str) -> tuple[float, ...]:
    try:
        w = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be {k} positive numbers, got {value!r}.", name) from None
    if len(w) != k or not all(math.isfinite(v) and v > 0 for v in w):
        raise ParameterError(f"{name} must be {k} positive numbers, got {value!r}.", name)
    return w


def _z_quantile(alpha: float) -> float:
    """The two-sided normal quantile z_{1 - alpha/2} (scipy.special, without scipy.stats)."""
    return -math.sqrt(2.0) * float(special.erfcinv(2.0 * (1.0 - alpha / 2.0)))


def wdd(control, treated, disp_control=(0, 0), disp_treated=(0, 0), *, time_weights=(1, 1),
        area_weights=(1, 1, 1, 1), alpha: float = 0.1) -> dict:
    """The Weighted Displacement Difference test.

    Parameters
    ----------
    control, treated : pair of float
        Incidents ``(before, after)`` in the control area and in the treated place.
    disp_control, disp_treated : pair of float, default (0, 0)
        Incidents ``(before, after)`` in the rings around the control area and around the
        treated place (the displacement areas); zeros leave displacement out.
    time_weights : pair of float, default (1, 1)
        Lengths of the before and after periods (e.g. months): counts are compared as rates
        per unit of time.
    area_weights : 4 floats, default (1, 1, 1, 1)
        Sizes of the control, treated, displacement-control and displacement-treated areas, in
        that order (the order of the count arguments): counts are compared as rates per unit
        of area.
    alpha : float, default 0.1
        Level of the two-sided confidence interval.

    Returns
    -------
    dict
        ``est_local`` (change in the treated place minus change in the control),
        ``se_local``, ``est_displace`` (the same for the rings), ``se_displace``, ``est_total``
        (their sum: the WDD; negative means fewer incidents than expected), ``se_total``,
        ``z`` (``est_total / se_total``), ``p`` (two-sided), ``low_ci``, ``high_ci``.

    Notes
    -----
    With every count divided by its time and area weights, ``x / w``, the WDD is
    ``(T1 - T0) - (C1 - C0) + (D1 - D0) - (DC1 - DC0)``. Counts are taken as independent
    Poisson variables, so ``Var(x / w) = x / w**2`` and the variance of the WDD is the sum of
    those terms over the eight counts (with unit weights: the sum of the counts).

    Examples
    --------
    Wheeler & Ratcliffe's (2018) example:

    >>> r = wdd((308, 318), (207, 110), (150, 140), (178, 157), alpha=0.05)
    >>> r["est_total"], round(r["se_total"] ** 2), round(r["z"], 2)
    (-118.0, 1568, -2.98)
    >>> round(r["low_ci"]), round(r["high_ci"])
    (-196, -40)
    """
    c = _pair(control, "control")
    t = _pair(treated, "treated")
    dc = _pair(disp_control, "disp_control")
    dt = _pair(disp_treated, "disp_treated")
    tw = _weights(time_weights, 2, "time_weights")
    aw = _weights(area_weights, 4, "area_weights")
    if not 0 < float(alpha) < 1:
        raise ParameterError(f"alpha must lie between 0 and 1, got {alpha!r}.", "alpha")

    def change(pair, area):
        (b, a), (wb, wa) = pair, (tw[0] * area, tw[1] * area)
        return a / wa - b / wb, a / wa ** 2 + b / wb ** 2

    d_c, v_c = change(c, aw[0])
    d_t, v_t = change(t, aw[1])
    d_dc, v_dc = change(dc, aw[2])
    d_dt, v_dt = change(dt, aw[3])
    est_local, var_local = d_t - d_c, v_t + v_c
    est_displace, var_displace = d_dt - d_dc, v_dt + v_dc
    est_total, var_total = est_local + est_displace, var_local + var_displace
    se_total = math.sqrt(var_total)
    z = est_total / se_total if se_total > 0 else 0.0
    q = _z_quantile(float(alpha))
    return {
        "est_local": est_local, "se_local": math.sqrt(var_local),
        "est_displace": est_displace, "se_displace": math.sqrt(var_displace),
        "est_total": est_total, "se_total": se_total,
        "z": z, "p": float(special.erfc(abs(z) / math.sqrt(2.0))),
        "low_ci": est_total - q * se_total, "high_ci": est_total + q * se_total,
    }


def wdq(control, treated, disp_treated) -> dict:
    """The Weighted Displacement Quotient and the total net effect (Bowers & Johnson 2003).

    Parameters
    ----------
    control, treated, disp_treated : pair of float
        Incidents ``(before, after)`` in the control area, the treated place and the ring
        around it (the buffer).

    Returns
    -------
    dict
        ``success_measure`` (``Ra/Rb - Ca/Cb``: negative when the treated place did better than
        the control), ``buffer_measure`` (``Da/Db - Ca/Cb``), ``wdq`` (their ratio, read when
        the success measure is negative: > 0 diffusion of benefits to the ring, < 0
        displacement into it; None when undefined), ``net_effect`` (incidents
        prevented in the place and its ring, control-adjusted:
        ``(Rb Ca/Cb - Ra) + (Db Ca/Cb - Da)``; positive is good), ``net_effect_local`` (the
        place only).

    Examples
    --------
    >>> r = wdq((100, 100), (50, 30), (40, 36))
    >>> round(r["wdq"], 2), r["net_effect"]
    (0.25, 24.0)
    """
    cb, ca = _pair(control, "control")
    rb, ra = _pair(treated, "treated")
    db, da = _pair(disp_treated, "disp_treated")
    if cb <= 0:
        raise ParameterError("the control area needs incidents in the before period.", "control")
    ratio = ca / cb
    success = (ra / rb - ratio) if rb > 0 else None
    buffer = (da / db - ratio) if db > 0 else None
    quotient = buffer / success if success not in (None, 0) and buffer is not None else None
    local = rb * ratio - ra
    return {"success_measure": success, "buffer_measure": buffer, "wdq": quotient,
            "net_effect_local": local, "net_effect": local + (db * ratio - da)}
