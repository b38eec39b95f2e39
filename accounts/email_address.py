"""The one way Pulse normalises an email address: NFKC, then case folding, then NFKC again.

People type their address in any case and in any Unicode form (a full-width "ａ", a composed
or decomposed "é"); all of them name one address. Users' addresses are stored in this form and
looked up by it exactly, never with `iexact`: PostgreSQL's UPPER() maps the dotless "ı" to "I",
so `iexact` would let "prıya@…" match "priya@…" while the login lockout counted them apart.
Case folding keeps "ı" as it is, so "prıya@…" is simply another address, which no user has.
"""

import unicodedata


def normalise_email(value: str) -> str:
    """The normalised form of an email address (surrounding spaces dropped)."""
    # NFKC after folding too: folding can undo a composition (NFKC_Casefold, as Unicode defines it).
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value.strip()).casefold())
