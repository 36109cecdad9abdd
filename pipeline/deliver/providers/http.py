"""The HTTP edge of the API providers: one POST, with foreign errors translated into `ProviderError`.

The distinction that matters for "never twice": an error before the request left (connection refused, DNS,
connect timeout) is transient and safe to retry; an error after it left (connection reset, read timeout)
means the provider may have accepted it, so it is uncertain.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from pipeline.errors import ProviderError

#: (connect, read) seconds. A batch of 1,000 recipients may take the provider a while to accept.
DEFAULT_TIMEOUT = (5.0, 60.0)

Clock = Callable[[], float]


class HttpClient:
    """How an API provider reaches its endpoint: one session, the timeouts, and the clock that reads
    Retry-After (each provider says where and with which credentials)."""

    def __init__(
        self,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        clock: Clock = time.time,
    ) -> None:
        self.session = session or requests.Session()
        self.timeout = timeout
        self.clock = clock

    def post(self, provider: str, url: str, **kwargs: Any) -> requests.Response:
        """POST, raising ProviderError for transport failures, 429 and 5xx; other answers are returned."""
        try:
            resp = self.session.post(url, timeout=self.timeout, allow_redirects=False, **kwargs)
        except requests.ConnectTimeout as e:
            raise ProviderError(provider, f"connect timeout to {url}", transient=True) from e
        except requests.ReadTimeout as e:
            msg = f"no answer from {url} after the request was sent"
            raise ProviderError(provider, msg, uncertain=True) from e
        except requests.ConnectionError as e:
            if _failed_before_sending(e):
                raise ProviderError(provider, f"cannot connect to {url}: {_root(e)}", transient=True) from e
            raise ProviderError(
                provider, f"connection to {url} lost after the request was sent: {_root(e)}", uncertain=True
            ) from e
        except requests.RequestException as e:
            raise ProviderError(provider, f"request to {url} failed: {e}") from e
        if resp.status_code == 429 or resp.status_code >= 500:
            raise ProviderError(
                provider,
                f"HTTP {resp.status_code} from {url}: {short_body(resp)}",
                status=resp.status_code,
                transient=True,
                retry_after=retry_after(resp.headers, self.clock()),
            )
        return resp


def _failed_before_sending(e: requests.ConnectionError) -> bool:
    """True when no byte of the request reached the server: refused, unreachable, DNS."""
    cause = e.args[0] if e.args else None
    if isinstance(cause, MaxRetryError):
        cause = cause.reason
    return isinstance(cause, NewConnectionError | ConnectionRefusedError)


def _root(e: BaseException) -> str:
    cause = e.args[0] if e.args else e
    if isinstance(cause, MaxRetryError) and cause.reason is not None:
        return str(cause.reason)
    return str(cause)


def retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait from Retry-After (seconds or HTTP date) or X-RateLimit-Reset (epoch seconds)."""
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            at = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        return max(0.0, at.timestamp() - now)
    reset = headers.get("X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


def short_body(resp: requests.Response, limit: int = 300) -> str:
    text = resp.text.strip().replace("\n", " ")
    return text[:limit] if text else resp.reason or ""
