"""Strict reading of settings from the environment.

django-environ reads any unknown word as False (``HTTPS=ture`` would silently switch off
HTTPS) and fails on a bad number with a bare ValueError. Here an unknown value stops the
process with the variable's name and what it accepts.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean: use one of {', '.join(sorted(TRUE | FALSE))}."
    )


def env_int(name: str, default: int, *, minimum: int = 1, maximum: int = 10**6) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.lstrip("-").isdigit()):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.")
    value = int(text)
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name}={value} is outside {minimum}..{maximum}.")
    return value
