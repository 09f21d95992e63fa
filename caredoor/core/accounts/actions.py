"""Every state change of accounts, memberships and invitations. Views only validate."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from caredoor.core.accounts import emails
from caredoor.core.accounts.models import Invitation, Membership, User
from caredoor.core.accounts.policy import GRANTABLE_ROLES, ROLE_SCOPE, Role, Scope
from caredoor.core.brands.choices import SignInMethod
from caredoor.core.brands.models import Brand, Network
from caredoor.core.compliance import audit
from caredoor.core.organizations.models import Organization

INVITATION_DAYS = 7
PROFILE_FIELDS = ("name", "phone", "time_zone", "language")


def _scope_error(role: str, brand: Brand | None, organization: Organization | None) -> str | None:
    scope = ROLE_SCOPE[role]
    if scope == Scope.BRAND and (brand is None or organization is not None):
        return _("This role is held on a brand: choose the brand.")
    if scope == Scope.ORGANIZATION and (organization is None or brand is not None):
        return _("This role is held in an organization: choose the organization.")
    if scope == Scope.NETWORK and (brand is not None or organization is not None):
        return _("This role is held network-wide: choose neither a brand nor an organization.")
    if role == Role.OPERATOR and organization is not None and not organization.is_operator:
        return _("The operator role belongs to the operator organization.")
    # The operator organization holds its operators and its own finance people (money is
    # the operator's: payments/access.py); every other role belongs to a client organization.
    operator_org = organization is not None and organization.is_operator
    if operator_org and role not in (Role.OPERATOR, Role.FINANCE):
        return _("The operator organization holds only the operator and finance roles.")
    return None


def check_grant(
    *,
    inviter: Membership | None,
    role: str,
    network: Network,
    brand: Brand | None,
    organization: Organization | None,
) -> None:
    """Raise ``ValidationError`` unless ``inviter`` may hand out ``role`` in this scope."""
    problem = _scope_error(role, brand, organization)
    if problem:
        raise ValidationError(problem)
    for scoped in (brand, organization):
        if scoped is not None and scoped.network_id != network.pk:
            raise ValidationError(_("That scope belongs to another network."))
    if inviter is None:
        return
    if role not in GRANTABLE_ROLES.get(inviter.role, frozenset()):
        raise ValidationError(_("You cannot give this role."))
    if inviter.network_id != network.pk:
        raise ValidationError(_("That scope belongs to another network."))
    if inviter.role != Role.OPERATOR and organization != inviter.organization:
        raise ValidationError(_("You can only invite people to your own organization."))


@transaction.atomic
def do_grant_membership(
    *,
    user: User,
    role: str,
    network: Network,
    brand: Brand | None = None,
    organization: Organization | None = None,
    actor: Any = None,
    actor_role: str = "",
    request: HttpRequest | None = None,
) -> Membership:
    """Give ``user`` a role; an active identical membership is returned unchanged."""
    problem = _scope_error(role, brand, organization)
    if problem:
        raise ValidationError(problem)
    existing = (
        Membership.objects.active()
        .filter(user=user, role=role, network=network, brand=brand, organization=organization)
        .first()
    )
    if existing:
        return existing
    try:
        with transaction.atomic():
            membership = Membership.objects.create(
                user=user,
                role=role,
                network=network,
                brand=brand,
                organization=organization,
                granted_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:
        # A concurrent request granted the same role first: theirs stands.
        return Membership.objects.active().get(
            user=user, role=role, network=network, brand=brand, organization=organization
        )
    audit.record(
        "membership.granted",
        actor=actor,
        role=actor_role,
        target=membership,
        brand=brand or (request.brand if request else None),
        request=request,
        data={"user": user.email, "role": role, "scope": membership.scope_label},
    )
    return membership


@transaction.atomic
def do_revoke_membership(
    membership: Membership, *, actor: Any, actor_role: str, request: HttpRequest | None = None
) -> None:
    if membership.revoked_at is not None:
        return
    membership.revoked_at = timezone.now()
    membership.save(update_fields=["revoked_at"])
    audit.record(
        "membership.revoked",
        actor=actor,
        role=actor_role,
        target=membership,
        brand=membership.brand,
        request=request,
        data={"user": membership.user.email, "role": membership.role},
    )


@transaction.atomic
def do_update_profile(
    user: User, changes: dict[str, str], *, request: HttpRequest | None = None
) -> list[str]:
    """Apply validated profile changes; the audit names the fields, never their values."""
    changed = [f for f in PROFILE_FIELDS if f in changes and getattr(user, f) != changes[f]]
    if not changed:
        return []
    for field in changed:
        setattr(user, field, changes[field])
    user.full_clean(exclude=["password"])
    user.save(update_fields=changed)
    audit.record(
        "profile.updated",
        actor=user,
        target=user,
        request=request,
        brand=getattr(request, "brand", None),
        data={"fields": changed},
    )
    return changed


def _link_on(brand: Brand, request: HttpRequest, path: str) -> str:
    """An absolute link on ``brand``'s primary domain, whatever host the request came to."""
    primary = brand.domains.filter(is_primary=True).values_list("host", flat=True).first()
    port = request.get_port()
    default = "443" if request.is_secure() else "80"
    netloc = primary if port == default else f"{primary}:{port}"
    return f"{request.scheme}://{netloc}{path}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def do_invite(
    *,
    inviter: Membership,
    email: str,
    role: str,
    brand: Brand | None,
    organization: Organization | None,
    sent_on_brand: Brand,
    request: HttpRequest,
) -> tuple[Invitation, str]:
    """Create an invitation and email its link once the transaction commits."""
    network = inviter.network
    check_grant(inviter=inviter, role=role, network=network, brand=brand, organization=organization)
    if sent_on_brand.network_id != network.pk:
        raise ValidationError(_("That scope belongs to another network."))
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        email=User.objects.normalize_email(email).lower(),
        role=role,
        network=network,
        brand=brand,
        organization=organization,
        sent_on_brand=sent_on_brand,
        token_hash=_token_hash(token),
        invited_by=request.user,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    audit.record(
        "invitation.sent",
        actor=request.user,
        role=inviter.role,
        target=invitation,
        brand=sent_on_brand,
        request=request,
        data={"email": invitation.email, "role": role},
    )
    link = _link_on(sent_on_brand, request, f"/accounts/invitation/{token}/")
    transaction.on_commit(lambda: emails.send_invitation(invitation, link))
    return invitation, token


def find_open_invitation(token: str) -> Invitation | None:
    invitation = (
        Invitation.objects.select_related("network", "brand", "organization", "sent_on_brand")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    return invitation if invitation and invitation.is_open else None


@transaction.atomic
def do_send_magic_link(*, email: str, brand: Brand, request: HttpRequest) -> None:
    """Email a sign-in link if an active account has this address; say nothing either way.

    The email leaves after the transaction commits. The request is not audited: it
    proves nothing about who asked, and the sign-in that follows is.
    """
    from caredoor.core.accounts import magic

    address = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=address, is_active=True).first()
    if user is None:
        return
    link = _link_on(brand, request, magic.make_path(user))
    transaction.on_commit(lambda: emails.send_magic_link(user, brand, link))


@transaction.atomic
def do_create_account(
    *, email: str, password: str, name: str = "", request: HttpRequest | None = None
) -> User:
    """A new person with a password (registration forms validate it first). Audited; the
    roles come from the caller's next action in the same transaction."""
    user = User.objects.create_user(email, password, name=name.strip())
    audit.record("account.created", actor=user, target=user, brand=_brand(request), request=request)
    return user


@transaction.atomic
def do_accept_invitation_as_new_person(
    invitation: Invitation, *, name: str, password: str, request: HttpRequest
) -> User:
    """Someone without an account accepts: the account and the role come into being
    together, or not at all."""
    user = do_create_account(email=invitation.email, password=password, name=name, request=request)
    do_accept_invitation(invitation, user, request=request)
    return user


@transaction.atomic
def do_accept_invitation(invitation: Invitation, user: User, *, request: HttpRequest) -> Membership:
    locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not locked.is_open:
        raise ValidationError(_("This invitation is no longer valid."))
    if locked.email != user.email:
        raise ValidationError(_("This invitation was sent to another email address."))
    membership = do_grant_membership(
        user=user,
        role=locked.role,
        network=locked.network,
        brand=locked.brand,
        organization=locked.organization,
        actor=user,
        actor_role=locked.role,
        request=request,
    )
    locked.accepted_at = timezone.now()
    locked.accepted_by = user
    locked.save(update_fields=["accepted_at", "accepted_by"])
    audit.record(
        "invitation.accepted",
        actor=user,
        role=locked.role,
        target=locked,
        brand=locked.sent_on_brand,
        request=request,
    )
    return membership


@transaction.atomic
def do_revoke_invitation(
    invitation: Invitation, *, actor: Any, actor_role: str, request: HttpRequest
) -> None:
    if invitation.revoked_at or invitation.accepted_at:
        return
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit.record(
        "invitation.revoked",
        actor=actor,
        role=actor_role,
        target=invitation,
        brand=invitation.sent_on_brand,
        request=request,
    )


@transaction.atomic
def do_register_patient(user: User, brand: Brand, *, request: HttpRequest | None) -> Membership:
    """Sign-up on a brand makes the person a patient there, and only there."""
    return do_grant_membership(
        user=user,
        role=Role.PATIENT,
        network=brand.network,
        brand=brand,
        actor=user,
        actor_role=Role.PATIENT,
        request=request,
    )


# --- open sign-up -------------------------------------------------------------------------

#: Sign-in methods that also open self-service sign-up (OIDC sign-up runs through the
#: identity provider, see ``adapters.SocialAccountAdapter``).
SIGN_UP_METHODS = (SignInMethod.PASSWORD, SignInMethod.EMAIL_CODE, SignInMethod.MAGIC_LINK)


def sign_up_method(brand: Brand | None) -> str | None:
    """How people sign up on ``brand`` by themselves, or None where it is closed.

    Private brands are closed (invitation or SSO only). A brand with passwords asks for
    one; otherwise the account is confirmed by an emailed code, else by a magic link."""
    if brand is None or brand.is_private:
        return None
    return next((m for m in SIGN_UP_METHODS if brand.allows_sign_in(m)), None)


def may_join(user: Any, brand: Brand | None) -> bool:
    """A signed-in person without a patient role here may join a public brand."""
    return bool(
        brand is not None
        and not brand.is_private
        and getattr(user, "is_authenticated", False)
        and not Membership.objects.active()
        .filter(user=user, role=Role.PATIENT, brand=brand)
        .exists()
    )


@transaction.atomic
def do_sign_up_patient(
    *,
    brand: Brand,
    email: str,
    name: str,
    password: str | None,
    language: str,
    time_zone: str,
    request: HttpRequest | None,
    then: Callable[[User], object] | None = None,
) -> User:
    """Open sign-up on ``brand``: the account (language and zone included), its patient
    role on this brand only, and ``then(user)`` (the caller records the acceptance of the
    brand's documents there) in one transaction: all of it, or nothing.

    ``password`` None leaves the password unusable (brands without passwords confirm the
    account by an emailed code or link). Raises ``ValidationError`` when sign-up is closed
    on the brand or a value is not acceptable."""
    method = sign_up_method(brand)
    if method is None:
        raise ValidationError(_("Sign-up is not open on this site."), code="closed")
    if (method == SignInMethod.PASSWORD) != bool(password):
        raise ValidationError(_("This site does not sign people up that way."), code="method")
    if language not in brand.languages:
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    user = User(
        email=User.objects.normalize_email(email).lower(),
        name=name.strip(),
        language=language,
        time_zone=time_zone,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    audit.record(
        "account.created",
        actor=user,
        target=user,
        brand=brand,
        request=request,
        data={"via": "sign_up", "method": method},
    )
    do_register_patient(user, brand, request=request)
    if then is not None:
        then(user)
    return user


@transaction.atomic
def do_join_as_patient(
    user: User,
    brand: Brand,
    *,
    request: HttpRequest | None,
    then: Callable[[User], object] | None = None,
) -> Membership:
    """An existing account becomes a patient of another public brand by its own explicit
    step; ``then(user)`` (accepting that brand's documents) runs in the same transaction."""
    if not may_join(user, brand):
        raise ValidationError(_("You cannot join this site yourself."), code="closed")
    membership = do_register_patient(user, brand, request=request)
    if then is not None:
        then(user)
    return membership


# --- authentication events (called from the allauth adapters) -------------------------------


def _brand(request: HttpRequest | None) -> Brand | None:
    return getattr(request, "brand", None)


@transaction.atomic
def do_record_sign_in(request: HttpRequest, user: User, method: str) -> None:
    audit.record(
        "auth.sign_in",
        actor=user,
        target=user,
        brand=_brand(request),
        request=request,
        data={"method": method},
    )


@transaction.atomic
def do_record_sign_in_failure(request: HttpRequest, email: str) -> None:
    audit.record(
        "auth.sign_in_failed",
        brand=_brand(request),
        request=request,
        actor_label=email[:254],
        data={"email": email[:254]},
    )


@transaction.atomic
def do_record_sign_out(request: HttpRequest, user: Any) -> None:
    if getattr(user, "is_authenticated", False):
        audit.record(
            "auth.sign_out", actor=user, target=user, brand=_brand(request), request=request
        )


@transaction.atomic
def do_record_mfa_change(request: HttpRequest | None, user: User, change: str, kind: str) -> None:
    audit.record(
        f"mfa.{change}",
        actor=user,
        target=user,
        brand=_brand(request),
        request=request,
        data={"type": kind},
    )
