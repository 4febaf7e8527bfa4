"""Token stream -> columns -> BPTT windows (word and character level)."""

from __future__ import annotations

import pytest
import torch

from rnnlab.text.lm_batching import LMBatches, batchify, char_stream, encode_stream
from rnnlab.text.vocab import Vocabulary


def test_batchify_matches_the_docstring_picture():
    stream = torch.arange(26)  # a .. z
    data = batchify(stream, 4)  # (6, 4)
    assert data.shape == (6, 4)
    assert data[:, 0].tolist() == [0, 1, 2, 3, 4, 5]  # a b c d e f
    assert data[0].tolist() == [0, 6, 12, 18]  # a g m s
    assert data[-1].tolist() == [5, 11, 17, 23]  # f l r x; y z dropped


def test_windows_cover_the_columns_and_targets_are_shifted_by_one():
    stream = torch.arange(103)
    batches = LMBatches(stream, batch_size=5, bptt=6)
    data = batchify(stream, 5)
    windows = list(batches)
    assert len(windows) == len(batches) == 4  # 20 rows -> 19 predictions -> 6 + 6 + 6 + 1
    assert [w.inputs.shape[0] for w in windows] == [6, 6, 6, 1]
    torch.testing.assert_close(torch.cat([w.inputs for w in windows]), data[:-1])
    torch.testing.assert_close(torch.cat([w.targets for w in windows]), data[1:])
    assert batches.num_tokens == sum(w.num_tokens for w in windows) == 19 * 5
    assert batches.batch_size == 5


def test_random_bptt_lengths_cover_the_stream_and_repeat_with_a_seed():
    stream = torch.arange(5000)

    def lengths(seed):
        g = torch.Generator().manual_seed(seed)
        b = LMBatches(stream, 4, 30, random_bptt=True, generator=g, min_bptt=5)
        return [w.inputs.shape[0] for w in b]

    a, b, c = lengths(1), lengths(1), lengths(2)
    assert a == b and a != c
    assert sum(a) == 5000 // 4 - 1
    assert all(n >= 5 for n in a[:-1]) and len(set(a)) > 3


def test_bad_streams_are_rejected_with_clear_messages():
    with pytest.raises(ValueError, match="too short"):
        batchify(torch.arange(3), 4)
    with pytest.raises(ValueError, match="1-d"):
        batchify(torch.zeros(2, 3, dtype=torch.long), 1)
    with pytest.raises(ValueError, match="empty token stream"):
        encode_stream([], Vocabulary(["a"]))


def test_word_and_character_streams_encode_with_the_vocabulary():
    vocab = Vocabulary(["the", "cat", "<eos>"])
    ids = encode_stream("the cat <eos> the dog".split(), vocab)
    assert ids.tolist() == [2, 3, 4, 2, 1]  # dog -> <UNK>
    chars = char_stream("ab\nc")
    assert chars == ["a", "b", "\n", "c"]
    cvocab = Vocabulary(chars)
    assert encode_stream(chars, cvocab).tolist() == [2, 3, 4, 5]
