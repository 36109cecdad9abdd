from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from pipeline.deliver.tokens import (
    confirm_url,
    make_token,
    make_tokens,
    preferences_url,
    read_token,
    unsubscribe_url,
)
from pipeline.errors import TokenError

SECRET = "k" * 32


def test_token_round_trip_names_the_subscriber() -> None:
    token = make_token(SECRET, "unsubscribe", 42, "Kari@Example.NO")
    data = read_token(SECRET, "unsubscribe", token)
    assert (data.purpose, data.subscriber_id, data.email) == ("unsubscribe", 42, "kari@example.no")
    assert abs(data.issued_at.timestamp() - time.time()) < 60


def test_tokens_are_what_itsdangerous_makes() -> None:
    # The fast path must stay readable by the plain serializer (and so by any other reader of the key).
    token = make_token(SECRET, "preferences", 7, "ola@example.no")
    plain = URLSafeTimedSerializer(SECRET, salt="pipeline.preferences")
    assert plain.loads(token) == [7, "ola@example.no"]


def test_non_ascii_addresses_and_several_purposes_at_once() -> None:
    unsub, prefs = make_tokens(SECRET, ("unsubscribe", "preferences"), 9, "Åse.Bjørn@Example.no")
    assert read_token(SECRET, "unsubscribe", unsub).email == "åse.bjørn@example.no"
    assert read_token(SECRET, "preferences", prefs).subscriber_id == 9
    assert unsub != prefs
    plain = URLSafeTimedSerializer(SECRET, salt="pipeline.unsubscribe")
    assert plain.loads(unsub) == [9, "åse.bjørn@example.no"]


def test_a_token_of_one_purpose_is_refused_for_another() -> None:
    token = make_token(SECRET, "preferences", 7, "ola@example.no")
    with pytest.raises(TokenError):
        read_token(SECRET, "unsubscribe", token)
    with pytest.raises(TokenError):
        read_token(SECRET, "confirm", token)


def test_tampered_or_foreign_key_tokens_are_refused() -> None:
    token = make_token(SECRET, "unsubscribe", 7, "ola@example.no")
    with pytest.raises(TokenError):
        read_token("another-key", "unsubscribe", token)
    payload, stamp, sig = token.split(".")
    forged = make_token(SECRET, "unsubscribe", 8, "ola@example.no").split(".")[0]
    with pytest.raises(TokenError):
        read_token(SECRET, "unsubscribe", f"{forged}.{stamp}.{sig}")
    with pytest.raises(TokenError):
        read_token(SECRET, "unsubscribe", "garbage")


def test_confirm_tokens_expire_but_unsubscribe_tokens_do_not() -> None:
    old = URLSafeTimedSerializer(SECRET, salt="pipeline.confirm")
    # A token signed 8 days ago: itsdangerous reads the timestamp from the token itself.
    signer = old.make_signer()
    signer.get_timestamp = lambda: int(time.time()) - 8 * 24 * 3600  # type: ignore[method-assign]
    stale_confirm = signer.sign(old.dump_payload([1, "a@example.no"])).decode()
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, "confirm", stale_confirm)

    unsub = URLSafeTimedSerializer(SECRET, salt="pipeline.unsubscribe").make_signer()
    unsub.get_timestamp = lambda: int(time.time()) - 3 * 365 * 24 * 3600  # type: ignore[method-assign]
    old_unsub = unsub.sign(URLSafeTimedSerializer(SECRET).dump_payload([1, "a@example.no"])).decode()
    assert read_token(SECRET, "unsubscribe", old_unsub).subscriber_id == 1
    with pytest.raises(TokenError, match="expired"):
        read_token(SECRET, "unsubscribe", old_unsub, max_age=3600)


def test_urls_live_under_the_public_url() -> None:
    for build, path in (
        (unsubscribe_url, "unsubscribe"),
        (confirm_url, "confirm"),
        (preferences_url, "preferences"),
    ):
        url = build("https://news.example.org/", SECRET, 3, "a@example.no")
        prefix = f"https://news.example.org/{path}/"
        assert url.startswith(prefix)
        assert read_token(SECRET, path, url[len(prefix) :]).subscriber_id == 3  # type: ignore[arg-type]


def test_missing_key_is_an_error_not_an_unsigned_token() -> None:
    with pytest.raises(TokenError, match="PIPELINE_SECRET_KEY"):
        make_token("", "unsubscribe", 1, "a@example.no")
