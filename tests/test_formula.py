"""Functions in the report body are typeset mathematics, rendered from the syntax tree."""

import pytest

from lab.exercises.fit.formula import formula

CASES = [
    (
        "x**2 + 2*sin(x) + cos(x-1) - 5",
        'f(<i>x</i>) = <i>x</i><sup>2</sup> + 2\u2009<span class="fn">sin</span>(<i>x</i>)'
        ' + <span class="fn">cos</span>(<i>x</i> − 1) − 5',
    ),
    (
        "(x+1)**2 + sin(x**2+1) - log(x**2+1)",
        'f(<i>x</i>) = (<i>x</i> + 1)<sup>2</sup> + <span class="fn">sin</span>(<i>x</i><sup>2</sup> + 1)'
        ' − <span class="fn">log</span>(<i>x</i><sup>2</sup> + 1)',
    ),
    ("-x**2", "f(<i>x</i>) = −<i>x</i><sup>2</sup>"),  # the power binds tighter than the minus
    ("(-2)**x", "f(<i>x</i>) = (−2)<sup><i>x</i></sup>"),
    ("x - (x - 1)", "f(<i>x</i>) = <i>x</i> − (<i>x</i> − 1)"),  # kept: the right side of a minus
    ("(x - 1) + x", "f(<i>x</i>) = <i>x</i> − 1 + <i>x</i>"),  # dropped: not needed
    ("-2*x", "f(<i>x</i>) = −2<i>x</i>"),
    ("x*(x+1)", "f(<i>x</i>) = <i>x</i>\u2009·\u2009(<i>x</i> + 1)"),
    ("sqrt(abs(x))*pi", "f(<i>x</i>) = √(|<i>x</i>|)\u2009·\u2009π"),
]


@pytest.mark.parametrize("text, html", CASES)
def test_functions_are_typeset_from_their_tree(text, html):
    rendered = str(formula(text))
    assert rendered == f'<span class="math">{html}</span>'
    assert "**" not in rendered and "*" not in rendered


def test_a_text_that_does_not_parse_is_shown_escaped():
    assert str(formula("x <b>")) == '<span class="math">f(x) = x &lt;b&gt;</span>'
