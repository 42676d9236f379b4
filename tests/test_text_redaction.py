"""The one rule for what in a URL is a secret (bot.text.redaction): user information and the
values of parameters whose names contain a secret word are masked; a feed without a name is
shown by its host and path."""

from __future__ import annotations

import pytest

from bot.text.redaction import mask_url, mask_urls_in, url_label, url_secrets


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://feeds.example.com/rss?apikey=abc&lang=en&API_KEY=d&X-Amz-Signature=e#s",
            "https://feeds.example.com/rss?apikey=***&lang=en&API_KEY=***&X-Amz-Signature=***#s",
        ),
        (
            "https://reader:pa55@feeds.example.com:8443/private?access_token=x;sig=y",
            "https://reader:***@feeds.example.com:8443/private?access_token=***;sig=***",
        ),
        (
            "https://ghp_token@github.com/o/r/commits.atom",
            "https://***@github.com/o/r/commits.atom",
        ),
        (
            "https://a.example/cb#access_token=abc&state=1",
            "https://a.example/cb#access_token=***&state=1",
        ),
        (  # names containing a secret word, any case; empty values have nothing to hide
            "http://a.example/?Password=1&passwd=2&client_secret=3&AuthToken=4&token=&q=gpu",
            "http://a.example/?Password=***&passwd=***&client_secret=***&AuthToken=***&token=&q=gpu",
        ),
        ("https://medium.com/feed/@compute", "https://medium.com/feed/@compute"),
        ("not a url ?key=1", "not a url ?key=***"),
    ],
)
def test_user_information_and_secret_parameters_are_masked(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_urls_inside_text_are_masked_and_a_feed_is_named_by_host_and_path() -> None:
    text = "redirect loop back to http://u:p4ss@h.example/x?token=abc, then (https://a/?key=k)."
    assert mask_urls_in(text) == (
        "redirect loop back to http://u:***@h.example/x?token=***, then (https://a/?key=***)."
    )
    assert url_label("https://u:p@feeds.example.com:8443/private/rss?apikey=abc#x") == (
        "feeds.example.com:8443/private/rss"
    )
    assert url_secrets("https://u:p4ss%21@h/?apikey=abc&q=1") == ["p4ss%21", "p4ss!", "abc"]


def test_a_database_role_without_a_password_is_shown_and_never_redacted() -> None:
    """In a database URL a lone user name is a role (trust or peer authentication), not a
    token: it stays readable, and is not registered for redaction (which would turn every
    "postgresql" in the logs into "***ql")."""
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/newsbot?password=pw-1234567"
    assert mask_url(url, user_is_secret=False) == (
        "postgresql+psycopg://postgres@127.0.0.1:5432/newsbot?password=***"
    )
    assert url_secrets(url, user_is_secret=False) == ["pw-1234567"]
    assert mask_url("https://tok3n@feeds.example/rss") == "https://***@feeds.example/rss"
