"""The request boundary owns the transaction: nothing else commits or rolls it back.

A request that returns commits once. A request that raises (in a before-request hook or
in its view) is rolled back whole, and then the work it queued for that case runs, in a
fixed order of steps, in one new transaction that is committed before the error is
answered:

1. EXPLAIN: reads that complete the answer and can only be made after the rollback (the
   times a lost booking race clashed with, read once the winner is visible).
2. REVOKE: a login to end (a refresh token used twice).
3. AUDIT: the denied and failed events of the refusal.
4. KEEP: the answer an `Idempotency-Key` stores for replay. Last, and in a savepoint: a
   concurrent request with the same key may have stored its answer first, and that must
   not undo the audit events.

A step may hand back a response, which is then answered instead of the error (a replay of
the concurrent request's stored answer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import IntEnum

from flask import Response, g
from sqlalchemy.exc import SQLAlchemyError

from meditrack.extensions import db

log = logging.getLogger(__name__)


class Step(IntEnum):
    EXPLAIN = 1
    REVOKE = 2
    AUDIT = 3
    KEEP = 4


Work = Callable[[BaseException], Response | None]


def after_rollback(step: Step, work: Work) -> None:
    """Queue `work` for when this request fails: it gets the error once the request's own
    transaction has been rolled back."""
    g.setdefault("after_rollback", []).append((step, work))


def local() -> dict:
    """State that lives as long as the request's current transaction: emptied when it is
    rolled back (what it describes is gone then)."""
    return g.setdefault("transaction_local", {})


def discard_pending() -> None:
    """Forget the failure work queued so far (a view that recovered from an error)."""
    g.pop("after_rollback", None)


def commit() -> None:
    """Commit a request that succeeded."""
    db.session.commit()
    g.pop("transaction_local", None)
    discard_pending()


def fail(error: BaseException) -> Response | None:
    """Roll a failed request back, then run its failure work, step by step, in one new
    transaction; a response a step hands back replaces the error's answer."""
    _roll_back()
    pending = sorted(g.pop("after_rollback", []), key=lambda item: item[0])
    if not pending:
        return None
    replacement = None
    try:
        for _step, work in pending:
            answer = work(error)
            if replacement is None:
                replacement = answer
        db.session.commit()
    except SQLAlchemyError:
        _roll_back()
        log.exception("could not write the failure work of a failed request")
        raise
    return replacement


def _roll_back() -> None:
    """When the database went away meanwhile the rollback fails too (the server has dropped
    the transaction already); that is logged, and the request's own error stays the one
    answered: a bug must not pass for an outage."""
    g.pop("transaction_local", None)
    try:
        db.session.rollback()
    except SQLAlchemyError as exc:
        log.warning("rollback of a failed request failed: %s", type(exc).__name__)
