"""A throw-away Caredoor with the demo network, for benchmarks (never the developer's var/)."""

import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fresh_postgres_database() -> None:
    """With DATABASE_URL on PostgreSQL, measure in a new database, dropped at exit."""
    import atexit
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    name = f"caredoor_bench_{uuid.uuid4().hex[:8]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    atexit.register(drop)


def django_with_demo() -> None:
    sys.path.insert(0, str(ROOT))
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        _fresh_postgres_database()
    os.environ.setdefault("CAREDOOR_DATA_DIR", tempfile.mkdtemp(prefix="caredoor-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caredoor.config.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


def figures(name: str, samples_ms: list[float]) -> None:
    samples = sorted(samples_ms)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"FIGURE {name}_p50_ms {statistics.median(samples):.2f}")
    print(f"FIGURE {name}_p95_ms {p95:.2f}")
