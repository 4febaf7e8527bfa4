"""The forget-gate bias experiment: does initialising the LSTM's forget-gate bias to 1
help it carry information over long distances?

Gers, Schmidhuber & Cummins (2000) and Jozefowicz, Zaremba & Sutskever (2015) recommend
a forget-gate bias of 1: with f = sigmoid(1) ~ 0.73 instead of sigmoid(0) = 0.5, the
cell path c_t = f_t * c_{t-1} + ... forgets more slowly at initialisation, so the
gradient from the loss reaches early steps. The task here is first-token copy (the
label is the first of T tokens), which needs exactly that memory.

``train_and_evaluate`` is one run with the course notes' exact settings;
``forget_bias_experiment`` repeats it over biases, seeds and sequence lengths and compares
the biases with ``rnnlab.analysis.stats`` (``rnnlab experiment forget-bias --preset seed``).
``sweep_conditions`` gives the LSTM conditions of the length sweep
(``rnnlab.analysis.sweep.length_sweep``, the command's default). All return data only.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnlab.analysis import stats
from rnnlab.analysis.models import make_layer
from rnnlab.analysis.sweep import Condition, edge_sentence
from rnnlab.analysis.tasks import first_token_copy, generator

__all__ = [
    "LSTMClassifier",
    "train_and_evaluate",
    "forget_bias_experiment",
    "sweep_conditions",
    "finding",
]


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


def forget_bias_experiment(
    forget_biases: tuple[float, ...] = (0.0, 1.0),
    seq_lens: tuple[int, ...] = (20,),
    seeds: tuple[int, ...] = tuple(range(20)),
    *,
    progress=None,
    **train_kwargs,
) -> dict:
    """The course notes' protocol (``train_and_evaluate``) for every bias x length x seed.

    Args:
        forget_biases, seq_lens, seeds: the grid.
        progress: optional callable(message) told about each finished run.
        train_kwargs: passed on (vocab_size, hidden_size, epochs, batch_size).
    Returns:
        {"config", "runs": [{forget_bias, seq_len, seed, losses, accuracies, final_accuracy}],
         "summary": [{condition, forget_bias, seq_len, n_seeds, mean, ci_low, ci_high, values}],
         "comparisons": [{seq_len, sentence, **Comparison}]: highest bias vs lowest, per T}
        where final accuracy is the mean of the last 4 evaluations (the last 20 epochs).
    """
    if len(forget_biases) < 2:
        raise ValueError(f"expected at least two forget biases to compare, got {forget_biases}")
    runs, summary, comparisons = [], [], []
    lo, hi = min(forget_biases), max(forget_biases)
    for seq_len in seq_lens:
        finals = {}
        for fb in forget_biases:
            for seed in seeds:
                losses, accs = train_and_evaluate(fb, seq_len=seq_len, seed=seed, **train_kwargs)
                final = sum(accs[-4:]) / len(accs[-4:])
                runs.append(
                    {
                        "condition": _name(fb),
                        "forget_bias": fb,
                        "seq_len": seq_len,
                        "seed": seed,
                        "losses": losses,
                        "accuracies": accs,
                        "final_accuracy": final,
                    }
                )
                finals.setdefault(fb, []).append(final)
                if progress is not None:
                    progress(f"forget_bias={fb:g} T={seq_len} seed={seed}: accuracy {final:.3f}")
            s = stats.summarize(finals[fb]).to_dict()
            summary.append(
                {
                    "condition": _name(fb),
                    "forget_bias": fb,
                    "seq_len": seq_len,
                    "n_seeds": s.pop("n"),
                    **s,
                }
            )
        c = stats.compare(finals[hi], finals[lo], _name(hi), _name(lo))
        comparisons.append(
            {"seq_len": seq_len, "sentence": c.sentence(f"T={seq_len}"), **c.to_dict()}
        )
    config = {
        "forget_biases": list(forget_biases),
        "seq_lens": list(seq_lens),
        "seeds": list(seeds),
        "protocol": "train_and_evaluate (course notes 000)",
        **train_kwargs,
    }
    return {"config": config, "runs": runs, "summary": summary, "comparisons": comparisons}


def _name(forget_bias: float) -> str:
    return f"forget bias {forget_bias:g}"


def sweep_conditions(forget_biases: tuple[float, ...] = (0.0, 1.0)) -> list[Condition]:
    """The LSTM conditions of the length sweep (``rnnlab.analysis.sweep``), highest bias first."""
    return [Condition(_name(fb), "lstm", fb) for fb in sorted(forget_biases, reverse=True)]


def finding(result: dict) -> str:
    """One sentence from the comparisons (and the edges, for a length sweep): computed."""
    comps = result["comparisons"]
    first = comps[0]
    by_verdict: dict[str, list[str]] = {}
    for c in comps:
        by_verdict.setdefault(c["verdict"], []).append(f"T={c['seq_len']}")
    verdicts = "; ".join(f"{v} at {', '.join(ts)}" for v, ts in by_verdict.items())
    text = (
        f"Final first-token-copy accuracy, {first['name_a']} vs {first['name_b']} over "
        f"{first['n_seeds']} seeds ({first['test']}, alpha {first['alpha']:g}): {verdicts}. "
    )
    best = max(comps, key=lambda c: (c["verdict"] != stats.NO_DIFFERENCE, abs(c["difference"])))
    text += best["sentence"] + "."
    decided = [c for c in result.get("step_comparisons", []) if c["verdict"] != stats.NO_DIFFERENCE]
    if decided:
        fastest = max(decided, key=lambda c: abs(c["difference"]))
        text += " " + fastest["sentence"][0].upper() + fastest["sentence"][1:] + "."
    if "edges" in result:
        text += " " + edge_sentence(result)
    return text
