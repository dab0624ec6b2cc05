"""The desk as installed from a wheel, not as it runs from the checkout.

Proves: the wheel built from this checkout carries the desk's templates, its own static files and the vendored
front-end libraries (Leaflet, topojson-client, the world outline) and none of npm's node_modules; installed into
a fresh virtual environment outside the checkout, its `citydesk serve` starts, answers the search and map pages,
and serves the vendored files byte for byte from its own site-packages.
Does not prove: that the dependencies install (the fresh environment reaches the checkout environment's through
one .pth line and the wheel is installed with --no-deps), nor anything a browser does (test_desk_browser.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile

from tests.conftest import ROOT, free_port, require

VENDORED = ("leaflet.js", "leaflet.css", "topojson-client.min.js", "countries-50m.json")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.status, resp.read()


def test_the_installed_wheel_serves_the_desk_and_its_vendored_assets(tmp_path):
    from services.desk.assets import VENDOR_DIR, missing

    require(not missing(), f"the desk's vendored assets are missing ({', '.join(missing())}): run scripts/bootstrap")
    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("citydesk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in VENDORED:
        assert f"services/desk/static/vendor/{name}" in names
    assert {"services/desk/templates/search.html", "services/desk/static/desk.js", "services/desk/static/map.js",
            "services/desk/static/desk.css"} <= names
    assert not any("node_modules" in n or "/frontend/" in n for n in names), "npm's working files stay out"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # dependencies only: a plain path line, so the checkout's editable citydesk (a .pth hook there) is NOT loaded
    (venv / purelib.split(str(venv) + "/", 1)[1] / "citydesk-deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    installed = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]

    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITYDESK_", "PYTHON"))}
    env.update({"CITYDESK_DATA_DIR": str(data), "CITYDESK_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"})
    proc = subprocess.Popen([str(venv / "bin" / "citydesk"), "serve", "--port", "0"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not (data / "desk.json").exists():
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the installed desk did not write desk.json within 90 s"
            time.sleep(0.2)
        url = json.loads((data / "desk.json").read_text())["url"]
        where = subprocess.run([str(python), "-c", "import services.desk; print(services.desk.__file__)"],
                               capture_output=True, text=True, check=True, cwd=tmp_path, env=env).stdout
        assert where.startswith(purelib), where
        for path in ("/", "/map", "/ops", "/stories"):
            status, body = _get(url + path)
            assert status == 200 and "citydesk" in body.decode()
        for name in VENDORED:
            status, body = _get(f"{url}/static/vendor/{name}")
            assert status == 200 and body == (VENDOR_DIR / name).read_bytes(), name
    finally:
        proc.terminate()
        proc.wait(30)
