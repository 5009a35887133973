"""kanlab: the companion package of *From Perceptrons to Kolmogorov-Arnold Networks*."""

__version__ = "0.1.0"
