"""The guard runs beside the worker groups: a Compose service and a Kubernetes Deployment of its own."""

from __future__ import annotations

from pathlib import Path

import yaml

from workers.runtime.settings import WorkerSettings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_procgov_guard_against_the_clusters_rest_api() -> None:
    """Camunda 8.8's REST API is on the orchestration cluster's port 8080 (the compose file maps it to
    8088 on the host); the guard inherits the workers' basic credentials, health port and record source."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    guard = services["workers-guard"]
    assert guard["entrypoint"] == ["procgov", "guard"] and guard["command"] == []
    env = guard["environment"]
    assert env["PROCGOV_REST_URL"] == "http://camunda:8080"
    assert env["PROCGOV_TRANSPORT"] == "basic" and env["PROCGOV_AUDIT_ES_URL"] == "http://elasticsearch:9200"
    assert "9600/healthz" in " ".join(guard["healthcheck"]["test"])
    WorkerSettings(rest_url=env["PROCGOV_REST_URL"])  # a valid setting


def test_k8s_deployment_runs_procgov_guard_with_probes() -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy" / "k8s" / "deployment-guard.yaml").read_text(encoding="utf-8")))
    [container] = docs[0]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["procgov", "guard"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["PROCGOV_REST_URL"].endswith(":8080")
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    kustomization = yaml.safe_load((ROOT / "deploy" / "k8s" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "deployment-guard.yaml" in kustomization["resources"]
