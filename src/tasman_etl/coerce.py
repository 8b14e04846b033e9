"""Coercions for the USAJOBS API's stringly types, and the annotated types that apply them.

The API is stringly typed and has changed shape over the years (usajobs-api.md §4):
pay comes as strings (``"111234.0"``, ``"$95,000"``), booleans as ``"True"``/``"Yes"``
or JSON booleans, dates as ISO 8601 (with or without a time, a fraction, a zone) or as US
month/day/year (``7/17/2025 12:00:00 AM``), and the rate interval as a code
(``"PA"`` + ``Description``) or as its label (``"Per Year"``). Each ``parse_*`` function
accepts every variant in the recorded payloads and raises ValueError, saying why, for the
rest; `Bool`, `Money`, `When`, `Text`, `Number` and `TextList` apply them to pydantic fields
(`tasman_etl.models`, `tasman_etl.historic_model`).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator

__all__ = [
    "ANNUAL_FACTORS",
    "RATE_INTERVAL_CODES",
    "RATE_INTERVAL_LABELS",
    "Bool",
    "Money",
    "Number",
    "Text",
    "TextList",
    "When",
    "parse_bool",
    "parse_datetime",
    "parse_decimal",
    "parse_float",
    "parse_text",
    "parse_text_list",
    "rate_interval_code",
]

# Rate interval labels -> codes (codelist `remunerationrateintervalcodes`, 2024-07).
RATE_INTERVAL_LABELS: dict[str, str] = {
    "bi-weekly": "BW",
    "biweekly": "BW",
    "fee basis": "FB",
    "per year": "PA",
    "per annum": "PA",
    "per day": "PD",
    "per hour": "PH",
    "per month": "PM",
    "piece work": "PW",
    "student stipend paid": "ST",
    "school year": "SY",
    "without compensation": "WC",
}
RATE_INTERVAL_CODES = frozenset(RATE_INTERVAL_LABELS.values())

# Multipliers to an annual figure; None = not annualisable (piece work, fee basis).
# 2,087 hours is OPM's standard work year; 260 work days; 26 pay periods.
ANNUAL_FACTORS: dict[str, Decimal | None] = {
    "PA": Decimal(1),
    "SY": Decimal(1),
    "PH": Decimal(2087),
    "PD": Decimal(260),
    "BW": Decimal(26),
    "PM": Decimal(12),
    "WC": Decimal(0),
    "ST": None,
    "FB": None,
    "PW": None,
}

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_MONEY_JUNK = re.compile(r"[\s$,]")


def parse_bool(value: Any) -> bool | None:
    """Coerce the API's booleans: JSON bools, "True"/"False", "Yes"/"No", "Y"/"N"; "" -> None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"not a boolean: {value!r}")
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "":
            return None
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"not a boolean: {value!r}")


def parse_decimal(value: Any) -> Decimal | None:
    """Coerce pay amounts exactly: "111234.0", "$95,000", 25.43 -> Decimal; "" -> None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not an amount: {value!r}")
    if isinstance(value, int):
        return _bounded(Decimal(value))
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"not an amount: {value!r}")
        # repr() is the shortest round-tripping text, so 25.43 stays 25.43.
        return _bounded(Decimal(repr(value)))
    if isinstance(value, str):
        text = _MONEY_JUNK.sub("", value)
        if text == "":
            return None
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
        if not amount.is_finite():
            raise ValueError(f"not an amount: {value!r}")
        return _bounded(amount)
    raise ValueError(f"not an amount: {value!r}")


# No pay is a quadrillion dollars; far larger values (1E+200000) also overflow numeric.
_MAX_AMOUNT = Decimal(10) ** 15


def _bounded(amount: Decimal) -> Decimal:
    if abs(amount) >= _MAX_AMOUNT:
        raise ValueError(f"amount out of range: {amount:.3E}")
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -20:  # numeric keeps at most 16,383 decimals
        raise ValueError(f"amount has too many decimal places: {amount:.3E}")
    return amount


# US month/day/year, as some responses carry it: `7/17/2025`, `07/17/2025`, optionally with
# a time `12:00:00 AM`, `7:05 PM`, `13:30`, `13:30:00.123` (24-hour when no AM/PM).
_US_DATE = re.compile(
    r"""
    (?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})
    (?:
        (?:\s+|T)
        (?P<hour>\d{1,2}):(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
        (?:\s*(?P<half>[AaPp])\.?[Mm]\.?)?
    )?
    """,
    re.VERBOSE,
)
# ISO 8601 in its extended form (the only one the API writes); month and day may lack
# their zero (`2025-7-1`). A fraction of more than six digits (.NET writes seven) is cut
# to six: Python keeps microseconds.
_ISO_DATE = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})(?=$|[T ])")
_LONG_FRACTION = re.compile(r"(?<=[0-9]{2}:[0-9]{2}:[0-9]{2}[.,])([0-9]{6})[0-9]+")


def _us_datetime(match: re.Match[str], value: str) -> datetime:
    """The datetime of a `_US_DATE` match; ValueError naming what is impossible."""
    month, day, year = int(match["month"]), int(match["day"]), int(match["year"])
    hour = int(match["hour"] or 0)
    minute = int(match["minute"] or 0)
    second = int(match["second"] or 0)
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    if match["half"] is not None:
        if not 1 <= hour <= 12:
            raise ValueError(f"impossible date {value!r}: hour {hour} with AM/PM")
        hour = hour % 12 + (12 if match["half"] in "Pp" else 0)
    if not 1 <= month <= 12:
        raise ValueError(f"impossible date {value!r}: month {month} (month/day/year)")
    try:
        return datetime(year, month, day, hour, minute, second, micro)
    except ValueError as exc:
        raise ValueError(f"impossible date {value!r}: {exc}") from None


def _iso_datetime(text: str, value: str) -> datetime:
    """An ISO 8601 date or date-time (extended form); ValueError saying why not."""
    if _already_normal(text):
        # What the API almost always sends (`2025-07-17T00:00:00.0000`): the text the
        # normalisation below would produce, so `fromisoformat` reads it as is.
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass  # the general path says why
    iso = _ISO_DATE.match(text)
    if iso is None or len(text) > 64:
        raise ValueError(f"not a date: {_shown(value)}")
    month, day = int(iso["month"]), int(iso["day"])
    try:
        date(int(iso["year"]), month, day)
    except ValueError as exc:
        raise ValueError(f"impossible date {_shown(value)}: {exc}") from None
    normal = f"{iso['year']}-{month:02d}-{day:02d}" + text[iso.end() :]
    try:
        return datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", normal))
    except ValueError:
        raise ValueError(f"not a date: {_shown(value)}") from None


def _already_normal(text: str) -> bool:
    """`_ISO_DATE` matches with two-digit month and day, and no fraction past six digits."""
    return (
        10 <= len(text) <= 26
        and text.isascii()
        and text[4] == "-"
        and text[7] == "-"
        and text[:4].isdigit()
        and text[5:7].isdigit()
        and text[8:10].isdigit()
        and (len(text) == 10 or text[10] in "T ")
    )


def parse_datetime(value: Any) -> datetime | None:
    """Parse every date form the API has served; zone-less = UTC.

    ISO 8601 (`2025-07-17T00:00:00.0000`, `2021-04-05`, `2016-05-03T00:00:00Z`,
    `2025-07-17 12:00:00`, any number of fraction digits, `Z` or an offset) and US
    month/day/year (`7/17/2025`, `07/17/2025`, `7/17/2025 12:00:00 AM`). An impossible
    date (`2/30/2025`, `13/01/2025`) raises ValueError saying why.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            return None
        us = _US_DATE.fullmatch(text)
        parsed = _us_datetime(us, value) if us is not None else _iso_datetime(text, value)
    else:
        raise ValueError(f"not a date: {_shown(value)}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    # PostgreSQL refuses offsets past +-15:59 that Python accepts: hand it UTC.
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"date out of range: {_shown(value)}") from None


def _shown(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters (a reason must stay short)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_text(value: Any) -> str | None:
    """Accept strings and numbers as text (the API sends both for codes); "" stays ""."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__}")


def parse_float(value: Any) -> float | None:
    """Coordinates come as JSON numbers; accept numeric strings too."""
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"not a number: {value!r}") from None
    else:
        raise ValueError(f"not a number: {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {value!r}")
    return number


def parse_text_list(value: Any) -> list[str]:
    """A list of strings; None -> []; a lone string -> [string]."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        for element in value:
            if type(element) is not str:
                break
        else:  # the usual case: strings only, nothing to convert or drop
            return list(value)
        out = []
        for element in value:
            text = parse_text(element)
            if text is not None:
                out.append(text)
        return out
    raise ValueError(f"expected a list of strings, got {type(value).__name__}")


def rate_interval_code(code: str | None, description: str | None) -> str | None:
    """Normalise old (`"Per Year"`) and new (`"PA"` + Description) rate intervals to one code."""
    for candidate in (code, description):
        if not candidate:
            continue
        text = candidate.strip()
        if text.upper() in RATE_INTERVAL_CODES:
            return text.upper()
        mapped = RATE_INTERVAL_LABELS.get(text.lower())
        if mapped:
            return mapped
    return code.strip() if code and code.strip() else None


Bool = Annotated[bool | None, BeforeValidator(parse_bool)]
Money = Annotated[Decimal | None, BeforeValidator(parse_decimal)]
When = Annotated[datetime | None, BeforeValidator(parse_datetime)]
Text = Annotated[str | None, BeforeValidator(parse_text)]
Number = Annotated[float | None, BeforeValidator(parse_float)]
TextList = Annotated[list[str], BeforeValidator(parse_text_list)]
