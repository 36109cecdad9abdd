"""Mailgun's messages API with batch sending.

One call per template and at most 1,000 recipients (500 when recipient variables are large), under 25 MB:
the HTML goes once, and each recipient's values travel in `recipient-variables`, referenced as
`%recipient.KEY%`. Our message id rides along as the custom variable `v:pipeline_message_id`, which
Mailgun echoes back in its events (`user-variables`).
"""

from __future__ import annotations

import html as htmllib
import json
import re
import time
import uuid
from collections.abc import Sequence
from urllib.parse import quote

import requests

from pipeline.deliver.message import fill, sender_address, token_of
from pipeline.deliver.providers.base import (
    chunks,
    failed,
    group_by_template,
    send_in_calls,
    sent,
)
from pipeline.deliver.providers.http import DEFAULT_TIMEOUT, Clock, HttpClient, short_body
from pipeline.errors import ProviderError
from pipeline.types import OutgoingMessage, RecipientResult

MAX_RECIPIENTS = 1000
MAX_RECIPIENTS_LARGE_VARIABLES = 500
#: Above this many bytes of recipient variables per recipient, Mailgun advises batches of 500.
LARGE_VARIABLES_BYTES = 1000
MAX_BYTES = 25_000_000
_HTML_SPECIAL = re.compile(r"[&<>\"']")
#: Room for form field names, escaping and headers on top of what `chunks` counts.
_MARGIN = 1_000_000


class MailgunProvider:
    name = "mailgun"
    max_batch = MAX_RECIPIENTS

    def __init__(
        self,
        *,
        domain: str,
        api_key: str,
        sender: str,
        base_url: str = "https://api.mailgun.net",
        reply_to: str = "",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
    ) -> None:
        self.domain = domain
        self.url = f"{base_url.rstrip('/')}/v3/{quote(domain)}/messages"
        self.auth = ("api", api_key)
        self.sender = sender
        sender_address(sender)  # fail early on a sender without an address
        self.reply_to = reply_to
        self.http = HttpClient(session, timeout, clock)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
        return send_in_calls(self._calls(messages), self._send_call)

    def _calls(self, messages: Sequence[OutgoingMessage]) -> list[list[OutgoingMessage]]:
        calls: list[list[OutgoingMessage]] = []
        for group in group_by_template(messages):
            first = group[0]
            sizes = {id(m): _variables_size(m) for m in group}
            large = sum(sizes.values()) / len(group) > LARGE_VARIABLES_BYTES
            limit = MAX_RECIPIENTS_LARGE_VARIABLES if large else MAX_RECIPIENTS
            fixed = len(first.html.encode()) + len(first.text.encode()) + len(first.subject.encode())
            calls.extend(
                chunks(
                    group,
                    max_count=limit,
                    max_bytes=MAX_BYTES - _MARGIN,
                    size_of=lambda m, sizes=sizes: sizes[id(m)],  # type: ignore[misc]
                    fixed_bytes=fixed,
                )
            )
        return calls

    def _send_call(self, call: list[OutgoingMessage]) -> list[RecipientResult]:
        body, content_type = multipart(self.form(call))
        resp = self.http.post(
            self.name,
            self.url,
            data=body,
            headers={"Content-Type": content_type},
            auth=self.auth,
        )
        if resp.status_code in (401, 403):
            fix = f"fix: MAILGUN_API_KEY and the domain {self.domain}"
            msg = f"HTTP {resp.status_code}: {short_body(resp)} ({fix})"
            raise ProviderError(self.name, msg, status=resp.status_code)
        if resp.status_code != 200:
            reason = f"HTTP {resp.status_code}: {_message(resp)}"
            return [failed(m, reason) for m in call]
        provider_id = _json(resp).get("id")
        return [sent(m, str(provider_id) if provider_id else None) for m in call]

    def form(self, call: list[OutgoingMessage]) -> list[tuple[str, str]]:
        """The form fields of one batch call: the template once, each recipient's values in JSON."""
        first = call[0]
        keys = [k for k, _ in first.variables]
        # A value that HTML escaping changes (a name with "&") gets an escaped twin for the HTML part.
        html_keys = {k for m in call for k, v in m.variables if _HTML_SPECIAL.search(v)}

        def text_ref(key: str) -> str:
            return f"%recipient.{key}%"

        text_refs = [(k, text_ref(k)) for k in keys]
        html_refs = [(k, text_ref(f"{k}_html" if k in html_keys else k)) for k in keys]
        variables: dict[str, dict[str, str]] = {}
        for m in call:
            values = dict(m.variables)
            values.update({f"{k}_html": htmllib.escape(values[k]) for k in html_keys if k in values})
            values["message_id"] = m.message_id
            variables[m.to] = values
        fields: list[tuple[str, str]] = [("from", self.sender)]
        fields.extend(("to", m.to) for m in call)
        fields += [
            ("subject", fill(first.subject, text_refs)),
            ("text", fill(first.text, text_refs)),
            ("html", _fill_raw(first.html, html_refs)),
            ("recipient-variables", json.dumps(variables, ensure_ascii=False, separators=(",", ":"))),
            ("v:pipeline_message_id", "%recipient.message_id%"),
            ("h:X-Pipeline-Message-Id", "%recipient.message_id%"),
        ]
        fields.extend((f"h:{name}", fill(value, text_refs)) for name, value in first.headers)
        if self.reply_to:
            fields.append(("h:Reply-To", self.reply_to))
        return fields


def multipart(fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    """multipart/form-data, as `curl -F` sends it. URL-encoding a 100 KB HTML part and 1,000 recipients'
    variables costs far more (Python quotes byte by byte) and makes the body up to three times larger."""
    encoded = [(name.encode(), value.encode("utf-8")) for name, value in fields]
    boundary = uuid.uuid4().hex.encode()
    while any(boundary in value for _, value in encoded):
        boundary = uuid.uuid4().hex.encode()
    parts: list[bytes] = []
    for name, value in encoded:
        parts += [
            b"--",
            boundary,
            b'\r\nContent-Disposition: form-data; name="',
            name,
            b'"\r\n\r\n',
            value,
            b"\r\n",
        ]
    parts += [b"--", boundary, b"--\r\n"]
    return b"".join(parts), f"multipart/form-data; boundary={boundary.decode()}"


def _fill_raw(template: str, refs: list[tuple[str, str]]) -> str:
    # The references themselves must not be HTML-escaped (they hold no special characters anyway).
    out = template
    for key, ref in refs:
        out = out.replace(token_of(key), ref)
    return out


def _variables_size(m: OutgoingMessage) -> int:
    return 80 + len(m.to) + len(m.message_id) + sum(len(k) + len(v) + 8 for k, v in m.variables)


def _json(resp: requests.Response) -> dict[str, object]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(resp: requests.Response) -> str:
    msg = _json(resp).get("message")
    return str(msg) if msg else short_body(resp)
