"""Delivery providers behind one interface (`Provider`), and the factory that picks one by name."""

from __future__ import annotations

from collections.abc import Mapping

import requests

from pipeline.deliver.providers.base import Provider
from pipeline.errors import ConfigError
from pipeline.types import DeliverySettings, ProviderSettings

NAMES = ("outbox", "smtp", "mailgun", "sendgrid", "postmark")

__all__ = ["NAMES", "Provider", "make_provider"]


def make_provider(
    name: str,
    settings: DeliverySettings,
    env: Mapping[str, str],
    *,
    session: requests.Session | None = None,
) -> Provider:
    """Build the provider `name` from sources.yaml settings and secrets from `env` (the environment)."""
    opts = _options(settings, name)
    if name == "outbox":
        from pipeline.deliver.providers.outbox import OutboxProvider

        return OutboxProvider(
            opts.get("dir", settings.outbox_dir), settings.sender, reply_to=settings.reply_to
        )
    if name == "smtp":
        from pipeline.deliver.providers.smtp import SmtpProvider

        return SmtpProvider(
            opts.get("host", "localhost"),
            _int(opts.get("port", "587"), "delivery.smtp.port"),
            settings.sender,
            starttls=opts.get("starttls", "true").lower() not in ("false", "no", "0", "off"),
            username=env.get("SMTP_USERNAME", ""),
            password=env.get("SMTP_PASSWORD", ""),
            reply_to=settings.reply_to,
        )
    if name == "mailgun":
        from pipeline.deliver.providers.mailgun import MailgunProvider

        domain = opts.get("domain")
        if not domain:
            raise ConfigError(
                "mailgun needs a sending domain", fix="set delivery.mailgun.domain in sources.yaml"
            )
        return MailgunProvider(
            domain=domain,
            api_key=_secret(env, "MAILGUN_API_KEY"),
            sender=settings.sender,
            base_url=opts.get("base_url", "https://api.mailgun.net"),
            reply_to=settings.reply_to,
            session=session,
        )
    if name == "sendgrid":
        from pipeline.deliver.providers.sendgrid import SendgridProvider

        return SendgridProvider(
            api_key=_secret(env, "SENDGRID_API_KEY"),
            sender=settings.sender,
            base_url=opts.get("base_url", "https://api.sendgrid.com"),
            reply_to=settings.reply_to,
            session=session,
        )
    if name == "postmark":
        from pipeline.deliver.providers.postmark import PostmarkProvider

        return PostmarkProvider(
            server_token=_secret(env, "POSTMARK_SERVER_TOKEN"),
            sender=settings.sender,
            base_url=opts.get("base_url", "https://api.postmarkapp.com"),
            message_stream=opts.get("message_stream", "broadcast"),
            reply_to=settings.reply_to,
            session=session,
        )
    raise ConfigError(f"unknown delivery provider '{name}'", fix=f"use one of: {', '.join(NAMES)}")


def _options(settings: DeliverySettings, name: str) -> ProviderSettings:
    for p in settings.providers:
        if p.name == name:
            return p
    return ProviderSettings(name=name)


def _secret(env: Mapping[str, str], key: str) -> str:
    value = env.get(key, "").strip()
    if not value:
        raise ConfigError(f"{key} is not set", fix=f"export {key} in the environment of the send")
    return value


def _int(value: str, where: str) -> int:
    try:
        return int(value)
    except ValueError as e:
        raise ConfigError(f"{where} must be a number, not '{value}'") from e
