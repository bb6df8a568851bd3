"""The cache directory and the one way cache files are written (``dialogqa/paths.py``)."""

import logging

from dialogqa.paths import cache_root, write_cached


def test_cache_root_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIALOGQA_CACHE", str(tmp_path))
    assert cache_root() == tmp_path


def test_a_cache_file_appears_whole_and_nothing_else_stays(tmp_path):
    target = tmp_path / "weights.bin"
    assert write_cached(target, lambda tmp: tmp.write_bytes(b"x" * 10), "weights")
    assert target.read_bytes() == b"x" * 10
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def test_a_failed_write_warns_and_leaves_no_file(tmp_path, caplog):
    target = tmp_path / "weights.bin"

    def half_written(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")

    with caplog.at_level(logging.WARNING):
        assert not write_cached(target, half_written, "weights")
    assert list(tmp_path.iterdir()) == []
    assert "cannot cache weights" in caplog.text and "disk full" in caplog.text
