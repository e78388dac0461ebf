"""deploy/k8s/: valid Kubernetes objects (kubernetes-validate's offline schemas, strict mode) that run
every worker group non-root, probe the runtime's real health endpoints and keep secrets out of the
ConfigMap."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from deploy_files import (
    K8S_DIR,
    K8S_VERSION,
    default_health_port,
    load_k8s_documents,
    load_kustomization,
    looks_secret,
    unknown_settings,
    worker_groups,
)

DOCUMENTS = load_k8s_documents()


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in DOCUMENTS if doc["kind"] == kind}


def _deployment_for(group: str) -> dict[str, Any]:
    matches = [
        doc
        for doc in _by_kind("Deployment").values()
        if doc["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == group
    ]
    assert len(matches) == 1, f"expected one Deployment for worker group {group!r}, found {len(matches)}"
    return matches[0]


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize(("path", "doc"), DOCUMENTS, ids=[f"{p.name}:{d['kind']}" for p, d in DOCUMENTS])
def test_object_is_valid_for_kubernetes(path: Path, doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")


def test_validation_rejects_a_misspelt_field() -> None:
    # Strict mode must catch unknown fields, or the test above proves nothing.
    deployment = copy.deepcopy(next(iter(_by_kind("Deployment").values())))
    _container(deployment)["livenesProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_kustomization_lists_exactly_the_manifests_but_the_examples() -> None:
    listed = load_kustomization()["resources"]
    manifests = [p.name for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml"]
    on_disk = sorted(name for name in manifests if not name.endswith(".example.yaml"))
    assert sorted(listed) == on_disk


def test_no_secret_is_applied_by_the_kustomization() -> None:
    """`kubectl apply -k` must never overwrite the real Secret with the example's CHANGE_ME values."""
    applied = {path.name for path, _ in DOCUMENTS} & set(load_kustomization()["resources"])
    kinds = {doc["kind"] for path, doc in DOCUMENTS if path.name in applied}
    assert "Secret" not in kinds
    assert "secretGenerator" not in load_kustomization()
    assert (K8S_DIR / "secret.example.yaml").is_file()


def test_workers_use_basic_auth_with_the_user_in_the_secret() -> None:
    """Camunda 8.8's Helm chart protects the API with basic authentication by default."""
    config = _by_kind("ConfigMap")["procgov-config"]["data"]
    assert config["PROCGOV_TRANSPORT"] == "basic"
    secret = _by_kind("Secret")["procgov-secrets"]["stringData"]
    assert {"PROCGOV_BASIC__USERNAME", "PROCGOV_BASIC__PASSWORD"} <= set(secret)


def test_helm_values_enable_the_exporter_audit_reads_and_the_workers_user() -> None:
    from urllib.parse import urlsplit

    import yaml

    from workers.audit.sources import DEFAULT_INDEX_PATTERN

    values = yaml.safe_load((K8S_DIR.parent / "helm" / "camunda-values.yaml").read_text(encoding="utf-8"))
    env = {e["name"]: e["value"] for e in values["orchestration"]["env"]}
    assert env["ZEEBE_BROKER_EXPORTERS_ELASTICSEARCH_CLASSNAME"] == "io.camunda.zeebe.exporter.ElasticsearchExporter"
    config = _by_kind("ConfigMap")["procgov-config"]["data"]
    exporter = urlsplit(env["ZEEBE_BROKER_EXPORTERS_ELASTICSEARCH_ARGS_URL"])
    audit = urlsplit(config["PROCGOV_AUDIT_ES_URL"])
    assert (exporter.hostname, exporter.port) == (audit.hostname, audit.port)
    assert env["ZEEBE_BROKER_EXPORTERS_ELASTICSEARCH_ARGS_INDEX_PREFIX"] + "*" == DEFAULT_INDEX_PATTERN
    users = {u["username"] for u in values["orchestration"]["security"]["initialization"]["users"]}
    assert {"demo", "connector", "procgov-workers"} <= users  # Helm replaces arrays: the chart's users kept
    roles = values["orchestration"]["security"]["initialization"]["defaultRoles"]
    assert "procgov-workers" in roles["connectors"]["users"]


@pytest.mark.parametrize("group", worker_groups())
def test_every_worker_group_has_a_deployment(group: str) -> None:
    container = _container(_deployment_for(group))
    assert container["args"] == ["--group", group]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env["PROCGOV_SERVICE_NAME"] == f"procgov-workers-{group}"
    assert not unknown_settings(env), f"{group}: not worker settings: {unknown_settings(env)}"


@pytest.mark.parametrize("group", worker_groups())
def test_worker_runs_non_root_with_no_privileges(group: str) -> None:
    deployment = _deployment_for(group)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod.get("automountServiceAccountToken") is False
    sc = _container(deployment)["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]


@pytest.mark.parametrize("group", worker_groups())
def test_worker_has_resource_requests_and_limits(group: str) -> None:
    resources = _container(_deployment_for(group))["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[bound]), f"{group}: {bound} must set cpu and memory"


@pytest.mark.parametrize("group", worker_groups())
def test_probes_hit_the_health_port_and_paths(group: str) -> None:
    container = _container(_deployment_for(group))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = _by_kind("ConfigMap")["procgov-config"]["data"]
    assert ports["health"] == int(config["PROCGOV_HEALTH_PORT"]) == default_health_port()
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.parametrize("group", worker_groups())
def test_env_comes_from_the_configmap_and_secret_that_exist(group: str) -> None:
    env_from = _container(_deployment_for(group))["envFrom"]
    config_maps = [e["configMapRef"]["name"] for e in env_from if "configMapRef" in e]
    secrets = [e["secretRef"]["name"] for e in env_from if "secretRef" in e]
    assert config_maps and secrets
    assert set(config_maps) <= set(_by_kind("ConfigMap"))
    assert set(secrets) <= set(_by_kind("Secret"))


def test_configmap_holds_no_secret_values() -> None:
    assert _by_kind("ConfigMap"), "deploy/k8s has no ConfigMap to check"
    for name, config_map in _by_kind("ConfigMap").items():
        leaked = [key for key, value in config_map["data"].items() if looks_secret(key, str(value))]
        assert not leaked, f"ConfigMap {name}: {leaked} belong in a Secret"


def test_configmap_and_secret_hold_only_runtime_settings() -> None:
    for kind, field in (("ConfigMap", "data"), ("Secret", "stringData")):
        assert _by_kind(kind), f"deploy/k8s has no {kind} to check"
        for name, obj in _by_kind(kind).items():
            unknown = unknown_settings(obj[field])
            assert not unknown, f"{kind} {name}: not worker settings: {unknown}"


def test_secret_ships_placeholders_only() -> None:
    assert _by_kind("Secret"), "deploy/k8s has no Secret to check"
    for name, secret in _by_kind("Secret").items():
        assert "data" not in secret, f"Secret {name}: use stringData with placeholders, not base64 data"
        for key, value in secret["stringData"].items():
            assert "CHANGE_ME" in value, f"Secret {name}: {key} must be a CHANGE_ME placeholder"


def test_the_secret_detector_catches_credentials() -> None:
    assert looks_secret("PROCGOV_SMTP_PASSWORD", "x")
    assert looks_secret("PROCGOV_STORE_URL", "postgresql+psycopg://procgov:hunter2@db:5432/procgov")
    assert not looks_secret("PROCGOV_STORE_URL", "sqlite:///var/procgov.db")
    assert not looks_secret("PROCGOV_GATEWAY_ADDRESS", "camunda-zeebe-gateway:26500")


def test_metrics_service_selects_every_worker_pod_on_the_health_port() -> None:
    services = _by_kind("Service")
    assert services, "a Service for the workers' metrics is required"
    for group in worker_groups():
        deployment = _deployment_for(group)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        port_names = {p["name"] for p in _container(deployment)["ports"]}
        selecting = [
            s
            for s in services.values()
            if s["spec"]["selector"].items() <= pod_labels.items()
            and any(p["targetPort"] in port_names for p in s["spec"]["ports"])
        ]
        assert selecting, f"no Service scrapes the {group} workers"


def test_deployment_selectors_match_their_pod_labels() -> None:
    for name, deployment in _by_kind("Deployment").items():
        selector = deployment["spec"]["selector"]["matchLabels"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= labels.items(), f"Deployment {name}: selector does not match its pods"


async def test_probe_and_scrape_paths_are_served_by_the_runtime_health_server() -> None:
    # Start the worker runtime's real health server and ask it every path the manifests use.
    import aiohttp
    from prometheus_client import CollectorRegistry

    from workers.runtime.health import HealthServer

    async def gateway_up() -> dict[str, Any]:
        return {"brokers": 1}

    paths = set()
    for group in worker_groups():
        container = _container(_deployment_for(group))
        paths |= {container[probe]["httpGet"]["path"] for probe in ("livenessProbe", "readinessProbe", "startupProbe")}
    for service in _by_kind("Service").values():
        paths.add(service["metadata"]["annotations"]["prometheus.io/path"])

    server = HealthServer("127.0.0.1", 0, gateway_up, CollectorRegistry())
    port = await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            for path in sorted(paths):
                async with session.get(f"http://127.0.0.1:{port}{path}") as response:
                    assert response.status == 200, f"{path}: HTTP {response.status}"
    finally:
        await server.stop()
    assert paths == {"/healthz", "/readyz", "/metrics"}


@pytest.mark.parametrize("group", worker_groups())
def test_pods_get_longer_to_stop_than_the_workers_grace_period(group: str) -> None:
    # SIGTERM → the runtime stops activating and lets in-flight jobs finish for shutdown_grace_s;
    # Kubernetes must not SIGKILL before that.
    from workers.runtime.settings import WorkerSettings

    grace = WorkerSettings.model_fields["shutdown_grace_s"].default
    pod = _deployment_for(group)["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > grace
