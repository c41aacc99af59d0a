"""The options the `labreport` commands share, as Typer reads them (type, flag, help)."""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lab.core.api import load_lab
from lab.core.errors import UserError
from lab.core.executors import EXECUTORS, executors_help
from lab.core.schema import notes as schema_notes


def config_help() -> str:
    """--config's help: the default lab's declaration file, in the folder or packaged."""
    try:
        name = load_lab().declaration.name
    except UserError:
        name = "the lab's declaration"
    return f"Lab declaration (default: ./{name}, else the packaged one)."


def set_help() -> str:
    """--set's help: its form, then each value the default lab's exercises explain (their schema's help)."""
    form = "Override a value: KEY=VALUE, e.g. report.lang=en; an item of a list by its index, KEY.1.NAME=VALUE (repeatable)."
    try:
        exercises = load_lab().loaded()
    except UserError:
        return form
    return " ".join([form, *(note for e in exercises for note in schema_notes(e.schema, f"{e.name}."))])


Config = Annotated[Optional[Path], typer.Option("--config", "-c", metavar="FILE", help=config_help())]


Sets = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", metavar="KEY=VALUE", help=set_help()),
]
Quick = Annotated[
    bool,
    typer.Option(
        "--quick",
        help="The same matrix scaled down (a first build: 35 s on 2 cores of an AMD EPYC, bench/build.py); marked quick everywhere.",
    ),
]
Device = Annotated[
    str,
    typer.Option(
        "--device",
        metavar="auto|cpu|cuda|mps",
        help="auto, cpu, cuda (an NVIDIA GPU) or mps (an Apple GPU); auto takes cuda, then mps, then the CPU.",
    ),
]
Executor = Annotated[str, typer.Option("--executor", metavar="|".join(EXECUTORS), help=executors_help())]
Address = Annotated[
    Optional[str],
    typer.Option(
        "--address",
        metavar="ADDR",
        help="With --executor ray: the cluster to join (auto: the one `ray start --head` made here; "
        "else host:port); default: a cluster of this machine, started for the command.",
    ),
]
Data = Annotated[
    Optional[str],
    typer.Option(
        "--data",
        metavar="PATH",
        help="Data set location (folder or archive), for the exercises that read one; also LABREPORT_DATA.",
    ),
]
NoDownload = Annotated[bool, typer.Option("--no-download", help="Never download a data set; fail if it is not found.")]
Lang = Annotated[Optional[str], typer.Option("--lang", metavar="zh|en", help="zh or en (default: report.lang).")]
StoreOpt = Annotated[
    Optional[Path],
    typer.Option("--store", metavar="DIR", help="Run store folder (default: reports/runs beside the declaration)."),
]
Only = Annotated[
    Optional[list[str]],
    typer.Option(
        "--only",
        metavar="NAME",
        help="Select experiments: an exercise or a run name, as `labreport list` shows them (repeatable).",
    ),
]
Force = Annotated[bool, typer.Option("--force", help="Recompute even finished runs (the old result is kept aside).")]
Out = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", metavar="FILE", help="PDF to write (HTML and CSV tables go beside it)."),
]
NoRun = Annotated[bool, typer.Option("--no-run", help="Render from the results that exist; train nothing.")]
PdfVariant = Annotated[
    Optional[str], typer.Option("--pdf-variant", metavar="VARIANT", help="e.g. pdf/a-3b for archival submission.")
]
Final = Annotated[
    bool, typer.Option("--final", help="The report to hand in: refuse (exit 1, no PDF) while anything is not ready.")
]


@dataclass
class Selection:
    """The options that choose a lab folder's declaration, its values, its data and its run store."""

    config: Optional[Path] = None
    set_: Optional[list[str]] = None
    quick: bool = False
    data: Optional[str] = None
    no_download: bool = False
    store: Optional[Path] = None


# name -> (option, default), in the order --help lists them
SELECTION = {
    "config": (Config, None),
    "set_": (Sets, None),
    "quick": (Quick, False),
    "data": (Data, None),
    "no_download": (NoDownload, False),
    "store": (StoreOpt, None),
}


@dataclass
class Execution:
    """The options that choose where runs execute."""

    device: str = "auto"
    executor: str = "local"
    address: Optional[str] = None


EXECUTION = {"device": (Device, "auto"), "executor": (Executor, "local"), "address": (Address, None)}
NOT_GIVEN: Any = None  # the default of a grouped argument: its decorator always passes it


def grouped(argument: str, group: type, options: dict, names: tuple[str, ...]):
    """A decorator: the command takes these `options` (all by default) first, and gets them as one
    argument, ``argument: group``, so each command does not list them again."""
    names = names or tuple(options)

    def decorate(command):
        signature = inspect.signature(command, eval_str=True)
        own = [parameter for parameter in signature.parameters.values() if parameter.name != argument]
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        added = [inspect.Parameter(n, kind, default=options[n][1], annotation=options[n][0]) for n in names]

        @functools.wraps(command)
        def with_group(*args, **kwargs):
            return command(*args, **{argument: group(**{name: kwargs.pop(name) for name in names})}, **kwargs)

        with_group.__signature__ = signature.replace(parameters=added + own)  # type: ignore[attr-defined]
        return with_group

    return decorate


def selecting(*names: str):
    """The options of SELECTION as one argument, ``chosen: Selection``."""
    return grouped("chosen", Selection, SELECTION, names)


def executing(*names: str):
    """The options of EXECUTION as one argument, ``execution: Execution``."""
    return grouped("execution", Execution, EXECUTION, names)
