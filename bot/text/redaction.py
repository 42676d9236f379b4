"""URLs fit to show or log: the one place that decides what in a URL is a secret.

Feed URLs of private feeds and paid newsletters carry credentials (``?apikey=``, ``?token=``,
``https://user:password@host/``), and so can a ``database_url`` (``?password=``). Every layer
that shows or logs a URL (command output, log lines, digest footers, ``/healthz``, error messages)
masks it with :func:`mask_url`, or :func:`mask_urls_in` for free text that may contain URLs (a
library's error message); a digest names a feed without a name by :func:`url_label` (host and
path only). Pure string functions without I/O, so every layer can use them.

What is masked:

- user information: the password (``user:***@host``); a user name without a password is masked
  whole (``***@host``), since a token is often given as the user name, except in a database
  URL, where it names a role (``postgresql://newsbot@db/newsbot`` with trust or peer
  authentication): there ``user_is_secret=False`` keeps it;
- the values of query (and fragment) parameters whose names look like secrets: a name that
  contains, case-insensitively, any of :data:`SECRET_NAME_PARTS` (``key``, ``apikey``,
  ``api_key``, ``token``, ``access_token``, ``secret``, ``password``, ``passwd``, ``pwd``,
  ``sig``, ``signature``, ``auth``, ``credential``, ``session``, ``jwt``), or is ``sid``.
  Containment errs on the safe side: ``keyword`` or ``author`` are masked too, which costs a
  little detail in a log line and never a secret.

Secrets inside a path (``/feeds/<token>.rss``) cannot be told from an ordinary path and are
shown as they are.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

MASK = "***"

SECRET_NAME_PARTS = (
    "key",  # key, apikey, api_key, api-key, x-api-key, keyid
    "token",  # token, access_token, x-amz-security-token
    "secret",  # secret, client_secret
    "pass",  # password, passwd, passphrase
    "pwd",
    "sig",  # sig (Azure SAS), signature, x-amz-signature
    "auth",  # auth, oauth_token, authorization
    "credential",  # x-amz-credential
    "sess",  # session, sessionid, phpsessid
    "jwt",
)
SECRET_NAMES = frozenset({"sid"})

# scheme "://" authority: the authority ends at the first "/", "?" or "#" (RFC 3986)
_AUTHORITY = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)([^/?#]*)")
# a URL inside free text: up to whitespace, a quote or an angle bracket
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
_TRAILING_PUNCTUATION = ".,;:!?)]}"


def is_secret_name(name: str) -> bool:
    """Whether a query parameter of this name (percent-decoded or not) holds a credential."""
    folded = unquote_plus(name).strip().casefold()
    return folded in SECRET_NAMES or any(part in folded for part in SECRET_NAME_PARTS)


def mask_url(url: str, *, user_is_secret: bool = True) -> str:
    """``url`` with its user information and secret-looking parameter values masked; the rest
    (scheme, host, port, path, other parameters) kept exactly as written. Never raises: text
    that is no URL comes back unchanged. ``user_is_secret=False``: a user name without a
    password is shown (a database role)."""
    head, authority, rest = "", "", url
    match = _AUTHORITY.match(url)
    if match:
        head, authority, rest = match.group(1), match.group(2), url[match.end() :]
        if "@" in authority:
            userinfo, _, host = authority.rpartition("@")
            user, colon, _password = userinfo.partition(":")
            if colon:
                authority = f"{user}:{MASK}@{host}"
            elif user_is_secret:
                authority = f"{MASK}@{host}"
    rest, hash_mark, fragment = rest.partition("#")
    path, question_mark, query = rest.partition("?")
    return (
        head
        + authority
        + path
        + question_mark
        + _mask_parameters(query)
        + hash_mark
        + _mask_parameters(fragment)
    )


def mask_urls_in(text: str) -> str:
    """Free text (an error message, a log line) with every URL in it masked by :func:`mask_url`."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(_mask_found_url, text)


def masked_error(error: str | None) -> str | None:
    """An error message fit to store and show (a redirect's target, a library's message): its
    URLs masked by :func:`mask_urls_in`; None and "" as they are."""
    return mask_urls_in(error) if error else error


def _mask_found_url(match: re.Match[str]) -> str:
    # punctuation ending a sentence or a parenthesis is the text's, not the URL's
    found = match.group(0)
    url = found.rstrip(_TRAILING_PUNCTUATION)
    return mask_url(url) + found[len(url) :]


def url_label(url: str) -> str:
    """How to name a feed that has no name: its host and path, without user information, query
    or fragment ("feeds.example.com/private/rss")."""
    match = _AUTHORITY.match(url)
    rest = url[match.end() :] if match else url
    authority, path = (match.group(2), rest) if match else ("", rest)
    host = authority.rpartition("@")[2]
    path = path.partition("#")[0].partition("?")[0]
    label = (host + path).rstrip("/")
    return label or host or MASK


def url_secrets(url: str, *, user_is_secret: bool = True) -> list[str]:
    """The secret values in ``url`` as written (a password, a lone user name unless
    ``user_is_secret`` is False, secret-looking parameter values), for redacting them wherever
    they appear on their own."""
    found: list[str] = []
    match = _AUTHORITY.match(url)
    if match and "@" in match.group(2):
        userinfo = match.group(2).rpartition("@")[0]
        user, colon, password = userinfo.partition(":")
        if colon:
            found += [password, unquote_plus(password)]
        elif user_is_secret:
            found += [user, unquote_plus(user)]
    rest = url[match.end() :] if match else url
    rest, _, fragment = rest.partition("#")
    for part in (rest.partition("?")[2], fragment):
        for pair in re.split(r"[&;]", part):
            name, equals, value = pair.partition("=")
            if equals and value and is_secret_name(name):
                found += [value, unquote_plus(value)]
    return [value for value in dict.fromkeys(found) if value]


def _mask_parameters(query: str) -> str:
    """A query string with the values of secret-looking parameters masked; separators and every
    other pair kept as written."""
    if "=" not in query:
        return query
    pieces = re.split(r"([&;])", query)
    for index in range(0, len(pieces), 2):
        name, equals, value = pieces[index].partition("=")
        if equals and value and is_secret_name(name):
            pieces[index] = f"{name}={MASK}"
    return "".join(pieces)


def masked_database_url(url: str) -> str:
    """A database URL to show or log: the password and secret-looking query values (libpq's
    ``?password=``) masked. SQLAlchemy renders it first, which encodes a password written with
    raw delimiters ('/', '?', '#') that would otherwise end the URL's user information early."""
    # Imported here: parser processes use this module and must not load SQLAlchemy.
    from sqlalchemy.engine import make_url

    try:
        rendered = make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: masked as written
        rendered = url
    return mask_url(rendered, user_is_secret=False)  # the user name is a role, not a token
