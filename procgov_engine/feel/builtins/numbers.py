"""Numeric functions (DMN 1.4 §10.3.4.5; Camunda "Numeric functions").

Rounding works on the decimal value itself (no binary floating point), with the rounding mode the
function's name says; ``decimal()`` rounds half to even, as the specification requires.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

from procgov_engine.feel.builtins import _args
from procgov_engine.feel.functions import builtin
from procgov_engine.feel.values import DECIMAL_CONTEXT, YearsMonthsDuration


def _round(n: Any, scale: Any, mode: str) -> Decimal:
    value = _args.number(n)
    places = _args.integer(scale)
    if places < -6111 or places > 6176:
        raise ValueError("scale out of range")
    result = value.quantize(Decimal(1).scaleb(-places), rounding=mode, context=DECIMAL_CONTEXT)
    return result + 0 if result else Decimal(0)  # normalise -0 to 0


@builtin("decimal", ("n", "scale"))
def decimal_(n: Any, scale: Any) -> Decimal:
    return _round(n, scale, decimal.ROUND_HALF_EVEN)


@builtin("floor", ("n",), ("n", "scale"))
def floor(n: Any, scale: Any = Decimal(0)) -> Decimal:
    return _round(n, scale, decimal.ROUND_FLOOR)


@builtin("ceiling", ("n",), ("n", "scale"))
def ceiling(n: Any, scale: Any = Decimal(0)) -> Decimal:
    return _round(n, scale, decimal.ROUND_CEILING)


@builtin("round up", ("n",), ("n", "scale"))
def round_up(n: Any, scale: Any = Decimal(0)) -> Decimal:
    return _round(n, scale, decimal.ROUND_UP)


@builtin("round down", ("n",), ("n", "scale"))
def round_down(n: Any, scale: Any = Decimal(0)) -> Decimal:
    return _round(n, scale, decimal.ROUND_DOWN)


@builtin("round half up", ("n",), ("n", "scale"))
def round_half_up(n: Any, scale: Any = Decimal(0)) -> Decimal:
    return _round(n, scale, decimal.ROUND_HALF_UP)


@builtin("round half down", ("n",), ("n", "scale"))
def round_half_down(n: Any, scale: Any = Decimal(0)) -> Decimal:
    return _round(n, scale, decimal.ROUND_HALF_DOWN)


@builtin("abs", ("n",), ("number",))
def abs_(n: Any) -> Any:
    if isinstance(n, dt.timedelta):
        return abs(n)
    if isinstance(n, YearsMonthsDuration):
        return YearsMonthsDuration(abs(n.months))
    return abs(_args.number(n))


@builtin("modulo", ("dividend", "divisor"))
def modulo(dividend: Any, divisor: Any) -> Decimal | None:
    a, b = _args.number(dividend), _args.number(divisor)
    if not b:
        return None
    quotient = DECIMAL_CONTEXT.divide(a, b).to_integral_value(rounding=decimal.ROUND_FLOOR)
    return DECIMAL_CONTEXT.subtract(a, DECIMAL_CONTEXT.multiply(b, quotient))


@builtin("sqrt", ("number",))
def sqrt(number: Any) -> Decimal | None:
    value = _args.number(number)
    return None if value < 0 else value.sqrt(DECIMAL_CONTEXT)


@builtin("log", ("number",))
def log(number: Any) -> Decimal | None:
    value = _args.number(number)
    return None if value <= 0 else value.ln(DECIMAL_CONTEXT)


@builtin("exp", ("number",))
def exp(number: Any) -> Decimal:
    return _args.number(number).exp(DECIMAL_CONTEXT)


@builtin("odd", ("number",))
def odd(number: Any) -> bool:
    value = _args.number(number)
    return value == value.to_integral_value() and int(value) % 2 == 1


@builtin("even", ("number",))
def even(number: Any) -> bool:
    value = _args.number(number)
    return value == value.to_integral_value() and int(value) % 2 == 0
