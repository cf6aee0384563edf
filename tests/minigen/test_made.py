"""MADE: the autoregressive property (masks and a Jacobian-style perturbation test), exact
normalization over all 2^D inputs (one mask and mask ensembles), and sampling frequencies against
the exact probabilities."""
import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chisquare

import autograd
from minigen.data import load_digits
from minigen.models.made import MADE


def all_binary(D):
    return np.array(list(itertools.product([0.0, 1.0], repeat=D)), dtype=np.float32)   # (2^D, D)


def randomized(made, scale, seed=0):
    """Give every weight a random value, so each allowed connection really carries signal."""
    rng = np.random.default_rng(seed)
    for p in made.parameters():
        p.data[...] = scale * rng.standard_normal(p.shape)
    return made


made_configs = st.fixed_dictionaries({
    "n_input": st.integers(2, 10),
    "hidden": st.lists(st.integers(3, 20), min_size=1, max_size=3).map(tuple),
    "n_masks": st.integers(1, 3),
    "order_agnostic": st.booleans(),
    "direct": st.booleans(),
    "seed": st.integers(0, 100),
})


@given(config=made_configs, mask=st.integers(0, 2))
def test_product_of_masks_only_connects_earlier_inputs(config, mask):
    made = MADE(**config)
    made.set_mask(mask % made.n_masks)
    order = made.degrees[made.active_mask][0]
    path = np.eye(made.n_input)
    for layer in made.hidden_layers:
        path = layer.mask @ path                                        # paths input -> hidden unit
    reach = made.output_layer.mask @ path                               # (D, D): output d <- input j
    if made.direct_layer is not None:
        reach = reach + made.direct_layer.mask
    earlier = order[:, None] > order[None, :]
    assert not np.any(reach[~earlier])


@given(config=made_configs, mask=st.integers(0, 2), data=st.data())
def test_output_d_does_not_depend_on_inputs_at_or_after_d(config, mask, data):
    made = randomized(MADE(**config), scale=1.0, seed=config["seed"])
    made.set_mask(mask % made.n_masks)
    order = made.degrees[made.active_mask][0]
    x = np.asarray(data.draw(st.lists(st.booleans(), min_size=made.n_input, max_size=made.n_input)), dtype=np.float32)
    with autograd.no_grad():
        base = made.logits(autograd.tensor(x[None])).numpy()[0]
        for j in range(made.n_input):
            flipped = x.copy()
            flipped[j] = 1 - flipped[j]
            changed = made.logits(autograd.tensor(flipped[None])).numpy()[0]
            not_after_j = order <= order[j]
            np.testing.assert_array_equal(changed[not_after_j], base[not_after_j])


def test_the_last_output_does_depend_on_earlier_inputs():
    made = randomized(MADE(6, hidden=(30,), n_masks=1), scale=1.0)
    x = np.zeros((1, 6), dtype=np.float32)
    flipped = x.copy()
    flipped[0, 0] = 1
    with autograd.no_grad():
        assert made.logits(autograd.tensor(flipped)).numpy()[0, -1] != made.logits(autograd.tensor(x)).numpy()[0, -1]


@given(config=made_configs)
def test_probabilities_over_all_inputs_sum_to_one(config):
    made = randomized(MADE(**config), scale=0.7, seed=config["seed"])
    log_p = made.log_prob(all_binary(made.n_input))
    assert log_p.shape == (2 ** made.n_input,)
    assert abs(np.exp(log_p).sum() - 1) < 1e-4


def test_twelve_pixels_with_an_ensemble_of_masks_sum_to_one():
    made = randomized(MADE(12, hidden=(40, 40), n_masks=4, order_agnostic=True, seed=3), scale=0.5)
    per_mask = made.log_prob_per_mask(all_binary(12))
    for log_p in per_mask:                                     # each mask alone is normalized
        assert abs(np.exp(log_p).sum() - 1) < 1e-4
    assert abs(np.exp(made.log_prob(all_binary(12))).sum() - 1) < 1e-4
    assert np.ptp(per_mask, axis=0).max() > 0.1                # and the masks are different models


def test_sample_frequencies_match_exact_probabilities():
    made = randomized(MADE(3, hidden=(8,), n_masks=2, order_agnostic=True, seed=1), scale=1.5)
    states = all_binary(3)
    expected = np.exp(made.log_prob(states))
    expected /= expected.sum()                                  # float32 rounding: scipy wants equal sums
    samples = made.sample(20000, seed=0)
    codes = samples @ np.array([4, 2, 1])
    observed = np.bincount(codes.astype(int), minlength=8)
    assert expected.max() > 2 * expected.min()                 # a distribution far from uniform
    assert chisquare(observed, expected * len(samples)).pvalue > 1e-3


def test_fit_lowers_the_digits_nll_and_state_round_trips():
    X = load_digits("train", binarize=True)[:300]
    made = MADE(64, hidden=(64,), n_masks=2, order_agnostic=True)
    before = -made.log_prob(X).mean()
    made.fit(X, epochs=5, progress=False)
    after = -made.log_prob(X).mean()
    assert after < before - 5
    assert len(made.history["loss"]) > 1 and made.history["loss"][-1] < made.history["loss"][0]
    twin = MADE(**made.config)
    twin.load_state_dict(made.state_dict())
    np.testing.assert_allclose(twin.log_prob(X[:50]), made.log_prob(X[:50]), rtol=1e-6)
    samples = made.sample(7, seed=2)
    assert samples.shape == (7, 64) and set(np.unique(samples)) <= {0.0, 1.0}
