"""Declaration schemas: what each value may be, and one-line errors naming file and key.

The core owns the rules and the checks; each exercise writes its section's schema
with them, and the core assembles the declaration's schema from its lab's exercises.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from lab.core.errors import UserError


@dataclass(frozen=True)
class Rule:
    """What one value may be."""

    kind: type | tuple  # str, int, float, bool, list, "table"
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself is not allowed
    choices: tuple = ()
    items: Any = None  # Rule for list items, or a dict schema
    min_items: int = 0
    max_items: int | None = None
    optional: bool = False
    help: str = ""  # what the value does, for `--set`'s help (where users look for a command-line option)


def number(low=None, high=None, *, low_open=False, optional=False) -> Rule:
    return Rule(float, low, high, low_open, optional=optional)


def integer(low=None, high=None, *, optional=False) -> Rule:
    return Rule(int, low, high, optional=optional)


def text(*choices, optional=False, help="") -> Rule:
    return Rule(str, choices=choices, optional=optional, help=help)


def listof(item, low=1, high=None, *, optional=False) -> Rule:
    return Rule(list, items=item, min_items=low, max_items=high, optional=optional)


def notes(schema: dict, prefix: str = "") -> list[str]:
    """``KEY=CHOICES: help`` for every value of `schema` that has a help text."""
    found = []
    for key, rule in schema.items():
        if isinstance(rule, dict):
            found += notes(rule, f"{prefix}{key}.")
        elif rule.help:
            found.append(f"{prefix}{key}={'|'.join(map(str, rule.choices)) or 'VALUE'}: {rule.help}")
    return found


# --- validation ------------------------------------------------------------------


def validate(values: dict, schema: dict, filename: str, prefix: str = "") -> None:
    for key in values:
        if key not in schema:
            raise UserError(
                f"{filename}: {prefix}{key}: unknown key; "
                f"expected one of: {', '.join(schema)}{did_you_mean(key, schema)}"
            )
    for key, rule in schema.items():
        path = f"{prefix}{key}"
        if key not in values:
            if isinstance(rule, Rule) and rule.optional:
                continue
            raise UserError(f"{filename}: {path}: missing; add it (see the lab's default declaration)")
        check(values[key], rule, filename, path)


def did_you_mean(key: str, schema: dict) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(schema), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check(value: Any, rule: Rule | dict, filename: str, path: str) -> None:
    where = f"{filename}: {path}"
    if isinstance(rule, dict):
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a table, got {describe(value)}")
        validate(value, rule, filename, f"{path}.")
        return
    if rule.kind is list:
        check_list(value, rule, filename, path)
    elif rule.kind is str:
        check_text(value, rule, where)
    elif rule.kind is bool:
        if not isinstance(value, bool):
            raise UserError(f"{where}: expected true or false, got {describe(value)}")
    else:
        check_number(value, rule, where)


def check_list(value: Any, rule: Rule, filename: str, path: str) -> None:
    where = f"{filename}: {path}"
    if not isinstance(value, list):
        raise UserError(f"{where}: expected a list, got {describe(value)}")
    if len(value) < rule.min_items:
        raise UserError(f"{where}: needs at least {rule.min_items} item(s), got {len(value)}")
    if rule.max_items is not None and len(value) > rule.max_items:
        raise UserError(f"{where}: at most {rule.max_items} items, got {len(value)}")
    for index, item in enumerate(value):
        check(item, rule.items, filename, f"{path}.{index}")
    if rule.min_items == rule.max_items == 2 and value[0] >= value[1]:
        raise UserError(f"{where}: the range must go from low to high, got {value}")


def check_text(value: Any, rule: Rule, where: str) -> None:
    if not isinstance(value, str):
        hint = f' (put it in quotes: "{value}")' if isinstance(value, (int, float)) else ""
        raise UserError(f"{where}: expected a string, got {describe(value)}{hint}")
    if rule.choices and value not in rule.choices:
        raise UserError(f"{where}: {value!r} is not one of {', '.join(map(repr, rule.choices))}")
    if not rule.choices and not value.strip():
        raise UserError(f"{where}: must not be empty")


def check_number(value: Any, rule: Rule, where: str) -> None:
    wanted = "an integer" if rule.kind is int else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (rule.kind is int and not isinstance(value, int))
    ):
        raise UserError(f"{where}: expected {wanted}, got {describe(value)}")
    if not math.isfinite(value):
        raise UserError(f"{where}: expected a finite number, got {value}")
    below = rule.low is not None and (value <= rule.low if rule.low_open else value < rule.low)
    if below or (rule.high is not None and value > rule.high):
        low = "" if rule.low is None else f"{'>' if rule.low_open else '>='} {rule.low:g}"
        high = "" if rule.high is None else f"<= {rule.high:g}"
        bounds = " and ".join(b for b in (low, high) if b)
        raise UserError(f"{where}: {value!r} is out of range; it must be {bounds}")


def describe(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({json.dumps(value, default=str)[:40]})"
