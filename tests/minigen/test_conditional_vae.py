"""The class-conditional VAE (9): samples of label k look like a k to the fixed digits classifier,
log p(x | y) prefers the true label, unlabelled sampling draws the labels uniformly, and labels are
checked where they enter."""
import numpy as np
import pytest

import autograd
from minigen import metrics
from minigen.data import load_digits
from minigen.models import VAE, load


@pytest.fixture(scope="module")
def digits_cvae():
    autograd.manual_seed(0)
    X, y = load_digits("train", binarize=True, return_labels=True)
    return VAE(64, 4, hidden=(128,), n_classes=10).fit(X, y, epochs=20, batch_size=64, lr=3e-3, progress=False)


def test_samples_of_each_label_are_classified_as_that_label(digits_cvae):
    labels = np.repeat(np.arange(10), 50)
    samples = digits_cvae.sample(500, y=labels, seed=0)
    assert samples.shape == (500, 64)
    assert metrics.classifier_accuracy(images=samples, labels=labels) > 0.85     # chance: 0.1
    threes = digits_cvae.sample(100, y=3, seed=1)                                  # one int for all
    assert np.mean(metrics.predicted_labels(threes) == 3) > 0.85


def test_the_label_changes_the_digit_and_the_latent_keeps_the_seed(digits_cvae):
    as_zeros = digits_cvae.sample(20, y=0, seed=4)
    as_sevens = digits_cvae.sample(20, y=7, seed=4)                                 # the same z
    assert np.abs(as_zeros - as_sevens).sum(axis=1).min() > 3.0
    np.testing.assert_array_equal(as_sevens, digits_cvae.sample(20, y=7, seed=4))


def test_log_prob_given_the_true_label_beats_a_wrong_label_and_bounds_the_elbo(digits_cvae):
    X, y = load_digits("test", binarize=True, return_labels=True)
    right = digits_cvae.log_prob(X, y, k=100)
    wrong = digits_cvae.log_prob(X, (y + 1) % 10, k=100)
    assert right.shape == (len(X),)
    assert right.mean() > wrong.mean() + 5.0
    assert digits_cvae.elbo(X, y).mean() < right.mean()
    mu, _ = digits_cvae.encode(X[:5], y[:5])
    assert digits_cvae.decode(mu, y[:5]).shape == (5, 64)


def test_unlabelled_sampling_draws_every_label(digits_cvae):
    predicted = metrics.predicted_labels(digits_cvae.sample(1000, seed=2))
    assert np.bincount(predicted, minlength=10).min() > 50                         # 100 each on average


def test_a_saved_conditional_vae_loads_with_its_classes(digits_cvae, tmp_path):
    digits_cvae.save(tmp_path / "cvae.npz")
    twin = load(tmp_path / "cvae.npz")
    assert twin.n_classes == 10
    np.testing.assert_array_equal(twin.sample(6, y=[0, 1, 2, 3, 4, 5], seed=3),
                                  digits_cvae.sample(6, y=[0, 1, 2, 3, 4, 5], seed=3))


def test_the_labels_reach_every_parameter_of_both_architectures(rng):
    x = autograd.tensor((rng.random((4, 64)) < 0.5).astype(np.float32))
    for architecture in ("mlp", "conv"):
        model = VAE(64, 3, hidden=(8,), architecture=architecture, channels=4, n_classes=3)
        c = autograd.tensor(model.one_hot(np.array([0, 1, 2, 1]), 4, "loss"))
        loss, _, _ = model.iwae_loss(x, 3, c=c)
        loss.backward()
        assert all(p.grad is not None and np.any(p.grad.numpy() != 0) for p in model.parameters())
        assert model.log_prob(x.numpy(), y=[0, 1, 2, 1], k=5).shape == (4,)


def test_bad_labels_are_refused_naming_vae():
    X, y = load_digits("test", binarize=True, return_labels=True)
    conditional = VAE(64, 2, hidden=(8,), n_classes=10)
    bad = {"give the labels": None, "expected 300 labels": y[:-1], r"\[0, 10\)": np.where(y == 3, 10, y),
           "integers": y.astype(np.float64)}
    for message, labels in bad.items():
        with pytest.raises(ValueError, match=f"VAE.fit.*{message}"):
            conditional.fit(X, labels, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"VAE.sample.*\[0, 10\)"):
        conditional.sample(2, y=-1)
    with pytest.raises(ValueError, match="VAE.log_prob.*no classes"):
        VAE(64, 2, hidden=(8,)).log_prob(X[:3], y[:3])
    for n_classes in (1, 2.5, True):
        with pytest.raises(ValueError, match="VAE: n_classes"):
            VAE(64, 2, n_classes=n_classes)
