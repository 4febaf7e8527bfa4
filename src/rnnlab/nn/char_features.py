"""Character-level word features: a BiLSTM reads each word's characters (Lample et al. 2016,
"Neural architectures for named entity recognition"; Ling et al. 2015).

    chars (B, T, W), char_lengths (B, T) ─ real words only ─▶ (N, W)
        ─ embed ─▶ (N, W, E_c) ─ BiLSTM (lengths) ─▶ final states (N, 2 H_c)
        ─ scatter back ─▶ features (B, T, 2 H_c)   (zero at padded word positions)

The final forward state has read the word left to right (its suffix last), the backward
state right to left (its prefix last), so an unseen word such as "bluffing" still looks
like a verb. Shapes: B batch, T words, W characters, N real words in the batch.
"""

from __future__ import annotations

from torch import Tensor, nn

from rnnlab.nn.pooling import final_states
from rnnlab.nn.recurrent import recurrent_layer


class CharWordEncoder(nn.Module):
    """Character BiLSTM over every word of a padded batch.

    Arguments:
        num_chars: size of the character vocabulary (0 = padding); char_dim: E_c;
        hidden_size: H_c per direction (features are 2 H_c); backend: the core's path.
    """

    def __init__(
        self, num_chars: int, char_dim: int = 32, hidden_size: int = 50, backend: str = "auto"
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_chars, char_dim, padding_idx=0)
        self.rnn = recurrent_layer(
            "lstm", char_dim, hidden_size, bidirectional=True, batch_first=True, backend=backend
        )
        self.output_size = 2 * hidden_size

    def forward(self, chars: Tensor, char_lengths: Tensor) -> Tensor:
        """chars (B, T, W), char_lengths (B, T) (0 at padding) -> features (B, T, 2 H_c)."""
        if chars.dim() != 3 or char_lengths.shape != chars.shape[:2]:
            raise ValueError(
                "expected chars (B, T, W) and char_lengths (B, T), got "
                f"{tuple(chars.shape)} and {tuple(char_lengths.shape)}"
            )
        B, T, _ = chars.shape
        real = char_lengths > 0  # (B, T)
        words = chars[real]  # (N, W)
        lengths = char_lengths[real]  # (N,)
        W = int(lengths.max())
        x = self.embedding(words[:, :W])  # (N, W, E_c)
        _, (h_n, _) = self.rnn(x, lengths=lengths.cpu())  # h_n (2, N, H_c)
        feats = final_states(h_n, 2)  # (N, 2 H_c)
        out = feats.new_zeros(B, T, self.output_size)  # (B, T, 2 H_c)
        out[real] = feats
        return out
