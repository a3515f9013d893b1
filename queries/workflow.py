"""The query workflow: who may do what to a data query, as one transition table.

Source: issue 14, section 1 ("Queries: the full workflow"), the table of states and actions:

    | from                | action             | who                                 | to        |
    | ------------------- | ------------------ | ----------------------------------- | --------- |
    | (none)              | raise              | monitor, data manager               | open      |
    | open                | answer             | coordinator, investigator (site)    | answered  |
    | answered            | close              | monitor, data manager               | closed    |
    | answered            | send back          | monitor, data manager               | open      |
    | closed              | reopen             | monitor, data manager               | open      |
    | open (not answered) | cancel             | its raiser                          | cancelled |
    | open (system)       | (system close)     | the system                          | closed    |
    | open (system)       | close as confirmed | monitor, data manager               | closed    |

Text is required to raise and to answer; a comment to send back, reopen, cancel and close as
confirmed. "Closed-modified" is a closed query whose queried value changed afterwards: the
database marks it (``queries.db``), no person does; it may be reopened as a closed one
("closed" in the table covers both). "Not answered" means never answered: a query sent back
after an answer has a thread the site took part in, and is no longer its raiser's to cancel.
The raiser of a system query is the system, so only hand-raised queries can be cancelled.

Pure: no Django import. Roles are the strings of ``accounts.models.Role`` plus ``system``.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN = "open"
ANSWERED = "answered"
CLOSED = "closed"
CANCELLED = "cancelled"
CLOSED_MODIFIED = "closed_modified"
STATES = (OPEN, ANSWERED, CLOSED, CANCELLED, CLOSED_MODIFIED)
# states with something left to do (counted as "open" on badges, timelines, lists)
UNRESOLVED = (OPEN, ANSWERED)

RAISE = "raise"
ANSWER = "answer"
CLOSE = "close"
SEND_BACK = "send_back"
REOPEN = "reopen"
CANCEL = "cancel"
SYSTEM_CLOSE = "system_close"
CLOSE_CONFIRMED = "close_confirmed"
ACTIONS = (RAISE, ANSWER, CLOSE, SEND_BACK, REOPEN, CANCEL, SYSTEM_CLOSE, CLOSE_CONFIRMED)

COORDINATOR = "coordinator"
INVESTIGATOR = "investigator"
MONITOR = "monitor"
DATA_MANAGER = "data_manager"
SYSTEM = "system"
ROLES = (COORDINATOR, INVESTIGATOR, MONITOR, DATA_MANAGER, SYSTEM)

SITE = frozenset({COORDINATOR, INVESTIGATOR})
REVIEWERS = frozenset({MONITOR, DATA_MANAGER})

MANUAL = "manual"
ORIGIN_SYSTEM = "system"

# refusal codes
ROLE_REFUSED = "query_role"  # this role never does this action (403)
NOT_RAISER = "query_not_raiser"  # cancel by someone other than the raiser (403)
STATE_REFUSED = "query_state"  # not from this state / origin / after an answer (422)
UNKNOWN = "query_unknown"  # no such state, action or role (422)
FORBIDDEN_CODES = frozenset({ROLE_REFUSED, NOT_RAISER})


@dataclass(frozen=True)
class Rule:
    source: str | None  # None: the query does not exist yet
    action: str
    roles: frozenset[str]
    target: str
    text_required: bool
    system_only: bool = False  # the query must have been raised by an edit check
    manual_only: bool = False  # the query must have been raised by hand
    raiser_only: bool = False
    never_answered: bool = False


RULES: tuple[Rule, ...] = (
    Rule(None, RAISE, REVIEWERS, OPEN, True),
    Rule(OPEN, ANSWER, SITE, ANSWERED, True),
    Rule(ANSWERED, CLOSE, REVIEWERS, CLOSED, False),
    Rule(ANSWERED, SEND_BACK, REVIEWERS, OPEN, True),
    Rule(CLOSED, REOPEN, REVIEWERS, OPEN, True),
    Rule(CLOSED_MODIFIED, REOPEN, REVIEWERS, OPEN, True),
    Rule(
        OPEN,
        CANCEL,
        REVIEWERS,
        CANCELLED,
        True,
        manual_only=True,
        raiser_only=True,
        never_answered=True,
    ),
    Rule(OPEN, SYSTEM_CLOSE, frozenset({SYSTEM}), CLOSED, False, system_only=True),
    Rule(OPEN, CLOSE_CONFIRMED, REVIEWERS, CLOSED, True, system_only=True),
)
TEXT_REQUIRED = frozenset(r.action for r in RULES if r.text_required)


class Refused(Exception):
    """The transition is not allowed; ``code`` says why (``FORBIDDEN_CODES``: the role)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def forbidden(self) -> bool:
        return self.code in FORBIDDEN_CODES


def needs_text(action: str) -> bool:
    """Must the action carry a text (the query, the answer, or a comment)?"""
    return action in TEXT_REQUIRED


def transition(
    state: str | None,
    action: str,
    role: str,
    *,
    is_raiser: bool = False,
    origin: str = MANUAL,
    answered: bool = False,
) -> str:
    """The state after ``role`` does ``action`` on a query in ``state`` (None: not raised yet),
    or ``Refused``. ``origin``: ``manual`` or ``system``; ``answered``: the query was ever
    answered; ``is_raiser``: the actor raised it."""
    if state not in (None, *STATES) or action not in ACTIONS or role not in ROLES:
        raise Refused(UNKNOWN, "Unknown state, action or role.")
    rules = [r for r in RULES if r.action == action]
    if not any(role in r.roles for r in rules):
        raise Refused(ROLE_REFUSED, "Your role may not do this to a query.")
    for rule in rules:
        if rule.source != state or role not in rule.roles:
            continue
        if rule.system_only and origin != ORIGIN_SYSTEM:
            raise Refused(
                STATE_REFUSED, "Only a query raised by an edit check can be closed as confirmed."
            )
        if rule.manual_only and origin != MANUAL:
            raise Refused(STATE_REFUSED, "A query raised by an edit check cannot be cancelled.")
        if rule.never_answered and answered:
            raise Refused(STATE_REFUSED, "A query the site has answered cannot be cancelled.")
        if rule.raiser_only and not is_raiser:
            raise Refused(NOT_RAISER, "Only the person who raised the query may cancel it.")
        return rule.target
    raise Refused(STATE_REFUSED, "Not possible for a query in this state.")


def allowed_actions(
    state: str | None,
    role: str,
    *,
    is_raiser: bool = False,
    origin: str = MANUAL,
    answered: bool = False,
) -> list[str]:
    """The actions ``role`` may take now (for the buttons of a page), in table order."""
    out = []
    for action in ACTIONS:
        try:
            transition(state, action, role, is_raiser=is_raiser, origin=origin, answered=answered)
        except Refused:
            continue
        out.append(action)
    return out
