"""Reading a multivariate time series from a CSV file with a date column.

:func:`read_series` reads any CSV (plain or ``.gz``) whose first row names the columns, one
of them the timestamps (``date`` by default, e.g. ETTh1's ``date,HUFL,...,OT``); every other
chosen column must hold a number on every row. It checks, and reports as a
:class:`~amkit.errors.UserError` naming the file and the 1-based line (the header is line 1):

- a row with the wrong number of fields, an empty or ``NA`` / ``nan`` value (missing), a
  value that is not a number (a non-numeric column), ``inf``;
- a timestamp that does not parse (ISO 8601, e.g. ``2016-07-01 00:00:00``), that is not
  later than the one before (unsorted or duplicated);
- with ``freq`` (``h``, ``15min``, ``D``, ``30s``...), a step between two rows other than it;
- an option naming a column the header lacks (the option is named).

Legend: T rows (time steps), C channels (columns).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from amkit.errors import UserError
from amkit.textfile import open_text

__all__ = ["TimeSeries", "parse_freq", "read_series"]

_MISSING = {"", "na", "nan", "null", "none", "n/a", "-"}
_UNITS = {"s": 1, "sec": 1, "min": 60, "t": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass
class TimeSeries:
    """A series read by :func:`read_series`.

    Attributes:
        values: ``(T, C)`` float64, rows in time order.
        columns: the C column names, in ``values``' order.
        dates: the T timestamps as written in the file.
        path: the file it was read from.
    """

    values: np.ndarray
    columns: list[str]
    dates: list[str]
    path: Path

    def __len__(self) -> int:
        return len(self.values)


def parse_freq(freq: str, key: str = "freq") -> timedelta:
    """``"h"``, ``"1h"``, ``"15min"``, ``"D"``, ``"30s"``, ``"W"`` -> the step as a timedelta;
    anything else is a :class:`UserError` naming ``key``."""
    match = re.fullmatch(r"\s*(\d*)\s*([A-Za-z]+)\s*", freq or "")
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise UserError(
            f"{key}: {freq!r} is not a frequency; use a number and a unit, one of "
            f"{', '.join(sorted(_UNITS))} (e.g. h, 15min, D)"
        )
    return timedelta(seconds=int(match.group(1) or 1) * _UNITS[unit])


def _parse_date(text: str, path: Path, line: int) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"{path}:{line}: timestamp {text!r} is not a date (ISO 8601, e.g. 2016-07-01 00:00:00)"
        ) from None


def read_series(
    path: str | Path,
    date_column: str = "date",
    columns: list[str] | None = None,
    freq: str | None = None,
) -> TimeSeries:
    """Read the chosen columns of a CSV time series, checked (see the module docstring).

    Args:
        path: a CSV file, plain or ``.gz``, with a header row.
        date_column: the column of timestamps (option ``date_column``).
        columns: the value columns, in this order (option ``columns``); ``None``: every
            column but the date column, in file order.
        freq: the step every row must be after the one before; ``None``: not checked.

    Returns:
        A :class:`TimeSeries` of ``(T, C)`` values.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such time-series file")
    step = parse_freq(freq) if freq else None
    with open_text(path, newline="") as handle:
        rows = csv.reader(handle)
        try:
            header = [h.strip() for h in next(rows)]
        except StopIteration:
            raise UserError(
                f"{path}: empty file; expected a header row naming the columns"
            ) from None
        except csv.Error as error:
            raise UserError(f"{path}:1: not a CSV header ({error})") from None
        if date_column not in header:
            raise UserError(
                f"{path}:1: date_column {date_column!r} is not a column; the header has "
                f"{', '.join(header)}"
            )
        if len(set(header)) != len(header):
            raise UserError(f"{path}:1: a column name appears twice in the header: {header}")
        chosen = [h for h in header if h != date_column] if columns is None else list(columns)
        unknown = [c for c in chosen if c not in header or c == date_column]
        if unknown or not chosen:
            raise UserError(
                f"{path}: columns {unknown or chosen} are not value columns of the file; it has "
                f"{', '.join(h for h in header if h != date_column)}"
            )
        date_at, value_at = header.index(date_column), [header.index(c) for c in chosen]
        dates: list[str] = []
        values: list[list[float]] = []
        last: datetime | None = None
        line = 1
        try:
            for line, fields in enumerate(rows, start=2):
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue  # a blank line
                if len(fields) != len(header):
                    raise UserError(
                        f"{path}:{line}: {len(fields)} fields, the header has {len(header)}"
                    )
                stamp = _parse_date(fields[date_at], path, line)
                if last is not None and stamp <= last:
                    what = "duplicated" if stamp == last else "earlier than the row before"
                    raise UserError(
                        f"{path}:{line}: timestamp {fields[date_at]!r} is {what}; rows must be "
                        "sorted by time, each timestamp once"
                    )
                if step is not None and last is not None and stamp - last != step:
                    raise UserError(
                        f"{path}:{line}: {stamp - last} after the row before, not the step "
                        f"freq {freq!r} ({step}); fill the gap or drop freq"
                    )
                last = stamp
                row = []
                for name, at in zip(chosen, value_at, strict=True):
                    text = fields[at].strip()
                    if text.lower() in _MISSING:
                        raise UserError(
                            f"{path}:{line}: column {name!r} is missing a value; fill it (or "
                            "drop the column with the columns option)"
                        )
                    try:
                        number = float(text)
                    except ValueError:
                        raise UserError(
                            f"{path}:{line}: column {name!r} holds {text[:40]!r}, not a number"
                        ) from None
                    if not math.isfinite(number):
                        raise UserError(f"{path}:{line}: column {name!r} is {text!r}")
                    row.append(number)
                dates.append(fields[date_at].strip())
                values.append(row)
        except csv.Error as error:
            raise UserError(f"{path}:{line + 1}: not valid CSV ({error})") from None
    if not values:
        raise UserError(f"{path}: no data rows under the header")
    return TimeSeries(np.asarray(values, dtype=np.float64), chosen, dates, path)
