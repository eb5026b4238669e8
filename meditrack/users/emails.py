"""One canonical form of an account's email, for every comparison of one.

Registration, sign-in, account lookup and the sign-in throttle all compare this form, so
that an address reaches an account exactly when it counts against that account's limit.
The address as the user typed it is kept for display (`users.email`); this form is the
unique key (`users.email_key`).

The form is Unicode's NFKC case folding, approximated as NFKC, full case folding, NFKC:
- full-width and other compatibility letters become the plain ones (full-width `A`, U+FF21, is `a`);
- case folding is full, not `str.lower()`: `ß` is `ss`, `İ` (U+0130) is `i` followed by
  U+0307, the same as a typed `i̇`, and neither is a plain `i`.
No character is dropped, so two addresses that differ by more than case or compatibility
form stay two accounts.
"""

from __future__ import annotations

import unicodedata


def canonical_email(value: str) -> str:
    """The form every comparison of account emails uses: trimmed, NFKC, case folded."""
    folded = unicodedata.normalize("NFKC", value.strip()).casefold()
    # Folding can leave a sequence that NFKC composes again; the second pass makes the
    # function idempotent, so a stored key canonicalised again is itself.
    return unicodedata.normalize("NFKC", folded)
