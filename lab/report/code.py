"""Source code shown in the report, read from the modules that really run it, highlighted."""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import sys
from pathlib import Path

from markupsafe import Markup


def function_source(module_name: str, function: str) -> str:
    """The source of a function the runs really execute.

    When the module is loaded (the runner imported it), ask it; otherwise read the
    function from the module's file, which is the same text without importing torch.
    """
    module = sys.modules.get(module_name)
    if module is not None:
        return inspect.getsource(getattr(module, function))
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.origin:
        raise ImportError(f"{module_name} not found")
    source = Path(spec.origin).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(source.splitlines()[start - 1 : node.end_lineno]) + "\n"
    raise AttributeError(f"{module_name} has no function {function}")


@functools.lru_cache(maxsize=4)  # `labreport preview` renders the same source again on every save
def highlighted(source: str) -> Markup:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return Markup('<pre class="code">{}</pre>').format(source)
    return Markup(highlight(source, PythonLexer(), HtmlFormatter(cssclass="code", nowrap=False)))


def code_style() -> str:
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    return HtmlFormatter(style="friendly").get_style_defs(".code")
