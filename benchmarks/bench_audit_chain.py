"""Audit append rate (every action pays it) and chain verification speed."""

import time

from _setup import django_with_demo

django_with_demo()

from caredoor.core.compliance import audit  # noqa: E402

N = 2000
start = time.perf_counter()
for i in range(N):
    audit.record("bench.event", data={"i": i})
elapsed = time.perf_counter() - start
print(f"FIGURE audit_append_per_s {N / elapsed:.0f}")

start = time.perf_counter()
report = audit.verify_chain()
elapsed = time.perf_counter() - start
assert report.ok
print(f"FIGURE audit_verify_events_per_s {report.checked / elapsed:.0f}")
