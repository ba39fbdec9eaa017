"""Dates and times of source cells, read into time windows.

Dates (incident ``occurred_from`` / ``occurred_to``, camera ``installed``) are read from ISO 8601
(``2024-05-31``, ``2024-05-31T14:30``, with ``Z`` or an offset), ``dd/mm/yyyy`` and ``dd/mm/yy``
(``/``, ``-`` or ``.``, optional ``HH:MM[:SS]``), Excel serial day numbers, month-only
``YYYY-MM`` (police.uk) and bare years, or with an explicit ``date_format`` (strptime). Times
without an offset are local times of ``settings.timezone``. A value known to the day, month or
year gives a time window: ``occurred_from`` is its first instant and ``occurred_to`` the first
instant of the next day, month or year (local time, stored in UTC); an exact time leaves
``occurred_to`` empty. A column whose ``d/m`` values all have both parts <= 12 is ambiguous and
refused unless ``date_format`` is given; one whose second part exceeds 12 (US month/day) is
refused with the format to pass. Local times that happen twice when clocks go back take the
first (summer-time) instant; times that do not exist when clocks go forward move forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from layers.errors import InputError, ParameterError
from layers.io._common import _as_text

#: how precisely a value gives its time: exact, or a whole day, month or year
_RES_EXACT, _RES_DAY, _RES_MONTH, _RES_YEAR = 1, 2, 3, 4
_ISO_TZ = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
_ISO_DT = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
_ISO_D = r"^\d{4}-\d{1,2}-\d{1,2}$"
_ISO_M = r"^\d{4}-\d{1,2}$"
_YMD_SLASH = r"^\d{4}/\d{1,2}/\d{1,2}([T ]\d{1,2}:\d{2}(:\d{2})?)?$"
_MY = r"^\d{1,2}/\d{4}$"
_DMY = r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})(?:[ T]+(\d{1,2})[:hH](\d{2})(?::(\d{2}))?)?$"
_SERIAL = r"^\d{5}(\.\d+)?$"
_YEAR = r"^\d{4}(\.0+)?$"
_DATE_HELP = (
    "expected e.g. 2024-05-31, 2024-05-31T14:30, 31/05/2024 14:30, 2024-05 or an Excel serial "
    "number; pass --date-format for other layouts"
)


@dataclass
class _When:
    start: pd.Series  # datetime64[ns, UTC]
    end: pd.Series  # window end (exclusive), datetime64[ns, UTC]; NaT for exact times
    local_start: np.ndarray  # naive local datetime64[ns] (for date columns)
    empty: np.ndarray
    bad: np.ndarray  # non-empty and unparseable
    text: pd.Series


def _format_resolution(fmt: str) -> int:
    if any(d in fmt for d in ("%H", "%I", "%M", "%S", "%X", "%c", "%s")):
        return _RES_EXACT
    if any(d in fmt for d in ("%d", "%j", "%x")):
        return _RES_DAY
    if any(d in fmt for d in ("%m", "%b", "%B")):
        return _RES_MONTH
    return _RES_YEAR


def _parse_when(raw: pd.Series, *, column: str, tz, date_format: str | None, display: str,
                rows: np.ndarray) -> _When:
    n = len(raw)
    start = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")  # naive local
    aware = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")  # naive UTC
    res = np.zeros(n, dtype=np.int8)
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        text = _as_text(raw)
        empty = raw.isna().to_numpy()
        if getattr(raw.dt, "tz", None) is not None:
            aware[:] = raw.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
            res[~empty] = _RES_EXACT
        else:
            v = raw.to_numpy(dtype="datetime64[ns]")
            start[:] = v
            midnight = ~empty & (raw.dt.normalize().to_numpy(dtype="datetime64[ns]") == v)
            res[~empty] = np.where(midnight[~empty], _RES_DAY, _RES_EXACT)
        bad = np.zeros(n, dtype=bool)
    else:
        text = _as_text(raw)
        empty = (text == "").to_numpy()
        todo = ~empty

        def take(pattern):
            idx = np.flatnonzero(todo)
            if len(idx) == 0:
                return idx
            return idx[_matches(text.iloc[idx], pattern)]

        def put(idx, parsed, r):
            v = pd.Series(parsed).to_numpy(dtype="datetime64[ns]")
            ok = ~np.isnat(v)
            start[idx[ok]] = v[ok]
            res[idx[ok]] = r
            todo[idx] = False  # matched the layout: unparseable ones are reported below

        if date_format:
            idx = np.flatnonzero(todo)
            try:
                p = pd.to_datetime(text.iloc[idx], format=date_format, errors="coerce")
            except ValueError as exc:  # a bad directive ('%Q', a stray '%'), whatever the data
                raise ParameterError(
                    f"--date-format '{date_format}' is not a valid strptime format ({exc}); "
                    "e.g. '%d/%m/%Y %H:%M'.",
                    "date_format",
                ) from None
            if getattr(p.dt, "tz", None) is not None:
                v = p.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
                ok = ~np.isnat(v)
                aware[idx[ok]] = v[ok]
                res[idx[ok]] = _RES_EXACT
                todo[idx] = False
            else:
                put(idx, p, _format_resolution(date_format))
        else:
            idx = take(_ISO_TZ)
            if len(idx):
                p = pd.to_datetime(text.iloc[idx], format="ISO8601", utc=True, errors="coerce")
                v = p.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
                ok = ~np.isnat(v)
                aware[idx[ok]] = v[ok]
                res[idx[ok]] = _RES_EXACT
                todo[idx] = False
            idx = take(_ISO_DT)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx].str.replace(" ", "T", n=1), format="ISO8601",
                                        errors="coerce"), _RES_EXACT)
            idx = take(_ISO_D)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx], format="%Y-%m-%d", errors="coerce"), _RES_DAY)
            idx = take(_YMD_SLASH)
            if len(idx):
                t = text.iloc[idx]
                put(idx, pd.to_datetime(t.str.replace("/", "-", regex=False).str.replace(" ", "T", n=1),
                                        format="ISO8601", errors="coerce"), _RES_DAY)
                res[idx[t.str.contains(":", regex=False).to_numpy() & (res[idx] > 0)]] = _RES_EXACT
            idx = take(_ISO_M)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx], format="%Y-%m", errors="coerce"), _RES_MONTH)
            idx = take(_MY)
            if len(idx):
                put(idx, pd.to_datetime(text.iloc[idx], format="%m/%Y", errors="coerce"), _RES_MONTH)
            idx = take(_DMY)
            if len(idx):
                _put_dmy(idx, text, start, res, todo, column=column, display=display, rows=rows)
            idx = take(_SERIAL)
            if len(idx):
                v = text.iloc[idx].astype(float).to_numpy()
                inrange = (v >= 20000) & (v <= 80000)
                days = np.floor(v)
                secs = np.round((v - days) * 86400).astype("int64")
                dates = (np.datetime64("1899-12-30", "ns") + days.astype("int64").astype("timedelta64[D]")
                         + secs.astype("timedelta64[s]"))
                ok = idx[inrange]
                start[ok] = dates[inrange]
                res[ok] = np.where(v[inrange] == days[inrange], _RES_DAY, _RES_EXACT)
                todo[ok] = False
            idx = take(_YEAR)
            if len(idx):
                years = text.iloc[idx].astype(float).astype(int).to_numpy()
                inrange = (years >= 1800) & (years <= 2200)
                ok = idx[inrange]
                start[ok] = pd.to_datetime({"year": years[inrange], "month": 1, "day": 1}).to_numpy(
                    dtype="datetime64[ns]")
                res[ok] = _RES_YEAR
                todo[ok] = False
        bad = ~empty & (res == 0)
    # windows in local time -> UTC
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    for r, off in ((_RES_DAY, pd.DateOffset(days=1)), (_RES_MONTH, pd.DateOffset(months=1)),
                   (_RES_YEAR, pd.DateOffset(years=1))):
        m = (res == r) & ~np.isnat(start)
        if m.any():
            end[m] = (pd.Series(start[m]) + off).to_numpy(dtype="datetime64[ns]")
    start_utc = _localize(start, tz)
    end_utc = _localize(end, tz)
    has_aware = ~np.isnat(aware)
    if has_aware.any():
        a = pd.Series(aware).dt.tz_localize("UTC")
        start_utc = start_utc.where(~has_aware, a)
    return _When(start=start_utc, end=end_utc, local_start=start, empty=empty, bad=bad, text=text)


def _matches(text: pd.Series, pattern: str) -> np.ndarray:
    """Mask of ``text`` values matching ``pattern`` (RE2 through Arrow: pandas runs patterns
    ending in ``$`` through Python's ``re``, 20 times slower)."""
    arr = pa.array(text.astype("str"), type=pa.large_string())
    m = pc.match_substring_regex(arr, pattern)
    return np.asarray(m.to_numpy(zero_copy_only=False), dtype=bool)


def _localize(values: np.ndarray, tz) -> pd.Series:
    s = pd.Series(values, dtype="datetime64[ns]")
    if s.isna().all():
        return s.dt.tz_localize("UTC")
    return s.dt.tz_localize(
        tz, ambiguous=np.ones(len(s), dtype=bool), nonexistent="shift_forward"
    ).dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


_DMY_NAMED = (r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"
              r"(?:[ T]+(?P<H>\d{1,2})[:hH](?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")


def _ints(field) -> np.ndarray:
    field = pc.if_else(pc.equal(field, ""), "0", field)
    return pc.cast(field, pa.int64()).to_numpy(zero_copy_only=False)


def _put_dmy(idx, text, start, res, todo, *, column, display, rows) -> None:
    """Day/month/year values (two- or four-digit years, optional time), vectorised with Arrow."""
    parts = pc.extract_regex(pa.array(text.iloc[idx].astype("str"), type=pa.large_string()),
                             pattern=_DMY_NAMED)
    if isinstance(parts, pa.ChunkedArray):
        parts = parts.combine_chunks()
    a, b, yy = _ints(parts.field("a")), _ints(parts.field("b")), _ints(parts.field("y"))
    examples = ", ".join(f"row {rows[i]} '{text.iloc[i]}'" for i in idx[:3])
    if not (a > 12).any():
        if (b > 12).any():
            k = int(np.flatnonzero(b > 12)[0])
            raise InputError(
                f"{display}: column '{column}' holds dates such as '{text.iloc[idx[k]]}' "
                f"(row {rows[idx[k]]}) whose second number is above 12: they look like "
                "month/day (US order). Pass --date-format '%m/%d/%Y' (or '%m/%d/%y', with "
                "' %H:%M' if there is a time) to read them."
            )
        raise InputError(
            f"{display}: the dates of column '{column}' are ambiguous between day/month and "
            f"month/day: every value has both parts <= 12 ({examples}). Pass "
            "--date-format '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first)."
        )
    two = pc.utf8_length(parts.field("y")).to_numpy(zero_copy_only=False) == 2
    year = np.where(two, np.where(yy < 69, 2000 + yy, 1900 + yy), yy)
    hour_txt = parts.field("H")
    has_time = pc.not_equal(hour_txt, "").to_numpy(zero_copy_only=False)
    hour, minute, second = _ints(hour_txt), _ints(parts.field("M")), _ints(parts.field("S"))
    month, day = b, a
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (hour < 24) & (minute < 60) & (second < 60)
    ym = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    date = ym.astype("datetime64[D]") + (np.clip(day, 1, 31) - 1).astype("timedelta64[D]")
    ok &= date.astype("datetime64[M]") == ym  # 31/02 rolls into March: not a date
    when = (date.astype("datetime64[ns]") + hour.astype("timedelta64[h]")
            + minute.astype("timedelta64[m]") + second.astype("timedelta64[s]"))
    start[idx[ok]] = when[ok]
    res[idx[ok]] = np.where(has_time[ok], _RES_EXACT, _RES_DAY)
    todo[idx] = False


def _date_message(w: _When, date_format: str | None, suffix: str = ""):
    if date_format:
        return lambda i: f"'{w.text.iloc[i]}' does not match --date-format '{date_format}'"
    return lambda i: f"'{w.text.iloc[i]}' is not a date ({_DATE_HELP}){suffix}"
