"""A password that breaks every URL parser, and a check that no piece of it shows.

It holds every character that ends a URL part (``/ @ : # ?``) and a
percent-encoded one; its pieces are distinct, so "never shown, even in part"
is checked piece by piece.
"""

from __future__ import annotations

import re
from urllib.parse import quote

SECRET = "Kx7Qa/Wm3Pb@Yt8Lc:Hn2Rd#Vs5Je?Fg4Tk%2FUp6Zm"
ENCODED = quote(SECRET, safe="")
_CUTS = r"[/@:#?]|%2F"


def shows_secret(text: str, secret: str = SECRET) -> list[str]:
    """The pieces of ``secret`` still visible in ``text`` (empty when it is hidden)."""
    return [p for p in [*re.split(_CUTS, secret), quote(secret, safe="")] if p and p in text]
