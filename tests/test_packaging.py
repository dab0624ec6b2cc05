"""citydesk as it is installed, not as it runs from the checkout: the compose image does `pip install .`.

Proves: the wheel built from this checkout carries the Kibana saved objects and the example articles as package
data; installed into a fresh virtual environment outside the checkout, its code finds both inside its own
site-packages (importlib.resources), and that install's `citydesk setup` — the command compose's one-shot runs —
creates the topics on a real Apache Kafka and the template, index and alias on the real Elasticsearch node.
Does not prove: that the dependencies install (the fresh environment reaches the checkout environment's
dependencies through one .pth line and the wheel is installed with --no-deps), the Docker image build, or the
Kibana import itself (no Kibana here: the import request is built from the installed file and compared).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

from services.kibana import SAVED_OBJECTS
from tests.conftest import EXAMPLES, ROOT, free_port, require_engine

CHECK = """
import json, services
from services.kibana import import_request, saved_objects
from services.pipeline import examples_dir
_, _, fields = import_request("http://kibana.invalid:5601")
print(json.dumps({"services": services.__file__, "saved_objects": len(saved_objects()),
                  "ndjson": fields["file"][1].decode(), "examples": sorted(p.name for p in examples_dir().iterdir()),
                  "examples_dir": str(examples_dir())}))
"""


def test_the_installed_wheel_finds_its_data_and_runs_setup_against_the_real_engines(tmp_path, es_node, es):
    from services.engines import KafkaServer

    require_engine("kafka")
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                            "-w", str(wheels), str(ROOT)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("citydesk-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # dependencies only: a plain path line, so the checkout's editable citydesk (a .pth hook there) is NOT loaded
    (tmp_path / "venv" / purelib.split(str(venv) + "/", 1)[1] / "citydesk-deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYDESK_", "PYTHON"))}
    seen = json.loads(subprocess.run([str(python), "-c", CHECK], capture_output=True, text=True, check=True,
                                     cwd=tmp_path, env=env).stdout)
    assert seen["services"].startswith(purelib) and seen["examples_dir"].startswith(purelib), seen
    assert seen["ndjson"] == SAVED_OBJECTS.read_text(encoding="utf-8") and seen["saved_objects"] >= 6
    assert seen["examples"] == sorted(p.name for p in EXAMPLES.iterdir())

    kafka = KafkaServer(tmp_path / "kafka", free_port())
    kafka.start()
    try:
        env.update({"CITYDESK_BOOTSTRAP_SERVERS": kafka.bootstrap, "CITYDESK_STORE": "elasticsearch",
                    "CITYDESK_ELASTICSEARCH_URL": es_node.url, "CITYDESK_ELASTICSEARCH_INDEX": "packaged",
                    "CITYDESK_ELASTICSEARCH_ANALYZER": "standard", "CITYDESK_DATA_DIR": str(tmp_path / "data")})
        setup = subprocess.run([str(venv / "bin" / "citydesk"), "setup", "--timeout", "60"], capture_output=True,
                               text=True, timeout=300, cwd=tmp_path, env=env)
        assert setup.returncode == 0, setup.stdout + setup.stderr
        assert "alias 'packaged' → packaged-v1" in setup.stdout, setup.stdout
        from kafka.admin import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
        try:
            assert {"articles.raw", "articles.clean", "articles.tagged", "articles.dlq"} <= set(admin.list_topics())
        finally:
            admin.close()
    finally:
        kafka.stop()
    assert list(es.indices.get_alias(name="packaged")) == ["packaged-v1"]
