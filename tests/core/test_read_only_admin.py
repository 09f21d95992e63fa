"""Rows that change only through audited actions cannot be added, changed or deleted in
the Django admin, even by a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from tests import factories

pytestmark = pytest.mark.django_db

READ_ONLY = [
    "compliance.AuditEvent",
    "consents.ConsentDocument",
    "consents.ConsentVersion",
    "intake.Questionnaire",
    "matching.MatchingSettings",
    "matching.MatchRequest",
    "matching.AssistanceRequest",
    "feedback.FeedbackSettings",
    "feedback.FeedbackResponse",
]


@pytest.mark.parametrize("label", READ_ONLY)
def test_the_admin_shows_but_never_writes(label):
    from django.apps import apps

    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = factories.make_user("root@example.test", is_superuser=True, is_staff=True)
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
