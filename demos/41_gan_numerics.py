"""The numerics of GAN training: the bilinear game min_x max_y xy and the Dirac GAN (the lecture's
Escher-staircase slide).

Simultaneous gradient steps spiral outward (eigenvalues 1 +- i eta on the bilinear game), alternating
steps circle, consensus optimization (v + gamma grad 1/2 ||v||^2) converges.  For each game and rule
the demo draws the field the rule steps along and trajectories from a few starts, and reports each
rule's distance to the equilibrium after the same number of steps.

Expected wall time on a 2-core CPU: about 5 s (quick: about 3 s).
"""
import os

import numpy as np

from minigen import plots
from minigen.models.gan_numerics import BILINEAR, DIRAC_GAN, RULES

GAMES = {"bilinear": (BILINEAR, 0.1), "dirac_gan": (DIRAC_GAN, 0.3)}
GAMMA = 1.0
STARTS = np.array([[1.0, 1.0], [-1.5, 0.5], [0.5, -1.5]])
EXTENT = (-3.0, 3.0, -3.0, 3.0)


def inside_prefix(path):
    """The trajectory (T, 2) up to its first point outside the plotted square."""
    outside = np.flatnonzero(np.any(np.abs(path) > EXTENT[1], axis=1))
    return path[:outside[0]] if len(outside) else path


def run_game(key, game, lr, steps, out_dir):
    numbers = {}
    for rule in RULES:
        paths = game.trajectory(STARTS, rule, lr=lr, steps=steps, gamma=GAMMA)          # (T + 1, N, 2)
        clipped = [inside_prefix(paths[:, i]) for i in range(len(STARTS))]
        plots.vector_field(lambda p, r=rule: game.update_direction(p, r, GAMMA),
                           os.path.join(out_dir, f"gan_numerics_{key}_{rule}.png"), EXTENT,
                           trajectories=clipped, title=f"{game.name}: {rule} (eta {lr}, gamma {GAMMA})")
        numbers[f"{key}_{rule}_final_distance"] = float(np.linalg.norm(paths[-1], axis=1).mean())
    return numbers


def main(quick=False, out_dir="out"):
    steps = 60 if quick else 300
    numbers = {"steps": steps, "gamma": GAMMA}
    for key, (game, lr) in GAMES.items():
        numbers.update(run_game(key, game, lr, steps, out_dir))
    numbers["start_distance"] = float(np.linalg.norm(STARTS, axis=1).mean())
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
