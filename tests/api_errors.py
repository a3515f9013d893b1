"""Reading the API's one error shape, ``{"errors": [{"field", "code", "message"}]}``."""

from __future__ import annotations


def api_errors(response, status: int) -> list[dict]:
    """The errors of a JSON error answer of ``status``, each with exactly field/code/message."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("errors"), list) and body["errors"], body
    for item in body["errors"]:
        assert set(item) == {"field", "code", "message"}, item
        assert isinstance(item["code"], str) and item["code"]
        assert isinstance(item["message"], str) and item["message"]
    return body["errors"]


def error_codes(response, status: int = 422) -> dict[str | None, list[str]]:
    """``{field: [code, ...]}`` of an error answer (``None``: the request as a whole)."""
    codes: dict[str | None, list[str]] = {}
    for item in api_errors(response, status):
        codes.setdefault(item["field"], []).append(item["code"])
    return codes


def error_messages(response, status: int = 422) -> dict[str | None, list[str]]:
    """``{field: [message, ...]}`` of an error answer."""
    messages: dict[str | None, list[str]] = {}
    for item in api_errors(response, status):
        messages.setdefault(item["field"], []).append(item["message"])
    return messages


def error_message(response, status: int) -> str:
    """The one message of an answer about the request as a whole (404, 403, 415 …)."""
    (item,) = api_errors(response, status)
    return item["message"]
