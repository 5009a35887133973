"""Specification of kanlab.perceptron: Heaviside's step, the perceptron, Rosenblatt's rule."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from kanlab.data import logic_gate
from kanlab.perceptron import Perceptron, RuleHistory, heaviside, rosenblatt_rule

# The numbers chapter 2 states (starting from w = 0, b = 0, lr = 1, examples in truth-table order).
OR_EPOCHS, OR_UPDATES = 4, 5
AND_EPOCHS, AND_UPDATES = 6, 11
XOR_EPOCHS_TRIED = 1000


def python_heaviside(z):
    return 1.0 if z > 0 else 0.5 if z == 0 else 0.0


def python_rule(X, y, lr, max_epochs):
    """Rosenblatt's rule written with plain Python floats: (weights after each update, converged)."""
    w, b = [0.0] * len(X[0]), 0.0
    states = [(list(w), b)]
    for _ in range(max_epochs):
        mistakes = 0
        for x, target in zip(X, y):
            error = target - python_heaviside(sum(wi * xi for wi, xi in zip(w, x)) + b)
            if error != 0:
                mistakes += 1
                w = [wi + lr * error * xi for wi, xi in zip(w, x)]
                b += lr * error
                states.append((list(w), b))
        if mistakes == 0:
            return states, True
    return states, False


def train(gate, max_epochs=100, lr=1.0, dtype=torch.float64):
    X, y = logic_gate(gate, dtype=dtype)
    perceptron = Perceptron(2, dtype=dtype)
    return perceptron, rosenblatt_rule(perceptron, X, y, lr=lr, max_epochs=max_epochs), X, y


# Heaviside


def test_heaviside_is_one_half_at_zero():
    assert heaviside(torch.tensor([0.0, -0.0])).tolist() == [0.5, 0.5]


def test_heaviside_is_zero_left_of_zero_and_one_right_of_it():
    z = [-1e30, -3.0, -1e-30, 1e-30, 2.0, 1e30, -math.inf, math.inf]
    assert heaviside(torch.tensor(z, dtype=torch.float64)).tolist() == [python_heaviside(v) for v in z]


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_heaviside_keeps_shape_dtype_and_device(dtype):
    z = torch.tensor([[-1.0, 0.0, 1.0], [2.0, -2.0, 0.0]], dtype=dtype)
    out = heaviside(z)
    assert (out.shape, out.dtype, out.device) == (z.shape, dtype, z.device)


def test_heaviside_rejects_integer_tensors():
    with pytest.raises(TypeError, match="floating-point"):
        heaviside(torch.tensor([0, 1]))


def test_heaviside_rejects_non_tensors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        heaviside(0.0)


def test_heaviside_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        heaviside(torch.tensor([0.0, math.nan]))


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_heaviside_output_stays_on_the_input_device(device):
    assert heaviside(torch.zeros(3, device=device)).device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_rule_on_a_device_gives_the_same_history_as_on_the_cpu(device):
    X, y = logic_gate("and", dtype=torch.float64)
    perceptron = Perceptron(2, dtype=torch.float64, device=device)
    history = rosenblatt_rule(perceptron, X.to(device), y.to(device), lr=1.0)
    _, reference, _, _ = train("and")
    assert perceptron.weight.device.type == device
    assert history.weights.cpu().tolist() == reference.weights.tolist()


# Perceptron


def test_perceptron_starts_at_zero_weights_and_bias():
    perceptron = Perceptron(3)
    assert perceptron.weight.tolist() == [0.0, 0.0, 0.0] and perceptron.bias.item() == 0.0


def test_perceptron_output_is_heaviside_of_affine_score():
    generator = torch.Generator().manual_seed(0)
    X = torch.randn(20, 3, generator=generator, dtype=torch.float64)
    w, b = [0.5, -1.0, 2.0], 0.25
    perceptron = Perceptron.from_weights(torch.tensor(w, dtype=torch.float64), b)
    expected = [python_heaviside(sum(wi * xi for wi, xi in zip(w, x)) + b) for x in X.tolist()]
    assert perceptron(X).tolist() == expected


def test_voting_perceptron_outputs_zero_half_one_around_eighteen():
    voter = Perceptron.from_weights([1.0], -18.0)
    assert voter(torch.tensor([[17.0], [18.0], [19.0]])).tolist() == [0.0, 0.5, 1.0]


def test_perceptron_repr_names_in_features():
    assert "in_features=2" in repr(Perceptron(2))


@pytest.mark.parametrize("in_features", [0, -1, 2.0, True])
def test_perceptron_rejects_bad_in_features(in_features):
    with pytest.raises(ValueError, match="in_features"):
        Perceptron(in_features)


def test_from_weights_rejects_an_empty_weight():
    with pytest.raises(ValueError, match="weight"):
        Perceptron.from_weights([], 0.0)


@pytest.mark.parametrize("shape", [(4,), (4, 3), (0, 2)])
def test_perceptron_rejects_inputs_of_the_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        Perceptron(2)(torch.zeros(shape))


def test_perceptron_rejects_integer_inputs():
    with pytest.raises(TypeError, match="floating"):
        Perceptron(2)(torch.zeros(4, 2, dtype=torch.long))


def test_perceptron_rejects_inputs_of_another_dtype():
    with pytest.raises(TypeError, match="dtype"):
        Perceptron(2, dtype=torch.float32)(torch.zeros(4, 2, dtype=torch.float64))


# Rosenblatt's rule


def test_rule_converges_on_or_in_the_number_of_epochs_chapter_2_states():
    _, history, _, _ = train("or")
    assert (history.converged, history.epochs, history.num_updates) == (True, OR_EPOCHS, OR_UPDATES)


def test_rule_converges_on_and_in_the_number_of_epochs_chapter_2_states():
    _, history, _, _ = train("and")
    assert (history.converged, history.epochs, history.num_updates) == (True, AND_EPOCHS, AND_UPDATES)


@pytest.mark.parametrize("gate", ["or", "and", "nand", "nor"])
def test_learned_line_separates_the_gate_strictly(gate):
    perceptron, history, X, y = train(gate)
    scores = perceptron.score(X)
    assert history.converged
    assert ((scores > 0) == (y == 1)).all() and (scores != 0).all()


@pytest.mark.parametrize("gate", ["xor", "xnor"])
def test_rule_never_converges_on_a_gate_that_is_not_linearly_separable(gate):
    _, history, _, _ = train(gate, max_epochs=XOR_EPOCHS_TRIED)
    assert not history.converged
    assert history.epochs == XOR_EPOCHS_TRIED
    assert min(history.mistakes_per_epoch) >= 1


def test_rule_on_xor_returns_to_the_same_weights_after_every_epoch_from_the_second():
    _, history, _, _ = train("xor", max_epochs=50)
    w2, b2 = history.after_epoch(2)
    for epoch in range(3, 51):
        w, b = history.after_epoch(epoch)
        assert torch.equal(w, w2) and torch.equal(b, b2)


@pytest.mark.parametrize("gate,max_epochs", [("or", 100), ("and", 100), ("xor", 20), ("nand", 100)])
def test_rule_matches_a_plain_python_loop(gate, max_epochs):
    _, history, X, y = train(gate, max_epochs=max_epochs, lr=0.5)
    states, converged = python_rule(X.tolist(), y.tolist(), 0.5, max_epochs)
    assert history.converged == converged
    assert history.weights.tolist() == [w for w, _ in states]
    assert history.biases.tolist() == [b for _, b in states]


@pytest.mark.parametrize("lr", [0.01, 0.25, 3.0])
def test_learning_rate_only_scales_the_weights_when_starting_from_zero(lr):
    _, unit, _, _ = train("and", lr=1.0)
    _, scaled, _, _ = train("and", lr=lr)
    assert scaled.epochs == unit.epochs
    torch.testing.assert_close(scaled.weights, lr * unit.weights)


def test_history_records_each_update_with_its_epoch_and_example():
    _, history, X, y = train("or")
    assert isinstance(history, RuleHistory)
    assert history.weights.shape == (OR_UPDATES + 1, 2) and history.biases.shape == (OR_UPDATES + 1,)
    assert history.update_epochs.tolist() == sorted(history.update_epochs.tolist())
    assert sum(history.mistakes_per_epoch) == history.num_updates
    for update, (epoch, sample) in enumerate(zip(history.update_epochs, history.update_samples), start=1):
        # the example that caused the update was misclassified by the weights just before it
        before = Perceptron.from_weights(history.weights[update - 1], history.biases[update - 1])
        assert before(X[sample : sample + 1])[0] != y[sample]
        assert 1 <= epoch <= history.epochs


def test_after_epoch_zero_is_the_start_and_the_last_is_the_final_weights():
    perceptron, history, _, _ = train("and")
    assert history.after_epoch(0)[0].tolist() == [0.0, 0.0]
    w, b = history.after_epoch(history.epochs)
    assert torch.equal(w, perceptron.weight) and torch.equal(b, perceptron.bias)


def test_after_epoch_rejects_epochs_out_of_range():
    _, history, _, _ = train("or")
    with pytest.raises(ValueError, match="epoch"):
        history.after_epoch(history.epochs + 1)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 40))
def test_rule_converges_within_novikoffs_bound_on_separable_data(seed, n):
    # Data labelled by a random line and kept only when at least 0.05 away from it. Augmenting
    # x with a constant 1, Novikoff's argument bounds the updates by (R / gamma)^2, and by twice
    # that with H(0) = 1/2 (a point on the line triggers a half step, see the chapter's exercise).
    generator = torch.Generator().manual_seed(seed)
    X = torch.rand(4 * n, 2, generator=generator, dtype=torch.float64) * 4 - 2
    true_w = torch.randn(2, generator=generator, dtype=torch.float64)
    true_b = torch.rand((), generator=generator, dtype=torch.float64) - 0.5
    norm = torch.sqrt(true_w.square().sum() + true_b.square())
    margins = (X @ true_w + true_b) / norm
    keep = margins.abs() > 0.05
    X, y = X[keep][:n], (margins[keep][:n] > 0).to(torch.float64)
    gamma = float(margins[keep][:n].abs().min())
    radius_squared = float((X.square().sum(dim=1) + 1).max())
    history = rosenblatt_rule(Perceptron(2, dtype=torch.float64), X, y, max_epochs=100_000)
    assert history.converged
    assert history.num_updates <= 2 * radius_squared / gamma**2


def test_rule_rejects_something_that_is_not_a_perceptron():
    X, y = logic_gate("or")
    with pytest.raises(TypeError, match="Perceptron"):
        rosenblatt_rule(torch.nn.Linear(2, 1), X, y)


def test_rule_rejects_targets_other_than_zero_and_one():
    X, _ = logic_gate("or")
    with pytest.raises(ValueError, match="0 and 1"):
        rosenblatt_rule(Perceptron(2), X, torch.tensor([-1.0, 1.0, 1.0, 1.0]))


def test_rule_rejects_targets_of_the_wrong_length():
    X, _ = logic_gate("or")
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        rosenblatt_rule(Perceptron(2), X, torch.zeros(3))


def test_rule_rejects_inputs_with_the_wrong_number_of_features():
    X, y = logic_gate("or")
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        rosenblatt_rule(Perceptron(3), X, y)


@pytest.mark.parametrize("lr", [0, -1.0, math.nan, "1"])
def test_rule_rejects_a_learning_rate_that_is_not_positive(lr):
    X, y = logic_gate("or")
    with pytest.raises(ValueError, match="lr"):
        rosenblatt_rule(Perceptron(2), X, y, lr=lr)


@pytest.mark.parametrize("max_epochs", [0, 2.5, None])
def test_rule_rejects_a_max_epochs_that_is_not_a_positive_int(max_epochs):
    X, y = logic_gate("or")
    with pytest.raises(ValueError, match="max_epochs"):
        rosenblatt_rule(Perceptron(2), X, y, max_epochs=max_epochs)
