"""``next`` addresses are followed only on this host: one helper for every portal page."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from caredoor.portals.common.next_url import next_of, safe_next


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/sessions/4/", "/sessions/4/"),
        ("/consents/sign/?stage=booking", "/consents/sign/?stage=booking"),
        ("https://evil.example/", "fallback"),
        ("//evil.example/path", "fallback"),
        ("http://brand.test/inside/", "fallback"),  # another scheme on a secure request
        ("https://brand.test/inside/", "https://brand.test/inside/"),
        ("", "fallback"),
        (None, "fallback"),
    ],
)
def test_safe_next_keeps_local_addresses_only(value, expected):
    request = RequestFactory().get("/", HTTP_HOST="brand.test", secure=True)
    assert safe_next(request, value, "fallback") == expected


def test_next_of_reads_the_form_before_the_query_string():
    request = RequestFactory().post(
        "/x/?next=/from-query/", {"next": "/from-form/"}, HTTP_HOST="brand.test"
    )
    assert next_of(request) == "/from-form/"
    request = RequestFactory().post("/x/?next=/from-query/", {}, HTTP_HOST="brand.test")
    assert next_of(request) == "/from-query/"
    request = RequestFactory().post(
        "/x/", {"next": "https://evil.example/"}, HTTP_HOST="brand.test"
    )
    assert next_of(request, "/") == "/"
