"""Weight converters between rnnlab's (= torch.nn's) recurrent layout and others.

* ``keras``: Keras ``SimpleRNN`` / ``LSTM`` / ``GRU`` (``reset_after`` True and False) /
  ``Bidirectional``: ``from_keras``, ``to_keras``.
* ``dlfs2``: the NumPy layers of "Deep Learning from Scratch 2" (``TimeRNN``,
  ``TimeLSTM``, ``TimeGRU``, ``TimeBiLSTM``): ``from_dlfs2``, ``to_dlfs2``.

Each module's docstring draws its layout and gate order; ``_layout`` holds what they
share. The tests (tests/nn/test_convert_*.py) run each foreign layer's forward pass,
written in NumPy from its own equations, against the converted rnnlab layer.
"""

from rnnlab.nn.convert.dlfs2 import from_dlfs2, to_dlfs2
from rnnlab.nn.convert.keras import from_keras, to_keras

__all__ = ["from_keras", "to_keras", "from_dlfs2", "to_dlfs2"]
