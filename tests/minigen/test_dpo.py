"""CharTransformer as a text model and its preference tuning (DPO, Rafailov et al. 2023): exact
completion log-probabilities (8) against a direct loop, their normalization, the DPO loss (10) and its
gradient against hand computation and finite differences, the implicit reward (9), the frozen
reference, generalization to held-out prompts, and save/load."""
import copy
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from minigen.models import CharTransformer, load
from minigen.models.transformer import NEWLINE, UNKNOWN, VOCABULARY, dpo_loss
from tests.strategies import float64_arrays

text = st.text(alphabet="abc (){}\n", max_size=12)


def tiny(seed=0, block_size=6, sharpen=3.0):
    """A small untrained model whose weights are scaled up, so its conditionals are far from uniform."""
    model = CharTransformer(n_layer=1, n_head=2, n_embd=8, block_size=block_size, seed=seed)
    for p in model.parameters():
        p.data *= sharpen
    return model


def direct_log_prob(model, prompt, completion):
    """(8) one character at a time, each from the last block_size tokens, with NumPy's log-sum-exp."""
    tokens = list(model.encode(prompt)) or [NEWLINE]
    first = len(tokens)
    tokens += list(model.encode(completion))
    total = 0.0
    with autograd.no_grad():
        for j in range(first, len(tokens)):
            logits = model.gpt(np.array([tokens[max(0, j - model.block_size):j]])).numpy()[0, -1].astype(np.float64)
            total += logits[tokens[j]] - np.logaddexp.reduce(logits)
    return total


@settings(max_examples=30, deadline=None)
@given(prompt=text, completion=text.filter(bool))
def test_sequence_log_prob_sums_each_character_given_its_last_block_size_tokens(prompt, completion):
    model = tiny()
    assert model.sequence_log_prob(prompt, completion) == pytest.approx(direct_log_prob(model, prompt, completion),
                                                                         rel=1e-5, abs=1e-4)


def test_completion_probabilities_sum_to_one_over_every_two_character_completion():
    model = tiny(seed=1)
    alphabet = VOCABULARY + "\x00"                                      # "\x00" stands for the unknown token
    completions = ["".join(pair) for pair in itertools.product(alphabet, repeat=2)]
    with autograd.no_grad():
        log_p = model.completion_log_probs([("ab", c) for c in completions]).numpy().astype(np.float64)
    assert len(completions) == (UNKNOWN + 1) ** 2 and np.ptp(log_p) > 3
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-4)


def test_log_prob_of_texts_is_their_log_prob_after_a_newline():
    model = tiny(seed=2)
    texts = ["abc", "a much longer text than one block"]
    np.testing.assert_allclose(model.log_prob(texts), [direct_log_prob(model, "\n", t) for t in texts], rtol=1e-5)
    assert model.score(texts) == pytest.approx(model.log_prob(texts).mean())


def test_dpo_loss_and_its_gradient_in_a_hand_computed_case():
    chosen, rejected = autograd.tensor([-1.0], requires_grad=True), autograd.tensor([-2.0], requires_grad=True)
    reference_chosen, reference_rejected = autograd.tensor([-1.5]), autograd.tensor([-1.0])
    loss = dpo_loss(chosen, rejected, reference_chosen, reference_rejected, beta=0.5)
    margin = 0.5 * ((-1.0 + 1.5) - (-2.0 + 1.0))                       # r_w - r_l = 0.75
    assert loss.item() == pytest.approx(math.log1p(math.exp(-margin)), rel=1e-6)
    loss.backward()
    slope = 0.5 / (1 + math.exp(margin))                               # beta sigmoid(-margin)
    assert chosen.grad.numpy()[0] == pytest.approx(-slope, rel=1e-6)
    assert rejected.grad.numpy()[0] == pytest.approx(slope, rel=1e-6)


@given(data=st.data(), pairs=st.integers(1, 5), beta=st.floats(0.05, 2.0))
def test_dpo_loss_gradient_matches_finite_differences(data, pairs, beta):
    inputs = [autograd.tensor(data.draw(float64_arrays((pairs,), -20.0, 0.0)), requires_grad=True) for _ in range(4)]
    assert autograd.gradcheck(lambda *log_probs: dpo_loss(*log_probs, beta), inputs)


PAIRS = [("ab", "cd", "xy"), ("hello", "world!!", "w"), ("", "q", "zz"), ("(a", ")", "((")]


def test_dpo_loss_of_the_model_matches_the_formula_and_finite_differences():
    model = CharTransformer(n_layer=1, n_head=2, n_embd=8, block_size=6, seed=0)
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    reference = tiny(seed=1)
    reference_chosen, reference_rejected = (np.array([direct_log_prob(reference, x, y[k]) for x, *y in PAIRS])
                                            for k in (0, 1))
    beta = 0.5

    def model_loss():
        chosen = model.completion_log_probs([(x, c) for x, c, _ in PAIRS])
        rejected = model.completion_log_probs([(x, r) for x, _, r in PAIRS])
        return dpo_loss(chosen, rejected, autograd.tensor(reference_chosen), autograd.tensor(reference_rejected), beta)

    margins = beta * np.array([(direct_log_prob(model, x, c) - rc) - (direct_log_prob(model, x, r) - rr)
                               for (x, c, r), rc, rr in zip(PAIRS, reference_chosen, reference_rejected)])
    loss = model_loss()
    assert loss.item() == pytest.approx(np.mean(np.log1p(np.exp(-margins))), rel=1e-9)
    loss.backward()
    for name in ("gpt.position_embedding.weight", "gpt.blocks.0.attn.qkv.bias", "gpt.ln_final.weight", "gpt.head.bias"):
        parameter = dict(model.named_parameters())[name]
        flat, analytic = parameter.data.reshape(-1), parameter.grad.numpy().reshape(-1)
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + 1e-6
            with autograd.no_grad():
                plus = model_loss().item()
            flat[i] = original - 1e-6
            with autograd.no_grad():
                minus = model_loss().item()
            flat[i] = original
            assert analytic[i] == pytest.approx((plus - minus) / 2e-6, rel=1e-4, abs=1e-8), f"{name}[{i}]"


def test_implicit_reward_is_beta_times_the_log_ratio_and_its_difference_gives_the_loss():
    reference = tiny(seed=3)
    model = copy.deepcopy(reference).dpo(PAIRS, beta=0.3, steps=5, lr=1e-2, batch_size=4, progress=False)
    for x, y, _ in PAIRS:
        assert reference.implicit_reward(x, y, reference, beta=0.3) == 0.0
        ratio = direct_log_prob(model, x, y) - direct_log_prob(reference, x, y)
        assert model.implicit_reward(x, y, reference, beta=0.3) == pytest.approx(0.3 * ratio, rel=1e-4, abs=1e-5)
    margins = np.array([model.implicit_reward(x, c, reference, 0.3) - model.implicit_reward(x, r, reference, 0.3)
                        for x, c, r in PAIRS])
    with autograd.no_grad():
        logs = [m.completion_log_probs([(x, y[k]) for x, *y in PAIRS]) for m in (model, reference) for k in (0, 1)]
        loss = dpo_loss(logs[0], logs[1], logs[2], logs[3], 0.3).item()
    assert loss == pytest.approx(np.mean(np.log1p(np.exp(-margins))), rel=1e-4)


def test_the_default_reference_is_a_frozen_copy_of_the_model_before_tuning():
    settings_ = {"beta": 0.2, "steps": 4, "lr": 1e-2, "batch_size": 2, "progress": False}
    implicit = tiny(seed=4).dpo(PAIRS, **settings_)
    start = tiny(seed=4)
    explicit = start.dpo(PAIRS, reference=copy.deepcopy(start), **settings_)
    for (name, a), (_, b) in zip(implicit.named_parameters(), explicit.named_parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert len(implicit.history["dpo_loss"]) > 0 and "dpo_reward_margin" in implicit.history


def margin(model, prompts, chosen, rejected):
    return np.mean([model.sequence_log_prob(x, chosen) - model.sequence_log_prob(x, rejected) for x in prompts])


def test_dpo_raises_the_chosen_margin_on_held_out_prompts():
    """Prefer ' ok' to ' no' after eight prompts; four other prompts should follow."""
    words = ["apple", "river", "stone", "cloud", "green", "table", "music", "light", "sugar", "paper", "glass", "tiger"]
    train_prompts, held_out = words[:8], words[8:]
    model = CharTransformer(n_layer=1, n_head=2, n_embd=16, block_size=16, seed=5)
    before = margin(model, held_out, " ok", " no")
    model.dpo([(x, " ok", " no") for x in train_prompts], beta=0.1, steps=30, lr=3e-3, batch_size=8, progress=False)
    after = margin(model, held_out, " ok", " no")
    assert after > before + 5.0
    assert model.history["dpo_loss"][-1] < 0.5 * math.log(2)


@pytest.mark.parametrize("pairs, error", [([], TypeError), ([("a", "b")], TypeError), ("abc", TypeError),
                                          ([("a", "", "c")], ValueError)])
def test_dpo_refuses_malformed_pairs(pairs, error):
    with pytest.raises(error, match="CharTransformer.dpo"):
        tiny().dpo(pairs, steps=1, progress=False)


def test_text_is_checked_and_the_model_round_trips_through_save_and_load(tmp_path):
    model = tiny(seed=6)
    with pytest.raises(TypeError, match="CharTransformer.fit"):
        model.fit(np.zeros((3, 4)), steps=1, progress=False)
    with pytest.raises(ValueError, match="CharTransformer.fit.*shorter"):
        model.fit("abc", steps=1, progress=False)
    with pytest.raises(ValueError, match="CharTransformer.log_prob.*empty"):
        model.log_prob([""])
    model.fit("some text to learn from, " * 4, steps=3, batch_size=2, progress=False)
    assert len(model.history["loss"]) > 0
    model.save(tmp_path / "char.npz")
    for loader in (CharTransformer.load, load):
        twin = loader(tmp_path / "char.npz")
        assert twin.sample(20, seed=1) == model.sample(20, seed=1) and len(twin.sample(20, seed=1)) == 20
        assert twin.sequence_log_prob("some ", "text") == model.sequence_log_prob("some ", "text")
    assert CharTransformer.Defaults().steps == 3000


def known_mass(model, prompt):
    """The probability that the next character is not the unknown token (generation never emits it)."""
    with autograd.no_grad():
        return np.exp(model.completion_log_probs([(prompt, c) for c in VOCABULARY]).numpy().astype(np.float64)).sum()


def test_batched_generation_draws_from_the_exact_conditionals():
    """Two-character completions of one prompt, drawn together, against exp(8) renormalized at each
    step to the known characters: chi-square over the completions drawn at least 50 times."""
    model = tiny(seed=7, sharpen=4.0)
    draws = 20000
    completions, counts = np.unique(model.generate_batch(["(a"] * draws, 2, seed=0), return_counts=True)
    with autograd.no_grad():
        log_p = model.completion_log_probs([("(a", c) for c in completions]).numpy().astype(np.float64)
    expected = draws * np.exp(log_p) / known_mass(model, "(a") / np.array([known_mass(model, "(a" + c[0])
                                                                          for c in completions])
    frequent = counts >= 50
    chi_square = ((counts - expected) ** 2 / expected)[frequent].sum()
    assert frequent.sum() > 5 and expected[frequent].sum() > 0.5 * draws
    assert chi_square < frequent.sum() + 4 * np.sqrt(2 * frequent.sum())        # mean k, sd sqrt(2k)
    with pytest.raises(ValueError, match="one length"):
        model.generate_batch(["a", "bb"], 2)
