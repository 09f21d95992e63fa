"""Scheduling at network scale: 2,000 specialists, each with weekly hours and 50 bookings.

Prints FIGURE lines: one specialist's slots over 30 days, next available across all 2,000,
and bookings per second from concurrent clients. DATABASE_URL picks the database (a fresh
PostgreSQL database is created and dropped); without it, a temporary SQLite file.
"""

import gc
import random
import threading
import time as clock
from datetime import time, timedelta

from _setup import django_with_demo, figures

django_with_demo()

from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from caredoor.core.accounts.models import Membership, User  # noqa: E402
from caredoor.core.booking.actions import do_book  # noqa: E402
from caredoor.core.booking.errors import SlotTaken  # noqa: E402
from caredoor.core.booking.models import Booking  # noqa: E402
from caredoor.core.booking.queries import busy_intervals, next_available  # noqa: E402
from caredoor.core.brands.models import Brand  # noqa: E402
from caredoor.core.organizations.models import Organization  # noqa: E402
from caredoor.core.scheduling.availability import free_slots  # noqa: E402
from caredoor.core.scheduling.models import AvailabilityRule, SessionType  # noqa: E402
from caredoor.core.specialists.models import (  # noqa: E402
    Listing,
    PublishedProfile,
    SpecialistProfile,
)

SPECIALISTS = 2000
BOOKINGS_EACH = 50
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]
random.seed(7)

brand = Brand.objects.get(slug="harbor")
network = brand.network
operator_org = Organization.objects.get(network=network, kind="operator")
patient = User.objects.get(email="ana.patient@caredoor.test")
now = timezone.now().replace(second=0, microsecond=0)

# --- build the network in bulk (a benchmark fixture, not a code path) ---------------------
started = clock.perf_counter()
users = User.objects.bulk_create(
    [User(email=f"bench{i}@bench.test", name=f"Bench {i}") for i in range(SPECIALISTS)]
)
Membership.objects.bulk_create(
    [Membership(user=u, role="specialist", network=network) for u in users]
)
profiles = SpecialistProfile.objects.bulk_create(
    [
        SpecialistProfile(
            user=u,
            network=network,
            registered_on=brand,
            onboarded_by=operator_org,
            status="approved",
            display_name=u.name,
            time_zone=ZONES[i % len(ZONES)],
        )
        for i, u in enumerate(users)
    ]
)
PublishedProfile.objects.bulk_create(
    [
        PublishedProfile(profile=p, data={"display_name": p.display_name}, published_at=now)
        for p in profiles
    ]
)
Listing.objects.bulk_create(
    [Listing(profile=p, brand=brand, status="approved", price_minor=9000) for p in profiles]
)
types = SessionType.objects.bulk_create(
    [
        SessionType(
            profile=p,
            name="Session",
            duration_minutes=50,
            buffer_after_minutes=10,
            slot_step_minutes=60,
            min_notice_minutes=60,
            horizon_days=60,
        )
        for p in profiles
    ]
)
AvailabilityRule.objects.bulk_create(
    [
        AvailabilityRule(profile=p, weekday=d, start_time=time(8), end_time=time(18))
        for p in profiles
        for d in range(5)
    ]
)
bookings = []
for p, st in zip(profiles, types, strict=True):
    days = random.sample(range(1, 60), BOOKINGS_EACH)
    for d in days:
        start = (now + timedelta(days=d)).replace(hour=random.choice([8, 10, 12, 14]), minute=0)
        bookings.append(
            Booking(
                brand=brand,
                profile=p,
                patient=patient,
                session_type=st,
                start=start,
                end=start + timedelta(minutes=50),
                blocked_start=start,
                blocked_end=start + timedelta(minutes=60),
                status="confirmed",
                patient_time_zone="Europe/Berlin",
                currency="EUR",
            )
        )
Booking.objects.bulk_create(bookings, batch_size=5000)
print(
    f"# built {SPECIALISTS} specialists and {len(bookings)} bookings "
    f"in {clock.perf_counter() - started:.1f} s on {connection.vendor}"
)
# Measure the code, not the collection of the fixture's garbage: the 100,000 Booking
# instances kept alive tripled the heap, and whether one of the 15 timed calls below
# absorbed a full collection of it (about 180 ms on a small machine) was a matter of luck.
# Each timed section starts from a collected heap.
del bookings

# --- one specialist's slots over 30 days -------------------------------------------------
types = list(SessionType.objects.filter(profile__in=profiles).select_related("profile"))
gc.collect()
samples = []
for _ in range(300):
    st = random.choice(types)
    t0 = clock.perf_counter()
    end = now + timedelta(days=30)
    free_slots(st, start=now, end=end, now=now, busy=busy_intervals(st.profile_id, now, end))
    samples.append((clock.perf_counter() - t0) * 1000)
figures("slots_30d", samples)

# --- next available across all 2,000 ------------------------------------------------------
gc.collect()
samples = []
for _ in range(15):
    t0 = clock.perf_counter()
    found = next_available(types, now=now, days=30)
    samples.append((clock.perf_counter() - t0) * 1000)
assert sum(1 for slot in found.values() if slot) > SPECIALISTS * 0.9
figures("next_available_2000", samples)
# Fast and right: a sample agrees with each specialist's own first free slot.
for st in random.sample(types, 100):
    end = now + timedelta(days=30)
    busy = busy_intervals(st.profile_id, now - timedelta(days=1), end + timedelta(days=1))
    own = free_slots(st, start=now, end=end, now=now, busy=busy)
    assert found[st.pk] == (own[0] if own else None), st.pk

# --- bookings per second under concurrency --------------------------------------------------
THREADS, SECONDS = 8, 4.0
counts = {"ok": 0, "taken": 0}
lock = threading.Lock()
deadline = clock.perf_counter() + SECONDS


def client(seed: int) -> None:
    rng = random.Random(seed)
    try:
        while clock.perf_counter() < deadline:
            st = rng.choice(types)
            slot = next_available([st], now=timezone.now(), days=60)[st.pk]
            if slot is None:
                continue
            try:
                do_book(patient=patient, brand=brand, session_type=st, start=slot.start)
                outcome = "ok"
            except SlotTaken:
                outcome = "taken"
            with lock:
                counts[outcome] += 1
    finally:
        connections.close_all()


threads = [threading.Thread(target=client, args=(i,)) for i in range(THREADS)]
t0 = clock.perf_counter()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = clock.perf_counter() - t0
print(f"FIGURE bookings_per_s {counts['ok'] / elapsed:.1f}")
print(
    f"# {counts['ok']} bookings, {counts['taken']} lost races, {THREADS} threads, {elapsed:.1f} s"
)
