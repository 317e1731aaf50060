"""Settings, read once from the environment (every variable: docs/configuration.md)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEVELOPMENT_SECRET_KEY = "dev-only-not-secret-change-me"

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what a browser sends as Origin."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


SMS_BACKEND = env.str("SMS_BACKEND", default="console")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_API_BASE_URL = env.str("TWILIO_API_BASE_URL", default="https://api.twilio.com").rstrip("/")

Q_BROKER = env.str("Q_BROKER", default="orm")
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
Q_WORKERS = env.int("Q_WORKERS", default=2)
Q_SYNC = env.bool("Q_SYNC", default=False)
# Off for a cluster that only takes tasks (more clusters on one Redis queue); the schedule is safe
# to run in every cluster, each run is claimed once.
Q_SCHEDULER = env.bool("Q_SCHEDULER", default=True)

if SMS_BACKEND not in {"console", "twilio"}:
    raise ImproperlyConfigured(f"SMS_BACKEND must be 'console' or 'twilio', not {SMS_BACKEND!r}")
if Q_BROKER not in {"orm", "redis"}:
    raise ImproperlyConfigured(f"Q_BROKER must be 'orm' or 'redis', not {Q_BROKER!r}")
if not DEBUG:
    if SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("Set SECRET_KEY (32+ characters) when DEBUG is off.")
    if "*" in ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts when DEBUG is off, not '*'.")
    if SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN):
        raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "import_export",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",  # django-bootstrap-static: Bootstrap's CSS served from static/, no CDN
    "corsheaders",
    "customers",
    "customers.connections",
    "campaigns",
    "smsmarketing",
]

MIDDLEWARE = [
    # First: a load balancer's probe is answered before host checks and the HTTPS redirect.
    "smsmarketing.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app itself, so DEBUG off needs no proxy configuration for them.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "customers.admin.store_time.StoreTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "smsmarketing.middleware.RefuseNulMiddleware",
]

ROOT_URLCONF = "smsmarketing.urls"
WSGI_APPLICATION = "smsmarketing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; the timeout rides out short locks.
    # A tick runs some hundred statements, many of them again next time (a busy hour's ticks, the
    # demo's weeks): the default cache of 128 prepared ones would parse half of them again.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
            "cached_statements": 2048,
        }
    )
    # A covering index's extra columns serve PostgreSQL; SQLite keeps the index without them.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    # A connection kept a minute serves the next API request or batch instead of a new one per
    # request; `?conn_max_age=0` in DATABASE_URL goes back to one per request.
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)

# The database cache by default: every web process (and the worker) shares it with no extra
# service; its table is created by migrate. Redis for scale-out: CACHE_URL=redis://host:6379/1.
CACHES = {"default": env.cache_url("CACHE_URL", default="dbcache://django_cache")}
if CACHES["default"]["BACKEND"].endswith("DatabaseCache"):
    # Culling would drop rate-limit counters early while a flood fills the table.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Every time on a staff page carries its timezone's abbreviation (the store's, see
# customers/admin/store_time.py).
FORMAT_MODULE_PATH = ["smsmarketing.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # With DEBUG off, `collectstatic` writes compressed copies with hashed names (cached for a year);
    # in development files are served as they are, straight from the apps.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- production: HTTPS behind a proxy (every value below passes `manage.py check --deploy`) ---
# The proxy that ends TLS says so in this header; empty when the app is reached directly.
_proxy_header = env.str("SECURE_PROXY_SSL_HEADER", default="" if DEBUG else "X-Forwarded-Proto")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[_origin(PUBLIC_BASE_URL)])

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=5 * 1024 * 1024)

Q_CLUSTER = {
    "name": "smsmarketing",
    "workers": Q_WORKERS,
    "timeout": 240,
    "retry": 300,
    "max_attempts": 3,
    "catch_up": False,
    "sync": Q_SYNC,
    "scheduler": Q_SCHEDULER,
    "label": "Background tasks",
}
if Q_BROKER == "redis":
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The worker's own lines (started, processing, enqueued) only when asked for: its warnings and
    # the tasks' failures still show.
    "loggers": {"django-q": {"level": env.str("Q_LOG_LEVEL", default="WARNING")}},
}

# --- sending ---
SMS_PROVIDER_TIMEOUT = env.float("SMS_PROVIDER_TIMEOUT", default=10.0)
SMS_SEND_BATCH_SIZE = env.int("SMS_SEND_BATCH_SIZE", default=100)
# Provider calls a worker keeps in flight within a batch, each on its own kept connection.
SMS_SEND_CONCURRENCY = env.int("SMS_SEND_CONCURRENCY", default=4)
if SMS_SEND_CONCURRENCY < 1:
    raise ImproperlyConfigured("SMS_SEND_CONCURRENCY must be 1 or more.")
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=2000)
# A provider that answers "try later" this many times in a row is left alone (circuit open) for
# SMS_CIRCUIT_OPEN_SECONDS, doubling up to SMS_CIRCUIT_MAX_OPEN_SECONDS, then probed with one text.
SMS_CIRCUIT_THRESHOLD = env.int("SMS_CIRCUIT_THRESHOLD", default=5)
SMS_CIRCUIT_OPEN_SECONDS = env.int("SMS_CIRCUIT_OPEN_SECONDS", default=30)
SMS_CIRCUIT_MAX_OPEN_SECONDS = env.int("SMS_CIRCUIT_MAX_OPEN_SECONDS", default=300)
SMS_RETRY_BASE_SECONDS = env.int("SMS_RETRY_BASE_SECONDS", default=30)
SMS_RETRY_MAX_SECONDS = env.int("SMS_RETRY_MAX_SECONDS", default=3600)
SMS_RATE_LIMIT = env.bool("SMS_RATE_LIMIT", default=True)
SMS_RATE_HORIZON_SECONDS = env.int("SMS_RATE_HORIZON_SECONDS", default=90)
SMS_MARKETING_VALID_HOURS = env.int("SMS_MARKETING_VALID_HOURS", default=48)
SMS_TRANSACTIONAL_VALID_HOURS = env.int("SMS_TRANSACTIONAL_VALID_HOURS", default=24)
SMS_STUCK_AFTER_SECONDS = env.int("SMS_STUCK_AFTER_SECONDS", default=600)
SMS_STATUS_CHECK_AFTER_SECONDS = env.int("SMS_STATUS_CHECK_AFTER_SECONDS", default=3600)
if SMS_STUCK_AFTER_SECONDS <= Q_CLUSTER["timeout"]:
    raise ImproperlyConfigured("SMS_STUCK_AFTER_SECONDS must exceed the task timeout.")

# --- ingestion ---
# Event batches stored within this window (per process) queue one task per store between them.
EVENT_TASKS_WINDOW_MS = env.int("EVENT_TASKS_WINDOW_MS", default=200)

# --- segments ---
# A live segment's counts in the lists and the API are taken again when older than this.
SEGMENT_COUNTS_EVERY_MINUTES = env.int("SEGMENT_COUNTS_EVERY_MINUTES", default=5)

# --- shop connections ---
SHOP_API_TIMEOUT = env.float("SHOP_API_TIMEOUT", default=15.0)

# --- public pages ---
# Cross-origin requests only to the embedded signup form's endpoints; each store's own domains are
# allowed per request (campaigns/public/embed.py).
CORS_URLS_REGEX = r"^/embed/"
RATE_LIMIT_CACHE = "default"
RATE_LIMIT_IP_HEADER = env.str("RATE_LIMIT_IP_HEADER", default="")


def _rate(name: str, default: str) -> tuple[int, int]:
    """"10/h" → (10, 3600): hits per window; 0 turns the limit off. Bad values stop the start."""
    value = env.str(name, default=default)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    count, _, per = value.partition("/")
    digits, unit = per[:-1] or "1", per[-1:]
    ascii_digits = count.isascii() and digits.isascii() and count.isdigit() and digits.isdigit()
    if not (ascii_digits and unit in units and int(digits) > 0):
        raise ImproperlyConfigured(f"{name} must look like 10/h or 5/10m (hits per window), not {value!r}")
    return int(count), int(digits) * units[unit]


RATE_LIMIT_SIGNUP_PER_IP = _rate("RATE_LIMIT_SIGNUP_PER_IP", "10/h")
RATE_LIMIT_SIGNUP_PER_NUMBER = _rate("RATE_LIMIT_SIGNUP_PER_NUMBER", "3/h")
RATE_LIMIT_PREFS_PER_IP = _rate("RATE_LIMIT_PREFS_PER_IP", "60/h")
RATE_LIMIT_PREFS_PER_NUMBER = _rate("RATE_LIMIT_PREFS_PER_NUMBER", "10/h")

# Predictions (customers/predictions/): below these a store's customers are scored by the rules.
PREDICTIONS_MIN_ORDERING_CUSTOMERS = env.int("PREDICTIONS_MIN_ORDERING_CUSTOMERS", default=500)
PREDICTIONS_MIN_HISTORY_DAYS = env.int("PREDICTIONS_MIN_HISTORY_DAYS", default=180)
# "offer-sensitive" where the store's offer tests gave an uplift: an offer adds this many points.
# A 10 % code also discounts the orders its owner would have placed anyway (a cart's owner orders about
# half the time): at a 40 % margin it pays only where it adds some 17–20 points.
PREDICTIONS_OFFER_SENSITIVE_POINTS = env.int("PREDICTIONS_OFFER_SENSITIVE_POINTS", default=20)
