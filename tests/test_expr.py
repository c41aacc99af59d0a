import ast
import builtins
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import lab.exercises.fit.expr
from lab.core.errors import UserError
from lab.exercises.fit.expr import Expression, check_domain, parse

SOURCE = "lab13.toml: fit.custom.function"
COURSE_FUNCTION = "x**2 + 2*sin(x) + cos(x - 1) - 5"
STUDENT_FUNCTION = "(x+1)**2 + sin(x**2+1) - log(x**2+1)"


@pytest.fixture
def no_code_execution(monkeypatch):
    """Make eval/exec explode and allow compile only to build syntax trees."""
    real_compile = builtins.compile

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec must never be called")

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST, "compile may only build syntax trees"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "compile", ast_only_compile)


def rejection(text: str) -> str:
    with pytest.raises(UserError) as caught:
        parse(text, SOURCE)
    message = str(caught.value)
    assert message.startswith(SOURCE + ": ")
    assert "\n" not in message
    return message


# (expression, fragments its message must contain)
UNSAFE_OR_MALFORMED = [
    ("__import__('os').system('echo hi')", ["\"__import__('os').system\"", "column 1", "attribute access"]),
    ("x.__class__", ["'x.__class__'", "attribute access", "use only x"]),
    ("().__class__.__bases__", ["attribute access"]),
    ("open('f')", ["'open'", "unknown function"]),
    ("lambda: 1", ["lambda"]),
    ("(lambda: 1)()", ["'lambda: 1' at column 2", "lambda"]),
    ("[x for x in ()]", ["comprehensions"]),
    ("'a'*10", ["\"'a'\"", "strings"]),
    ("b'a'", ["strings"]),
    ("f'{x}'", ["f-strings"]),
    ("9**9**9", ["'9**9' at column 4", "power towers"]),
    ("2**2**2**2", ["power towers"]),
    ("10**1000", ["'1000' at column 5", "constant exponent of 1000"]),
    ("x**-65", ["constant exponent of -65"]),
    ("pow(2, 100)", ["constant exponent of 100"]),
    ("1e400", ["'1e400'", "numbers larger than"]),
    ("1_000_000_000 * x", ["numbers larger than"]),
    ("x" * 2000, ["2000 characters", "at most 300"]),
    ("x if x else 1", ["conditional expressions"]),
    ("x < 1", ["comparisons"]),
    ("x and 1", ["'and' / 'or'"]),
    ("not x", ["'not'"]),
    ("(y := 1)", ["':='"]),
    ("foo(x)", ["'foo' at column 1", "unknown function"]),
    ("y + 1", ["'y' at column 1", "unknown name"]),
    ("x(2)", ["x is not a function"]),
    ("sin(x, 2)", ["'sin(x, 2)'", "sin takes 1 argument, got 2"]),
    ("max(x)", ["max takes 2 arguments, got 1"]),
    ("sin(x=1)", ["'x=1' at column 5", "keyword arguments"]),
    ("sin(*x)", ["starred arguments"]),
    ("exp", ["exp is a function; call it like exp(x)"]),
    ("1j", ["complex numbers"]),
    ("True", ["the constant True"]),
    ("None", ["the constant None"]),
    ("x[0]", ["'x[0]'", "indexing"]),
    ("[x, 1]", ["lists"]),
    ("x // 2", ["floor division"]),
    ("x % 2", ["remainder"]),
    ("x ^ 2", ["write powers as x**2"]),
    ("x; 1", ["not a valid formula", "invalid syntax", "column 2"]),
    ("", ["empty"]),
    ("   \n ", ["empty"]),
    ("sin(x", ["not a valid formula", "never closed"]),
    ("x + 1)", ["not a valid formula", "unmatched ')'"]),
    ("x +", ["not a valid formula"]),
    ("x\x00", ["cannot"]),
    ("+".join(["(x+x+x+x+x)"] * 25), ["more than 200 parts"]),
    ("+".join(["x"] * 150), ["nesting deeper than 40"]),
    ("sin(" * 41 + "x" + ")" * 41, ["nesting deeper than 40"]),
]


@pytest.mark.parametrize(
    "text, fragments", UNSAFE_OR_MALFORMED, ids=lambda v: repr(v)[:40] if isinstance(v, str) else ""
)
def test_unsafe_or_malformed_is_rejected_with_a_pointed_message(text, fragments, no_code_execution):
    message = rejection(text)
    for fragment in fragments:
        assert fragment in message


SENTINEL_ATTEMPTS = [
    "__import__('pathlib').Path('{p}').touch()",
    "__import__('os').system('touch {p}')",
    "open('{p}', 'w')",
    "[open('{p}', 'w') for _ in (1,)]",
    "(lambda: open('{p}', 'w'))()",
    "().__class__.__base__.__subclasses__()[0]('{p}')",
    "exec(\"open('{p}', 'w')\")",
    "eval(\"open('{p}', 'w')\")",
    "x if open('{p}', 'w') else 1",
    "sin(x) + open('{p}', 'w')",
]


@pytest.mark.parametrize("template", SENTINEL_ATTEMPTS)
def test_rejected_expressions_run_nothing(template, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sentinel = tmp_path / "sentinel"
    with pytest.raises(UserError):
        parse(template.format(p=sentinel), SOURCE)
    assert not sentinel.exists()
    assert list(tmp_path.iterdir()) == []


def test_module_never_calls_eval_exec_or_compile():
    tree = ast.parse(Path(lab.exercises.fit.expr.__file__).read_text())
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}


def test_source_label_prefixes_messages_and_defaults_to_function():
    with pytest.raises(UserError, match=r"^function: "):
        parse("x.y")


X = np.linspace(-3.0, 3.0, 61)

VALID = [
    ("x", lambda x: x),
    ("3", lambda x: np.full_like(x, 3.0)),
    ("-x + +2", lambda x: -x + 2),
    ("2*x - 1/4", lambda x: 2 * x - 0.25),
    ("x**3 - x**2/2", lambda x: x**3 - x**2 / 2),
    ("x**-2", lambda x: x**-2.0),
    ("2**x", lambda x: 2.0**x),
    ("x**0.5", lambda x: x**0.5),  # NaN for x < 0, like numpy
    ("abs(x)**(1/2)", lambda x: np.abs(x) ** 0.5),
    ("-x**2", lambda x: -(x**2)),
    ("pi*x + e", lambda x: math.pi * x + math.e),
    ("sin(x)+cos(x)+tan(x/2)", lambda x: np.sin(x) + np.cos(x) + np.tan(x / 2)),
    ("asin(x/4)+acos(x/4)+atan(x)", lambda x: np.arcsin(x / 4) + np.arccos(x / 4) + np.arctan(x)),
    ("sinh(x)+cosh(x)+tanh(x)", lambda x: np.sinh(x) + np.cosh(x) + np.tanh(x)),
    (
        "exp(x)+log(x**2+1)+log2(x**2+1)+log10(x**2+1)",
        lambda x: np.exp(x) + np.log(x**2 + 1) + np.log2(x**2 + 1) + np.log10(x**2 + 1),
    ),
    ("sqrt(abs(x))", lambda x: np.sqrt(np.abs(x))),
    ("sigmoid(x)+relu(x)+softplus(x)", lambda x: 1 / (1 + np.exp(-x)) + np.maximum(x, 0) + np.log1p(np.exp(x))),
    ("floor(x)+ceil(x)+sign(x)", lambda x: np.floor(x) + np.ceil(x) + np.sign(x)),
    ("min(x, 1) + max(x, -1)", lambda x: np.minimum(x, 1) + np.maximum(x, -1)),
    ("pow(x, 2) + pow(2, x)", lambda x: x**2 + 2.0**x),
    ("  ( (x) )\n", lambda x: x),
    (COURSE_FUNCTION, lambda x: x**2 + 2 * np.sin(x) + np.cos(x - 1) - 5),
    (STUDENT_FUNCTION, lambda x: (x + 1) ** 2 + np.sin(x**2 + 1) - np.log(x**2 + 1)),
]


@pytest.mark.parametrize("text, reference", VALID)
def test_valid_expressions_match_numpy(text, reference):
    expression = parse(text, SOURCE)
    assert isinstance(expression, Expression)
    assert expression.text == text.strip()
    x = torch.tensor(X, dtype=torch.float64)
    got = expression(x)
    assert got.dtype == torch.float64 and got.shape == x.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = reference(X)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_handout_functions_at_known_points():
    course = parse(COURSE_FUNCTION)
    student = parse(STUDENT_FUNCTION)
    for x in (-5.0, -1.0, 0.0, 2.5, 5.0):
        value = torch.tensor([x], dtype=torch.float64)
        assert course(value).item() == pytest.approx(x**2 + 2 * math.sin(x) + math.cos(x - 1) - 5, rel=1e-14)
        assert student(value).item() == pytest.approx((x + 1) ** 2 + math.sin(x**2 + 1) - math.log(x**2 + 1), rel=1e-14)
    check_domain(course, -5, 5)
    check_domain(student, -5, 5)


def test_keeps_float32_and_promotes_integers():
    expression = parse("x**2 + 1")
    assert expression(torch.ones(4, dtype=torch.float32)).dtype == torch.float32
    promoted = expression(torch.arange(3))
    assert promoted.dtype == torch.float64
    assert promoted.tolist() == [1.0, 2.0, 5.0]


def test_constant_function_broadcasts_to_the_input_shape():
    got = parse("sin(pi/2) * 2")(torch.zeros(5, dtype=torch.float64))
    assert got.shape == (5,)
    assert torch.allclose(got, torch.full((5,), 2.0, dtype=torch.float64))


def test_small_constant_exponents_and_exponents_in_x_are_allowed():
    assert parse("x**64")(torch.tensor([1.0])).item() == 1.0
    assert parse("x**(2*x)")(torch.tensor([2.0])).item() == 16.0


def domain_error(text: str, lo: float, hi: float, **kwargs) -> str:
    with pytest.raises(UserError) as caught:
        check_domain(parse(text), lo, hi, source=SOURCE, **kwargs)
    message = str(caught.value)
    assert message.startswith(SOURCE + ": ")
    assert "\n" not in message
    return message


def test_domain_log_reports_the_first_bad_points():
    message = domain_error("log(x)", -5, 5, range_source="fit.custom.x_range")
    assert "'log(x)' is not finite" in message
    assert "x = -5, -4.999, -4.998, ..." in message
    assert "(5001 of 10001 grid points in [-5, 5])" in message
    assert "(fit.custom.x_range)" in message


def test_domain_pole_at_zero_is_found():
    message = domain_error("1/x", -1, 1)
    assert "x = 0 (1 of 10001 grid points in [-1, 1])" in message


def test_domain_sqrt_of_negative():
    message = domain_error("sqrt(x)", -1, 1, points=101)
    assert "x = -1, -0.98, -0.96, ..." in message
    assert "(50 of 101 grid points" in message


def test_domain_overflow_and_dtype():
    assert "x = 800" in domain_error("exp(x)", 0, 800, points=9)
    check_domain(parse("exp(x)"), 0, 100)
    assert "x = 90, 100 (2 of 11" in domain_error("exp(x)", 0, 100, points=11, dtype=torch.float32)


def test_domain_accepts_functions_defined_everywhere_on_the_range():
    check_domain(parse("log(x)"), 0.5, 5)
    check_domain(parse("asin(x)"), -1, 1)
    check_domain(parse("x**x"), 0.1, 3)


@pytest.mark.parametrize("lo, hi", [(1, 1), (2, -2), (float("nan"), 1), (0, float("inf"))])
def test_domain_rejects_an_empty_or_infinite_range(lo, hi):
    with pytest.raises(UserError, match="not a range"):
        check_domain(parse("x"), lo, hi, range_source="fit.custom.x_range")
