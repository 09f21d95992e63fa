"""People with roles: who holds which role, open invitations, inviting and revoking."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from caredoor.core.accounts.actions import do_invite, do_revoke_invitation, do_revoke_membership
from caredoor.core.accounts.models import Membership
from caredoor.core.accounts.policy import GRANTABLE_ROLES, ROLE_SCOPE, Capability, Portal, Role
from caredoor.core.accounts.queries import (
    access_membership,
    access_open_invitation,
    members_visible_to,
    open_invitations_visible_to,
)
from caredoor.portals.common.access import PortalContext, portal_view
from caredoor.portals.organization.forms import InviteForm, MemberFilterForm

PORTAL = Portal.ORGANIZATION
PER_PAGE = 50


def _can_revoke(ctx: PortalContext, user_id: int, membership: Membership) -> bool:
    """Whether the acting person may take this role away (their own operator role: never)."""
    if not ctx.can(Capability.INVITE_MEMBERS):
        return False
    if membership.role not in GRANTABLE_ROLES.get(ctx.role, frozenset()):
        return False
    if membership.pk == ctx.membership.pk:
        return False
    return not (membership.user_id == user_id and membership.role == Role.OPERATOR)


def _page(
    request: HttpRequest, ctx: PortalContext, invite_form: InviteForm | None, status: int = 200
) -> HttpResponse:
    visible = members_visible_to(ctx.membership)
    roles_here = sorted(set(visible.values_list("role", flat=True)))
    filters = MemberFilterForm(request.GET or None, roles=[(r, Role(r).label) for r in roles_here])
    members = visible
    if filters.is_valid():
        if filters.cleaned_data["role"]:
            members = members.filter(role=filters.cleaned_data["role"])
        if q := filters.cleaned_data["q"].strip():
            members = members.filter(Q(user__email__icontains=q) | Q(user__name__icontains=q))
    page = Paginator(members.select_related("network"), PER_PAGE).get_page(request.GET.get("page"))
    rows = [(m, _can_revoke(ctx, request.user.pk, m)) for m in page]
    invitations = open_invitations_visible_to(ctx.membership).select_related("sent_on_brand")
    return render(
        request,
        "organization/members.html",
        {
            "ctx": ctx,
            "filters": filters,
            "page": page,
            "rows": rows,
            "total": visible.count(),
            "invitations": invitations,
            "invite_form": invite_form,
            "can_invite": ctx.can(Capability.INVITE_MEMBERS),
            "invite_here": ctx.brand is not None,
            "role_scopes": ROLE_SCOPE,
        },
        status=status,
    )


@portal_view(PORTAL, needs=Capability.VIEW_MEMBERS)
@require_http_methods(["GET"])
def member_list(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    form = InviteForm(actor=ctx.membership) if ctx.can(Capability.INVITE_MEMBERS) else None
    return _page(request, ctx, form)


@portal_view(PORTAL, needs=Capability.INVITE_MEMBERS)
@require_POST
def member_invite(request: HttpRequest, ctx: PortalContext) -> HttpResponse:
    form = InviteForm(request.POST, actor=ctx.membership)
    valid = form.is_valid()
    if ctx.brand is None:
        # The link in the email leads to the site it was sent from, and the platform host
        # is no brand's site: invitations go out from a brand's address.
        form.add_error(None, _("Send invitations from one of your brands' sites."))
    elif valid:
        data = form.cleaned_data
        try:
            invitation, _token = do_invite(
                inviter=ctx.membership,
                email=data["email"],
                role=data["role"],
                brand=data.get("brand"),
                organization=data.get("organization"),
                sent_on_brand=ctx.brand,
                request=request,
            )
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(
                request,
                _("An invitation to %(email)s as %(role)s is on its way.")
                % {"email": invitation.email, "role": invitation.get_role_display()},
            )
            return redirect("organization:members")
    return _page(request, ctx, form, status=400)


@portal_view(PORTAL, needs=Capability.INVITE_MEMBERS)
@require_POST
def member_revoke(request: HttpRequest, ctx: PortalContext, membership_id: int) -> HttpResponse:
    membership = access_membership(ctx.membership, membership_id)
    if not _can_revoke(ctx, request.user.pk, membership):
        messages.error(
            request,
            _("You cannot take away this role: %(role)s of %(email)s.")
            % {"role": membership.get_role_display(), "email": membership.user.email},
        )
        return redirect("organization:members")
    do_revoke_membership(membership, actor=request.user, actor_role=ctx.role, request=request)
    messages.success(
        request,
        _("%(email)s no longer holds the role %(role)s.")
        % {"email": membership.user.email, "role": membership.get_role_display()},
    )
    return redirect("organization:members")


@portal_view(PORTAL, needs=Capability.INVITE_MEMBERS)
@require_POST
def invitation_revoke(request: HttpRequest, ctx: PortalContext, invitation_id: int) -> HttpResponse:
    invitation = access_open_invitation(ctx.membership, invitation_id)
    do_revoke_invitation(invitation, actor=request.user, actor_role=ctx.role, request=request)
    messages.success(
        request,
        _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email},
    )
    return redirect("organization:members")
