"""Postmark's batch endpoint: up to 500 whole messages and 50 MB a call, through the broadcast stream.

A 200 answer lists one result per message, in order, and any of them may carry a non-zero ErrorCode
(406: inactive recipient), so every result is read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import requests

from pipeline.deliver.message import materialise, sender_address
from pipeline.deliver.providers.base import failed, send_in_calls, sent
from pipeline.deliver.providers.http import DEFAULT_TIMEOUT, Clock, HttpClient, short_body
from pipeline.errors import ProviderError
from pipeline.types import OutgoingMessage, RecipientResult

MAX_MESSAGES = 500
MAX_BYTES = 50_000_000
#: Postmark ErrorCodes that concern the whole server or account, not a recipient: stop, keep queued.
_ACCOUNT_ERRORS = {10, 400, 401, 405, 412, 413}


class PostmarkProvider:
    name = "postmark"
    max_batch = MAX_MESSAGES

    def __init__(
        self,
        *,
        server_token: str,
        sender: str,
        base_url: str = "https://api.postmarkapp.com",
        message_stream: str = "broadcast",
        reply_to: str = "",
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/email/batch"
        self.headers = {
            "X-Postmark-Server-Token": server_token,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.sender = sender
        sender_address(sender)
        self.message_stream = message_stream
        self.reply_to = reply_to
        self.http = HttpClient(session, timeout, clock)

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
        return send_in_calls(self._calls(messages), self._send_call)

    def _calls(self, messages: Sequence[OutgoingMessage]) -> list[list[tuple[OutgoingMessage, bytes]]]:
        # Each message is encoded once, so the 50 MB limit is checked on the bytes that will be sent.
        calls: list[list[tuple[OutgoingMessage, bytes]]] = []
        run: list[tuple[OutgoingMessage, bytes]] = []
        size = 2
        for m in messages:
            data = json.dumps(self.item(m), ensure_ascii=False).encode("utf-8")
            if run and (len(run) >= MAX_MESSAGES or size + len(data) + 1 > MAX_BYTES):
                calls.append(run)
                run, size = [], 2
            run.append((m, data))
            size += len(data) + 1
        if run:
            calls.append(run)
        return calls

    def item(self, m: OutgoingMessage) -> dict[str, object]:
        """One message of the batch, personal values in place."""
        full = materialise(m)
        item: dict[str, object] = {
            "From": self.sender,
            "To": full.to,
            "Subject": full.subject,
            "HtmlBody": full.html,
            "TextBody": full.text,
            "MessageStream": self.message_stream,
            "Headers": [{"Name": n, "Value": v} for n, v in full.headers]
            + [{"Name": "X-Pipeline-Message-Id", "Value": m.message_id}],
            "Metadata": {"pipeline_message_id": m.message_id},
            "TrackOpens": False,
        }
        if self.reply_to:
            item["ReplyTo"] = self.reply_to
        return item

    def _send_call(self, call: list[tuple[OutgoingMessage, bytes]]) -> list[RecipientResult]:
        body = b"[" + b",".join(data for _, data in call) + b"]"
        msgs = [m for m, _ in call]
        resp = self.http.post(
            self.name,
            self.url,
            data=body,
            headers=self.headers,
        )
        payload = _json(resp)
        if resp.status_code != 200:
            code, text = _code(payload), _text(payload) or short_body(resp)
            if resp.status_code in (401, 403) or code in _ACCOUNT_ERRORS:
                raise ProviderError(
                    self.name,
                    f"HTTP {resp.status_code}, ErrorCode {code}: {text} "
                    "(fix: POSTMARK_SERVER_TOKEN and the sender signature)",
                    status=resp.status_code,
                )
            return [failed(m, f"HTTP {resp.status_code}, ErrorCode {code}: {text}") for m in msgs]
        if not isinstance(payload, list) or len(payload) != len(msgs):
            # Accepted, but we cannot tell which: a resend could duplicate, so this is uncertain.
            raise ProviderError(self.name, f"batch answer does not list {len(msgs)} results", uncertain=True)
        return [_result(m, r) for m, r in zip(msgs, payload, strict=True)]


def _result(m: OutgoingMessage, r: object) -> RecipientResult:
    if not isinstance(r, dict):
        return failed(m, f"unreadable result {r!r}")
    if _code(r) == 0:
        return sent(m, str(r.get("MessageID") or "") or None)
    return failed(m, f"ErrorCode {_code(r)}: {_text(r)}")


def _code(data: object) -> int | None:
    if isinstance(data, dict):
        try:
            return int(data.get("ErrorCode", -1))
        except (TypeError, ValueError):
            return -1
    return None


def _text(data: object) -> str:
    return str(data.get("Message", "")) if isinstance(data, dict) else ""


def _json(resp: requests.Response) -> object:
    try:
        return resp.json()
    except ValueError:
        return None
