"""A function f(x) as typeset mathematics: the syntax tree `expr.parse` validates (Python's
``ast``, read here without torch so that rendering stays light), written as HTML: italic x,
upright sin/cos/log, superscript powers, real minus signs. Python syntax (``**``, ``*``)
never reaches the report's body.
"""

from __future__ import annotations

import ast

from markupsafe import Markup, escape

MINUS = "\u2212"
# Binding strength: a child binding less tightly than its parent needs parentheses.
PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, "unary": 3, ast.Pow: 4}
ATOM = 5
BRACKETED = {"sqrt": ("√(", ")"), "abs": ("|", "|")}


def precedence(node: ast.AST) -> int:
    if isinstance(node, ast.BinOp):
        return PRECEDENCE[type(node.op)]
    if isinstance(node, ast.UnaryOp):
        return PRECEDENCE["unary"]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and node.value < 0:
        return PRECEDENCE["unary"]
    return ATOM


class HtmlWriter:
    """The tree as HTML pieces (already escaped)."""

    def number(self, value) -> str:
        text = f"{value:g}" if isinstance(value, float) else str(value)
        return text.replace("-", MINUS)

    def variable(self, name: str) -> str:
        return "π" if name == "pi" else f"<i>{escape(name)}</i>"

    def function(self, name: str, args: list[str]) -> str:
        if name in BRACKETED:
            left, right = BRACKETED[name]
            return f"{left}{args[0]}{right}"
        return f'<span class="fn">{escape(name)}</span>({", ".join(args)})'

    def power(self, base: str, exponent: str) -> str:
        return f"{base}<sup>{exponent}</sup>"

    def product(self, left: str, right: str, juxtapose: bool, space: bool = False) -> str:
        if juxtapose:  # 2x, but 2 sin(x)
            return f"{left}\u2009{right}" if space else f"{left}{right}"
        return f"{left}\u2009·\u2009{right}"

    def sign(self, op: str) -> str:
        return {"+": " + ", "-": f" {MINUS} ", "/": "/"}[op]

    def negate(self, operand: str) -> str:
        return f"{MINUS}{operand}"

    def group(self, inner: str) -> str:
        return f"({inner})"


def juxtaposed(left: ast.AST, right: ast.AST) -> bool:
    """2·x reads 2x, 2·sin(x) reads 2 sin(x): a number times something that starts with a letter."""
    starts_with_letter = isinstance(right, (ast.Name, ast.Call)) or (
        isinstance(right, ast.BinOp) and isinstance(right.op, ast.Pow) and isinstance(right.left, (ast.Name, ast.Call))
    )
    if isinstance(left, ast.UnaryOp) and isinstance(left.op, ast.USub):
        left = left.operand
    return isinstance(left, ast.Constant) and starts_with_letter


def starts_with_function(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) or (isinstance(node, ast.BinOp) and isinstance(node.left, ast.Call))


def write(node: ast.AST, out: HtmlWriter) -> str:
    def child(sub: ast.AST, least: int) -> str:
        text = write(sub, out)
        return out.group(text) if precedence(sub) < least else text

    if isinstance(node, ast.Expression):
        return write(node.body, out)
    if isinstance(node, ast.Constant):
        return out.number(node.value)
    if isinstance(node, ast.Name):
        return out.variable(node.id) if node.id in ("pi", "e", "x") else escape(node.id)
    if isinstance(node, ast.UnaryOp):
        operand = child(node.operand, PRECEDENCE["unary"])
        return out.negate(operand) if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.Call):
        name = node.func.id  # type: ignore[attr-defined]  # parse() allows only named functions
        args = [write(arg, out) for arg in node.args]
        if name == "pow":
            return out.power(out.group(args[0]) if precedence(node.args[0]) < ATOM else args[0], args[1])
        return out.function(name, args)
    if isinstance(node, ast.BinOp):
        level = PRECEDENCE[type(node.op)]
        if isinstance(node.op, ast.Pow):
            return out.power(child(node.left, ATOM), write(node.right, out))
        left = child(node.left, level)
        right = child(node.right, level + 1 if isinstance(node.op, (ast.Sub, ast.Div)) else level)
        if isinstance(node.op, ast.Mult):
            joined = juxtaposed(node.left, node.right) and precedence(node.right) >= level
            return out.product(left, right, joined, starts_with_function(node.right))
        op = {ast.Add: "+", ast.Sub: "-", ast.Div: "/"}[type(node.op)]
        return f"{left}{out.sign(op)}{right}"
    raise TypeError(f"cannot typeset {ast.dump(node)}")


def tree(text: str) -> ast.Expression:
    return ast.parse(text.strip(), mode="eval")


def formula(text: str, lhs: str = "f(x)") -> Markup:
    """``f(x) = …`` as HTML mathematics; a text expr.parse rejects is shown as it is."""
    try:
        body = write(tree(text), HtmlWriter())
    except (TypeError, SyntaxError, AttributeError, KeyError):
        return Markup('<span class="math">{} = {}</span>').format(lhs, text)
    head = str(escape(lhs)).replace("x", "<i>x</i>")
    return Markup(f'<span class="math">{head} = {body}</span>')
