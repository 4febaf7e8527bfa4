"""Subword units with SentencePiece (Kudo & Richardson 2018), trained on the training side.

Why SentencePiece: it reads raw, untokenized text (Multi30k is raw) and its decoding is the
exact inverse of its encoding, spaces included (``▁`` marks a word start), so a translation
comes back as ordinary detokenised text that sacreBLEU can score against the raw reference,
with no Moses-style tokenizer or detokenizer in between. One small model file per language.

    tok = SentencePieceTokenizer.train(train_lines, vocab_size=8000)
    tok("Zwei junge Männer.")        # ['▁Zwei', '▁junge', '▁Männer', '.']
    tok.join(['▁Zwei', '▁junge'])    # 'Zwei junge'
    vocab = subword_vocabulary(tok, bos=True, eos=True)   # a Vocabulary over the pieces

The tokenizer is saved inside the vocabulary's JSON (the model's bytes, base64), so a
checkpoint carries it, its fingerprint covers it, and a vocabulary and a subword model can
never be paired wrongly. ``sentencepiece`` is an optional dependency
(``pip install rnnlab[translate]``).
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterable


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "subword units need the 'sentencepiece' package: pip install sentencepiece "
            "(or pip install rnnlab[translate])"
        ) from None
    return sentencepiece


class SentencePieceTokenizer:
    """Text <-> subword pieces with a trained SentencePiece model (``model``: its bytes)."""

    def __init__(self, model: bytes) -> None:
        if not isinstance(model, bytes) or not model:
            raise ValueError("SentencePieceTokenizer needs the model's bytes")
        spm = _sentencepiece()
        try:
            self._sp = spm.SentencePieceProcessor(model_proto=model)
        except RuntimeError as err:
            raise ValueError(f"not a SentencePiece model: {err}") from None
        self.model = model

    @classmethod
    def train(
        cls,
        lines: Iterable[str],
        vocab_size: int = 8000,
        model_type: str = "unigram",
        character_coverage: float = 1.0,
        num_threads: int = 1,
    ) -> SentencePieceTokenizer:
        """Train a model on ``lines`` (the training side only) with ``vocab_size`` pieces."""
        spm = _sentencepiece()
        lines = [line for line in lines if line.strip()]
        if not lines:
            raise ValueError("cannot train a subword model on no text")
        out = io.BytesIO()
        try:
            spm.SentencePieceTrainer.train(
                sentence_iterator=iter(lines), model_writer=out, vocab_size=vocab_size,
                model_type=model_type, character_coverage=character_coverage,
                unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, num_threads=num_threads,
                minloglevel=2, hard_vocab_limit=False,
            )  # fmt: skip
        except RuntimeError as err:
            raise ValueError(f"SentencePiece training failed: {err}") from None
        return cls(out.getvalue())

    def pieces(self) -> list[str]:
        """The model's pieces in id order, without its own ``<unk>`` (id 0)."""
        return [self._sp.id_to_piece(i) for i in range(1, self._sp.get_piece_size())]

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"expected text as str, got {type(text).__name__}")
        return self._sp.encode(text, out_type=str)

    def join(self, tokens: list[str]) -> str:
        """Pieces back to text (the exact inverse of ``__call__`` for known pieces)."""
        return self._sp.decode_pieces(list(tokens))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SentencePieceTokenizer) and self.model == other.model

    __hash__ = None

    def __repr__(self) -> str:
        digest = hashlib.sha256(self.model).hexdigest()[:12]
        return f"SentencePieceTokenizer(pieces={self._sp.get_piece_size()}, sha256={digest})"

    def to_dict(self) -> dict:
        return {"type": "sentencepiece", "model": base64.b64encode(self.model).decode("ascii")}

    @classmethod
    def from_dict_options(cls, model: str) -> SentencePieceTokenizer:
        if not isinstance(model, str):
            raise ValueError("a sentencepiece tokenizer's 'model' must be a base64 string")
        try:
            raw = base64.b64decode(model.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError) as err:
            raise ValueError(f"a sentencepiece tokenizer's 'model' is not base64: {err}") from None
        return cls(raw)


def subword_vocabulary(tokenizer: SentencePieceTokenizer, *, bos: bool = False, eos: bool = False):
    """A ``Vocabulary`` whose tokens are the model's pieces (after <PAD> <UNK> [<BOS> <EOS>])."""
    from rnnlab.text.vocab import Vocabulary

    return Vocabulary(tokenizer.pieces(), bos=bos, eos=eos, tokenizer=tokenizer)
