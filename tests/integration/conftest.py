"""Real peers: the ASGI app served by uvicorn in subprocesses, on a database of its own.

The server environment is the production settings module (not the test settings) on the
embedded defaults, or, when ``DATABASE_URL`` names a PostgreSQL server, on a fresh database
created for this run on that server and dropped afterwards. ``REDIS_URL`` is passed through,
so the servers then use the Redis channel layer and cache.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "caredoor-demo-2026"  # published demo credential (caredoor/demo/data.py)
BOOT_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _is_postgres(url: str | None) -> bool:
    return bool(url) and urlsplit(url).scheme in {"postgres", "postgresql"}


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextlib.contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create ``caredoor_it_<random>`` on the server of ``server_url``; drop it afterwards."""
    import psycopg
    from psycopg import sql

    name = f"caredoor_it_{secrets.token_hex(4)}"
    admin_url = _with_database(server_url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def manage_shell(env: dict[str, str], code: str) -> str:
    """Run ``code`` in ``manage.py shell`` on the servers' database; its printed output."""
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py shell failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip()


@dataclass
class ServerEnv:
    data_dir: Path
    env: dict[str, str]
    redis_url: str | None


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )


@pytest.fixture(scope="session")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerEnv]:
    """A migrated and seeded demo network, ready for any number of server processes."""
    data_dir = tmp_path_factory.mktemp("caredoor-it")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CAREDOOR_ENV", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        CAREDOOR_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="caredoor.config.settings",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    redis_url = os.environ.get("REDIS_URL") or None
    if redis_url:
        env["REDIS_URL"] = redis_url
    database_url = os.environ.get("DATABASE_URL")
    with contextlib.ExitStack() as stack:
        if _is_postgres(database_url):
            env["DATABASE_URL"] = stack.enter_context(fresh_postgres_database(database_url))
        _manage(env, "migrate", "--noinput")
        _manage(env, "seed_demo")
        yield ServerEnv(data_dir=data_dir, env=env, redis_url=redis_url)


@dataclass
class Server:
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def origin(self, host: str) -> str:
        return f"http://{host}:{self.port}"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def running_server(server_env: ServerEnv) -> Iterator[Server]:
    """uvicorn serving the ASGI app; always terminated, even when it never became healthy."""
    port = free_port()
    log = server_env.data_dir / f"uvicorn-{port}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "caredoor.config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=server_env.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(port=port, process=process, log=log)
    try:
        _wait_healthy(server)
        yield server
    finally:
        _stop(process)


def _wait_healthy(server: Server) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    last: object = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"uvicorn exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            response = httpx.get(f"{server.base_url}/healthz", timeout=2)
            if response.status_code == 200:
                return
            last = response.status_code
        except httpx.TransportError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(
        f"uvicorn not healthy after {BOOT_TIMEOUT}s ({last!r}):\n{server.log_tail()}"
    )


@pytest.fixture(scope="session")
def server(server_env: ServerEnv) -> Iterator[Server]:
    with running_server(server_env) as srv:
        yield srv


@pytest.fixture
def start_server(server_env: ServerEnv) -> Iterator:
    """``start_server()``: one more uvicorn on the same database (and Redis), stopped after."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(running_server(server_env))


def sign_in(server: Server, host: str, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through allauth's form over HTTP, as a browser would; returns the session id."""
    origin = server.origin(host)
    with httpx.Client(
        base_url=server.base_url, headers={"Host": f"{host}:{server.port}"}, timeout=10
    ) as client:
        page = client.get("/accounts/login/")
        assert page.status_code == 200, page.text[:500]
        token = client.cookies["csrftoken"]
        response = client.post(
            "/accounts/login/",
            data={"login": email, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{origin}/accounts/login/", "Origin": origin},
            follow_redirects=True,
        )
        assert response.status_code == 200, response.text[:500]
        session = client.cookies.get("sessionid")
        assert session, f"no session cookie after signing in as {email}"
        return session
