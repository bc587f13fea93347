"""deploy/ cannot be started here (no Docker engine); at least it must parse and be complete."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = {"intake", "routing", "handling", "followup", "kpi"}


def test_compose_has_kafka_kraft_postgres_and_the_five_services() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"kafka-1", "kafka-2", "kafka-3", "postgres", "migrate"} | SERVICES <= set(services)
    assert services["kafka-1"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_kubernetes_manifests_give_every_service_probes_resources_and_an_autoscaler() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "platform.yaml").read_text()) if d]
    kinds: dict[str, set[str]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
    assert SERVICES <= kinds["Deployment"] and SERVICES <= kinds["Service"]
    assert SERVICES <= kinds["HorizontalPodAutoscaler"]
    for doc in docs:
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["resources"]["requests"]


def test_kubernetes_manifests_validate_strictly_against_kubernetes_1_37() -> None:
    """Every resource against the 1.37 API schemas, unknown fields refused (as
    `kubernetes-validate --strict -k 1.37.0 deploy/k8s/platform.yaml`)."""
    docs = [d for d in yaml.safe_load_all((DEPLOY / "k8s" / "platform.yaml").read_text()) if d]
    assert len(docs) >= 15
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_the_strict_check_refuses_a_misspelt_field() -> None:
    deployment = next(
        d
        for d in yaml.safe_load_all((DEPLOY / "k8s" / "platform.yaml").read_text())
        if d and d["kind"] == "Deployment"
    )
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.37.0", strict=True)
