"""Open sign-up on a brand, and joining another brand with an existing account.

The sign-up form is allauth's (``ACCOUNT_FORMS["signup"]``), shaped by the brand: a
password where the brand offers passwords, otherwise none (the account is confirmed by an
emailed code, else by a magic link); name, language (the brand's languages, the browser's
by default), time zone (``signup.js`` preselects the browser's) and one required checkbox
per current sign-up document of the brand (terms, privacy notice, ...). The account, its
patient role and the signatures are written by one action (``do_sign_up_patient``).

It lives at the portal edge because it joins two core apps that do not know each other:
accounts (below) and consents (above).
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.app_settings import EmailVerificationMethod
from allauth.account.forms import SignupForm
from allauth.account.internal.flows.email_verification import (
    add_email_verification_sent_message,
)
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.account.internal.flows.signup import complete_signup
from allauth.account.models import EmailAddress
from allauth.account.utils import setup_user_email
from allauth.core import context
from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import get_language_info, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caredoor.core.accounts import actions
from caredoor.core.accounts.models import User
from caredoor.core.brands.choices import SignInMethod
from caredoor.core.brands.models import Brand
from caredoor.core.consents.actions import do_accept_at_signup
from caredoor.core.consents.models import ConsentVersion
from caredoor.core.consents.queries import signup_documents
from caredoor.portals.common.forms import zone_choices
from caredoor.portals.common.next_url import next_of


def document_url(version: ConsentVersion) -> str:
    """Where a visitor reads a sign-up document before accepting it (public page)."""
    return reverse("common:signup_document", args=[version.pk])


class ConsentFields:
    """One required checkbox per current sign-up document of the brand.

    The page also carries the version ids it showed (``versions``); a version published
    while the form was open is refused with a message asking to read and accept it.
    """

    brand: Brand
    documents: list[ConsentVersion]
    fields: dict[str, forms.Field]
    data: Any

    def add_consent_fields(self, brand: Brand) -> None:
        self.brand = brand
        self.documents = signup_documents(brand)
        for version in self.documents:
            link = format_html(
                '<a href="{}" target="_blank" rel="noopener">{}<span class="visually-hidden"> {}'
                "</span></a>",
                document_url(version),
                version.document.title,
                _("(opens in a new tab)"),
            )
            self.fields[f"accept_{version.pk}"] = forms.BooleanField(
                required=True,
                label=format_html(
                    _("I have read and accept the {document} (version {number})."),
                    document=link,
                    number=version.number,
                ),
                error_messages={
                    "required": _("Accept the %(document)s to continue.")
                    % {"document": version.document.title}
                },
            )

    @property
    def shown_versions(self) -> str:
        """The value of the hidden ``versions`` input: what this page shows."""
        return ",".join(str(v.pk) for v in self.documents)

    def consent_fields(self) -> list[Any]:
        return [self[f"accept_{v.pk}"] for v in self.documents]  # type: ignore[index]

    def check_current_versions(self) -> None:
        """Refuse the form when it showed other versions than the current ones."""
        raw = self.data.get("versions")
        if raw is None:  # no hidden field posted: the checkboxes it ticked tell
            shown = {
                int(k.removeprefix("accept_"))
                for k in self.data
                if k.startswith("accept_") and k.removeprefix("accept_").isdigit()
            }
        else:
            shown = {int(x) for x in str(raw).split(",") if x.strip().isdigit()}
        new = [v for v in self.documents if v.pk not in shown]
        if new and (shown or raw is not None):
            names = ", ".join(
                _("%(document)s (version %(number)s)")
                % {"document": v.document.title, "number": v.number}
                for v in new
            )
            self.add_error(  # type: ignore[attr-defined]
                None,
                ValidationError(
                    _(
                        "While you were filling in the form, a new version was published: "
                        "%(documents)s. Read it and accept it to continue."
                    ),
                    code="not_current",
                    params={"documents": names},
                ),
            )

    def accept(self, user: User, request: HttpRequest | None) -> None:
        """Record the acceptance (inside the caller's transaction)."""
        if self.documents:
            do_accept_at_signup(user, self.brand, self.documents, request=request)


class PatientSignupForm(ConsentFields, SignupForm):
    """allauth's sign-up form as the brand wants it (see the module docstring)."""

    name = forms.CharField(
        label=gettext_lazy("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        required=False,
        help_text=gettext_lazy("Times of sessions are shown in this zone."),
    )

    FIELD_ORDER = ["name", "email", "password1", "password2", "language", "time_zone"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = context.request
        brand = getattr(request, "brand", None)
        if brand is None:  # sign-up is closed without a brand; allauth shows that page
            raise Http404
        self.request = request
        self.method = actions.sign_up_method(brand)
        if self.method != SignInMethod.PASSWORD:
            self.fields.pop("password1", None)
            self.fields.pop("password2", None)
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        languages = list(brand.languages)
        language = self.fields["language"]
        language.choices = [(c, get_language_info(c)["name_local"]) for c in languages]  # type: ignore[attr-defined]
        current = getattr(request, "LANGUAGE_CODE", "")
        language.initial = current if current in languages else brand.default_language
        zone = self.fields["time_zone"]
        choices = zone_choices()
        if brand.time_zone not in {z for z, _n in choices}:
            choices = [(brand.time_zone, brand.time_zone), *choices]
        zone.choices = choices  # type: ignore[attr-defined]
        zone.initial = brand.time_zone
        # signup.js replaces the brand's zone by the browser's on a fresh form only.
        if not self.is_bound:
            zone.widget.attrs["data-browser-zone"] = ""
        self.add_consent_fields(brand)
        self.order_fields(self.FIELD_ORDER)

    # --- field groups for the template ------------------------------------------------------

    def account_fields(self) -> list[Any]:
        names = ["name", "email", "password1", "password2"]
        return [self[n] for n in names if n in self.fields]

    def locale_fields(self) -> list[Any]:
        return [self["language"], self["time_zone"]]

    # --- validation -------------------------------------------------------------------------

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or self.fields["language"].initial

    def clean_time_zone(self) -> str:
        return self.cleaned_data.get("time_zone") or self.fields["time_zone"].initial

    def clean(self) -> dict:
        data = super().clean()
        self.check_current_versions()
        return data

    # --- saving -----------------------------------------------------------------------------

    def save(self, request: HttpRequest) -> User:
        data = self.cleaned_data
        email = data["email"]

        def then(user: User) -> None:
            self.accept(user, request)
            setup_user_email(request, user, [EmailAddress(email=email)])

        return actions.do_sign_up_patient(
            brand=self.brand,
            email=email,
            name=data["name"],
            password=data.get("password1") or None,
            language=data["language"],
            time_zone=data["time_zone"],
            request=request,
            then=then,
        )

    def validate_unique_email(self, value: str) -> str:
        """Never say on the page that an address has an account (no enumeration): note
        it, and answer as for a new account (see ``try_save``)."""
        self.account_already_exists = (
            User.objects.filter(email__iexact=value).exists()
            or EmailAddress.objects.filter(email__iexact=value).exists()
        )
        return value

    def try_save(self, request: HttpRequest) -> tuple[User | None, HttpResponse | None]:
        try:
            if self.method == SignInMethod.PASSWORD:
                return None, self._sign_up_with_password(request)
            return None, self._sign_up_without_password(request)
        except ValidationError as exc:
            # A document changed between the check and the save: nothing was written.
            messages.error(request, " ".join(exc.messages))
            return None, redirect(request.get_full_path())

    def _sign_up_with_password(self, request: HttpRequest) -> HttpResponse:
        """A new account confirms its address before the first sign-in; an address that
        has an account gets an email saying so. Both see the same "check your email" page."""
        adapter = get_adapter(request)
        if self.account_already_exists:
            email = self.cleaned_data["email"]
            adapter.send_account_already_exists_mail(email)
            add_email_verification_sent_message(request, email, signup=True)
            return adapter.respond_email_verification_sent(request, None)
        user = self.save(request)
        return complete_signup(
            request,
            user=user,
            email_verification=EmailVerificationMethod.MANDATORY,
            redirect_url=next_of(request, "/"),
        )

    def _sign_up_without_password(self, request: HttpRequest) -> HttpResponse:
        """Create the account (or not, if the address has one) and send a code or a link.

        Both cases give the same page and the same kind of email, so the form reveals
        nothing about who has an account: an existing account simply gets signed in."""
        email = self.cleaned_data["email"]
        if self.account_already_exists:
            user = User.objects.filter(email=email, is_active=True).first()
        else:
            user = self.save(request)
        if self.method == SignInMethod.EMAIL_CODE:
            LoginCodeVerificationProcess.initiate(request=request, user=user, email=email)
            url = reverse("account_confirm_login_code")
            target = next_of(request)
            return redirect(f"{url}?{urlencode({'next': target})}" if target else url)
        actions.do_send_magic_link(email=email, brand=self.brand, request=request)
        return render(request, "account/signup_link_sent.html", {"email": email})


# --- views --------------------------------------------------------------------------------


class JoinBrandForm(ConsentFields, forms.Form):
    def __init__(self, *args: Any, brand: Brand, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_consent_fields(brand)

    def clean(self) -> dict:
        data = super().clean()
        self.check_current_versions()
        return data


@require_http_methods(["GET", "POST"])
def join_brand(request: HttpRequest) -> HttpResponse:
    """An existing account becomes a patient here by an explicit step (and accepts this
    brand's documents). Private brands admit people only by invitation or SSO."""
    brand = getattr(request, "brand", None)
    if brand is None:
        raise Http404
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
    if not actions.may_join(request.user, brand):
        if not brand.is_private:  # already a patient here
            return redirect(next_of(request, "/"))
        raise Http404
    form = JoinBrandForm(request.POST or None, brand=brand)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_join_as_patient(
                request.user,  # type: ignore[arg-type]
                brand,
                request=request,
                then=lambda user: form.accept(user, request),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(request.get_full_path())
        messages.success(request, _("Welcome to %(brand)s.") % {"brand": brand.name})
        return redirect(next_of(request, "/"))
    return render(request, "common/join_brand.html", {"form": form, "next": next_of(request)})


def signup_document(request: HttpRequest, version_id: int) -> HttpResponse:
    """A sign-up document of this brand, readable before having an account."""
    brand = getattr(request, "brand", None)
    if brand is None:
        raise Http404
    version = next((v for v in signup_documents(brand) if v.pk == version_id), None)
    if version is None:
        raise Http404
    return render(request, "common/signup_document.html", {"version": version})
