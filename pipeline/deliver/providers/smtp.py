"""SMTP through smtplib: one connection per batch, STARTTLS when configured, a result per recipient."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pipeline.deliver.message import build_mime, sender_address
from pipeline.deliver.providers.base import failed, sent, uncertain
from pipeline.errors import PartialBatchError, ProviderError
from pipeline.types import OutgoingMessage, RecipientResult


class SmtpProvider:
    name = "smtp"
    max_batch = 100

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = True,
        username: str = "",
        password: str = "",
        reply_to: str = "",
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.envelope_from = sender_address(sender)
        self.starttls = starttls
        self.username = username
        self.password = password
        self.reply_to = reply_to
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.now = now

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
        conn = self._connect()
        results: list[RecipientResult] = []
        try:
            for msg in messages:
                try:
                    results.append(self._send_one(conn, msg))
                except (smtplib.SMTPServerDisconnected, OSError) as e:
                    # The message in flight may have been accepted: uncertain. The rest were never offered,
                    # so the engine may retry them.
                    results.append(uncertain(msg, f"connection lost while sending: {e}"))
                    err = ProviderError(self.name, f"connection lost: {e}", transient=True)
                    raise PartialBatchError(err, tuple(results)) from e
        finally:
            _close(conn)
        return results

    def _connect(self) -> smtplib.SMTP:
        try:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as e:
            # Nothing was sent yet: safe to retry later.
            msg = f"cannot connect to {self.host}:{self.port}: {e}"
            raise ProviderError(self.name, msg, transient=True) from e
        try:
            conn.ehlo()
            if self.starttls:
                conn.starttls(context=self.ssl_context or ssl.create_default_context())
                conn.ehlo()
            if self.username:
                conn.login(self.username, self.password)
        except smtplib.SMTPAuthenticationError as e:
            _close(conn)
            raise ProviderError(self.name, f"login refused for {self.username}: {_reply(e)}") from e
        except smtplib.SMTPNotSupportedError as e:
            _close(conn)
            msg = f"{self.host}:{self.port}: {e} (fix: the smtp starttls setting)"
            raise ProviderError(self.name, msg) from e
        except (OSError, smtplib.SMTPException) as e:
            _close(conn)
            raise ProviderError(self.name, f"{self.host}:{self.port}: {e}", transient=True) from e
        return conn

    def _send_one(self, conn: smtplib.SMTP, msg: OutgoingMessage) -> RecipientResult:
        mime = build_mime(msg, self.sender, reply_to=self.reply_to, now=self.now())
        try:
            conn.send_message(mime, from_addr=self.envelope_from, to_addrs=[msg.to])
        except smtplib.SMTPRecipientsRefused as e:
            code, text = next(iter(e.recipients.values()), (0, b""))
            return failed(msg, f"recipient refused: {code} {_text(text)}")
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as e:
            return failed(msg, f"refused: {_reply(e)}")
        return sent(msg, str(mime["Message-ID"]))


def _reply(e: smtplib.SMTPResponseException) -> str:
    return f"{e.smtp_code} {_text(e.smtp_error)}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()
