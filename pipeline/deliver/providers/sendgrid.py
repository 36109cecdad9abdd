"""SendGrid's v3 mail send with personalizations.

One request per template: the content goes once, and each recipient is one personalization (at most
1,000, each address once) with `substitutions` for the personal values, its own List-Unsubscribe
`headers`, and `custom_args` carrying our message id (echoed back in event webhooks). 202 means accepted.
"""

from __future__ import annotations

import html as htmllib
import json
import time
from collections.abc import Iterator, Sequence
from email.utils import parseaddr

import requests

from pipeline.deliver.message import fill, sender_address, token_of
from pipeline.deliver.providers.base import chunks, failed, group_by_template, send_in_calls, sent
from pipeline.deliver.providers.http import DEFAULT_TIMEOUT, Clock, HttpClient, short_body
from pipeline.errors import ProviderError
from pipeline.types import OutgoingMessage, RecipientResult

MAX_PERSONALIZATIONS = 1000
MAX_BYTES = 30_000_000  # SendGrid's total message size limit (30 MB)
_MARGIN = 1_000_000


class SendgridProvider:
    name = "sendgrid"
    max_batch = MAX_PERSONALIZATIONS

    def __init__(
        self,
        *,
        api_key: str,
        sender: str,
        base_url: str = "https://api.sendgrid.com",
        reply_to: str = "",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/v3/mail/send"
        self.headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self.sender = sender
        sender_address(sender)
        self.reply_to = reply_to
        self.http = HttpClient(session, timeout, clock)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
        calls: list[list[OutgoingMessage]] = []
        for group in group_by_template(messages):
            fixed = len(group[0].html) + len(group[0].text)
            for run in _unique_runs(group):
                calls.extend(
                    chunks(
                        run,
                        max_count=MAX_PERSONALIZATIONS,
                        max_bytes=MAX_BYTES - _MARGIN,
                        size_of=_size,
                        fixed_bytes=fixed,
                    )
                )
        return send_in_calls(calls, self._send_call)

    def _send_call(self, call: list[OutgoingMessage]) -> list[RecipientResult]:
        body = json.dumps(self.body(call), ensure_ascii=False).encode("utf-8")
        resp = self.http.post(
            self.name,
            self.url,
            data=body,
            headers=self.headers,
        )
        if resp.status_code in (401, 403):
            raise ProviderError(
                self.name,
                f"HTTP {resp.status_code}: {short_body(resp)} (fix: SENDGRID_API_KEY)",
                status=resp.status_code,
            )
        if resp.status_code != 202:
            reason = f"HTTP {resp.status_code}: {_errors(resp)}"
            return [failed(m, reason) for m in call]
        provider_id = resp.headers.get("X-Message-Id")
        return [sent(m, provider_id) for m in call]

    def body(self, call: list[OutgoingMessage]) -> dict[str, object]:
        """The JSON body of one request: the content once, a personalization per recipient."""
        first = call[0]
        # Substitutions apply to both parts; a value HTML escaping changes gets its own HTML token.
        html_keys = {k for m in call for k, v in m.variables if htmllib.escape(v) != v}
        html = first.html
        for k in html_keys:
            html = html.replace(token_of(k), token_of(f"{k}:html"))
        name, addr = parseaddr(self.sender)
        sender: dict[str, str] = {"email": addr, **({"name": name} if name else {})}
        body: dict[str, object] = {
            "personalizations": [self._personalization(m, html_keys) for m in call],
            "from": sender,
            "subject": first.subject,
            "content": [{"type": "text/plain", "value": first.text}, {"type": "text/html", "value": html}],
        }
        if self.reply_to:
            body["reply_to"] = {"email": parseaddr(self.reply_to)[1]}
        return body

    def _personalization(self, m: OutgoingMessage, html_keys: set[str]) -> dict[str, object]:
        subs = {token_of(k): v for k, v in m.variables}
        subs.update({token_of(f"{k}:html"): htmllib.escape(v) for k, v in m.variables if k in html_keys})
        headers = {name: fill(value, m.variables) for name, value in m.headers}
        headers["X-Pipeline-Message-Id"] = m.message_id
        p: dict[str, object] = {
            "to": [{"email": m.to}],
            "headers": headers,
            "custom_args": {"pipeline_message_id": m.message_id},
        }
        if subs:
            p["substitutions"] = subs
        return p


def _unique_runs(group: list[OutgoingMessage]) -> Iterator[list[OutgoingMessage]]:
    """Runs in which every address appears once (SendGrid refuses a request that repeats one)."""
    run: list[OutgoingMessage] = []
    seen: set[str] = set()
    for m in group:
        key = m.to.lower()
        if key in seen:
            yield run
            run, seen = [], set()
        run.append(m)
        seen.add(key)
    if run:
        yield run


def _size(m: OutgoingMessage) -> int:
    return (
        200
        + len(m.to)
        + 2 * len(m.message_id)
        + sum(2 * (len(k) + len(v)) + 12 for k, v in m.variables)
        + sum(len(n) + len(v) for n, v in m.headers)
    )


def _errors(resp: requests.Response) -> str:
    try:
        data = resp.json()
    except ValueError:
        return short_body(resp)
    errs = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errs, list) and errs:
        return "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errs)
    return short_body(resp)
