"""The forget-gate bias experiment: does initialising the LSTM's forget-gate bias to 1
help it carry information over long distances?

Gers, Schmidhuber & Cummins (2000) and Jozefowicz, Zaremba & Sutskever (2015) recommend
a forget-gate bias of 1: with f = sigmoid(1) ~ 0.73 instead of sigmoid(0) = 0.5, the
cell path c_t = f_t * c_{t-1} + ... forgets more slowly at initialisation, so the
gradient from the loss reaches early steps. The task here is first-token copy (the
label is the first of T tokens), which needs exactly that memory.

``train_and_evaluate`` is one run; ``forget_bias_experiment`` repeats it over biases,
seeds and sequence lengths and reports means and spreads. Both return data only.
"""

from __future__ import annotations

import statistics

import torch
from torch import Tensor, nn

from rnnlab.analysis.models import make_layer
from rnnlab.analysis.tasks import first_token_copy, generator

__all__ = ["LSTMClassifier", "train_and_evaluate", "forget_bias_experiment", "finding"]


class LSTMClassifier(nn.Module):
    """Embed tokens, run an LSTM, classify from the last hidden state.

    Args:
        vocab_size: V, the number of token ids; also the number of classes unless given.
        hidden_size: H.
        forget_bias: the forget gate's initial bias (``rnnlab.nn.LSTM``'s ``forget_bias``:
            the forget slice of bias_ih is set to it, that of bias_hh to 0); None keeps
            torch's default initialisation.
        embedding_dim: E (default H).
        num_classes: C (default V).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        forget_bias: float | None = 1.0,
        embedding_dim: int | None = None,
        num_classes: int | None = None,
    ):
        super().__init__()
        E = embedding_dim or hidden_size
        self.embedding = nn.Embedding(vocab_size, E)
        self.lstm = make_layer("lstm", E, hidden_size, forget_bias=forget_bias)
        self.head = nn.Linear(hidden_size, num_classes or vocab_size)

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens (B, T) int64 -> logits (B, C)."""
        if tokens.dim() != 2:
            raise ValueError(f"expected tokens of shape (B, T), got {tuple(tokens.shape)}")
        out, _ = self.lstm(self.embedding(tokens))  # (B, T, E) -> (B, T, H)
        return self.head(out[:, -1])  # (B, C)


@torch.no_grad()
def _accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    model.eval()
    acc = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return acc


def train_and_evaluate(
    forget_bias: float,
    seq_len: int = 20,
    vocab_size: int = 5,
    hidden_size: int = 128,
    epochs: int = 200,
    batch_size: int = 64,
    seed: int = 0,
) -> tuple[list[float], list[float]]:
    """Train an ``LSTMClassifier`` on first-token copy and measure it.

    Each epoch is one fresh batch of ``batch_size`` sequences; Adam (lr 0.01, weight decay
    1e-5), StepLR (step 50, gamma 0.5), gradient clipping at norm 1.0. Every 5 epochs the
    accuracy is measured on 200 fresh samples. Seeded: the same arguments give the same
    numbers (the caller's global RNG state is left untouched).

    Returns:
        (losses, accuracies): the training loss of every epoch (``epochs`` values) and the
        accuracy after epochs 5, 10, ... (``epochs // 5`` values).
    """
    gen = generator(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LSTMClassifier(vocab_size, hidden_size, forget_bias)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    losses, accuracies = [], []
    for epoch in range(epochs):
        x, y = first_token_copy(batch_size, seq_len, vocab_size, gen)  # (B, T), (B,)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (epoch + 1) % 5 == 0:
            accuracies.append(_accuracy(model, *first_token_copy(200, seq_len, vocab_size, gen)))
    return losses, accuracies


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _curve_stats(curves: list[list[float]]) -> dict[str, list[float]]:
    cols = list(zip(*curves))
    return {
        "mean": [statistics.fmean(c) for c in cols],
        "std": [_mean_std(list(c))[1] for c in cols],
    }


def forget_bias_experiment(
    forget_biases: tuple[float, ...] = (0.0, 1.0),
    seq_lens: tuple[int, ...] = (20,),
    seeds: tuple[int, ...] = (0, 1, 2),
    *,
    progress=None,
    **train_kwargs,
) -> dict:
    """``train_and_evaluate`` for every forget bias x sequence length x seed.

    Args:
        forget_biases, seq_lens, seeds: the grid.
        progress: optional callable(message) told about each finished run.
        train_kwargs: passed on (vocab_size, hidden_size, epochs, batch_size).
    Returns:
        {"runs": [{forget_bias, seq_len, seed, losses, accuracies, final_accuracy}],
         "summary": [{forget_bias, seq_len, final_accuracy_mean, final_accuracy_std,
                      loss_mean, loss_std, accuracy_mean, accuracy_std}]}
        where final accuracy is the mean of the last 4 evaluations (last 20 epochs), and the
        curves' mean and std are taken over seeds.
    """
    runs, summary = [], []
    for seq_len in seq_lens:
        for fb in forget_biases:
            group = []
            for seed in seeds:
                losses, accs = train_and_evaluate(fb, seq_len=seq_len, seed=seed, **train_kwargs)
                final = statistics.fmean(accs[-4:])
                group.append(
                    {
                        "forget_bias": fb,
                        "seq_len": seq_len,
                        "seed": seed,
                        "losses": losses,
                        "accuracies": accs,
                        "final_accuracy": final,
                    }
                )
                if progress is not None:
                    progress(f"forget_bias={fb} seq_len={seq_len} seed={seed}: acc {final:.3f}")
            runs.extend(group)
            mean, std = _mean_std([r["final_accuracy"] for r in group])
            loss_curve = _curve_stats([r["losses"] for r in group])
            acc_curve = _curve_stats([r["accuracies"] for r in group])
            summary.append(
                {
                    "forget_bias": fb,
                    "seq_len": seq_len,
                    "final_accuracy_mean": mean,
                    "final_accuracy_std": std,
                    "loss_mean": loss_curve["mean"],
                    "loss_std": loss_curve["std"],
                    "accuracy_mean": acc_curve["mean"],
                    "accuracy_std": acc_curve["std"],
                }
            )
    return {"runs": runs, "summary": summary}


def finding(result: dict) -> str:
    """One sentence stating what ``forget_bias_experiment`` measured (computed, not canned)."""
    summary = result["summary"]
    biases = sorted({s["forget_bias"] for s in summary})
    lo, hi = biases[0], biases[-1]
    by = {(s["forget_bias"], s["seq_len"]): s for s in summary}
    lengths = sorted({s["seq_len"] for s in summary})
    gaps = {T: by[hi, T]["final_accuracy_mean"] - by[lo, T]["final_accuracy_mean"] for T in lengths}
    parts = []
    for T in lengths:
        a, b = by[hi, T], by[lo, T]
        noise = a["final_accuracy_std"] + b["final_accuracy_std"]
        if gaps[T] == 0:
            verdict = "equal to"
        elif abs(gaps[T]) <= noise:
            verdict = "within the seed spread of"
        else:
            verdict = "higher than" if gaps[T] > 0 else "lower than"
        parts.append(
            f"T={T}: {a['final_accuracy_mean']:.2f}±{a['final_accuracy_std']:.2f} "
            f"({verdict} {b['final_accuracy_mean']:.2f}±{b['final_accuracy_std']:.2f})"
        )
    n_seeds = len({r["seed"] for r in result["runs"]})
    T_max = max(gaps, key=lambda T: abs(gaps[T]))
    return (
        f"Final first-token-copy accuracy with forget bias {hi:g} vs {lo:g} over {n_seeds} seeds: "
        + "; ".join(parts)
        + f"; the largest gap is {gaps[T_max]:+.2f} at T={T_max}."
    )
