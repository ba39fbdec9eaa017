"""Risk terrain modelling: relative risk of places near shops, bars, schools, lamps…

Cell counts of incidents are regressed (Poisson or negative binomial GLM) on features of the
place: *proximity* (the cell's centre lies within ``distance_m`` of at least one feature of a
layer) and, optionally, *density* (number of such features within ``distance_m``). The
relative risk value of a factor is ``exp(coefficient)``: how many times more incidents a cell
near that factor has, other factors equal (Caplan & Kennedy 2011).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from layers.checks import check_layer, check_metric, positive_number
from layers.errors import InputError, ParameterError
from layers.recommend._common import (
    _check_incidents,
    _to,
    _xy,
)
from layers.recommend.context import _categories
from layers.registry import Taxonomy

__all__ = ["risk_surface", "risk_terrain", "rtm_features"]

MODELS = ("poisson", "negbin")


def rtm_features(grid: gpd.GeoDataFrame, features: dict, *, distance_m: float,
                 density: bool = False) -> pd.DataFrame:
    """The explanatory table: one row per cell, ``near_<name>`` (0/1) and, with ``density``,
    ``n_<name>`` (features within ``distance_m`` of the cell's centre)."""
    cx = shapely.centroid(grid.geometry.values)
    cxy = np.column_stack([shapely.get_x(cx), shapely.get_y(cx)])
    cols = {}
    for name, layer in features.items():
        if layer is None:
            continue
        check_layer(layer, f"'{name}' feature layer", allow_empty=True)
        lyr = _to(layer, grid.crs)
        lxy = _xy(lyr.set_geometry(lyr.geometry.centroid) if len(lyr) and not
                  (lyr.geom_type == "Point").all() else lyr)
        if len(lxy) == 0:
            cnt = np.zeros(len(cxy), dtype=int)
        else:
            cnt = np.array([len(x) for x in cKDTree(lxy).query_ball_point(cxy, distance_m)])
        cols[f"near_{name}"] = (cnt > 0).astype(float)
        if density:
            cols[f"n_{name}"] = cnt.astype(float)
    return pd.DataFrame(cols, index=grid.index)


def risk_terrain(
    incidents: gpd.GeoDataFrame,
    grid: gpd.GeoDataFrame,
    *,
    features: dict,
    distance_m: float = 150.0,
    model: str = "poisson",
    density: bool = False,
    include_sensitive: bool = False,
    categories=None,
    taxonomy: Taxonomy | None = None,
) -> pd.DataFrame:
    """Relative risk of places near each kind of feature (risk terrain modelling).

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents (reprojected to the grid's CRS).
    grid : GeoDataFrame
        Cells (``layers.grid.make_grid``) in a metric CRS.
    features : dict of str -> GeoDataFrame
        Risk factors by name, e.g. ``{"shops": shops, "bars": bars, "schools": schools,
        "lights": lights}`` (points; polygons use their centroid).
    distance_m : float, default 150
        Influence distance of a feature, metres (Caplan & Kennedy use about a block or two).
    model : {"poisson", "negbin"}
        Poisson GLM, or negative binomial with its dispersion estimated by maximum
        likelihood (``statsmodels.discrete.discrete_model.NegativeBinomial``), better when
        counts are overdispersed.
    density : bool, default False
        Also enter the number of features within ``distance_m``.
    include_sensitive, categories, taxonomy
        Which incidents to count (default every non-sensitive category).

    Returns
    -------
    DataFrame
        One row per factor kept: ``factor`` (e.g. ``near_bars``), ``feature``, ``kind``
        ('proximity' or 'density'), ``coefficient``, ``std_error``, ``rr`` (relative risk
        value, exp(coefficient); per extra feature for density), ``ci_low``, ``ci_high`` (95 %
        Wald interval of the RR), ``p_value``, ``cells_exposed`` (cells near at least one);
        sorted by ``rr`` descending. ``attrs["vigie"]``: ``model``, ``n_cells``,
        ``n_incidents``, ``distance_m``, ``intercept``, ``aic``, ``alpha`` (negbin dispersion),
        ``dropped`` (factors without variation: every cell or no cell exposed), ``crs``.

    References
    ----------
    Caplan, J. M. & Kennedy, L. W. (2011). *Risk Terrain Modeling Compendium*. Rutgers Center
    on Public Security. Caplan, J. M., Kennedy, L. W. & Miller, J. (2011). Risk terrain
    modeling: brokering criminological theory and GIS methods for crime forecasting.
    *Justice Quarterly* 28(2), 360–381.
    """
    import statsmodels.api as sm

    _check_incidents(incidents)
    check_layer(grid, "grid layer", kinds=("Polygon", "MultiPolygon"))
    check_metric(grid, "grid")
    if model not in MODELS:
        raise ParameterError(f"model must be one of {', '.join(MODELS)}, got '{model}'.", "model")
    if not isinstance(features, dict) or not features:
        raise ParameterError("features must be a non-empty dict name -> GeoDataFrame.", "features")
    d = positive_number(distance_m, "distance_m")
    cats = _categories(taxonomy, include_sensitive, categories)
    inc = _to(incidents, grid.crs)
    inc = inc[inc["category"].isin(cats)]
    ii, cc = grid.sindex.query(inc.geometry.values, predicate="intersects")
    first = pd.Series(cc).groupby(ii).min()
    y = np.bincount(first.to_numpy(), minlength=len(grid)).astype(float)
    X = rtm_features(grid, features, distance_m=d, density=density)
    dropped = [c for c in X.columns if X[c].nunique() < 2]
    X = X.drop(columns=dropped)
    if X.shape[1] == 0:
        raise InputError(
            "No risk factor varies across the cells (every cell or none is near each layer): "
            "change distance_m or the grid."
        )
    exog = sm.add_constant(X.to_numpy(), has_constant="add")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fit = sm.GLM(y, exog, family=sm.families.Poisson()).fit()
        params, bse, pvals = fit.params, fit.bse, fit.pvalues
        alpha = None
        if model == "negbin":
            # NB2 by maximum likelihood, started from the Poisson fit
            nb = sm.NegativeBinomial(y, exog).fit(
                start_params=np.append(fit.params, 0.5), method="bfgs", maxiter=1000, disp=0
            )
            if not np.all(np.isfinite(nb.bse)):
                raise InputError(
                    "The negative binomial model did not converge on these counts; use "
                    "model='poisson' or a larger cell size."
                )
            fit = nb
            params, bse, pvals = nb.params[:-1], nb.bse[:-1], nb.pvalues[:-1]
            alpha = float(nb.params[-1])
    rows = []
    for i, col in enumerate(X.columns, start=1):
        kind = "proximity" if col.startswith("near_") else "density"
        feat = col.split("_", 1)[1]
        rows.append({
            "factor": col, "feature": feat, "kind": kind,
            "coefficient": float(params[i]), "std_error": float(bse[i]),
            "rr": float(np.exp(params[i])),
            "ci_low": float(np.exp(params[i] - 1.959963984540054 * bse[i])),
            "ci_high": float(np.exp(params[i] + 1.959963984540054 * bse[i])),
            "p_value": float(pvals[i]),
            "cells_exposed": int((X[col] > 0).sum()),
        })
    out = pd.DataFrame(rows).sort_values("rr", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs["vigie"] = {
        "model": model, "n_cells": len(grid), "n_incidents": int(y.sum()),
        "distance_m": d, "intercept": float(params[0]), "aic": float(fit.aic), "alpha": alpha,
        "dropped": dropped, "density": bool(density), "crs": grid.crs.to_string(),
    }
    return out


def risk_surface(grid: gpd.GeoDataFrame, table: pd.DataFrame, *, features: dict) -> gpd.GeoDataFrame:
    """The risk terrain map: each cell's relative risk score from a :func:`risk_terrain` table.

    Parameters
    ----------
    grid : GeoDataFrame
        Cells (the grid the model was fitted on, or another one in a metric CRS).
    table : DataFrame
        The result of :func:`risk_terrain` (its ``attrs["vigie"]`` gives the distance and
        whether density terms were used).
    features : dict
        The same layers as for the fit.

    Returns
    -------
    GeoDataFrame
        A copy of ``grid`` with the factor columns (``near_<name>``, ``n_<name>``) and
        ``relative_risk`` = exp(sum of coefficient × factor): how many times the expected count
        of a cell with no factor present (1 where none is). Caplan & Kennedy's relative risk
        score.
    """
    meta = table.attrs.get("vigie", {})
    if "distance_m" not in meta:
        raise ParameterError("table must be the result of risk_terrain (its attrs are missing).",
                             "table")
    check_layer(grid, "grid layer", kinds=("Polygon", "MultiPolygon"))
    X = rtm_features(grid, features, distance_m=meta["distance_m"],
                     density=bool(meta.get("density")))
    missing = [f for f in table["factor"] if f not in X.columns]
    if missing:
        raise ParameterError(f"features lack the layers of the factors {', '.join(missing)}.",
                             "features")
    lin = np.zeros(len(grid))
    for _, r in table.iterrows():
        lin += r["coefficient"] * X[r["factor"]].to_numpy()
    out = grid.copy()
    for col in table["factor"]:
        out[col] = X[col].to_numpy()
    out["relative_risk"] = np.exp(lin)
    return out
