"""Classifier-free guidance (Ho and Salimans 2022) on 8x8 digits.

One class-conditional DDPM learns eps(x, t, y) and, with labels dropped to a null label 10% of
the time, the unconditional eps(x, t, null).  Sampling with eps~ = (1 + w) eps(x, t, y) - w eps(x, t, null)
trades diversity for class fidelity as w grows.

Writes: a grid of guided samples, one row per class; the trade-off curves over w of class accuracy
(the fraction of samples the fixed digits classifier reads as the asked class, chance 0.1) and of
digits_fd (with its real-vs-real floor), and accuracy against digits_fd.
Numbers: accuracy and digits_fd per w, the floor, the training time.  Full mode trains the tuned
default (8,000 updates) and samples 500 digits per w with 1,000 ancestral steps; quick mode trains
600 updates and samples 200 digits per w with 20 DDIM steps.

Expected wall time on a 2-core CPU: quick about 10 s; full about 4 minutes (2 of them training).
"""
import os
import time

import numpy as np

from minigen import metrics, plots
from minigen.data import load_digits
from minigen.models import DDPM

GUIDANCE = [0.0, 0.5, 1.0, 2.0, 4.0]


def guided_samples(model, labels, w, quick):
    method, steps = ("ddim", 20) if quick else ("ddpm", None)
    return np.clip(model.sample(len(labels), method=method, steps=steps, y=labels, guidance=w, seed=1), 0, 1)


def main(quick=False, out_dir="out"):
    X, y = load_digits("train", return_labels=True)
    model = DDPM((64,), n_classes=10, seed=0)
    started = time.perf_counter()
    model.fit(X, y, steps=600 if quick else None, progress=False)
    results = {"train_s": round(time.perf_counter() - started, 1)}

    per_class = np.repeat(np.arange(10), 10)                                   # a row of 10 per class
    plots.image_grid(guided_samples(model, per_class, 2.0, quick), os.path.join(out_dir, "53_guided_samples.png"),
                     nrow=10, title="guided samples (w = 2), one row per class")

    labels = np.repeat(np.arange(10), 20 if quick else 50)
    accuracy, fd = [], []
    for w in GUIDANCE:
        samples = guided_samples(model, labels, w, quick)
        accuracy.append(metrics.classifier_accuracy(images=samples, labels=labels))
        fd.append(metrics.digits_fd(samples))
        results.update({f"accuracy_w{w:g}": accuracy[-1], f"digits_fd_w{w:g}": fd[-1]})
    results["digits_fd_floor"] = metrics.digits_fd_floor()
    results["samples_per_w"] = len(labels)

    plots.line_plot(GUIDANCE, {"class accuracy": accuracy}, os.path.join(out_dir, "53_guidance_accuracy.png"),
                    "guidance w", "read as the asked class", title="class fidelity against guidance",
                    hlines={"chance": 0.1})
    plots.line_plot(GUIDANCE, {"digits_fd": fd}, os.path.join(out_dir, "53_guidance_fd.png"), "guidance w",
                    "digits_fd", title="sample quality against guidance",
                    hlines={"real vs real": results["digits_fd_floor"]})
    plots.line_plot(fd, {"w = " + ", ".join(f"{w:g}" for w in GUIDANCE): accuracy},
                    os.path.join(out_dir, "53_guidance_tradeoff.png"), "digits_fd (lower is better)",
                    "class accuracy", title="the guidance trade-off")
    return results


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
