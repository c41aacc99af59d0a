"""The code fingerprint against reality: every project module a run executes is in its key.

Each kind of run executes alone in a fresh interpreter, as a worker would, on the tiny lab;
afterwards every module of the project in its ``sys.modules`` (the core and the report
aside, which carry runs out and draw them) must be one the run's fingerprint covers.
"""

from __future__ import annotations

import ast
import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from lab.core import fingerprint
from lab.core.api import NullProgress
from lab.core.matrix import expand
from lab.core.session import open_session

SWEEP = ['cifar.variants=["tuned"]']  # a seed run (cifar.seed1) is the course run's code with another seed
KINDS = ["fit.epochs", "fit.lr", "fit.custom", "cifar", "cifar.tuned"]
NOT_RESULTS = ("lab.core", "lab.report")  # carry runs out, draw them: never part of a result

# A worker's life: unpickle the spec, execute it, say which modules it loaded.
EXECUTE_ALONE = """
import contextlib, json, pickle, sys
from lab.core.api import NullProgress
from lab.core.executor import execute
from lab.core.store import Store

class Quiet:
    @contextlib.contextmanager
    def task(self, label):
        yield NullProgress()

store_root, spec_file = sys.argv[1:]
with open(spec_file, "rb") as handle:
    spec = pickle.load(handle)
outcome = execute(Store(store_root), spec, "cpu", Quiet())
print(json.dumps({"status": outcome.status, "message": outcome.message, "modules": sorted(sys.modules)}))
"""


@pytest.fixture(scope="module")
def swept_lab(tmp_path_factory) -> tuple[Path, dict]:
    """The tiny lab with the tuned variant: its store and every run's spec."""
    from lab.exercises.cifar.data.synthetic import make_tiny_cifar
    from tests.conftest import TINY_LAB

    folder = tmp_path_factory.mktemp("swept")
    (folder / "lab13.toml").write_text(TINY_LAB, encoding="utf-8")
    make_tiny_cifar(folder / "data", "pickle", n_per_class=6)
    session = open_session(folder / "lab13.toml", SWEEP, False, None, True, None)
    prepared = {
        exercise.name: exercise.prepare(session.decl.values[exercise.name], session.inputs, NullProgress())
        for exercise in session.decl.exercises
    }
    specs = expand(session.decl, session.decl.run_names, prepared, session.inputs)
    return session.store.root, {spec.name: spec for spec in specs}


def execute_alone(store_root: Path, spec, tmp_path: Path) -> dict:
    spec_file = tmp_path / f"{spec.name}.pickle"
    spec_file.write_bytes(pickle.dumps(spec))
    result = subprocess.run(
        [sys.executable, "-c", EXECUTE_ALONE, str(store_root), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def project_modules(modules: list[str]) -> set[str]:
    return {
        name
        for name in modules
        if name.split(".")[0] == fingerprint.PROJECT
        and not any(name == part or name.startswith(part + ".") for part in NOT_RESULTS)
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_module_a_run_executes_is_in_its_fingerprint(swept_lab, kind, tmp_path):
    store_root, specs = swept_lab
    spec = specs[kind]
    ran = execute_alone(store_root, spec, tmp_path)
    assert ran["status"] in ("done", "diverged"), ran["message"]
    executed = project_modules(ran["modules"])
    assert executed, ran["modules"]
    assert executed <= set(spec.code), f"{kind} executed code outside its key: {sorted(executed - set(spec.code))}"
    [record] = [json.loads(p.read_text()) for p in (store_root / kind).glob("*/record.json")]
    assert record["code"] == spec.code and record["key"] == spec.key


def test_the_cifar_data_package_and_what_it_re_exports_are_cifar_code():
    code = fingerprint.run_code("lab.exercises.cifar.train:run")
    data = "lab.exercises.cifar.data"
    assert {data, f"{data}.augment", f"{data}.decode", f"{data}.cache", f"{data}.sources"} <= set(code)
    assert not any(name.startswith(("lab.report", "lab.core", "lab.exercises.fit")) for name in code), code
    assert fingerprint.display_name(data) == "data/__init__.py"
    assert fingerprint.display_name(f"{data}.augment") == "augment.py"


def test_what_a_module_imports_counts_as_python_runs_it(tmp_path, monkeypatch):
    """Parents first, re-exports from an __init__, relative imports from a package, lazy imports."""
    package = tmp_path / "fp_demo"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from .helper import value\n")
    (package / "sub" / "helper.py").write_text("from fp_demo import later\nvalue = 1\n")
    (package / "later.py").write_text("def f():\n    from fp_demo import lazy\n")
    (package / "lazy.py").write_text("import json\n")
    (package / "entry.py").write_text("from fp_demo.sub import value\n")
    (package / "unused.py").write_text("")
    (package / "sub" / "alone.py").write_text("import json\n")  # imports nothing of its own package
    monkeypatch.syspath_prepend(str(tmp_path))
    alone = fingerprint.module_code(("fp_demo.sub.alone",))  # its packages run first, and what they import
    assert set(alone) == {
        "fp_demo",
        "fp_demo.sub",
        "fp_demo.sub.alone",
        "fp_demo.sub.helper",
        "fp_demo.later",
        "fp_demo.lazy",
    }
    code = fingerprint.module_code(("fp_demo.entry",))
    assert set(code) == {
        "fp_demo",
        "fp_demo.entry",
        "fp_demo.sub",
        "fp_demo.sub.helper",
        "fp_demo.later",
        "fp_demo.lazy",
    }


NESTED_IMPORTS = """
import a1
if x:
    import a2
else:
    import a3
for i in y:
    import a4
else:
    from a5 import b
while z:
    import a6
with open(f) as g:
    import a7
try:
    import a8
except ImportError:
    import a9
else:
    import a10
finally:
    import a11
class C:
    import a12
    def m(self):
        async def inner():
            async with h:
                import a13
match v:
    case 1:
        import a14
f = lambda: __import__("not_a_statement")
"""


def test_imports_are_found_in_every_kind_of_statement_body():
    """fingerprint.statements searches statement lists only: none of them is missed."""
    names = fingerprint.imported_names(ast.parse(NESTED_IMPORTS), "demo", package=False)
    assert names == {*(f"a{i}" for i in range(1, 15)), "a5.b"}


def test_a_fingerprint_changes_with_any_file_it_covers(tmp_path):
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(b"one")
    second.write_bytes(b"two")
    code = {"m": "1"}
    base = fingerprint.digest(code, [first], ["matplotlib 3.9"])
    assert fingerprint.digest(code, [first], ["matplotlib 3.9"]) == base
    assert fingerprint.digest({"m": "2"}, [first], ["matplotlib 3.9"]) != base
    assert fingerprint.digest(code, [second], ["matplotlib 3.9"]) != base
    assert fingerprint.digest(code, [first], ["matplotlib 3.10"]) != base
    assert fingerprint.changed({"a": "1", "b": "2"}, {"b": "3", "c": "4"}) == ["a", "b", "c"]


def test_the_caches_of_drawn_and_checked_results_hash_all_the_code_behind_them():
    """The figure cache: the drawing modules and what they import (the plotting helpers, the
    catalogue reader); 2A's cross-check: course_check with the model, numerics and data code."""
    from lab.core.api import load_lab
    from lab.exercises.cifar.crosscheck import CHECKING_CODE
    from lab.report.numbering import figure_code

    drawing = fingerprint.module_code(tuple(figure_code(load_lab().loaded())))
    assert {"lab.report.plotting", "lab.report.messages", "lab.exercises.cifar.sweep_figures"} <= set(drawing)
    checking = fingerprint.module_code((CHECKING_CODE,))
    parts = ("course", "crosscheck", "model", "numerics", "data", "data.augment", "data.decode")
    assert {f"lab.exercises.cifar.{part}" for part in parts} <= set(checking)
