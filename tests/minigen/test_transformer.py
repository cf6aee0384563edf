"""Transformers: the fused causal softmax against their definitions and finite differences,
causality (editing later tokens leaves earlier logits unchanged), the initial loss, exact
normalization of the pixel transformer, decoding with temperature and top-k, and memorization."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd
from minigen.models.transformer import (VOCABULARY, CausalSoftmax, CharTransformer, PixelTransformer, UNKNOWN,
                                        causal_softmax_reference)
from tests.strategies import float64_arrays


@given(data=st.data(), T=st.integers(1, 5), scale=st.floats(0.1, 2.0))
def test_causal_softmax_is_masked_scaled_softmax_and_twice_differentiable(data, T, scale):
    scores = data.draw(float64_arrays((2, T, T)))
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    z = np.where(future, -np.inf, scale * scores)
    expected = np.exp(z - z.max(axis=-1, keepdims=True))
    expected /= expected.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(CausalSoftmax(scale)(autograd.tensor(scores)).data, expected, rtol=1e-12)
    leaf = autograd.tensor(scores, requires_grad=True)
    assert autograd.gradcheck(lambda t: CausalSoftmax(scale)(t), (leaf,))
    assert autograd.gradgradcheck(lambda t: CausalSoftmax(scale)(t), (leaf,))
    upstream = autograd.tensor(data.draw(float64_arrays((2, T, T))))
    fused, = autograd.grad((CausalSoftmax(scale)(leaf) * upstream).sum(), [leaf])
    readable, = autograd.grad((causal_softmax_reference(leaf, scale) * upstream).sum(), [leaf])
    np.testing.assert_allclose(causal_softmax_reference(leaf, scale).data, expected, rtol=1e-12)
    np.testing.assert_allclose(fused.data, readable.data, rtol=1e-10, atol=1e-12)


def tiny_char_model(block_size=12, seed=0):
    return CharTransformer(n_layer=2, n_head=2, n_embd=16, block_size=block_size, seed=seed)


@given(cut=st.integers(0, 10), seed=st.integers(0, 50))
def test_char_transformer_is_causal(cut, seed):
    model = tiny_char_model()
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, UNKNOWN + 1, size=(2, 12))
    edited = tokens.copy()
    edited[:, cut + 1:] = rng.integers(0, UNKNOWN + 1, size=(2, 11 - cut))
    edited[:, -1] = (tokens[:, -1] + 1) % (UNKNOWN + 1)                  # at least one token changes
    with autograd.no_grad():
        before, after = model.gpt(tokens).numpy(), model.gpt(edited).numpy()
    np.testing.assert_array_equal(after[:, :cut + 1], before[:, :cut + 1])
    assert not np.array_equal(after[:, -1], before[:, -1])


@given(pixel=st.integers(0, 15), seed=st.integers(0, 50))
def test_pixel_transformer_conditionals_are_causal(pixel, seed):
    model = PixelTransformer(16, n_layer=2, n_head=2, n_embd=16, seed=seed % 3)
    x = np.random.default_rng(seed).integers(0, 2, size=(3, 16)).astype(np.float32)
    edited = x.copy()
    edited[:, pixel] = 1 - edited[:, pixel]
    with autograd.no_grad():
        before = model.gpt(model._inputs(x)[0]).numpy()
        after = model.gpt(model._inputs(edited)[0]).numpy()
    np.testing.assert_array_equal(after[:, :pixel + 1], before[:, :pixel + 1])   # p(x_d | x_<d), d <= pixel
    if pixel < 15:
        assert not np.array_equal(after[:, pixel + 1], before[:, pixel + 1])


def test_initial_loss_is_about_log_vocabulary_size():
    model = CharTransformer(n_layer=2, n_head=4, n_embd=32, block_size=32)
    text = "".join(np.random.default_rng(0).choice(list(VOCABULARY), size=2000))
    tokens = model.encode(text)
    with autograd.no_grad():
        loss = model.loss(tokens, np.arange(0, 1900, 50)).item()
    assert abs(loss - math.log(len(VOCABULARY) + 1)) < 0.25


def test_pixel_transformer_probabilities_sum_to_one():
    model = PixelTransformer(8, n_layer=1, n_head=2, n_embd=16, seed=1)
    for p in model.parameters():                                          # a sharper, non-uniform model
        p.data *= 3
    states = np.array(list(itertools.product([0.0, 1.0], repeat=8)), dtype=np.float32)
    log_p = model.log_prob(states)
    assert log_p.shape == (256,) and np.ptp(log_p) > 1
    assert abs(np.exp(log_p.astype(np.float64)).sum() - 1) < 1e-4


def next_logits(model, text):
    with autograd.no_grad():
        return model.gpt(model.encode(text)[None, -model.block_size:]).numpy()[0, -1, :UNKNOWN]


def test_top_k_one_is_greedy_and_deterministic():
    model = tiny_char_model(seed=2)
    first = model.generate("def ", 10, top_k=1, seed=0)
    assert first == model.generate("def ", 10, top_k=1, seed=123)
    text = "def "
    for char in first:
        assert char == VOCABULARY[int(np.argmax(next_logits(model, text)))]
        text += char


@given(top_k=st.integers(2, 5), seed=st.integers(0, 20))
def test_top_k_samples_stay_among_the_k_largest_logits(top_k, seed):
    model = tiny_char_model(seed=3)
    generated = model.generate("x", 6, temperature=1.5, top_k=top_k, seed=seed)
    assert len(generated) == 6
    text = "x"
    for char in generated:
        logits = next_logits(model, text)
        assert logits[VOCABULARY.index(char)] >= np.sort(logits)[-top_k]
        text += char


def test_low_temperature_concentrates_on_the_argmax():
    model = tiny_char_model(seed=4)
    greedy = VOCABULARY[int(np.argmax(next_logits(model, "a")))]
    cold = [model.generate("a", 1, temperature=1e-3, seed=s) for s in range(10)]
    hot = [model.generate("a", 1, temperature=5.0, seed=s) for s in range(10)]
    assert cold == [greedy] * 10
    assert len(set(hot)) > 1


def test_memorized_text_has_low_bits_per_char():
    text = "the quick brown fox jumps over the lazy dog. " * 40
    model = CharTransformer(n_layer=1, n_head=2, n_embd=32, block_size=16, seed=0)
    before = model.bits_per_char(text)
    model.fit(text, steps=150, batch_size=16, lr=1e-2, progress=False)
    after = model.bits_per_char(text)
    assert before > 6 and after < 0.5
    assert model.generate("the quick", 12, top_k=1) == " brown fox j"


def test_pixel_transformer_samples_and_rejects_non_binary_data():
    model = PixelTransformer(8, n_layer=1, n_head=2, n_embd=16)
    samples = model.sample(5, seed=0)
    assert samples.shape == (5, 8) and set(np.unique(samples)) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="PixelTransformer.log_prob.*binary"):
        model.log_prob(np.full((2, 8), 0.5))


def test_pixel_transformer_fit_lowers_the_nll_and_keeps_its_history():
    X = (np.random.default_rng(0).random((200, 8)) < np.linspace(0.1, 0.9, 8)).astype(np.float32)
    model = PixelTransformer(8, n_layer=1, n_head=2, n_embd=16)
    before = -model.score(X)
    model.fit(X, epochs=10, batch_size=50, lr=1e-2, progress=False)
    assert -model.score(X) < before - 0.5
    assert len(model.history["loss"]) > 1 and model.history["loss"][-1] < model.history["loss"][0]
