"""Model collapse (Shumailov et al. 2023): the Gaussian's drift against (5), the mixture's shrinking
variance and tails, and the generic refit-and-resample loop (1); accumulating data (Gerstgrasser et al.
2024): the Gaussian's bounded drift against (10)-(11), and the loop (1')."""
import numpy as np
import pytest

from minigen.models import collapse

GENERATIONS, N_SAMPLES, CHAINS = 20, 20, 4000


def _gaussian_chains(accumulate=False):
    return collapse.gaussian_collapse(GENERATIONS, N_SAMPLES, n_chains=CHAINS, seed=0, accumulate=accumulate)


def _mean_log_variance(models):
    return np.array([np.log(model.variance).mean() for model in models])


def test_log_variance_drift_is_about_minus_one_over_m():
    for m in (10, 20, 100):
        assert -1.3 / m < collapse.log_variance_drift(m) < -1.0 / m


def test_gaussian_log_variance_drifts_down_as_theory_says():
    models = _gaussian_chains()
    measured = np.array([np.log(model.variance).mean() for model in models])
    theory = collapse.expected_log_variance(GENERATIONS, N_SAMPLES)
    # the standard error of a mean over 4000 chains of a walk with step variance ~2/M is < 0.025
    np.testing.assert_allclose(measured, theory, atol=0.08)
    assert measured[-1] < measured[0] - 0.8


def test_accumulated_log_variance_step_matches_monte_carlo():
    """E[log R_g] of (10) by the Frullani integral against 10^6 draws of (U_g, V_g)."""
    rng = np.random.default_rng(1)
    for generation in (1, 4):
        before, after = generation * N_SAMPLES, (generation + 1) * N_SAMPLES
        u, v = rng.chisquare(N_SAMPLES - 1, 10**6), rng.chisquare(1, 10**6)
        ratio = (before - 1 + u + before / after * v) / (after - 1)
        sampled = np.log(ratio).mean()
        standard_error = np.log(ratio).std() / 1e3
        assert collapse.accumulated_log_variance_step(generation, N_SAMPLES) == pytest.approx(sampled, abs=4 * standard_error)


def test_accumulating_data_keeps_the_gaussian_log_variance_where_theory_says():
    measured = _mean_log_variance(_gaussian_chains(accumulate=True))
    theory = collapse.expected_log_variance(GENERATIONS, N_SAMPLES, accumulate=True)
    # the chains' log variances have a standard deviation below 0.45: a standard error below 0.0075
    np.testing.assert_allclose(measured, theory, atol=0.025)


def test_accumulating_data_drifts_far_less_than_replacing_it():
    replaced, accumulated = _mean_log_variance(_gaussian_chains()), _mean_log_variance(_gaussian_chains(True))
    assert abs(accumulated[-1] - accumulated[0]) < 0.1 * abs(replaced[-1] - replaced[0])
    forever = collapse.expected_log_variance(1000, N_SAMPLES, accumulate=True)
    assert forever[-1] - forever[0] == pytest.approx(-2 * (np.pi ** 2 / 6 - 1) / N_SAMPLES, rel=0.05)
    assert collapse.expected_log_variance(1000, N_SAMPLES)[-1] < -50


def test_gaussian_variance_is_a_martingale_while_its_median_collapses():
    models = _gaussian_chains()
    means = np.array([model.variance.mean() for model in models])
    np.testing.assert_allclose(means, 1.0, atol=0.12)
    assert np.median(models[-1].variance) < 0.6 * np.median(models[0].variance)


def test_gaussian_tail_mass_shrinks():
    models = _gaussian_chains()
    first, last = collapse.gaussian_tail_mass(models[0]), collapse.gaussian_tail_mass(models[-1])
    assert abs(np.median(first) - 0.0455) < 0.01
    assert np.median(last) < 0.5 * np.median(first)


def test_em_recovers_a_well_separated_mixture():
    x = collapse.sample_gaussian_mixture(collapse.TAILED_MIXTURE, 20000, seed=1)
    model = collapse.fit_gaussian_mixture(x, seed=0)
    assert abs(collapse.mixture_variance(model) - x.var()) < 0.01 * x.var()   # EM keeps the moments
    order = np.argsort(model.variances)
    np.testing.assert_allclose(model.weights[order], [0.45, 0.45, 0.10], atol=0.03)
    np.testing.assert_allclose(np.sort(model.means[order[:2]]), [-2.0, 2.0], atol=0.1)


def test_mixture_loses_variance_and_tails_over_generations():
    truth = collapse.TAILED_MIXTURE
    width = 2 * np.sqrt(collapse.mixture_variance(truth))
    variances, tails = [], []
    for seed in range(8):
        data = collapse.sample_gaussian_mixture(truth, 50, seed=100 + seed)
        models = collapse.mixture_collapse(data, generations=30, n_samples=50, seed=seed)
        variances.append([collapse.mixture_variance(m) for m in models])
        tails.append([collapse.mixture_tail_mass(m, width) for m in models])
    variances, tails = np.array(variances), np.array(tails)                    # (chains, generations + 1)
    assert variances[:, -1].mean() < 0.7 * variances[:, 0].mean()
    assert np.median(tails[:, -1]) < np.median(tails[:, 0])


def test_recursive_training_refits_on_its_own_samples():
    calls = []

    def fit(data, seed):
        calls.append(np.asarray(data).copy())
        return float(np.mean(data))

    def sample(mean, n, seed):
        return mean + np.random.default_rng(seed).standard_normal(n)

    models = collapse.recursive_training(fit, sample, np.zeros(5), generations=3, n_samples=7, seed=0)
    again = collapse.recursive_training(fit, sample, np.zeros(5), generations=3, n_samples=7, seed=0)
    assert len(models) == 4 and models == again
    assert calls[0].shape == (5,) and all(c.shape == (7,) for c in calls[1:4])
    assert models[1] == calls[1].mean()
    replaced_draws = calls[1]
    calls.clear()
    accumulated = collapse.recursive_training(fit, sample, np.zeros(5), generations=3, n_samples=7, seed=0,
                                              accumulate=True)
    assert [c.shape for c in calls] == [(5,), (12,), (19,), (26,)]
    for earlier, later in zip(calls, calls[1:]):
        np.testing.assert_array_equal(later[:len(earlier)], earlier)          # (1'): nothing is replaced
    np.testing.assert_array_equal(calls[1][5:], replaced_draws)                # the same seeds, the same draws
    assert accumulated[1] == calls[1].mean()


def test_vae_collapse_loses_variance_when_replacing_and_keeps_more_when_accumulating():
    """Binary digits, binary draws: the spread of the decoder means E[x | z] over z ~ N(0, I)."""
    from minigen.data import load_digits
    X = load_digits("train", binarize=True)[:300]
    spreads = {}
    for accumulate in (False, True):
        models = collapse.vae_collapse(X, generations=3, n_samples=300, epochs=40, n_latent=2, hidden=(32,),
                                       accumulate=accumulate)
        assert len(models) == 4
        spreads[accumulate] = [collapse.total_variance(m.sample(300, seed=0)) for m in models]
    replaced, accumulated = spreads[False], spreads[True]
    assert replaced[0] == accumulated[0] < collapse.total_variance(X)
    assert replaced[-1] < 0.6 * replaced[0]
    assert accumulated[-1] > 1.3 * replaced[-1]
