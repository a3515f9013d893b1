# Production-like image: gunicorn serves the app; the same image runs the worker and beat.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b \
      fonts-noto-cjk postgresql-client \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install .
COPY . .
RUN DEBUG=false SECRET_KEY=collectstatic-only AUDIT_HMAC_KEY=collectstatic-only \
    DATABASE_URL=postgres://x@localhost/x \
    python manage.py collectstatic --noinput
RUN useradd --system --uid 1000 edc && chown -R edc /app \
 && mkdir -p /var/lib/alter-audit /var/lib/alter-exports && chown edc /var/lib/alter-audit /var/lib/alter-exports
USER edc
EXPOSE 8000
CMD ["gunicorn", "alter_s006.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "150", "--access-logfile", "-"]
