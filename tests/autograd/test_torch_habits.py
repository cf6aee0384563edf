"""PyTorch's spellings work as PyTorch users expect: dim= / keepdim=, Tensor.view, loss Modules,
parameter groups, and learning-rate schedulers (which resume exactly from their state dicts)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
import autograd.optim.lr_scheduler
from autograd import nn, optim
from autograd.nn import functional as F
from autograd.optim import lr_scheduler
from strategies import float64_arrays, shapes

REDUCTIONS = ["sum", "mean", "max", "min", "var", "logsumexp"]


# -- dim= / keepdim= ------------------------------------------------------------------------

@pytest.mark.parametrize("name", REDUCTIONS)
@given(shape=shapes(min_dims=1), data=st.data())
def test_dim_and_keepdim_mean_axis_and_keepdims(name, shape, data):
    x = ag.tensor(data.draw(float64_arrays(shape)))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keep = data.draw(st.booleans())
    expected = getattr(ag, name)(x, axis=axis, keepdims=keep).data
    np.testing.assert_array_equal(getattr(ag, name)(x, dim=axis, keepdim=keep).data, expected)
    np.testing.assert_array_equal(getattr(x, name)(dim=axis, keepdim=keep).data, expected)
    np.testing.assert_array_equal(getattr(x, name)(axis, keepdim=keep).data, expected)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "logsumexp"])
def test_dim_takes_a_list_of_axes(name):
    x = ag.tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(getattr(x, name)(dim=[0, 2]).data, getattr(x, name)(axis=(0, 2)).data)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_takes_dim(name):
    x = ag.tensor(np.random.default_rng(0).standard_normal((3, 4)))
    np.testing.assert_array_equal(getattr(ag, name)(x, dim=0).data, getattr(ag, name)(x, axis=0).data)
    np.testing.assert_array_equal(getattr(x, name)(dim=0).data, getattr(x, name)(0).data)
    np.testing.assert_array_equal(getattr(x, name)().data, getattr(x, name)(axis=-1).data)


@pytest.mark.parametrize("name", REDUCTIONS + ["softmax", "log_softmax"])
def test_axis_and_dim_together_is_a_type_error(name):
    x = ag.ones(2, 3)
    with pytest.raises(TypeError, match=rf"^{name}: got both axis=0 and dim=1"):
        getattr(x, name)(axis=0, dim=1)


def test_keepdims_and_keepdim_together_is_a_type_error():
    with pytest.raises(TypeError, match="sum: got both keepdims and keepdim"):
        ag.ones(2, 3).sum(dim=0, keepdims=True, keepdim=True)


def test_view_is_reshape_and_passes_gradients():
    x = ag.tensor(np.arange(6.0), requires_grad=True)
    y = x.view(2, 3)
    np.testing.assert_array_equal(y.data, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.view((3, -1)).data, np.arange(6.0).reshape(3, 2))
    (y * ag.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(6.0))


# -- loss Modules -----------------------------------------------------------------------------

def loss_cases():
    rng = np.random.default_rng(0)
    logits = ag.tensor(rng.standard_normal((4, 3)))
    return [
        (nn.MSELoss, F.mse_loss, logits, rng.standard_normal((4, 3))),
        (nn.BCEWithLogitsLoss, F.binary_cross_entropy_with_logits, logits, rng.random((4, 3))),
        (nn.CrossEntropyLoss, F.cross_entropy, logits, np.array([0, 2, 1, 2])),
    ]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_compute_their_functional_loss(reduction):
    for module, function, logits, target in loss_cases():
        loss = module(reduction=reduction)
        assert isinstance(loss, nn.Module) and repr(loss) == f"{module.__name__}(reduction={reduction!r})"
        expected = function(logits, target, reduction=reduction)
        np.testing.assert_array_equal(loss(logits, target).data, expected.data)


def test_loss_module_default_is_the_mean_and_gradients_flow():
    logits = ag.tensor(np.zeros((2, 4)), requires_grad=True)
    loss = nn.CrossEntropyLoss()(logits, [1, 3])
    assert math.isclose(loss.item(), math.log(4))
    loss.backward()
    expected = np.full((2, 4), 0.25 / 2)
    expected[[0, 1], [1, 3]] -= 0.5
    np.testing.assert_allclose(logits.grad.data, expected)


@pytest.mark.parametrize("module", [nn.MSELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss])
def test_loss_module_refuses_an_unknown_reduction(module):
    with pytest.raises(ValueError, match=rf"{module.__name__}: reduction must be 'mean', 'sum' or 'none'"):
        module(reduction="avg")


# -- parameter groups ---------------------------------------------------------------------------

def two_parameters():
    return ag.tensor(np.ones(2), requires_grad=True), ag.tensor(np.ones(3), requires_grad=True)


def test_param_groups_hold_params_and_settings():
    a, b = two_parameters()
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.0, 0.9]
    assert opt.param_groups[1]["params"][0] is b and opt.params == [a, b]
    single = optim.Adam([a], lr=0.01)
    assert len(single.param_groups) == 1 and single.param_groups[0]["betas"] == (0.9, 0.999)


def test_each_group_steps_with_its_own_learning_rate():
    a, b = two_parameters()
    opt = optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.01}])
    a.grad, b.grad = ag.tensor(np.full(2, 2.0)), ag.tensor(np.full(3, 2.0))
    opt.step()
    np.testing.assert_allclose(a.data, 1 - 0.1 * 2)
    np.testing.assert_allclose(b.data, 1 - 0.01 * 2)


def test_lr_and_hyperparameters_still_steer_the_step():
    a, b = two_parameters()
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    opt.lr = 0.2
    assert [g["lr"] for g in opt.param_groups] == [0.2, 0.2] and opt.lr == 0.2
    opt.hyperparameters["lr"] = 0.3
    a.grad = ag.tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, 1 - 0.3)


@pytest.mark.parametrize("case, error, message", [
    ("empty", ValueError, "empty parameter list"),
    ("empty group", ValueError, "group has an empty parameter list"),
    ("no params", ValueError, "needs a 'params' entry"),
    ("mixed", TypeError, "mixes dicts"),
    ("twice", ValueError, "more than once"),
    ("typo", TypeError, r"unknown settings \['Lr'\]"),
    ("tensor", TypeError, "wrap it in a list"),
])
def test_bad_parameter_groups(case, error, message):
    a, b = two_parameters()
    given = {"empty": [], "empty group": [{"params": []}], "no params": [{"lr": 0.1}],
             "mixed": [a, {"params": [b]}], "twice": [{"params": [a]}, {"params": [a, b]}],
             "typo": [{"params": [a], "Lr": 0.1}], "tensor": a}[case]
    with pytest.raises(error, match=message):
        optim.Adam(given)


# -- optimizer state dicts ------------------------------------------------------------------------

def train_steps(opt, params, grads):
    for g in grads:
        for p, gp in zip(params, g):
            p.grad = ag.tensor(gp)
        opt.step()


GRADS = [(np.array([0.1, -0.3]), np.array([0.2, 0.4, -0.1])),
         (np.array([0.3, 0.1]), np.array([-0.5, 0.2, 0.3]))]


def test_an_old_checkpoint_without_param_groups_still_loads(tmp_path):
    a, b = two_parameters()
    opt = optim.Adam([a, b], lr=0.01, betas=(0.8, 0.9))
    train_steps(opt, (a, b), GRADS[:1])
    old = {"hyperparameters": {"lr": 0.02, "betas": [0.7, 0.95], "eps": 1e-8, "weight_decay": 0.0},
           "step_count": opt.step_count, "state": opt.state_dict()["state"]}
    ag.save(old, tmp_path / "old.npz")
    c, d = two_parameters()
    fresh = optim.Adam([c, d])
    fresh.load_state_dict(ag.load(tmp_path / "old.npz"))
    assert fresh.lr == 0.02 and fresh.param_groups[0]["betas"] == (0.7, 0.95) and fresh.step_count == 1
    np.testing.assert_array_equal(fresh.state[1]["exp_avg"], opt.state[1]["exp_avg"])


def test_group_settings_round_trip_and_mismatches_are_named(tmp_path):
    a, b = two_parameters()
    opt = optim.SGD([{"params": [a], "lr": 0.1}, {"params": [b], "lr": 0.2, "momentum": 0.5}])
    train_steps(opt, (a, b), GRADS)
    ag.save(opt.state_dict(), tmp_path / "opt.npz")
    c, d = two_parameters()
    same = optim.SGD([{"params": [c]}, {"params": [d]}])
    same.load_state_dict(ag.load(tmp_path / "opt.npz"))
    assert [(g["lr"], g["momentum"]) for g in same.param_groups] == [(0.1, 0.0), (0.2, 0.5)]
    with pytest.raises(ValueError, match=r"groups of sizes \[1, 1\], this optimizer's are \[2\]"):
        optim.SGD([c, d]).load_state_dict(ag.load(tmp_path / "opt.npz"))
    longer = ag.tensor(np.ones(4), requires_grad=True)
    with pytest.raises(ValueError, match=r"state/1/momentum_buffer has shape \(3,\), the parameter has shape \(4,\)"):
        optim.SGD([{"params": [c]}, {"params": [longer]}]).load_state_dict(ag.load(tmp_path / "opt.npz"))


# -- learning-rate schedulers ---------------------------------------------------------------------

def sgd(lr=1.0):
    return optim.SGD([ag.tensor(np.zeros(1), requires_grad=True)], lr=lr)


def rates(scheduler, steps):
    """The rate each optimizer step would use: the one set before it, then scheduler.step()."""
    seen = []
    for _ in range(steps):
        seen.append(scheduler.optimizer.lr)
        scheduler.optimizer.step()
        scheduler.step()
    return seen


def test_the_three_import_spellings_reach_one_module():
    assert autograd.optim.lr_scheduler is lr_scheduler is optim.lr_scheduler


def test_step_lr_falls_by_gamma_every_step_size_steps():
    scheduler = lr_scheduler.StepLR(sgd(0.5), step_size=3, gamma=0.1)
    expected, lr = [], 0.5
    for epoch in range(10):                        # PyTorch's recursive form: multiply at each boundary
        if epoch and epoch % 3 == 0:
            lr *= 0.1
        expected.append(lr)
    np.testing.assert_allclose(rates(scheduler, 10), expected, rtol=1e-12)
    assert scheduler.get_last_lr() == [scheduler.optimizer.lr]


def test_cosine_annealing_goes_from_the_base_rate_to_eta_min():
    scheduler = lr_scheduler.CosineAnnealingLR(sgd(0.1), T_max=10, eta_min=0.001)
    seen = rates(scheduler, 11)
    assert seen[0] == 0.1 and math.isclose(seen[10], 0.001)
    assert all(later < earlier for earlier, later in zip(seen, seen[1:]))
    assert math.isclose(seen[5], (0.1 + 0.001) / 2)                  # halfway, cos(pi / 2) = 0


def test_lambda_lr_has_one_function_per_group():
    a, b = two_parameters()
    opt = optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 2.0}])
    scheduler = lr_scheduler.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: 1 / (e + 1)])
    for _ in range(3):
        scheduler.step()
    assert scheduler.get_last_lr() == [1.0 * 0.5 ** 3, 2.0 / 4]
    assert [g["lr"] for g in opt.param_groups] == scheduler.get_last_lr()
    with pytest.raises(ValueError, match="1 lr_lambdas for 2 parameter groups"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="must be callable"):
        lr_scheduler.LambdaLR(opt, 0.5)


def test_bad_scheduler_arguments():
    with pytest.raises(ValueError, match="StepLR: step_size must be an int of at least 1, got 0"):
        lr_scheduler.StepLR(sgd(), step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be an int of at least 1"):
        lr_scheduler.CosineAnnealingLR(sgd(), T_max=2.5)
    with pytest.raises(TypeError, match="expected an autograd.optim Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="no 'initial_lr'"):
        lr_scheduler.StepLR(sgd(), step_size=2, last_epoch=4)


def make_run():
    ag.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.05)
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=6, eta_min=0.001)
    return model, opt, scheduler


def train(model, opt, scheduler, steps, start):
    rng = np.random.default_rng(start)
    for _ in range(steps):
        x = ag.tensor(rng.standard_normal((8, 3)).astype(np.float32))
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        scheduler.step()


@pytest.mark.parametrize("scheduler_first", [True, False])
def test_a_resumed_schedule_matches_an_uninterrupted_one_bit_for_bit(tmp_path, scheduler_first):
    model, opt, scheduler = make_run()
    for start in range(4):
        train(model, opt, scheduler, 1, start)
    expected = [p.numpy().copy() for p in model.parameters()]

    model, opt, scheduler = make_run()
    for start in range(2):
        train(model, opt, scheduler, 1, start)
    ag.save({"model": model.state_dict(), "opt": opt.state_dict(), "scheduler": scheduler.state_dict()},
            tmp_path / "ckpt.npz")
    saved = ag.load(tmp_path / "ckpt.npz")
    model, opt, scheduler = make_run()
    model.load_state_dict(saved["model"])
    parts = [(scheduler, saved["scheduler"]), (opt, saved["opt"])]
    for part, state in (parts if scheduler_first else parts[::-1]):
        part.load_state_dict(state)
    assert scheduler.last_epoch == 2 and opt.lr == scheduler.get_last_lr()[0]
    for start in range(2, 4):
        train(model, opt, scheduler, 1, start)
    for p, q in zip(model.parameters(), expected):
        np.testing.assert_array_equal(p.numpy(), q)


def test_scheduler_state_dict_is_plain_and_checked():
    scheduler = lr_scheduler.StepLR(sgd(0.5), step_size=2, gamma=0.5)
    rates(scheduler, 3)
    state = scheduler.state_dict()
    assert state == {"step_size": 2, "gamma": 0.5, "base_lrs": [0.5], "last_epoch": 3, "_last_lr": [0.25]}
    with pytest.raises(KeyError, match=r"missing keys \['gamma'\]"):
        without_gamma = {k: v for k, v in state.items() if k != "gamma"}
        lr_scheduler.StepLR(sgd(), step_size=2).load_state_dict(without_gamma)
    assert "lr_lambdas" not in lr_scheduler.LambdaLR(sgd(), lambda e: 1.0).state_dict()
