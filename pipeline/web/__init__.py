"""The web application: `create_app()` builds everything; importing the package has no side effects.

One blueprint per area (auth, review, subscribe, webhooks). Domain objects reach views through
`app.extensions["pipeline"]` (a `jobs.Services`), and domain errors map to HTTP in one handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, render_template
from flask_wtf.csrf import CSRFProtect

from pipeline import jobs
from pipeline.errors import ConfigError, NotFound, PipelineError, TokenError

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "web"

csrf = CSRFProtect()

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' https: data:; "
    "style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
}


def create_app(
    services: jobs.Services | None = None,
    *,
    config_path: str = "sources.yaml",
    db_url: str = "sqlite:///var/pipeline.db",
    test_config: Mapping[str, Any] | None = None,
) -> Flask:
    app = Flask(__name__, template_folder=str(TEMPLATES))
    if services is None:
        services = jobs.make_services(config_path, db_url)
    secret = services.env.get("PIPELINE_SECRET_KEY", "")
    if len(secret) < 16:
        raise ConfigError(
            "PIPELINE_SECRET_KEY is not set or shorter than 16 characters",
            fix="export PIPELINE_SECRET_KEY=<a long random value>",
        )
    app.config.update(
        SECRET_KEY=secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=services.config.settings.public_url.startswith("https://"),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2_000_000,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["pipeline"] = services
    csrf.init_app(app)
    _register_blueprints(app)
    app.after_request(_security_headers)
    app.register_error_handler(PipelineError, _domain_error)
    return app


def services() -> jobs.Services:
    """The wired services of the running app (for views)."""
    return current_app.extensions["pipeline"]  # type: ignore[no-any-return]


def _register_blueprints(app: Flask) -> None:
    from pipeline.web import auth, review, subscribe, webhooks

    app.register_blueprint(auth.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(subscribe.bp)
    app.register_blueprint(webhooks.bp)

    @app.get("/")
    def index() -> str:
        return render_template("index.html", settings=services().config.settings)


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _domain_error(exc: PipelineError) -> tuple[str, int]:
    status = 404 if isinstance(exc, NotFound) else 400 if isinstance(exc, TokenError) else 409
    return render_template("error.html", message=str(exc)), status
