"""The code a run depends on, found from its imports, hashed into its key.

A run is computed by one function (``module:function``). Its code is that module
and every module of the same top-level package it imports, transitively
(found by reading the import statements, not by running them), except the core
(which carries runs out but computes no result) and package ``__init__`` files
(an exercise's schema and parameters: what they produce is hashed as the
parameters). So editing one exercise's training code or a module it imports makes
only that exercise's runs stale; report code is never imported by a run and
makes none stale.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.machinery
import importlib.util
from pathlib import Path

INFRASTRUCTURE = ("lab.core",)


@functools.cache
def module_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Where module `name` is, found without importing or touching it.

    (``from a.b import C`` names ``a.b.C``: asking importlib about it would import
    ``a.b``, and with it torch, which `list` must not pay for; and a module loaded
    lazily would be executed by any look at its attributes.)
    """
    parent, _, leaf = name.rpartition(".")
    if not parent:
        try:
            return importlib.util.find_spec(name)  # the top package (lab), already imported
        except (ImportError, ValueError):
            return None
    parent_spec = module_spec(parent)
    if parent_spec is None or parent_spec.submodule_search_locations is None:
        return None
    return importlib.machinery.PathFinder.find_spec(name, list(parent_spec.submodule_search_locations))


def module_file(name: str) -> Path | None:
    """The source file of a plain module (None for packages, built-ins and the missing)."""
    spec = module_spec(name)
    if spec is None or not spec.origin or spec.submodule_search_locations is not None:
        return None
    path = Path(spec.origin)
    return path if path.suffix == ".py" else None


def imported_names(tree: ast.AST, module: str) -> set[str]:
    """Every module an import statement in `tree` may name (``from a import b`` → a and a.b)."""
    names: set[str] = set()
    package = module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def belongs(name: str, top: str) -> bool:
    return name.split(".")[0] == top and not any(name == core or name.startswith(core + ".") for core in INFRASTRUCTURE)


@functools.cache
def sources(entry: str) -> dict[str, str]:
    """{module name: sha256 of its source} for the code computing ``module:function``."""
    start = entry.partition(":")[0]
    top = start.split(".")[0]
    found: dict[str, str] = {}
    pending = [start]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        path = module_file(name)
        if path is None:
            continue
        text = path.read_bytes()
        found[name] = hashlib.sha256(text).hexdigest()
        pending += [n for n in imported_names(ast.parse(text), name) if belongs(n, top) and n not in found]
    return dict(sorted(found.items()))


def version(entry: str) -> str:
    """One hash of all the code computing ``module:function``."""
    canonical = "\n".join(f"{name} {digest}" for name, digest in sources(entry).items())
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def changed(recorded: dict[str, str], entry: str) -> list[str]:
    """Modules whose source differs from what a run recorded (added, removed or edited)."""
    current = sources(entry)
    return sorted(name for name in set(recorded) | set(current) if recorded.get(name) != current.get(name))
