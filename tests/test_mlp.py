"""kanlab.mlp: the multi-layer perceptron, its hidden spaces, and full-batch training."""

import pytest
import torch

from kanlab.data import logic_gate
from kanlab.mlp import (MLP, accuracy, backprop_trace, backpropagate, classification_loss, collapsed_affine_map,
                        dead_at_start_probability, dead_units,
                        parameter_count, predict, train_classifier, train_seeds)


def test_output_has_one_row_per_input_and_out_features_columns():
    model = MLP([3, 4, 5, 2], seed=0)
    assert model(torch.zeros(7, 3)).shape == (7, 2)


def test_same_seed_gives_the_same_weights_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    first, second = MLP([2, 3, 1], seed=4), MLP([2, 3, 1], seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters()))
    assert not torch.equal(MLP([2, 3, 1], seed=5).layers[0].weight, first.layers[0].weight)


def test_initial_weights_lie_within_one_over_square_root_of_fan_in():
    model = MLP([16, 32, 1], seed=0)
    assert model.layers[0].weight.abs().max() <= 1 / 4
    assert model.layers[1].weight.abs().max() <= 1 / 32 ** 0.5


def test_forward_matches_the_formula_written_out():
    torch.manual_seed(0)
    model = MLP([2, 3, 1], activation="tanh", dtype=torch.float64)
    x = torch.randn(5, 2, dtype=torch.float64)
    (w1, b1), (w2, b2) = ((layer.weight, layer.bias) for layer in model.layers)
    assert torch.allclose(model(x), torch.tanh(x @ w1.T + b1) @ w2.T + b2)


def test_hidden_spaces_are_the_activations_after_each_hidden_layer():
    model = MLP.from_weights([[[1.0, -1.0], [0.0, 2.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
    (h1,) = model.hidden_spaces(torch.tensor([[1.0, 3.0]]))
    assert h1.tolist() == [[0.0, 5.0]]  # relu(1 - 3) = 0, relu(6 - 1) = 5
    assert model.hidden_spaces(torch.tensor([[1.0, 3.0]]), include_output=True)[-1].tolist() == [[5.5]]


def test_from_weights_rejects_a_layer_that_does_not_fit_the_previous_one():
    with pytest.raises(ValueError, match="layer 1"):
        MLP.from_weights([torch.zeros(2, 2), torch.zeros(1, 3)], [torch.zeros(2), torch.zeros(1)])


def test_identity_activation_makes_the_network_one_affine_map():
    model = MLP([2, 4, 3, 1], activation="identity", seed=1, dtype=torch.float64)
    x = torch.randn(10, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w, b = torch.eye(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    for layer in model.layers:
        w, b = layer.weight @ w, layer.weight @ b + layer.bias
    assert torch.allclose(model(x), x @ w.T + b)


def test_parameter_count_counts_every_weight_and_bias():
    assert parameter_count(MLP([2, 5, 1])) == 2 * 5 + 5 + 5 + 1


@pytest.mark.parametrize(
    ("widths", "activation", "message"),
    [([2], "relu", "at least 2"), ([2, 0, 1], "relu", "integers >= 1"), ([2, 1], "swish", "activation")],
)
def test_bad_arguments_are_refused_by_name(widths, activation, message):
    with pytest.raises(ValueError, match=message):
        MLP(widths, activation=activation)


def test_input_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        MLP([2, 1])(torch.zeros(3, 5))


def test_predict_reads_one_score_by_its_sign_and_several_by_the_largest():
    one = MLP.from_weights([[[1.0, 0.0]]], [[0.0]])
    assert predict(one, torch.tensor([[-1.0, 0.0], [2.0, 0.0]])).tolist() == [0, 1]
    three = MLP.from_weights([torch.eye(3)[:, :2]], [torch.tensor([0.0, 0.0, 0.5])])
    assert predict(three, torch.tensor([[1.0, 0.0], [0.0, 0.0]])).tolist() == [0, 2]


def test_binary_loss_is_the_cross_entropy_of_the_sigmoid():
    scores, y = torch.tensor([[0.0], [2.0]], dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64)
    expected = -(torch.log(torch.sigmoid(torch.tensor(0.0))) + torch.log(1 - torch.sigmoid(torch.tensor(2.0)))) / 2
    assert torch.isclose(classification_loss(scores, y), expected.double())


def test_training_a_hidden_layer_learns_xor():
    x, y = logic_gate("xor")
    model = MLP([2, 8, 1], activation="tanh", seed=0)
    history = train_classifier(model, x, y, epochs=300, lr=0.05, optimizer="adam")
    assert accuracy(model, x, y) == 1.0 and history.accuracy[-1] == 1.0
    assert history.loss[-1] < history.loss[0] / 10 and len(history.loss) == 300


def test_snapshots_restore_the_weights_of_their_epoch():
    x, y = logic_gate("xor")
    model = MLP([2, 2, 1], seed=0)
    start = [p.detach().clone() for p in model.parameters()]
    history = train_classifier(model, x, y, epochs=20, lr=0.5, snapshot_every=10)
    assert history.snapshot_epochs == [0, 10, 20]
    history.model_at(model, 0)
    assert all(torch.equal(a, b) for a, b in zip(start, model.parameters()))
    with pytest.raises(ValueError, match="snapshot epochs"):
        history.model_at(model, 5)


def test_classes_of_the_wrong_shape_are_refused():
    x, y = logic_gate("xor")
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        train_classifier(MLP([2, 1]), x, y[:3])


def test_dead_units_are_the_hidden_units_that_are_zero_on_every_input():
    # unit 1: relu(x1 - 2) is 0 on the whole square; unit 0: relu(x1 + x2) is not.
    model = MLP.from_weights([[[1.0, 1.0], [1.0, 0.0]], [[1.0, 1.0]]], [[0.0, -2.0], [0.0]])
    x, _ = logic_gate("xor")
    (dead,) = dead_units(model, x)
    assert dead.tolist() == [False, True]


def test_a_dead_unit_stays_dead_under_gradient_descent():
    x, y = logic_gate("xor", dtype=torch.float64)
    model = MLP.from_weights([[[1.0, 1.0], [-1.0, -1.0]], [[1.0, 1.0]]], [[-0.5, -0.1], [0.0]], dtype=torch.float64)
    dead_weights = model.layers[0].weight[1].detach().clone()
    train_classifier(model, x, y, epochs=50, lr=0.5)
    assert torch.equal(model.layers[0].weight[1], dead_weights) and dead_units(model, x)[0].tolist() == [False, True]


@pytest.mark.parametrize("widths", [[2, 2, 1], [2, 3, 3]])
def test_train_seeds_gives_each_seed_what_train_classifier_gives_it(widths):
    x, y = logic_gate("xor", dtype=torch.float64)
    if widths[-1] > 1:
        y = torch.tensor([0, 1, 2, 0])
    trained = train_seeds(widths, [0, 3, 7], x, y, epochs=40, lr=0.5)
    for seed, model in zip([0, 3, 7], trained):
        reference = MLP(widths, seed=seed, dtype=torch.float64)
        train_classifier(reference, x, y, epochs=40, lr=0.5)
        for mine, theirs in zip(model.parameters(), reference.parameters()):
            assert torch.allclose(mine, theirs, atol=1e-12)


def test_train_seeds_refuses_an_empty_list_of_seeds():
    x, y = logic_gate("xor")
    with pytest.raises(ValueError, match="seeds"):
        train_seeds([2, 2, 1], [], x, y)


def test_a_linear_stack_is_the_one_affine_map_its_product_gives():
    model = MLP([2, 5, 4, 3], activation="identity", seed=2, dtype=torch.float64)
    weight, bias = collapsed_affine_map(model)
    x = torch.randn(20, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = x
    for linear in model.layers:  # independent reference: apply each layer in turn
        expected = expected @ linear.weight.T + linear.bias
    assert weight.shape == (3, 2) and bias.shape == (3,)
    assert torch.allclose(x @ weight.T + bias, expected, atol=1e-12)
    assert torch.allclose(model(x), expected, atol=1e-12)


def test_collapsing_refuses_a_network_with_a_nonlinear_activation():
    with pytest.raises(ValueError, match="identity"):
        collapsed_affine_map(MLP([2, 3, 1], activation="relu"))


def test_from_space_answers_what_the_whole_network_answers_for_every_space():
    model = MLP([2, 3, 2, 1], activation="tanh", seed=1, dtype=torch.float64)
    x = torch.linspace(-1, 1, 10, dtype=torch.float64).reshape(5, 2)
    spaces = [x, *model.hidden_spaces(x)]
    for space, h in enumerate(spaces):
        assert torch.allclose(model.from_space(h, space), model(x))


def test_from_space_refuses_a_space_the_network_does_not_have():
    model = MLP([2, 2, 1])
    with pytest.raises(ValueError, match="space must be an integer from 0"):
        model.from_space(torch.zeros(1, 2), 2)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        model.from_space(torch.zeros(1, 3), 1)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "identity"])
def test_backpropagate_gives_autograds_gradient(activation):
    model = MLP([2, 3, 2, 1], activation=activation, seed=2, dtype=torch.float64)
    x = torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.9], [0.1, 0.2]], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    classification_loss(model(x), y).backward()
    for (weight_gradient, bias_gradient), linear in zip(backpropagate(model, x, y), model.layers):
        assert torch.allclose(weight_gradient, linear.weight.grad, atol=1e-12)
        assert torch.allclose(bias_gradient, linear.bias.grad, atol=1e-12)


def test_backpropagate_refuses_a_network_with_several_outputs():
    with pytest.raises(ValueError, match="one output"):
        backpropagate(MLP([2, 2, 3]), torch.zeros(1, 2), torch.zeros(1))


def test_backprop_trace_keeps_autograds_derivative_of_every_pre_activation_and_hidden_point():
    model = MLP([2, 3, 2, 1], activation="tanh", seed=1, dtype=torch.float64)
    x = torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.9]], dtype=torch.float64)
    y = torch.tensor([0.0, 1.0, 1.0], dtype=torch.float64)
    h, zs, hs = x, [], [x.clone().requires_grad_()]
    h = hs[0]
    for index, linear in enumerate(model.layers):
        z = linear(h)
        z.retain_grad()
        zs.append(z)
        h = torch.tanh(z) if index < len(model.layers) - 1 else z
        if index < len(model.layers) - 1:
            h.retain_grad()
            hs.append(h)
    loss = classification_loss(zs[-1], y)
    loss.backward()
    trace = backprop_trace(model, x, y)
    assert trace.loss == pytest.approx(loss.item(), abs=1e-14)
    for delta, z in zip(trace.deltas, zs):
        assert torch.allclose(delta, z.grad, atol=1e-14)
    for input_gradient, hidden in zip(trace.input_gradients, hs):
        assert torch.allclose(input_gradient, hidden.grad, atol=1e-14)


def test_a_relu_unit_that_is_off_on_an_input_passes_no_derivative_back_from_it():
    model = MLP.from_weights([[[1.0, 1.0], [1.0, 1.0]], [[1.0, -3.0]]], [[-0.5, -1.5], [-0.25]], dtype=torch.float64)
    trace = backprop_trace(model, torch.tensor([[0.0, 0.0]], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64))
    assert trace.deltas[0].tolist() == [[0.0, 0.0]] and trace.gradients[0][0].abs().max() == 0
    assert trace.input_gradients[1].abs().min() > 0  # the units are asked, but being off they pass nothing on


def test_dead_at_start_probability_on_the_xor_corners_is_thirteen_forty_eighths():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    assert dead_at_start_probability(x, samples=200_000) == pytest.approx(13 / 48, abs=0.004)


def test_dead_at_start_probability_of_one_input_at_the_origin_is_the_chance_of_a_negative_bias():
    assert dead_at_start_probability(torch.zeros(1, 3), samples=100_000) == pytest.approx(0.5, abs=0.005)


def test_dead_at_start_probability_matches_the_fraction_of_dead_units_in_freshly_drawn_networks():
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    dead = torch.cat([dead_units(MLP([2, 50, 1], seed=seed, dtype=torch.float64), x)[0] for seed in range(40)])
    assert float(dead.double().mean()) == pytest.approx(dead_at_start_probability(x), abs=0.03)


def test_dead_at_start_probability_refuses_an_empty_input():
    with pytest.raises(ValueError, match="x must be"):
        dead_at_start_probability(torch.zeros(0, 2))
