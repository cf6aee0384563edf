"""Preference tuning of a character transformer by DPO (Rafailov et al. 2023, "Direct preference
optimization: your language model is secretly a reward model").

1. Pretrain a small CharTransformer on the Python language reference (text_corpus("train")).  It is
   the reference policy pi_ref.
2. A rule-based judge scores a completion by its spelling: the fraction of its finished words (runs of
   two or more letters followed by a non-letter) that occur at least MIN_COUNT times in the training
   text.  A completion with no finished word scores 0.
3. Prompts are PROMPT_LENGTH characters of the corpus ending at the start of a word.  For each training
   prompt (from text_corpus("train")) pi_ref draws SAMPLES_PER_PROMPT completions of COMPLETION_LENGTH
   characters at temperature 1; the best and the worst by the judge become (prompt, chosen, rejected)
   when their scores differ.
4. DPO from the same reference at each beta in BETAS, then on held-out prompts (text_corpus("valid"))
   the judge score of the tuned policy's own samples, and KL(pi || pi_ref) estimated on them:
       KL = E_{y ~ pi(. | x)} [log pi(y | x) - log pi_ref(y | x)]     nats per completion, by (8)
   averaged over the samples.  (Generation never emits the unknown token, which stands for about 0.1%
   of the corpus's characters; the log-probabilities include it, a bias far below the KLs reported.)
DPO's optimum is pi_ref exp(r / beta) / Z: a small beta lets the policy move far from the reference,
a large beta keeps it close.  Figures: judge score against KL, one point per beta (the reward/KL
trade-off), and both against beta; text files of held-out samples from the reference and each policy.

Measured in full mode (256 pairs, 100 DPO steps of 32 pairs): the reference scores 0.656; DPO reaches
0.762 at beta = 1 (KL 1.9 nats per 24-character completion), 0.728 at 0.3 (KL 5.9), 0.676 at 0.1
(KL 13.6) and 0.605 at 0.03 (KL 24.3).  The best score comes at the smallest KL: with a small beta the
policy fits the 256 pairs far from the reference, and what it learns there does not carry to new
prompts (its samples break words into fragments), the over-optimization that direct alignment
methods show at large KL (Rafailov et al. 2024, "Scaling laws for reward model overoptimization in
direct alignment algorithms").  In quick mode the reference is barely trained (score about 0.08) and
every beta improves it (to 0.2-0.32), the small ones most.

Expected wall time on a 2-core CPU: about 5 minutes (measured 5.3 minutes, 2.4 CPU minutes, on a
shared machine; quick: about 15 s).
"""
import collections
import copy
import os
import re
import time

import numpy as np

from minigen import plots
from minigen.data import text_corpus
from minigen.models import CharTransformer

PROMPT_LENGTH, COMPLETION_LENGTH, MIN_COUNT = 32, 24, 3
BETAS = (0.03, 0.1, 0.3, 1.0)
QUICK = {"model": {"n_layer": 2, "n_head": 4, "n_embd": 64, "block_size": 64},
         "pretrain": {"steps": 200, "batch_size": 16, "lr": 3e-3},
         "train_prompts": 32, "samples_per_prompt": 6, "held_out_prompts": 16, "samples_per_held_out": 6,
         "dpo": {"steps": 40, "batch_size": 16}}
FULL = {"model": {"n_layer": 2, "n_head": 4, "n_embd": 64, "block_size": 64},
        "pretrain": {"steps": 1500, "batch_size": 32, "lr": 3e-3},
        "train_prompts": 256, "samples_per_prompt": 8, "held_out_prompts": 64, "samples_per_held_out": 16,
        "dpo": {}}                                                  # the DPO settings of CharTransformer.Defaults
WORD = re.compile(r"[A-Za-z]{2,}(?=[^A-Za-z])")


def dictionary(text):
    """The words of two or more letters found at least MIN_COUNT times in `text`."""
    counts = collections.Counter(re.findall(r"[A-Za-z]{2,}", text))
    return {word for word, count in counts.items() if count >= MIN_COUNT}


def judge(completion, words):
    """The fraction of the completion's finished words that are spelled right (0 without any)."""
    finished = WORD.findall(completion)
    return sum(word in words for word in finished) / len(finished) if finished else 0.0


def prompts(text, count, seed):
    """`count` prompts of PROMPT_LENGTH characters, each ending just before a word starts."""
    starts = [m.start() for m in re.finditer(r"(?<= )[A-Za-z]", text) if m.start() >= PROMPT_LENGTH]
    chosen = np.random.default_rng(seed).choice(starts, size=count, replace=False)
    return [text[s - PROMPT_LENGTH:s] for s in chosen]


def preference_pairs(reference, train_prompts, samples, words, seed):
    """(prompt, best, worst) by the judge among `samples` completions of each prompt drawn from pi_ref."""
    completions = reference.generate_batch([p for p in train_prompts for _ in range(samples)],
                                           COMPLETION_LENGTH, seed=seed)
    pairs = []
    for i, prompt in enumerate(train_prompts):
        group = completions[i * samples:(i + 1) * samples]
        scores = [judge(c, words) for c in group]
        if max(scores) > min(scores):
            pairs.append((prompt, group[int(np.argmax(scores))], group[int(np.argmin(scores))]))
    return pairs


def evaluate(policy, reference, held_out, samples, words, seed):
    """(mean judge score, KL(pi || pi_ref) in nats per completion) on the policy's own samples."""
    contexts = [p for p in held_out for _ in range(samples)]
    completions = policy.generate_batch(contexts, COMPLETION_LENGTH, seed=seed)
    pairs = list(zip(contexts, completions))
    log_ratio = (policy.completion_log_probs(pairs).numpy() - reference.completion_log_probs(pairs).numpy())
    return float(np.mean([judge(c, words) for c in completions])), float(log_ratio.mean()), completions


def main(quick=False, out_dir="out"):
    settings = QUICK if quick else FULL
    started = time.perf_counter()
    train_text = text_corpus("train")
    words = dictionary(train_text)
    reference = CharTransformer(**settings["model"]).fit(train_text, progress=False, **settings["pretrain"])
    pretrain_seconds = time.perf_counter() - started
    pairs = preference_pairs(reference, prompts(train_text, settings["train_prompts"], seed=0),
                             settings["samples_per_prompt"], words, seed=1)
    held_out = prompts(text_corpus("valid"), settings["held_out_prompts"], seed=2)
    evaluation = (reference, held_out, settings["samples_per_held_out"], words)
    score_before, _, before = evaluate(reference, *evaluation, seed=3)
    scores, kls, margins = [], [], []
    tuning_started = time.perf_counter()
    for beta in BETAS:
        policy = copy.deepcopy(reference).dpo(pairs, beta=beta, reference=reference, progress=False,
                                              **settings["dpo"])
        score, kl, after = evaluate(policy, *evaluation, seed=3)
        scores.append(score)
        kls.append(kl)
        margins.append(policy.history["dpo_reward_margin"][-1])
        with open(os.path.join(out_dir, f"62_dpo_samples_beta_{beta:g}.txt"), "w") as handle:
            handle.writelines(f"{p!r} -> {c!r}\n" for p, c in zip(held_out, after[::settings["samples_per_held_out"]]))
    with open(os.path.join(out_dir, "62_dpo_samples_reference.txt"), "w") as handle:
        handle.writelines(f"{p!r} -> {c!r}\n" for p, c in zip(held_out, before[::settings["samples_per_held_out"]]))
    order = np.argsort(kls)
    plots.line_plot(np.array(kls)[order], {"DPO policies": np.array(scores)[order]},
                    os.path.join(out_dir, "62_dpo_reward_vs_kl.png"),
                    xlabel="KL(pi || pi_ref), nats per completion", ylabel="judge score (held-out prompts)",
                    hlines={"reference": score_before},
                    title="DPO, beta = " + ", ".join(f"{b:g}" for b in np.array(BETAS)[order]) + " from left to right")
    plots.line_plot(BETAS, {"judge score": scores, "KL / max KL": np.array(kls) / max(max(kls), 1e-12)},
                    os.path.join(out_dir, "62_dpo_vs_beta.png"), xlabel="beta", ylabel="score, relative KL",
                    logx=True, hlines={"reference score": score_before}, title="What beta buys")
    numbers = {"pretrain_steps": settings["pretrain"]["steps"], "pretrain_seconds": round(pretrain_seconds, 1),
               "dpo_steps": settings["dpo"].get("steps", CharTransformer.Defaults().dpo_steps),
               "preference_pairs": len(pairs),
               "dpo_and_evaluation_seconds_per_beta": round((time.perf_counter() - tuning_started) / len(BETAS), 1),
               "judge_score_reference": score_before}
    for beta, score, kl, margin in zip(BETAS, scores, kls, margins):
        numbers.update({f"judge_score_beta_{beta:g}": score, f"kl_nats_beta_{beta:g}": kl,
                        f"final_reward_margin_beta_{beta:g}": margin})
    numbers["wall_seconds"] = round(time.perf_counter() - started, 1)
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
