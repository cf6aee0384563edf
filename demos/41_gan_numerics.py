"""The numerics of GAN training: the bilinear game min_x max_y xy and the Dirac GAN (the lecture's
Escher-staircase slide).

Simultaneous gradient steps spiral outward (eigenvalues 1 +- i eta on the bilinear game), alternating
steps circle, consensus optimization (v + gamma grad 1/2 ||v||^2) converges.  For each game and rule
the demo draws the field the rule steps along and trajectories from a few starts, and reports each
rule's distance to the equilibrium after the same number of steps.

Then the library's GAN itself on the Dirac GAN: data all at 0, generator G(z) = a z + theta,
discriminator D(x) = psi x + c (a GAN with no hidden layers), the non-saturating loss, Adam (lr 0.05
decaying linearly to 0), from theta = psi = 1.  Its fit with update="simultaneous" circles the
equilibrium (0, 0); with update="consensus" (gamma 10) it converges.  Measured (600 updates):
simultaneous turns around (0, 0) three times and ends at distance 0.79, never closer than 0.77 in the
second half; consensus ends at 7e-7.  The figure plots theta and psi against the update for both rules.

Expected wall time on a 2-core CPU: about 5 s (quick: about 3 s).
"""
import os

import numpy as np

from minigen import plots
from minigen.models.gan import GAN
from minigen.models.gan_numerics import BILINEAR, DIRAC_GAN, RULES

GAMES = {"bilinear": (BILINEAR, 0.1), "dirac_gan": (DIRAC_GAN, 0.3)}
GAMMA = 1.0
STARTS = np.array([[1.0, 1.0], [-1.5, 0.5], [0.5, -1.5]])
EXTENT = (-3.0, 3.0, -3.0, 3.0)
DIRAC_LR = 0.05
DIRAC_START = {"discriminator.head.weight": 1.0, "generator.0.bias": 1.0}    # psi, theta; a = c = 0


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


def fit_dirac_gan(update, steps):
    """The library's GAN fit to data at 0 from DIRAC_START; returns (theta, psi) after each update (T + 1, 2)."""
    gan = GAN(1, latent_dim=1, hidden=(), loss="nonsaturating", update=update, seed=0)
    parameters = dict(gan.named_parameters())
    for name, p in parameters.items():
        p.data[...] = DIRAC_START.get(name, 0.0)
    theta, psi = parameters["generator.0.bias"], parameters["discriminator.head.weight"]
    path = [[theta.data.item(), psi.data.item()]]
    gan.fit(np.zeros((512, 1), dtype=np.float32), steps=steps, lr=DIRAC_LR, batch_size=64, progress=False,
            callback=lambda model, step: path.append([theta.data.item(), psi.data.item()]), callback_every=1)
    return np.array(path)


def run_gan_class(steps, out_dir):
    """Simultaneous against consensus updates of the GAN class on the Dirac GAN: numbers and a figure."""
    paths = {update: fit_dirac_gan(update, steps) for update in ("simultaneous", "consensus")}
    shown = np.arange(0, steps + 1, max(1, steps // 60))
    curves = {f"{update}: {name}": path[shown, i] for update, path in paths.items()
              for i, name in enumerate(("theta (G's offset)", "psi (D's slope)"))}
    plots.line_plot(shown, curves, os.path.join(out_dir, "gan_numerics_dirac_gan_fit.png"),
                    xlabel="generator update", ylabel="parameter value",
                    title=f"GAN.fit on the Dirac GAN (Adam, lr {DIRAC_LR}): simultaneous vs consensus")
    numbers = {}
    for update, path in paths.items():
        distance = np.linalg.norm(path, axis=1)
        numbers[f"dirac_gan_fit_{update}_final_distance"] = float(distance[-1])
        numbers[f"dirac_gan_fit_{update}_closest_in_second_half"] = float(distance[steps // 2:].min())
    numbers["dirac_gan_fit_simultaneous_turns"] = float(np.sum(np.diff(np.sign(paths["simultaneous"][:, 0])) != 0) / 2)
    return numbers


def main(quick=False, out_dir="out"):
    steps = 60 if quick else 300
    numbers = {"steps": steps, "gamma": GAMMA}
    for key, (game, lr) in GAMES.items():
        numbers.update(run_game(key, game, lr, steps, out_dir))
    numbers["start_distance"] = float(np.linalg.norm(STARTS, axis=1).mean())
    numbers["dirac_gan_fit_steps"] = 200 if quick else 600
    numbers.update(run_gan_class(numbers["dirac_gan_fit_steps"], out_dir))
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
