"""Charts as accessible figures: vl-convert's SVG rewritten safe to inline, numbers in words."""

from __future__ import annotations

import pytest

from deliberation.readout import captions

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
       'version="1.1" class="marks" width="100" height="50" viewBox="0 0 100 50">'
       '<g transform="translate(0.123456,2)" aria-label="x: &lt;b&gt;"><text x="1" '
       'onclick="alert(1)" fill="#000">&lt;script&gt;alert(1)&lt;/script&gt;</text>tail &amp; '
       "</g></svg>")


def test_svg_is_rewritten_from_the_allowlist() -> None:
    svg = str(captions.inline_svg(SVG, chart_id="c", title="T <i>", description="D & d"))
    assert svg.startswith('<svg role="img" aria-labelledby="c-title c-desc" width="100" '
                          'height="50" viewBox="0 0 100 50"><title id="c-title">T &lt;i&gt;'
                          '</title><desc id="c-desc">D &amp; d</desc>')
    assert "://" not in svg
    assert "xmlns" not in svg
    assert "onclick" not in svg
    assert "aria-label=" not in svg
    assert 'transform="translate(0.12,2)"' in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</text>tail &amp; </g></svg>" in svg


@pytest.mark.parametrize("bad", [
    '<svg><script>alert(1)</script></svg>',
    '<svg><foreignObject><p>x</p></foreignObject></svg>',
    '<svg><a href="http://example.org/"><text>x</text></a></svg>',
    '<svg><image href="http://example.org/x.png"/></svg>',
    '<!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>',
    "<html><svg/></html>",
])
def test_anything_outside_the_allowlist_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"SVG|declaration"):
        captions.inline_svg(bad, chart_id="c", title="t", description="d")
