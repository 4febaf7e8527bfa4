"""pad_ids and lengths_to_mask: values, shapes, dtypes and errors."""

from __future__ import annotations

import pytest
import torch

from rnnlab.text.padding import lengths_to_mask, pad_ids


def test_pad_ids_docstring_picture():
    ids, lengths = pad_ids([[5, 6, 7], [8], [9, 4]])
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 4, 0]]
    assert lengths.tolist() == [3, 1, 2]


def test_pad_ids_custom_pad_tensors_and_empty_rows():
    ids, lengths = pad_ids([torch.tensor([3, 4]), [], (7,)], pad_index=9)
    assert ids.tolist() == [[3, 4], [9, 9], [7, 9]]
    assert lengths.tolist() == [2, 0, 1]
    ids, lengths = pad_ids([[], []])
    assert ids.shape == (2, 0) and lengths.tolist() == [0, 0]


def test_pad_ids_errors():
    with pytest.raises(ValueError, match="empty batch"):
        pad_ids([])
    with pytest.raises(TypeError, match="sequence 1: expected int ids, got float 2.5"):
        pad_ids([[1], [2.5]])
    with pytest.raises(TypeError, match="sequence 0: expected a sequence of ints, got str"):
        pad_ids(["abc"])
    with pytest.raises(
        TypeError, match=r"sequence 0: expected a 1-D integer tensor, got shape \(2, 2\)"
    ):
        pad_ids([torch.zeros(2, 2, dtype=torch.long)])


def test_lengths_to_mask():
    mask = lengths_to_mask(torch.tensor([3, 1, 0]))
    assert mask.tolist() == [[True, True, True], [True, False, False], [False, False, False]]
    assert lengths_to_mask(torch.tensor([1]), max_len=3).tolist() == [[True, False, False]]
    ids, lengths = pad_ids([[5, 6], [7]])
    assert torch.equal(lengths_to_mask(lengths), ids != 0)
    with pytest.raises(ValueError, match=r"expected integer lengths of shape \(B,\)"):
        lengths_to_mask(torch.tensor([[1, 2]]))
