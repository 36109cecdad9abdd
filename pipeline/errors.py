"""The one error tree of the pipeline.

Every error a person may see carries what they need to act: the resource it concerns (file and line,
source id, URL, digest id, recipient) and, where there is one, the fix. Foreign exceptions (requests,
SQLAlchemy, feedparser, provider APIs) are wrapped where they enter, with the resource named.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    #: A short machine-readable kind, stored with a source's or delivery's health and shown in reports.
    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# --- configuration ---------------------------------------------------------------------------------


class ConfigError(PipelineError):
    """sources.yaml or the environment is wrong. The message names file, line, source id and fix."""

    kind = "config"

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        source_id: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.source_id = source_id
        self.fix = fix
        where = file or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        parts = [f"{where}: " if where else ""]
        if source_id:
            parts.append(f"source '{source_id}': ")
        parts.append(problem)
        if fix:
            parts.append(f" (fix: {fix})")
        super().__init__("".join(parts))


# --- storage ----------------------------------------------------------------------------------------


class StoreError(PipelineError):
    kind = "store"


class DatabaseNotReady(StoreError):
    """The database has no schema, or an older one: `run.py init` fixes it."""

    kind = "db_not_ready"


class NotFound(StoreError):
    kind = "not_found"


class Conflict(StoreError):
    """A uniqueness or state rule of the domain would be broken."""

    kind = "conflict"


# --- collection ------------------------------------------------------------------------------------


class FetchError(PipelineError):
    """A URL could not be fetched. `kind` says why in one word; the message names the URL."""

    kind = "fetch"
    #: Whether trying again later may help (connection errors, 5xx, 429) or not (blocked, 4xx, too big).
    transient = False

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class BlockedAddress(FetchError):
    """The host resolves to a loopback, private, link-local, multicast, reserved or unspecified address."""

    kind = "blocked_address"


class InvalidURL(FetchError):
    kind = "invalid_url"


class HTTPStatusError(FetchError):
    kind = "http_status"

    def __init__(self, url: str, status: int, reason: str = "", retry_after: float | None = None) -> None:
        self.status = status
        self.retry_after = retry_after
        self.transient = status == 429 or status >= 500
        super().__init__(url, f"HTTP {status}{' ' + reason if reason else ''}")


class FetchTimeout(FetchError):
    kind = "timeout"
    transient = True


class ConnectionFailed(FetchError):
    kind = "connection"
    transient = True


class TooLarge(FetchError):
    kind = "too_large"


class TooManyRedirects(FetchError):
    kind = "redirects"


class RobotsDisallowed(FetchError):
    kind = "robots"


class ParseError(PipelineError):
    """Bytes that were fetched could not be read as the feed or page they should be."""

    kind = "parse"

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


# --- curation, drafting, rendering -----------------------------------------------------------------


class DigestError(PipelineError):
    kind = "digest"


class IllegalTransition(DigestError):
    """A digest or delivery cannot move from its current status to the one asked for."""

    kind = "illegal_transition"


class DecisionError(PipelineError):
    """An editor's decision that cannot apply: an unknown theme, a story that does not exist."""

    kind = "decision"


class RenderError(PipelineError):
    kind = "render"


class LintFailed(DigestError):
    kind = "lint"


# --- delivery -------------------------------------------------------------------------------------


class DeliveryError(PipelineError):
    kind = "delivery"


class ProviderError(DeliveryError):
    """A provider refused or failed a request.

    `transient` errors may be retried (429, 5xx, connection refused before the request went out);
    `uncertain` ones may have been accepted (the response was lost after the request went out) and must
    never be retried blindly.
    """

    kind = "provider"

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        transient: bool = False,
        uncertain: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.status = status
        self.transient = transient
        self.uncertain = uncertain
        self.retry_after = retry_after
        super().__init__(f"{provider}: {message}")


class PartialBatchError(ProviderError):
    """A provider answered part of a batch (in separate API calls) before `cause` stopped the rest.

    `done` holds the `RecipientResult`s of the part that was answered; the engine records them and treats
    the remaining messages as `cause` says (retry if transient, report if uncertain, stop otherwise).
    """

    def __init__(self, cause: ProviderError, done: tuple[object, ...]) -> None:
        super().__init__(
            cause.provider,
            cause.message.split(": ", 1)[-1],
            status=cause.status,
            transient=cause.transient,
            uncertain=cause.uncertain,
            retry_after=cause.retry_after,
        )
        self.cause = cause
        self.done = done


class WebhookError(DeliveryError):
    """A provider webhook failed verification (bad or stale signature, replayed token, wrong credentials)
    or could not be read. The web layer answers 401 and changes nothing."""

    kind = "webhook"


class TokenError(PipelineError):
    """A signed link is invalid, tampered with or expired."""

    kind = "token"


class SubscriberError(PipelineError):
    kind = "subscriber"
