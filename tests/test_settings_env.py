"""Settings from the environment are read strictly: a typo stops the process, never flips a switch.

Issue 11 A.7: ``HTTPS=ture`` must be an error, not False. Each case starts the settings
module in a fresh interpreter, as the web process would.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from alter_s006.envparse import env_bool, env_int


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True),
     ("false", False), ("0", False), ("No", False), ("off", False), ("", None), (None, None)],
)  # fmt: skip
def test_booleans_accept_the_usual_words(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("ALTER_FLAG", raising=False)
    else:
        monkeypatch.setenv("ALTER_FLAG", raw)
    default = object()
    assert env_bool("ALTER_FLAG", default) is (default if expected is None else expected)


@pytest.mark.parametrize("raw", ["ture", "flase", "2", "enabled", "t"])
def test_a_mistyped_boolean_is_an_error_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("HTTPS", raw)
    with pytest.raises(ImproperlyConfigured, match=rf"HTTPS='{raw}' is not a boolean"):
        env_bool("HTTPS", True)


@pytest.mark.parametrize(
    ("raw", "message"),
    [("abc", "is not a whole number"), ("١٥", "is not a whole number"), ("1.5", "is not a whole"),
     ("0", "is outside 1..1440"), ("1441", "is outside 1..1440")],
)  # fmt: skip
def test_numbers_are_whole_ascii_and_bounded(monkeypatch, raw, message):
    monkeypatch.setenv("SESSION_IDLE_MINUTES", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_int("SESSION_IDLE_MINUTES", 15, maximum=1440)


def test_the_settings_module_refuses_https_ture():
    env = {**os.environ, "HTTPS": "ture", "DJANGO_SETTINGS_MODULE": "alter_s006.settings_test"}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "HTTPS='ture' is not a boolean" in done.stderr
