"""The portal edge: every portal view is wrapped by ``portal_view``.

It resolves, once, who is acting (the membership) on which brand in which portal, applies
the access policy, enforces two-factor sign-in for the roles that need it, and passes a
``PortalContext`` to the view. Views never look up the brand or the role themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import PORTAL_PATHS, Portal, role_can, role_needs_mfa
from caredoor.core.accounts.queries import has_mfa, portal_memberships
from caredoor.core.brands.models import Brand


@dataclass(frozen=True)
class PortalContext:
    portal: str
    brand: Brand | None
    membership: Membership
    memberships: list[Membership]

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def home(self) -> str:
        return PORTAL_PATHS[self.portal]

    def can(self, capability: str) -> bool:
        return role_can(self.membership.role, capability)


PortalView = Callable[..., HttpResponse]


def session_key(portal: str) -> str:
    return f"caredoor.acting.{portal}"


def portal_view(portal: str, *, needs: str | None = None) -> Callable[[PortalView], PortalView]:
    def decorate(view: PortalView) -> PortalView:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            brand = getattr(request, "brand", None)
            if brand is None and portal != Portal.ORGANIZATION:
                raise Http404
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("account_login"))
            options = portal_memberships(request.user, brand, portal)
            if not options:
                return render(
                    request,
                    "common/no_access.html",
                    {"portal_label": Portal(portal).label, "portal": portal},
                    status=403,
                )
            preferred = request.session.get(session_key(portal))
            membership = next((m for m in options if m.pk == preferred), options[0])
            if needs and not role_can(membership.role, needs):
                raise Http404
            if role_needs_mfa(membership.role) and not has_mfa(request.user):
                messages.info(
                    request, _("Your role requires two-factor sign-in. Set it up to continue.")
                )
                return redirect("mfa_activate_totp")
            ctx = PortalContext(
                portal=portal, brand=brand, membership=membership, memberships=options
            )
            request.portal = ctx  # type: ignore[attr-defined]
            return view(request, ctx, *args, **kwargs)

        wrapper.portal = portal  # type: ignore[attr-defined]
        wrapper.needs = needs  # type: ignore[attr-defined]
        return wrapper

    return decorate
