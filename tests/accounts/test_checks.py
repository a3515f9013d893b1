"""The system check that fails in production while an account keeps the demo password
(issue 10.3). A database check: it reads the accounts when the checks run for a database,
as ``migrate`` runs them."""

from __future__ import annotations

import pytest
from django.core.checks import Error, run_checks
from django.db import OperationalError, connections

from accounts.checks import check_demo_passwords
from accounts.demo import DEMO_PASSWORD
from tests.factories import UserFactory


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return settings


def ids(errors) -> list[str]:
    return [e.id for e in errors]


def test_an_account_with_the_demo_password_fails_the_production_checks(production, db):
    UserFactory(username="datamanager", password=DEMO_PASSWORD, is_superuser=True)
    UserFactory(username="inv.gz")  # another password

    errors = run_checks(include_deployment_checks=True, databases=["default"])

    found = [e for e in errors if e.id == "accounts.E001"]
    assert len(found) == 1
    assert isinstance(found[0], Error)  # Error level: check --deploy fails
    assert "datamanager" in found[0].msg and "inv.gz" not in found[0].msg


def test_no_error_when_every_password_was_changed(production, db):
    UserFactory(username="datamanager")
    assert check_demo_passwords(databases=["default"]) == []


def test_an_inactive_account_with_the_demo_password_is_not_reported(production, db):
    UserFactory(username="old", password=DEMO_PASSWORD, is_active=False)
    assert check_demo_passwords(databases=["default"]) == []


def test_the_demo_itself_runs_with_debug_on(settings, db):
    settings.DEBUG = True
    UserFactory(username="datamanager", password=DEMO_PASSWORD)
    assert check_demo_passwords(databases=["default"]) == []


def test_checks_run_without_a_database_do_not_read_the_accounts(
    production, db, django_assert_num_queries
):
    UserFactory(username="datamanager", password=DEMO_PASSWORD)
    with django_assert_num_queries(0):
        assert check_demo_passwords(databases=None) == []


def test_migrate_refuses_while_an_account_has_the_demo_password(production, db):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    UserFactory(username="datamanager", password=DEMO_PASSWORD)

    with pytest.raises(SystemCheckError, match="accounts.E001"):
        call_command("migrate", "--check", skip_checks=False, verbosity=0)


def test_a_database_not_migrated_yet_is_skipped(production, db, monkeypatch):
    introspection = connections["default"].introspection
    monkeypatch.setattr(introspection, "table_names", lambda *args, **kwargs: [])
    UserFactory(username="datamanager", password=DEMO_PASSWORD)
    assert check_demo_passwords(databases=["default"]) == []


def test_an_unreachable_database_is_skipped(production, db, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"].introspection, "table_names", unreachable)
    assert check_demo_passwords(databases=["default"]) == []
