"""The demo accounts' password: published in the README, so never valid in production.

``seed_demo`` gives it to the accounts it creates when DEBUG is on; the system check
``accounts.E001`` (:mod:`accounts.checks`) fails while any active account still has it.
"""

from __future__ import annotations

DEMO_PASSWORD = "alter-demo-2026"  # noqa: S105 - the published demo password, refused in production


def has_demo_password(user) -> bool:
    """Whether ``user``'s password is the demo password (read only: never rehashes or saves)."""
    from django.contrib.auth.hashers import check_password

    return check_password(DEMO_PASSWORD, user.password)
