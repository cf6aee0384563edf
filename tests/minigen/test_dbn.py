"""DBN: greedy training on hidden probabilities, sampling, and the variational bound on log p(x)."""
import itertools

import numpy as np
import pytest

from minigen.models.dbn import DBN
from minigen.models.rbm import RBMDefaults


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def randomize(dbn, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    for rbm in dbn.rbms:
        for p in (rbm.W, rbm.vbias, rbm.hbias):
            p.data[...] = scale * rng.standard_normal(p.shape)
    return dbn


def exact_log_prob(dbn, X):
    """log sum_h1 p(x | h1) p_top(h1) for a two-RBM DBN, by brute force over h1."""
    bottom, top = dbn.rbms
    h1 = all_states(bottom.n_hidden)
    W, b = bottom.W.data.astype(np.float64), bottom.vbias.data.astype(np.float64)
    logits = h1 @ W.T + b                                                      # (2^H, D)
    log_px_given_h = X @ logits.T - np.logaddexp(0, logits).sum(axis=1)        # (n, 2^H)
    return np.logaddexp.reduce(log_px_given_h + top.log_prob(h1), axis=1)


def test_bound_is_below_the_exact_log_likelihood():
    dbn = randomize(DBN([4, 3, 2]), seed=1)
    X = all_states(4)
    bound = dbn.log_prob_bound(X, method="exact", n_samples=4000, seed=0)
    exact = exact_log_prob(dbn, X)
    assert np.all(bound <= exact + 0.02)
    assert np.exp(exact).sum() == pytest.approx(1.0, rel=1e-6)
    assert np.any(bound < exact - 1e-2)                       # q is not the true posterior here


def test_bound_is_tight_when_the_top_rbm_is_the_bottom_one_turned_over():
    dbn = DBN([5, 3, 5])
    randomize(dbn, scale=0.8, seed=2)
    bottom, top = dbn.rbms
    top.W.data[...] = bottom.W.data.T
    top.vbias.data[...] = bottom.hbias.data
    top.hbias.data[...] = bottom.vbias.data
    X = all_states(5)
    bound = dbn.log_prob_bound(X, method="exact", n_samples=20, seed=0)
    np.testing.assert_allclose(bound, bottom.log_prob(X), rtol=1e-5)


def test_single_rbm_bound_is_its_exact_log_likelihood():
    dbn = randomize(DBN([4, 3]), seed=3)
    X = all_states(4)
    np.testing.assert_allclose(dbn.log_prob_bound(X, method="exact"), dbn.rbms[0].log_prob(X), rtol=1e-10)


def test_greedy_training_feeds_hidden_probabilities_upward():
    X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(np.float32)
    dbn = DBN([6, 4, 3], seed=0).fit(X, epochs=2, batch_size=10, progress=False)
    P = dbn.rbms[0].hidden_probabilities(X)
    p = (P.sum(axis=0) + 1) / (len(P) + 2)
    np.testing.assert_allclose(dbn.rbms[1].base_vbias, np.log(p / (1 - p)), rtol=1e-5, atol=1e-6)
    assert not np.array_equal(P, np.round(P))                 # probabilities, not binary states


def test_samples_have_the_data_shape():
    dbn = randomize(DBN([6, 4, 3]), seed=4)
    samples = dbn.sample(7, gibbs_steps=5, seed=0)
    means = dbn.sample(7, gibbs_steps=5, seed=0, probabilities=True)
    assert samples.shape == means.shape == (7, 6)
    assert set(np.unique(samples)) <= {0.0, 1.0}
    assert np.all((means > 0) & (means < 1))


def test_state_dict_names_each_rbm():
    names = set(DBN([6, 4, 3]).state_dict())
    assert {"rbms.0.W", "rbms.1.hbias", "rbms.1.base_vbias"} <= names


def test_bad_layer_sizes_are_named():
    with pytest.raises(ValueError, match="layer_sizes"):
        DBN([64])


def test_log_prob_is_the_bound_with_the_top_log_z_the_top_rbm_calls_for():
    dbn = randomize(DBN([5, 4, 3]), seed=5)
    X = all_states(5)
    assert dbn.likelihood_kind == "bound" and dbn.rbms[-1].likelihood_kind == "exact"
    exact_top = dbn.log_prob_bound(X, method="exact", n_samples=50, seed=1)
    np.testing.assert_array_equal(dbn.log_prob(X, n_samples=50, seed=1), exact_top)
    np.testing.assert_array_equal(dbn.log_prob_bound(X, n_samples=50, seed=1), exact_top)
    assert dbn.score(X) == pytest.approx(float(np.mean(dbn.log_prob(X))), rel=1e-12)


def test_fit_settings_reach_every_rbm():
    X = (np.random.default_rng(1).random((30, 6)) < 0.4).astype(np.float32)
    assert DBN.Defaults is RBMDefaults
    dbn = DBN([6, 4, 3], seed=0).fit(X, epochs=1, batch_size=7, persistent=True, progress=False)
    assert [rbm.persistent_chains.shape for rbm in dbn.rbms] == [(7, 6), (7, 4)]
    assert all(len(rbm.history["free_energy_gap"]) > 0 for rbm in dbn.rbms)


def test_sampling_with_a_seed_repeats():
    dbn = randomize(DBN([6, 4, 3]), seed=6)
    np.testing.assert_array_equal(dbn.sample(9, gibbs_steps=5, seed=2), dbn.sample(9, gibbs_steps=5, seed=2))
    assert not np.array_equal(dbn.sample(9, gibbs_steps=5, seed=2), dbn.sample(9, gibbs_steps=5, seed=3))
