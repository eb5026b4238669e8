"""One place owns a request's transaction: the boundary in meditrack/core/transaction.py.

A refusal raised anywhere (a before-request hook, a decorator, a view, a service) is rolled
back whole and then has its failure work written; a piece of code that commits or rolls
back on its own would let a refusal lose its audit event again, as an Idempotency-Key once
did.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text

from meditrack.extensions import db
from tests.auth_helpers import assert_problem, bearer

PACKAGE = Path(__file__).resolve().parent.parent / "meditrack"
#: Command-line tools run outside any request and own their transactions.
OWN_TRANSACTIONS = {"core/transaction.py", "cli.py", "demo.py"}
ENDS_A_TRANSACTION = re.compile(r"(?<!transaction)\.(commit|rollback)\(\)")


def test_only_the_request_boundary_commits_or_rolls_back():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE)) not in OWN_TRANSACTIONS
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ENDS_A_TRANSACTION.search(line)
    ]
    assert offenders == [], "commit or roll back through meditrack/core/transaction.py"


def test_a_refusal_in_a_before_request_hook_keeps_its_failure_work(app, client, make_account):
    """A reused refresh token is refused while the token is checked, before any view runs:
    the login's revocation and its event are still written."""
    account = make_account("doctor")
    client.post("/auth/refresh", headers=bearer(account.refresh_token))

    assert_problem(
        client.post("/auth/refresh", headers=bearer(account.refresh_token)), 401, "token_revoked"
    )

    with app.app_context():
        revoked = db.session.execute(
            text("SELECT COUNT(*) FROM auth_sessions WHERE user_id = :u AND revoked_at IS NULL"),
            {"u": account.id},
        ).scalar_one()
        events = db.session.execute(
            text("SELECT COUNT(*) FROM audit_events WHERE action = 'revoke'")
        ).scalar_one()
    assert (revoked, events) == (0, 1)
