"""Safe parsing and evaluation of a student's function f(x), e.g. ``(x+1)**2 + sin(x)``.

The text is parsed with ``ast`` and walked against an explicit whitelist; each
allowed node becomes a small closure over torch ops. Nothing is ever handed to
eval/exec, and all arithmetic happens in float tensors, so no input can run
code or make Python grind on huge integers.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import NoReturn

import torch
import torch.nn.functional as F

from lab.core.errors import UserError

MAX_LENGTH = 300
MAX_NODES = 200
MAX_DEPTH = 40
MAX_LITERAL = 1e6
MAX_CONSTANT_EXPONENT = 64
SHOWN_BAD_POINTS = 3

Tensor = torch.Tensor
Evaluator = Callable[[Tensor], Tensor]

FUNCTIONS: dict[str, tuple[int, Callable[..., Tensor]]] = {
    "sin": (1, torch.sin),
    "cos": (1, torch.cos),
    "tan": (1, torch.tan),
    "asin": (1, torch.asin),
    "acos": (1, torch.acos),
    "atan": (1, torch.atan),
    "sinh": (1, torch.sinh),
    "cosh": (1, torch.cosh),
    "tanh": (1, torch.tanh),
    "exp": (1, torch.exp),
    "log": (1, torch.log),
    "log2": (1, torch.log2),
    "log10": (1, torch.log10),
    "sqrt": (1, torch.sqrt),
    "abs": (1, torch.abs),
    "sigmoid": (1, torch.sigmoid),
    "relu": (1, torch.relu),
    "softplus": (1, F.softplus),
    "floor": (1, torch.floor),
    "ceil": (1, torch.ceil),
    "sign": (1, torch.sign),
    "min": (2, torch.minimum),
    "max": (2, torch.maximum),
    "pow": (2, torch.pow),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLE = "x"

BINARY_OPS: dict[type, Callable[[Tensor, Tensor], Tensor]] = {
    ast.Add: torch.add,
    ast.Sub: torch.sub,
    ast.Mult: torch.mul,
    ast.Div: torch.div,
    ast.Pow: torch.pow,
}
UNARY_OPS: dict[type, Callable[[Tensor], Tensor]] = {
    ast.USub: torch.neg,
    ast.UAdd: lambda value: value,
}

REJECTED_OPERATORS = {
    ast.FloorDiv: "floor division '//'",
    ast.Mod: "the remainder operator '%'",
    ast.MatMult: "matrix multiplication '@'",
    ast.LShift: "bit shifts",
    ast.RShift: "bit shifts",
    ast.BitAnd: "bitwise '&'",
    ast.BitOr: "bitwise '|'",
    ast.BitXor: "'^' (write powers as x**2)",
    ast.Not: "'not'",
    ast.Invert: "bitwise '~'",
}
REJECTED_NODES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.List: "lists",
    ast.Tuple: "tuples",
    ast.Set: "sets",
    ast.Dict: "dictionaries",
    ast.JoinedStr: "f-strings",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "conditional expressions (a if c else b)",
    ast.NamedExpr: "assignment ':='",
    ast.Starred: "starred arguments",
}

ALLOWED_HINT = "use only x, numbers, pi, e, + - * / **, parentheses and the functions " + ", ".join(FUNCTIONS)


class Expression:
    """A validated f(x); call it with a tensor of x values."""

    def __init__(self, text: str, evaluate: Evaluator):
        self.text = text
        self._evaluate = evaluate

    def __call__(self, x: Tensor) -> Tensor:
        if not torch.is_floating_point(x):
            x = x.to(torch.float64)
        result = self._evaluate(x)
        if result.shape != x.shape:  # f without x (a constant) or a 0-d input
            result = torch.broadcast_to(result, x.shape).clone()
        return result

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse(text: str, source: str = "function") -> Expression:
    """Validate ``text`` against the whitelist and return it as an Expression."""
    if not isinstance(text, str):
        raise UserError(f"{source}: expected a formula as a string like 'x**2 + sin(x)', got {text!r}")
    stripped = text.strip()
    if not stripped:
        raise UserError(f"{source}: the function is empty; write a formula in x, e.g. 'x**2 + sin(x)'")
    if len(stripped) > MAX_LENGTH:
        raise UserError(
            f"{source}: the function {_shorten(stripped)!r} is {len(stripped)} characters long; "
            f"keep it to at most {MAX_LENGTH}"
        )
    tree = _syntax_tree(stripped, source)
    return Expression(stripped, _Builder(stripped, source).build(tree.body))


def check_domain(
    expr: Expression,
    lo: float,
    hi: float,
    points: int = 10001,
    source: str = "function",
    range_source: str = "the x range",
    dtype: torch.dtype = torch.float64,
) -> None:
    """Raise UserError if ``expr`` is NaN or infinite anywhere on a dense grid over [lo, hi].

    ``range_source`` names where the range came from (e.g. "fit.custom.x_range") for
    the hint; ``dtype`` lets the caller check in the precision it will compute in.
    """
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise UserError(f"{range_source}: [{lo}, {hi}] is not a range; give two finite numbers lo < hi")
    if points < 2:
        raise ValueError(f"check_domain needs at least 2 grid points, got {points}")
    grid = _grid(lo, hi, points, dtype)
    with torch.no_grad():
        values = expr(grid)
    bad = ~torch.isfinite(values)
    count = int(bad.sum())
    if count == 0:
        return
    shown = ", ".join(f"{v:.6g}" for v in grid[bad][:SHOWN_BAD_POINTS].tolist())
    more = ", ..." if count > SHOWN_BAD_POINTS else ""
    raise UserError(
        f"{source}: {expr.text!r} is not finite (NaN or infinite) at x = {shown}{more} "
        f"({count} of {points} grid points in [{lo:g}, {hi:g}]); "
        f"choose a domain where f is defined ({range_source}) or change f"
    )


def _grid(lo: float, hi: float, points: int, dtype: torch.dtype) -> Tensor:
    # lo + (hi - lo) * i / (n - 1) lands exactly on 0 for symmetric ranges with
    # an odd count, so poles like 1/x at 0 are really sampled (linspace misses by 1e-17).
    steps = torch.arange(points, dtype=torch.float64) / (points - 1)
    return (lo + (hi - lo) * steps).to(dtype)


def _syntax_tree(text: str, source: str) -> ast.Expression:
    try:
        return ast.parse(text, mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        if error.offset and error.lineno and error.lineno > 1:
            where = f" at line {error.lineno}, column {error.offset}"
        raise UserError(
            f"{source}: {text!r} is not a valid formula: {error.msg}{where}; write it like '(x+1)**2 + sin(x)'"
        ) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise UserError(f"{source}: {_shorten(text)!r} cannot be read as a formula ({error})") from None


def _shorten(text: str, keep: int = 40) -> str:
    return text if len(text) <= keep else text[:keep] + "..."


def _uses_variable(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == VARIABLE for n in ast.walk(node))


def _contains_power(node: ast.AST) -> bool:
    return any(
        (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow))
        or (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "pow")
        for n in ast.walk(node)
    )


class _Builder:
    """Walks the syntax tree once: rejects anything off the whitelist, builds closures."""

    def __init__(self, text: str, source: str):
        self.text = text
        self.source = source
        self.nodes = 0

    def build(self, node: ast.AST, depth: int = 1) -> Evaluator:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self.reject(node, f"the formula has more than {MAX_NODES} parts; simplify it", hint=False)
        if depth > MAX_DEPTH:
            self.reject(node, f"nesting deeper than {MAX_DEPTH} levels; simplify it", hint=False)
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, depth)
        if isinstance(node, ast.BinOp):
            return self.binary(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        self.reject(node, REJECTED_NODES.get(type(node), type(node).__name__.lower()))

    def constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            self.reject(node, f"the constant {value!r}")
        if isinstance(value, complex):
            self.reject(node, "complex numbers")
        if not isinstance(value, (int, float)):
            self.reject(node, "strings" if isinstance(value, (str, bytes)) else type(value).__name__)
        if not math.isfinite(value) or abs(value) > MAX_LITERAL:
            self.reject(node, f"numbers larger than {MAX_LITERAL:g} in size", hint=False)
        return _constant_evaluator(float(value))

    def name(self, node: ast.Name) -> Evaluator:
        if node.id == VARIABLE:
            return lambda x: x
        if node.id in CONSTANTS:
            return _constant_evaluator(CONSTANTS[node.id])
        if node.id in FUNCTIONS:
            self.reject(node, f"{node.id} is a function; call it like {node.id}(x)", hint=False)
        self.reject(node, f"unknown name (the variable is {VARIABLE})")

    def unary(self, node: ast.UnaryOp, depth: int) -> Evaluator:
        op = UNARY_OPS.get(type(node.op))
        if op is None:
            self.reject(node, REJECTED_OPERATORS.get(type(node.op), "this operator"))
        operand = self.build(node.operand, depth + 1)
        return lambda x: op(operand(x))

    def binary(self, node: ast.BinOp, depth: int) -> Evaluator:
        op = BINARY_OPS.get(type(node.op))
        if op is None:
            self.reject(node, REJECTED_OPERATORS.get(type(node.op), "this operator"))
        left = self.build(node.left, depth + 1)
        right = self.build(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            self.check_exponent(node.right, right)
        return lambda x: op(left(x), right(x))

    def call(self, node: ast.Call, depth: int) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            self.build(node.func, depth + 1)  # rejects attribute access, lambda, ... with its own reason
            self.reject(node, "calling something that is not a function name")
        name = node.func.id
        if name == VARIABLE or name in CONSTANTS:
            self.reject(node, f"{name} is not a function (write {name}*(...) to multiply)")
        if name not in FUNCTIONS:
            self.reject(node.func, "unknown function")
        if node.keywords:
            self.reject(node.keywords[0], "keyword arguments")
        arity, function = FUNCTIONS[name]
        if len(node.args) != arity:
            plural = "" if arity == 1 else "s"
            self.reject(node, f"{name} takes {arity} argument{plural}, got {len(node.args)}", hint=False)
        args = [self.build(arg, depth + 1) for arg in node.args]
        if name == "pow":
            self.check_exponent(node.args[1], args[1])
        return lambda x: function(*(arg(x) for arg in args))

    def check_exponent(self, node: ast.AST, exponent: Evaluator) -> None:
        """Bound constant exponents; exponents in x are left to the domain check."""
        if _uses_variable(node):
            return
        if _contains_power(node):
            self.reject(node, "power towers like 2**2**2; write the exponent as a number", hint=False)
        value = float(exponent(torch.tensor(0.0, dtype=torch.float64)))
        if not math.isfinite(value) or abs(value) > MAX_CONSTANT_EXPONENT:
            self.reject(node, f"a constant exponent of {value:g} (at most {MAX_CONSTANT_EXPONENT} in size)", hint=False)

    def reject(self, node: ast.AST, reason: str, hint: bool = True) -> NoReturn:
        snippet = ast.get_source_segment(self.text, node) or self.text
        message = f"{self.source}: {snippet!r} at {self.position(node)} of {self.text!r} is not allowed: {reason}"
        if hint:
            message += f"; {ALLOWED_HINT}"
        raise UserError(message)

    def position(self, node: ast.AST) -> str:
        line = getattr(node, "lineno", 1)
        # col_offset counts UTF-8 bytes; report characters, 1-based.
        line_text = self.text.splitlines()[line - 1] if self.text.splitlines() else ""
        column = len(line_text.encode()[: getattr(node, "col_offset", 0)].decode(errors="ignore")) + 1
        return f"column {column}" if line == 1 else f"line {line}, column {column}"


def _constant_evaluator(value: float) -> Evaluator:
    return lambda x: torch.tensor(value, dtype=x.dtype, device=x.device)
