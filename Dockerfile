# The image docker-compose.yml runs: the app, its requirements and its collected static files.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Static files belong to the image (whitenoise serves them). Nothing is signed while collecting,
# so a throwaway key is enough here; the real SECRET_KEY comes with the environment at run time.
RUN DEBUG=false SECRET_KEY=collectstatic-only-not-used-at-run-time ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput
RUN useradd --create-home app
USER app
EXPOSE 8000
CMD ["gunicorn", "smsmarketing.wsgi:application"]
