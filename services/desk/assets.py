"""The front-end libraries the desk serves, vendored from npm at install time (never fetched at run time).

``services/desk/frontend/package.json`` and its ``package-lock.json`` pin them; scripts/bootstrap runs ``npm ci``
there and then ``python -m services.desk.assets``, which copies the files below into ``static/vendor/`` (package
data, so an installed wheel serves them too; git-ignored, since they are built). The server checks at start and
says which are missing and how to get them.

- Leaflet: the map (pan, zoom, circle markers, lines) over a GeoJSON outline, no tile server needed.
- topojson-client: turns the world-atlas TopoJSON into GeoJSON in the browser.
- world-atlas: Natural Earth's countries at 1:50m (public domain), the base map.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FRONTEND = HERE / "frontend"
VENDOR_DIR = HERE / "static" / "vendor"
# served name → path under node_modules
FILES = {
    "leaflet.js": "leaflet/dist/leaflet.js",
    "leaflet.css": "leaflet/dist/leaflet.css",
    "images/layers.png": "leaflet/dist/images/layers.png",
    "images/layers-2x.png": "leaflet/dist/images/layers-2x.png",
    "images/marker-icon.png": "leaflet/dist/images/marker-icon.png",
    "images/marker-icon-2x.png": "leaflet/dist/images/marker-icon-2x.png",
    "images/marker-shadow.png": "leaflet/dist/images/marker-shadow.png",
    "LICENSE.leaflet.txt": "leaflet/LICENSE",
    "topojson-client.min.js": "topojson-client/dist/topojson-client.min.js",
    "LICENSE.topojson-client.txt": "topojson-client/LICENSE",
    "countries-50m.json": "world-atlas/countries-50m.json",
    "LICENSE.world-atlas.txt": "world-atlas/LICENSE",
}
REQUIRED = ("leaflet.js", "leaflet.css", "topojson-client.min.js", "countries-50m.json")


def missing(vendor_dir: Path = VENDOR_DIR) -> list[str]:
    return [name for name in REQUIRED if not (vendor_dir / name).is_file()]


def vendor(node_modules: Path = FRONTEND / "node_modules", vendor_dir: Path = VENDOR_DIR) -> list[str]:
    """Copy the files into vendor_dir; returns those copied. Raises FileNotFoundError naming what npm lacks."""
    absent = [src for src in FILES.values() if not (node_modules / src).is_file()]
    if absent:
        raise FileNotFoundError(f"not in {node_modules}: {', '.join(absent)} (run: npm ci --prefix {FRONTEND})")
    copied = []
    for name, src in FILES.items():
        dest = vendor_dir / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = node_modules / src
        if not dest.is_file() or dest.read_bytes() != source.read_bytes():
            shutil.copyfile(source, dest)
            copied.append(name)
    return copied


def main() -> int:
    try:
        copied = vendor()
    except FileNotFoundError as exc:
        print(f"desk assets: {exc}", file=sys.stderr)
        return 1
    print(f"desk assets: {len(FILES)} files in {VENDOR_DIR} ({len(copied)} updated)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
