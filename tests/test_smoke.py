import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_subject_page_shows_the_timeline(client, coordinator_a, subject_a):
    client.force_login(coordinator_a)
    response = client.get(reverse("subjects:detail", args=[subject_a.pk]))
    assert response.status_code == 200
    assert b"SCR" in response.content
