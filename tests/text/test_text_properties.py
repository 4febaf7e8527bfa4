"""Property tests (hypothesis): round trips hold and no input string crashes the pipeline."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rnnlab.text import CharTokenizer, Vocabulary, WordTokenizer, build_vocab, simple_tokenize

TOKENIZERS = [
    WordTokenizer(),
    WordTokenizer(lowercase=False, punctuation="", keep_markers=False),
    WordTokenizer(punctuation=".,<>-"),
    CharTokenizer(),
    CharTokenizer(lowercase=True),
]
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(st.text(), st.sampled_from(TOKENIZERS))
def test_no_string_crashes_tokenizers_or_encoder(text, tokenizer):
    tokens = tokenizer(text)
    assert all(isinstance(t, str) and t for t in tokens)
    vocab = build_vocab(["a b c", text], tokenizer=tokenizer, eos=True)
    ids = vocab.encode(text, add_eos=True)
    assert len(ids) == len(tokens) + 1 and all(0 <= i < len(vocab) for i in ids)
    batch, lengths = vocab.encode_batch([text, "a"], allow_empty=True)
    assert batch.shape[0] == 2 and lengths.tolist()[0] == len(tokens)
    if not tokens:
        with pytest.raises(ValueError, match=r"texts at index 0 have no tokens"):
            vocab.encode_batch([text, "a"])
    known = {"<PAD>": 0, "x": 2}  # everything else is unknown -> 1
    assert Vocabulary(["x"], tokenizer=tokenizer).encode(text) == [known.get(t, 1) for t in tokens]


@FAST
@given(st.text())
def test_word_tokens_have_no_whitespace_and_retokenizing_changes_nothing(text):
    tokens = simple_tokenize(text)
    assert not any(c.isspace() for t in tokens for c in t)
    assert simple_tokenize(" ".join(tokens)) == tokens
    joined = WordTokenizer().join(WordTokenizer()(text))
    assert WordTokenizer()(joined) == WordTokenizer()(text)


WORD = st.text(st.characters(blacklist_categories=("Zs", "Cc", "Zl", "Zp")), min_size=1)


@FAST
@given(st.lists(st.lists(WORD, max_size=6), min_size=1, max_size=5))
def test_encode_decode_round_trip_for_in_vocabulary_tokens(sentences):
    vocab = build_vocab(sentences)
    for tokens in sentences:
        assume(all(t in vocab for t in tokens))  # only "<BOS>"/"<EOS>" spellings are not
        assert vocab.decode(vocab.encode(tokens)) == tokens


@FAST
@given(st.lists(st.text(), min_size=1, max_size=5), st.sampled_from(TOKENIZERS))
def test_encode_decode_round_trip_for_in_vocabulary_text(texts, tokenizer):
    vocab = build_vocab(texts, tokenizer=tokenizer)
    for text in texts:
        tokens = tokenizer(text)
        assume(all(t in vocab for t in tokens))  # only "<BOS>"/"<EOS>" spellings are not
        assert vocab.decode(vocab.encode(text)) == tokens
        assert vocab.decode(vocab.encode(text), join=True) == tokenizer.join(tokens)


@FAST
@given(st.lists(st.text(), max_size=5), st.booleans(), st.booleans())
def test_save_load_round_trip_any_content(tmp_path_factory, texts, bos, eos):
    vocab = build_vocab(texts, bos=bos, eos=eos)
    path = tmp_path_factory.mktemp("vocab") / "v.json"
    vocab.save(path)
    assert Vocabulary.load(path) == vocab
