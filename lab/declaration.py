"""The lab declaration: TOML → validated values, with --set overrides and --quick scaling.

The packaged ``lab13.toml`` holds every default. A user's file is laid over it
(tables merge, everything else replaces), overrides are applied, and the
result is checked against ``SCHEMA``: every problem is one line naming the
file, the key path and what to do.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import UserError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PACKAGED = Path(__file__).with_name("lab13.toml")
DEFAULT_NAME = "lab13.toml"


# --- the schema ----------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """What one value may be."""

    kind: type | tuple                       # str, int, float, bool, list, "table"
    low: float | None = None
    high: float | None = None
    low_open: bool = False                   # low itself is not allowed
    choices: tuple = ()
    items: Any = None                        # Rule for list items, or a dict schema
    min_items: int = 0
    max_items: int | None = None
    optional: bool = False


def number(low=None, high=None, *, low_open=False, optional=False) -> Rule:
    return Rule(float, low, high, low_open, optional=optional)


def integer(low=None, high=None, *, optional=False) -> Rule:
    return Rule(int, low, high, optional=optional)


def text(*choices, optional=False) -> Rule:
    return Rule(str, choices=choices, optional=optional)


def listof(item, low=1, high=None, *, optional=False) -> Rule:
    return Rule(list, items=item, min_items=low, max_items=high, optional=optional)


X_RANGE = listof(number(-1e4, 1e4), 2, 2)
LEARNING_RATE = number(0, 1e6, low_open=True)

SCHEMA: dict[str, Any] = {
    "student": {"name": text(), "id": text(), "class": text()},
    "report": {
        "lang": text("zh", "en"), "out": text(), "reflections": text(), "answers": text(),
        "title": text(optional=True),
    },
    "fit": {
        "function": text(), "samples": integer(10, 100_000), "x_range": X_RANGE,
        "noise_std": number(0, 1e3), "seeds": listof(integer(0, 2**32 - 1), 1, 20),
        "hidden": listof(integer(1, 1024), 1, 6), "grid_points": integer(10, 100_000),
        "heldout_samples": integer(10, 100_000),
        "epochs": {"values": listof(integer(1, 1_000_000), 1, 8), "lr": LEARNING_RATE},
        "lr": {"values": listof(LEARNING_RATE, 1, 8), "epochs": integer(1, 1_000_000)},
        "custom": {
            "function": text(), "validation_fraction": number(0.05, 0.5),
            "x_range": Rule(list, items=number(-1e4, 1e4), min_items=2, max_items=2, optional=True),
            "samples": integer(10, 100_000, optional=True),
            "noise_std": number(0, 1e3, optional=True),
            "search": {
                "lrs": listof(LEARNING_RATE, 1, 8),
                "epochs": listof(integer(1, 1_000_000), 1, 8),
                "widths": listof(integer(1, 1024), 1, 4),
            },
        },
    },
    "cifar": {
        "phases": listof({"lr": LEARNING_RATE, "epochs": integer(1, 1000)}, 1, 10),
        "batch_size": integer(1, 8192), "weight_decay": number(0, 1), "momentum": number(0, 0.999),
        "data": text(), "download": Rule(bool), "seed": integer(0, 2**32 - 1),
        "precision": text("auto", "fp32", "bf16"),
        "train_subset": integer(10, 50_000, optional=True),
        "test_subset": integer(10, 10_000, optional=True),
    },
}


# --- loading ---------------------------------------------------------------------

@dataclass
class Declaration:
    values: dict
    path: Path                    # the user's file, or the packaged default
    folder: Path                  # where relative paths in it resolve
    quick: bool = False
    overrides: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        canonical = json.dumps(self.values, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def resolve(self, relative: str) -> Path:
        path = Path(relative).expanduser()
        return path if path.is_absolute() else self.folder / path


def find_file(config: Path | None, cwd: Path | None = None) -> tuple[Path, Path]:
    """(file to read, folder paths resolve against)."""
    cwd = cwd or Path.cwd()
    if config is not None:
        if not config.exists():
            raise UserError(f"{config}: no such declaration file; check the --config path")
        return config, config.resolve().parent
    local = cwd / DEFAULT_NAME
    if local.exists():
        return local, cwd
    return PACKAGED, cwd


def display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{display(path)}: not valid TOML ({error}); fix the syntax at that line") from error
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the declaration ({error})") from error


def load(config: Path | None = None, overrides: list[str] = (), quick: bool = False,
         cwd: Path | None = None) -> Declaration:
    path, folder = find_file(config, cwd)
    values = read_toml(PACKAGED)
    if path != PACKAGED:
        values = merge(values, read_toml(path))
    for override in overrides:
        apply_override(values, override)
    validate(values, SCHEMA, display(path) if path != PACKAGED else "lab13.toml (packaged default)")
    if quick:
        values = scale_down(values)
    return Declaration(values, path, folder, quick, list(overrides))


def merge(base: dict, top: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- --set KEY=VALUE -----------------------------------------------------------

def parse_value(raw: str) -> Any:
    """TOML syntax for the value (numbers, lists, booleans…), else the plain string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_override(values: dict, override: str) -> None:
    key, sep, raw = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set {override!r}: expected KEY=VALUE, e.g. --set fit.lr.epochs=2000")
    parts = key.split(".")
    if any(not part for part in parts):
        raise UserError(f"--set {override!r}: {key!r} is not a dotted key path, e.g. cifar.phases.1.lr")
    container: Any = values
    for depth, part in enumerate(parts[:-1]):
        container = step_into(container, part, ".".join(parts[: depth + 1]), override)
    set_item(container, parts[-1], parse_value(raw.strip()), ".".join(parts[:-1]), override)


def step_into(container: Any, part: str, path: str, override: str) -> Any:
    if isinstance(container, list):
        return container[list_index(container, part, path, override)]
    if isinstance(container, dict):
        if part not in container:
            container[part] = {}  # validation names it if it is not a known key
        return container[part]
    raise UserError(f"--set {override!r}: {path!r} is a value, not a table or list")


def set_item(container: Any, part: str, value: Any, parent: str, override: str) -> None:
    if isinstance(container, list):
        container[list_index(container, part, f"{parent}.{part}", override)] = value
    elif isinstance(container, dict):
        container[part] = value
    else:
        raise UserError(f"--set {override!r}: {parent!r} is a value, not a table or list")


def list_index(items: list, part: str, path: str, override: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise UserError(f"--set {override!r}: {path!r}: list index must be 0..{len(items) - 1}")
    return int(part)


# --- validation ------------------------------------------------------------------

def validate(values: dict, schema: dict, filename: str, prefix: str = "") -> None:
    for key in values:
        if key not in schema:
            raise UserError(f"{filename}: {prefix}{key}: unknown key; "
                            f"expected one of: {', '.join(schema)}{did_you_mean(key, schema)}")
    for key, rule in schema.items():
        path = f"{prefix}{key}"
        if key not in values:
            if isinstance(rule, Rule) and rule.optional:
                continue
            raise UserError(f"{filename}: {path}: missing; add it (see the packaged lab13.toml)")
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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            rule.kind is int and not isinstance(value, int)):
        raise UserError(f"{where}: expected {wanted}, got {describe(value)}")
    if not math.isfinite(value):
        raise UserError(f"{where}: expected a finite number, got {value}")
    below = value <= rule.low if rule.low_open else value < rule.low if rule.low is not None else False
    if below or (rule.high is not None and value > rule.high):
        low = "" if rule.low is None else f"{'>' if rule.low_open else '>='} {rule.low:g}"
        high = "" if rule.high is None else f"<= {rule.high:g}"
        bounds = " and ".join(b for b in (low, high) if b)
        raise UserError(f"{where}: {value!r} is out of range; it must be {bounds}")


def describe(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return f"{names.get(type(value), type(value).__name__)} ({json.dumps(value, default=str)[:40]})"


# --- --quick -----------------------------------------------------------------------

def scale_down(values: dict) -> dict:
    """The same matrix, small enough for a draft build in well under a minute
    (35 s on 2 cores of an AMD EPYC, measured by bench/build.py)."""
    quick = copy.deepcopy(values)
    fit = quick["fit"]
    fit["seeds"] = fit["seeds"][:2]
    fit["epochs"]["values"] = sorted({max(10, n // 10) for n in fit["epochs"]["values"]})
    fit["lr"]["epochs"] = max(10, fit["lr"]["epochs"] // 5)
    search = fit["custom"]["search"]
    search["epochs"] = sorted({max(10, n // 10) for n in search["epochs"]})
    search["widths"] = search["widths"][:1]
    cifar = quick["cifar"]
    cifar["phases"] = [{**phase, "epochs": 1} for phase in cifar["phases"]]
    cifar["train_subset"] = min(cifar.get("train_subset") or 2000, 2000)
    cifar["test_subset"] = min(cifar.get("test_subset") or 500, 500)
    return quick
