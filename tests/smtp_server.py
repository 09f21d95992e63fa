"""A real SMTP server for tests (aiosmtpd in a thread) that records what it accepted.

``block_at=k`` makes the server hold the k-th message it is offered (counting every
DATA command, accepted or not) without answering, until ``release()``; then it refuses
it. A client killed meanwhile has delivered nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from django.test import override_settings


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    to: str
    subject: str
    body: str
    attachments: list[str]


@dataclass
class Recorder:
    block_at: int | None = None
    offered: int = 0
    received: list[Received] = field(default_factory=list)
    blocked: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
        with self.lock:
            self.offered += 1
            hold = self.offered == self.block_at
        if hold:
            self.blocked.set()
            while not self.released.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 Not accepted (held by the test)"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        with self.lock:
            self.received.append(
                Received(
                    to=", ".join(envelope.rcpt_tos),
                    subject=str(message["Subject"]),
                    body=body.get_content() if body is not None else "",
                    attachments=[part.get_content_type() for part in message.iter_attachments()],
                )
            )
        return "250 Message accepted for delivery"

    def release(self) -> None:
        self.released.set()

    def keys(self) -> list[tuple[str, str]]:
        with self.lock:
            return [(r.to, r.subject) for r in self.received]


@dataclass
class SmtpServer:
    host: str
    port: int
    recorder: Recorder

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, recorder)
    finally:
        recorder.release()
        controller.stop()


@contextlib.contextmanager
def django_smtp(server: SmtpServer) -> Iterator[None]:
    """Django's SMTP backend pointed at ``server``."""
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST=server.host,
        EMAIL_PORT=server.port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=10,
    ):
        yield
