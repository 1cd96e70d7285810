""":func:`check_lipschitz_bound`, which tries to falsify a claimed Lipschitz constant of an
array function, and the search for pairs behind it."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import Phase, given, target
from hypothesis import seed as _run_with_seed
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from numpy.typing import ArrayLike, NDArray

from ._common import _SEED_RANGE
from ._run import (
    _callable_name,
    _check_run_arguments,
    _format_matrix,
    _local_settings,
    _no_local_constants,
)


class _LipschitzViolation(Exception):
    """Raised inside the Hypothesis run when a pair breaks the bound."""

    def __init__(
        self, report: str, x: NDArray[np.float64], y: NDArray[np.float64], ratio: float
    ) -> None:
        super().__init__(report)
        self.report = report
        self.x = x
        self.y = y
        self.ratio = ratio


# Each start climbs for this many Jacobian evaluations at most, and for fewer when the input
# is large, so that one start costs about _EVALUATIONS_PER_START evaluations of f or fewer.
_MAX_ASCENT_STEPS = 4
_EVALUATIONS_PER_START = 4096
# Pair distances, relative to the norm of the point.
_PAIR_DISTANCES = (1e-3, 1e-2, 1e-1, 1.0)


class _LipschitzSearch:
    """Evaluates pairs for one call of check_lipschitz_bound and keeps the best ratio."""

    def __init__(
        self,
        f: Callable[[NDArray[np.float64]], Any],
        name: str,
        bound: float,
        shape: tuple[int, ...],
    ) -> None:
        self.f = f
        self.name = name
        self.bound = bound
        self.shape = shape
        self.size = math.prod(shape)
        self.best = 0.0
        self.output_eps = float(np.finfo(np.float64).eps)

    def evaluate(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """f(x), flattened to a real vector (a complex output as its real and imaginary parts)."""
        value = np.asarray(self.f(x.reshape(self.shape).copy()))
        if value.dtype.kind not in "biufc":
            raise TypeError(f"f returned {value.dtype} values; it must return numbers")
        if value.dtype.kind in "fc":
            self.output_eps = max(self.output_eps, float(np.finfo(value.dtype).eps))
        flat = value.ravel()
        if flat.dtype.kind == "c":
            flat = np.concatenate([flat.real, flat.imag])
        flat = flat.astype(np.float64)
        if not np.all(np.isfinite(flat)):
            raise _LipschitzViolation(
                "\n".join(
                    [
                        f"{self.name} returned a non-finite value at the x below, so no finite "
                        "Lipschitz bound holds.",
                        "  x =",
                        _format_matrix(x.reshape(self.shape)),
                    ]
                ),
                x.reshape(self.shape),
                x.reshape(self.shape),
                math.inf,
            )
        return flat

    def pair(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
        """The ratio of the pair less its rounding allowance; raises if it exceeds the bound."""
        distance = float(np.linalg.norm(x - y))
        if distance == 0.0:
            return 0.0
        fx, fy = self.evaluate(x), self.evaluate(y)
        change = float(np.linalg.norm(fx - fy))
        if change == 0.0:
            return 0.0
        ratio = change / distance
        allowance = self.allowance(x, y, fx, fy, distance, change)
        credited = ratio / (1.0 + allowance)
        self.best = max(self.best, credited)
        if credited > self.bound:
            self.raise_if_broken(x, y)
        return credited

    def allowance(
        self,
        x: NDArray[np.float64],
        y: NDArray[np.float64],
        fx: NDArray[np.float64],
        fy: NDArray[np.float64],
        distance: float,
        change: float,
    ) -> float:
        """A relative bound on the rounding error of the ratio: f's outputs carry errors of a
        few eps of their own dtype, and the differences cancel what the two have in common.
        """
        input_eps = float(np.finfo(np.float64).eps)
        outputs = float(np.linalg.norm(fx) + np.linalg.norm(fy))
        inputs = float(np.linalg.norm(x) + np.linalg.norm(y))
        return 32.0 * self.output_eps * outputs / change + 4.0 * input_eps * inputs / distance

    def raise_if_broken(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> None:
        """Evaluates the pair afresh and raises _LipschitzViolation if it breaks the bound, so
        that the pair reported is one that breaks it when evaluated again."""
        fx, fy = self.evaluate(x), self.evaluate(y)
        distance = float(np.linalg.norm(x - y))
        change = float(np.linalg.norm(fx - fy))
        ratio = change / distance
        allowance = self.allowance(x, y, fx, fy, distance, change)
        if ratio / (1.0 + allowance) <= self.bound:
            return
        lines = [
            f"{self.name} is not {self.bound!r}-Lipschitz: the pair x, y below has",
            f"  ||f(x) - f(y)|| / ||x - y|| = {ratio!r} > {self.bound!r}",
            f"  (||f(x) - f(y)|| = {change!r}, ||x - y|| = {distance!r}; "
            f"rounding allowance {allowance:.2g} relative)",
            "  x =",
            _format_matrix(x.reshape(self.shape)),
            "  y =",
            _format_matrix(y.reshape(self.shape)),
        ]
        raise _LipschitzViolation(
            "\n".join(lines), x.reshape(self.shape).copy(), y.reshape(self.shape).copy(), ratio
        )

    def top_direction(self, x: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """The top right singular vector of f's Jacobian at x, and its singular value.

        The Jacobian is approximated by forward differences along every coordinate.
        """
        fx = self.evaluate(x)  # also fixes output_eps before the step is chosen
        # Forward differences balance truncation and rounding at a step of about sqrt(eps).
        step = math.sqrt(self.output_eps) * max(
            float(np.linalg.norm(x)) / math.sqrt(self.size), 1e-3
        )
        columns = []
        for j in range(self.size):
            moved = x.copy()
            moved[j] += step
            # Divide by the step as represented, not as intended.
            columns.append((self.evaluate(moved) - fx) / (moved[j] - x[j]))
        _, values, right = np.linalg.svd(np.stack(columns, axis=1), full_matrices=False)
        return right[0] / np.linalg.norm(right[0]), float(values[0])

    def explore(self, start_seed: int, scale: float) -> float:
        """Random pairs around a random start, then a hill climb on the local stretch, with
        pairs along the top singular direction of the local Jacobian at every step.
        """
        rng = np.random.default_rng(start_seed)
        found = 0.0
        x = scale * rng.standard_normal(self.size)
        found = max(found, self.pair(x, scale * rng.standard_normal(self.size)))
        g = rng.standard_normal(self.size)
        g /= np.linalg.norm(g)
        radius = max(float(np.linalg.norm(x)), scale)
        for t in _PAIR_DISTANCES:
            found = max(found, self.pair(x, x + t * radius * g))

        point, best_point, best_stretch = x, x, -1.0
        steps = max(1, min(_MAX_ASCENT_STEPS, _EVALUATIONS_PER_START // (self.size + 1)))
        for _ in range(steps):
            v, stretch = self.top_direction(point)
            radius = max(float(np.linalg.norm(point)), scale)
            for t in _PAIR_DISTANCES:
                half = 0.5 * t * radius * v
                found = max(found, self.pair(point - half, point + half))
            if stretch > best_stretch:
                best_point, best_stretch = point, stretch
            # Next point: a random neighbour of the best point so far, at a random distance.
            spread = radius / math.sqrt(self.size) * 10.0 ** rng.uniform(-2.0, 0.0)
            point = best_point + spread * rng.standard_normal(self.size)
        return found


def check_lipschitz_bound(
    f: Callable[[NDArray[np.float64]], ArrayLike],
    bound: float,
    *,
    input_shape: int | tuple[int, ...],
    max_examples: int = 100,
    seed: int = 0,
) -> float:
    """Try to falsify a claimed Lipschitz constant of an array function.

    Searches for inputs ``x``, ``y`` with ``||f(x) - f(y)|| > bound * ||x - y||`` (Euclidean
    norms of the flattened arrays; a complex output counts its real and imaginary parts).
    Each of the `max_examples` Hypothesis examples starts from a random point at a random
    scale (``10**-2`` to ``10**2``) and tries random pairs around it. Then it climbs: at each
    of up to four points it approximates f's Jacobian ``J`` by forward differences, takes its
    top right singular vector (the direction that f stretches most, the vector that power
    iteration on ``J^T J`` converges to), evaluates pairs along it at distances from
    ``1e-3`` to ``1`` times the norm of the point, and moves to a random neighbour of the
    point with the largest stretch so far. Hypothesis steers later starts towards the largest
    ratios. A Jacobian costs ``n + 1`` evaluations of f for ``n`` input elements; a start
    takes up to four of them, fewer when ``n`` is large (about ``4096 / (n + 1)``, and at
    least one).

    Every ratio is credited only after a rounding allowance: ``32 * eps * (||f(x)|| +
    ||f(y)||) / ||f(x) - f(y)||`` for the ``eps`` of f's output dtype, plus the analogous
    float64 term for the inputs. A pair breaks the bound when its ratio, divided by ``1 +
    allowance``, exceeds `bound`; the pair reported is evaluated again, and breaks it again.

    The run neither depends on nor changes the caller's Hypothesis settings profile, and
    writes no example database and no other file.

    Parameters
    ----------
    f : callable
        Takes a float64 array of shape `input_shape`, returns an array (or scalar) of
        numbers, of any fixed shape.
    bound : float
        The claimed Lipschitz constant (finite, non-negative).
    input_shape : int or tuple of ints
        The shape of f's input (at least one element).
    max_examples : int, optional
        Random starts.
    seed : int, optional
        Seeds the search; for an f that returns the same values, the same seed evaluates
        the same points and returns the same ratio, in any process and whatever ran
        before it (given the same versions of Hypothesis and NumPy).

    Returns
    -------
    float
        The largest ratio found, divided by ``1 + allowance``: a lower bound on the Lipschitz
        constant of f as computed in floating point, and so at most `bound`.

    Raises
    ------
    AssertionError
        A plain AssertionError, at the first pair that breaks the bound (or the first point
        where f is not finite), whose message gives the ratio, the bound, the allowance and
        both inputs. The exception's ``pair`` attribute holds ``(x, y)`` and its ``ratio``
        attribute the ratio.
    ValueError, TypeError
        For invalid arguments, or if f returns something that is not numeric.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.diag([3.0, 1.0])
    >>> ratio = check_lipschitz_bound(lambda x: w @ x, 3.0, input_shape=(2,), max_examples=10)
    >>> 2.99 < ratio <= 3.0
    True
    """
    if not callable(f):
        raise TypeError(f"f must be callable, not {f!r}")
    _check_run_arguments(max_examples, seed)
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    if not shape or any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 for d in shape
    ):
        raise ValueError(f"input_shape must be positive ints, not {input_shape!r}")
    shape = tuple(int(d) for d in shape)
    claimed = float(bound)
    if not math.isfinite(claimed) or claimed < 0:
        raise ValueError(f"bound must be finite and non-negative, not {bound!r}")

    name = _callable_name(f, "f")
    search = _LipschitzSearch(f, name, claimed, shape)
    call = (
        f"specnorm.testing.check_lipschitz_bound({name}, {claimed!r}, "
        f"input_shape={shape}, max_examples={max_examples}, seed={seed})"
    )

    @_run_with_seed(seed)
    @_local_settings(max_examples, (Phase.generate, Phase.target))
    @given(st.integers(*_SEED_RANGE), st.floats(-2.0, 2.0, allow_nan=False))
    def run(start_seed: int, log_scale: float) -> None:
        target(search.explore(start_seed, 10.0**log_scale), label="ratio")

    try:
        with _no_local_constants():
            run()
    except _LipschitzViolation as exc:
        error = AssertionError(f"{exc.report}\nReproduce with: {call}")
        error.pair = (exc.x, exc.y)  # type: ignore[attr-defined]
        error.ratio = exc.ratio  # type: ignore[attr-defined]
        raise error from None
    except Flaky:
        raise AssertionError(
            f"{name} is not reproducible: a pair broke the bound {claimed!r} once and not when "
            f"evaluated again. Reproduce with: {call}"
        ) from None
    return search.best
