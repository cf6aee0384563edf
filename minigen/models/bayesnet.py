"""Discrete Bayesian networks: ancestral sampling and the exact joint (Pearl 1988; Koller and Friedman 2009).

A directed acyclic graph over discrete variables factorizes the joint as
    P(X_1, ..., X_n) = prod_f P(children_f | parents_f)                                    (1)
where each factor f holds a conditional probability table (CPT) over one or more child variables
given its parents.  The lecture's slide uses a factor with two children:
    P(A, B, C, D) = P(A) P(B) P(C, D | A, B)                                                (2)
Ancestral sampling visits the factors in topological order and draws the children of each from
its table row selected by the parents' already-drawn values                                  (3)
so every sample is an exact draw from (1).  Fitting the tables by maximum likelihood is counting:
    P(c | p) = (count(c, p) + alpha) / (count(p) + alpha |C|)     (Laplace smoothing alpha)   (4)
"""
import itertools

import numpy as np


class Factor:
    """P(children | parents) as a table of shape (parent cards..., child cards...)."""

    def __init__(self, children, parents, table):
        self.children = tuple(children) if not isinstance(children, str) else (children,)
        self.parents = tuple(parents) if not isinstance(parents, str) else (parents,)
        self.table = np.asarray(table, dtype=np.float64)
        if self.table.ndim != len(self.parents) + len(self.children):
            raise ValueError(f"Factor {self.children}|{self.parents}: table has {self.table.ndim} axes, "
                             f"expected {len(self.parents) + len(self.children)}")
        child_axes = tuple(range(len(self.parents), self.table.ndim))
        if np.any(self.table < 0) or not np.allclose(self.table.sum(axis=child_axes), 1.0):
            raise ValueError(f"Factor {self.children}|{self.parents}: every table row must be a "
                             "probability distribution over the children")


class BayesNet:
    """A discrete DAG given by its factors (each a CPT over its children given its parents)."""

    def __init__(self, factors, seed=0):
        self.factors = [f if isinstance(f, Factor) else Factor(*f) for f in factors]
        self.seed = seed
        self.cardinality = self._cardinalities()
        self.order = self._topological_order()                                   # factors in (3)'s order
        self.variables = [v for f in self.order for v in f.children]
        self.position = {v: i for i, v in enumerate(self.variables)}

    def _cardinalities(self):
        cards = {}
        for f in self.factors:
            shape = f.table.shape
            for v, k in zip(f.parents + f.children, shape):
                if cards.setdefault(v, k) != k:
                    raise ValueError(f"variable {v!r} has {cards[v]} states in one table and {k} in another")
        owners = [v for f in self.factors for v in f.children]
        missing = set(cards) - set(owners)
        if missing or len(owners) != len(set(owners)):
            raise ValueError(f"every variable needs exactly one factor; missing {sorted(missing)}, "
                             f"variables {owners}")
        return cards

    def _topological_order(self):
        placed, order, pending = set(), [], list(self.factors)
        while pending:
            ready = [f for f in pending if set(f.parents) <= placed]
            if not ready:
                raise ValueError("the factors form a cycle: no topological order exists")
            for f in ready:
                order.append(f)
                placed.update(f.children)
                pending.remove(f)
        return order

    @classmethod
    def slide_example(cls):
        """The slide's network (2) over binary A, B, C, D, with illustrative tables."""
        p_a = [0.6, 0.4]
        p_b = [0.3, 0.7]
        p_cd_given_ab = np.array([                         # [a, b, c, d]
            [[[0.50, 0.20], [0.20, 0.10]], [[0.10, 0.30], [0.30, 0.30]]],
            [[[0.05, 0.05], [0.40, 0.50]], [[0.25, 0.25], [0.25, 0.25]]],
        ])
        return cls([Factor("A", (), p_a), Factor("B", (), p_b), Factor(("C", "D"), ("A", "B"), p_cd_given_ab)])

    def sample(self, n, seed=None):
        """n ancestral samples (3), as an int array (n, number of variables) in `self.variables` order."""
        rng = np.random.default_rng(self.seed if seed is None else seed)
        samples = np.zeros((n, len(self.variables)), dtype=np.int64)
        for f in self.order:
            parent_values = tuple(samples[:, self.position[p]] for p in f.parents)
            rows = f.table[parent_values].reshape(n, -1) if f.parents else np.broadcast_to(
                f.table.reshape(1, -1), (n, f.table.size))                          # (n, joint child states)
            flat_choice = (rng.random((n, 1)) > np.cumsum(rows, axis=1)).sum(axis=1)   # inverse CDF
            flat_choice = np.minimum(flat_choice, rows.shape[1] - 1)
            child_values = np.unravel_index(flat_choice, f.table.shape[len(f.parents):])
            for child, values in zip(f.children, child_values):
                samples[:, self.position[child]] = values
        return samples

    def log_prob(self, X):
        """Exact log P(x) of each row of X (in `self.variables` order) by (1): (n,)."""
        X = np.asarray(X, dtype=np.int64)
        if X.ndim != 2 or X.shape[1] != len(self.variables):
            raise ValueError(f"BayesNet.log_prob: expected (n, {len(self.variables)}), got {X.shape}")
        total = np.zeros(len(X))
        for f in self.factors:
            index = tuple(X[:, self.position[v]] for v in f.parents + f.children)
            with np.errstate(divide="ignore"):
                total += np.log(f.table[index])
        return total

    def joint(self):
        """The full joint table, axes in `self.variables` order (small networks only)."""
        states = list(itertools.product(*(range(self.cardinality[v]) for v in self.variables)))
        probabilities = np.exp(self.log_prob(np.array(states)))
        return probabilities.reshape([self.cardinality[v] for v in self.variables])

    def fit(self, X, alpha=1.0):
        """Maximum-likelihood tables for this graph from complete data X, with smoothing (4)."""
        X = np.asarray(X, dtype=np.int64)
        for f in self.factors:
            counts = np.zeros(f.table.shape)
            index = tuple(X[:, self.position[v]] for v in f.parents + f.children)
            np.add.at(counts, index, 1.0)
            counts += alpha
            child_axes = tuple(range(len(f.parents), counts.ndim))
            f.table = counts / counts.sum(axis=child_axes, keepdims=True)        # (4)
        return self
