"""kanlab: the companion package of *From Perceptrons to Kolmogorov-Arnold Networks*."""

from kanlab import widgets

__version__ = "0.1.0"
