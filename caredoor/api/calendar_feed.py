"""``/calendar/<token>.ics``: a specialist's bookings for calendar apps to subscribe to.

The token in the URL is the only credential (calendar apps send no cookies), so the view
needs no session and no CSRF token. It answers on the brands of the specialist's network;
an unknown, regenerated or revoked token, another network's brand or a platform host all
get the same 404. Calendar apps poll: each token may be read ``LIMIT`` times per
``WINDOW`` seconds (429 beyond), and an unchanged feed answers 304 to ``If-None-Match``.
Reads are not audited: a poll every few minutes would drown the trail.
"""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from caredoor.core.booking.ics import specialist_feed
from caredoor.core.calendars.actions import hash_token
from caredoor.core.calendars.queries import feed_for_token

LIMIT = 60
WINDOW = 600  # seconds
CACHE_CONTROL = "private, max-age=300"


def _over_limit(token: str) -> bool:
    window = int(time.time()) // WINDOW
    key = f"calendar-feed:{hash_token(token)[:32]}:{window}"
    cache.add(key, 0, WINDOW + 5)
    try:
        return cache.incr(key) > LIMIT
    except ValueError:  # expired between add and incr
        return False


@csrf_exempt
@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    brand = getattr(request, "brand", None)
    if brand is None:
        raise Http404
    if _over_limit(token):
        response = HttpResponse(
            "Too many requests.", status=429, content_type="text/plain; charset=utf-8"
        )
        response["Retry-After"] = str(WINDOW)
        return response
    calendar = feed_for_token(token, brand)
    if calendar is None:
        raise Http404
    body = specialist_feed(calendar.profile, now=timezone.now(), brand=brand)
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = CACHE_CONTROL
    response["ETag"] = etag
    response["Content-Disposition"] = 'inline; filename="sessions.ics"'
    response["X-Robots-Tag"] = "noindex, nofollow"
    return get_conditional_response(request, etag=etag, response=response)
