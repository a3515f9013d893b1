"""The Django admin (issue 11 B): for data managers only, and read-only on clinical data.

Clinical records, reference ranges included, are written on the EDC pages, with a reason for
change and the version read; the admin could do neither, so it only shows them. Accounts,
sites and API tokens are administered there, by data managers.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Membership, Role, Site
from audit.triggers import AUDITED_MODELS
from tests.factories import UserFactory, add_reference_ranges, member

ADMINISTRATIVE = {Site, Membership}  # audited, but accounts rather than clinical data
CLINICAL = sorted(
    (m for m in AUDITED_MODELS if m not in ADMINISTRATIVE and m in admin.site._registry),
    key=lambda m: m._meta.label,
)


@pytest.fixture
def staff_data_manager(db):
    user = member("dm_staff", Role.DATA_MANAGER, None)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_the_clinical_models_to_check_include_reference_ranges():
    labels = {m._meta.label for m in CLINICAL}
    assert {"eligibility.ReferenceRange", "subjects.Subject", "safety.AdverseEvent"} <= labels


@pytest.mark.parametrize("model", CLINICAL, ids=lambda m: m._meta.label)
def test_clinical_models_are_read_only_in_the_admin(staff_data_manager, model):
    request = RequestFactory().get("/admin/")
    request.user = staff_data_manager
    model_admin = admin.site._registry[model]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)


def test_a_reference_range_cannot_be_changed_through_the_admin(client, staff_data_manager, site_a):
    from eligibility.models import ReferenceRange

    add_reference_ranges(site_a)
    alt = ReferenceRange.objects.get(site=site_a, analyte="alt")
    client.force_login(staff_data_manager)
    change = reverse("admin:eligibility_referencerange_change", args=[alt.pk])

    assert client.get(reverse("admin:eligibility_referencerange_add")).status_code == 403
    response = client.post(change, {"uln": "45", "unit": "U/L", "analyte": "alt"})
    assert response.status_code == 403
    alt.refresh_from_db()
    assert alt.uln == 40
    assert client.get(change).status_code == 200  # shown, read-only


def test_a_staff_data_manager_opens_the_admin(client, staff_data_manager):
    client.force_login(staff_data_manager)
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    "who", ["superuser_without_membership", "staff_monitor", "staff_coordinator", "dm_not_staff"]
)
def test_nobody_else_opens_the_admin(client, site_a, who):
    if who == "superuser_without_membership":
        user = UserFactory(username="root", is_staff=True, is_superuser=True)
    elif who == "staff_monitor":
        user = member("mon_staff", Role.MONITOR, site_a)
    elif who == "staff_coordinator":
        user = member("coord_staff", Role.COORDINATOR, site_a)
    else:
        user = member("dm_plain", Role.DATA_MANAGER, None)
    if who != "dm_not_staff":
        user.is_staff = user.is_superuser = True
        user.save()
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    changelist = reverse("admin:eligibility_referencerange_changelist")
    assert client.get(changelist).status_code == 302
