"""The codes of a service's ValidationError: what the tests assert instead of English text."""

from __future__ import annotations

from django.core.exceptions import ValidationError


def codes(exc: ValidationError) -> dict[str, list[str | None]]:
    """``{field: [code, ...]}`` (``"__all__"`` for an error about the record as a whole)."""
    if hasattr(exc, "error_dict"):
        return {
            field: [e.code for e in ValidationError(errors).error_list]
            for field, errors in exc.error_dict.items()
        }
    return {"__all__": [e.code for e in exc.error_list]}
