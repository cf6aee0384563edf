"""The image models at 28x28: the U-Net with self-attention, the DDPM's weight average (EMA), and
the registry's MNIST configurations."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from minigen import data, zoo
from minigen.models import DDPM, GAN, MADE, RBM, VAE
from minigen.models.denoisers import MLPDenoiser, SelfAttention, UNetDenoiser, default_denoiser
from minigen.models.diffusion import EMA_WARMUP, DDPMDefaults
from tests.strategies import float64_arrays


def tiny_unet(image_shape=(1, 28, 28), **kwargs):
    autograd.manual_seed(0)
    return UNetDenoiser(image_shape, channels=4, time_dim=8, multipliers=(1, 2, 2), attention=True, heads=2,
                        **kwargs)


def in_float64(module):
    for parameter in module.parameters():
        parameter.data = parameter.data.astype(np.float64)
    return module


# -- the U-Net ------------------------------------------------------------------------------------
def test_mnist_shapes_get_the_three_level_unet_with_attention():
    for shape in ((784,), (1, 28, 28)):
        net = default_denoiser(shape)
        assert isinstance(net, UNetDenoiser) and net.image_shape == (1, 28, 28)
        assert isinstance(net.attention, SelfAttention) and net.attention.heads == 4
        assert len(net.down) == len(net.up) == 2                       # 28 -> 14 -> 7 and back
        assert net.mid2.conv2.weight.shape[0] == 64 and net.out.weight.shape[1] == 32
    assert isinstance(default_denoiser((64,)), MLPDenoiser)             # flat 8x8 digits keep the MLP
    assert isinstance(default_denoiser((1, 8, 8)), UNetDenoiser) and default_denoiser((1, 8, 8)).attention is None


def test_unet_keeps_the_shape_and_attends_at_7x7():
    net = tiny_unet()
    seen = []
    forward = net.attention.forward
    net.attention.forward = lambda h: seen.append(h.shape) or forward(h)
    t = np.array([0, 500, 999])
    flat = net(autograd.randn(3, 784), t)
    image = net(autograd.randn(3, 1, 28, 28), t)
    assert flat.shape == (3, 784) and image.shape == (3, 1, 28, 28) and np.isfinite(flat.numpy()).all()
    assert seen == [(3, 8, 7, 7)] * 2                                   # 2 * 4 channels over 7x7 positions


def test_unet_refuses_sides_the_levels_cannot_halve():
    with pytest.raises(ValueError, match="UNetDenoiser.*divisible by 4"):
        UNetDenoiser((1, 30, 30), multipliers=(1, 2, 2))
    with pytest.raises(ValueError, match="SelfAttention.*heads"):
        SelfAttention(6, heads=4)


def test_attention_is_permutation_equivariant_over_positions(rng):
    autograd.manual_seed(1)
    attention = SelfAttention(8, heads=2)
    h = rng.standard_normal((2, 8, 3, 3)).astype(np.float32)
    order = rng.permutation(9)
    permuted = h.reshape(2, 8, 9)[:, :, order].reshape(2, 8, 3, 3)
    out = attention(autograd.tensor(h)).numpy().reshape(2, 8, 9)
    out_of_permuted = attention(autograd.tensor(permuted)).numpy().reshape(2, 8, 9)
    np.testing.assert_allclose(out_of_permuted, out[:, :, order], rtol=1e-5, atol=1e-5)


def test_attention_is_causal_nowhere(rng):
    """Every output position depends on every input position (no mask): the first position's output
    moves with the last position's input, and the last's with the first's."""
    autograd.manual_seed(2)
    attention = in_float64(SelfAttention(4, heads=1))
    x = autograd.tensor(rng.standard_normal((1, 4, 2, 3)), requires_grad=True)
    for target in (0, 5):
        (grad,) = autograd.grad(attention(x).reshape(1, 4, 6)[:, :, target].sum(), [x])
        per_position = np.abs(grad.numpy().reshape(4, 6)).sum(axis=0)
        assert (per_position > 1e-6).all()


@settings(max_examples=8, deadline=None)
@given(heads=st.sampled_from([1, 2]), side=st.integers(1, 3), data=st.data())
def test_attention_gradcheck(heads, side, data):
    autograd.manual_seed(3)
    attention = in_float64(SelfAttention(4, heads=heads))
    x = data.draw(float64_arrays((2, 4, side, 2)))
    assert autograd.gradcheck(attention, [x])


def test_tiny_unet_gradcheck_in_float64(rng):
    net = in_float64(UNetDenoiser((1, 4, 4), channels=2, time_dim=4, multipliers=(1, 1, 2), attention=True))
    x = rng.standard_normal((1, 16))
    assert autograd.gradcheck(lambda x: net(x, np.array([7])), [x], atol=1e-6)


# -- the weight average (EMA) ------------------------------------------------------------------
def tiny_ddpm(ema=0.9, **kwargs):
    return DDPM((4,), T=10, ema=ema, seed=0, **kwargs)


def test_ema_update_follows_its_formula():
    model = tiny_ddpm(0.9)
    average = [p.data.copy() for p in model.ema_denoiser.parameters()]
    for n in range(1, 40):
        for p in model.denoiser.parameters():
            p.data += 0.1                                              # the optimizer's step, as a stand-in
        model.update_ema()
        decay = min(0.9, (1 + n) / (EMA_WARMUP + n))                   # (12)
        average = [decay * a + (1 - decay) * p.data for a, p in zip(average, model.denoiser.parameters())]
        for a, p in zip(average, model.ema_denoiser.parameters()):
            np.testing.assert_allclose(p.data, a, rtol=1e-5, atol=1e-6)
    assert int(model.ema_updates) == 39


def test_ema_is_not_trained_and_sampling_uses_it():
    X = data.load_digits("train")[:64, :4]
    model = tiny_ddpm(0.5).fit(X, steps=5, batch_size=16, progress=False)
    assert int(model.ema_updates) == 5
    trained = {id(p) for p in model.denoiser.parameters()}
    assert all(id(p) not in trained and not p.requires_grad for p in model.ema_denoiser.parameters())
    x, t = np.ones((3, 4), np.float32), np.array([0, 4, 9])
    with autograd.no_grad():
        by_average = model.ema_denoiser(autograd.tensor(x), t).numpy()
        by_weights = model.denoiser(autograd.tensor(x), t).numpy()
    assert np.array_equal(model.predict_eps(x, t), by_average) and not np.allclose(by_average, by_weights)


def test_ema_zero_is_the_weights_and_none_keeps_no_twin():
    X = data.load_digits("train")[:64, :4]
    model = tiny_ddpm(0.0).fit(X, steps=3, batch_size=16, progress=False)
    for a, p in zip(model.ema_denoiser.parameters(), model.denoiser.parameters()):
        np.testing.assert_array_equal(a.data, p.data)
    plain = tiny_ddpm(None)
    assert not hasattr(plain, "ema_denoiser") and plain.sampling_denoiser is plain.denoiser
    assert not any("ema" in name for name in plain.state_dict())


@pytest.mark.parametrize("ema", [-0.1, 1.0, 2])
def test_ema_outside_0_1_is_refused(ema):
    with pytest.raises(ValueError, match="DDPM: ema"):
        tiny_ddpm(ema)


def test_save_and_load_keep_the_average(tmp_path):
    X = data.load_digits("train")[:64, :4]
    model = tiny_ddpm(0.8).fit(X, steps=4, batch_size=16, progress=False)
    model.save(tmp_path / "ddpm.npz")
    loaded = DDPM.load(tmp_path / "ddpm.npz")
    assert loaded.ema == 0.8 and int(loaded.ema_updates) == 4
    for a, b in zip(loaded.ema_denoiser.parameters(), model.ema_denoiser.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(loaded.sample(3, seed=1, steps=5, method="ddim"),
                                  model.sample(3, seed=1, steps=5, method="ddim"))


def test_tiny_unet_ddpm_fits_and_samples_28x28():
    X = data.load_mnist("train")[:32]
    model = DDPM((784,), T=20, denoiser=tiny_unet(), ema=0.9, seed=0)
    model.fit(X, steps=3, batch_size=8, progress=False)
    assert np.isfinite(model.history["loss"]).all() and int(model.ema_updates) == 3
    samples, trajectory = model.sample(2, method="ddim", steps=3, seed=0, return_trajectory=True)
    assert samples.shape == (2, 784) and trajectory.shape == (4, 2, 784) and np.isfinite(samples).all()


def test_tiny_unet_guided_ddpm_samples_per_class():
    X, y = data.load_mnist("train", return_labels=True)
    model = DDPM((784,), T=20, denoiser=tiny_unet(n_classes=10), n_classes=10, ema=0.9, seed=0)
    model.fit(X[:32], y[:32], steps=2, batch_size=8, progress=False)
    samples = model.sample(4, y=[0, 1, 2, 3], guidance=2.0, method="ddim", steps=2, seed=0)
    assert samples.shape == (4, 784) and np.isfinite(samples).all()


# -- the registry at 28x28 ------------------------------------------------------------------------
def build(name, shape=(784,)):
    return zoo.get(name).build(shape, {"seed": 0})


def test_zoo_builds_the_28x28_configurations():
    ddpm = build("ddpm")
    assert isinstance(ddpm.denoiser, UNetDenoiser) and ddpm.denoiser.attention is not None
    assert ddpm.ema == zoo.DDPM_MNIST_EMA and build("guided-ddpm").ema == zoo.DDPM_MNIST_EMA
    assert build("ddpm", (64,)).ema is None and isinstance(build("ddpm", (64,)).denoiser, MLPDenoiser)
    gan = build("gan")
    assert isinstance(gan, GAN) and gan.architecture == "conv" and gan.sample(2, seed=0).shape == (2, 784)
    assert (gan.latent_dim, gan.config["hidden"]) == (zoo.GAN_MNIST_LATENT, [zoo.GAN_MNIST_CHANNELS])
    assert isinstance(build("rbm"), RBM) and build("rbm").n_hidden == zoo.RBM_MNIST_HIDDEN
    assert build("rbm20").n_hidden == 20 and build("rbm", (64,)).n_hidden == 16
    vae = build("vae")
    assert isinstance(vae, VAE) and (vae.config["n_latent"], tuple(vae.config["hidden"])) == (32, (512, 512))
    assert isinstance(build("made"), MADE) and build("made").n_input == 784


@pytest.mark.parametrize("name", ["vae", "made"])
def test_zoo_fit_settings_on_mnist_and_elsewhere(name):
    fit_kwargs = zoo.get(name).fit_kwargs
    on_mnist = fit_kwargs({"data": "mnist-binary"})
    assert on_mnist["epochs"] == zoo.MNIST_EPOCHS[name]
    assert fit_kwargs({"data": "digits-binary"}).get("epochs") is None             # the family's Defaults
    assert fit_kwargs({"data": "mnist-binary", "epochs": 3})["epochs"] == 3
    assert fit_kwargs({"data": "mnist-binary", "quick": True})["epochs"] < on_mnist["epochs"]


def test_ddpm_defaults_at_28x28():
    mnist, digits = DDPMDefaults.for_shape((784,)), DDPMDefaults.for_shape((64,))
    assert DDPMDefaults.for_shape((1, 28, 28)) == mnist and digits == DDPMDefaults()
    assert mnist.lr < digits.lr and mnist.steps > 0


def test_the_registry_ddpm_at_28x28_round_trips_through_save_and_load(tmp_path):
    model = build("ddpm")
    model.fit(data.load_mnist("train")[:16], steps=1, batch_size=4, progress=False)
    model.save(tmp_path / "ddpm.npz")
    loaded = DDPM.load(tmp_path / "ddpm.npz")
    assert isinstance(loaded.denoiser, UNetDenoiser) and int(loaded.ema_updates) == 1
    np.testing.assert_array_equal(loaded.sample(2, method="ddim", steps=2, seed=0),
                                  model.sample(2, method="ddim", steps=2, seed=0))
