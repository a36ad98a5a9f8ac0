from pathlib import Path

from symbiolink.model.docs import render_reference


def test_park_file_reference_is_generated_from_the_declarations() -> None:
    committed = (Path(__file__).parents[1] / "docs" / "park-file.md").read_text(encoding="utf-8")
    assert committed == render_reference(), (
        "regenerate: python -m symbiolink.model.docs > docs/park-file.md"
    )
