"""Login for editors. Editor pages use `login_required`; anonymous requests go to the login page."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from pipeline.store.users import User
from pipeline.web import services

bp = Blueprint("auth", __name__, url_prefix="/auth")

F = TypeVar("F", bound=Callable[..., Any])


@bp.before_app_request
def load_logged_in_user() -> None:
    user_id = session.get("user_id")
    g.user = services().store.users.get(user_id) if user_id is not None else None


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


@bp.route("/login", methods=("GET", "POST"))
def login() -> Any:
    if request.method == "POST":
        user: User | None = services().store.users.authenticate(
            request.form.get("email", ""), request.form.get("password", "")
        )
        if user is None:
            flash("Wrong email or password.")
            return render_template("auth/login.html"), 401
        session.clear()
        session["user_id"] = user.id
        return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html")


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after login would help phishing. An editor logs in to
    review: that is where a login without a destination leads."""
    if not target:
        return url_for("review.items")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("review.items")
    return target
