from __future__ import annotations

import email
import email.policy
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.deliver.providers import make_provider
from pipeline.deliver.providers.smtp import SmtpProvider
from pipeline.errors import ProviderError
from pipeline.types import DeliverySettings, ProviderSettings
from tests.deliver.helpers import SENDER, message
from tests.support.tls import make_certificates


class Recorder:
    """An aiosmtpd handler: keeps what it accepts, refuses one mailbox like a real server would."""

    def __init__(self, refuse: str = "") -> None:
        self.refuse = refuse
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if address == self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"news",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


@pytest.fixture
def plain_server() -> Iterator[tuple[Controller, Recorder]]:
    recorder = Recorder(refuse="reader2@example.no")
    controller = Controller(recorder, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


def _free_port() -> int:
    # aiosmtpd's Controller checks its own port on start, so it needs a real one, not 0.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port(controller: Controller) -> int:
    return int(controller.port)


def test_sends_each_message_on_one_connection_and_fails_refused_recipients(
    plain_server: tuple[Controller, Recorder],
) -> None:
    controller, recorder = plain_server
    smtp = SmtpProvider("127.0.0.1", _port(controller), SENDER, starttls=False)
    results = smtp.send_batch([message(1), message(2), message(3, name="Åse")])

    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert "550" in (results[1].reason or "") and "No such user" in (results[1].reason or "")
    assert results[0].provider_id == "<d1.s1@example.org>"
    assert [(frm, tos) for frm, tos, _ in recorder.received] == [
        ("news@example.org", ["reader1@example.no"]),
        ("news@example.org", ["reader3@example.no"]),
    ]
    parsed = email.message_from_bytes(recorder.received[1][2], policy=email.policy.default)
    assert parsed["X-Pipeline-Message-Id"] == "d1.s3"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hei Åse!" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_starttls_and_login_from_the_environment(tmp_path: Path) -> None:
    certs = make_certificates(tmp_path, ("127.0.0.1",))
    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=certs.server_context(),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
        # smtplib's AUTH LOGIN sends the user with the command, which aiosmtpd does not expect.
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        client_tls = ssl.create_default_context(cafile=str(certs.ca_file))
        settings = DeliverySettings(
            sender=SENDER,
            providers=(ProviderSettings("smtp", (("host", "127.0.0.1"), ("port", str(_port(controller))))),),
        )
        provider = make_provider("smtp", settings, {"SMTP_USERNAME": "news", "SMTP_PASSWORD": "s3cret"})
        assert isinstance(provider, SmtpProvider)
        provider.ssl_context = client_tls
        assert [r.status for r in provider.send_batch([message(1)])] == ["sent"]
        assert recorder.received[0][1] == ["reader1@example.no"]

        wrong = SmtpProvider(
            "127.0.0.1",
            _port(controller),
            SENDER,
            username="news",
            password="nope",
            ssl_context=client_tls,
            timeout=5,
        )
        with pytest.raises(ProviderError) as info:
            wrong.send_batch([message(2)])
        assert not info.value.transient and "login refused" in str(info.value)
        assert len(recorder.received) == 1
    finally:
        controller.stop()


def test_a_refused_connection_is_transient() -> None:
    smtp = SmtpProvider("127.0.0.1", 1, SENDER, starttls=False, timeout=2)
    with pytest.raises(ProviderError) as info:
        smtp.send_batch([message(1)])
    assert info.value.transient and not info.value.uncertain
