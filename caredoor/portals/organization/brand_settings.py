"""The page that edits a brand's one row of settings for a module (guided matching,
feedback): the settings or their unsaved defaults in a model form, saved by the module's
``do_save_*`` action, which validates them again and records the change.

(The booking rules have their own page: they inherit field by field and list the
specialists' overrides.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from caredoor.core.accounts.queries import access_brand
from caredoor.core.brands.models import Brand
from caredoor.portals.common.access import PortalContext
from caredoor.portals.organization.forms import ModelErrorsMixin


class BrandSettingsForm(ModelErrorsMixin, forms.ModelForm):
    """A model form over ``Meta.fields`` of a brand's settings row."""

    def values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self._meta.fields or ()}


def brand_settings_page(
    request: HttpRequest,
    ctx: PortalContext,
    brand_id: int,
    *,
    form_class: type[BrandSettingsForm],
    settings_for: Callable[[Brand], models.Model],
    save: Callable[..., object],
    template: str,
    saved_message: str,
    url_name: str,
    extra: Callable[[Brand], dict[str, Any]] | None = None,
) -> HttpResponse:
    """GET shows the brand's settings (``saved`` False while they are the defaults); a
    valid POST calls ``save(brand, values, actor=, role=, request=)``, says
    ``saved_message`` (with ``%(brand)s``) and comes back to ``url_name``."""
    brand = access_brand(ctx.membership, brand_id)
    current = settings_for(brand)
    saved = current.pk is not None
    form = form_class(request.POST if request.method == "POST" else None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            save(brand, form.values(), actor=request.user, role=ctx.role, request=request)
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, saved_message % {"brand": brand.name})
            return redirect(url_name, brand_id=brand.pk)
    context = {"ctx": ctx, "target_brand": brand, "form": form, "saved": saved}
    if extra is not None:
        context.update(extra(brand))
    return render(request, template, context, status=400 if form.errors else 200)
