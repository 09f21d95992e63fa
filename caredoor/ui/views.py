from __future__ import annotations

import hashlib

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from caredoor.core.brands.theme import css_variables


@require_GET
def theme_css(request: HttpRequest) -> HttpResponse:
    """The brand's colours as CSS custom properties; cached, revalidated by ETag."""
    brand = getattr(request, "brand", None)
    if brand is None:
        raise Http404
    variables = css_variables(brand.primary_color, brand.accent_color)
    body = ":root{" + "".join(f"{k}:{v};" for k, v in variables.items()) + "}\n"
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={"ETag": etag})
    return HttpResponse(
        body,
        content_type="text/css; charset=utf-8",
        headers={"ETag": etag, "Cache-Control": "public, max-age=60"},
    )
