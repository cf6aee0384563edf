"""RBM: free energy, log Z, Gibbs sampling, AIS and the CD update, each against brute force."""
import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chisquare

import autograd
from minigen.models import rbm as rbm_module
from minigen.models.rbm import RBM, RBMDefaults, ais_betas


def random_rbm(n_visible, n_hidden, visible="bernoulli", scale=1.0, seed=0):
    rbm = RBM(n_visible, n_hidden, visible=visible)
    rng = np.random.default_rng(seed)
    rbm.W.data[...] = scale * rng.standard_normal((n_visible, n_hidden))
    rbm.vbias.data[...] = rng.standard_normal(n_visible)
    rbm.hbias.data[...] = rng.standard_normal(n_hidden)
    rbm.base_vbias = (0.5 * rng.standard_normal(n_visible)).astype(np.float32)
    return rbm


def all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def energy(rbm, v, h):
    """E(v, h) of (1) / (1g) in float64, for every pair of rows: (len(v), len(h))."""
    W, b, c = (p.data.astype(np.float64) for p in (rbm.W, rbm.vbias, rbm.hbias))
    interaction = v @ W @ h.T + (h @ c)[None, :]
    if rbm.visible == "bernoulli":
        return -interaction - (v @ b)[:, None]
    return 0.5 * ((v - b) ** 2).sum(axis=1)[:, None] - interaction


def brute_log_z(rbm):
    v, h = all_states(rbm.n_visible), all_states(rbm.n_hidden)
    return np.logaddexp.reduce(-energy(rbm, v, h).ravel())


@given(n_visible=st.integers(1, 5), n_hidden=st.integers(1, 5), seed=st.integers(0, 100))
def test_free_energy_is_minus_log_sum_over_hidden_states(n_visible, n_hidden, seed):
    rbm = random_rbm(n_visible, n_hidden, seed=seed)
    v = all_states(n_visible)
    brute = -np.logaddexp.reduce(-energy(rbm, v, all_states(n_hidden)), axis=1)
    np.testing.assert_allclose(rbm.free_energy(v), brute, rtol=1e-5, atol=1e-5)


def test_free_energy_does_not_overflow_for_large_weights():
    rbm = random_rbm(4, 3, scale=500.0)
    assert np.all(np.isfinite(rbm.free_energy(all_states(4))))


@given(n_visible=st.integers(1, 6), n_hidden=st.integers(1, 6), seed=st.integers(0, 100))
def test_exact_log_z_matches_brute_force_over_both_layers(n_visible, n_hidden, seed):
    rbm = random_rbm(n_visible, n_hidden, seed=seed)
    assert math.isclose(rbm.log_partition("exact"), brute_log_z(rbm), rel_tol=1e-6, abs_tol=1e-6)


def test_log_z_is_invariant_under_swapping_the_layers():
    rbm = random_rbm(7, 3, seed=1)                 # enumerates its 3 hidden units
    swapped = RBM(3, 7)                            # enumerates its 3 visible units
    swapped.W.data[...] = rbm.W.data.T
    swapped.vbias.data[...] = rbm.hbias.data
    swapped.hbias.data[...] = rbm.vbias.data
    assert math.isclose(rbm.log_partition(), swapped.log_partition(), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(rbm.log_partition(), brute_log_z(rbm), rel_tol=1e-6)


def test_exact_log_z_enumerates_in_chunks(monkeypatch):
    monkeypatch.setattr(rbm_module, "ENUMERATION_CHUNK", 5)       # 2^6 states in 13 uneven chunks
    for rbm in (random_rbm(9, 6, seed=2), random_rbm(6, 9, seed=2)):
        assert math.isclose(rbm.log_partition(), brute_log_z(rbm), rel_tol=1e-6)


def test_log_prob_is_normalized():
    rbm = random_rbm(6, 4, seed=3)
    assert math.isclose(np.exp(rbm.log_prob(all_states(6))).sum(), 1.0, rel_tol=1e-6)


def test_pseudo_log_likelihood_matches_brute_force_conditionals():
    rbm = random_rbm(5, 3, seed=4)
    states = all_states(5)
    log_p = dict(zip(map(tuple, states), rbm.log_prob(states)))
    expected = []
    for x in states:
        total = 0.0
        for i in range(5):
            flipped = x.copy()
            flipped[i] = 1 - flipped[i]
            total += log_p[tuple(x)] - np.logaddexp(log_p[tuple(x)], log_p[tuple(flipped)])
        expected.append(total)
    np.testing.assert_allclose(rbm.pseudo_log_likelihood(states), expected, rtol=1e-6)


def test_gibbs_sampling_matches_the_exact_distribution():
    rbm = random_rbm(3, 2, seed=5)
    chains = rbm.gibbs(np.zeros((20000, 3)), steps=30, seed=0)
    codes = chains @ np.array([4, 2, 1])
    observed = np.bincount(codes.astype(int), minlength=8)
    expected = np.exp(rbm.log_prob(all_states(3))) * len(chains)
    assert chisquare(observed, expected).pvalue > 1e-3


def test_sample_returns_binary_rows_of_the_data_shape():
    samples = random_rbm(6, 4).sample(10, steps=5, seed=0)
    assert samples.shape == (10, 6) and set(np.unique(samples)) <= {0.0, 1.0}


def test_ais_betas_follow_the_published_schedule():
    betas = ais_betas()
    assert len(betas) == 14501 and betas[0] == 0 and betas[-1] == 1
    steps = np.diff(betas)
    np.testing.assert_allclose(steps[[0, 499, 500, 4499, 4500, -1]], [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5],
                               rtol=1e-6)
    assert len(ais_betas(290)) == 291 and np.all(np.diff(ais_betas(290)) > 0)


def test_ais_estimate_agrees_with_exact_log_z():
    rbm = random_rbm(12, 6, scale=0.5, seed=6)
    exact = rbm.log_partition("exact")
    estimate, std = rbm.log_partition("ais", n_chains=100, n_betas=1000, seed=0, return_std=True)
    assert 0 < std < 0.05
    assert abs(estimate - exact) < max(4 * std, 0.02)


@pytest.mark.parametrize("persistent", [False, True])
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_cd_update_is_the_gradient_of_the_free_energy_gap(visible, persistent):
    rbm = random_rbm(5, 4, visible=visible, scale=0.3, seed=7)
    v_data = (np.random.default_rng(0).random((8, 5)) < 0.5).astype(np.float32)
    if persistent:
        rbm.persistent_chains = np.ones((6, 5), dtype=np.float32)
    grads, v_model, returned_gap = rbm._cd_gradients(v_data, 2, persistent, np.random.default_rng(1))
    gap = (rbm.free_energy(autograd.tensor(v_data)).mean()
           - rbm.free_energy(autograd.tensor(v_model)).mean())
    expected = autograd.grad(gap, [rbm.W, rbm.vbias, rbm.hbias])
    np.testing.assert_allclose(returned_gap, gap.data, rtol=1e-5, atol=1e-5)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want.data, rtol=1e-5, atol=1e-6)
    if persistent:
        assert rbm.persistent_chains is v_model and v_model.shape == (6, 5)


@pytest.mark.parametrize("n_visible", [1, 2])
def test_gaussian_free_energy_and_log_z_against_numerical_integration(n_visible):
    rbm = random_rbm(n_visible, 3, visible="gaussian", scale=0.7, seed=8)
    axis = np.linspace(-12, 12, 481)
    grid = np.stack(np.meshgrid(*[axis] * n_visible, indexing="ij"), axis=-1).reshape(-1, n_visible)
    brute = -np.logaddexp.reduce(-energy(rbm, grid, all_states(3)), axis=1)
    np.testing.assert_allclose(rbm.free_energy(grid), brute, rtol=1e-5, atol=1e-4)
    cell = (axis[1] - axis[0]) ** n_visible
    integral = np.logaddexp.reduce(-brute) + np.log(cell)
    assert math.isclose(rbm.log_partition("exact"), integral, abs_tol=1e-6)
    estimate, std = rbm.log_partition("ais", n_betas=2000, seed=1, return_std=True)
    assert abs(estimate - integral) < max(4 * std, 0.02)


def test_training_learns_two_complementary_patterns():
    X = np.repeat(np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1]], dtype=np.float32), 20, axis=0)
    rbm = RBM(6, 2, seed=0).fit(X, epochs=1, batch_size=4, lr=0.1, progress=False)
    before = rbm.log_prob(X).mean()
    rbm.fit(X, epochs=60, batch_size=4, lr=0.1, progress=False)
    after = rbm.log_prob(X).mean()
    assert before < -2.0 and -math.log(2) - 0.3 < after <= -math.log(2) + 1e-6
    assert all(np.isfinite(rbm.history["free_energy_gap"]))


def test_fit_sets_visible_biases_from_smoothed_marginals():
    X = np.array([[1, 0], [1, 0], [1, 1]], dtype=np.float32)
    rbm = RBM(2, 2).fit(X, epochs=1, lr=0.0, progress=False)
    p = np.array([4 / 5, 2 / 5])
    np.testing.assert_allclose(rbm.base_vbias, np.log(p / (1 - p)), rtol=1e-6)
    assert rbm.W.data.std() < 0.05


def test_state_dict_round_trip_keeps_the_base_rate_model(tmp_path):
    rbm = random_rbm(4, 3, seed=9)
    autograd.save(rbm.state_dict(), tmp_path / "rbm.npz")
    twin = RBM(**rbm.config).load_state_dict(autograd.load(tmp_path / "rbm.npz"))
    assert twin.log_partition("ais", n_betas=100) == rbm.log_partition("ais", n_betas=100)


def test_bad_inputs_name_the_problem():
    rbm = RBM(4, 3)
    with pytest.raises(ValueError, match=r"RBM.free_energy.*shape \(4,\), got \(5,\)"):
        rbm.free_energy(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"RBM.sample_visible: hidden states must have shape \(n, 3\)"):
        rbm.sample_visible(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="visible"):
        RBM(4, 3, visible="poisson")
    with pytest.raises(ValueError, match="ais"):
        RBM(30, 30).log_partition("exact")
    with pytest.raises(ValueError, match="method"):
        rbm.log_partition("magic")


def test_numpy_and_numba_backends_train_bit_for_bit_alike():
    pytest.importorskip("numba")
    X = (np.random.default_rng(0).random((60, 8)) < 0.4).astype(np.float32)
    weights = {}
    for backend in ("numpy", "numba"):
        with autograd.use_backend(backend):
            rbm = RBM(8, 5).fit(X, epochs=3, batch_size=10, k=2, persistent=True, progress=False)
            weights[backend] = rbm.W.data.copy()
    np.testing.assert_array_equal(weights["numpy"], weights["numba"])


def test_zoo_entries_build_16_and_20_hidden_units():
    from minigen import zoo
    assert zoo.get("rbm").build((64,), {"seed": 0}).W.shape == (64, 16)
    assert zoo.get("rbm20").build((64,), {"seed": 0}).W.shape == (64, 20)
    assert zoo.get("rbm").fit_kwargs({"quick": True, "seed": 3}) == {"seed": 3, "epochs": 10}


@pytest.mark.parametrize("shape, visible, kind", [((64, 20), "bernoulli", "exact"), ((20, 64), "bernoulli", "exact"),
                                                  ((64, 21), "bernoulli", "AIS"), ((30, 20), "gaussian", "exact"),
                                                  ((5, 21), "gaussian", "AIS")])
def test_likelihood_is_exact_while_the_enumerated_layer_has_at_most_20_units(shape, visible, kind):
    assert RBM(*shape, visible=visible).likelihood_kind == kind


def test_log_prob_estimates_log_z_by_ais_where_the_likelihood_kind_says_so(monkeypatch):
    rbm = random_rbm(6, 4, scale=0.5, seed=10)
    X = all_states(6)[::7]
    exact = rbm.log_prob(X)
    monkeypatch.setattr(rbm_module, "EXACT_LIKELIHOOD_BITS", 3)
    assert rbm.likelihood_kind == "AIS"
    estimate = rbm.log_prob(X)
    np.testing.assert_allclose(estimate, exact, atol=0.02)
    assert not np.array_equal(estimate, exact)


def test_defaults_are_one_dataclass_with_the_gaussian_values_a_call_away():
    assert RBM.Defaults is RBMDefaults
    assert RBM(4, 3).settings() == RBMDefaults() == RBMDefaults.for_visible("bernoulli")
    assert RBMDefaults.for_visible("gaussian") == dataclasses.replace(RBMDefaults(), epochs=100, lr=1e-3)
    assert RBM(4, 3, visible="gaussian").settings(lr=0.5, k=None) == dataclasses.replace(
        RBMDefaults(), epochs=100, lr=0.5)
    with pytest.raises(TypeError, match="unknown setting.*learning_rate"):
        RBM(4, 3).settings(learning_rate=0.1)


def test_fit_ignores_labels_but_refuses_a_number_in_their_place():
    X = (np.random.default_rng(0).random((20, 6)) < 0.5).astype(np.float32)
    with_labels = RBM(6, 3).fit(X, np.arange(20) % 2, epochs=2, progress=False)
    without = RBM(6, 3).fit(X, epochs=2, progress=False)
    np.testing.assert_array_equal(with_labels.W.data, without.W.data)
    with pytest.raises(TypeError, match="RBM.fit: y is ignored.*epochs="):
        RBM(6, 3).fit(X, 10)


def test_fit_takes_probabilities_only_when_told_and_only_in_the_unit_interval():
    grey = np.random.default_rng(0).random((30, 6)).astype(np.float32)
    with pytest.raises(ValueError, match="RBM.fit.*binary"):
        RBM(6, 3).fit(grey, epochs=1, progress=False)
    rbm = RBM(6, 3).fit(grey, epochs=1, progress=False, probabilities=True)
    p = (grey.sum(axis=0) + 1) / (len(grey) + 2)
    np.testing.assert_allclose(rbm.base_vbias, np.log(p / (1 - p)), rtol=1e-5)
    with pytest.raises(ValueError, match=r"probabilities must lie in \[0, 1\]"):
        RBM(6, 3).fit(grey + 0.5, epochs=1, progress=False, probabilities=True)
    with pytest.raises(ValueError, match="Bernoulli"):
        RBM(6, 3, visible="gaussian").fit(grey, epochs=1, progress=False, probabilities=True)


def test_conditionals_follow_equations_4_and_5():
    rbm = random_rbm(5, 3, seed=11)
    W, b, c = (p.data.astype(np.float64) for p in (rbm.W, rbm.vbias, rbm.hbias))
    V, H = all_states(5), all_states(3)
    np.testing.assert_allclose(rbm.hidden_probabilities(V), 1 / (1 + np.exp(-(V @ W + c))), rtol=1e-5)
    np.testing.assert_allclose(rbm.visible_probabilities(H), 1 / (1 + np.exp(-(H @ W.T + b))), rtol=1e-5)
    many = np.repeat(H, 4000, axis=0)
    frequencies = rbm.sample_visible(many, seed=0).reshape(len(H), 4000, 5).mean(axis=1)
    np.testing.assert_allclose(frequencies, rbm.visible_probabilities(H), atol=0.03)
    frequencies = rbm.sample_hidden(np.repeat(V, 2000, axis=0), seed=0).reshape(len(V), 2000, 3).mean(axis=1)
    np.testing.assert_allclose(frequencies, rbm.hidden_probabilities(V), atol=0.04)
    gaussian = random_rbm(5, 3, visible="gaussian", seed=11)
    np.testing.assert_allclose(gaussian.visible_probabilities(H), H @ W.T + b, rtol=1e-5)


def test_a_generator_given_as_seed_continues_its_stream():
    rbm = random_rbm(5, 3, seed=12)
    H = all_states(3)
    generator = np.random.default_rng(7)
    in_two_calls = np.concatenate([rbm.sample_visible(H, seed=generator), rbm.sample_visible(H, seed=generator)])
    np.testing.assert_array_equal(in_two_calls, rbm.sample_visible(np.concatenate([H, H]), seed=7))


def test_transform_gives_hidden_probabilities_of_grey_data():
    rbm = random_rbm(6, 4, seed=13)
    grey = np.random.default_rng(0).random((7, 6))
    features = rbm.transform(grey)
    assert type(features) is np.ndarray and features.shape == (7, 4)
    np.testing.assert_array_equal(features, rbm.hidden_probabilities(grey))


def test_get_params_set_params_and_clone_as_scikit_learn_expects():
    from sklearn.base import clone
    rbm = RBM(6, 4, seed=3)
    assert rbm.get_params() == {"n_visible": 6, "n_hidden": 4, "visible": "bernoulli", "seed": 3}
    twin = clone(rbm)
    assert type(twin) is RBM and twin is not rbm and twin.get_params() == rbm.get_params()
    assert rbm.set_params(n_hidden=9) is rbm and rbm.W.shape == (6, 9) and rbm.config["n_hidden"] == 9
    with pytest.raises(ValueError, match="RBM.set_params: unknown parameter.*learning_rate"):
        rbm.set_params(learning_rate=0.1)


def test_rbm_features_in_a_scikit_learn_pipeline_classify_digits():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from minigen.data import load_digits
    X, y = load_digits("train", return_labels=True)
    X_test, y_test = load_digits("test", return_labels=True)
    pipeline = Pipeline([("rbm", RBM(64, 100)), ("clf", LogisticRegression(max_iter=1000))])
    pipeline.fit(X, y, rbm__probabilities=True, rbm__epochs=10, rbm__lr=0.06, rbm__progress=False)
    predictions = pipeline.predict(X_test)
    assert predictions.shape == y_test.shape and set(predictions) <= set(range(10))
    assert np.mean(predictions == y_test) > 0.85
