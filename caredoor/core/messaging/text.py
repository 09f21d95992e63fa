"""Message text: what a body may be, and the one way it becomes HTML.

Bodies are stored as plain text (encrypted). ``render_body`` escapes everything, turns
web addresses into links that open without a referrer, keeps line breaks, and passes the
result through nh3 with an allow-list of ``a`` and ``br`` only, so no markup a sender
types can ever reach another person's page.
"""

from __future__ import annotations

import nh3
from django.core.exceptions import ValidationError
from django.utils.html import linebreaks, urlize
from django.utils.translation import gettext as _

BODY_MAX = 4000  # characters


def clean_body(body: str, *, required: bool = True) -> str:
    """Strip the body and check its length; line endings become ``\\n``."""
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body and required:
        raise ValidationError({"body": ValidationError(_("Write a message first."), code="empty")})
    if len(body) > BODY_MAX:
        message = _(
            "A message can hold at most %(max)d characters; this one has %(count)d. "
            "Split it into several messages or attach a document."
        ) % {"max": BODY_MAX, "count": len(body)}
        raise ValidationError({"body": ValidationError(message, code="too_long")})
    if "\x00" in body:
        raise ValidationError({"body": _("This message contains characters that cannot be sent.")})
    return body


def render_body(body: str) -> str:
    """Safe HTML for a stored body: escaped text, links, line breaks."""
    if not body:
        return ""
    html = linebreaks(urlize(body, trim_url_limit=60, nofollow=True, autoescape=True))
    return nh3.clean(
        html,
        tags={"a", "br", "p"},
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
