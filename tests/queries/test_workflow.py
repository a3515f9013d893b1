"""The transition table of issue 14 section 1, every (state, action, role) combination.

The expected table is written out here by hand from the issue, not read from
``queries.workflow``: allowed combinations give the state of the issue's table, every other
one is refused with a code."""

import itertools

import pytest

from queries import workflow as w

M, DM, C, INV, S = w.MONITOR, w.DATA_MANAGER, w.COORDINATOR, w.INVESTIGATOR, w.SYSTEM

# (state, action, role, origin, answered, is_raiser) -> new state; anything absent is refused.
ALLOWED = {}
for role in (M, DM):
    for origin in (w.MANUAL, w.ORIGIN_SYSTEM):
        for answered in (False, True):
            for raiser in (False, True):
                ALLOWED[(None, w.RAISE, role, origin, answered, raiser)] = w.OPEN
                ALLOWED[(w.ANSWERED, w.CLOSE, role, origin, answered, raiser)] = w.CLOSED
                ALLOWED[(w.ANSWERED, w.SEND_BACK, role, origin, answered, raiser)] = w.OPEN
                ALLOWED[(w.CLOSED, w.REOPEN, role, origin, answered, raiser)] = w.OPEN
                ALLOWED[(w.CLOSED_MODIFIED, w.REOPEN, role, origin, answered, raiser)] = w.OPEN
                if origin == w.ORIGIN_SYSTEM:
                    ALLOWED[(w.OPEN, w.CLOSE_CONFIRMED, role, origin, answered, raiser)] = w.CLOSED
        # its raiser, before any answer, a query raised by hand
        ALLOWED[(w.OPEN, w.CANCEL, role, w.MANUAL, False, True)] = w.CANCELLED
for role in (C, INV):
    for origin in (w.MANUAL, w.ORIGIN_SYSTEM):
        for answered in (False, True):
            for raiser in (False, True):
                ALLOWED[(w.OPEN, w.ANSWER, role, origin, answered, raiser)] = w.ANSWERED
for answered in (False, True):
    for raiser in (False, True):
        ALLOWED[(w.OPEN, w.SYSTEM_CLOSE, S, w.ORIGIN_SYSTEM, answered, raiser)] = w.CLOSED

COMBINATIONS = list(
    itertools.product(
        (None, *w.STATES),
        w.ACTIONS,
        w.ROLES,
        (w.MANUAL, w.ORIGIN_SYSTEM),
        (False, True),
        (False, True),
    )
)


def test_the_table_has_every_combination():
    assert len(COMBINATIONS) == 6 * 8 * 5 * 2 * 2 * 2
    assert set(ALLOWED) <= set(COMBINATIONS)


@pytest.mark.parametrize("state,action,role,origin,answered,raiser", COMBINATIONS)
def test_transition(state, action, role, origin, answered, raiser):
    key = (state, action, role, origin, answered, raiser)
    kwargs = {"origin": origin, "answered": answered, "is_raiser": raiser}
    if key in ALLOWED:
        assert w.transition(state, action, role, **kwargs) == ALLOWED[key]
        assert action in w.allowed_actions(state, role, **kwargs)
    else:
        with pytest.raises(w.Refused) as refused:
            w.transition(state, action, role, **kwargs)
        assert refused.value.code in {w.ROLE_REFUSED, w.NOT_RAISER, w.STATE_REFUSED}
        assert action not in w.allowed_actions(state, role, **kwargs)


@pytest.mark.parametrize(
    "args,code",
    [
        ((w.ANSWERED, w.CLOSE, C), w.ROLE_REFUSED),  # coordinators never close
        ((w.OPEN, w.ANSWER, M), w.ROLE_REFUSED),  # monitors never answer
        ((None, w.RAISE, INV), w.ROLE_REFUSED),
        ((w.OPEN, w.SYSTEM_CLOSE, M), w.ROLE_REFUSED),
        ((w.OPEN, w.CLOSE, M), w.STATE_REFUSED),  # only after an answer
        ((w.CLOSED, w.ANSWER, C), w.STATE_REFUSED),
        ((w.CANCELLED, w.REOPEN, DM), w.STATE_REFUSED),
        ((w.ANSWERED, w.CANCEL, M), w.STATE_REFUSED),
    ],
)
def test_refusal_codes(args, code):
    with pytest.raises(w.Refused) as refused:
        w.transition(*args, is_raiser=True)
    assert refused.value.code == code
    assert refused.value.forbidden == (code in w.FORBIDDEN_CODES)


def test_cancel_both_sides():
    """Its raiser, never answered, raised by hand: cancelled; change any one: refused."""
    assert w.transition(w.OPEN, w.CANCEL, M, is_raiser=True) == w.CANCELLED
    for kwargs, code in (
        ({"is_raiser": False}, w.NOT_RAISER),
        ({"is_raiser": True, "answered": True}, w.STATE_REFUSED),
        ({"is_raiser": True, "origin": w.ORIGIN_SYSTEM}, w.STATE_REFUSED),
    ):
        with pytest.raises(w.Refused) as refused:
            w.transition(w.OPEN, w.CANCEL, M, **kwargs)
        assert refused.value.code == code


def test_close_confirmed_only_for_system_queries():
    assert w.transition(w.OPEN, w.CLOSE_CONFIRMED, DM, origin=w.ORIGIN_SYSTEM) == w.CLOSED
    with pytest.raises(w.Refused) as refused:
        w.transition(w.OPEN, w.CLOSE_CONFIRMED, DM, origin=w.MANUAL)
    assert refused.value.code == w.STATE_REFUSED


def test_unknown_values_are_refused():
    for args in (("frozen", w.CLOSE, M), (w.OPEN, "delete", M), (w.OPEN, w.ANSWER, "sponsor")):
        with pytest.raises(w.Refused) as refused:
            w.transition(*args)
        assert refused.value.code == w.UNKNOWN


def test_which_actions_need_text():
    assert {a for a in w.ACTIONS if w.needs_text(a)} == {
        w.RAISE,
        w.ANSWER,
        w.SEND_BACK,
        w.REOPEN,
        w.CANCEL,
        w.CLOSE_CONFIRMED,
    }


def test_allowed_actions_for_the_buttons():
    assert w.allowed_actions(w.OPEN, C) == [w.ANSWER]
    assert w.allowed_actions(w.OPEN, M, is_raiser=True) == [w.CANCEL]
    assert w.allowed_actions(w.OPEN, M, origin=w.ORIGIN_SYSTEM) == [w.CLOSE_CONFIRMED]
    assert w.allowed_actions(w.ANSWERED, DM) == [w.CLOSE, w.SEND_BACK]
    assert w.allowed_actions(w.CLOSED, C) == []


def test_every_refusal_message_is_in_the_catalogue():
    """The services list the workflow's messages for makemessages (workflow.py is pure)."""
    import ast
    import inspect

    from queries import services

    raised = {
        node.args[1].value
        for node in ast.walk(ast.parse(inspect.getsource(w)))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "Refused"
        and isinstance(node.args[1], ast.Constant)
    }
    assert raised == set(services.WORKFLOW_MESSAGES)
