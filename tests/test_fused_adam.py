"""kanlab.train.FusedAdam: torch.optim.Adam(fused=True)'s steps to the bit, its state dict, hooks,
the profiler's ranges, zero_grad and GradScaler."""

import copy

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

import kanlab
from kanlab.train import FusedAdam

pytestmark = pytest.mark.usefixtures("one_thread")


def network(dtype=torch.float32):
    return kanlab.KAN([2, 3, 1], grid_size=3, seed=0, dtype=dtype)


def batch(dtype=torch.float32):
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(64, 2, generator=generator, dtype=dtype) * 2 - 1
    return x, torch.rand(64, 1, generator=generator, dtype=dtype)


def train(model, optimizer, steps, x, y):
    for _ in range(steps):
        optimizer.zero_grad()
        torch.mean((model(x) - y) ** 2).backward()
        optimizer.step()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_fused_adam_takes_torchs_fused_steps_to_the_bit(dtype, weight_decay):
    models = [network(dtype), network(dtype)]
    optimizers = [
        FusedAdam(models[0].parameters(), lr=0.01, weight_decay=weight_decay),
        torch.optim.Adam(models[1].parameters(), lr=0.01, weight_decay=weight_decay, fused=True),
    ]
    x, y = batch(dtype)
    for model, optimizer in zip(models, optimizers):
        train(model, optimizer, 30, x, y)
    assert not torch.equal(models[0].layers[0].spline_weight, network(dtype).layers[0].spline_weight)  # it trained
    for ours, theirs in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(ours, theirs)


def test_fused_adam_keeps_torchs_state_so_either_loads_the_others_state_dict():
    x, y = batch()
    models = [network(), network()]
    theirs = torch.optim.Adam(models[1].parameters(), lr=0.01, fused=True)
    train(models[1], theirs, 5, x, y)
    models[0].load_state_dict(models[1].state_dict())
    ours = FusedAdam(models[0].parameters(), lr=0.01)
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))  # (as from a file: no tensor shared)
    train(models[0], ours, 5, x, y)
    train(models[1], theirs, 5, x, y)
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True))
    state, expected = ours.state_dict()["state"], theirs.state_dict()["state"]
    assert state.keys() == expected.keys()
    for index in expected:
        assert state[index].keys() == expected[index].keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert all(torch.equal(state[index][name], expected[index][name]) for name in expected[index])
        assert state[index]["step"].dtype == torch.float32 and float(state[index]["step"]) == 10


def test_fused_adam_leaves_parameters_without_a_gradient_alone():
    model = network()
    model.layers[0].requires_grad_(False)
    before = [p.clone() for p in model.layers[0].parameters()]
    optimizer = FusedAdam(model.parameters(), lr=0.01)
    train(model, optimizer, 3, *batch())
    assert all(torch.equal(p, b) for p, b in zip(model.layers[0].parameters(), before))
    assert all(p not in optimizer.state for p in model.layers[0].parameters())
    assert not torch.equal(model.layers[1].spline_weight, network().layers[1].spline_weight)


def test_fused_adam_updates_parameters_of_two_dtypes_in_one_group_as_torch_does():
    def pair():
        generator = torch.Generator().manual_seed(1)
        return [torch.nn.Parameter(torch.randn(5, generator=generator, dtype=dtype)) for dtype in (torch.float32,
                                                                                                    torch.float64)]

    ours, theirs = pair(), pair()
    optimizers = [FusedAdam(ours, lr=0.1), torch.optim.Adam(theirs, lr=0.1, fused=True)]
    for parameters, optimizer in zip((ours, theirs), optimizers):
        for _ in range(4):
            optimizer.zero_grad()
            sum((p**3).sum() for p in parameters).backward()
            optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))


def test_fused_adam_follows_a_learning_rate_scheduler():
    x, y = batch()
    models = [network(), network()]
    optimizers = [FusedAdam(models[0].parameters(), lr=0.05),
                  torch.optim.Adam(models[1].parameters(), lr=0.05, fused=True)]
    for model, optimizer in zip(models, optimizers):
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
        for _ in range(6):
            train(model, optimizer, 1, x, y)
            scheduler.step()
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True))


def test_fused_adam_returns_the_closures_loss():
    model = network()
    x, y = batch()
    optimizer = FusedAdam(model.parameters(), lr=0.01)

    def closure():
        optimizer.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.requires_grad and float(loss.detach()) > 0  # computed with gradients on, inside a no-grad step
    assert float(optimizer.state[model.layers[0].spline_weight]["step"]) == 1


def test_fused_adam_runs_its_own_and_the_global_step_hooks():
    model = network()
    optimizer = FusedAdam(model.parameters(), lr=0.01)
    calls = []
    handles = [
        optimizer.register_step_pre_hook(lambda *_: calls.append("pre")),
        optimizer.register_step_post_hook(lambda *_: calls.append("post")),
        register_optimizer_step_pre_hook(lambda *_: calls.append("global pre")),
        register_optimizer_step_post_hook(lambda *_: calls.append("global post")),
    ]
    try:
        train(model, optimizer, 1, *batch())
    finally:
        for handle in handles:
            handle.remove()
    assert calls == ["global pre", "pre", "post", "global post"]
    train(model, optimizer, 1, *batch())  # removed hooks stay silent
    assert len(calls) == 4


def test_fused_adam_shows_its_steps_and_zero_grads_in_the_profiler():
    model = network()
    optimizer = FusedAdam(model.parameters(), lr=0.01)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        train(model, optimizer, 2, *batch())
    names = [event.name for event in profiler.events()]
    assert names.count("Optimizer.step#FusedAdam.step") == 2
    assert names.count("Optimizer.zero_grad#FusedAdam.zero_grad") == 2


@pytest.mark.parametrize("set_to_none", [True, False])
def test_fused_adam_zero_grad_clears_or_zeroes_the_gradients(set_to_none):
    model = network()
    optimizer = FusedAdam(model.parameters(), lr=0.01)
    train(model, optimizer, 1, *batch())
    optimizer.zero_grad(set_to_none=set_to_none)
    for parameter in model.layers.parameters():
        assert parameter.grad is None if set_to_none else torch.count_nonzero(parameter.grad) == 0


def test_fused_adam_under_a_grad_scaler_skips_steps_with_non_finite_gradients_and_unscales_the_others():
    x, y = batch()
    models = [network(), network()]
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    ours, plain = FusedAdam(models[0].parameters(), lr=0.01), FusedAdam(models[1].parameters(), lr=0.01)
    before = [p.clone() for p in models[0].parameters()]
    ours.zero_grad()
    scaler.scale(torch.mean((models[0](x) - y) ** 2) * float("inf")).backward()
    scaler.step(ours)
    scaler.update()
    assert all(torch.equal(p, b) for p, b in zip(models[0].parameters(), before))
    assert scaler.get_scale() == 512.0
    ours.zero_grad()
    scaler.scale(torch.mean((models[0](x) - y) ** 2)).backward()
    scaler.step(ours)
    train(models[1], plain, 1, x, y)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        assert torch.equal(a, b)  # (scaling by a power of two and back is exact)
