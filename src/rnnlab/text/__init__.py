"""The text pipeline: tokenizers, Vocabulary, padded batches, corpus readers, datasets.

    text --tokenize--> tokens --Vocabulary.encode--> ids --pad_ids--> (B, T) + lengths (B,)

Names are imported lazily (``import rnnlab.text`` stays cheap); add new public names to
``_EXPORTS``.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "simple_tokenize": "rnnlab.text.tokenize",
    "WordTokenizer": "rnnlab.text.tokenize",
    "CharTokenizer": "rnnlab.text.tokenize",
    "tokenizer_from_dict": "rnnlab.text.tokenize",
    "Vocabulary": "rnnlab.text.vocab",
    "build_vocab": "rnnlab.text.vocab",
    "LabelVocabulary": "rnnlab.text.labels",
    "UnknownLabelError": "rnnlab.text.labels",
    "pad_ids": "rnnlab.text.padding",
    "lengths_to_mask": "rnnlab.text.padding",
    "CorpusFormatError": "rnnlab.text.corpora",
    "read_lines": "rnnlab.text.corpora",
    "read_token_lines": "rnnlab.text.corpora",
    "read_tsv": "rnnlab.text.corpora",
    "read_labeled_sentences": "rnnlab.text.corpora",
    "read_conllu": "rnnlab.text.corpora",
    "TaggedSentence": "rnnlab.text.corpora",
    "read_parallel": "rnnlab.text.corpora",
    "DATASETS": "rnnlab.text.datasets",
    "DatasetNotFoundError": "rnnlab.text.datasets",
    "data_root": "rnnlab.text.datasets",
    "resolve_dataset": "rnnlab.text.datasets",
    "get_dataset": "rnnlab.text.datasets",
    "verify_dataset": "rnnlab.text.download",
    "download_file": "rnnlab.text.download",
    "file_sha256": "rnnlab.text.download",
    "lm_splits": "rnnlab.text.datasets",
    "load_sst2": "rnnlab.text.datasets",
    "load_ud_ewt": "rnnlab.text.datasets",
    "load_multi30k": "rnnlab.text.datasets",
    "LMBatch": "rnnlab.text.lm_batching",
    "LMBatches": "rnnlab.text.lm_batching",
    "batchify": "rnnlab.text.lm_batching",
    "encode_stream": "rnnlab.text.lm_batching",
    "char_stream": "rnnlab.text.lm_batching",
    "BucketedBatches": "rnnlab.text.sentence_batching",
    "ClassifyBatch": "rnnlab.text.classification_data",
    "load_classification": "rnnlab.text.classification_data",
    "TagBatch": "rnnlab.text.tagging_data",
    "load_tagging": "rnnlab.text.tagging_data",
    "UPOS_TAGS": "rnnlab.text.tagging_data",
    "read_conllu_numbered": "rnnlab.text.corpora",
    "read_tsv_numbered": "rnnlab.text.corpora",
    "HiddenMarkovModel": "rnnlab.text.hmm",
    "default_hmm": "rnnlab.text.hmm",
    "hmm_corpus": "rnnlab.text.hmm",
    "ngram_perplexity": "rnnlab.text.hmm",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlab.text' has no attribute {name!r}")
