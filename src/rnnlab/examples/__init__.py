"""The four input/output shapes of a recurrent network, each a short runnable module.

    one-to-one    x        -> y            one_to_one.py     predict x^2 from x
    one-to-many   x        -> y_1..y_10    one_to_many.py    the first 10 multiples of n
    many-to-one   x_1..x_T -> y            many_to_one.py    the sentiment of a sentence
    many-to-many  x_1..x_T -> y_1..y_T     many_to_many.py   a tag for every word

``rnnlab example NAME`` runs one; each module's ``run(seed, verbose)`` trains in seconds on
a CPU, prints a few predictions beside the truth and returns its final metrics.
"""

EXAMPLES = {
    "one-to-one": "rnnlab.examples.one_to_one",
    "one-to-many": "rnnlab.examples.one_to_many",
    "many-to-one": "rnnlab.examples.many_to_one",
    "many-to-many": "rnnlab.examples.many_to_many",
}
