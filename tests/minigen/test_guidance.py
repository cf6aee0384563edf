"""Class-conditional DDPM with classifier-free guidance: the label embedding, the guided eps (11), label
dropping, the checks of labels, save / load, and a short run on digits read by the digits classifier."""
import numpy as np
import pytest

import autograd
from minigen import metrics
from minigen.data import load_digits
from minigen.models import DDPM, load
from minigen.models.denoisers import MLPDenoiser, UNetDenoiser, add_label, label_table


def conditional_ddpm(n_classes=3, T=20):
    return DDPM((2,), T=T, n_classes=n_classes, seed=0)


def test_label_vectors_are_added_to_the_time_embedding(rng):
    table = label_table(3, 8)
    embedding = autograd.tensor(rng.standard_normal((4, 8)).astype(np.float32))
    y = np.array([0, 2, 1, 0])
    assert table.weight.shape == (4, 8)                                        # 3 classes and the null label
    assert np.allclose(add_label(embedding, table, y).numpy(), embedding.numpy() + table.weight.numpy()[y])
    assert np.allclose(add_label(embedding, table, None).numpy(), embedding.numpy() + table.weight.numpy()[3])
    assert add_label(embedding, None, None) is embedding
    with pytest.raises(ValueError, match="without n_classes"):
        add_label(embedding, None, y)


@pytest.mark.parametrize("build", [lambda n_classes: MLPDenoiser(2, hidden=16, n_classes=n_classes),
                                   lambda n_classes: UNetDenoiser((1, 4, 4), channels=4, n_classes=n_classes)])
def test_the_label_table_leaves_the_other_weights_as_without_classes(build):
    autograd.manual_seed(0)
    plain = dict(build(None).named_parameters())
    autograd.manual_seed(0)
    conditional = dict(build(5).named_parameters())
    assert set(conditional) - set(plain) == {"labels.weight"}
    assert all(np.array_equal(plain[name].numpy(), conditional[name].numpy()) for name in plain)


def test_labels_change_the_prediction_and_none_is_the_null_label(rng):
    network = MLPDenoiser(2, hidden=16, n_classes=3)
    x, t = autograd.tensor(rng.standard_normal((3, 2)).astype(np.float32)), np.array([1, 5, 9])
    null = network(x, t).numpy()
    assert np.array_equal(null, network(x, t, np.full(3, 3)).numpy())
    assert not np.allclose(null, network(x, t, np.array([0, 1, 2])).numpy())


def test_guidance_zero_is_the_conditional_eps_and_otherwise_follows_the_formula(rng):
    model = conditional_ddpm()
    x, t, y = rng.standard_normal((6, 2)).astype(np.float32), np.full(6, 7), np.array([0, 1, 2, 0, 1, 2])
    conditional, unconditional = model.predict_eps(x, t, y), model.predict_eps(x, t)
    assert np.array_equal(model.guided_eps(x, t, y, guidance=0.0), conditional)
    assert np.array_equal(model.guided_eps(x, t, y, guidance=None), conditional)
    for w in (0.5, 3.0):
        assert np.allclose(model.guided_eps(x, t, y, guidance=w), (1 + w) * conditional - w * unconditional,
                           atol=1e-6)                                          # (11)
    assert np.array_equal(model.guided_eps(x, t, None, guidance=3.0), unconditional)


def test_guided_sampling_steps_with_the_guided_eps(rng):
    model = conditional_ddpm()
    x, z, y = rng.standard_normal((4, 2)).astype(np.float32), rng.standard_normal((4, 2)).astype(np.float32), 1
    eps = model.guided_eps(x, np.full(4, 10), np.full(4, y), guidance=2.0)
    abar_t, abar_s = model.alphas_cumprod[10], model.alphas_cumprod[9]
    x0_hat = (x - np.sqrt(1 - abar_t) * eps) / np.sqrt(abar_t)
    assert np.allclose(model.ddim_step(x, 10, 9, y=np.full(4, y), guidance=2.0),
                       np.sqrt(abar_s) * x0_hat + np.sqrt(1 - abar_s) * eps, atol=1e-5)
    assert not np.allclose(model.p_sample(x, 10, noise=z, y=np.full(4, y), guidance=2.0),
                           model.p_sample(x, 10, noise=z, y=np.full(4, y)))
    samples = model.sample(5, y=2, guidance=1.0, seed=0)
    assert samples.shape == (5, 2) and np.array_equal(samples, model.sample(5, y=[2] * 5, guidance=1.0, seed=0))


def test_labels_are_dropped_to_the_null_label_with_probability_p_uncond():
    model = conditional_ddpm(n_classes=4)
    y = np.arange(8) % 4
    pinned = model.drop_labels(y, 0.5, dropped=np.array([True, False] * 4))
    assert np.array_equal(pinned, [4, 1, 4, 3, 4, 1, 4, 3])
    many = model.drop_labels(np.zeros(20_000, dtype=np.int64), 0.15)
    assert set(np.unique(many)) == {0, 4} and (many == 4).mean() == pytest.approx(0.15, abs=0.01)
    assert DDPM.Defaults().p_uncond == 0.1 and model.settings(p_uncond=0.2).p_uncond == 0.2


def test_fit_and_sample_check_the_labels():
    X = np.random.default_rng(0).standard_normal((20, 2)).astype(np.float32)
    conditional, plain = conditional_ddpm(), DDPM((2,), T=10)
    bad = {"class-conditional .*give the labels y": None, "expected 20 labels": np.zeros(19, dtype=int),
           r"lie in \[0, 3\)": np.full(20, 3), "must be integers": np.zeros(20)}
    for message, y in bad.items():
        with pytest.raises(ValueError, match=f"DDPM.fit.*{message}"):
            conditional.fit(X, y, steps=1, progress=False)
    with pytest.raises(ValueError, match="DDPM.fit: the model has no classes"):
        plain.fit(X, np.zeros(20, dtype=int), steps=1, progress=False)
    with pytest.raises(ValueError, match="DDPM.sample: the model has no classes"):
        plain.sample(2, y=0)
    with pytest.raises(ValueError, match="n_classes must be a positive integer"):
        DDPM((2,), n_classes=0)


def test_a_saved_conditional_model_gives_the_same_guided_samples(tmp_path):
    X = np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
    model = conditional_ddpm().fit(X, np.arange(40) % 3, steps=3, progress=False)
    model.save(tmp_path / "model.npz")
    twin = load(tmp_path / "model.npz")
    assert twin.n_classes == 3
    assert np.array_equal(twin.sample(6, method="ddim", steps=5, y=1, guidance=2.0, seed=4),
                          model.sample(6, method="ddim", steps=5, y=1, guidance=2.0, seed=4))


def test_guided_digits_are_read_as_their_class():
    # 400 updates (about 3 s): the conditional model alone is read as its class well above chance
    # (0.1), and guidance w = 2 raises that further
    X, y = load_digits("train", return_labels=True)
    model = DDPM((64,), n_classes=10, seed=0).fit(X, y, steps=400, progress=False)
    labels = np.repeat(np.arange(10), 10)
    accuracy = {w: metrics.classifier_accuracy(images=np.clip(model.sample(100, method="ddim", steps=20, y=labels,
                                                                           guidance=w, seed=1), 0, 1),
                                               labels=labels) for w in (0.0, 2.0)}
    assert accuracy[0.0] > 0.2 and accuracy[2.0] > max(accuracy[0.0], 0.5)
