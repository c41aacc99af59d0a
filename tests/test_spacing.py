"""Chinese/Latin spacing is handled once, on the rendered HTML of a Chinese report."""

import pytest

from lab.report.spacing import space_cjk_html

CASES = [
    ('<p>见<a href="#f">图 6</a>和<a>表 4</a>。</p>', '<p>见<a href="#f">图 6</a> 和<a>表 4</a>。</p>'),
    ("<p>第 5轮（lr = 0.1）结束时。 然后</p>", "<p>第 5 轮（lr = 0.1）结束时。然后</p>"),
    (
        '<p>它的<span class="math">f(<i>x</i>)</span>的弯曲</p>',
        '<p>它的<span class="math"> f(<i>x</i>)</span> 的弯曲</p>',
    ),
    ("<p>很好。\n<b>结论：</b>学习率</p>", "<p>很好。<b>结论：</b>学习率</p>"),
    ("<p>带噪声的一元\n非线性函数</p>", "<p>带噪声的一元非线性函数</p>"),
    ("<p>准确率 44.52%；训练</p>", "<p>准确率 44.52%；训练</p>"),
    ("<p>附录 A\u3000补全的代码</p>", "<p>附录 A\u3000补全的代码</p>"),
    ("<p>Some English, with 2 words.</p>\n<p>下一段</p>", "<p>Some English, with 2 words.</p>\n<p>下一段</p>"),
    ("<style>a::after{content:'中a'}</style><pre>中a</pre><code>中a</code>", None),  # left verbatim
]


@pytest.mark.parametrize("html, expected", CASES)
def test_cjk_and_latin_are_spaced_once(html, expected):
    assert space_cjk_html(html) == (expected if expected is not None else html)
    assert space_cjk_html(space_cjk_html(html)) == space_cjk_html(html)  # idempotent
