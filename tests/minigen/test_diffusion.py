"""DDPM: schedules, the closed-form forward process, the posterior, the samplers with the exact
optimal eps, a trained denoiser against the exact optimal eps, and the variational bound."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from autograd import nn
from minigen.models.denoisers import MLPDenoiser, UNetDenoiser, timestep_embedding
from minigen.models.diffusion import DDPM, DDPMDefaults, VARIANCES, _log_normal_mass, grid_levels
from minigen.models.score import mixture_log_density, mixture_score
from minigen.models.sde import VPSDE

MEANS = np.array([[2.0, 2.0], [-2.0, -2.0]])
WEIGHTS = np.array([0.8, 0.2])
STD = 0.5


class Oracle(nn.Module):
    """An exact eps of known data: abar at the (maybe fractional) step of a batch, from the schedule."""

    def __init__(self, alphas_cumprod):
        super().__init__()
        self.alphas_cumprod = alphas_cumprod

    def abar(self, t):
        return float(np.interp(np.asarray(t, dtype=np.float64)[0], np.arange(len(self.alphas_cumprod)),
                               self.alphas_cumprod))


class MixtureOracle(Oracle):
    """The exact optimal eps for data sum_k w_k N(mu_k, STD^2 I): eps* = -sqrt(1 - abar) grad log q_t."""

    def forward(self, x, t):
        abar = self.abar(t)
        score = mixture_score(x.data, MEANS * math.sqrt(abar), WEIGHTS, abar * STD ** 2 + 1 - abar)
        return autograd.Tensor((-math.sqrt(1 - abar) * score).astype(np.float32))


def oracle_ddpm(T):
    model = DDPM((2,), T=T)
    model.denoiser = MixtureOracle(model.alphas_cumprod)
    return model


def mixture_weight_and_spread(samples):
    upper = samples[samples[:, 0] > 0]
    return len(upper) / len(samples), upper.std(axis=0)


# -- schedules ------------------------------------------------------------------------------------

def test_default_linear_schedule_ends_near_4e_5():
    model = DDPM((2,))
    assert model.betas.dtype == np.float64 and model.alphas_cumprod.dtype == np.float64
    assert model.betas.shape == (1000,) and model.alphas_cumprod.shape == (1000,)
    assert model.betas[0] == pytest.approx(1e-4) and model.betas[-1] == pytest.approx(0.02)
    assert model.alphas_cumprod[-1] == pytest.approx(4.0e-5, rel=0.02)


def test_linear_schedule_scales_with_T():
    model = DDPM((2,), T=100)
    assert model.betas[0] == pytest.approx(1e-3) and model.betas[-1] == pytest.approx(0.2)
    assert np.allclose(model.alphas_cumprod, np.cumprod(1 - model.betas))


def test_cosine_schedule_follows_its_formula():
    T = 200
    model = DDPM((2,), T=T, schedule="cosine")
    f = np.cos((np.arange(T + 1) / T + 0.008) / 1.008 * np.pi / 2) ** 2
    expected = f[1:] / f[0]
    unclipped = model.betas < 0.999
    assert np.allclose(model.alphas_cumprod[unclipped], expected[unclipped], rtol=1e-10)
    assert (model.betas <= 0.999).all() and (np.diff(model.betas) > 0).all()


# -- the forward process ----------------------------------------------------------------------------

def test_closed_form_marginal_equals_iterating_the_chain(rng):
    model = DDPM((3,), T=100)
    x0 = np.array([1.5, -0.5, 0.0])
    n, t = 40_000, 60
    x = np.broadcast_to(x0, (n, 3)).copy()
    for beta in model.betas[:t + 1]:                                 # (1), t + 1 steps: x_{t+1} 1-based
        x = math.sqrt(1 - beta) * x + math.sqrt(beta) * rng.standard_normal(x.shape)
    closed = model.q_sample(np.broadcast_to(x0, (n, 3)), np.full(n, t), rng.standard_normal((n, 3)))
    abar = model.alphas_cumprod[t]
    for draws in (x, closed):
        assert np.allclose(draws.mean(axis=0), math.sqrt(abar) * x0, atol=0.02)
        assert np.allclose(draws.var(axis=0), 1 - abar, atol=0.02)


def test_q_sample_keeps_tensors_differentiable():
    model = DDPM((2,), T=10)
    x0 = autograd.tensor(np.ones((4, 2)), requires_grad=True)
    x_t = model.q_sample(x0, np.array([0, 3, 5, 9]), autograd.zeros(4, 2, dtype=np.float64))
    x_t.sum().backward()
    assert np.allclose(x0.grad.numpy()[:, 0], np.sqrt(model.alphas_cumprod[[0, 3, 5, 9]]))


@given(t=st.integers(1, 99), x0=st.floats(-3, 3), x_t=st.floats(-3, 3))
def test_posterior_is_bayes_rule(t, x0, x_t):
    model = DDPM((1,), T=100)
    abar_prev, alpha, beta = model.alphas_cumprod[t - 1], model.alphas[t], model.betas[t]
    # prior x_{t-1} | x_0 = N(sqrt(abar_prev) x0, 1 - abar_prev), likelihood x_t | x_{t-1} = N(sqrt(alpha) x_{t-1}, beta)
    precision = 1 / (1 - abar_prev) + alpha / beta
    mean = (math.sqrt(abar_prev) * x0 / (1 - abar_prev) + math.sqrt(alpha) * x_t / beta) / precision
    got_mean, got_var = model.q_posterior(np.array([[x0]]), np.array([[x_t]]), np.array([t]))
    assert got_mean[0, 0] == pytest.approx(mean, rel=1e-9, abs=1e-9)
    assert got_var[0, 0] == pytest.approx(1 / precision, rel=1e-9)


# -- samplers with the exact optimal eps ------------------------------------------------------------

@pytest.mark.parametrize("method, steps, variance", [
    ("ddpm", None, "small"), ("ddpm", None, "large"), ("ddim", 20, "small"), ("ode", 100, "small")])
def test_exact_eps_samplers_reproduce_the_mixture(method, steps, variance):
    model = oracle_ddpm(T=1000 if method == "ode" else 100)
    samples = model.sample(2000, method=method, steps=steps, variance=variance, seed=0)
    weight, spread = mixture_weight_and_spread(samples)
    assert weight == pytest.approx(0.8, abs=0.03)
    assert np.allclose(spread, STD, atol=0.06)


def test_p_sample_is_the_ancestral_step_line_by_line(rng):
    model = oracle_ddpm(T=50)
    x_t, z = rng.standard_normal((6, 2)).astype(np.float32), rng.standard_normal((6, 2)).astype(np.float32)
    t = 30
    eps = model.predict_eps(x_t, np.full(6, t))
    beta, alpha, abar = model.betas[t], model.alphas[t], model.alphas_cumprod[t]
    mean = (x_t - beta / math.sqrt(1 - abar) * eps) / math.sqrt(alpha)                 # (5)
    for variance, sigma2 in (("small", model.posterior_variance[t]), ("large", beta)):
        stepped = model.p_sample(x_t, t, variance=variance, noise=z)
        assert np.allclose(stepped, mean + math.sqrt(sigma2) * z, atol=1e-5)


def test_last_ddpm_step_adds_no_noise(rng):
    model = oracle_ddpm(T=5)
    x_1 = rng.standard_normal((4, 2)).astype(np.float32)
    eps = model.predict_eps(x_1, np.zeros(4))
    expected = (x_1 - model.betas[0] / math.sqrt(1 - model.alphas_cumprod[0]) * eps) / math.sqrt(model.alphas[0])
    for variance in VARIANCES:
        stepped = model.p_sample(x_1, 0, variance=variance, noise=100 * np.ones((4, 2), dtype=np.float32))
        assert np.allclose(stepped, expected, atol=1e-5)


def test_ddim_step_moves_along_the_predicted_x0(rng):
    model = oracle_ddpm(T=40)
    x_t = rng.standard_normal((5, 2)).astype(np.float32)
    t, s = 30, 10
    eps = model.predict_eps(x_t, np.full(5, t))
    abar_t, abar_s = model.alphas_cumprod[t], model.alphas_cumprod[s]
    x0_hat = (x_t - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)                    # (6)
    assert np.allclose(model.ddim_step(x_t, t, s), math.sqrt(abar_s) * x0_hat + math.sqrt(1 - abar_s) * eps,
                       atol=1e-5)
    assert np.allclose(model.ddim_step(x_t, t, -1), x0_hat, atol=1e-5)                 # the last step: x0^
    z = rng.standard_normal((5, 2)).astype(np.float32)
    noisy = model.ddim_step(x_t, t, s, eta=1.0, noise=z)
    sigma = math.sqrt((1 - abar_s) / (1 - abar_t) * (1 - abar_t / abar_s))             # eta = 1: DDPM's beta~
    expected = math.sqrt(abar_s) * x0_hat + math.sqrt(1 - abar_s - sigma ** 2) * eps + sigma * z
    assert np.allclose(noisy, expected, atol=1e-5)


def test_return_trajectory_starts_at_noise_and_ends_at_the_samples():
    model = oracle_ddpm(T=20)
    samples, trajectory = model.sample(10, seed=1, return_trajectory=True)
    assert trajectory.shape == (21, 10, 2)
    assert np.array_equal(trajectory[-1], samples)


# -- training -------------------------------------------------------------------------------------

def test_loss_sums_over_dimensions_and_averages_over_the_batch():
    class Zero(nn.Module):
        def forward(self, x, t):
            return x * 0
    model = DDPM((5,), T=10, denoiser=Zero())
    loss = model.loss(np.zeros((20_000, 5), dtype=np.float32))
    assert loss.shape == () and float(loss) == pytest.approx(5.0, rel=0.03)   # E ||eps||^2 = D


def test_loss_with_pinned_t_and_noise_is_the_squared_error_of_eps(rng):
    model = DDPM((3,), T=20, seed=1)
    x0 = rng.standard_normal((8, 3)).astype(np.float32)
    t, noise = rng.integers(0, 20, 8), rng.standard_normal((8, 3)).astype(np.float32)
    x_t = model.q_sample(model.standardize(x0), t, noise)
    expected = ((model.predict_eps(x_t, t) - noise) ** 2).sum(axis=1).mean()             # (4)
    assert float(model.loss(x0, t=t, noise=noise)) == pytest.approx(float(expected), rel=1e-5)
    assert float(model.loss(x0, t=t, noise=noise)) == float(model.loss(x0, t=t, noise=noise))


def test_defaults_are_one_dataclass_chosen_by_the_data_shape():
    assert DDPM.Defaults is DDPMDefaults
    toy, digits = DDPM((2,), T=10).settings(), DDPM((64,), T=10).settings()
    assert (toy.steps, toy.batch_size, toy.lr, toy.data_std) == (6000, 256, 2e-3, 5.0)
    assert (digits.steps, digits.batch_size, digits.lr, digits.data_std) == (8000, 128, 1e-3, 1.0)
    assert DDPM((64,), T=10).settings(lr=0.5, steps=None).lr == 0.5
    with pytest.raises(TypeError, match="unknown setting"):
        DDPM((2,), T=10).settings(learning_rate=0.1)


def test_trained_denoiser_approaches_the_exact_optimal_eps():
    mean, std = np.array([1.0, -1.0]), 0.5
    data = (mean + std * np.random.default_rng(0).standard_normal((4000, 2))).astype(np.float32)
    model = DDPM((2,), T=100, denoiser=MLPDenoiser(2, hidden=32, n_layers=2, time_dim=16))
    model.fit(data, steps=400, batch_size=256, lr=1e-2, progress=False)
    rng = np.random.default_rng(1)
    t = np.full(2000, 30)
    x_t = model.q_sample(model.standardize(data[:2000]), t, rng.standard_normal((2000, 2)))
    mu_s = (mean - model.shift) / model.scale                          # the data in model coordinates
    var_s = (std / model.scale) ** 2
    abar = model.alphas_cumprod[30]
    optimal = math.sqrt(1 - abar) * (x_t - math.sqrt(abar) * mu_s) / (abar * var_s + 1 - abar)
    error = ((model.predict_eps(x_t.astype(np.float32), t) - optimal) ** 2).mean()
    assert error < 0.05 * (optimal ** 2).mean()


def test_fit_scales_the_data_to_data_std(rng):
    X = (5 + 0.1 * rng.standard_normal((300, 2))).astype(np.float32)
    model = DDPM((2,), T=10, data_std=2.0).fit(X, steps=1, progress=False)
    standardized = model.standardize(X)
    assert np.allclose(standardized.mean(axis=0), 0, atol=1e-4) and standardized.std() == pytest.approx(2.0, rel=1e-4)
    assert np.allclose(model.unstandardize(standardized), X, atol=1e-5)


def test_state_dict_round_trip_gives_the_same_eps():
    model = DDPM((2,), T=10, seed=3)
    model.shift = np.array([1.0, 2.0], dtype=np.float32)
    twin = DDPM(**model.config).load_state_dict(model.state_dict())
    x = np.ones((4, 2), dtype=np.float32)
    assert np.array_equal(model.predict_eps(x, np.arange(4)), twin.predict_eps(x, np.arange(4)))
    assert np.array_equal(twin.shift, model.shift)


def test_unet_keeps_the_shape_of_flat_and_image_input():
    autograd.manual_seed(0)
    unet = UNetDenoiser((1, 8, 8), channels=8, time_dim=16)
    flat = unet(autograd.randn(3, 64), np.array([0, 10, 999]))
    image = unet(autograd.randn(3, 1, 8, 8), np.array([0, 10, 999]))
    assert flat.shape == (3, 64) and image.shape == (3, 1, 8, 8)
    assert np.isfinite(flat.numpy()).all()
    assert isinstance(DDPM((1, 8, 8), T=10).denoiser, UNetDenoiser)
    assert isinstance(DDPM((64,), T=10).denoiser, MLPDenoiser)
    assert isinstance(DDPM((2,), T=10).denoiser, MLPDenoiser)


def test_timestep_embedding_is_sin_and_cos():
    embedding = timestep_embedding(np.array([0.0, 3.0]), 8).numpy()
    assert embedding.shape == (2, 8)
    assert np.allclose(embedding[0], [0, 0, 0, 0, 1, 1, 1, 1])
    assert embedding[1, 0] == pytest.approx(math.sin(3.0))


# -- the variational bound ------------------------------------------------------------------------

def test_log_normal_mass_matches_direct_difference():
    from scipy.special import log_ndtr, ndtr
    lower, upper = np.array([-np.inf, -1.0, 2.0, 9.0]), np.array([0.5, 1.0, np.inf, 9.5])
    with np.errstate(divide="ignore"):
        expected = np.log(ndtr(upper) - ndtr(lower))                  # -inf in the far tail: 1 - 1
    expected[3] = np.log(ndtr(-9.0) - ndtr(-9.5))                     # the far tail, by symmetry
    assert np.allclose(_log_normal_mass(lower, upper, log_ndtr), expected, rtol=1e-6)


def test_bound_is_at_least_the_entropy_of_uniform_bits(rng):
    # independent fair bits: -log P = D log 2 exactly, and no model can bound it from below
    X = (rng.random((400, 4)) < 0.5).astype(np.float32)
    model = DDPM((4,), T=20)
    model.shift, model.scale = np.full(4, 0.5, dtype=np.float32), np.asarray(0.5, dtype=np.float32)
    bound = model.nll_bound(X, levels=2)
    assert bound.shape == (400,) and np.isfinite(bound).all()
    assert bound.mean() >= 4 * math.log(2) - 0.05


def test_bound_is_near_exact_for_a_point_mass_with_the_oracle():
    # data always x0 = (1, 1, 1): the exact eps is (x_t - sqrt(abar) x0) / sqrt(1 - abar), so every
    # L_{t-1} vanishes and the bound is L_T + L_0, both tiny for binary data at +-1
    class PointOracle(nn.Module):
        def __init__(self, alphas_cumprod):
            super().__init__()
            self.alphas_cumprod = alphas_cumprod

        def forward(self, x, t):
            abar = self.alphas_cumprod[np.asarray(t, dtype=np.int64)][:, None]
            return autograd.Tensor(((x.data - np.sqrt(abar)) / np.sqrt(1 - abar)).astype(np.float32))
    model = DDPM((3,), T=50)
    model.denoiser = PointOracle(model.alphas_cumprod)
    model.shift, model.scale = np.zeros(3, dtype=np.float32), np.asarray(0.5, dtype=np.float32)
    X = np.full((10, 3), 0.5, dtype=np.float32)                      # standardized to 1.0
    bound, terms = model.nll_bound(X, levels=3, return_terms=True)
    assert np.all(bound >= 0) and bound.mean() < 0.05
    assert np.allclose(terms["transitions"], 0, atol=1e-3)
    assert np.allclose(bound, terms["prior"] + terms["transitions"] + terms["decoder"])
    with pytest.raises(ValueError, match="grid of 2 levels"):
        model.nll_bound(X, levels=2)
    assert model.decoder_step(levels=3) > 0                              # wide bins: a later decoder (8')
    assert model.decoder_step(levels=256) == 0                           # fine bins: (8) itself
    one_step = model.nll_bound(X, levels=3, decoder_step=0)             # (8) itself
    assert np.all(one_step >= 0) and one_step.mean() < 0.05


def test_log_prob_is_minus_the_bound_on_the_data_grid(rng):
    X = (rng.random((30, 4)) < 0.5).astype(np.float32)
    model = DDPM((4,), T=20).fit(X, steps=2, progress=False)
    assert DDPM.likelihood_kind == "bound"
    assert np.array_equal(model.log_prob(X), -model.nll_bound(X, levels=2))
    quantized = np.round(rng.random((30, 4)) * 16) / 16
    assert grid_levels(X) == 2 and grid_levels(quantized) == 17 and grid_levels(X + 0.3) is None
    assert np.array_equal(model.log_prob(quantized), -model.nll_bound(quantized, levels=17))
    assert model.score(X) == pytest.approx(float(model.log_prob(X).mean()))
    with pytest.raises(ValueError, match="DDPM.log_prob: .*grid of evenly spaced levels"):
        model.log_prob(X + 0.3)


def test_ode_log_prob_with_the_exact_eps_recovers_a_gaussian_density():
    mu, v = np.array([0.5, -1.0]), 0.3

    class GaussianOracle(Oracle):
        """eps* = sqrt(1 - abar) (x - sqrt(abar) mu) / (abar v + 1 - abar), written with Tensors."""

        def forward(self, x, t):
            abar = self.abar(t)
            return (x - math.sqrt(abar) * mu) * (math.sqrt(1 - abar) / (abar * v + 1 - abar))
    model = DDPM((2,))
    model.denoiser = GaussianOracle(model.alphas_cumprod)
    model.scale = np.asarray(2.0, dtype=np.float32)                    # data = 2 x (model coordinates)
    x = (2 * mu + 2 * math.sqrt(v) * np.random.default_rng(0).standard_normal((30, 2))).astype(np.float32)
    truth = mixture_log_density(x, 2 * mu[None], [1.0], 4 * v)
    assert np.abs(model.ode_log_prob(x) - truth).max() < 0.05


# -- errors ---------------------------------------------------------------------------------------

def test_bad_arguments_name_what_is_wrong():
    model = DDPM((2,), T=10)
    with pytest.raises(ValueError, match="schedule"):
        DDPM((2,), schedule="quadratic")
    with pytest.raises(ValueError, match=r"DDPM.fit: expected examples of shape \(2,\)"):
        model.fit(np.zeros((5, 3)), steps=1, progress=False)
    with pytest.raises(ValueError, match="DDPM.fit.*NaN"):
        model.fit(np.full((5, 2), np.nan), steps=1, progress=False)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 10\)"):
        model.q_sample(np.zeros((2, 2)), np.array([0, 10]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="shape"):
        model.q_sample(np.zeros((2, 2)), np.array([0, 1, 2]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="method"):
        model.sample(2, method="euler")
    with pytest.raises(ValueError, match="steps"):
        model.sample(2, method="ddim", steps=11)


def test_vp_sde_matches_the_ddpm_schedule():
    model = DDPM((2,))
    sde = VPSDE.from_ddpm(model)
    for t in (0.1, 0.5, 1.0):
        signal, _ = sde.marginal(t)
        # the chain's product of (1 - beta_i) and the SDE's exp(-integral of beta) agree to first order
        assert math.log(signal ** 2) == pytest.approx(math.log(model.alphas_cumprod[int(t * 1000) - 1]), abs=0.1)


# -- latent diffusion -------------------------------------------------------------------------------

class LinearCodec:
    """A fixed linear autoencoder: z = x W (scaled up, so the standardization has work to do)."""

    def __init__(self, weight):
        self.weight = weight

    def encode(self, X):
        return (X @ self.weight, None)                              # (mean, logvar) like a VAE

    def decode(self, Z):
        return Z @ np.linalg.pinv(self.weight)


def test_latent_diffusion_standardizes_codes_and_decodes_samples(rng):
    from minigen.models.latent_diffusion import LatentDiffusion
    X = rng.standard_normal((500, 6)).astype(np.float32)
    codec = LinearCodec(10 * rng.standard_normal((6, 3)).astype(np.float32))
    model = LatentDiffusion(codec, DDPM((3,), T=20, denoiser=MLPDenoiser(3, hidden=16, n_layers=2)))
    model.fit(X, steps=5, batch_size=100, progress=False)
    codes = model.encode(X)
    assert np.allclose(codes.mean(axis=0), 0, atol=1e-4) and np.allclose(codes.std(axis=0), 1, atol=1e-4)
    assert np.allclose(model.decode(codes), codec.decode(X @ codec.weight), atol=1e-3)
    samples = model.sample(7, method="ddim", steps=5, seed=0)
    assert samples.shape == (7, 6) and np.isfinite(samples).all()
    with pytest.raises(TypeError, match="encode"):
        LatentDiffusion(object(), DDPM((3,), T=5))


def test_registered_likelihood_row_is_a_bound_on_discrete_data(rng):
    from minigen import zoo
    entry = zoo.get("ddpm")
    X = (rng.random((50, 4)) < 0.5).astype(np.float32)
    model = DDPM((4,), T=20).fit(X, steps=2, progress=False)
    (label, kind, nll), = entry.likelihood(model, X)
    assert kind == "bound" and "2-level" in label and nll >= 4 * math.log(2) - 0.1
    assert entry.likelihood(model, X + 0.3) is None                    # continuous data: no discrete bound
    assert zoo.get("ncsn").model_class.__name__ == "NCSN"
