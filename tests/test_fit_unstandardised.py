"""kanlab.fit on features far outside a KAN's initial grid [-1, 1] (unstandardised measurements): the
default grid updates move every grid onto the data; without them, fit says what is wrong."""

from types import SimpleNamespace

import pytest
import torch

import kanlab
from kanlab.mlp import MLP

pytestmark = pytest.mark.usefixtures("one_thread")


def raw_measurements(n=200, seed=0):
    """Two features on the scales of a clinical table (an age in years, a cholesterol level) and a
    target that bends in the second one."""
    generator = torch.Generator().manual_seed(seed)
    age = 20 + 60 * torch.rand(2 * n, generator=generator, dtype=torch.float64)
    level = 100 + 200 * torch.rand(2 * n, generator=generator, dtype=torch.float64)
    x = torch.stack([age, level], dim=1)
    y = (0.01 * age + torch.sin(level / 30))[:, None]
    return SimpleNamespace(x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])


def test_default_grid_updates_move_the_first_grid_onto_unstandardised_features():
    data = raw_measurements()
    model = kanlab.KAN([2, 1], grid_size=5, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=10, progress=False)
    assert history.grid_updates == [5]
    lo, hi = model.layers[0].grid_range
    assert torch.allclose(lo, data.x_train.min(0).values) and torch.allclose(hi, data.x_train.max(0).values)


def test_after_the_grid_update_the_splines_learn_what_a_line_cannot():
    data = raw_measurements()
    model = kanlab.KAN([2, 1], grid_size=5, seed=0, dtype=torch.float64)
    history = kanlab.fit(model, data, steps=15, progress=False)
    design = torch.cat([data.x_train, torch.ones(len(data.x_train), 1, dtype=torch.float64)], dim=1)
    line = design @ torch.linalg.lstsq(design, data.y_train).solution
    line_rmse = float(torch.sqrt(torch.mean((line - data.y_train) ** 2)))
    assert history.train_rmse[-1] < line_rmse / 10


def test_fit_without_grid_updates_refuses_features_outside_the_grid_naming_the_feature():
    data = raw_measurements()
    model = kanlab.KAN([2, 1], seed=0, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"x_train: 100% of the values of feature 0 lie outside .*\[-1, 1\].*standardise"):
        kanlab.fit(model, data, steps=10, update_grid=False, progress=False)


def test_fit_refuses_them_when_it_stops_before_the_first_grid_update():
    data = raw_measurements()
    with pytest.raises(ValueError, match="no grid update runs"):
        kanlab.fit(kanlab.KAN([2, 1], seed=0, dtype=torch.float64), data, steps=5, progress=False)


def test_fit_without_grid_updates_accepts_features_inside_the_grid():
    data = raw_measurements()
    scaled = SimpleNamespace(x_train=(data.x_train - 50) / 250, y_train=data.y_train,
                             x_test=(data.x_test - 50) / 250, y_test=data.y_test)
    history = kanlab.fit(kanlab.KAN([2, 1], seed=0, dtype=torch.float64), scaled, steps=3, update_grid=False,
                         progress=False)
    assert len(history.train_rmse) == 3


def test_fit_leaves_models_without_a_grid_to_their_inputs():
    history = kanlab.fit(MLP([2, 4, 1], activation="tanh", dtype=torch.float64), raw_measurements(), steps=2,
                         progress=False)
    assert len(history.train_rmse) == 2
