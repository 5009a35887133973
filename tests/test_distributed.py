"""kanlab.fit under PyTorch's DistributedDataParallel (DDP), with DDP's default arguments.

Two processes on the CPU (gloo, on the loopback interface only), each holding part of the samples
of exp(sin(pi x) + y^2), train one KAN as one process would on all of them, and end with the same
model, bit for bit. The processes are spawned once for the whole module (`trained`), each runs
every scenario of SCENARIOS and saves its model and history; the tests then read them. A hang
fails the test: every collective gives up after COLLECTIVE_TIMEOUT_S, and the processes are
killed after DEADLINE_S. With two CUDA devices the same scenarios also run with nccl, one device
per process (skipped otherwise).
"""

import os
import socket
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

import kanlab
from kanlab import distributed, symbolic
from kanlab.data import function_dataset
from kanlab.kan import KAN
from kanlab.train import LevenbergMarquardt, grid_extension

WORLD = 2
WIDTHS = [2, 5, 1]
N_TRAIN = N_TEST = 200
COLLECTIVE_TIMEOUT_S = 90
DEADLINE_S = 420

# name: how the two processes split the training samples (rank 0 takes the first `cut`), the dtype,
# and fit's arguments; "extend" trains through grid_extension instead of fit.
SCENARIOS = {
    "lbfgs": dict(cut=N_TRAIN // 2, fit=dict(steps=20)),
    "adam": dict(cut=N_TRAIN // 2, fit=dict(optimizer="adam", steps=60)),
    "lm": dict(cut=N_TRAIN // 2, fit=dict(optimizer="lm", steps=15)),
    "lbfgs-unequal-shards": dict(cut=60, fit=dict(steps=20)),
    # one quantile grid update (grid_eps < 1 needs every sample), then two LBFGS steps, in float64
    # so that one process's run can be followed to rounding
    "quantile-grid-float64": dict(cut=60, dtype=torch.float64,
                                  fit=dict(steps=2, update_grid_every=1, update_grid_until=1, grid_eps=0.02)),
    "sparsity-penalty": dict(cut=N_TRAIN // 2, fit=dict(steps=6, lamb=1e-3)),
    "grid-extension": dict(cut=N_TRAIN // 2, extend=dict(grid_sizes=[10], steps=6)),
}
TRAINING = ["lbfgs", "adam", "lm", "lbfgs-unequal-shards"]


def target(x):
    return torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2)


def dataset(name):
    return function_dataset(target, n_train=N_TRAIN, n_test=N_TEST, dtype=SCENARIOS[name].get("dtype"))


def shard(data, rank, cut):
    """Rank 0's part: the first cut training samples and the first half of the test samples."""
    def part(values, at):
        return values[:at] if rank == 0 else values[at:]

    return SimpleNamespace(x_train=part(data.x_train, cut), y_train=part(data.y_train, cut),
                           x_test=part(data.x_test, N_TEST // 2), y_test=part(data.y_test, N_TEST // 2))


def train(name, data, device="cpu", wrap=lambda model: model):
    """Train a fresh KAN on data as scenario name says; returns (the KAN, its history, the model fit saw last)."""
    scenario = SCENARIOS[name]
    model = wrap(KAN(WIDTHS, dtype=scenario.get("dtype")).to(device))
    if "extend" in scenario:
        model, history = grid_extension(model, data, progress=False, **scenario["extend"])[-1]
    else:
        history = kanlab.fit(model, data, progress=False, **scenario["fit"])
    return distributed.unwrap(model), history, model


def train_in_process(rank, port, backend, folder):
    """One process of WORLD: every scenario on its shard, saved to folder/rank{rank}.pt."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    torch.set_num_threads(1)
    dist.init_process_group(backend, rank=rank, world_size=WORLD, timeout=timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    try:
        results = {}
        for name, scenario in SCENARIOS.items():
            network, history, model = train(name, shard(dataset(name), rank, scenario["cut"]), device,
                                            wrap=DistributedDataParallel)  # DDP's default arguments
            state = {key: value.cpu() for key, value in network.state_dict().items()}
            results[name] = dict(state=state, history=history, wrapped=isinstance(model, DistributedDataParallel))
        results["bad data on rank 1"] = error_of_fit_with_a_nan_on_rank_1(rank, device)
        torch.save(results, os.path.join(folder, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def error_of_fit_with_a_nan_on_rank_1(rank, device):
    """The message of the ValueError that fit raises on this rank when rank 1's y_train holds a NaN."""
    data = shard(dataset("lbfgs"), rank, N_TRAIN // 2)
    if rank == 1:
        data.y_train = data.y_train.clone()
        data.y_train[0, 0] = float("nan")
    try:
        kanlab.fit(DistributedDataParallel(KAN(WIDTHS).to(device)), data, steps=2, progress=False)
    except ValueError as error:
        return str(error)
    return None


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spawn(backend, folder):
    """Run train_in_process in WORLD fresh processes; fail (and kill them) after DEADLINE_S."""
    context = mp.start_processes(train_in_process, args=(free_port(), backend, str(folder)), nprocs=WORLD,
                                 join=False, start_method="spawn")
    deadline = time.monotonic() + DEADLINE_S
    try:
        while not context.join(timeout=5):
            if time.monotonic() > deadline:
                pytest.fail(f"the {WORLD} training processes did not finish within {DEADLINE_S} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
    return [torch.load(folder / f"rank{rank}.pt", weights_only=False) for rank in range(WORLD)]


TWO_GPUS = pytest.mark.skipif(torch.cuda.device_count() < 2, reason="fewer than two CUDA devices")


@pytest.fixture(scope="module", params=["gloo-cpu", pytest.param("nccl-cuda", marks=TWO_GPUS)])
def trained(request, tmp_path_factory):
    """Every scenario's results on each rank: trained[rank][name] = dict(state, history, wrapped)."""
    backend = request.param.split("-")[0]
    return spawn(backend, tmp_path_factory.mktemp(f"ddp-{backend}"))


@pytest.fixture(scope="module")
def alone():
    """Every scenario trained by one process on all the data, on the CPU: alone(name) = (KAN, history)."""
    cache = {}

    def result(name):
        if name not in cache:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                cache[name] = train(name, dataset(name))[:2]
            finally:
                torch.set_num_threads(threads)
        return cache[name]

    return result


def rebuilt(state):
    model = KAN(WIDTHS, dtype=state["layers.0.grid"].dtype)
    model.load_state_dict(state)
    return model


def union_test_rmse(model, name):
    data = dataset(name)
    with torch.no_grad():
        return torch.sqrt(torch.mean((model(data.x_test) - data.y_test) ** 2)).item()


# ---- no parameter that the loss leaves out is trainable (DDP's defaults refuse one) ----


def every_trainable_parameter_gets_a_gradient(model):
    x = torch.rand(50, WIDTHS[0]) * 2 - 1
    model.zero_grad(set_to_none=True)
    model(x).square().mean().backward()
    return [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]


def test_every_trainable_parameter_of_a_fresh_kan_takes_part_in_its_loss():
    assert every_trainable_parameter_gets_a_gradient(KAN(WIDTHS)) == []


def test_a_symbolic_edge_makes_its_layers_formula_parameters_trainable_and_leaves_the_others_out():
    model = KAN(WIDTHS)
    symbolic.set_symbolic(model, 0, 0, 1, "sin")
    assert model.symbolic[0].affine.requires_grad and not model.symbolic[1].affine.requires_grad
    assert every_trainable_parameter_gets_a_gradient(model) == []
    model.symbolic[0].remove_edge(0, 1)
    assert not model.symbolic[0].affine.requires_grad


def test_a_loaded_kan_has_no_trainable_parameter_that_its_loss_leaves_out(tmp_path):
    model = KAN(WIDTHS)
    symbolic.set_symbolic(model, 1, 2, 0, "x")
    kanlab.save(model, tmp_path / "kan.pt")
    loaded = kanlab.load(tmp_path / "kan.pt")
    assert loaded.symbolic[1].affine.requires_grad and not loaded.symbolic[0].affine.requires_grad
    assert every_trainable_parameter_gets_a_gradient(loaded) == []


# ---- one process in a process group: DDP changes nothing ----


@pytest.fixture
def group_of_one(monkeypatch):
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{free_port()}", rank=0, world_size=1,
                            timeout=timedelta(seconds=COLLECTIVE_TIMEOUT_S))
    yield
    dist.destroy_process_group()


def test_a_kan_wrapped_in_ddp_alone_trains_as_the_bare_kan(group_of_one, one_thread):
    data = dataset("lbfgs")
    bare = KAN(WIDTHS)
    bare_history = kanlab.fit(bare, data, steps=6, progress=False)
    wrapped = DistributedDataParallel(KAN(WIDTHS))
    history = kanlab.fit(wrapped, data, steps=6, progress=False)
    assert history.grid_updates == bare_history.grid_updates == [5]
    for key, value in bare.state_dict().items():
        assert torch.equal(wrapped.module.state_dict()[key], value), key
    assert history.test_rmse == pytest.approx(bare_history.test_rmse, rel=1e-5)


def test_levenberg_marquardt_asks_for_the_network_inside_the_wrapper(group_of_one):
    with pytest.raises(TypeError, match="model.module"):
        LevenbergMarquardt(DistributedDataParallel(KAN(WIDTHS)))


# ---- two processes ----


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_rank_ends_with_bit_identical_parameters_and_grids(trained, name):
    states = [results[name]["state"] for results in trained]
    assert states[0].keys() == states[1].keys()
    differing = [key for key in states[0] if not torch.equal(states[0][key], states[1][key])]
    assert differing == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_rank_records_the_same_history(trained, name):
    first, second = (results[name]["history"] for results in trained)
    assert first.train_rmse == second.train_rmse and first.test_rmse == second.test_rmse
    assert first.grid_updates == second.grid_updates


@pytest.mark.parametrize("name", TRAINING)
def test_the_history_holds_the_errors_on_the_union_of_the_ranks_data(trained, name):
    results = trained[0][name]
    model = rebuilt(results["state"])
    assert results["history"].test_rmse[-1] == pytest.approx(union_test_rmse(model, name), rel=1e-5)


@pytest.mark.parametrize("name", TRAINING)
def test_training_lowers_the_error(trained, name):
    history = trained[0][name]["history"]
    assert len(history.train_rmse) == SCENARIOS[name]["fit"]["steps"]
    assert history.train_rmse[-1] < 0.5 * history.train_rmse[0]


@pytest.mark.parametrize("name", TRAINING)
def test_test_error_is_within_twice_that_of_one_process_trained_on_all_the_data(trained, alone, name):
    model, _ = alone(name)
    assert union_test_rmse(rebuilt(trained[0][name]["state"]), name) <= 2 * union_test_rmse(model, name)


@pytest.mark.parametrize("name", TRAINING)
def test_grid_updates_under_ddp_run_when_they_do_for_one_process_and_move_the_grids(trained, alone, name):
    _, history = alone(name)
    assert trained[0][name]["history"].grid_updates == history.grid_updates != []
    initial = KAN(WIDTHS).state_dict()
    for layer in range(len(WIDTHS) - 1):
        key = f"layers.{layer}.grid"
        assert not torch.allclose(trained[0][name]["state"][key], initial[key])


def test_a_quantile_grid_update_and_lbfgs_on_unequal_shards_follow_one_process_on_all_the_data(trained, alone):
    # 60 and 140 samples: each rank's loss weighs its mean by its share, so the gradient DDP
    # averages and the loss the line search compares are those of the mean over all 200
    name = "quantile-grid-float64"
    model, history = alone(name)
    state = trained[0][name]["state"]
    for key, value in model.state_dict().items():
        torch.testing.assert_close(state[key], value, rtol=1e-7, atol=1e-9, msg=key)
    assert trained[0][name]["history"].train_rmse == pytest.approx(history.train_rmse, rel=1e-7)


def test_the_sparsity_penalty_trains_under_ddp(trained):
    history = trained[0]["sparsity-penalty"]["history"]
    assert history.train_rmse[-1] < 0.5 * history.train_rmse[0]


def test_grid_extension_under_ddp_returns_wrapped_models_on_the_finer_grid(trained):
    results = trained[0]["grid-extension"]
    assert results["wrapped"]
    assert results["state"]["layers.0.spline_weight"].shape[-1] == 10 + 3  # G + k coefficients
    assert results["history"].grid_updates == [5]


def test_data_that_fails_its_check_on_one_rank_stops_every_rank_instead_of_hanging(trained):
    assert "y_train must be finite" in trained[1]["bad data on rank 1"]
    assert "1 other process(es) stopped" in trained[0]["bad data on rank 1"]
