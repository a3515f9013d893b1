"""Strict input types of the REST API schemas (issue 10).

Each value is taken as JSON sends it and as the OpenAPI document says, and nothing else: no
number or boolean read from a string, no date read from a number, no digits other than ASCII
0-9, no non-finite number, no NUL character or lone surrogate (PostgreSQL stores neither).
A refusal is a pydantic error on the field, answered 422
``{"errors": [{"field", "code", "message"}]}`` with the error's kind as ``code``.

``Query(...)`` declares a query parameter of an operation that refuses any other one (422).

Body fields: ``Text``, ``Int``, ``Id``, ``Bool``, ``Date``, ``DateTime``, ``Number``,
``NumberOrReading``, ``NumberOrText``. Query and path parameters arrive as strings: ``QueryInt``,
``QueryBool``, ``QueryDate``, ``PathId``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Annotated, Any

from annotated_types import Interval
from django.core.exceptions import ValidationError
from ninja import Schema
from ninja.params import models as params
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    Strict,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from alter_s006 import protocol as P

# The page forms' bounds (alter_s006/forms.py): no date of the trial lies outside them, and
# they keep date arithmetic far from year 1 / 9999.
DATE_MIN = P.EARLIEST_PLAUSIBLE_DATE
DATE_MAX = P.LATEST_PLAUSIBLE_DATE
ID_MAX = 2**63 - 1  # PostgreSQL bigint
INT_MAX = 2**31 - 1  # PostgreSQL integer

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")
_INTEGER = re.compile(r"-?[0-9]+")
# The years 1900-2100 (DATE_MIN to DATE_MAX), for the document; the validators check the days
DATE_PATTERN = r"^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
DATETIME_PATTERN = DATE_PATTERN.removesuffix("$")
DECIMAL_PATTERN = r"^[+-]?[0-9]+(\.[0-9]+)?$"
DIPSTICK_READINGS = ("negative", "trace", "1+", "2+", "3+", "4+")


class In(Schema):
    """A request body: a misspelt or unknown field is refused (422), not silently ignored."""

    model_config = ConfigDict(extra="forbid")


def _error(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(kind, message)


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise _error("nul_character", "NUL characters (\\u0000) are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _error("lone_surrogate", "Not valid Unicode (a lone surrogate).") from None
    return value


def _bounded(day: dt.date) -> dt.date:
    if not DATE_MIN <= day <= DATE_MAX:
        raise _error("date_range", f"Enter a date between {DATE_MIN} and {DATE_MAX}.")
    return day


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return _bounded(value)
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise _error("date_format", "Enter a date as YYYY-MM-DD.")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise _error("date_invalid", "This date does not exist.") from None
    return _bounded(day)


def _datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str) and _ISO_DATETIME.fullmatch(value):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _error("datetime_invalid", "This date and time does not exist.") from None
    else:
        raise _error("datetime_format", "Enter a date and time as YYYY-MM-DDTHH:MM[:SS][+HH:MM].")
    _bounded(moment.date())
    return moment


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _error("number_type", "Enter a number, not true or false.")
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _error("number_finite", "Enter a finite number.")
        number = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = Decimal(value)
    else:
        raise _error("number_format", "Enter a number (digits 0-9, a point for decimals).")
    if not number.is_finite():
        raise _error("number_finite", "Enter a finite number.")
    return number


def _number_or_reading(value: Any) -> Decimal | str:
    if isinstance(value, str) and value in DIPSTICK_READINGS:
        return value
    return _number(value)


def _number_or_text(value: Any) -> Decimal | str:
    if isinstance(value, str):
        return _clean_text(value)
    return _number(value)


def _query_int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not _INTEGER.fullmatch(value):
        raise _error("int_format", "Enter a whole number (digits 0-9).")
    return int(value)


def _query_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value not in ("true", "false"):
        raise _error("bool_format", "Enter true or false.")
    return value == "true"


_NUMBER_SCHEMA = {
    "anyOf": [{"type": "number"}, {"type": "string", "pattern": DECIMAL_PATTERN}],
    "examples": [120, "7.5"],
}

Text = Annotated[str, Strict(), AfterValidator(_clean_text)]
Int = Annotated[int, Strict(), Interval(ge=-INT_MAX, le=INT_MAX)]
Id = Annotated[int, Strict(), Interval(ge=1, le=ID_MAX)]
Bool = Annotated[bool, Strict()]
Date = Annotated[
    dt.date,
    PlainValidator(_date, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]
DateTime = Annotated[
    dt.datetime,
    PlainValidator(_datetime, json_schema_input_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATETIME_PATTERN}),
]
Number = Annotated[Decimal, PlainValidator(_number), WithJsonSchema(_NUMBER_SCHEMA)]
NumberOrReading = Annotated[
    Decimal | str,
    PlainValidator(_number_or_reading),
    WithJsonSchema(
        {
            "anyOf": [
                *_NUMBER_SCHEMA["anyOf"],
                {"type": "string", "enum": list(DIPSTICK_READINGS)},
            ]
        }
    ),
]

# A number, or text a form parses with its own messages (the screening CRF's lab values)
NumberOrText = Annotated[Decimal | str, PlainValidator(_number_or_text)]

QueryInt = Annotated[int, BeforeValidator(_query_int)]
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
QueryDate = Date
PathId = Annotated[int, Interval(ge=1, le=ID_MAX), BeforeValidator(_query_int)]


class _StrictQueryModel(params.QueryModel):
    """The query parameters of an operation: one it does not take is refused, not ignored."""

    @classmethod
    def get_request_data(cls, request, api, path_params):
        data = super().get_request_data(request, api, path_params)
        known = getattr(cls, "__ninja_flatten_map__", {})
        unknown = sorted(set(data or {}) - set(known))
        if unknown:
            message = "Unknown query parameter; this operation takes: " + ", ".join(known) + "."
            raise ValidationError({name: [message] for name in unknown})
        return data


class _StrictQuery(params.Query):
    _model = _StrictQueryModel

    @classmethod
    def _param_source(cls) -> str:
        return "query"


def Query(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802 - as ninja's Query()
    """A query parameter (``ninja.Query``) of an operation that refuses unknown ones."""
    return _StrictQuery(default, **kwargs)
