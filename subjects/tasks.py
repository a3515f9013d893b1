from celery import shared_task
from django.utils import timezone

from subjects.models import Visit


@shared_task
def count_overdue_visits() -> int:
    """Count visits past their window with nothing recorded (beat runs it hourly)."""
    today = timezone.now().date()
    return Visit.objects.filter(actual_date__isnull=True, missed=False, latest__lt=today).count()
