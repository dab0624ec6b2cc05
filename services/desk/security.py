"""What keeps a local desk local: CSRF tokens on every state-changing POST, a Host check (a page on another site
cannot reach 127.0.0.1 through DNS rebinding), and response headers that forbid framing and any script, style or
connection from elsewhere (the page never needs the internet, so nothing outside may be loaded).

CSRF: each browser gets a random session cookie (HttpOnly, SameSite=Strict); the token in a form is an HMAC of that
cookie under a key made when the server starts. A POST is accepted only with the cookie, the matching token, and,
when the browser sends one, an Origin of this server.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

SESSION_COOKIE = "citydesk_session"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # no-referrer would make a browser send "Origin: null" on our own POSTs
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


class Csrf:
    def __init__(self, key: bytes | None = None) -> None:
        self.key = key or secrets.token_bytes(32)

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(24)

    def token(self, session: str) -> str:
        return hmac.new(self.key, session.encode(), hashlib.sha256).hexdigest()

    def valid(self, session: str | None, token: str | None) -> bool:
        if not session or not token:
            return False
        return hmac.compare_digest(self.token(session), token)


def allowed_hosts(bind_host: str) -> set[str] | None:
    """Host header values the desk answers; None means any (bound to all interfaces on purpose)."""
    if bind_host in ("0.0.0.0", "::", ""):
        return None
    return {*LOOPBACK_HOSTS, bind_host.lower()}


def host_allowed(host_header: str, allowed: set[str] | None) -> bool:
    if allowed is None:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host in allowed


def same_origin(origin: str | None, host_header: str) -> bool:
    """No Origin header (not a browser, or an old one) passes; one that names another site does not."""
    if not origin:
        return True
    if origin == "null":
        return False
    return urlsplit(origin).netloc.lower() == host_header.strip().lower()


class SecurityHeaders:
    """ASGI middleware: the headers above on every response, and 400 for a Host this desk does not answer to."""

    def __init__(self, app, allowed: set[str] | None) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
        if not host_allowed(host, self.allowed):
            body = b"this desk answers on 127.0.0.1 / localhost only\n"
            await send({"type": "http.response.start", "status": 400,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message) -> None:  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
            await send(message)

        await self.app(scope, receive, with_headers)
