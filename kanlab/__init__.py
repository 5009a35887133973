"""kanlab: the companion package of *From Perceptrons to Kolmogorov-Arnold Networks*."""

from kanlab import (additive, approximation, checkpoint, data, discovery, distributed, kan, kolmogorov, loss, mlp,
                    multiplication, perceptron, plot, pruning, regularization, splines, symbolic, train, widgets)
from kanlab.checkpoint import load, save
from kanlab.kan import KAN, KANLayer
from kanlab.train import fit

__version__ = "0.1.0"
