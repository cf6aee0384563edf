"""Dynamic textures (Doretto, Chiuso, Wu and Soatto 2003): a video as a linear dynamical system.

A synthetic 16x16 video of travelling and standing waves (minigen.data.synthetic_video) is split in
time: the first 75% of frames fit LinearDynamicalSystem (the mean frame, C from the SVD, A by least
squares), the rest are held out.  Figures: original and synthesized frames side by side as a frame
strip (PNG) and an animated GIF.  Numbers: the Kalman filter's exact log-likelihood per frame of the
held-out frames in their true order (lds.score: the mean of lds.log_prob, each frame's log-density
given the frames before it) against the same frames shuffled (a control that keeps every frame but
destroys the dynamics), and the eigenvalues of A (each wave is a rotation: a complex pair of modulus
near 1).

Expected wall time on a 2-core CPU: about 10 s (quick: about 5 s).
"""
import os

import numpy as np

from minigen import plots
from minigen.data import synthetic_video
from minigen.models import LinearDynamicalSystem

SIDE = 16


def main(quick=False, out_dir="out"):
    video = synthetic_video(n_frames=200 if quick else 400, side=SIDE, seed=0)
    split = int(0.75 * len(video))
    train, held_out = video[:split], video[split:]
    lds = LinearDynamicalSystem(n_state=8).fit(train)
    synthesized = lds.sample(len(held_out), seed=0)
    shuffled = held_out[np.random.default_rng(0).permutation(len(held_out))]
    per_frame, per_frame_shuffled = lds.score(held_out), lds.score(shuffled)
    strip = 12
    plots.interpolation_strip([held_out[:strip], synthesized[:strip]],
                              os.path.join(out_dir, "12_dynamic_textures_strip.png"),
                              title="top: held-out frames, bottom: synthesized by the LDS")
    plots.video_gif([held_out, synthesized], os.path.join(out_dir, "12_dynamic_textures.gif"),
                    titles=["original", "synthesized"])
    eigenvalues = np.linalg.eigvals(lds.A)
    eigenvalues = eigenvalues[np.argsort(-np.abs(eigenvalues))]
    return {"train_frames": split, "held_out_frames": len(held_out), "n_state": lds.n_state,
            "held_out_log_likelihood_per_frame": per_frame,
            "shuffled_log_likelihood_per_frame": per_frame_shuffled,
            "order_gain_nats_per_frame": per_frame - per_frame_shuffled,
            "spectral_radius": float(np.abs(eigenvalues).max()),
            "eigenvalues_of_A": " ".join(f"{v.real:+.3f}{v.imag:+.3f}j" for v in eigenvalues),
            "eigenvalue_moduli": " ".join(f"{m:.3f}" for m in np.abs(eigenvalues))}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
