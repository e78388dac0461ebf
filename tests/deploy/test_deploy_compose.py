"""docker-compose.yml: valid against the Compose Specification, and wired the way procgov runs.

The schema is the one check-jsonschema vendors (``vendor.compose-spec``), read from the installed
package: nothing is downloaded at test time.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from deploy_files import OTEL_CONFIG, default_health_port, env_mapping, load_compose, unknown_settings, worker_groups

GATEWAY_SERVICE = "camunda"
CONDITIONS_NEEDING_HEALTHCHECK = {"service_healthy"}


def _compose_validator() -> jsonschema.protocols.Validator:
    schema_text = (
        resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text("utf-8")
    )
    schema = json.loads(schema_text)
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    return validator_cls(schema)


def _schema_errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in _compose_validator().iter_errors(document)
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    errors = _schema_errors(compose)
    assert not errors, "docker-compose.yml violates the Compose Specification:\n" + "\n".join(errors)


def test_schema_check_rejects_a_broken_compose_file(compose: dict[str, Any]) -> None:
    # The schema check above must be able to fail: misspelt keys and wrong types are caught.
    broken = copy.deepcopy(compose)
    broken["services"]["camunda"]["helthcheck"] = {"test": ["CMD", "true"]}
    broken["services"]["mailpit"]["ports"] = "1025:1025"
    errors = _schema_errors(broken)
    assert any("helthcheck" in e for e in errors), errors
    assert any(e.startswith("services/mailpit/ports") for e in errors), errors


def test_stack_has_the_current_camunda_elasticsearch_otel_jaeger_and_mailpit(
    services: dict[str, dict[str, Any]],
) -> None:
    image = services[GATEWAY_SERVICE]["image"]
    # the current minor (brief: "compose runs the current image")
    assert image.startswith("camunda/camunda:8.10."), image
    assert services["elasticsearch"]["image"].split(":")[-1].startswith("8."), services["elasticsearch"]["image"]
    assert "opentelemetry-collector" in services["otel-collector"]["image"]
    assert "jaeger" in services["jaeger"]["image"]
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    camunda_ports = {str(p).split(":")[-1] for p in services[GATEWAY_SERVICE]["ports"]}
    assert {"26500", "8080"} <= camunda_ports
    mailpit_ports = {str(p).split(":")[-1] for p in services["mailpit"]["ports"]}
    assert {"1025", "8025"} <= mailpit_ports


def test_camunda_exports_to_the_elasticsearch_service(services: dict[str, dict[str, Any]]) -> None:
    env = env_mapping(services[GATEWAY_SERVICE]["environment"])
    assert env["CAMUNDA_DATA_SECONDARYSTORAGE_TYPE"] == "elasticsearch"
    url = urlsplit(env["CAMUNDA_DATA_SECONDARYSTORAGE_ELASTICSEARCH_URL"])
    assert url.hostname in services and url.port == 9200
    es_env = env_mapping(services["elasticsearch"]["environment"])
    assert es_env["discovery.type"] == "single-node"
    assert es_env["xpack.security.enabled"] == "false"


@pytest.mark.parametrize("group", worker_groups())
def test_every_worker_group_has_a_service_wired_to_the_stack(group: str, services: dict[str, dict[str, Any]]) -> None:
    name = f"workers-{group}"
    assert name in services, f"no compose service {name!r} for worker group {group!r}"
    service = services[name]
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert service["command"] == ["--group", group]
    env = env_mapping(service["environment"])
    gateway_host, _, gateway_port = env["PROCGOV_GATEWAY_ADDRESS"].partition(":")
    assert (gateway_host, gateway_port) == (GATEWAY_SERVICE, "26500")
    otlp = urlsplit(env["PROCGOV_OTLP_ENDPOINT"])
    assert otlp.hostname == "otel-collector" and otlp.port == 4317
    assert (env["PROCGOV_SMTP__HOST"], env["PROCGOV_SMTP__PORT"]) == ("mailpit", "1025")
    store = urlsplit(env["PROCGOV_STORE_URL"])
    assert store.hostname in services, f"{name}: store host {store.hostname!r} is not a compose service"
    assert service["depends_on"][GATEWAY_SERVICE]["condition"] == "service_healthy"


@pytest.mark.parametrize("group", worker_groups())
def test_worker_healthcheck_probes_the_health_port_and_path(group: str, services: dict[str, dict[str, Any]]) -> None:
    service = services[f"workers-{group}"]
    port = env_mapping(service["environment"])["PROCGOV_HEALTH_PORT"]
    assert int(port) == default_health_port(), "keep the image, compose and the runtime on one health port"
    probe = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{port}/healthz" in probe, probe


def test_deploy_service_runs_procgov_deploy_once_after_camunda_is_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    deploy = services["deploy"]
    assert deploy["entrypoint"] == ["procgov", "deploy"]
    assert deploy["restart"] == "no"
    assert deploy["depends_on"][GATEWAY_SERVICE]["condition"] == "service_healthy"
    assert env_mapping(deploy["environment"])["PROCGOV_GATEWAY_ADDRESS"] == f"{GATEWAY_SERVICE}:26500"


def test_every_procgov_variable_is_a_runtime_setting(services: dict[str, dict[str, Any]]) -> None:
    # The runtime ignores unknown PROCGOV_* names, so a typo would silently fall back to a default.
    for name, service in services.items():
        unknown = unknown_settings(env_mapping(service.get("environment")))
        assert not unknown, f"{name}: not worker settings: {unknown}"


def test_the_setting_check_can_fail() -> None:
    names = ["PROCGOV_AUDIT_KEY_FILE", "PROCGOV_AUDIT_KEY_FIEL", "PROCGOV_AUDIT_TIMEZONE",
             "PROCGOV_REPORTS__ENDPOINT_URL", "PROCGOV_REPORTS__ENDPOINT", "PROCGOV_REPORTS_URL"]
    assert unknown_settings(names) == ["PROCGOV_AUDIT_KEY_FIEL", "PROCGOV_REPORTS__ENDPOINT"]


def test_depends_on_names_existing_services_with_satisfiable_conditions(
    services: dict[str, dict[str, Any]],
) -> None:
    problems: list[str] = []
    for name, service in services.items():
        depends = service.get("depends_on", {})
        entries = {d: {"condition": "service_started"} for d in depends} if isinstance(depends, list) else depends
        for target, spec in entries.items():
            if target not in services:
                problems.append(f"{name} depends on unknown service {target!r}")
                continue
            condition = spec.get("condition", "service_started")
            if condition in CONDITIONS_NEEDING_HEALTHCHECK and "healthcheck" not in services[target]:
                problems.append(f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
            if condition == "service_completed_successfully" and services[target].get("restart") not in ("no", None):
                problems.append(f"{name} waits for {target} to complete, but {target} restarts")
    assert not problems, "\n".join(problems)


def test_every_service_with_a_healthcheck_has_a_test(services: dict[str, dict[str, Any]]) -> None:
    assert any("healthcheck" in service for service in services.values()), "no service has a healthcheck"
    for name, service in services.items():
        if "healthcheck" in service:
            assert service["healthcheck"].get("test"), f"{name}: healthcheck without a test"


def test_otel_collector_pipelines_use_defined_components_and_reach_jaeger(
    services: dict[str, dict[str, Any]],
) -> None:
    config = yaml.safe_load(OTEL_CONFIG.read_text(encoding="utf-8"))
    for pipeline, spec in config["service"]["pipelines"].items():
        for kind in ("receivers", "processors", "exporters"):
            for component in spec.get(kind, []):
                assert component in config[kind], f"pipeline {pipeline}: {kind[:-1]} {component!r} is not defined"
    assert "otlp" in config["service"]["pipelines"]["traces"]["receivers"]
    jaeger_host, _, jaeger_port = config["exporters"]["otlp/jaeger"]["endpoint"].partition(":")
    assert jaeger_host in services and jaeger_port == "4317"
    grpc_port = config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rpartition(":")[2]
    collector_ports = {str(p).split(":")[-1].split()[0] for p in services["otel-collector"]["ports"]}
    assert grpc_port in collector_ports
    mounted = [v for v in services["otel-collector"]["volumes"] if str(v).startswith("./deploy/otel-collector.yaml:")]
    assert mounted, "the collector must mount deploy/otel-collector.yaml"


def _host_ports(service: dict[str, Any]) -> set[int]:
    """The host side of a service's published ports ("HOST:CONTAINER", "IP:HOST:CONTAINER" or a mapping)."""
    ports = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry.get("published", entry["target"])))
        else:
            parts = str(entry).split("/")[0].split(":")
            ports.add(int(parts[-2] if len(parts) > 1 else parts[-1]))
    return ports


def test_no_published_port_is_one_a_worker_on_the_host_binds_by_default(services: dict[str, dict[str, Any]]) -> None:
    """README: start the stack, then point workers on the host at it; they bind PROCGOV_HEALTH_PORT
    (9600, also Camunda's management port), so the stack must leave that port free on the host."""
    taken = {port: name for name, service in services.items() for port in _host_ports(service)}
    assert default_health_port() not in taken, f"{taken[default_health_port()]} publishes the workers' health port"
    assert taken[26500] == GATEWAY_SERVICE  # what the workers' default gateway address reaches


def test_workers_authenticate_with_a_user_camunda_creates(services: dict[str, dict[str, Any]]) -> None:
    camunda = env_mapping(services[GATEWAY_SERVICE]["environment"])
    assert camunda["CAMUNDA_SECURITY_AUTHENTICATION_METHOD"] == "basic"
    assert camunda["CAMUNDA_SECURITY_AUTHENTICATION_UNPROTECTEDAPI"] == "false"  # as a default install has it
    users = {
        camunda[f"CAMUNDA_SECURITY_INITIALIZATION_USERS_{i}_USERNAME"]: camunda[
            f"CAMUNDA_SECURITY_INITIALIZATION_USERS_{i}_PASSWORD"
        ]
        for i in range(10)
        if f"CAMUNDA_SECURITY_INITIALIZATION_USERS_{i}_USERNAME" in camunda
    }
    for name in ["deploy", *(f"workers-{group}" for group in worker_groups())]:
        env = env_mapping(services[name]["environment"])
        assert env["PROCGOV_TRANSPORT"] == "basic", name
        assert users.get(env["PROCGOV_BASIC__USERNAME"]) == env["PROCGOV_BASIC__PASSWORD"], name


def test_camunda_runs_the_elasticsearch_exporter_audit_reads(services: dict[str, dict[str, Any]]) -> None:
    from workers.audit.sources import DEFAULT_INDEX_PATTERN

    env = env_mapping(services[GATEWAY_SERVICE]["environment"])
    assert env["ZEEBE_BROKER_EXPORTERS_ELASTICSEARCH_CLASSNAME"] == "io.camunda.zeebe.exporter.ElasticsearchExporter"
    assert urlsplit(env["ZEEBE_BROKER_EXPORTERS_ELASTICSEARCH_ARGS_URL"]).hostname == "elasticsearch"
    prefix = env.get("ZEEBE_BROKER_EXPORTERS_ELASTICSEARCH_ARGS_INDEX_PREFIX", "zeebe-record")  # the exporter's default
    assert prefix + "*" == DEFAULT_INDEX_PATTERN
    for group in worker_groups():
        audit_url = env_mapping(services[f"workers-{group}"]["environment"])["PROCGOV_AUDIT_ES_URL"]
        assert urlsplit(audit_url).hostname == "elasticsearch"
