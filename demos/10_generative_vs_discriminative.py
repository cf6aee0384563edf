"""Generative against discriminative classifiers: Ng and Jordan's two regimes (NIPS 2002).

Gaussian naive Bayes (generative: p(x, y)) and softmax logistic regression (discriminative: p(y | x))
are trained on random subsets of growing size m of each data set's training part, and their test
errors are averaged over many subsets (seeded).  The finding: logistic regression has the lower
asymptotic error, naive Bayes reaches its own, higher, asymptote with far fewer examples, so the
curves cross.  Data: the 8x8 digits and scikit-learn's embedded tables (iris, wine, breast cancer).
Naive Bayes, being generative, also draws class-conditional digits x ~ p(x | y).

Numbers per data set: each classifier's error at the smallest and the largest training size, and
the training size where the mean curves first cross (interpolated in log m), or which one is lower
throughout.  Naive Bayes's variance floor is 1e-2 on the digits (see VAR_SMOOTHING), 1e-9 elsewhere.

Expected wall time on a 2-core CPU: about 4 minutes (quick: about 30 s).
"""
import os

import numpy as np
from sklearn import datasets

from minigen import plots
from minigen.data import load_digits
from minigen.models import GaussianNaiveBayes, LogisticRegression

TEST_FRACTION = 0.3
# The variance floor is var_smoothing times the largest feature variance.  On small subsets of the
# digits many pixels are constant within a class, and scikit-learn's 1e-9 floor then makes one
# off-by-a-little pixel veto a class; 1e-2 keeps them from dominating.  The tables keep the default.
VAR_SMOOTHING = {"digits": 1e-2}


def tables():
    """name -> (X, y): the digits and scikit-learn's embedded tables (no download)."""
    return {"digits": load_digits(return_labels=True),
            "iris": datasets.load_iris(return_X_y=True),
            "wine": datasets.load_wine(return_X_y=True),
            "breast_cancer": datasets.load_breast_cancer(return_X_y=True)}


def train_test_split(X, y, seed):
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(TEST_FRACTION * len(X))
    return X[order[n_test:]], y[order[n_test:]], X[order[:n_test]], y[order[:n_test]]


def training_sizes(n_train, n_classes, count):
    """count sizes from two examples per class to the whole training part, spaced geometrically."""
    return np.unique(np.geomspace(2 * n_classes, n_train, count).astype(int))


def test_errors(X, y, X_test, y_test, size, rng, var_smoothing):
    """Test error of naive Bayes and of logistic regression fit on one random subset of `size`."""
    subset = rng.choice(len(X), size=size, replace=False)
    errors = []
    for model in (GaussianNaiveBayes(var_smoothing), LogisticRegression()):
        model.fit(X[subset], y[subset])
        errors.append(float(np.mean(model.predict(X_test) != y_test)))
    return errors


def learning_curves(X, y, sizes, subsets, var_smoothing, seed=0):
    """Mean test errors (2, len(sizes)): row 0 naive Bayes, row 1 logistic regression."""
    X_train, y_train, X_test, y_test = train_test_split(np.asarray(X, dtype=np.float64), np.asarray(y), seed)
    rng = np.random.default_rng(seed)
    errors = [[test_errors(X_train, y_train, X_test, y_test, size, rng, var_smoothing) for _ in range(subsets)] for size in sizes]
    return np.array(errors).mean(axis=1).T                                   # (2, sizes)


def crossing(sizes, errors):
    """Where logistic regression's mean error first crosses naive Bayes's (interpolated in log m)."""
    gap = errors[1] - errors[0]                                             # < 0 where logistic regression wins
    changes = np.nonzero(np.sign(gap[:-1]) != np.sign(gap[1:]))[0]
    if len(changes) == 0:
        return "none: " + ("logistic regression" if gap.mean() < 0 else "naive Bayes") + " lower throughout"
    i = changes[0]
    fraction = gap[i] / (gap[i] - gap[i + 1])
    return float(np.exp(np.log(sizes[i]) + fraction * (np.log(sizes[i + 1]) - np.log(sizes[i]))))


def class_conditional_digits(out_dir):
    X, y = load_digits(return_labels=True)
    model = GaussianNaiveBayes(VAR_SMOOTHING["digits"]).fit(X, y)
    per_class = 10
    samples, _ = zip(*(model.sample(per_class, y=c, seed=int(c)) for c in model.classes))
    plots.image_grid(np.concatenate(samples), os.path.join(out_dir, "10_naive_bayes_digit_samples.png"),
                     nrow=per_class, title="Gaussian naive Bayes: x ~ p(x | y), one row per digit")


def main(quick=False, out_dir="out"):
    count, subsets = (4, 3) if quick else (9, 20)
    numbers = {"subsets_per_size": subsets}
    for name, (X, y) in tables().items():
        n_train = len(X) - int(TEST_FRACTION * len(X))
        sizes = training_sizes(n_train, len(np.unique(y)), count)
        errors = learning_curves(X, y, sizes, subsets, VAR_SMOOTHING.get(name, 1e-9))
        plots.line_plot(sizes, {"Gaussian naive Bayes": errors[0], "logistic regression": errors[1]},
                        os.path.join(out_dir, f"10_learning_curves_{name}.png"), xlabel="training set size m",
                        ylabel="test error", logx=True, title=f"{name}: mean of {subsets} random subsets per m")
        numbers.update({f"{name}_sizes": " ".join(map(str, sizes)),
                        f"{name}_nb_error_smallest": errors[0, 0], f"{name}_lr_error_smallest": errors[1, 0],
                        f"{name}_nb_error_largest": errors[0, -1], f"{name}_lr_error_largest": errors[1, -1],
                        f"{name}_crossing_size": crossing(sizes, errors)})
    class_conditional_digits(out_dir)
    return numbers


if __name__ == "__main__":
    from minigen.demo import run_demo
    run_demo(main)
