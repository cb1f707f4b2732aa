"""The Celery settings that keep a task whose worker dies from being lost, and the retry and
reconcile timings. (That a killed pool process's message really comes back is
tests/integration/test_queue_faults.py, with real workers.)"""

from __future__ import annotations

from celery import Celery

from docanalysis.config import load_settings
from workers.app import app, configure, reconcile_interval_s


def test_a_task_is_acknowledged_after_it_ran_and_redelivered_if_its_worker_dies() -> None:
    # acks_late alone would lose the task of a killed worker (acknowledged as failed);
    # reject_on_worker_lost hands it back to the queue. One message per process at a time.
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert (app.conf.task_serializer, app.conf.accept_content) == ("json", ["json"])


def test_on_redis_a_running_task_is_not_handed_to_a_second_worker() -> None:
    settings = load_settings({"CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"})
    conf = configure(Celery("check"), settings).conf
    assert conf.broker_transport_options == {"visibility_timeout": 12 * 3600}
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True


def test_every_periodic_job_names_a_task_and_the_reconciler_runs_often_enough() -> None:
    import workers.tasks  # noqa: F401  (registers the tasks)

    schedule = app.conf.beat_schedule
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks)
    assert schedule["resend-stalled-runs"]["task"] == "docanalysis.reconcile"
    assert schedule["resend-stalled-runs"]["schedule"] == 60.0  # default: stalled after 300 s
    for after, every in (("1", 1.0), ("10", 2.0), ("300", 60.0), ("86400", 60.0)):
        settings = load_settings({"DOCANALYSIS_RECONCILE_AFTER_S": after})
        assert reconcile_interval_s(settings) == every


def test_the_crash_limit_and_the_reconcile_delay_have_defaults_and_floors() -> None:
    defaults = load_settings({})
    assert (defaults.max_attempts, defaults.reconcile_after_s) == (3, 300)
    low = load_settings({"DOCANALYSIS_MAX_ATTEMPTS": "0", "DOCANALYSIS_RECONCILE_AFTER_S": "0"})
    assert (low.max_attempts, low.reconcile_after_s) == (1, 1)


def test_retries_wait_longer_each_time_and_never_more_than_the_cap() -> None:
    from workers.tasks import MAX_RETRIES, RETRY_CAP_S, retry_countdown

    for retries in range(MAX_RETRIES):
        base = 5 * 2**retries
        assert all(base <= retry_countdown(retries) <= base * 1.25 for _ in range(50))
    assert max(retry_countdown(n) for n in range(200)) <= RETRY_CAP_S == 300
    # The whole policy: MAX_RETRIES retries within about three minutes, then the run fails.
    assert sum(5 * 2**n * 1.25 for n in range(MAX_RETRIES)) < 200
