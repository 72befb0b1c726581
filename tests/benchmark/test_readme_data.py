"""The README's data section is the one generated from the data-set registry (never edited by hand)."""
from pathlib import Path

from benchmark.data.__main__ import readme_section


def test_readme_data_section_is_generated_and_current():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme_section().strip()
    assert section in readme, "regenerate it: python -m benchmark.data readme (and paste it into README.md)"
    for name in ("cityscapes", "ucf101", "hmdb51", "kinetics", "kth", "vw300", "nvgesture", "commaai", "livi", "radar"):
        assert f"python -m benchmark.data check {name} --root PATH" in readme
