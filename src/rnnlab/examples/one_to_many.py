"""One-to-many: one input, a sequence out (from n, generate n, 2n, ..., 10n).

    n ─▶ [LSTM] ─▶ [LSTM] ─▶ ... ─▶ [LSTM]      the number enters at step 1 only;
          │          │                │          later steps get a zero input and must
          ▼          ▼                ▼          carry n in their state
          n         2n      ...      10n

The network has to remember its one input for ten steps and count: the state does both.
Numbers are scaled (n / 10 in, k*n / 100 out) so that the targets lie in [0, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.nn import LSTM

STEPS = 10


class OneToMany(nn.Module):
    def __init__(self, hidden_size: int = 48) -> None:
        super().__init__()
        self.rnn = LSTM(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, n: torch.Tensor) -> torch.Tensor:
        """n (B,) numbers -> the 10 multiples (B, 10), scaled by 1/100."""
        x = torch.zeros(n.shape[0], STEPS, 1)  # (B, T, 1)
        x[:, 0, 0] = n / 10
        out, _ = self.rnn(x)  # (B, T, H)
        return self.head(out).squeeze(-1)  # (B, T)


def run(seed: int = 0, steps: int = 1500, verbose: bool = True) -> dict[str, float]:
    """Train on n uniform in [1, 10]; returns the worst error on n = 1..9 (unscaled)."""
    torch.manual_seed(seed)
    model = OneToMany()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    k = torch.arange(1, STEPS + 1, dtype=torch.float32)  # (T,)
    for _ in range(steps):
        n = torch.rand(64) * 9 + 1  # (B,)
        loss = ((model(n) - n[:, None] * k / 100) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    n = torch.arange(1, 10, dtype=torch.float32)
    with torch.no_grad():
        guess = model(n) * 100  # (9, T)
    truth = n[:, None] * k
    worst = float((guess - truth).abs().max())
    exact = float((guess.round() == truth).float().mean())
    if verbose:
        print("one-to-many: from n, generate n, 2n, ..., 10n (LSTM, input at step 1 only)")
        for i in (2, 6, 8):
            print(f"  n = {i + 1}: truth     {[int(v) for v in truth[i].tolist()]}")
            print(f"         predicted {[round(v) for v in guess[i].tolist()]}")
        print(f"  n = 1..9: {exact:.0%} of the 90 multiples exact after rounding, "
              f"worst error {worst:.2f}")  # fmt: skip
    return {"max_error": worst, "exact": exact}
