"""One-to-one: one input, one output (predict x^2 from x).

    x ─▶ [LSTM step] ─▶ h ─▶ linear ─▶ ŷ ≈ x²          (a sequence of length T = 1)

With a single time step a recurrent network is a feed-forward network: the recurrence
never runs, only the input-to-hidden weights matter. This is the baseline the other
shapes grow from.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnlab.nn import LSTM


class OneToOne(nn.Module):
    def __init__(self, hidden_size: int = 32) -> None:
        super().__init__()
        self.rnn = LSTM(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B,) -> prediction (B,)."""
        out, _ = self.rnn(x.view(-1, 1, 1))  # (B, T=1, H)
        return self.head(out[:, 0]).squeeze(-1)  # (B,)


def run(seed: int = 0, steps: int = 300, verbose: bool = True) -> dict[str, float]:
    """Train on x uniform in [-1, 1]; returns the test mean squared error."""
    torch.manual_seed(seed)
    model = OneToOne()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        x = torch.rand(64) * 2 - 1  # (B,)
        loss = ((model(x) - x**2) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    x = torch.linspace(-1, 1, 101)
    with torch.no_grad():
        y = model(x)
    mse = float(((y - x**2) ** 2).mean())
    if verbose:
        print("one-to-one: predict x^2 from x (LSTM, one time step)")
        for v in (-0.9, -0.5, 0.0, 0.3, 0.8):
            with torch.no_grad():
                guess = float(model(torch.tensor([v])))
            print(f"  x = {v:+.2f}   x^2 = {v * v:.4f}   predicted {guess:.4f}")
        print(f"  test mean squared error {mse:.5f} on 101 points in [-1, 1]")
    return {"mse": mse}
