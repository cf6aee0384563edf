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
A row of data is one joint state: an integer per variable, in `variables` order (the children of
the factors in topological order), each in 0..cardinality - 1.
"""
import itertools
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set, Union

import numpy as np


from .base import GenerativeModel
from .common import seeded_generator

Names = Union[str, Sequence[str]]


class Factor:
    """P(children | parents) as a table of shape (parent cards..., child cards...)."""

    def __init__(self, children: Names, parents: Names, table: Any) -> None:
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

    def as_config(self) -> List[Any]:
        """[children, parents, table] as JSON-able lists (what Factor(*config) rebuilds)."""
        return [list(self.children), list(self.parents), self.table.tolist()]


@dataclass
class BayesNetDefaults:
    """Counting (4) with Laplace smoothing alpha."""
    alpha: float = 1.0


class BayesNet(GenerativeModel):
    """A discrete DAG given by its factors (each a CPT over its children given its parents).

    The graph is the config (factors as [children, parents, table] lists); the tables themselves are
    buffers `table_0`, `table_1`, ..., so a fitted network saves and loads its fitted tables."""

    likelihood_kind = "exact"
    Defaults = BayesNetDefaults

    def __init__(self, factors: Sequence[Union[Factor, Sequence[Any]]], seed: int = 0) -> None:
        built = [f if isinstance(f, Factor) else Factor(*f) for f in factors]
        super().__init__(factors=[f.as_config() for f in built], seed=seed)
        self.seed = seed
        self.history: Dict[str, List[float]] = {}
        self.graph = [(f.children, f.parents) for f in built]                    # (children, parents) per factor
        for i, f in enumerate(built):
            self.register_buffer(f"table_{i}", f.table)
        self.cardinality = self._cardinalities()
        self.order = self._topological_order()                                   # factor indices in (3)'s order
        self.variables = [v for i in self.order for v in self.graph[i][0]]
        self.position = {v: i for i, v in enumerate(self.variables)}
        self.data_shape = (len(self.variables),)

    @property
    def factors(self) -> List[Factor]:
        """The factors with their current tables, in the order given to the constructor."""
        return [Factor(children, parents, self.table(i)) for i, (children, parents) in enumerate(self.graph)]

    def table(self, i: int) -> np.ndarray:
        """The CPT of factor i: (parent cards..., child cards...)."""
        return getattr(self, f"table_{i}")

    def _cardinalities(self):
        cards: Dict[str, int] = {}
        for i, (children, parents) in enumerate(self.graph):
            for v, k in zip(parents + children, self.table(i).shape):
                if cards.setdefault(v, k) != k:
                    raise ValueError(f"BayesNet: variable {v!r} has {cards[v]} states in one table and {k} in another")
        owners = [v for children, _ in self.graph for v in children]
        missing = set(cards) - set(owners)
        if missing or len(owners) != len(set(owners)):
            raise ValueError(f"BayesNet: every variable needs exactly one factor; missing {sorted(missing)}, "
                             f"variables {owners}")
        return cards

    def _topological_order(self):
        placed: Set[str] = set()
        order: List[int] = []
        pending = list(range(len(self.graph)))
        while pending:
            ready = [i for i in pending if set(self.graph[i][1]) <= placed]
            if not ready:
                raise ValueError("BayesNet: the factors form a cycle: no topological order exists")
            for i in ready:
                order.append(i)
                placed.update(self.graph[i][0])
                pending.remove(i)
        return order

    @classmethod
    def slide_example(cls) -> "BayesNet":
        """The slide's network (2) over binary A, B, C, D, with illustrative tables."""
        p_a = [0.6, 0.4]
        p_b = [0.3, 0.7]
        p_cd_given_ab = np.array([                         # [a, b, c, d]
            [[[0.50, 0.20], [0.20, 0.10]], [[0.10, 0.30], [0.30, 0.30]]],
            [[[0.05, 0.05], [0.40, 0.50]], [[0.25, 0.25], [0.25, 0.25]]],
        ])
        return cls([Factor("A", (), p_a), Factor("B", (), p_b), Factor(("C", "D"), ("A", "B"), p_cd_given_ab)])

    def check_data(self, X: Any, *, where: str = "fit", binary: Optional[bool] = None, dtype: Any = np.int64,
                   device: Optional[str] = "cpu") -> np.ndarray:
        """X as integer states (n, number of variables) of `dtype` on the host (the tables are counted
        there, whatever `device` says), or a one-line error naming the model: the common checks
        (numbers, rows, width, finite), then whole numbers within each variable's cardinality."""
        X = super().check_data(X, where=where, dtype=np.float64, device="cpu")
        if not np.all(X == np.round(X)):
            raise ValueError(f"{self.name}.{where}: the data must be integer states, got non-integer values")
        cards = np.array([self.cardinality[v] for v in self.variables])
        outside = (X < 0) | (X >= cards)
        if outside.any():
            column = int(np.nonzero(outside.any(axis=0))[0][0])
            raise ValueError(f"{self.name}.{where}: variable {self.variables[column]!r} has "
                             f"{cards[column]} states (0..{cards[column] - 1}), got {X[outside.any(axis=1), column][0]:g}")
        return X.astype(dtype)

    def sample(self, n: int, seed: Optional[int] = None) -> np.ndarray:
        """n ancestral samples (3), as an int array (n, number of variables) in `self.variables` order."""
        rng = seeded_generator(seed)
        samples = np.zeros((n, len(self.variables)), dtype=np.int64)
        for i in self.order:
            children, parents = self.graph[i]
            table = self.table(i)
            parent_values = tuple(samples[:, self.position[p]] for p in parents)
            rows = table[parent_values].reshape(n, -1) if parents else np.broadcast_to(
                table.reshape(1, -1), (n, table.size))                                  # (n, joint child states)
            flat_choice = (rng.random((n, 1)) > np.cumsum(rows, axis=1)).sum(axis=1)   # inverse CDF
            flat_choice = np.minimum(flat_choice, rows.shape[1] - 1)
            child_values = np.unravel_index(flat_choice, table.shape[len(parents):])
            for child, values in zip(children, child_values):
                samples[:, self.position[child]] = values
        return samples

    def _factor_index(self, X, i):
        """The table index of factor i for every row of X: a tuple of (n,) arrays, parents then children."""
        children, parents = self.graph[i]
        return tuple(X[:, self.position[v]] for v in parents + children)

    def log_prob(self, X: Any) -> np.ndarray:
        """Exact log P(x) of each row of X (in `self.variables` order) by (1): (n,)."""
        X = self.check_data(X, where="log_prob")
        total = np.zeros(len(X))
        for i in range(len(self.graph)):
            with np.errstate(divide="ignore"):
                total += np.log(self.table(i)[self._factor_index(X, i)])
        return total

    def joint(self) -> np.ndarray:
        """The full joint table, axes in `self.variables` order (small networks only)."""
        states = list(itertools.product(*(range(self.cardinality[v]) for v in self.variables)))
        probabilities = np.exp(self.log_prob(np.array(states)))
        return probabilities.reshape([self.cardinality[v] for v in self.variables])

    def fit(self, X: Any, alpha: Optional[float] = None) -> "BayesNet":
        """Maximum-likelihood tables for this graph from complete data X, with smoothing (4);
        `history["log_likelihood"]` holds the mean log P(x) of the data under the fitted tables."""
        X = self.check_data(X, where="fit")
        s = self.settings(alpha=alpha)
        for i in range(len(self.graph)):
            counts = np.zeros(self.table(i).shape)
            np.add.at(counts, self._factor_index(X, i), 1.0)
            counts += s.alpha
            child_axes = tuple(range(len(self.graph[i][1]), counts.ndim))
            self.register_buffer(f"table_{i}", counts / counts.sum(axis=child_axes, keepdims=True))   # (4)
        self.history = {"log_likelihood": [float(self.log_prob(X).mean())]}
        return self
