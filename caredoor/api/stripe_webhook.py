"""``POST /webhooks/stripe/``: Stripe's events, on any host (platform or brand).

The view only verifies and stores (``payments.webhooks.receive``): the signature over the
raw body with its timestamp tolerance; a forged, altered or stale delivery gets 400 and
changes nothing. Processing happens in a job, so Stripe is answered at once. The body is
never logged.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from caredoor.core.payments import stripe_api, webhooks

log = logging.getLogger("caredoor.payments")
MAX_BODY = 512 * 1024


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    signature = request.headers.get("Stripe-Signature", "")
    if not signature or not stripe_api.config()["webhook_secret"]:
        return JsonResponse({"error": "signature required"}, status=400)
    if int(request.headers.get("Content-Length") or 0) > MAX_BODY:
        return JsonResponse({"error": "too large"}, status=413)
    try:
        row, created = webhooks.receive(request.body, signature)
    except (stripe_api.SignatureError, ValueError):
        log.warning("refused a Stripe webhook whose signature did not verify")
        return JsonResponse({"error": "invalid signature"}, status=400)
    return JsonResponse({"received": row.event_id, "duplicate": not created})
