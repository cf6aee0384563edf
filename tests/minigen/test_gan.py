"""GAN: the losses as the equations state them, the gradient penalty's double backward, the update
rules, consensus optimization's J^T v, exact resume, InfoGAN's codes, the numerics of the bilinear
game and the Dirac GAN, and progressive growing's fade-in."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

import autograd
from autograd import nn
from autograd.nn import functional as F
from minigen import data
from minigen.models.common import mlp, slerp
from minigen.models.gan import CONSENSUS_GAMMA, GAN, LOSSES, UPDATES, GANDefaults
from minigen.models.gan_numerics import BILINEAR, DIRAC_GAN
from minigen.models.progressive_gan import ProgressiveGAN, real_at, schedule


def small_gan(**kwargs):
    return GAN(2, latent_dim=2, hidden=(8, 8), **kwargs)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# -- contract -----------------------------------------------------------------------------------
def test_players_are_modules_and_samples_are_numpy_arrays_shaped_like_the_data():
    gan = small_gan()
    assert isinstance(gan.generator, nn.Module) and isinstance(gan.discriminator, nn.Module)
    samples = gan.sample(7)
    assert isinstance(samples, np.ndarray) and samples.shape == (7, 2) and samples.dtype == np.float32
    np.testing.assert_array_equal(gan.sample(5, seed=3), gan.sample(5, seed=3))


def test_the_config_rebuilds_an_identical_untrained_twin():
    gan = small_gan(loss="wgan-gp", update="consensus", seed=4)
    twin = GAN(**gan.config)
    for (name, a), (_, b) in zip(gan.state_dict().items(), twin.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("kwargs, words", [({"loss": "hinge"}, "loss"), ({"update": "extragradient"}, "update"),
                                           ({"architecture": "resnet"}, "architecture")])
def test_unknown_choices_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        small_gan(**kwargs)


def test_data_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"GAN.fit.*\(2,\).*\(3,\)"):
        small_gan().fit(np.zeros((10, 3)), steps=1, progress=False)


# -- the losses, against the equations ----------------------------------------------------------
def logits_of(gan, x):
    with autograd.no_grad():
        return gan.discriminator(autograd.tensor(x)).numpy().astype(np.float64)


def test_discriminator_loss_is_binary_cross_entropy_from_logits(rng):
    gan = small_gan(loss="nonsaturating")
    real, fake = rng.standard_normal((16, 2)).astype(np.float32), rng.standard_normal((16, 2)).astype(np.float32)
    expected = -np.log(sigmoid(logits_of(gan, real))).mean() - np.log(1 - sigmoid(logits_of(gan, fake))).mean()
    loss = gan.discriminator_loss(autograd.tensor(real), autograd.tensor(fake)).item()
    assert loss == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss, formula", [
    ("minimax", lambda l: np.log(1 - sigmoid(l)).mean()),
    ("nonsaturating", lambda l: -np.log(sigmoid(l)).mean()),
    ("wgan", lambda l: -l.mean()),
    ("wgan-gp", lambda l: -l.mean()),
])
def test_generator_losses_match_their_equations(loss, formula, rng):
    gan = small_gan(loss=loss)
    fake = rng.standard_normal((16, 2)).astype(np.float32)
    value = gan.generator_loss(autograd.tensor(fake)).item()
    assert value == pytest.approx(formula(logits_of(gan, fake)), rel=1e-5)


def test_minimax_saturates_where_nonsaturating_does_not():
    """d/dl of log(1 - sigmoid(l)) is -sigmoid(l), which vanishes when D rejects fakes (l << 0);
    d/dl of -log sigmoid(l) is sigmoid(l) - 1, which stays near -1 there."""
    logits = autograd.tensor(np.array([-12.0, -8.0]), requires_grad=True)
    (saturating,) = autograd.grad(-autograd.softplus(logits).sum(), [logits])
    (nonsaturating,) = autograd.grad(autograd.softplus(-logits).sum(), [logits])
    np.testing.assert_allclose(saturating.numpy(), -sigmoid(np.array([-12.0, -8.0])), rtol=1e-6)
    assert np.all(np.abs(saturating.numpy()) < 1e-3) and np.all(np.abs(nonsaturating.numpy()) > 0.99)


def test_minimax_generator_loss_is_finite_for_extreme_logits():
    logits = autograd.tensor(np.array([-200.0, 200.0], dtype=np.float32))
    assert np.all(np.isfinite((-autograd.softplus(logits)).numpy()))


def test_the_critic_step_leaves_the_generator_untouched():
    gan = small_gan()
    before = [p.data.copy() for p in gan.generator.parameters()]
    optimizer = autograd.optim.Adam(gan.discriminator.parameters(), lr=0.1)
    gan._critic_update(autograd.tensor(np.ones((8, 2), dtype=np.float32)), optimizer)
    for p, old in zip(gan.generator.parameters(), before):
        np.testing.assert_array_equal(p.data, old)
        assert p.grad is None


def test_wgan_clips_the_critic_weights():
    gan = small_gan(loss="wgan")
    gan.fit(np.random.default_rng(0).standard_normal((64, 2)), steps=2, batch_size=8, lr=0.5, progress=False)
    assert max(float(np.abs(p.data).max()) for p in gan.discriminator.parameters()) <= 0.01 + 1e-7


# -- the gradient penalty ------------------------------------------------------------------------
def penalty_of_weights(gan, real, fake, mix):
    """The penalty as a function of the critic's weights (which gradcheck hands in as float64)."""
    layers = [m for m in gan.discriminator.modules() if isinstance(m, nn.Linear)]

    def penalty(*weights):
        for layer, (w, b) in zip(layers, zip(weights[::2], weights[1::2])):
            layer.weight, layer.bias = w, b
        return gan.gradient_penalty(real, fake, mix)
    initial = [a for layer in layers for a in (layer.weight.data, layer.bias.data)]
    return penalty, initial


def gp_setup(rng):
    gan = GAN(2, latent_dim=2, hidden=(5,), loss="wgan-gp", gp_weight=10.0, seed=1)
    for p in gan.discriminator.parameters():
        p.data = p.data.astype(np.float64) * 3        # larger weights: gradient norms away from 1
    real, fake = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    mix = rng.random((4, 1))
    return penalty_of_weights(gan, real, fake, mix)


def test_gradient_penalty_gradient_wrt_critic_weights_matches_finite_differences(rng):
    penalty, weights = gp_setup(rng)
    assert autograd.gradcheck(penalty, weights)


def test_gradient_penalty_passes_gradgradcheck(rng):
    penalty, weights = gp_setup(rng)
    assert autograd.gradgradcheck(penalty, weights, atol=1e-4)


def test_gradient_penalty_formula_on_a_linear_critic(rng):
    """For D(x) = w.x + b the input gradient is w everywhere: penalty = lambda (|w| - 1)^2."""
    gan = GAN(3, latent_dim=2, hidden=(), loss="wgan-gp", gp_weight=10.0)
    (layer,) = [m for m in gan.discriminator.modules() if isinstance(m, nn.Linear)]
    w = layer.weight.data.astype(np.float64)
    value = gan.gradient_penalty(rng.standard_normal((6, 3)).astype(np.float32),
                                 rng.standard_normal((6, 3)).astype(np.float32)).item()
    assert value == pytest.approx(10.0 * (np.linalg.norm(w) - 1) ** 2, rel=1e-4)


# -- update rules and training ----------------------------------------------------------------------
@pytest.mark.parametrize("update", UPDATES)
@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_and_update_rule_trains_with_finite_losses(loss, update):
    gan = small_gan(loss=loss, update=update)
    before = [p.data.copy() for p in gan.parameters()]
    gan.fit(np.random.default_rng(0).standard_normal((40, 2)), steps=2, batch_size=4, progress=False)
    assert all(np.all(np.isfinite(v)) for v in gan.history.values()) and set(gan.history) == {"loss_d", "loss_g"}
    assert all(not np.array_equal(p.data, b) for p, b in zip(gan.generator.parameters(), before[-4:]))


def test_simultaneous_and_consensus_updates_differ():
    X = np.random.default_rng(0).standard_normal((40, 2))
    runs = [small_gan(update=u).fit(X, steps=1, batch_size=8, progress=False) for u in ("simultaneous", "consensus")]
    first, second = (np.concatenate([p.data.ravel() for p in g.parameters()]) for g in runs)
    assert not np.allclose(first, second)


# -- consensus optimization: gamma grad(1/2 ||v||^2) = gamma J^T v ------------------------------------
def float64_gan(**kwargs):
    gan = GAN(**kwargs)
    for p in gan.parameters():
        p.data = p.data.astype(np.float64)
    return gan


def vector_jacobian_product(outputs, inputs):
    """(d outputs / d inputs)^T outputs, by one more backward pass through the recorded gradients
    (an output that depends on no parameter, such as a constant gradient, adds nothing)."""
    outputs = [o for o in outputs if o.requires_grad]
    products = autograd.grad(outputs, list(inputs), grad_outputs=[o.detach() for o in outputs],
                             retain_graph=True)
    return [np.zeros(p.shape) if g is None else g.numpy() for g, p in zip(products, inputs)]


@pytest.mark.parametrize("loss, codes", [("nonsaturating", {}), ("wgan-gp", {}),
                                         ("minimax", {"n_codes": 3, "n_continuous": 2})])
def test_consensus_correction_is_gamma_j_transpose_v_term_by_term(loss, codes, rng):
    """For each player's parameters theta, J^T v = (dv_D/dtheta)^T v_D + (dv_G/dtheta)^T v_G, each
    term a double backward of its own.  G's cross term (dv_D/dtheta_G)^T v_D is as large as the
    others: a correction built on L_D with a detached x~ would lack it and fail here."""
    gan = float64_gan(data_dim=2, latent_dim=2, hidden=(6,), loss=loss, update="consensus", seed=3, **codes)
    real, z = autograd.tensor(rng.standard_normal((8, 2))), rng.standard_normal((8, 2))
    pinned = {"z": z, "codes": rng.integers(3, size=8), "continuous": rng.uniform(-1, 1, (8, 2))}

    def recorded_field():
        autograd.manual_seed(0)                                  # the same interpolates for WGAN-GP
        return gan.player_gradients(real, create_graph=True, **pinned)[0]
    correction = [c.numpy() for c in gan.consensus_correction(recorded_field())]
    v = recorded_field()
    n_d = len(list(gan.discriminator.parameters()))
    players = {"D": (v[:n_d], gan.player_parameters()[:n_d]), "G": (v[n_d:], gan.player_parameters()[n_d:])}
    terms = {(of, wrt): vector_jacobian_product(players[of][0], players[wrt][1]) for of in "DG" for wrt in "DG"}
    expected = [CONSENSUS_GAMMA * (d + g) for wrt in "DG" for d, g in zip(terms["D", wrt], terms["G", wrt])]
    for got, want in zip(correction, expected):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    cross = np.concatenate([t.ravel() for t in terms["D", "G"]])
    assert np.abs(cross).max() > 1e-3 * max(np.abs(e).max() for e in expected) and np.abs(cross).max() > 1e-4


class SmoothCritic(nn.Module):
    """A tanh critic: unlike a leaky-ReLU one, its input gradient varies with x, so WGAN-GP's penalty
    at x^ = e x + (1 - e) G(z) depends on G's weights."""

    def __init__(self):
        super().__init__()
        self.net = mlp([2, 3, 1], "tanh")

    def forward(self, x):
        return self.net(x).reshape(len(x))


@pytest.mark.parametrize("loss, smooth", [("nonsaturating", False), ("wgan-gp", False), ("wgan-gp", True)])
def test_consensus_correction_matches_finite_differences_of_half_the_squared_field(loss, smooth, rng):
    """gamma d(1/2 ||v(theta)||^2)/dtheta by central differences, for every parameter of both players."""
    gan = GAN(2, latent_dim=2, hidden=(3,), loss=loss, update="consensus", gp_weight=10.0, seed=2)
    if smooth:
        gan.discriminator = SmoothCritic()
    for p in gan.parameters():
        p.data = p.data.astype(np.float64)
    real, z = autograd.tensor(rng.standard_normal((6, 2))), rng.standard_normal((6, 2))

    def field(create_graph=False):
        autograd.manual_seed(0)
        return gan.player_gradients(real, create_graph=create_graph, z=z)[0]
    correction = np.concatenate([c.numpy().ravel() for c in gan.consensus_correction(field(create_graph=True))])
    numeric, eps = [], 1e-6
    for p in gan.player_parameters():
        for i in range(p.data.size):
            halves = []
            for sign in (1, -1):
                p.data.flat[i] += sign * eps
                halves.append(0.5 * sum(float((g.numpy() ** 2).sum()) for g in field()))
                p.data.flat[i] -= sign * eps
            numeric.append(CONSENSUS_GAMMA * (halves[0] - halves[1]) / (2 * eps))
    np.testing.assert_allclose(correction, numeric, rtol=1e-4, atol=1e-7)


def test_consensus_correction_on_a_bilinear_gan_is_the_hand_computed_j_transpose_v(rng):
    """G(z) = a z + b and D(x) = w x + c with the WGAN losses, batch means z_ and x_:
        L_D = w (a z_ + b - x_),   L_G = -w (a z_ + b) - c,
    so over theta = (w, c, a, b):  v = (a z_ + b - x_, 0, -w z_, -w)  and
        J = dv/dtheta = [[0, 0, z_, 1], [0, 0, 0, 0], [-z_, 0, 0, 0], [-1, 0, 0, 0]].
    v_G does not depend on (a, b): G's whole correction is the cross term, zero without it."""
    gan = float64_gan(data_dim=1, latent_dim=1, hidden=(), loss="wgan", update="consensus")
    (w, c, a, b) = (0.7, 0.2, -0.4, 1.3)
    for p, value in zip(gan.player_parameters(), (w, c, a, b)):
        p.data[...] = value
    real, z = rng.standard_normal((16, 1)), rng.standard_normal((16, 1))
    z_mean, x_mean = z.mean(), real.mean()
    v = gan.player_gradients(autograd.tensor(real), create_graph=True, z=z)[0]
    v_by_hand = np.array([a * z_mean + b - x_mean, 0.0, -w * z_mean, -w])
    np.testing.assert_allclose(np.concatenate([g.numpy().ravel() for g in v]), v_by_hand, rtol=1e-12)
    jacobian = np.array([[0, 0, z_mean, 1], [0, 0, 0, 0], [-z_mean, 0, 0, 0], [-1, 0, 0, 0]])
    expected = CONSENSUS_GAMMA * jacobian.T @ v_by_hand
    correction = np.concatenate([c.numpy().ravel() for c in gan.consensus_correction(v)])
    np.testing.assert_allclose(correction, expected, rtol=1e-12, atol=1e-14)
    assert np.all(np.abs(correction[2:]) > 0.1)


def test_a_consensus_step_moves_each_player_along_v_plus_the_correction():
    """With SGD(lr), one joint step moves theta by -lr (v + gamma J^T v), both evaluated before it."""
    gan = float64_gan(data_dim=2, latent_dim=2, hidden=(4,), update="consensus", seed=1)
    real = autograd.tensor(np.random.default_rng(2).standard_normal((6, 2)))
    before = [p.data.copy() for p in gan.player_parameters()]
    autograd.manual_seed(5)
    v = gan.player_gradients(real, create_graph=True)[0]
    direction = [g.numpy() + c.numpy() for g, c in zip(v, gan.consensus_correction(v))]
    optimizers = [autograd.optim.SGD(net.parameters(), lr=0.1) for net in (gan.discriminator, gan.generator)]
    autograd.manual_seed(5)
    gan._joint_update(real, *optimizers)
    for p, old, step in zip(gan.player_parameters(), before, direction):
        np.testing.assert_allclose(p.data, old - 0.1 * step, rtol=1e-10, atol=1e-12)


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    X = np.random.default_rng(0).standard_normal((60, 2))
    whole = small_gan(loss="wgan-gp").fit(X, steps=4, batch_size=4, progress=False)
    path = str(tmp_path / "gan.npz")

    def crash_at_step_3(model, step):
        if step == 3:
            raise RuntimeError("crash")
    with pytest.raises(RuntimeError, match="crash"):
        small_gan(loss="wgan-gp").fit(X, steps=4, batch_size=4, progress=False, checkpoint=path,
                                      checkpoint_every=1, callback=crash_at_step_3, callback_every=1)
    resumed = small_gan(loss="wgan-gp")
    resumed.fit(X, steps=4, batch_size=4, progress=False, resume=path)
    for (name, a), (_, b) in zip(whole.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7, err_msg=name)   # BLAS may differ by an ulp


# -- generator averaging ---------------------------------------------------------------------------
def test_the_generator_average_is_the_closed_form_ema_with_warm_up():
    """After updates t = 1..3 with weights theta_t: theta_avg = prod_t beta_t theta_0
    + sum_t (1 - beta_t) prod_{s > t} beta_s theta_t, beta_t = min(beta, (1 + t) / (10 + t))."""
    gan = GAN(64, latent_dim=3, hidden=(4,), architecture="conv", seed=0)
    rng = np.random.default_rng(0)
    key = "project.weight"
    name = gan._average_names()[key]
    theta = [gan.generator.state_dict()[key].astype(np.float64).copy()]
    betas = [min(0.9, (1 + t) / (10 + t)) for t in (1, 2, 3)]
    for t in (1, 2, 3):
        gan.generator.project.weight.data[...] = rng.standard_normal(theta[0].shape)
        theta.append(gan.generator.project.weight.data.astype(np.float64).copy())
        gan.update_average(t, 0.9)
    expected = np.prod(betas) * theta[0] + sum((1 - b) * np.prod(betas[i + 1:]) * theta[i + 1]
                                               for i, b in enumerate(betas))
    np.testing.assert_allclose(getattr(gan, name), expected, rtol=1e-5, atol=1e-6)
    assert "running_mean" in " ".join(gan._average_names()) and name in gan.state_dict()


def test_samples_use_the_average_and_leave_the_live_weights_alone():
    gan = GAN(64, latent_dim=3, hidden=(4,), architecture="conv", seed=0)
    gan.fit(np.random.default_rng(0).random((20, 64)).astype(np.float32), steps=2, batch_size=4, progress=False)
    gan.update_average(1000, 0.0)                     # decay 0: the average becomes a copy of the weights
    z = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    with autograd.no_grad():
        averaged = (gan.generator.eval()(autograd.tensor(z)).numpy() + 1) / 2
    gan.generator.project.weight.data += 1            # the live weights move away from the average
    live = {k: v.copy() for k, v in gan.generator.state_dict().items()}
    mode = gan.generator.train().training
    np.testing.assert_allclose(gan.decode(z), averaged, rtol=1e-6, atol=1e-7)
    for k, v in gan.generator.state_dict().items():
        np.testing.assert_array_equal(v, live[k])
    assert gan.generator.training == mode


# -- latent walks --------------------------------------------------------------------------------
@given(st.integers(0, 1000))
def test_slerp_ends_at_its_endpoints_and_keeps_equal_norms(seed):
    rng = np.random.default_rng(seed)
    z_a, z_b = rng.standard_normal(8), rng.standard_normal(8)
    z_b *= np.linalg.norm(z_a) / np.linalg.norm(z_b)
    path = slerp(z_a, z_b, 9)
    np.testing.assert_allclose(path[0], z_a, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(path[-1], z_b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z_a), rtol=1e-4)


# -- numerics: the bilinear game and the Dirac GAN -----------------------------------------------------
def step_jacobian(game, rule, lr, gamma=10.0, at=(0.0, 0.0), eps=1e-6):
    """Central differences of the update map u -> step(u) at `at`, (2, 2)."""
    columns = []
    for i in range(2):
        offset = np.zeros(2)
        offset[i] = eps
        plus, minus = (game.step(np.add(at, s * offset), rule, lr, gamma)[0] for s in (1, -1))
        columns.append((plus - minus) / (2 * eps))
    return np.stack(columns, axis=1)


@given(st.floats(0.01, 0.5))
def test_simultaneous_steps_on_the_bilinear_game_have_eigenvalues_one_plus_minus_i_eta(lr):
    eigenvalues = np.linalg.eigvals(step_jacobian(BILINEAR, "simultaneous", lr))
    np.testing.assert_allclose(sorted(eigenvalues, key=np.imag), [1 - 1j * lr, 1 + 1j * lr], atol=1e-7)


@given(st.floats(0.01, 0.05), st.floats(1.0, 10.0))
def test_consensus_eigenvalues_on_the_bilinear_game(lr, gamma):
    eigenvalues = np.linalg.eigvals(step_jacobian(BILINEAR, "consensus", lr, gamma))
    expected = [1 - lr * gamma - 1j * lr, 1 - lr * gamma + 1j * lr]
    np.testing.assert_allclose(sorted(eigenvalues, key=np.imag), expected, atol=1e-7)
    assert np.all(np.abs(eigenvalues) < 1)


def test_simultaneous_spirals_outward_alternating_circles_consensus_converges():
    lr, start = 0.1, np.array([1.0, 0.5])
    radius = {rule: np.linalg.norm(BILINEAR.trajectory(start, rule, lr, steps=100, gamma=1.0), axis=1)
              for rule in ("simultaneous", "alternating", "consensus")}
    growth = radius["simultaneous"][1:] / radius["simultaneous"][:-1]
    np.testing.assert_allclose(growth, np.sqrt(1 + lr ** 2), rtol=1e-12)       # every step, exactly
    assert 0.8 < radius["alternating"].min() and radius["alternating"].max() < 1.5
    assert radius["consensus"][-1] < 1e-3 * radius["consensus"][0]


def test_alternating_steps_on_the_bilinear_game_preserve_area():
    assert np.linalg.det(step_jacobian(BILINEAR, "alternating", 0.3)) == pytest.approx(1.0, abs=1e-8)


def test_dirac_gan_diverges_with_simultaneous_steps_and_converges_with_consensus():
    start = np.array([1.0, 1.0])
    simultaneous = DIRAC_GAN.trajectory(start, "simultaneous", lr=0.5, steps=200)
    consensus = DIRAC_GAN.trajectory(start, "consensus", lr=0.5, steps=200, gamma=1.0)
    assert np.linalg.norm(simultaneous[-1]) > 2 * np.linalg.norm(start)
    assert np.linalg.norm(consensus[-1]) < 1e-3


def test_dirac_gan_field_is_the_derivative_of_its_objective():
    """v = (d f / d theta, -d f / d psi) with f = log sigmoid(psi theta): v = (psi s, -theta s), s = sigmoid(-psi theta)."""
    points = np.array([[0.3, -1.2], [2.0, 0.5]])
    v_x, v_y = DIRAC_GAN.field(points)
    s = sigmoid(-points[:, 0] * points[:, 1])
    np.testing.assert_allclose(v_x.numpy(), points[:, 1] * s, rtol=1e-12)
    np.testing.assert_allclose(v_y.numpy(), -points[:, 0] * s, rtol=1e-12)


def test_game_points_of_the_wrong_shape_are_named():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        BILINEAR.step(np.zeros((3, 3)))


# -- convolutional nets and InfoGAN ----------------------------------------------------------------
def test_conv_gan_trains_and_samples_images_in_the_unit_interval():
    gan = GAN(64, latent_dim=4, hidden=(4,), loss="wgan-gp", architecture="conv")
    X = np.random.default_rng(0).random((20, 64)).astype(np.float32)
    gan.fit(X, steps=1, batch_size=4, progress=False)
    samples = gan.sample(6, seed=0)
    assert samples.shape == (6, 64) and samples.min() >= 0 and samples.max() <= 1
    assert all(np.all(np.isfinite(v)) for v in gan.history.values())


def test_conv_gan_needs_square_images():
    with pytest.raises(ValueError, match="data_dim=50"):
        GAN(50, architecture="conv")


def test_infogan_loss_is_the_cross_entropy_of_q_on_the_codes(rng):
    gan = small_gan(n_codes=3)
    fake = autograd.tensor(rng.standard_normal((5, 2)).astype(np.float32))
    codes = np.array([0, 2, 1, 1, 0])
    with autograd.no_grad():
        logits = gan.discriminator.q_head(gan.discriminator.features(fake)).numpy().astype(np.float64)
    log_q = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert gan.info_loss(fake, codes).item() == pytest.approx(-log_q[np.arange(5), codes].mean(), rel=1e-5)


def test_infogan_generator_reads_its_code_and_q_predicts_one_per_example():
    gan = small_gan(n_codes=3)
    z = np.zeros((3, 2), dtype=np.float32)
    images = gan.decode(z, codes=np.array([0, 1, 2]))
    assert not np.allclose(images[0], images[1])              # the same z, different codes
    gan.fit(np.random.default_rng(0).standard_normal((40, 2)), steps=2, batch_size=8, progress=False)
    predicted = gan.predict_code(np.zeros((4, 2)))
    assert predicted.shape == (4,) and set(predicted) <= {0, 1, 2}
    with pytest.raises(ValueError, match="codes"):
        gan.decode(z)


@pytest.mark.parametrize("learn_std", [False, True])
def test_infogan_continuous_loss_is_the_gaussian_negative_log_likelihood(learn_std, rng):
    """L_I = E[-log Q(c | x)] + lambda_u E[-sum_j log N(u_j; mu_j(x), sigma_j(x)^2)] (9), (10)."""
    gan = small_gan(n_codes=3, n_continuous=2, lambda_continuous=0.3, learn_std=learn_std)
    fake = autograd.tensor(rng.standard_normal((5, 2)).astype(np.float32))
    codes, u = np.array([0, 2, 1, 1, 0]), rng.uniform(-1, 1, (5, 2))
    with autograd.no_grad():
        features = gan.discriminator.features(fake)
        logits = gan.discriminator.q_head(features).numpy().astype(np.float64)
        out = gan.discriminator.q_continuous(features).numpy().astype(np.float64)
    mean, log_std = (out[:, :2], out[:, 2:]) if learn_std else (out, np.zeros_like(out))
    log_q = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    categorical = -log_q[np.arange(5), codes].mean()
    gaussian = -norm.logpdf(u, loc=mean, scale=np.exp(log_std)).sum(axis=1).mean()
    value = gan.info_loss(fake, codes, u).item()
    assert value == pytest.approx(categorical + 0.3 * gaussian, rel=1e-5)
    assert gan.continuous_nll(fake, u).item() == pytest.approx(gaussian, rel=1e-5)


def code_correlation(gan, n=500):
    """corr(u, Q's mean of u given G(z, u)) over n draws of z and u ~ U[-1, 1]."""
    rng = np.random.default_rng(1)
    u = rng.uniform(-1, 1, (n, 1))
    images = gan.decode(rng.standard_normal((n, gan.latent_dim)), continuous=u)
    return np.corrcoef(u[:, 0], gan.predict_continuous(images)[:, 0])[0, 1]


def test_a_short_infogan_run_makes_q_read_the_continuous_code_back():
    gan = GAN(2, latent_dim=2, hidden=(16, 16), n_continuous=1, seed=0)
    before = code_correlation(gan)
    gan.fit(data.toy_2d("8gaussians", 1000, seed=0), steps=200, batch_size=64, progress=False)
    after = code_correlation(gan)
    assert after > 0.9 and after > before + 0.3


def test_latent_sweep_varies_one_continuous_code_per_categorical_row():
    gan = small_gan(n_codes=3, n_continuous=2)
    values = np.linspace(-2, 2, 5)
    grid = gan.latent_sweep(index=1, values=values, seed=4)
    assert grid.shape == (3, 5, 2)
    z = np.random.default_rng(4).standard_normal((1, 2))
    middle = gan.decode(np.repeat(z, 3, axis=0), codes=np.arange(3), continuous=np.zeros((3, 2)))
    np.testing.assert_allclose(grid[:, 2], middle, rtol=1e-6, atol=1e-7)          # u_1 = 0 in the middle
    last = gan.decode(z, codes=np.array([2]), continuous=np.array([[0.0, 2.0]]))
    np.testing.assert_allclose(grid[2, 4], last[0], rtol=1e-6, atol=1e-7)
    assert not np.allclose(grid[0, 0], grid[0, -1]) and not np.allclose(grid[0, 0], grid[1, 0])
    with pytest.raises(ValueError, match="index"):
        gan.latent_sweep(index=2)


def test_infogan_with_continuous_codes_saves_and_loads(tmp_path):
    gan = small_gan(n_codes=3, n_continuous=2, learn_std=True)
    gan.fit(np.random.default_rng(0).standard_normal((40, 2)), steps=2, batch_size=8, progress=False)
    gan.save(tmp_path / "infogan.npz")
    twin = GAN.load(tmp_path / "infogan.npz")
    np.testing.assert_array_equal(twin.sample(6, seed=2), gan.sample(6, seed=2))
    X = np.random.default_rng(3).standard_normal((4, 2))
    np.testing.assert_array_equal(twin.predict_continuous(X), gan.predict_continuous(X))


def test_the_defaults_are_tuned_per_loss_and_architecture_and_overridable():
    assert small_gan(loss="wgan").settings() == GANDefaults.tuned("wgan", "mlp")
    assert small_gan(loss="wgan").settings().optimizer == "rmsprop"
    conv = GAN(64, latent_dim=3, hidden=(4,), loss="wgan-gp", architecture="conv").settings(steps=7)
    assert conv.steps == 7 and conv.batch_size == 64 and conv.n_critic == GANDefaults.tuned("wgan-gp", "conv").n_critic
    with pytest.raises(TypeError, match="GAN.fit.*stpes"):
        small_gan().settings(stpes=3)


# -- progressive growing -----------------------------------------------------------------------------


def small_progressive():
    return ProgressiveGAN(64, latent_dim=3, channels=4, seed=0)


def test_progressive_shapes_grow_two_four_eight():
    gan = small_progressive()
    z = autograd.randn(5, 3)
    for stage, side in enumerate((2, 4, 8)):
        images = gan.generator(z, stage)
        assert images.shape == (5, 1, side, side)
        assert gan.discriminator(images, stage).shape == (5,)
        assert gan.sample(5, seed=0, stage=stage).shape == (5, side * side)
    assert gan.sample(5, seed=0).shape == (5, 64)


@pytest.mark.parametrize("stage", [1, 2])
def test_at_alpha_zero_the_grown_generator_is_the_upsampled_previous_stage(stage):
    gan = small_progressive()
    z = autograd.randn(6, 3)
    with autograd.no_grad():
        faded_in = gan.generator(z, stage, alpha=0.0).numpy()
        previous = F.upsample_nearest(gan.generator(z, stage - 1), 2).numpy()
        halfway = gan.generator(z, stage, alpha=0.5).numpy()
    np.testing.assert_allclose(faded_in, previous, rtol=1e-6, atol=1e-7)
    assert not np.allclose(halfway, previous)


@pytest.mark.parametrize("stage", [1, 2])
def test_at_alpha_zero_the_grown_discriminator_reads_the_pooled_image(stage):
    gan = small_progressive()
    side = 2 ** (stage + 1)
    x = autograd.tensor(np.random.default_rng(stage).uniform(-1, 1, (6, 1, side, side)).astype(np.float32))
    with autograd.no_grad():
        faded_in = gan.discriminator(x, stage, alpha=0.0).numpy()
        previous = gan.discriminator(F.avg_pool2d(x, 2), stage - 1).numpy()
    np.testing.assert_allclose(faded_in, previous, rtol=1e-5, atol=1e-6)


def test_real_images_fade_in_like_the_generator():
    x = autograd.tensor(np.random.default_rng(0).random((3, 1, 8, 8)).astype(np.float32))
    np.testing.assert_allclose(real_at(x, 1, 1.0, 3).numpy(), F.avg_pool2d(x, 2).numpy())
    blurred = F.upsample_nearest(F.avg_pool2d(F.avg_pool2d(x, 2), 2), 2).numpy()
    np.testing.assert_allclose(real_at(x, 1, 0.0, 3).numpy(), blurred, rtol=1e-6)


def test_schedule_grows_one_stage_per_two_phases_and_fades_alpha_linearly():
    stages = [schedule(step, 500, 3) for step in range(500)]
    assert stages[0] == (0, 1.0) and stages[99] == (0, 1.0)
    assert stages[100] == (1, 0.0) and stages[150] == (1, pytest.approx(0.5)) and stages[200] == (1, 1.0)
    assert stages[300] == (2, 0.0) and stages[499] == (2, 1.0)
    alphas = [a for s, a in stages[300:400]]
    assert np.all(np.diff(alphas) > 0)


def test_progressive_gan_trains_through_every_stage():
    seen = []
    gan = small_progressive()
    X = np.random.default_rng(0).random((40, 64)).astype(np.float32)
    gan.fit(X, steps=10, batch_size=8, progress=False, callback=lambda model, step, s: seen.append((step, s)))
    assert [s for _, s in seen] == [0, 1, 2] and seen[-1][0] == 10
    samples = gan.sample(4, seed=0)
    assert samples.min() >= 0 and samples.max() <= 1
    assert all(np.all(np.isfinite(v)) for v in gan.history.values())
