"""One person's email address, however it was typed: the key of the suppression list.

`Priya.Shah@Example.com `, `priya.shah@example.com` and the same address in full-width
letters are one person. The key is the SHA-256 of the normalised address, so the list can
say "this address opted out" without keeping the address itself (an erased person's
address is not kept in clear, yet adding it again stays suppressed).
"""

import hashlib
import unicodedata


def address_normalise(address: str) -> str:
    """NFKC, casefold, NFKC again (casefolding can leave a string unnormalised), stripped."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", address).casefold())
    return folded.strip()


def address_hash(address: str) -> str:
    """The suppression key of an address; empty for an empty address."""
    normalised = address_normalise(address or "")
    return hashlib.sha256(normalised.encode()).hexdigest() if normalised else ""
