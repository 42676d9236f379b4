"""Canonical entry URLs: relative links resolved, tracking parameters dropped, redirects unwrapped.

Two outlets' copies of one link, or one outlet's link seen through a newsletter redirector, must
compare equal, so storage and clustering can use the URL as a key. The rules are the product's
own (which parameters only track, which hosts only redirect, how a Google News article id carries
its target), so they live here rather than in a library; ``urllib.parse`` does the parsing.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import parse_qsl, unquote, urljoin, urlsplit, urlunsplit

# Parameters that identify a campaign, a click or a visitor's session, never the resource. A
# session id changes from one request to the next: kept, it would make the same item a new
# link on every poll.
_TRACKING_PREFIXES = (
    "utm_",
    "mtm_",
    "pk_",
    "hsa_",
    "itm_",
    "_hs",
    "oly_",
    "vero_",
    "ga_",
    "aspsessionid",
)
_TRACKING_PARAMS = frozenset(
    [
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "yclid",
        "igshid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "s_kwcid",
        "ef_id",
        "_ga",
        "_gl",
        "_ke",
        "mkt_tok",
        "wt.mc_id",
        "wt_mc_id",
        "cmpid",
        "ocid",
        "sr_share",
        "rb_clickid",
        "__twitter_impression",
        "soc_src",
        "soc_trk",
        "ncid",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "spm",
        "trk",
        "trkcampaign",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "cid_source",
        "share_source",
        "smid",
        "sh_kit",
        "xtor",
        "jsessionid",
        "phpsessid",
        "cfid",
        "cftoken",
    ]
)
# A Java servlet's session id, written into the path ("/story/42;jsessionid=0A1B2C").
_SESSION_PATH_PARAM = re.compile(r";jsessionid=[^/;?#]*", re.IGNORECASE)

# host -> (path of its click-through endpoint, query parameters that may hold the real target)
_REDIRECTORS: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {}
for _hosts, _path, _names in (
    (("www.google.com", "google.com"), r"/url$", ("url", "q")),
    (("news.google.com", "news.url.google.com"), r"/(?:news/)?url$", ("url",)),
    (
        ("l.facebook.com", "lm.facebook.com", "m.facebook.com", "l.instagram.com"),
        r"/(?:l\.php)?$",
        ("u",),
    ),
    (("out.reddit.com", "click.redditmail.com"), r"/.*", ("url",)),
    (("www.bing.com", "bing.com"), r"/news/apiclick\.aspx$", ("url",)),
    (("t.umblr.com",), r"/redirect$", ("z",)),
    (("slack-redir.net",), r"/link$", ("url",)),
    (("www.youtube.com",), r"/redirect$", ("q",)),
    (("duckduckgo.com",), r"/l/?$", ("uddg",)),
    (("www.linkedin.com", "linkedin.com"), r"/redir/redirect$", ("url",)),
    (("exit.sc",), r"/?$", ("url",)),
):
    for _host in _hosts:
        _REDIRECTORS[_host] = (re.compile(_path), _names)
_GOOGLE_NEWS_PATH = re.compile(r"^/(?:rss/)?articles/([A-Za-z0-9_-]{8,})$")
_YAHOO_RU = re.compile(r"/RU=([^/]+)/")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ABSOLUTE_WEB = re.compile(r"^https?://", re.IGNORECASE)
_MAX_UNWRAP = 3


# A cheap pre-check: can any parameter of this query string be a tracking one?
_TRACKING_HINT = re.compile(
    "|".join(
        [re.escape(prefix) for prefix in _TRACKING_PREFIXES]
        + [re.escape(name) for name in sorted(_TRACKING_PARAMS, key=len, reverse=True)]
    ),
    re.IGNORECASE,
)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


def _google_news_target(path: str) -> str | None:
    """The article URL inside a Google News article id ("CBMi...": base64url of a protobuf whose
    field 4 is the URL). Ids of the newer opaque kind (no URL inside) give None."""
    found = _GOOGLE_NEWS_PATH.match(path)
    if found is None:
        return None
    token = found.group(1)
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error):
        return None
    start = data.find(b"http")
    if start < 1:
        return None
    length = data[start - 1]
    if start >= 2 and data[start - 2] & 0x80:  # a two-byte varint length
        length = (data[start - 2] & 0x7F) | (data[start - 1] << 7)
    target = data[start : start + length]
    if len(target) != length or not _ABSOLUTE_WEB.match(target.decode("latin-1")):
        return None
    try:
        text = target.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() and " " not in text else None


def _redirect_target(host: str, path: str, query: str, raw: str) -> str | None:
    if host == "news.google.com" and "/articles/" in path:
        return _google_news_target(path)
    if host not in _REDIRECTORS and host != "href.li" and not host.endswith("search.yahoo.com"):
        return None
    if host == "href.li":
        target = raw.split("?", 1)[1] if "?" in raw else ""
        return target if target.startswith(("http://", "https://")) else None
    if host.endswith("search.yahoo.com"):
        found = _YAHOO_RU.search(path)
        return unquote(found.group(1)) if found else None
    rule = _REDIRECTORS.get(host)
    if rule is None or not rule[0].match(path or "/"):
        return None
    names = rule[1]
    params = dict(parse_qsl(query, keep_blank_values=False))
    for name in names:
        value = params.get(name, "").strip()
        if value.startswith(("http://", "https://")):
            return value
    return None


# The common link: an absolute http(s) URL with a plain host name, no user, no port, and only
# visible ASCII after it. For those `urlsplit` splits exactly here (it removes nothing and lower-
# cases only the host), so `canonical_url` skips it and its checks.
_PLAIN_URL = re.compile(
    r"(?P<scheme>[Hh][Tt][Tt][Pp][Ss]?)://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    r"(?P<path>/[!-\"$->@-~]*)?(?:\?(?P<query>[!-\"$-~]*))?(?:#(?P<fragment>[!-~]*))?"
)


def _is_redirector(host: str) -> bool:
    return (
        host in _REDIRECTORS
        or host == "href.li"
        or host == "news.google.com"
        or host.endswith("search.yahoo.com")
    )


def _clean_query(query: str) -> str:
    if query and _TRACKING_HINT.search(query):
        # Filter the raw pairs so the remaining parameters keep their exact encoding.
        kept = [
            pair
            for pair in query.split("&")
            if pair and not _is_tracking(unquote(pair.split("=", 1)[0]))
        ]
        query = "&".join(kept)
    return query


def _without_session(path: str) -> str:
    return _SESSION_PATH_PARAM.sub("", path) if ";" in path else path


def _plain_canonical(candidate: str) -> str | None:
    """`canonical_url` of a plain URL (see _PLAIN_URL); None when it is not one."""
    found = _PLAIN_URL.fullmatch(candidate)
    if found is None:
        return None
    host = found.group("host").lower()
    if _is_redirector(host):
        return None
    scheme = found.group("scheme").lower()
    path = _without_session(found.group("path") or "/")
    query = _clean_query(found.group("query") or "")
    fragment = found.group("fragment") or ""
    url = f"{scheme}://{host}{path}"
    if query:
        url = f"{url}?{query}"
    if fragment.startswith("!"):
        url = f"{url}#{fragment}"
    return url


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The canonical absolute http(s) form of ``url`` (resolved against ``base``), or None.

    None means there is no usable web link (empty, ``mailto:``, ``javascript:``, unparsable).
    """
    if not url:
        return None
    candidate = url.strip()
    if not candidate:
        return None
    return _plain_canonical(candidate) or _split_canonical(candidate, base)


def _split_canonical(candidate: str, base: str | None) -> str | None:
    """`canonical_url` of a stripped, non-empty `candidate`, the general way."""
    if base and not _ABSOLUTE_WEB.match(candidate):
        try:
            candidate = urljoin(base, candidate)
        except ValueError:
            return None
    for _ in range(_MAX_UNWRAP + 1):
        try:
            parts = urlsplit(candidate)
            port = parts.port
        except ValueError:
            return None
        scheme = parts.scheme.lower()
        hostname = parts.hostname
        if scheme not in _DEFAULT_PORTS or not hostname:
            return None
        host = hostname.rstrip(".")
        target = _redirect_target(host, parts.path, parts.query, candidate)
        if target is None:
            break
        candidate = target
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{netloc}"
    query = _clean_query(parts.query)
    path = _without_session(parts.path or "/")
    path = path.replace(" ", "%20")
    # "#!" fragments address content on old single-page sites; other fragments are positions.
    fragment = parts.fragment if parts.fragment.startswith("!") else ""
    return urlunsplit((scheme, netloc, path, query, fragment))
