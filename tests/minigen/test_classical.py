"""Naive Bayes, logistic regression, Bayesian networks, mixtures of Bernoullis, linear dynamical systems."""
import itertools

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris, load_wine
from sklearn.naive_bayes import GaussianNB

from minigen.data import load_digits
from minigen.models.bayesnet import BayesNet, Factor
from minigen.models.classical import GaussianNaiveBayes, LogisticRegression
from minigen.models.lds import LinearDynamicalSystem
from minigen.models.mixture import MixtureOfBernoullis


@pytest.mark.parametrize("loader", [load_iris, load_wine, load_breast_cancer])
def test_naive_bayes_predicts_what_scikit_learn_predicts(loader):
    X, y = loader(return_X_y=True)
    ours = GaussianNaiveBayes(var_smoothing=1e-9).fit(X, y)
    theirs = GaussianNB(var_smoothing=1e-9).fit(X, y)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-8)


def test_naive_bayes_samples_have_the_class_conditional_moments():
    X, y = load_digits(return_labels=True)
    model = GaussianNaiveBayes().fit(X, y)
    samples, labels = model.sample(20000, y=3, seed=1)
    assert (labels == 3).all()
    np.testing.assert_allclose(samples.mean(axis=0), X[y == 3].mean(axis=0), atol=0.02)
    np.testing.assert_allclose(samples.var(axis=0), model.variances[3], rtol=0.1, atol=1e-3)


def test_pooled_naive_bayes_shares_the_within_class_variance_and_is_linear():
    """(3'): one variance per feature, sum_y (n_y / n) var_yd; log-odds are then affine in x."""
    X, y = load_wine(return_X_y=True)
    pooled = GaussianNaiveBayes(var_smoothing=0.0, pooled=True).fit(X, y)
    per_class = GaussianNaiveBayes(var_smoothing=0.0).fit(X, y)
    weights = np.bincount(y) / len(y)
    np.testing.assert_allclose(pooled.variances, np.tile(weights @ per_class.variances, (3, 1)))
    np.testing.assert_array_equal(pooled.means, per_class.means)
    rng = np.random.default_rng(0)
    x, step = X[:5], rng.standard_normal((5, X.shape[1])) * X.std(axis=0)
    log_odds = [np.diff(pooled.joint_log_likelihood(x + t * step)[:, :2], axis=1) for t in (0, 1, 2)]
    np.testing.assert_allclose(log_odds[2] - log_odds[1], log_odds[1] - log_odds[0], rtol=1e-9, atol=1e-9)


def test_logistic_regression_separates_and_its_probabilities_sum_to_one():
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(l2=1e-3).fit(X, y)
    probabilities = model.predict_proba(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert (model.predict(X) == y).mean() > 0.95


def test_classifiers_check_their_data_and_keep_a_history():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="GaussianNaiveBayes.fit: y must hold one label per row"):
        GaussianNaiveBayes().fit(X, y[:-1])
    with pytest.raises(ValueError, match="LogisticRegression.fit.*NaN"):
        LogisticRegression().fit(np.where(X > 7, np.nan, X), y)
    model = LogisticRegression(l2=1e-3).fit(X, y, steps=50)
    assert len(model.history["loss"]) == 50 and model.history["loss"][-1] < model.history["loss"][0]
    assert LogisticRegression.Defaults().steps == 300
    with pytest.raises(ValueError, match="LogisticRegression.predict_proba.*shape"):
        model.predict_proba(X[:, :3])
    assert np.isfinite(GaussianNaiveBayes().fit(X, y).history["log_likelihood"][0])


def test_logistic_regression_minimizes_its_objective():
    """At the optimum of (5) the gradient vanishes: X^T (p - onehot) / n + l2 W = 0."""
    X, y = load_wine(return_X_y=True)
    model = LogisticRegression(l2=0.1).fit(X, y, steps=2000, lr=0.05)
    Z = model._standardize(X).astype(np.float64)
    p = model.predict_proba(X)
    gradient = (p - np.eye(3)[y]).T @ Z / len(X) + 0.1 * model.weight.numpy()
    assert np.abs(gradient).max() < 2e-3


def test_bayes_net_samples_match_the_exact_joint_by_chi_square():
    net = BayesNet.slide_example()
    joint = net.joint()
    assert joint.sum() == pytest.approx(1.0)
    samples = net.sample(40000, seed=0)
    counts = np.zeros(joint.shape)
    np.add.at(counts, tuple(samples.T), 1)
    expected = joint * len(samples)
    chi_square = ((counts - expected) ** 2 / expected).sum()
    # 15 degrees of freedom: the 99.9th percentile of chi-square(15) is 37.7
    assert chi_square < 37.7


def test_bayes_net_joint_is_the_product_of_its_factors():
    net = BayesNet.slide_example()
    a, b, cd = (f.table for f in net.factors)
    for A, B, C, D in itertools.product(range(2), repeat=4):
        expected = a[A] * b[B] * cd[A, B, C, D]
        row = np.array([[{"A": A, "B": B, "C": C, "D": D}[v] for v in net.variables]])
        assert np.exp(net.log_prob(row))[0] == pytest.approx(expected)


def test_bayes_net_refuses_a_cycle_and_a_bad_table():
    with pytest.raises(ValueError, match="cycle"):
        BayesNet([Factor("A", "B", [[0.5, 0.5], [0.5, 0.5]]), Factor("B", "A", [[0.5, 0.5], [0.5, 0.5]])])
    with pytest.raises(ValueError, match="probability distribution"):
        Factor("A", (), [0.5, 0.6])


def test_bayes_net_fit_recovers_its_tables():
    net = BayesNet.slide_example()
    samples = net.sample(50000, seed=2)
    learned = BayesNet.slide_example().fit(samples, alpha=0.0)
    for f, g in zip(net.factors, learned.factors):
        np.testing.assert_allclose(f.table, g.table, atol=0.03)


def test_bayes_net_checks_its_integer_states():
    net = BayesNet.slide_example()
    with pytest.raises(ValueError, match="BayesNet.log_prob: the data must be integer states"):
        net.log_prob([[0, 1, 0.5, 1]])
    with pytest.raises(ValueError, match="BayesNet.fit: variable 'C' has 2 states"):
        net.fit([[0, 1, 2, 1]])
    with pytest.raises(ValueError, match="BayesNet.log_prob: expected examples of shape"):
        net.log_prob([[0, 1, 0]])


def test_a_fitted_bayes_net_saves_its_tables_and_a_json_graph(tmp_path):
    samples = BayesNet.slide_example().sample(2000, seed=3)
    fitted = BayesNet.slide_example().fit(samples, alpha=0.5)
    assert fitted.history["log_likelihood"] == [pytest.approx(fitted.log_prob(samples).mean())]
    assert BayesNet.Defaults().alpha == 1.0
    fitted.save(tmp_path / "net.npz")
    twin = BayesNet.load(tmp_path / "net.npz")
    for f, g in zip(fitted.factors, twin.factors):
        np.testing.assert_array_equal(f.table, g.table)
    assert not np.allclose(twin.joint(), BayesNet.slide_example().joint())      # the fitted tables, not the given
    np.testing.assert_array_equal(twin.sample(50, seed=0), fitted.sample(50, seed=0))


def test_mixture_learns_the_width_records_em_and_round_trips(tmp_path):
    X = (np.random.default_rng(1).random((100, 6)) < 0.4).astype(np.float32)
    model = MixtureOfBernoullis(2, seed=0).fit(X, epochs=15)
    assert model.data_shape == (6,) and len(model.history["log_likelihood"]) == 15
    assert np.all(np.diff(model.history["log_likelihood"]) > -1e-3)
    with pytest.raises(ValueError, match="MixtureOfBernoullis.log_prob.*shape"):
        model.log_prob(X[:, :5])
    model.save(tmp_path / "mixture.npz")
    twin = MixtureOfBernoullis.load(tmp_path / "mixture.npz")
    np.testing.assert_array_equal(twin.log_prob(X), model.log_prob(X))
    np.testing.assert_array_equal(twin.sample(9, seed=2), model.sample(9, seed=2))


def _brute_force_mixture_log_prob(model, X):
    pi = np.exp(model.log_mixing)
    probabilities = [sum(pi[k] * np.prod(model.means[k] ** x * (1 - model.means[k]) ** (1 - x))
                         for k in range(len(pi))) for x in X]
    return np.log(probabilities)


def test_mixture_of_bernoullis_is_normalized_and_exact():
    rng = np.random.default_rng(0)
    X = (rng.random((200, 6)) < 0.3).astype(np.float32)
    model = MixtureOfBernoullis(3, seed=1).fit(X, epochs=20)
    all_states = np.array(list(itertools.product([0, 1], repeat=6)), dtype=np.float64)
    assert np.exp(model.log_prob(all_states)).sum() == pytest.approx(1.0)
    np.testing.assert_allclose(model.log_prob(X[:10]), _brute_force_mixture_log_prob(model, X[:10]))


def test_mixture_em_never_decreases_the_penalized_likelihood():
    X = load_digits("train", binarize=True)[:400]
    values = [MixtureOfBernoullis(5, seed=3).fit(X, epochs=e).log_prob(X).mean() for e in (1, 5, 20)]
    assert values[0] <= values[1] + 1e-6 <= values[2] + 2e-6


def test_mixture_samples_follow_the_component_means():
    X = load_digits("train", binarize=True)
    model = MixtureOfBernoullis(4, seed=0).fit(X, epochs=10)
    samples = model.sample(20000, seed=0)
    expected = np.exp(model.log_mixing) @ model.means
    np.testing.assert_allclose(samples.mean(axis=0), expected, atol=0.02)


def _simulate(A, C, T, state_noise, pixel_noise, seed):
    rng = np.random.default_rng(seed)
    x = np.ones(len(A))
    Y = []
    for _ in range(T):
        x = A @ x + state_noise * rng.standard_normal(len(A))
        Y.append(C @ x + pixel_noise * rng.standard_normal(len(C)))
    return np.array(Y)


def test_lds_recovers_the_eigenvalues_of_a_known_system():
    angle = 0.3
    A = np.array([[0.95 * np.cos(angle), -0.95 * np.sin(angle), 0],
                  [0.95 * np.sin(angle), 0.95 * np.cos(angle), 0],
                  [0, 0, 0.7]])
    rng = np.random.default_rng(0)
    C = np.linalg.qr(rng.standard_normal((30, 3)))[0] @ np.diag([3.0, 3.0, 2.0])
    Y = _simulate(A, C, 3000, 0.3, 0.01, seed=1)
    fitted = LinearDynamicalSystem(3).fit(Y)
    true = np.sort_complex(np.linalg.eigvals(A))
    found = np.sort_complex(np.linalg.eigvals(fitted.A))
    np.testing.assert_allclose(found, true, atol=0.03)


def _joint_gaussian_log_density(model, Y):
    """log p(y_1..T) from the stacked frames y = (I kron C) x + mean + w, x Gaussian by the state recursion."""
    T, D = Y.shape
    n = model.n_state
    transitions = [np.linalg.matrix_power(model.A, t) for t in range(T)]
    state_mean = np.concatenate([transitions[t] @ model.initial_state for t in range(T)])
    state_cov = np.zeros((n * T, n * T))
    for s in range(T):
        for t in range(T):
            cov = transitions[s] @ model.state_covariance @ transitions[t].T
            for k in range(1, min(s, t) + 1):
                cov = cov + transitions[s - k] @ model.Q @ transitions[t - k].T
            state_cov[n * s:n * s + n, n * t:n * t + n] = cov
    big_C = np.kron(np.eye(T), model.C)
    mean = big_C @ state_mean + np.tile(model.mean, T)
    cov = big_C @ state_cov @ big_C.T + float(model.observation_variance) * np.eye(T * D)
    y = Y.reshape(-1)
    sign, log_det = np.linalg.slogdet(cov)
    return -0.5 * (T * D * np.log(2 * np.pi) + log_det + (y - mean) @ np.linalg.solve(cov, y - mean))


def test_lds_kalman_likelihood_equals_the_joint_gaussian_density():
    Y = np.random.default_rng(4).standard_normal((40, 5))
    model = LinearDynamicalSystem(2).fit(Y)
    assert model.log_likelihood(Y[:4]) == pytest.approx(_joint_gaussian_log_density(model, Y[:4]), rel=1e-9)


def test_lds_log_prob_gives_each_frame_its_predictive_log_density():
    """Row t of log_prob is log p(y_1..t) - log p(y_1..t-1): the frame given the frames before it."""
    Y = np.random.default_rng(5).standard_normal((30, 4))
    model = LinearDynamicalSystem(2).fit(Y)
    joints = [0.0] + [_joint_gaussian_log_density(model, Y[:t]) for t in range(1, 5)]
    np.testing.assert_allclose(model.log_prob(Y[:4]), np.diff(joints), rtol=1e-8)
    assert model.score(Y[:4]) == pytest.approx(model.log_likelihood(Y[:4]) / 4)
    assert model.history["log_likelihood"] == [pytest.approx(model.score(Y))]


def test_lds_learns_the_frame_width_and_keeps_it_through_save_and_load(tmp_path):
    Y = np.random.default_rng(6).standard_normal((30, 4))
    model = LinearDynamicalSystem(2).fit(Y)
    assert model.data_shape == (4,) and model.config["n_pixels"] == 4
    with pytest.raises(ValueError, match="LinearDynamicalSystem.log_prob.*shape"):
        model.log_prob(np.zeros((3, 5)))
    model.save(tmp_path / "lds.npz")
    twin = LinearDynamicalSystem.load(tmp_path / "lds.npz")
    np.testing.assert_allclose(twin.log_prob(Y), model.log_prob(Y), rtol=1e-12)
    np.testing.assert_array_equal(twin.sample(5, seed=1), model.sample(5, seed=1))


def test_lds_keeps_the_dynamics_stable_and_synthesizes_frames():
    Y = np.cumsum(np.random.default_rng(0).standard_normal((100, 8)), axis=0)  # a random walk: radius ~ 1
    model = LinearDynamicalSystem(4, max_radius=0.99).fit(Y)
    assert np.max(np.abs(np.linalg.eigvals(model.A))) <= 0.99 + 1e-9
    frames = model.sample(500, seed=0)
    assert frames.shape == (500, 8) and np.all(np.isfinite(frames))
