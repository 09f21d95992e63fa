"""Showing people's free text safely: nh3 keeps a few harmless tags and drops the rest."""

from __future__ import annotations

import re

import nh3
from django import template
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

TAG = re.compile(r"</?[a-zA-Z]")
ALLOWED_TAGS = {"p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


def clean_text(value: str) -> str:
    """Sanitized HTML for free text: plain-text line breaks become paragraphs first."""
    html = value if TAG.search(value) else linebreaks(value)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto"},
        link_rel="noopener noreferrer nofollow ugc",
    )


@register.filter(name="safe_text")
def safe_text(value: object) -> SafeString:
    return mark_safe(clean_text(str(value or "")))  # noqa: S308 - sanitized by nh3 above
