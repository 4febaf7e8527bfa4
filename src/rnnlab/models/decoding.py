"""Decoding a ``Seq2Seq`` model: greedy and beam search, batched.

    greedy   y_t = argmax_y log p(y | y_<t, x), until <EOS> or the length limit
    beam     keep the K best partial translations by summed log-probability; a candidate
             that emits <EOS> is finished; stop a sentence once K are finished (or at its
             limit, where the live ones count as finished); return the best finished one
             by its length-normalised score

Length normalisation (``length_penalty``), with |y| counting the <EOS>:

    "none"     score = log p(y | x)
    "average"  score = log p(y | x) / |y|
    "gnmt"     score = log p(y | x) / ((5 + |y|) / 6) ** alpha      (Wu et al. 2016)

The length limit of each sentence is ``max_len_a * source_length + max_len_b`` tokens. Beam
search keeps greedy's hypothesis among its candidates, so its returned (normalised) score is
never below greedy's; plain beam search can end below greedy when greedy's prefix falls out of
the beam (a known property, e.g. Meister et al. 2020). With ``beam = 1`` it is greedy exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnnlab.models.seq2seq import select_state

LENGTH_PENALTIES = ("none", "average", "gnmt")


@dataclass
class Hypotheses:
    """Decoded token ids per sentence (no <BOS>, no <EOS>), their summed log-probability
    (<EOS> included when emitted), and for greedy the attention rows (T_i, Ts_i) if asked."""

    tokens: list[list[int]]
    scores: list[float]
    attention: list[Tensor] | None = None


def max_lengths(src_lengths: Tensor, max_len_a: float, max_len_b: int) -> list[int]:
    """The token limit of each sentence: ``a * source_length + b`` (at least 1)."""
    if max_len_a < 0 or max_len_b < 0:
        raise ValueError(f"max_len_a and max_len_b must be >= 0, got {max_len_a}, {max_len_b}")
    return [max(1, int(max_len_a * n + max_len_b)) for n in src_lengths.tolist()]


def normalised(score: float, length: int, length_penalty: str, alpha: float) -> float:
    """A hypothesis score under ``length_penalty`` (length counts the <EOS>)."""
    if length_penalty == "none":
        return score
    if length_penalty == "average":
        return score / length
    return score / (((5 + length) / 6) ** alpha)


@torch.no_grad()
def greedy_decode(
    model,
    src: Tensor,
    src_lengths: Tensor,
    *,
    max_len_a: float = 1.5,
    max_len_b: int = 10,
    return_attention: bool = False,
) -> Hypotheses:
    """Greedy decoding of a padded source batch (src (B, Ts), src_lengths (B,))."""
    was = model.training
    model.eval()
    try:
        cfg = model.config
        device = src.device
        memory = model.encode(src, src_lengths)
        state = model.initial_decoder_state(memory)
        B = src.shape[0]
        limits = torch.tensor(max_lengths(src_lengths, max_len_a, max_len_b), device=device)
        y = torch.full((B,), cfg.bos_index, dtype=torch.long, device=device)
        done = torch.zeros(B, dtype=torch.bool, device=device)
        scores = torch.zeros(B, device=device)
        steps, rows = [], []
        for t in range(int(limits.max())):
            logits, state, weights = model.decode_step(y, state, memory)  # (B, V)
            logp = torch.log_softmax(logits.float(), -1)  # (B, V)
            y = logp.argmax(-1)  # (B,)
            scores += torch.where(done, 0.0, logp.gather(1, y[:, None])[:, 0])
            steps.append(torch.where(done, cfg.eos_index, y))
            if return_attention and weights is not None:
                rows.append(weights)
            done |= (y == cfg.eos_index) | (t + 1 >= limits)
            if bool(done.all()):
                break
        tokens = torch.stack(steps, 1).tolist()  # (B, T)
        out, ended = [], []
        for row, limit in zip(tokens, limits.tolist()):
            row = row[:limit]
            ended.append(cfg.eos_index in row)
            out.append(row[: row.index(cfg.eos_index)] if ended[-1] else row)
        attention = None
        if return_attention and rows:
            grid = torch.stack(rows, 1)  # (B, T, Ts)
            lengths = src_lengths.tolist()
            # one row per emitted token, <EOS> included; none past the sentence's own limit
            attention = [grid[b, : len(out[b]) + ended[b], : lengths[b]].cpu() for b in range(B)]
        return Hypotheses(out, scores.tolist(), attention)
    finally:
        model.train(was)


@torch.no_grad()
def beam_search(
    model,
    src: Tensor,
    src_lengths: Tensor,
    *,
    beam: int = 5,
    length_penalty: str = "gnmt",
    alpha: float = 0.6,
    max_len_a: float = 1.5,
    max_len_b: int = 10,
    include_greedy: bool = True,
) -> Hypotheses:
    """Batched beam search over a padded source batch (src (B, Ts), src_lengths (B,)).

    Returns the best finished hypothesis per sentence by its normalised score; ``scores``
    are the raw summed log-probabilities of those hypotheses. ``include_greedy`` adds
    greedy's hypothesis to the candidates (the guarantee above).
    """
    if not isinstance(beam, int) or beam < 1:
        raise ValueError(f"beam must be an int >= 1, got {beam!r}")
    if length_penalty not in LENGTH_PENALTIES:
        raise ValueError(
            f"length_penalty must be one of {LENGTH_PENALTIES}, got {length_penalty!r}"
        )
    greedy = None
    if include_greedy:
        greedy = greedy_decode(model, src, src_lengths, max_len_a=max_len_a, max_len_b=max_len_b)
    was = model.training
    model.eval()
    try:
        return _beam(model, src, src_lengths, greedy, beam, length_penalty, alpha,
                     max_lengths(src_lengths, max_len_a, max_len_b))  # fmt: skip
    finally:
        model.train(was)


def _beam(model, src, src_lengths, greedy, K, length_penalty, alpha, limits) -> Hypotheses:
    cfg, device = model.config, src.device
    B = src.shape[0]
    memory = model.encode(src, src_lengths)
    expand = torch.arange(B, device=device).repeat_interleave(K)  # (B*K,)
    memory = memory.select(expand)
    state = model.initial_decoder_state(memory)
    # only beam 0 of each sentence is live at the start; the others are -inf copies
    scores = torch.full((B, K), float("-inf"), device=device)
    scores[:, 0] = 0.0
    history: list[list[int]] = [[] for _ in range(B * K)]
    y = torch.full((B * K,), cfg.bos_index, dtype=torch.long, device=device)
    finished: list[list[tuple[float, float, list[int]]]] = [[] for _ in range(B)]
    done = [False] * B
    for t in range(max(limits)):
        logits, state, _ = model.decode_step(y, state, memory)  # (B*K, V)
        logp = torch.log_softmax(logits.float(), -1)  # (B*K, V)
        V = logp.shape[1]
        total = (scores.view(B * K, 1) + logp).view(B, K * V)  # (B, K*V)
        top_scores, top_index = total.topk(2 * K, dim=1)  # (B, 2K)
        top_scores, top_index = top_scores.tolist(), top_index.tolist()
        origin, tokens, new_scores = [], [], []
        for b in range(B):
            live: list[tuple[int, int, float]] = []
            if not done[b]:
                for s, i in zip(top_scores[b], top_index[b]):
                    if s == float("-inf"):
                        break
                    k, w = divmod(i, V)
                    if w == cfg.eos_index:
                        finished[b].append((normalised(s, t + 1, length_penalty, alpha), s,
                                            history[b * K + k]))  # fmt: skip
                    else:
                        live.append((k, w, s))
                    if len(live) == K:
                        break
                if t + 1 >= limits[b]:  # at the limit the live ones count as finished
                    for k, w, s in live:
                        finished[b].append((normalised(s, t + 1, length_penalty, alpha), s,
                                            history[b * K + k] + [w]))  # fmt: skip
                    live = []
                if len(finished[b]) >= K or not live:
                    done[b], live = True, []
            live += [(0, 0, float("-inf"))] * (K - len(live))
            for k, w, s in live:
                origin.append(b * K + k)
                tokens.append(w)
                new_scores.append(s)
        if all(done):
            break
        index = torch.tensor(origin, device=device)
        history = [history[o] + [w] for o, w in zip(origin, tokens)]
        state = select_state(state, index)
        y = torch.tensor(tokens, device=device)
        scores = torch.tensor(new_scores, device=device).view(B, K)
    out_tokens, out_scores = [], []
    for b in range(B):
        candidates = list(finished[b])
        if greedy is not None:
            g = greedy.tokens[b]
            g_len = len(g) + (1 if len(g) < limits[b] else 0)  # + <EOS> unless cut at the limit
            g_score = greedy.scores[b]
            candidates.append((normalised(g_score, g_len, length_penalty, alpha), g_score, g))
        best = max(candidates, key=lambda c: c[0])
        out_tokens.append(best[2])
        out_scores.append(best[1])
    return Hypotheses(out_tokens, out_scores)
