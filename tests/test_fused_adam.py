"""kanlab.train.FusedAdam: torch.optim.Adam(fused=True)'s steps to the bit, its state dict, hooks,
the profiler's ranges, zero_grad, GradScaler, and the options and parameters it refuses."""

import copy
import functools

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

import kanlab
from kanlab.train import FusedAdam

pytestmark = pytest.mark.usefixtures("one_thread")

torch_fused_adam = functools.partial(torch.optim.Adam, fused=True)


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


def continue_from(state_dict, optimizer_class, steps):
    """A model and an optimizer_class that load state_dict (the model's and an optimizer's) and train
    `steps` more steps."""
    model = network()
    model.load_state_dict(state_dict[0])
    optimizer = optimizer_class(model.parameters(), lr=0.01)
    optimizer.load_state_dict(copy.deepcopy(state_dict[1]))  # (as from a file: no tensor shared)
    train(model, optimizer, steps, *batch())
    return model, optimizer


@pytest.mark.parametrize(("first", "second"), [(torch_fused_adam, FusedAdam), (FusedAdam, torch_fused_adam)],
                         ids=["FusedAdam loads torch's", "torch loads FusedAdam's"])
def test_fused_adam_keeps_torchs_state_so_either_loads_the_others_state_dict(first, second):
    model = network()
    optimizer = first(model.parameters(), lr=0.01)
    train(model, optimizer, 5, *batch())
    saved = (model.state_dict(), optimizer.state_dict())
    ours, ours_optimizer = continue_from(saved, second, 5)
    theirs, theirs_optimizer = continue_from(saved, first, 5)
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters(), strict=True))
    state, expected = ours_optimizer.state_dict()["state"], theirs_optimizer.state_dict()["state"]
    assert state.keys() == expected.keys()
    for index in expected:
        assert state[index].keys() == expected[index].keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert all(torch.equal(state[index][name], expected[index][name]) for name in expected[index])
        assert state[index]["step"].dtype == torch.float32 and float(state[index]["step"]) == 10


def test_fused_adam_goes_on_from_a_non_fused_adams_state_dict_with_float32_step_counts(monkeypatch):
    monkeypatch.setattr(torch, "get_default_dtype", lambda: torch.float64)  # non-fused Adam counts in float64
    model = network()
    plain = torch.optim.Adam(model.parameters(), lr=0.01)
    train(model, plain, 5, *batch())
    assert next(iter(plain.state.values()))["step"].dtype == torch.float64
    saved = (model.state_dict(), plain.state_dict())
    ours, optimizer = continue_from(saved, FusedAdam, 5)
    theirs, _ = continue_from(saved, torch.optim.Adam, 5)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # the fused and the for-loop Adam: to rounding
    assert all(group["fused"] is True for group in optimizer.param_groups)
    for state in optimizer.state.values():
        assert state["step"].dtype == torch.float32 and float(state["step"]) == 10


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


@pytest.mark.parametrize("optimizer_class", [FusedAdam, torch_fused_adam], ids=["FusedAdam", "torch"])
def test_step_hooks_see_the_arguments_of_step_and_may_replace_them(optimizer_class):
    model = network()
    x, y = batch()
    optimizer = optimizer_class(model.parameters(), lr=0.01)
    seen = []

    def closure():
        optimizer.zero_grad()
        loss = torch.mean((model(x) - y) ** 2)
        loss.backward()
        return loss

    def pre_hook(optimizer, args, kwargs):
        seen.append((args[1:], dict(kwargs)))
        return args, {**kwargs, "closure": closure}  # a common pattern: the hook supplies the closure

    handle = optimizer.register_step_pre_hook(pre_hook)
    try:
        loss = optimizer.step()
        optimizer.step(closure=closure)
    finally:
        handle.remove()
    assert seen == [((), {}), ((), {"closure": closure})]  # as torch.optim.Adam's hooks see them
    assert loss is not None and float(optimizer.state[model.layers[0].spline_weight]["step"]) == 2


def test_fused_adam_shows_its_steps_and_zero_grads_in_the_profiler():
    model = network()
    optimizer = FusedAdam(model.parameters(), lr=0.01)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        train(model, optimizer, 2, *batch())
    names = [event.name for event in profiler.events()]
    assert names.count("Optimizer.step#FusedAdam.step") == 2
    assert names.count("Optimizer.zero_grad#FusedAdam.zero_grad") == 2


@pytest.mark.parametrize("optimizer_class", [FusedAdam, torch_fused_adam], ids=["FusedAdam", "torch"])
def test_only_torchs_adam_opens_profiler_ranges_when_no_profiler_runs(monkeypatch, optimizer_class):
    opened = []
    original = torch.autograd.profiler.record_function

    class Counted(original):
        def __init__(self, name, *args):
            opened.append(name)
            super().__init__(name, *args)

    monkeypatch.setattr(torch.autograd.profiler, "record_function", Counted)
    model = network()
    optimizer = optimizer_class(model.parameters(), lr=0.01)
    train(model, optimizer, 2, *batch())
    assert float(optimizer.state[model.layers[0].spline_weight]["step"]) == 2
    assert len(opened) == (0 if optimizer_class is FusedAdam else 4)  # torch's: step and zero_grad, twice


@pytest.mark.parametrize("set_to_none", [True, False])
def test_fused_adam_zero_grad_clears_or_zeroes_the_gradients(set_to_none):
    model = network()
    optimizer = FusedAdam(model.parameters(), lr=0.01)
    train(model, optimizer, 1, *batch())
    had_gradient = [parameter.grad is not None for parameter in model.parameters()]
    assert any(had_gradient) and not all(had_gradient)  # (the symbolic edges' parameters get none)
    optimizer.zero_grad(set_to_none=set_to_none)
    for parameter, had in zip(model.parameters(), had_gradient):
        if set_to_none or not had:
            assert parameter.grad is None
        else:
            assert torch.count_nonzero(parameter.grad) == 0


def test_fused_adam_under_a_grad_scaler_steps_as_torchs_fused_adam_and_skips_non_finite_gradients():
    x, y = batch()
    models = [network(), network()]
    optimizers = [FusedAdam(models[0].parameters(), lr=0.01),
                  torch.optim.Adam(models[1].parameters(), lr=0.01, fused=True)]
    start = [p.clone() for p in models[0].parameters()]
    for model, optimizer in zip(models, optimizers):
        scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
        for factor in (float("inf"), 1.0, 1.0):  # a first step with infinite gradients, then two finite ones
            optimizer.zero_grad()
            scaler.scale(torch.mean((model(x) - y) ** 2) * factor).backward()
            scaler.step(optimizer)
            scaler.update()
        assert scaler.get_scale() == 512.0
    assert float(optimizers[0].state[models[0].layers[0].spline_weight]["step"]) == 2  # the skipped step not counted
    assert not any(torch.equal(p, b) for p, b in zip(models[0].layers.parameters(), start))  # it trained
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True))


def test_fused_adam_takes_a_tensor_learning_rate_as_torchs_fused_adam_does():
    x, y = batch()
    models = [network(), network()]
    optimizers = [FusedAdam(models[0].parameters(), lr=torch.tensor(0.01)),
                  torch.optim.Adam(models[1].parameters(), lr=torch.tensor(0.01), fused=True)]
    for model, optimizer in zip(models, optimizers):
        train(model, optimizer, 3, x, y)
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True))


@pytest.mark.parametrize("option", ["amsgrad", "maximize", "capturable", "differentiable", "decoupled_weight_decay"])
def test_fused_adam_refuses_the_options_it_does_not_take_in_every_way_they_come(option):
    model = network()
    with pytest.raises(ValueError, match=f"FusedAdam takes lr, betas, eps and weight_decay only, got {option}"):
        FusedAdam([{"params": model.layers[0].parameters(), option: True}], lr=0.01)
    optimizer = FusedAdam(model.layers[0].parameters(), lr=0.01)
    with pytest.raises(ValueError, match=option):
        optimizer.add_param_group({"params": model.layers[1].parameters(), option: True})
    assert len(optimizer.param_groups) == 1
    state_dict = optimizer.state_dict()
    state_dict["param_groups"][0][option] = True
    with pytest.raises(ValueError, match=option):
        optimizer.load_state_dict(state_dict)
    assert not optimizer.param_groups[0][option]


def test_fused_adam_refuses_a_group_that_asks_for_the_unfused_adam():
    model = network()
    optimizer = FusedAdam(model.layers[0].parameters(), lr=0.01)
    with pytest.raises(ValueError, match="got fused=False"):
        optimizer.add_param_group({"params": model.layers[1].parameters(), "fused": False})


def test_fused_adam_refuses_parameters_the_fused_kernel_does_not_take_and_keeps_its_groups():
    model = network()
    optimizer = FusedAdam(model.layers[0].parameters(), lr=0.01)
    with pytest.raises(RuntimeError, match="floating point Tensors of supported devices"):
        optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(3, dtype=torch.complex64))]})
    assert len(optimizer.param_groups) == 1
    with pytest.raises(RuntimeError, match="floating point Tensors of supported devices"):
        FusedAdam([torch.nn.Parameter(torch.zeros(3, device="meta"))], lr=0.01)
