"""Input bounds taken from the columns the input is written to, and the calendar the pages
accept, so a number or a date a form or serializer lets through always fits the database
(beyond its column it is a DataError, a 500) and its date arithmetic.

    quantity = serializers.IntegerField(**integer_bounds(ChargeLine, "quantity"))
    unit_price = serializers.DecimalField(**decimal_bounds(ChargeLine, "unit_price"))
    if amount > decimal_max(ChargeLine, "amount"): refuse
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

# Pages compute neighbouring periods (the previous month, a year back, the next day): the
# years 1900 to 2999 keep every such step inside Python's dates, and any real business day.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


def _field(model, name: str):
    return model._meta.get_field(name)


def integer_bounds(model, name: str) -> dict:
    """``min_value`` and ``max_value`` of an integer column (Django derives them from the
    database's integer type: -2147483648..2147483647, 0.. for a positive field)."""
    bounds = {}
    for validator in _field(model, name).validators:
        if isinstance(validator, MinValueValidator):
            bounds["min_value"] = max(bounds.get("min_value", validator.limit_value),
                                      validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            bounds["max_value"] = min(bounds.get("max_value", validator.limit_value),
                                      validator.limit_value)
    return bounds


def decimal_bounds(model, name: str) -> dict:
    """``max_digits`` and ``decimal_places`` of a decimal column."""
    field = _field(model, name)
    return {"max_digits": field.max_digits, "decimal_places": field.decimal_places}


def decimal_max(model, name: str) -> Decimal:
    """The largest value a decimal column holds (``numeric(14, 2)``: 999999999999.99)."""
    field = _field(model, name)
    places = Decimal(1).scaleb(-field.decimal_places)
    return Decimal(10) ** (field.max_digits - field.decimal_places) - places


def max_length(model, name: str) -> int:
    return _field(model, name).max_length


def date_in_range(value: dt.date) -> None:
    """Form and serializer validator: a date the pages can do arithmetic on."""
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError(
            _(
                "日期须在 %(first)s 至 %(last)s 之间 / "
                "The date must be between %(first)s and %(last)s"
            ),
            code="date_out_of_range",
            params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
