from celery import shared_task

from outbox.services import send_pending


@shared_task
def send_notifications() -> dict[str, int]:
    """Send the queued notifications (addresses read from the user records now)."""
    return send_pending()
