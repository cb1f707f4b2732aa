"""`docanalysis migrate` and `docanalysis serve`: one command each for the operator."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time

from docanalysis.config import Settings

FIRST_MATTER = "First matter"


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docanalysis.settings")
    import django

    django.setup()


def migrate_all(settings: Settings) -> None:
    """Alembic's domain schema, then Django's own tables (auth, sessions), same database."""
    from docanalysis.db.migrate import upgrade_database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings.database_url)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def ensure_first_user(settings: Settings, host: str, port: int) -> None:
    """On a fresh install: a user `admin` with a one-time password, printed once, and a matter."""
    setup_django()
    from django.contrib.auth import get_user_model

    from docanalysis.services.matters import ensure_matter
    from docanalysis.services.runtime import get_runtime
    from docanalysis.services.views import Actor

    users = get_user_model()
    if users.objects.exists():
        print(f"Sign in at http://{host}:{port}/ with your account.", flush=True)
        return
    password = secrets.token_urlsafe(12)
    user = users.objects.create_superuser("admin", "", password)
    ensure_matter(get_runtime(), Actor(user.pk, "admin"), FIRST_MATTER)
    print(
        f"\nSign in at http://{host}:{port}/ as user 'admin' with the one-time password\n"
        f"    {password}\n(shown only now; change it after signing in: "
        f"python manage.py changepassword admin)\n",
        flush=True,
    )


def _children(
    settings: Settings, host: str, port: int, workers: int
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "docanalysis.settings"}
    worker = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.app",
        "worker",
        "-Q",
        "cpu,gpu,guard",
        "--beat",  # the periodic jobs (audit checkpoint, retention purge): one process here
        "--concurrency",
        "1",
        "--loglevel",
        "INFO",
        "--hostname",
        f"docanalysis-{port}@%h",
    ]
    web = [
        sys.executable,
        "-m",
        "gunicorn",
        "docanalysis.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "120",
        "--access-logfile",
        "-",
    ]
    return [subprocess.Popen(worker, env=env), subprocess.Popen(web, env=env)]


def serve(settings: Settings, host: str, port: int, *, workers: int = 2) -> int:
    """The web server and one worker on the configured profile, until interrupted."""
    migrate_all(settings)
    ensure_first_user(settings, host, port)
    children = _children(settings, host, port, workers)
    from workers.tasks import reconcile

    resent = reconcile()  # runs a previous process left unfinished continue now
    if resent:
        print(f"resumed {resent} unfinished analyses", flush=True)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(c.poll() is None for c in children):
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else 1
