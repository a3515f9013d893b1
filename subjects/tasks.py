from celery import shared_task
from django.utils import timezone

from subjects.models import Visit


@shared_task
def count_overdue_visits() -> int:
    """Count visits past their window with nothing recorded (beat runs it hourly)."""
    today = timezone.now().date()
    return Visit.objects.filter(actual_date__isnull=True, missed=False, latest__lt=today).count()


@shared_task
def sync_edit_checks() -> int:
    """The whole-subject edit checks at each site's today (beat runs it hourly: each site's
    day starts at its own midnight); returns the subjects checked."""
    from alter_s006.edit_check_runs import sync_all

    return sync_all()
