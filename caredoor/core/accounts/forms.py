from __future__ import annotations

from allauth.account.forms import LoginForm
from django import forms
from django.utils.translation import gettext_lazy as _

from caredoor.core.brands.choices import SignInMethod


class BrandLoginForm(LoginForm):
    """allauth's password sign-in, refused where the brand does not offer passwords."""

    def clean(self):  # type: ignore[no-untyped-def]
        brand = getattr(self.request, "brand", None)
        if brand is not None and not brand.allows_sign_in(SignInMethod.PASSWORD):
            raise forms.ValidationError(_("Password sign-in is not offered on this site."))
        return super().clean()
