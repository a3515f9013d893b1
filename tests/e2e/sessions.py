"""Browser contexts already signed in (a session made by Django's test client), for tests that
visit many pages as several users without typing a password each time."""

from django.conf import settings
from django.test import Client


def signed_in(browser, base_url: str, user, *, lang: str = "en", width: int = 1280):
    """A new browser context and page for ``user``, in ``lang`` (closing the context is yours)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="zh-CN" if lang == "zh-hans" else "en-GB"
    )
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": base_url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": lang, "url": base_url},
        ]
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.base = base_url
    return context, page
