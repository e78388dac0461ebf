"""List functions (DMN 1.4 §10.3.4.4; Camunda "List functions").

Aggregations accept a list or the values as separate arguments (``sum([1, 2])`` = ``sum(1, 2)``);
they are null for an empty list or when an element is not a number, as the specification says.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from procgov_engine.feel.builtins import _args
from procgov_engine.feel.functions import builtin
from procgov_engine.feel.values import DECIMAL_CONTEXT, FeelFunction, feel_equals, feel_less, list_contains


def _numbers(values: list[Any]) -> list[Decimal]:
    return [_args.number(value) for value in values]


def _position(length: int, position: Any) -> int:
    index = _args.integer(position)
    if index > 0 and index <= length:
        return index - 1
    if index < 0 and -index <= length:
        return length + index
    raise IndexError(f"position {index} is outside a list of {length}")


@builtin("list contains", ("list", "element"))
def list_contains_(items: Any, element: Any) -> bool:
    return list_contains(_args.items(items), element)


@builtin("count", ("list",), variadic=True)
def count(*args: Any) -> Decimal:
    return Decimal(len(_args.spread(args)))


def _extreme(values: list[Any], smallest: bool) -> Any:
    if not values:
        return None
    best = values[0]
    for value in values[1:]:
        less = feel_less(value, best) if smallest else feel_less(best, value)
        if less is None:
            raise TypeError("values are not comparable")
        if less:
            best = value
    return best


@builtin("min", ("list",), variadic=True)
def min_(*args: Any) -> Any:
    return _extreme(_args.spread(args), smallest=True)


@builtin("max", ("list",), variadic=True)
def max_(*args: Any) -> Any:
    return _extreme(_args.spread(args), smallest=False)


@builtin("sum", ("list",), variadic=True)
def sum_(*args: Any) -> Decimal | None:
    values = _numbers(_args.spread(args))
    if not values:
        return None
    total = Decimal(0)
    for value in values:
        total = DECIMAL_CONTEXT.add(total, value)
    return total


@builtin("product", ("list",), variadic=True)
def product(*args: Any) -> Decimal | None:
    values = _numbers(_args.spread(args))
    if not values:
        return None
    result = Decimal(1)
    for value in values:
        result = DECIMAL_CONTEXT.multiply(result, value)
    return result


@builtin("mean", ("list",), variadic=True)
def mean(*args: Any) -> Decimal | None:
    values = _numbers(_args.spread(args))
    if not values:
        return None
    total = sum_(values)
    assert total is not None
    return DECIMAL_CONTEXT.divide(total, Decimal(len(values)))


@builtin("median", ("list",), variadic=True)
def median(*args: Any) -> Decimal | None:
    values = sorted(_numbers(_args.spread(args)))
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return DECIMAL_CONTEXT.divide(values[middle - 1] + values[middle], Decimal(2))


@builtin("stddev", ("list",), variadic=True)
def stddev(*args: Any) -> Decimal | None:
    """Sample standard deviation (n - 1), as Camunda computes it."""
    values = _numbers(_args.spread(args))
    if len(values) < 2:
        return None
    average = DECIMAL_CONTEXT.divide(sum(values, Decimal(0)), Decimal(len(values)))
    squares = sum(((value - average) ** 2 for value in values), Decimal(0))
    return DECIMAL_CONTEXT.divide(squares, Decimal(len(values) - 1)).sqrt(DECIMAL_CONTEXT)


@builtin("mode", ("list",), variadic=True)
def mode(*args: Any) -> list[Decimal]:
    values = _numbers(_args.spread(args)) if args != ([],) else []
    counts: dict[Decimal, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    if not counts:
        return []
    most = max(counts.values())
    return sorted(value for value, seen in counts.items() if seen == most)


@builtin("all", ("list",), variadic=True)
def all_(*args: Any) -> bool | None:
    values = _args.spread(args) if args != ([],) else []
    if any(value is False for value in values):
        return False
    return True if all(value is True for value in values) else None


@builtin("any", ("list",), variadic=True)
def any_(*args: Any) -> bool | None:
    values = _args.spread(args) if args != ([],) else []
    if any(value is True for value in values):
        return True
    return False if all(value is False for value in values) else None


@builtin("sublist", ("list", "start position"), ("list", "start position", "length"))
def sublist(items: Any, start: Any, length: Any = None) -> list[Any]:
    values = _args.items(items)
    begin = _position(len(values), start)
    if length is None:
        return values[begin:]
    return values[begin : begin + _args.integer(length)]


@builtin("append", ("list", "items"), variadic=True)
def append(items: Any, *more: Any) -> list[Any]:
    return [*_args.items(items), *more]


@builtin("concatenate", ("lists",), variadic=True)
def concatenate(*lists: Any) -> list[Any]:
    result: list[Any] = []
    for items in lists:
        result.extend(_args.items(items))
    return result


@builtin("insert before", ("list", "position", "newItem"))
def insert_before(items: Any, position: Any, new_item: Any) -> list[Any]:
    values = list(_args.items(items))
    values.insert(_position(len(values), position), new_item)
    return values


@builtin("remove", ("list", "position"))
def remove(items: Any, position: Any) -> list[Any]:
    values = list(_args.items(items))
    del values[_position(len(values), position)]
    return values


@builtin("reverse", ("list",))
def reverse(items: Any) -> list[Any]:
    return list(reversed(_args.items(items)))


@builtin("index of", ("list", "match"))
def index_of(items: Any, match: Any) -> list[Decimal]:
    return [Decimal(i + 1) for i, item in enumerate(_args.items(items)) if feel_equals(item, match) is True]


def _distinct(values: list[Any]) -> list[Any]:
    result: list[Any] = []
    for value in values:
        if not list_contains(result, value):
            result.append(value)
    return result


@builtin("union", ("lists",), variadic=True)
def union(*lists: Any) -> list[Any]:
    return _distinct(concatenate(*lists))


@builtin("duplicate values", ("list",))
def duplicate_values(items: Any) -> list[Any]:
    values = _args.items(items)
    duplicates: list[Any] = []
    for index, value in enumerate(values):
        if list_contains(values[index + 1 :], value) and not list_contains(duplicates, value):
            duplicates.append(value)
    return duplicates


@builtin("list replace", ("list", "position", "newItem"), ("list", "match", "newItem"))
def list_replace(items: Any, position: Any, new_item: Any) -> list[Any]:
    """Replace the item at a position, or every item for which ``match(item, newItem)`` is true."""
    values = list(_args.items(items))
    if isinstance(position, FeelFunction):
        return [new_item if position.call(value, new_item) is True else value for value in values]
    values[_position(len(values), position)] = new_item
    return values


@builtin("partition", ("list", "size"))
def partition(items: Any, size: Any) -> list[list[Any]]:
    values = _args.items(items)
    step = _args.integer(size)
    if step <= 0:
        raise ValueError("partition size must be positive")
    return [values[i : i + step] for i in range(0, len(values), step)]


@builtin("distinct values", ("list",))
def distinct_values(items: Any) -> list[Any]:
    return _distinct(_args.items(items))


def _flatten(values: list[Any]) -> list[Any]:
    result: list[Any] = []
    for value in values:
        if isinstance(value, list):
            result.extend(_flatten(value))
        else:
            result.append(value)
    return result


@builtin("flatten", ("list",))
def flatten(items: Any) -> list[Any]:
    return _flatten(_args.items(items))


@builtin("sort", ("list",), ("list", "precedes"))
def sort(items: Any, precedes: Any = None) -> list[Any]:
    values = _args.items(items)
    if precedes is None:

        def before(a: Any, b: Any) -> Any:
            return feel_less(a, b)

    elif isinstance(precedes, FeelFunction):
        before = precedes.call
    else:
        raise TypeError("'precedes' must be a function")

    def order(a: Any, b: Any) -> int:
        first = before(a, b)
        if first is None:
            raise TypeError("sort function returned null")
        if first:
            return -1
        return 1 if before(b, a) else 0

    return sorted(values, key=functools.cmp_to_key(order))


@builtin("is empty", ("list",))
def is_empty(items: Any) -> bool:
    return not _args.items(items)
