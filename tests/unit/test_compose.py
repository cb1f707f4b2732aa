"""docker-compose.yml cannot run here (no Docker engine): check that what it names exists."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import yaml

from workers.app import QUEUES

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


def module_exists(dotted: str) -> bool:
    return importlib.util.find_spec(dotted) is not None


def test_the_stack_has_every_service_of_the_design() -> None:
    assert set(SERVICES) == {
        "postgres",
        "redis",
        "migrate",
        "web",
        "worker-cpu",
        "worker-gpu",
        "scheduler",
        "vllm",
    }


def test_project_commands_exist() -> None:
    assert SERVICES["migrate"]["command"] == ["docanalysis", "migrate"]
    assert "docanalysis" in SCRIPTS
    web = SERVICES["web"]["command"]
    assert web[0] == "gunicorn"
    module, attribute = web[1].split(":")
    assert module_exists(module) and attribute == "application"
    for name in ("worker-cpu", "worker-gpu"):
        command = SERVICES[name]["command"]
        assert command[:4] == ["celery", "-A", "workers.app", "worker"]
        queues = command[command.index("-Q") + 1].split(",")
        assert set(queues) <= set(QUEUES)
    served = {
        q
        for n in ("worker-cpu", "worker-gpu")
        for q in SERVICES[n]["command"][SERVICES[n]["command"].index("-Q") + 1].split(",")
    }
    assert served == set(QUEUES)  # every queue has a consumer


def test_the_scheduler_sends_registered_periodic_tasks_to_a_served_queue() -> None:
    from workers.app import app
    from workers.tasks import CHECKPOINT, PURGE, RECONCILE, WEBHOOK_SWEEP

    assert SERVICES["scheduler"]["command"][:4] == ["celery", "-A", "workers.app", "beat"]
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert schedule == {CHECKPOINT, PURGE, RECONCILE, WEBHOOK_SWEEP}
    assert schedule <= set(app.tasks)  # a misspelt name would be dropped by the workers
    assert app.conf.task_default_queue == "cpu"


def test_vllm_serves_llama4_with_a_128k_context_and_the_gpu_worker_reserves_a_gpu() -> None:
    vllm = SERVICES["vllm"]
    assert vllm["image"].startswith("vllm/vllm-openai")
    args = vllm["command"]
    assert args[args.index("--model") + 1] == "meta-llama/Llama-4-Scout-17B-16E-Instruct"
    assert int(args[args.index("--max-model-len") + 1]) >= 131072
    assert "HUGGING_FACE_HUB_TOKEN" in vllm["environment"]
    devices = SERVICES["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_every_service_with_state_has_a_volume_and_the_servers_a_healthcheck() -> None:
    for name in ("postgres", "redis"):
        assert SERVICES[name]["volumes"], name
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "healthcheck" in SERVICES["web"] and "healthcheck" in SERVICES["vllm"]
    assert set(COMPOSE["volumes"]) >= {"pgdata", "redisdata", "blobs", "models"}


def test_the_serverless_broker_keeps_everything_under_the_data_dir(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from workers.app import filesystem_broker_options

    options = filesystem_broker_options(tmp_path)
    folders = {k: v for k, v in options.items() if k.endswith("folder") or "folder_" in k}
    assert folders == {
        "data_folder_in": str(tmp_path / "broker" / "queue"),
        "data_folder_out": str(tmp_path / "broker" / "queue"),
        "processed_folder": str(tmp_path / "broker" / "processed"),
        "control_folder": str(tmp_path / "broker" / "control"),
    }


def test_the_app_runs_on_the_production_settings_which_exist() -> None:
    for name in ("web", "worker-cpu", "worker-gpu", "scheduler"):
        env = SERVICES[name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "docanalysis.settings.production", name
    assert module_exists("docanalysis.settings.production")
