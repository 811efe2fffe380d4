"""Who may talk to the reading station's server.

Safe by default:
- It binds 127.0.0.1 unless told otherwise. Bound to loopback, it answers only requests whose
  Host header names a loopback address (so a web page cannot reach it by DNS rebinding).
- Bound to any other address it requires a random access token (`secrets.token_urlsafe`),
  carried in the URL it prints (`?token=...`). The first request with the right token gets
  it back as a cookie (HttpOnly, SameSite=Strict), so the page's scripts, images and web
  socket, which do not carry the query string, are let in too; anything else gets 403.
- Everywhere, a web socket opened from a page of another origin is refused (a browser lets
  any page open a web socket to any address).

aiohttp (installed with trame, the web extra) is imported only when the middleware is built.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

TOKEN_PARAMETER = "token"
TOKEN_COOKIE = "deepmir_review_token"
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and 'localhost'."""
    host = host.strip("[]")
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    """A random access token (192 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def access_url(host: str, port: int, token: str | None) -> str:
    """The URL to open: the bound address (0.0.0.0 and :: become this machine's name) and the token."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        import socket

        shown = socket.getfqdn()
    if ":" in shown:
        shown = f"[{shown}]"
    url = f"http://{shown}:{port}/"
    return f"{url}?{TOKEN_PARAMETER}={token}" if token else url


def _host_name(host_header: str) -> str:
    """The host of a Host header ('127.0.0.1:8080', '[::1]:8080', 'localhost')."""
    return urlsplit(f"//{host_header}").hostname or ""


def _same_origin(origin: str, host_header: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower()


def refusal(host_header: str, origin: str | None, upgrade: str | None, query_token: str | None,
            cookie_token: str | None, token: str | None, bound_loopback: bool) -> str | None:
    """Why a request must be refused, or None to let it in (the rules of the module docstring)."""
    if bound_loopback and not is_loopback(_host_name(host_header)):
        return "this server answers only to a loopback address"
    if upgrade and upgrade.lower() == "websocket" and origin and not _same_origin(origin, host_header):
        return "web socket from another origin"
    if token is not None:
        given = query_token or cookie_token or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            return "access token missing or wrong: open the URL that deepmir review printed"
    return None


def access_middleware(token: str | None, bound_loopback: bool):
    """aiohttp middleware applying `refusal` to every request (pages, files and the web socket)."""
    from aiohttp import web

    @web.middleware
    async def check_access(request, handler):
        problem = refusal(request.headers.get("Host", ""), request.headers.get("Origin"),
                          request.headers.get("Upgrade"), request.query.get(TOKEN_PARAMETER),
                          request.cookies.get(TOKEN_COOKIE), token, bound_loopback)
        if problem is not None:
            return web.Response(status=403, text=f"403 Forbidden: {problem}\n")
        response = await handler(request)
        if token is not None and request.query.get(TOKEN_PARAMETER) and not getattr(response, "prepared", False):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
        return response

    return check_access
