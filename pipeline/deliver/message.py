"""Personal values and the MIME message.

A rendered digest (`Rendered`) holds tokens for personal values: `[[unsubscribe_url]]`,
`[[preferences_url]]`, `[[name]]`, `[[email]]`. A personaliser turns one subscriber into an
`OutgoingMessage` that still holds the shared template strings plus the subscriber's values in
`variables`; no copy of the HTML is made per recipient. Providers that send whole messages (outbox, SMTP,
Postmark) call `materialise`; providers with their own substitution (Mailgun recipient variables,
SendGrid substitutions) send the template once per batch with the values beside it.
"""

from __future__ import annotations

import html as htmllib
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

from pipeline.deliver.tokens import make_tokens, token_url
from pipeline.errors import DeliveryError
from pipeline.types import OutgoingMessage, Rendered, Subscriber

#: The personal values a rendered digest may hold, as `[[key]]` tokens.
PERSONAL_KEYS: tuple[str, ...] = ("unsubscribe_url", "preferences_url", "name", "email")

#: Generation policy: CRLF, and header lines up to RFC 5322's 998 characters before folding.
_HEADER_POLICY = SMTP.clone(max_line_length=998)

Personaliser = Callable[[Subscriber], OutgoingMessage]


def token_of(key: str) -> str:
    return f"[[{key}]]"


def fill(template: str, values: Iterable[tuple[str, str]], *, escape_html: bool = False) -> str:
    """Replace each `[[key]]` by its value; in HTML the values are escaped (a name may hold `<` or `&`)."""
    out = template
    for key, value in values:
        tok = token_of(key)
        if tok in out:
            out = out.replace(tok, htmllib.escape(value) if escape_html else value)
    return out


def materialise(msg: OutgoingMessage) -> OutgoingMessage:
    """The message with every personal value in place and no variables left."""
    if not msg.variables:
        return msg
    values = msg.variables
    return replace(
        msg,
        subject=fill(msg.subject, values),
        html=fill(msg.html, values, escape_html=True),
        text=fill(msg.text, values),
        headers=tuple((name, fill(value, values)) for name, value in msg.headers),
        variables=(),
    )


def sender_address(sender: str) -> str:
    """The bare address of a `Name <addr>` sender."""
    addr = parseaddr(sender)[1]
    if "@" not in addr:
        raise DeliveryError(f"sender '{sender}' has no email address (fix: delivery.from in sources.yaml)")
    return addr


def list_unsubscribe_headers(unsubscribe_url: str, sender: str) -> tuple[tuple[str, str], ...]:
    """RFC 2369 List-Unsubscribe (HTTPS first, then mailto) and RFC 8058 one-click."""
    mailto = f"mailto:{sender_address(sender)}?subject=unsubscribe"
    return (
        ("List-Unsubscribe", f"<{unsubscribe_url}>, <{mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    )


def personal_headers(public_url: str, token: str, sender: str) -> tuple[tuple[str, str], ...]:
    """The List-Unsubscribe headers of one recipient, from their signed unsubscribe token."""
    return list_unsubscribe_headers(token_url(public_url, "unsubscribe", token), sender)


def make_personaliser(rendered: Rendered, *, secret: str, public_url: str, sender: str) -> Personaliser:
    """A function from a subscriber to their message, sharing the rendered strings (no per-recipient copy).

    The message id is left empty: the engine sets the delivery's own id.
    """
    headers = list_unsubscribe_headers(token_of("unsubscribe_url"), sender)

    def personalise(sub: Subscriber) -> OutgoingMessage:
        unsubscribe, preferences = make_tokens(secret, ("unsubscribe", "preferences"), sub.id, sub.email)
        values = (
            ("unsubscribe_url", token_url(public_url, "unsubscribe", unsubscribe)),
            ("preferences_url", token_url(public_url, "preferences", preferences)),
            ("name", sub.name),
            ("email", sub.email),
        )
        return OutgoingMessage(
            message_id="",
            to=sub.email,
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            headers=headers,
            variables=values,
        )

    return personalise


def mail_message_id(message_id: str, sender: str) -> str:
    """Our message id as an RFC 5322 Message-ID, in the sender's domain."""
    if "@" in message_id:
        return f"<{message_id.strip('<>')}>"
    return f"<{message_id}@{sender_address(sender).rsplit('@', 1)[1]}>"


def build_mime(
    msg: OutgoingMessage, sender: str, *, reply_to: str = "", now: datetime | None = None
) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML), UTF-8, quoted-printable.

    Personal values are filled in first, so a template message with variables is accepted too.
    """
    msg = materialise(msg)
    mime = EmailMessage(policy=SMTP)
    mime["From"] = sender
    mime["To"] = _address(msg.to)
    if reply_to:
        mime["Reply-To"] = reply_to
    mime["Subject"] = msg.subject
    mime["Date"] = format_datetime(now or datetime.now(UTC))
    mime["Message-ID"] = mail_message_id(msg.message_id, sender)
    for name, value in msg.headers:
        mime[name] = value
    mime["X-Pipeline-Message-Id"] = msg.message_id
    # set_content adds MIME-Version; text first: clients show the last part they can render.
    mime.set_content(msg.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    mime.add_alternative(msg.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # The bodies are encoded (76-character lines); headers are generated with the longer limit so a long
    # List-Unsubscribe URL is kept as it is instead of being turned into RFC 2047 encoded words.
    mime.policy = _HEADER_POLICY
    return mime


def _address(to: str) -> str:
    name, addr = parseaddr(to)
    if not addr or "@" not in addr:
        raise DeliveryError(f"recipient '{to}' is not an email address")
    user, domain = addr.rsplit("@", 1)
    return str(Address(display_name=name, username=user, domain=domain))
