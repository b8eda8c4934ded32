"""Typed access to parsed JSON with one-line errors that say where and what ("entry 3: request.url missing")."""

from __future__ import annotations

import math

# Larger integers cannot be stored by SQLite; larger bodies are cut like the recorder cuts them.
MAX_INT = 2**63 - 1


class BadInput(Exception):
    """A file that cannot be imported; the message is one line naming the place and the problem."""


_MISSING = object()

_KIND_NAMES = {str: "a string", dict: "an object", list: "a list", int: "a whole number", float: "a number",
               bool: "true or false", type(None): "null"}


def kind_name(value) -> str:
    return _KIND_NAMES.get(type(value), type(value).__name__)


def field(obj: dict, key: str, kind: type | tuple[type, ...], where: str, *, default=_MISSING):
    """`obj[key]` checked to be of `kind`; `default` (when given) stands in for a missing or null value."""
    value = obj.get(key, _MISSING)
    if type(value) is kind and kind is not int and kind is not float:
        return value  # the common case, checked cheaply: imports of 50k entries call this a million times
    if value is _MISSING or (value is None and default is not _MISSING):
        if default is _MISSING:
            raise BadInput(f"{_join(where, key)} missing")
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
        wanted = " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise BadInput(f"{_join(where, key)} is {kind_name(value)}, expected {wanted}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        check_number(value, _join(where, key))
    return value


def _join(where: str, key: str) -> str:
    """`entry 3:` + `request` -> `entry 3: request`; `entry 3: request` + `url` -> `entry 3: request.url`."""
    return f"{where} {key}" if where.endswith(":") else f"{where}.{key}"


def check_number(value: int | float, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"{where} is not a finite number")
    if abs(value) > MAX_INT:
        raise BadInput(f"{where} is too large ({str(value)[:20]}…)")


def clean(text: str) -> str:
    """JSON may carry lone surrogates (`\\ud800`), which SQLite and UTF-8 cannot hold: keep them visible as escapes."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def name_value_pairs(items, where: str) -> list[tuple[str, str]]:
    """HAR-style `[{"name": …, "value": …}, …]` as ordered pairs."""
    if not isinstance(items, list):
        raise BadInput(f"{where} is {kind_name(items)}, expected a list")
    pairs = []
    for index, item in enumerate(items, 1):
        if type(item) is dict and type(item.get("name")) is str and type(item.get("value")) is str:
            pairs.append((clean(item["name"]), clean(item["value"])))  # the common case, without the checks' cost
            continue
        if not isinstance(item, dict):
            raise BadInput(f"{where}[{index}] is {kind_name(item)}, expected an object")
        name = field(item, "name", str, f"{where}[{index}]")
        value = field(item, "value", (str, int, float), f"{where}[{index}]", default="")
        value = value if isinstance(value, str) else str(value)
        pairs.append((clean(name), clean(value)))
    return pairs


def pair_list(items, where: str) -> list[tuple[str, str]]:
    """The project's own `[[name, value], …]`."""
    if not isinstance(items, list):
        raise BadInput(f"{where} is {kind_name(items)}, expected a list")
    pairs = []
    for index, item in enumerate(items, 1):
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)):
            raise BadInput(f"{where}[{index}] is not a [name, value] pair of strings")
        pairs.append((clean(item[0]), clean(item[1])))
    return pairs
