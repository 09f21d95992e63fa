import pytest

from caredoor.ui.templatetags.caredoor_text import clean_text


@pytest.mark.parametrize(
    ("raw", "forbidden"),
    [
        ("<script>alert(1)</script>Hi", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ('<a href="javascript:alert(1)">x</a>', "javascript:"),
        ('<p style="position:fixed">x</p>', "style="),
        ("<iframe src=https://evil.example></iframe>", "<iframe"),
    ],
)
def test_dangerous_markup_is_removed(raw, forbidden):
    assert forbidden not in clean_text(raw)


def test_plain_text_keeps_its_paragraphs_and_safe_links_get_rel():
    assert clean_text("One\n\nTwo") == "<p>One</p>\n\n<p>Two</p>"
    link = clean_text('<a href="https://example.org">site</a>')
    assert 'rel="noopener noreferrer nofollow ugc"' in link
    assert clean_text("5 < 6 & 7 > 3") == "<p>5 &lt; 6 &amp; 7 &gt; 3</p>"
