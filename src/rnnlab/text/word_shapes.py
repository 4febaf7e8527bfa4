"""Word-level spelling features for words-only taggers: unknown-word signatures and casing.

An unknown word does not have to become one ``<UNK>``: its spelling says a lot about its
part of speech. ``unknown_signature`` maps a word to one of a few hundred signature tokens
(the unknown-word classes of the Berkeley parser, Petrov & Klein 2007, and of the Stanford
tagger, Toutanova et al. 2003) built from its casing, digits, hyphens, periods and one
common English suffix; ``word_shape`` puts a word in one of a few casing classes, so a
tagger that looks words up lowercased still sees how they were written.

    >>> unknown_signature("Reykjavik")
    '<UNK-Cap>'
    >>> unknown_signature("Googling"), unknown_signature("blorfed"), unknown_signature("3.5")
    ('<UNK-Cap-ing>', '<UNK-ed>', '<UNK-num-dot>')
    >>> unknown_signature("e-mails"), unknown_signature("NASA"), unknown_signature(":-)")
    ('<UNK-dash-s>', '<UNK-CAPS>', '<UNK-sym-dash>')
    >>> [SHAPES[word_shape(w)] for w in ["dog", "Dog", "DOG", "iPhone", "42", "A4", "?"]]
    ['lower', 'Title', 'UPPER', 'mixed', 'number', 'alnum', 'other']

Both are pure functions of the word's characters: no character model is involved.
"""

from __future__ import annotations

# Longest first, so "-ies" wins over "-s" and "-ness" over "-s".
SUFFIXES = tuple(sorted((
    "ing", "ed", "ly", "s", "es", "ies", "ion", "tion", "er", "ers", "est", "al", "ity",
    "y", "able", "ible", "ment", "ness", "ful", "ous", "ive", "ic", "ist", "ism", "ize",
    "ise", "less", "ship", "ate", "en", "an", "ian", "ary", "ery", "ant", "ent", "ence",
    "ance", "age", "ward", "wise", "'s", "n't",
), key=len, reverse=True))  # fmt: skip

# Casing classes of ``word_shape``; 0 is reserved for padding.
SHAPES = ("<PAD>", "lower", "Title", "UPPER", "mixed", "number", "alnum", "other")
NUM_SHAPES = len(SHAPES)


def _check(word: object) -> str:
    if not isinstance(word, str) or not word:
        raise ValueError(f"expected a non-empty word (str), got {word!r}")
    return word


def unknown_signature(word: str) -> str:
    """The signature token of ``word``: ``<UNK`` + casing, digit, dash, dot, suffix + ``>``.

    Parts, in this order (each only when it applies):
        casing: ``-CAPS`` (letters, all upper, two or more), ``-Cap`` (initial capital),
            ``-mix`` (an upper case letter later on), ``-sym`` (no letter and no digit);
            nothing for lower case;
        ``-num`` (has a digit), ``-dash`` (has ``-``), ``-dot`` (has ``.``),
            ``-at`` (has ``@``: e-mail addresses), ``-url`` (``http``, ``www.``, ``://``);
        suffix: the longest of ``SUFFIXES`` the lowercased word ends with, when the word
            has letters, no digit, and at least two characters before the suffix.
    """
    word = _check(word)
    lower = word.lower()
    letters = [c for c in word if c.isalpha()]
    digit = any(c.isdigit() for c in word)
    parts = ["<UNK"]
    if letters:
        if len(letters) >= 2 and all(c.isupper() for c in letters):
            parts.append("-CAPS")
        elif word[0].isupper():
            parts.append("-Cap")
        elif any(c.isupper() for c in word):
            parts.append("-mix")
    elif not digit:
        parts.append("-sym")
    if digit:
        parts.append("-num")
    for mark, name in (("-", "-dash"), (".", "-dot"), ("@", "-at")):
        if mark in word:
            parts.append(name)
    if lower.startswith(("http", "www.")) or "://" in lower:
        parts.append("-url")
    if letters and not digit:
        suffix = next((s for s in SUFFIXES if lower.endswith(s) and len(lower) >= len(s) + 2), None)
        if suffix is not None:
            parts.append("-" + suffix)
    return "".join(parts) + ">"


def is_signature(token: str) -> bool:
    """Whether ``token`` is spelled like a signature (``<UNK-...>``)."""
    return token.startswith("<UNK-") and token.endswith(">")


def word_shape(word: str) -> int:
    """The casing class of ``word``: an index into ``SHAPES`` (1 ... NUM_SHAPES - 1).

    lower: its letters all lower case; Title: the first character upper, the other letters
    lower (also "I", "A"); UPPER: two or more letters, all upper; mixed: any other mix;
    number: digits (and punctuation) but no letter; alnum: letters and digits (cased
    as UPPER / Title / lower take precedence only without digits); other: neither letters nor
    digits.
    """
    word = _check(word)
    letters = [c for c in word if c.isalpha()]
    digit = any(c.isdigit() for c in word)
    if not letters:
        return SHAPES.index("number") if digit else SHAPES.index("other")
    if digit:
        return SHAPES.index("alnum")
    if all(c.islower() for c in letters):
        return SHAPES.index("lower")
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return SHAPES.index("UPPER")
    if word[0].isupper() and all(c.islower() for c in letters[1:]):
        return SHAPES.index("Title")
    return SHAPES.index("mixed")
