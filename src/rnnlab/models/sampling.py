"""Sampling text from a language model: temperature, top-k and nucleus (top-p) sampling.

At each step the model's next-token logits are

1. masked: ``<PAD>`` (and ``<BOS>``) are never sampled; ``<UNK>`` (and a corpus's own
   ``<unk>`` marker, as in PTB) only with ``allow_unk=True``;
2. divided by the temperature (``temperature=0`` means greedy: always the most likely);
3. cut to the ``top_k`` most likely tokens and/or the smallest set whose probability
   reaches ``top_p`` (Holtzman et al., 2020, "The curious case of neural text degeneration");
4. sampled from, the sample fed back as the next input.

The prompt is tokenized with the vocabulary's tokenizer; words the vocabulary does not
know map to ``<UNK>`` with a warning that names them.

Arguments are checked before anything runs (``check_sampling_args``): a temperature that is
NaN, infinite or negative, ``top_k`` < 1, ``top_p`` outside (0, 1] or ``max_tokens`` < 1 is
a ``ValueError`` (``top_k=0`` used to mean "off" silently; None is "off"). A model whose
weights or logits are not finite raises ``NonFiniteModelError`` naming the tensors, instead
of torch's "probability tensor contains inf/nan".
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = [
    "NonFiniteModelError",
    "banned_ids",
    "check_finite_weights",
    "check_sampling_args",
    "detokenize",
    "filter_logits",
    "generate",
]

_UNK_SPELLINGS = ("<UNK>", "<unk>")


class NonFiniteModelError(ValueError):
    """The model's weights (or its logits) hold NaN or infinity: nothing can be sampled."""


def check_sampling_args(
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    max_tokens: int = 1,
    seed: int | None = None,
) -> None:
    """Raise ``ValueError`` naming the argument unless: ``temperature`` is a finite number
    >= 0 (0 = greedy), ``top_k`` None or an integer >= 1, ``top_p`` None or in (0, 1],
    ``max_tokens`` an integer >= 1, ``seed`` None or an integer torch can seed with
    (-2**63 .. 2**64 - 1)."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise ValueError(f"temperature must be a number >= 0, got {temperature!r}")
    if not math.isfinite(temperature) or temperature < 0:
        raise ValueError(f"temperature must be finite and >= 0 (0 = greedy), got {temperature}")
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1
    ):
        raise ValueError(f"top_k must be an integer >= 1 (or None for no cut), got {top_k!r}")
    if top_p is not None and (
        isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0.0 < top_p <= 1.0
    ):
        raise ValueError(f"top_p must be in (0, 1] (or None for no cut), got {top_p!r}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, numbers.Integral):
        raise ValueError(f"max_tokens must be an integer >= 1, got {max_tokens!r}")
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or not -(2**63) <= seed < 2**64
    ):
        raise ValueError(f"seed must be an integer in [-2**63, 2**64), got {seed!r}")


def check_finite_weights(model) -> None:
    """Raise ``NonFiniteModelError`` naming the parameters that hold NaN or infinity."""
    bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise NonFiniteModelError(
            f"the model's weights are not finite (NaN or inf in {shown}): the checkpoint is "
            "corrupt or its training diverged; sample from an earlier checkpoint"
        )


def banned_ids(vocab, allow_unk: bool = False) -> list[int]:
    """Ids never sampled: ``<PAD>``, ``<BOS>``; the unknown-word tokens unless ``allow_unk``."""
    banned = [vocab.pad_index]
    if getattr(vocab, "bos_index", None) is not None:
        banned.append(vocab.bos_index)
    if not allow_unk:
        banned += [vocab.word2idx[t] for t in _UNK_SPELLINGS if t in vocab.word2idx]
    return sorted(set(banned))


def filter_logits(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Tensor:
    """Apply temperature, top-k and top-p to logits (..., V); removed entries become -inf.

    Top-p keeps the smallest set of most likely tokens whose total probability is at
    least ``top_p`` (the most likely token is always kept).
    """
    check_sampling_args(temperature, top_k, top_p)
    if temperature == 0:
        raise ValueError("temperature must be > 0 here (0 means greedy: take the argmax)")
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (..., 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)  # (..., V)
        cum = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        remove = cum - torch.softmax(sorted_logits, dim=-1) >= top_p  # mass before >= p
        remove[..., 0] = False
        logits = logits.masked_fill(remove.scatter(-1, order, remove), float("-inf"))
    return logits


def _prompt_ids(vocab, prompt: str | Sequence[str]) -> list[int]:
    tokens = vocab.tokenizer(prompt) if isinstance(prompt, str) else list(prompt)
    unknown = [t for t in tokens if t not in vocab.word2idx]
    if unknown:
        shown = ", ".join(repr(t) for t in dict.fromkeys(unknown))
        warnings.warn(
            f"prompt words not in the vocabulary, mapped to <UNK>: {shown}",
            UserWarning,
            stacklevel=3,
        )
    return vocab.encode(tokens)


def _start_id(vocab) -> int:
    for token in ("<eos>", "<EOS>", "\n"):
        if token in vocab.word2idx:
            return vocab.word2idx[token]
    raise ValueError(
        "an empty prompt needs a sentence-boundary token (<eos> or a newline) in the "
        "vocabulary; give a prompt instead"
    )


@torch.no_grad()
def generate(
    model,
    vocab,
    prompt: str | Sequence[str] = "",
    *,
    max_tokens: int = 100,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    allow_unk: bool = False,
    stop_at: str | None = None,
    seed: int | None = None,
) -> list[str]:
    """Sample a continuation of ``prompt`` from a language model.

    Args:
        model: a ``LanguageModel`` (``forward(tokens (T, B), state) -> (logits (T, B, V), state)``).
        vocab: its ``Vocabulary`` (sizes must match).
        prompt: text (tokenized by ``vocab.tokenizer``) or a token list; empty = start of text.
        max_tokens: number of tokens to sample (>= 1).
        temperature: > 0 scales the logits; 0 is greedy decoding.
        top_k, top_p: keep only the k >= 1 most likely / the nucleus of mass p in (0, 1]
            (None = off).
        allow_unk: may sample unknown-word tokens.
        stop_at: stop after sampling this token (e.g. "<eos>").
        seed: seed of a private random generator (reproducible samples).
    Returns:
        The sampled tokens (the prompt is not included).
    Raises:
        ValueError: the vocabulary does not fit the model, or bad sampling arguments.
        NonFiniteModelError: the model's weights or logits hold NaN or infinity.
    """
    V = model.config.vocab_size
    if len(vocab) != V:
        raise ValueError(
            f"vocabulary of size {len(vocab)} does not match the model's vocab_size {V}"
        )
    check_sampling_args(temperature, top_k, top_p, max_tokens, seed)
    check_finite_weights(model)
    ids = _prompt_ids(vocab, prompt) if (prompt if isinstance(prompt, str) else len(prompt)) else []
    if not ids:
        ids = [_start_id(vocab)]
    device = next(model.parameters()).device
    generator = torch.Generator(device="cpu")
    if seed is not None:
        generator.manual_seed(seed)
    else:
        generator.seed()
    ban = torch.tensor(banned_ids(vocab, allow_unk), device=device)

    was_training = model.training
    model.eval()
    try:
        inputs = torch.tensor(ids, dtype=torch.long, device=device).unsqueeze(1)  # (T, 1)
        logits, state = model(inputs, None)  # (T, 1, V)
        last = logits[-1, 0]  # (V,)
        out: list[str] = []
        for step in range(max_tokens):
            if not bool(torch.isfinite(last).all()):
                raise NonFiniteModelError(
                    f"the model's logits are not finite at sampled token {step + 1} although "
                    "its weights are: they overflow; the checkpoint's weights are unusable"
                )
            last = last.index_fill(0, ban, float("-inf"))
            if temperature == 0:
                nxt = int(torch.argmax(last))
            else:
                probs = torch.softmax(filter_logits(last, temperature, top_k, top_p), dim=-1)
                nxt = int(torch.multinomial(probs.cpu(), 1, generator=generator))
            token = vocab.idx2word[nxt]
            out.append(token)
            if stop_at is not None and token == stop_at:
                break
            step_in = torch.tensor([[nxt]], dtype=torch.long, device=device)  # (1, 1)
            logits, state = model(step_in, state)  # (1, 1, V)
            last = logits[0, 0]
        return out
    finally:
        model.train(was_training)


def detokenize(vocab, tokens: Sequence[str]) -> str:
    """Tokens back to text with the vocabulary's tokenizer; ``<eos>`` ends a line."""
    join = getattr(vocab.tokenizer, "join", " ".join)
    lines: list[list[str]] = [[]]
    for token in tokens:
        if token in ("<eos>", "<EOS>"):
            lines.append([])
        else:
            lines[-1].append(token)
    return "\n".join(join(line) for line in lines)
