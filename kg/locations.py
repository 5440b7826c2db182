"""Store and series locations: one spelling per place, and never a password in a name or a message.

A remote store is found by URL, and the same endpoint can be spelt many ways
(``http://localhost:7878`` and ``http://127.0.0.1:7878/``); whatever is still keyed by
a URL is keyed by its normal form. A URL may carry credentials: they are used to connect
and nowhere else, so names and messages use :func:`masked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

from enertwin.kg.errors import InputError

_DEFAULT_PORTS = {"http": 80, "https": 443, "postgresql": 5432}
_LOOPBACK = {"localhost", "127.0.0.1"}  # one endpoint, two spellings
MASK = "***"


def masked(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<an unreadable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{user}:{MASK}@{host}").geturl()


def endpoint_key(url: str) -> str:
    """The normal form of an HTTP endpoint URL: no credentials, lower case, default port and trailing ``/`` dropped.

    ``localhost`` is spelt ``127.0.0.1``: both name this machine's loopback endpoint.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return _netloc(parts, scheme, with_user=False) + parts.path.rstrip("/") if scheme else url.rstrip("/")


def _netloc(parts: SplitResult, scheme: str, *, with_user: bool) -> str:
    host = (parts.hostname or "").lower()
    host = "127.0.0.1" if host in _LOOPBACK else host
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise InputError(f"the URL {masked(parts.geturl())} has a bad port: {exc}") from exc
    shown = "" if port is None or port == _DEFAULT_PORTS.get(scheme) else f":{port}"
    user = f"{quote(unquote(parts.username), safe='')}@" if with_user and parts.username else ""
    return f"{scheme}://{user}{host}{shown}"


@dataclass(frozen=True, slots=True)
class SeriesDatabase:
    """A PostgreSQL series database: where it is (no password, safe to record and show) and the password given."""

    location: str
    password: str | None = None

    def __str__(self) -> str:
        """The location: never the password."""
        return self.location


def series_database(url: str) -> SeriesDatabase:
    """Parse a ``postgresql://user[:password]@host[:port]/database`` URL into its normal form and its password.

    The normal form names the same database however the URL was spelt (scheme ``postgres``
    or ``postgresql``, default port, ``localhost``); a password in the query string is taken
    out as well. Anything else is an :class:`InputError`.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise InputError(f"the series database {masked(url)} is not a URL: {exc}") from exc
    if parts.scheme.lower() not in ("postgresql", "postgres"):
        raise InputError(
            f"the series database {masked(url)} is not a postgresql:// URL "
            "(expected postgresql://USER@HOST:PORT/DATABASE)"
        )
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database or "/" in database:
        raise InputError(
            f"the series database {masked(url)} names no host or no single database "
            "(expected postgresql://USER@HOST:PORT/DATABASE)"
        )
    options = parse_qsl(parts.query, keep_blank_values=True)
    password = parts.password
    for name, value in options:
        if name == "password":
            password = value
    kept = sorted((name, value) for name, value in options if name != "password")
    query = f"?{urlencode(kept)}" if kept else ""
    location = _netloc(parts, "postgresql", with_user=True) + "/" + quote(database, safe="") + query
    return SeriesDatabase(location, unquote(password) if password is not None else None)
