"""The one way Pulse normalises an email address, and the suppression key made from it.

People type their address in any case and in any Unicode form (a full-width "ａ", a composed
or decomposed "é"); all of them name one address. Users' addresses are stored in this form and
looked up by it exactly, never with `iexact`: PostgreSQL's UPPER() maps the dotless "ı" to "I",
so `iexact` would let "prıya@…" match "priya@…" while the login lockout counted them apart.
Case folding keeps "ı" as it is, so "prıya@…" is simply another address, which no user has.

The suppression list is keyed by the SHA-256 of the normalised address, so it can say "this
address opted out" without keeping the address itself (an erased person's address is not kept
in clear, yet adding it again stays suppressed).
"""

import hashlib
import unicodedata


def normalise_email(value: str) -> str:
    """The normalised form of an email address (surrounding spaces dropped)."""
    # NFKC after folding too: folding can undo a composition (NFKC_Casefold, as Unicode defines it).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value.strip()).casefold())


def address_hash(address: str) -> str:
    """The suppression key of an address; empty for an empty address."""
    normalised = normalise_email(address or "")
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else ""
