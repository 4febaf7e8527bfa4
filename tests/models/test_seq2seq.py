"""Seq2Seq: the step-by-step decoder equals the one-call teacher-forced forward for every
variant, attention kind, cell and direction (with padding on both sides); attention puts no
weight on padding; source reversal and tied embeddings do what they say."""

from __future__ import annotations

import pytest
import torch

from rnnlab.models.seq2seq import Seq2Seq, Seq2SeqConfig
from rnnlab.nn.attention import Attention, masked_softmax
from rnnlab.text.padding import pad_ids

V_SRC, V_TGT = 11, 13

KINDS = [("basic", "general"), ("peeky", "general"), ("attention", "bahdanau"),
         ("attention", "dot"), ("attention", "general")]  # fmt: skip


def tiny(**changes) -> Seq2Seq:
    cfg = Seq2SeqConfig(src_vocab_size=V_SRC, tgt_vocab_size=V_TGT, embed_dim=6, hidden_size=5,
                        dropout=0.0, backend="scratch").replace(**changes)  # fmt: skip
    return Seq2Seq(cfg).eval()


def batch(seed: int = 0):
    """Sources of lengths 5, 2, 4 and targets of lengths 3, 6, 1 (+ <BOS>), padded with 0."""
    g = torch.Generator().manual_seed(seed)
    src = [torch.randint(2, V_SRC, (n,), generator=g).tolist() for n in (5, 2, 4)]
    tgt = [torch.randint(4, V_TGT, (n,), generator=g).tolist() for n in (3, 6, 1)]
    src, src_lengths = pad_ids(src)  # (B, Ts), (B,)
    tgt_in, tgt_lengths = pad_ids([[2] + t for t in tgt])  # (B, Tt), (B,)
    return src, src_lengths, tgt_in, tgt_lengths


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("variant,attention", KINDS)
def test_decode_step_equals_the_teacher_forced_forward(variant, attention, cell, bidirectional):
    torch.manual_seed(1)
    model = tiny(variant=variant, attention=attention, encoder_cell=cell, decoder_cell=cell,
                 bidirectional=bidirectional)  # fmt: skip
    src, src_lengths, tgt_in, tgt_lengths = batch()
    with torch.no_grad():
        logits, weights = model(src, src_lengths, tgt_in, tgt_lengths)  # (B, Tt, V)
        memory = model.encode(src, src_lengths)
        state = model.initial_decoder_state(memory)
        for t in range(tgt_in.shape[1]):
            step, state, w = model.decode_step(tgt_in[:, t], state, memory)  # (B, V)
            real = tgt_lengths > t  # (B,) rows whose target is still running at t
            torch.testing.assert_close(step[real], logits[real, t], atol=1e-5, rtol=1e-5)
            if weights is not None:
                torch.testing.assert_close(w[real], weights[real, t], atol=1e-6, rtol=1e-5)
    assert (weights is None) == (variant != "attention")
    if weights is not None:
        for b, n in enumerate(src_lengths.tolist()):
            assert torch.all(weights[b, :, n:] == 0.0), "attention on padded source positions"
            torch.testing.assert_close(weights[b].sum(-1), torch.ones(weights.shape[1]))


@pytest.mark.parametrize(
    "encoder_cell,decoder_cell,layers", [("gru", "lstm", 2), ("lstm", "gru", 1)]
)
def test_bridge_between_other_cells_and_depths_also_steps_like_the_forward(
    encoder_cell, decoder_cell, layers
):
    model = tiny(encoder_cell=encoder_cell, decoder_cell=decoder_cell, encoder_layers=layers,
                 decoder_layers=layers, decoder_hidden_size=7, attention="bahdanau")  # fmt: skip
    assert model.bridge is not None
    src, src_lengths, tgt_in, tgt_lengths = batch(3)
    with torch.no_grad():
        logits, _ = model(src, src_lengths, tgt_in, tgt_lengths)
        memory = model.encode(src, src_lengths)
        state = model.initial_decoder_state(memory)
        for t in range(tgt_in.shape[1]):
            step, state, _ = model.decode_step(tgt_in[:, t], state, memory)
            real = tgt_lengths > t
            torch.testing.assert_close(step[real], logits[real, t], atol=1e-5, rtol=1e-5)


def test_masked_softmax_gives_padding_exactly_zero_and_rows_sum_to_one():
    scores = torch.randn(2, 3, 4) * 30  # (B, Tq, Ts), large scores: no underflow excuse
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    weights = masked_softmax(scores, mask)
    assert torch.all(weights[0, :, 2:] == 0.0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3))
    att = Attention("bahdanau", 5, 6)
    context, w = att(torch.randn(2, 3, 5), torch.randn(2, 4, 6), mask)
    assert context.shape == (2, 3, 6) and torch.all(w[0, :, 2:] == 0.0)


def test_reverse_source_equals_sources_reversed_by_hand():
    torch.manual_seed(2)
    reversing = tiny(reverse_source=True)
    plain = tiny(reverse_source=False)
    plain.load_state_dict(reversing.state_dict())
    src, src_lengths, tgt_in, tgt_lengths = batch(4)
    by_hand = src.clone()
    for b, n in enumerate(src_lengths.tolist()):  # reversed within each length, padding kept
        by_hand[b, :n] = src[b, :n].flip(0)
    assert not torch.equal(by_hand, src)
    with torch.no_grad():
        a, wa = reversing(src, src_lengths, tgt_in, tgt_lengths)
        b, wb = plain(by_hand, src_lengths, tgt_in, tgt_lengths)
        c, _ = plain(src, src_lengths, tgt_in, tgt_lengths)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(wa, wb)
    assert not torch.allclose(a, c), "reversal changed nothing"


@pytest.mark.parametrize("variant", ["basic", "peeky", "attention"])
def test_tie_embeddings_shares_one_weight(variant):
    model = tiny(variant=variant, tie_embeddings=True)
    assert model.out.weight is model.embedding.weight
    src, src_lengths, tgt_in, tgt_lengths = batch()
    model.train()
    logits, _ = model(src, src_lengths, tgt_in, tgt_lengths)
    logits.sum().backward()
    with torch.no_grad():
        model.embedding.weight.add_(1.0)
    assert torch.equal(model.out.weight, model.embedding.weight)
    assert sum(p is model.embedding.weight for p in model.parameters()) == 1
    untied = tiny(variant=variant)
    assert untied.out.weight is not untied.embedding.weight


def test_step_loss_counts_real_target_tokens_and_ppl_is_the_plain_nll():
    from rnnlab.models.seq2seq import TranslateBatch

    model = tiny(label_smoothing=0.1)
    src, src_lengths, tgt_in, tgt_lengths = batch()
    tgt_out = torch.zeros_like(tgt_in)
    for b, n in enumerate(tgt_lengths.tolist()):
        tgt_out[b, : n - 1] = tgt_in[b, 1:n]
        tgt_out[b, n - 1] = 3  # <EOS>
    with torch.no_grad():
        out = model.step(TranslateBatch(src, src_lengths, tgt_in, tgt_out, tgt_lengths))
    assert out.count == float(tgt_lengths.sum())
    with torch.no_grad():
        logits, _ = model(src, src_lengths, tgt_in, tgt_lengths)
    real = tgt_out != 0
    nll = torch.nn.functional.cross_entropy(logits[real], tgt_out[real], reduction="sum")
    assert out.sums["nll"] == pytest.approx(float(nll), rel=1e-5)
    assert out.loss.item() > float(nll) / out.count  # smoothing adds to the training loss


def test_teacher_forcing_zero_feeds_the_models_own_guesses_in_training_only():
    torch.manual_seed(5)
    free = tiny(teacher_forcing=0.0)
    src, src_lengths, tgt_in, tgt_lengths = batch(5)
    with torch.no_grad():
        forced, _ = free(src, src_lengths, tgt_in, tgt_lengths)  # eval: always forced
        free.train()  # dropout is 0: only the fed tokens differ
        own, _ = free(src, src_lengths, tgt_in, tgt_lengths)
        # feeding the model's own argmax by hand gives the same logits
        free.eval()
        memory = free.encode(src, src_lengths)
        state, y = free.initial_decoder_state(memory), tgt_in[:, 0]
        for t in range(tgt_in.shape[1]):
            step, state, _ = free.decode_step(y, state, memory)
            torch.testing.assert_close(step, own[:, t], atol=1e-5, rtol=1e-5)
            y = step.argmax(-1)
    assert not torch.allclose(forced[:, 1:], own[:, 1:])


def test_config_errors_name_the_field():
    with pytest.raises(ValueError, match="dot attention needs decoder_hidden_size"):
        Seq2SeqConfig(variant="attention", attention="dot", decoder_hidden_size=3)
    with pytest.raises(ValueError, match="teacher_forcing must be in"):
        Seq2SeqConfig(teacher_forcing=1.5)
    with pytest.raises(ValueError, match="tgt_vocab_size >= 4"):
        Seq2Seq(Seq2SeqConfig(src_vocab_size=5, tgt_vocab_size=3))
