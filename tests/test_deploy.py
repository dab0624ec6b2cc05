"""deploy/docker-compose.yml as Debian's docker-compose reads it (`docker-compose config`), and the properties
the production shape relies on: healthchecks and startup order, one scalable image, KRaft, nori, versions pinned to
the Elasticsearch and Kafka the suite runs here, nothing without authentication published beyond 127.0.0.1, the
workers' health endpoints on loopback. Proves the file is valid and wired as intended; does not start any
container (no Docker engine here)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT, require

COMPOSE = ROOT / "deploy" / "docker-compose.yml"
SCALED = ("cleaner", "tagger", "indexer")


@pytest.fixture(scope="module")
def config() -> dict:
    exe = shutil.which("docker-compose")
    require(exe, "docker-compose not installed (scripts/bootstrap installs Debian's package when run as root)")
    out = subprocess.run([exe, "-f", str(COMPOSE), "config"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_servers_have_healthchecks_and_services_wait_for_them(config):
    services = config["services"]
    for name in ("kafka", "elasticsearch", "kibana"):
        assert services[name]["healthcheck"]["test"]
    assert {k: v["condition"] for k, v in services["setup"]["depends_on"].items()} == {
        "kafka": "service_healthy", "elasticsearch": "service_healthy", "kibana": "service_healthy"}
    for name in SCALED:
        assert services[name]["depends_on"] == {"setup": {"condition": "service_completed_successfully"}}
        assert "/health" in " ".join(services[name]["healthcheck"]["test"])  # the worker's own endpoint


def test_the_three_services_share_one_image_and_can_scale(config):
    services = config["services"]
    assert {services[n]["image"] for n in (*SCALED, "setup")} == {"citydesk:latest"}
    assert [services[n]["command"] for n in SCALED] == [["worker", n] for n in SCALED]
    for name in SCALED:  # a fixed host port or container name would stop `--scale tagger=3`
        assert "ports" not in services[name] and "container_name" not in services[name]
        env = services[name]["environment"]
        assert env["CITYDESK_PARTITIONS"] == "6" and env["CITYDESK_STORE"] == "elasticsearch"
    assert services["setup"]["environment"]["CITYDESK_KIBANA_URL"] == "http://kibana:5601"


def test_kafka_runs_kraft_and_creates_no_topics_by_itself(config):
    env = config["services"]["kafka"]["environment"]
    assert config["services"]["kafka"]["image"].startswith("apache/kafka:")
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"  # citydesk setup creates them with their partitions


def test_elasticsearch_has_nori_and_all_majors_match_the_client(config):
    from elasticsearch import __versionstr__ as client_version

    dockerfile = (ROOT / "deploy" / "elasticsearch" / "Dockerfile").read_text()
    assert "analysis-nori" in dockerfile
    es_version = config["services"]["elasticsearch"]["build"]["args"]["ES_VERSION"]
    kibana_version = config["services"]["kibana"]["image"].rsplit(":", 1)[1]
    assert es_version.split(".")[0] == kibana_version.split(".")[0] == client_version.split(".")[0]


def _published(port) -> tuple[str, str]:
    """(host ip, host port) of a ports entry, short ("127.0.0.1:9200:9200") or long syntax."""
    if isinstance(port, dict):
        return str(port.get("host_ip", "")), str(port.get("published", ""))
    parts = str(port).split(":")
    return (parts[0], parts[1]) if len(parts) == 3 else ("", parts[0])


def test_nothing_is_published_beyond_loopback_and_health_stays_inside(config):
    services = config["services"]
    published = {name: [_published(p) for p in svc.get("ports", [])] for name, svc in services.items()}
    assert published["elasticsearch"] == [("127.0.0.1", "9200")] and published["kibana"] == [("127.0.0.1", "5601")]
    assert all(ip == "127.0.0.1" for ports in published.values() for ip, _ in ports), published
    for name in (*SCALED, "setup"):
        assert services[name]["environment"]["CITYDESK_HEALTH_HOST"] == "127.0.0.1"


def test_versions_are_the_ones_the_suite_ran(config):
    from services.engines import pinned_versions

    pins = pinned_versions()
    assert config["services"]["elasticsearch"]["build"]["args"]["ES_VERSION"] == pins["elasticsearch"]
    assert config["services"]["kafka"]["image"] == f"apache/kafka:{pins['kafka']}"
