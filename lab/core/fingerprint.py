"""Fingerprints of code and files: what a run's key, the figure cache and any other cache of
computed results hash, so that a result is current exactly as long as what computed it is.

The code a result depends on is every module it can execute, found from its roots by
reading import statements (not running them), as Python would execute them: importing
``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, and an ``__init__`` that
re-exports its submodules (``from a.b.data.augment import augment``) brings them along.
Imports inside functions count too (a lazy import still runs). Followed are the modules
of the roots' top-level packages and of this project; left out is the core by default
(it carries runs out and computes no result) and everything installed (torch, numpy:
their versions are recorded beside a run, not hashed into it).

A module's fingerprint is the sha256 of its source bytes: a comment edit counts as an
edit. Finding, reading, parsing and hashing the code of a run of 18 modules takes
70 ms on 2 busy AMD EPYC cores (load 4 to 6), once per command and entry point.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CORE = __name__.rpartition(".")[0]  # this package: carries runs out, computes no result
PROJECT = CORE.split(".")[0]


@dataclass(frozen=True)
class Source:
    """Where a module's code is: its file, and whether it is a package (an ``__init__``)."""

    path: Path
    package: bool


@functools.cache
def module_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Where module `name` is, found without importing or touching it.

    (``from a.b import C`` names ``a.b.C``: asking importlib about it would import
    ``a.b``, and with it torch, which `list` must not pay for; and a module loaded
    lazily would be executed by any look at its attributes.)
    """
    parent, _, _ = name.rpartition(".")
    if not parent:
        try:
            return importlib.util.find_spec(name)  # a top-level package: finding it runs nothing of it
        except (ImportError, ValueError):
            return None
    parent_spec = module_spec(parent)
    if parent_spec is None or parent_spec.submodule_search_locations is None:
        return None
    return importlib.machinery.PathFinder.find_spec(name, list(parent_spec.submodule_search_locations))


def module_source(name: str) -> Source | None:
    """The source file of module or package `name` (None for built-ins, compiled and missing modules)."""
    spec = module_spec(name)
    if spec is None or not spec.origin or not spec.has_location:
        return None
    path = Path(spec.origin)
    return Source(path, spec.submodule_search_locations is not None) if path.suffix == ".py" else None


def display_name(name: str) -> str:
    """How a person finds module `name`: ``augment.py``, ``data/__init__.py``."""
    leaf = name.rpartition(".")[2]
    source = module_source(name)
    return f"{leaf}/__init__.py" if source and source.package else f"{leaf}.py"


def imported_names(tree: ast.AST, module: str, package: bool) -> set[str]:
    """Every module that importing `module` runs, by its import statements and its parents.

    ``from a import b`` names a and a.b (b may be a submodule or a name); ``import a.b.c``
    runs a, a.b and a.b.c; so does being a.b.c itself.
    """
    names = set(parents(module))
    home = module if package else module.rpartition(".")[0]
    for node in statements(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.update([*parents(alias.name), alias.name])
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = home.rsplit(".", node.level - 1)[0] if node.level > 1 else home
                base = f"{anchor}.{base}" if base else anchor
            names.update([*parents(base), base])
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


# The fields that hold statement lists (a function's, a branch's, a handler's, a case's body):
# an import is a statement, so only these are searched, not every expression.
STATEMENT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(node: ast.AST) -> Iterator[ast.AST]:
    """Every statement in `node`, nested ones too (and the except handlers and match cases
    that hold them): a twelfth of the nodes ast.walk visits in this project's modules, and the
    code of the four Lab 13 runs and their figures is found in 77 ms instead of 114 (66 modules,
    best of 7, AMD EPYC)."""
    for field in STATEMENT_LISTS:
        children = getattr(node, field, None)
        if isinstance(children, list):
            for child in children:
                yield child
                yield from statements(child)


def parents(name: str) -> list[str]:
    """``a.b.c`` → a, a.b: the packages Python runs before a.b.c."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def followed(name: str, tops: frozenset[str], leave_out: tuple[str, ...]) -> bool:
    return name.split(".")[0] in tops and not any(name == out or name.startswith(out + ".") for out in leave_out)


@functools.cache
def module_code(roots: tuple[str, ...], leave_out: tuple[str, ...] = (CORE,)) -> dict[str, str]:
    """{module: sha256 of its source} for every module the `roots` can execute (see the module docstring)."""
    tops = frozenset({PROJECT, *(root.split(".")[0] for root in roots)})
    found: dict[str, str] = {}
    seen: set[str] = set()
    pending = [root for root in roots if followed(root, tops, leave_out)]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        scanned = scanned_module(name)
        if scanned is None:
            continue
        found[name], imports = scanned
        pending += [n for n in imports if n not in seen and followed(n, tops, leave_out)]
    return dict(sorted(found.items()))


@functools.cache
def scanned_module(name: str) -> tuple[str, frozenset[str]] | None:
    """Module `name`'s source hash and the modules its import statements name (None: no source).

    Cached per module, not per `module_code` call: a render asks for the code of several
    roots that share most modules, and parsing was most of the time (42 modules: 229 ms
    for one root set on a loaded 2-core Xeon; each further set sharing them now ~1 ms)."""
    source = module_source(name)
    if source is None:
        return None
    text = source.path.read_bytes()
    digest = hashlib.sha256(text).hexdigest()
    try:
        return digest, frozenset(imported_names(ast.parse(text, filename=str(source.path)), name, source.package))
    except SyntaxError:
        return digest, frozenset()  # hashed all the same; running it will name the line


def run_code(entry: str) -> dict[str, str]:
    """The code computing ``module:function``: its module and all it can execute."""
    return module_code((entry.partition(":")[0],))


def digest(code: dict[str, str], files: Iterable[Path] = (), extra: Iterable[str] = ()) -> str:
    """One hash of code fingerprints (`module_code`), the bytes of `files` and `extra` strings."""
    hashed = hashlib.sha256()
    for name, module_digest in sorted(code.items()):
        hashed.update(f"module {name} {module_digest}\n".encode())
    for path in files:
        hashed.update(f"file {Path(path).name} {file_digest(path)}\n".encode())
    for text in extra:
        hashed.update(f"text {text}\n".encode())
    return hashed.hexdigest()


def code_digest(roots: Iterable[str], files: Iterable[Path] = (), extra: Iterable[str] = ()) -> str:
    """`digest` of the code `roots` can execute, with `files` and `extra`."""
    return digest(module_code(tuple(roots)), files, extra)


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, read in blocks (a checkpoint may be large)."""
    hashed = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            hashed.update(block)
    return hashed.hexdigest()


def changed(recorded: dict[str, str], current: dict[str, str]) -> list[str]:
    """Modules whose fingerprint differs between two `module_code` results (added, removed or edited)."""
    return sorted(name for name in set(recorded) | set(current) if recorded.get(name) != current.get(name))
