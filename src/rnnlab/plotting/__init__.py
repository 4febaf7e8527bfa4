"""Plots. This package is the only place in rnnlab that imports matplotlib
(always with the non-interactive Agg backend), and only inside functions."""
