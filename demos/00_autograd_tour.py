"""A tour of the engine: a small MLP learns the two moons, and a second derivative is checked.

1. Two moons (scikit-learn's make_moons, noise 0.2, seeded) are split 800 / 200.  An MLP
   2-32-32-2 with tanh is trained by Adam on the cross-entropy of its logits,

       L(theta) = -1/N sum_n log softmax(f_theta(x_n))[y_n],

   with gradients from `loss.backward()`.  The demo prints the test accuracy and draws the decision
   boundary and the loss curve.
2. Double backward: for f(x) = x0^2 x1 + x1^3 + exp(x0 x2) the Hessian is computed row by row as
   the gradient of the gradient (autograd.grad with create_graph=True) and compared with its closed
   form; the demo prints the largest absolute error.

Expected wall time on a 2-core CPU: about 6 s (quick: about 3 s).
"""
import os

import numpy as np
from sklearn.datasets import make_moons

import autograd as ag
import autograd.nn.functional as F
from autograd import nn, optim
from minigen import plots


def moons(seed=0):
    X, y = make_moons(n_samples=1000, noise=0.2, random_state=seed)
    X = X.astype(np.float32)
    return (X[:800], y[:800]), (X[800:], y[800:])


def fit_classifier(X, y, steps, seed=0):
    """Full-batch Adam on the cross-entropy; returns the model and the loss after each step."""
    ag.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 2))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    inputs = ag.tensor(X)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(inputs), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def predict(model, X):
    with ag.no_grad():
        return model(ag.tensor(np.asarray(X, dtype=np.float32))).numpy().argmax(axis=1)


def f(x):
    """f(x) = x0^2 x1 + x1^3 + exp(x0 x2)"""
    return x[0] ** 2 * x[1] + x[1] ** 3 + (x[0] * x[2]).exp()


def hessian_closed_form(x):
    x0, x1, x2 = x
    e = np.exp(x0 * x2)
    return np.array([[2 * x1 + x2 ** 2 * e, 2 * x0, e + x0 * x2 * e],
                     [2 * x0, 6 * x1, 0.0],
                     [e + x0 * x2 * e, 0.0, x0 ** 2 * e]])


def hessian_by_double_backward(x_values):
    x = ag.tensor(x_values, requires_grad=True)
    (gradient,) = ag.grad(f(x), x, create_graph=True)               # (3,), itself a graph
    rows = [ag.grad(gradient[i], x, retain_graph=True)[0].numpy() for i in range(x.shape[0])]
    return np.stack(rows)                                            # (3, 3)


def main(quick=False, out_dir="out"):
    (X, y), (X_test, y_test) = moons()
    model, losses = fit_classifier(X, y, steps=150 if quick else 500)
    accuracy = float((predict(model, X_test) == y_test).mean())
    print(f"two moons: test accuracy {accuracy:.3f} after {len(losses)} steps")
    plots.decision_boundary(lambda points: predict(model, points), X_test, y_test,
                            os.path.join(out_dir, "00_moons_boundary.png"), title="MLP on two moons")
    plots.loss_curves({"cross-entropy": losses}, os.path.join(out_dir, "00_moons_loss.png"),
                      title="training loss")

    x_values = np.array([0.5, -1.2, 0.8])
    error = float(np.abs(hessian_by_double_backward(x_values) - hessian_closed_form(x_values)).max())
    print(f"Hessian by double backward vs closed form: max abs error {error:.2e}")
    return {"test_accuracy": accuracy, "final_loss": float(losses[-1]), "steps": len(losses),
            "hessian_max_error": error}


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
