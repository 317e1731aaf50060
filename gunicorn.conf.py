"""gunicorn's settings, read from the working directory by `gunicorn smsmarketing.wsgi:application`
(the Procfile, `make serve`, docker-compose.yml). Every variable: docs/configuration.md."""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Requests wait on the database, not the CPU: a few processes with a few threads each.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Trust X-Forwarded-* only from the proxy in front (TLS ends there).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
errorlog = "-"
# The runtime control socket would default to one path per user, shared by every gunicorn of
# that user on the machine; nothing here uses it.
control_socket_disable = True


def post_worker_init(worker):
    """Move what loading the app allocated (Django, the apps, the libraries: some 100,000 objects)
    out of the cyclic garbage collector's sight; what requests allocate is still collected. Every
    full collection would otherwise walk them all, and an API batch of 1,000 events allocates
    enough to set one off every few requests."""
    import gc

    gc.freeze()
