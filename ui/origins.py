"""Which other sites' pages may use the app: one rule for CORS, POST /api/token and /widget's
frame-ancestors, so that a page allowed to call the API also gets the token it needs."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Pages served from this machine (any port). Allowed by default only when the server itself listens
# on loopback: any local program can already call such a server directly, so letting local pages
# read its answers exposes nothing new, while every other site stays refused (see the README).
LOOPBACK_ORIGINS = r"http://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
LOOPBACK_PAGES = ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]

# A CSP host-source: its host is a name or an IPv4 address. The grammar has no IPv6 literal, so
# browsers ignore a source like http://[::1]:* (with a console error); only '*' or a bare scheme
# would let such a page frame the widget, and those let every site do it.
CSP_SOURCE = re.compile(r"(https?://)?(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:(\d+|\*))?|\*", re.A)


@dataclass(frozen=True)
class OriginPolicy:
    """The listed origins (RAG_ALLOWED_ORIGINS), or pages on this machine when `local_pages`."""

    listed: tuple[str, ...] = ()
    local_pages: bool = False

    @property
    def origin_regex(self) -> str | None:
        """What CORSMiddleware matches besides the listed origins."""
        return LOOPBACK_ORIGINS if self.local_pages else None

    def allows(self, origin: str) -> bool:
        """Whether a page on `origin` may read the API's answers (as CORSMiddleware decides)."""
        if "*" in self.listed or origin in self.listed:
            return True
        return self.local_pages and re.fullmatch(LOOPBACK_ORIGINS, origin) is not None

    def pages(self) -> list[str]:
        """The allowed pages, as shown to people (`*` for any port)."""
        return LOOPBACK_PAGES if self.local_pages else list(self.listed)

    def frame_ancestors(self) -> list[str]:
        """The allowed pages a Content-Security-Policy can name (they may frame /widget)."""
        return [page for page in self.pages() if CSP_SOURCE.fullmatch(page)]

    def script_only(self) -> list[str]:
        """Allowed pages that may use the script widget but not frame /widget (IPv6 addresses)."""
        return [page for page in self.pages() if not CSP_SOURCE.fullmatch(page)]
