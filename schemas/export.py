"""Writes the JSON Schema of every message model to schemas/json/ for producers in other languages.

Run: python -m schemas.export   (a test fails when the committed files are stale)
"""

from __future__ import annotations

import json
from pathlib import Path

from schemas.models import MODELS

JSON_DIR = Path(__file__).parent / "json"


def render() -> dict[str, str]:
    return {f"{name}.schema.json": json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2) + "\n"
            for name, model in MODELS.items()}


def main() -> None:
    JSON_DIR.mkdir(exist_ok=True)
    for filename, text in render().items():
        (JSON_DIR / filename).write_text(text, encoding="utf-8")
        print(f"wrote schemas/json/{filename}")


if __name__ == "__main__":
    main()
