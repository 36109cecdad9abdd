"""Loopback fakes of the mailing APIs that check the documented request shapes.

Each fake answers like the real API would (and refuses a request that breaks the documented rules with
the API's own kind of error), and expands every accepted request into the per-recipient messages the
provider would deliver, so tests can assert who got what. Faults are queued per test: a status with
headers (429 + Retry-After, 500), or `drop` (read the whole request, then close without answering).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return ""


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection after reading the request, without answering


@dataclass(frozen=True)
class Delivered:
    """One message as the recipient would receive it."""

    to: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]
    message_id: str


class FakeApi:
    """A threaded HTTP server on 127.0.0.1; `check` turns a request into an Answer and records deliveries."""

    def __init__(self, check: Callable[[FakeApi, Request], Answer]) -> None:
        self.check = check
        self.requests: list[Request] = []
        self.delivered: list[Delivered] = []
        self.faults: list[Answer] = []
        self.lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def fail_next(self, *answers: Answer) -> None:
        with self.lock:
            self.faults.extend(answers)

    def handle(self, req: Request) -> Answer:
        with self.lock:
            self.requests.append(req)
            fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            if fault.drop:
                # The request was read in full: a real provider may have acted on it.
                self.check(self, req)
            return fault
        return self.check(self, req)

    def recipients(self) -> list[str]:
        return [d.to for d in self.delivered]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], owner: FakeApi
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        req = Request("POST", self.path, dict(self.headers.items()), body)
        answer = self.server.owner.handle(req)
        if answer.drop:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for k, v in answer.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)


def parse_form(req: Request) -> list[tuple[str, str]] | None:
    """The fields of a form body (multipart/form-data or URL-encoded), or None if it is neither."""
    ctype = req.header("Content-Type")
    if ctype.startswith("application/x-www-form-urlencoded"):
        return parse_qsl(req.body.decode(), keep_blank_values=True)
    m = re.match(r"multipart/form-data;\s*boundary=(\S+)", ctype)
    if not m:
        return None
    delimiter = b"--" + m.group(1).strip('"').encode()
    chunks = req.body.split(delimiter)
    if chunks[0] != b"" or not chunks[-1].startswith(b"--"):
        return None
    fields: list[tuple[str, str]] = []
    for chunk in chunks[1:-1]:
        head, _, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        if name is None or not value.endswith(b"\r\n"):
            return None
        fields.append((name.group(1).decode(), value[:-2].decode("utf-8")))
    return fields


def _json_answer(status: int, data: object, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- Mailgun ---------------------------------------------------------------------------------------

_MG_VAR = re.compile(r"%recipient\.([A-Za-z0-9_]+)%")


def mailgun_checker(domain: str, api_key: str) -> Callable[[FakeApi, Request], Answer]:
    """POST /v3/{domain}/messages, basic auth api:KEY, form fields, <= 1,000 recipients, 25 MB."""

    def check(api: FakeApi, req: Request) -> Answer:
        if req.header("Authorization") != _basic("api", api_key):
            return Answer(401, b"Forbidden")
        if req.path != f"/v3/{domain}/messages":
            return _json_answer(404, {"message": "Domain not found"})
        if len(req.body) > 25_000_000:
            return _json_answer(413, {"message": "Request entity too large"})
        fields = parse_form(req)
        if fields is None:
            return _json_answer(400, {"message": "expected a form"})
        one = {k: v for k, v in fields}
        tos = [v for k, v in fields if k == "to"]
        if not tos or len(tos) > 1000:
            return _json_answer(400, {"message": f"'to' parameter: {len(tos)} recipients, 1 to 1000 allowed"})
        for required in ("from", "subject", "html", "text", "recipient-variables"):
            if required not in one:
                return _json_answer(400, {"message": f"'{required}' parameter is missing"})
        variables = json.loads(one["recipient-variables"])
        if set(variables) != set(tos):
            return _json_answer(400, {"message": "recipient-variables do not match 'to'"})
        if "%recipient.unsubscribe_url%" not in one.get("h:List-Unsubscribe", ""):
            return _json_answer(400, {"message": "test fake: personal List-Unsubscribe expected"})
        if one.get("h:List-Unsubscribe-Post") != "List-Unsubscribe=One-Click":
            return _json_answer(400, {"message": "test fake: one-click header expected"})
        if one.get("v:pipeline_message_id") != "%recipient.message_id%":
            return _json_answer(400, {"message": "test fake: v:pipeline_message_id expected"})
        with api.lock:
            for to in tos:
                values = variables[to]

                def sub(text: str, values: dict[str, str] = values) -> str:
                    return _MG_VAR.sub(lambda m: values[m.group(1)], text)

                headers = {k[2:]: sub(v) for k, v in fields if k.startswith("h:")}
                api.delivered.append(
                    Delivered(
                        to,
                        sub(one["subject"]),
                        sub(one["html"]),
                        sub(one["text"]),
                        headers,
                        sub(one["v:pipeline_message_id"]),
                    )
                )
        return _json_answer(
            200, {"id": f"<batch{len(api.requests)}@{domain}>", "message": "Queued. Thank you."}
        )

    return check


# --- SendGrid --------------------------------------------------------------------------------------


def sendgrid_checker(
    api_key: str, refuse: frozenset[str] = frozenset()
) -> Callable[[FakeApi, Request], Answer]:
    """POST /v3/mail/send, Bearer key, JSON, <= 1,000 personalizations, each address once; 202."""

    def check(api: FakeApi, req: Request) -> Answer:
        if req.header("Authorization") != f"Bearer {api_key}":
            return _json_answer(401, {"errors": [{"message": "The provided authorization grant is invalid"}]})
        if req.path != "/v3/mail/send":
            return Answer(404)
        body = json.loads(req.body)
        ps = body.get("personalizations") or []
        if not ps or len(ps) > 1000:
            return _json_answer(
                400, {"errors": [{"message": "1 to 1000 personalizations", "field": "personalizations"}]}
            )
        emails = [t["email"].lower() for p in ps for t in p["to"]]
        if len(emails) != len(set(emails)):
            return _json_answer(
                400,
                {
                    "errors": [
                        {
                            "message": "Each unique email address in the personalizations "
                            "array should only be included once."
                        }
                    ]
                },
            )
        if any(e in refuse for e in emails):
            return _json_answer(
                400,
                {
                    "errors": [
                        {"message": "Does not contain a valid address.", "field": "personalizations.0.to"}
                    ]
                },
            )
        content = {c["type"]: c["value"] for c in body["content"]}
        if list(content) != ["text/plain", "text/html"]:
            return _json_answer(400, {"errors": [{"message": "text/plain must come first"}]})
        with api.lock:
            for p in ps:
                subs = p.get("substitutions", {})

                def sub(text: str, subs: dict[str, str] = subs) -> str:
                    for k, v in subs.items():
                        text = text.replace(k, v)
                    return text

                api.delivered.append(
                    Delivered(
                        p["to"][0]["email"],
                        sub(body["subject"]),
                        sub(content["text/html"]),
                        sub(content["text/plain"]),
                        dict(p.get("headers", {})),
                        p["custom_args"]["pipeline_message_id"],
                    )
                )
        return Answer(202, b"", {"X-Message-Id": f"sg{len(api.requests)}"})

    return check


# --- Postmark --------------------------------------------------------------------------------------


def postmark_checker(
    token: str, inactive: frozenset[str] = frozenset()
) -> Callable[[FakeApi, Request], Answer]:
    """POST /email/batch, X-Postmark-Server-Token, JSON array of <= 500 messages and 50 MB; a result each."""

    def check(api: FakeApi, req: Request) -> Answer:
        if req.header("X-Postmark-Server-Token") != token:
            return _json_answer(401, {"ErrorCode": 10, "Message": "Bad or missing API token"})
        if req.path != "/email/batch":
            return Answer(404)
        if len(req.body) > 50_000_000:
            return _json_answer(422, {"ErrorCode": 300, "Message": "Payload too large"})
        msgs = json.loads(req.body)
        if not isinstance(msgs, list) or len(msgs) > 500:
            return _json_answer(422, {"ErrorCode": 410, "Message": "Too many batch messages"})
        out = []
        with api.lock:
            for i, m in enumerate(msgs):
                if m["To"].lower() in inactive:
                    out.append(
                        {
                            "ErrorCode": 406,
                            "Message": "You tried to send to recipient(s) that have been marked as inactive.",
                            "To": m["To"],
                        }
                    )
                    continue
                headers = {h["Name"]: h["Value"] for h in m.get("Headers", [])}
                api.delivered.append(
                    Delivered(
                        m["To"],
                        m["Subject"],
                        m["HtmlBody"],
                        m["TextBody"],
                        headers,
                        m["Metadata"]["pipeline_message_id"],
                    )
                )
                out.append(
                    {
                        "ErrorCode": 0,
                        "Message": "OK",
                        "MessageID": f"pm-{len(api.requests)}-{i}",
                        "To": m["To"],
                        "SubmittedAt": "2026-11-30T10:00:00Z",
                    }
                )
        return _json_answer(200, out)

    return check
