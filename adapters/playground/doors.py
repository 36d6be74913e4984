"""Who may speak to the playground: this machine's browser, not any page it opens.

The playground runs admin commands as whichever persona the request names, with no login:
whoever reaches it is its admin. So it answers only

- requests whose ``Host`` is a loopback name (``localhost``, ``127.x.x.x``, ``[::1]``, with
  or without a port), or one of the names remote access was allowed for (the hosts of
  ``RITME_PUBLIC_URL`` and ``RITME_HOST`` with ``RITME_PLAYGROUND_ALLOW_REMOTE``). A page of
  another site whose name was made to point at 127.0.0.1 (DNS rebinding) sends its own name
  as ``Host``: it reads neither the page nor the feed;
- and, for what it is sent to change (POST), requests from its own page: an ``Origin``, when
  there is one, of the same scheme, host and port as the ``Host``, and no
  ``Sec-Fetch-Site: cross-site`` or ``same-site`` (a browser says so of a request another
  site's page makes). A browser sends ``Origin`` with every POST from a page; a request
  without one comes from no page (curl, the tests).

Anything else gets 403 with a short text and changes nothing.

These headers keep out pages in a browser, which cannot forge them; a program that reaches
the port sends what it likes. Against those the playground listens on a loopback address
(``ritme serve`` refuses another unless ``RITME_PLAYGROUND_ALLOW_REMOTE`` is set).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from yarl import URL

DEFAULT_PORTS = {"http": 80, "https": 443}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FOREIGN_SITES = frozenset({"cross-site", "same-site"})  # Sec-Fetch-Site of another site's page


def is_loopback(name: str) -> bool:
    """Whether a host name or address (without port or brackets) is this machine's loopback:
    ``localhost``, ``127.0.0.0/8`` or ``::1``."""
    name = name.lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_unspecified(name: str) -> bool:
    """``0.0.0.0``, ``::`` or empty: every interface, no host anyone names."""
    if not name:
        return True
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None] | None:
    """A ``Host`` header's name (lower case, no brackets) and port; None when malformed."""
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[1:end], value[end + 1 :]
    else:
        name, colon, port = value.partition(":")
        rest = colon + port
    if rest and not (rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6):
        return None
    if not name:
        return None
    return name.lower().rstrip("."), int(rest[1:]) if rest else None


@dataclass(frozen=True, kw_only=True, slots=True)
class Doors:
    """The names the playground answers on besides loopback ones (remote access allowed), and
    the public URL's scheme, which a proxy in front may speak while it talks plain HTTP to us."""

    hosts: frozenset[str] = frozenset()
    public_host: str | None = None
    public_scheme: str | None = None

    @classmethod
    def for_settings(cls, *, allow_remote: bool, host: str, public_url: str | None) -> Doors:
        """Loopback only; with ``allow_remote`` also ``RITME_HOST`` (when it names one host)
        and the host of ``RITME_PUBLIC_URL``."""
        if not allow_remote:
            return cls()
        hosts = set() if is_unspecified(host) else {host.lower().strip("[]").rstrip(".")}
        public = URL(public_url) if public_url else None
        public_host = public.host.lower().rstrip(".") if public is not None and public.host else None
        if public_host:
            hosts.add(public_host)
        return cls(
            hosts=frozenset(hosts),
            public_host=public_host,
            public_scheme=public.scheme if public is not None and public_host else None,
        )

    def refusal(self, request: web.Request) -> str | None:
        """Why the playground does not answer this request; None when it does."""
        host = split_host(request.headers.get("Host", ""))
        if host is None or not (is_loopback(host[0]) or host[0] in self.hosts):
            return "The playground answers only at localhost (remote access: RITME_PLAYGROUND_ALLOW_REMOTE)."
        if request.method in SAFE_METHODS:
            return None
        if request.headers.get("Sec-Fetch-Site", "").lower() in FOREIGN_SITES:
            return "The playground takes no requests from other sites."
        origin = request.headers.get("Origin")
        if origin is not None and not self._own(origin, request.scheme, host):
            return "The playground takes no requests from other sites."
        return None

    def _own(self, origin: str, scheme: str, host: tuple[str, int | None]) -> bool:
        """Whether ``Origin`` is the origin of the page at ``Host``: same scheme, name and port."""
        try:
            url = URL(origin)
            origin_host, origin_port = url.host, url.port
        except ValueError:
            return False  # "null" (a sandboxed or local page) and anything else that is no origin
        if (
            url.scheme not in DEFAULT_PORTS
            or not origin_host
            or url.raw_path != "/"
            or url.user is not None
            or url.query_string
            or url.fragment
        ):
            return False
        name, port = host
        if origin_host.lower().rstrip(".") != name:
            return False
        if origin_port != (port if port is not None else DEFAULT_PORTS[url.scheme]):
            return False
        return url.scheme == scheme or (name == self.public_host and url.scheme == self.public_scheme)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def door_keeper(doors: Doors, resources: Collection[web.AbstractResource]) -> Middleware:
    """Middleware that keeps the playground's own routes (``resources``) behind ``doors``;
    other routes (health, Slack, Teams, review pages) are left as they are."""
    guarded = set(resources)

    @web.middleware
    async def keep(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.route.resource in guarded:
            reason = doors.refusal(request)
            if reason is not None:
                return web.Response(status=403, text=reason)
        return await handler(request)

    return keep
