"""Dataset names -> files: data directory choice, pinned table, download, offline errors.

No test touches the network: downloads are served from the shared copy through a
patched ``urlopen`` that only answers the canonical URLs.
"""

from __future__ import annotations

import csv
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rnnlab.text import datasets
from rnnlab.text.datasets import DATASETS, DatasetNotFoundError, data_root, resolve_dataset
from rnnlab.text.download import ChecksumError, download_file, verify_dataset


def test_data_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("RNNLAB_DATA", str(tmp_path / "env"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("RNNLAB_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" / ".cache" / "rnnlab"


def test_embedded_table_equals_shared_manifest(shared_data):
    with open(shared_data / "MANIFEST.tsv", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    embedded = {(f.folder, f.name): f for d in DATASETS.values() for f in d.files.values()}
    assert len(rows) == len(embedded) == 18
    for row in rows:
        f = embedded[(row["dataset"], row["file"])]
        assert (f.size, f.sha256) == (int(row["bytes"]), row["sha256"])
        assert f.url == (
            "https://raw.githubusercontent.com/"
            f"{row['source_repo']}/{row['source_commit']}/{row['source_path']}"
        )
        assert (shared_data / f.folder / f.name).stat().st_size == f.size


def test_resolve_shared_copy_needs_no_download(shared_data, monkeypatch):
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    paths = resolve_dataset("multi30k", shared_data, download=True)
    assert sorted(paths) == ["test.de", "test.en", "train.de", "train.en", "val.de", "val.en"]
    assert paths["test.en"] == shared_data / "translation" / "test_2016_flickr.en.gz"
    assert resolve_dataset("ptb", shared_data)["valid"] == shared_data / "ptb" / "ptb.valid.txt"


def _no_network(url, timeout=None):
    raise urllib.error.URLError("network is unreachable (test)")


def test_offline_error_lists_each_file_and_where(monkeypatch, tmp_path):
    monkeypatch.setattr(urllib.request, "urlopen", _no_network)
    with pytest.raises(DatasetNotFoundError) as info:
        resolve_dataset("sst2", tmp_path)
    message = str(info.value)
    assert "dataset 'sst2': 3 file(s) missing" in message and "network is unreachable" in message
    for name, source in [("train.tsv", "train_full.tsv"), ("dev.tsv", "dev.tsv")]:
        assert f"{tmp_path / 'sst2' / name}  <-  https://raw.githubusercontent.com/" in message
        assert f"glue_data/SST-2/{source}" in message
    assert not any(p.is_file() for p in tmp_path.rglob("*"))  # no partial files
    with pytest.raises(DatasetNotFoundError, match="downloading is switched off"):
        resolve_dataset("ptb", tmp_path, download=False)


def _serve_from(shared: Path):
    """A fake urlopen that answers only the canonical URLs, with the shared copy's bytes."""
    real = urllib.request.urlopen
    by_url = {
        f.url: shared / f.folder / f.name for d in DATASETS.values() for f in d.files.values()
    }
    requested = []

    def urlopen(url, timeout=None):
        requested.append(url)
        return real(by_url[url].as_uri(), timeout=timeout)

    return urlopen, requested


def test_download_fetches_canonical_urls_and_verifies(shared_data, monkeypatch, tmp_path):
    urlopen, requested = _serve_from(shared_data)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    files = DATASETS["multi30k"].files
    paths = resolve_dataset("multi30k", tmp_path)
    assert requested == [f.url for f in files.values()]
    for key, path in paths.items():
        assert path == tmp_path / "translation" / files[key].name
        assert path.read_bytes() == (shared_data / "translation" / path.name).read_bytes()
    assert {s.status for s in verify_dataset("multi30k", tmp_path)} == {"ok"}
    assert len(list((tmp_path / "translation").iterdir())) == 6  # no temporary files left
    resolve_dataset("multi30k", tmp_path)
    assert len(requested) == 6  # present files are not fetched again


def test_checksum_mismatch_leaves_nothing(shared_data, tmp_path):
    entry = DATASETS["multi30k"].files["val.en"]
    wrong_source = (shared_data / "translation" / "val.de.gz").as_uri()
    dest = tmp_path / "translation" / "val.en.gz"
    with pytest.raises(ChecksumError, match=f"expected SHA-256 {entry.sha256}, got "):
        download_file(entry, dest, url=wrong_source)
    assert list(dest.parent.iterdir()) == []
    assert (
        download_file(entry, dest, url=(shared_data / "translation" / "val.en.gz").as_uri()) == dest
    )


def test_verify_reports_missing_wrong_size_and_wrong_hash(shared_data, tmp_path):
    folder = tmp_path / "ptb"
    folder.mkdir()
    (folder / "ptb.train.txt").write_text("too short")
    valid = (shared_data / "ptb" / "ptb.valid.txt").read_bytes()
    (folder / "ptb.valid.txt").write_bytes(valid[:-1] + b"!")  # same size, different bytes
    status = {s.key: s.status for s in verify_dataset("ptb", tmp_path)}
    assert status == {"train": "wrong size", "valid": "wrong sha256", "test": "missing"}
    with pytest.raises(ValueError, match=r"ptb.train.txt: expected 5101618 bytes, found 9"):
        resolve_dataset("ptb", tmp_path, download=False)


def test_unknown_names_and_splits():
    with pytest.raises(ValueError, match=r"unknown dataset 'imdb'; expected one of \['multi30k'"):
        resolve_dataset("imdb")
    with pytest.raises(ValueError, match="lm_splits reads 'ptb' or 'wikitext2', got 'sst2'"):
        datasets.lm_splits("sst2")


def test_unknown_split_is_an_error(shared_data):
    with pytest.raises(
        ValueError, match=r"dataset 'sst2' has splits \['train', 'dev', 'test'\], got \['valid'\]"
    ):
        datasets.load_sst2(shared_data, splits=["valid"])
