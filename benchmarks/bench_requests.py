"""Latency of brand-resolved requests through the full middleware stack (in-process)."""

import time

from _setup import django_with_demo, figures

django_with_demo()

from django.test import Client  # noqa: E402

from caredoor.core.accounts.models import User  # noqa: E402

N = 300


def measure(client: Client, path: str, host: str) -> list[float]:
    client.get(path, HTTP_HOST=host)  # warm up
    out = []
    for _ in range(N):
        start = time.perf_counter()
        response = client.get(path, HTTP_HOST=host)
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return out


anonymous = Client()
figures("landing_page", measure(anonymous, "/", "harbor.localhost"))
figures("theme_css", measure(anonymous, "/brand/theme.css", "steadypath.localhost"))
figures("healthz", measure(anonymous, "/healthz", "localhost"))
figures("specialist_directory", measure(anonymous, "/specialists/", "harbor.localhost"))
patient = Client()
patient.force_login(User.objects.get(email="ana.patient@caredoor.test"))
figures("patient_home", measure(patient, "/", "harbor.localhost"))

start = time.perf_counter()
count = 0
while time.perf_counter() - start < 2:
    anonymous.get("/nope", HTTP_HOST="unknown.localhost")
    count += 1
print(f"FIGURE unknown_host_404_per_s {count / (time.perf_counter() - start):.0f}")
