# Stubs for the compiled core (private; use the functions of specnorm).
#
# Every function takes its arrays without conversion: a matrix of float32, float64, complex64 or
# complex128 (its vectors of the same dtype), read in place. timeout: seconds before the
# solvers stop with their best pair (0: none). Ctrl-C stops them too and raises
# KeyboardInterrupt. The answers are the classes below, with read-only fields; the enums are
# enum.IntEnum types (a member equals its code), and the constants are those the Python layer
# shares (specnorm._rules; tests/test_rules.py checks that the two agree).
import enum
from typing import Final, Generic, TypeVar, final

import numpy as np
import numpy.typing as npt

_Scalar = TypeVar("_Scalar", np.float32, np.float64, np.complex64, np.complex128)
_Index = TypeVar("_Index", np.int32, np.int64)

#: A float64 sum of squares below this has lost digits to underflow (bounds.hpp, sparse.hpp).
UNDERFLOW_SQUARES: Final[float]
#: The default (and largest) Lanczos basis.
BASIS_VECTORS: Final[int]
#: Lanczos: alpha or beta below this times eps times the norm before is a breakdown.
LANCZOS_TINY: Final[float]
#: Reorthogonalization repeats a pass while it left less than this fraction of the norm.
DGKS_RATIO: Final[float]
#: A thick restart of a basis of kmax vectors keeps kmax // RESTART_DIVISOR.
RESTART_DIVISOR: Final[int]
#: Rayleigh-quotient iteration: MINRES steps per shifted solve, and their relative residual.
RAYLEIGH_INNER_STEPS: Final[int]
RAYLEIGH_MINRES_RTOL: Final[float]
MISS_PROBABILITY: Final[float]
START_MIX: Final[float]
#: The Gram kernel is for matrices with min(m, n) at most this.
GRAM_CUTOFF: Final[int]

class Status(enum.IntEnum):
    """What the one-pass bounds left to compute."""

    ok = 0
    not_finite = 1
    zero = 2

class Method(enum.IntEnum):
    """The solvers of the core."""

    power = 0
    lanczos = 1
    rayleigh = 2
    gram = 3

class BoundKind(enum.IntEnum):
    """Which random-start bound a run supports."""

    none = 0
    power = 1
    lanczos = 2

@final
class Bounds:
    """The one-pass bounds of a matrix's entries."""

    @property
    def finite(self) -> bool: ...
    @property
    def frobenius(self) -> float: ...
    @property
    def norm1(self) -> float: ...
    @property
    def norm_inf(self) -> float: ...
    @property
    def largest_part(self) -> float: ...
    @property
    def upper(self) -> float:
        """min(||A||_F, sqrt(||A||_1 ||A||_inf)): a certain upper bound on sigma_1."""

@final
class Estimate(Generic[_Scalar]):
    """One matrix's estimate from an iterative method."""

    @property
    def sigma(self) -> float: ...
    @property
    def lower(self) -> float: ...
    @property
    def residual(self) -> float: ...
    @property
    def upper(self) -> float:
        """A certain upper bound the solver found, else inf."""
    @property
    def u(self) -> npt.NDArray[_Scalar]: ...
    @property
    def v(self) -> npt.NDArray[_Scalar]: ...
    @property
    def iterations(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def bound_kind(self) -> BoundKind: ...
    @property
    def bound_steps(self) -> int: ...

@final
class SparseEstimate(Generic[_Scalar]):
    """A sparse matrix's bounds, and its estimate where they left one to compute."""

    @property
    def bounds(self) -> Bounds: ...
    @property
    def estimate(self) -> Estimate[_Scalar] | None:
        """None where an entry is NaN or infinite, or A = 0 (nothing was computed)."""

@final
class SmallEstimate(Generic[_Scalar]):
    """A small matrix's answer by the Gram kernel; the numbers are 0 and converged is true
    where status is not ok."""

    @property
    def status(self) -> Status: ...
    @property
    def sigma(self) -> float: ...
    @property
    def lower(self) -> float: ...
    @property
    def upper(self) -> float:
        """A certain upper bound (the smaller of the one-pass bound and the kernel's)."""
    @property
    def residual(self) -> float: ...
    @property
    def iterations(self) -> int: ...
    @property
    def converged(self) -> bool: ...
    @property
    def u(self) -> npt.NDArray[_Scalar] | None:
        """None unless the call asked for the vectors and the status is ok."""
    @property
    def v(self) -> npt.NDArray[_Scalar] | None: ...

@final
class BatchBounds:
    """The one-pass bounds of every matrix of a batch, shape (B,)."""

    @property
    def finite(self) -> npt.NDArray[np.bool_]: ...
    @property
    def upper(self) -> npt.NDArray[np.float64]: ...

@final
class BatchEstimate(Generic[_Scalar]):
    """Every matrix of a batch: each field an array over the batch, u (B, m) and v (B, n)."""

    @property
    def sigma(self) -> npt.NDArray[np.float64]: ...
    @property
    def lower(self) -> npt.NDArray[np.float64]: ...
    @property
    def residual(self) -> npt.NDArray[np.float64]: ...
    @property
    def upper(self) -> npt.NDArray[np.float64]:
        """Certain upper bounds the solver found (the Gram kernel's), else inf."""
    @property
    def iterations(self) -> npt.NDArray[np.int64]: ...
    @property
    def bound_steps(self) -> npt.NDArray[np.int64]: ...
    @property
    def bound_kind(self) -> npt.NDArray[np.int8]:
        """The BoundKind of each run, by its value."""
    @property
    def converged(self) -> npt.NDArray[np.bool_]: ...
    @property
    def computed(self) -> npt.NDArray[np.bool_]: ...
    @property
    def u(self) -> npt.NDArray[_Scalar]: ...
    @property
    def v(self) -> npt.NDArray[_Scalar]: ...
    @property
    def bounds(self) -> BatchBounds: ...

def estimate(
    a: npt.NDArray[_Scalar],
    method: Method,
    tol: float,
    maxiter: int,
    basis_size: int,
    seed: int,
    v0: npt.NDArray[_Scalar],
    norm_hint: float,
    timeout: float = 0.0,
    start_weight: float = 1.0,
) -> Estimate[_Scalar]:
    """power, lanczos or rayleigh on a dense 2-D array (ValueError for gram)."""

def dense_bounds(a: npt.NDArray[_Scalar]) -> Bounds: ...
def rayleigh_quotient(a: npt.NDArray[_Scalar], x: npt.NDArray[_Scalar]) -> float: ...
def estimate_small(
    a: npt.NDArray[_Scalar],
    tol: float,
    maxiter: int,
    seed: int,
    v0: npt.NDArray[_Scalar] | None,
    vectors: bool,
    timeout: float = 0.0,
) -> SmallEstimate[_Scalar]: ...
def estimate_batch(
    a: npt.NDArray[_Scalar],
    method: Method,
    tol: float,
    maxiter: int,
    basis_size: int,
    seeds: npt.NDArray[np.uint64],
    v0: npt.NDArray[_Scalar],
    threads: int,
    timeout: float = 0.0,
    start_weight: float = 1.0,
) -> BatchEstimate[_Scalar]: ...
def estimate_sparse(
    indptr: npt.NDArray[_Index],
    indices: npt.NDArray[_Index],
    data: npt.NDArray[_Scalar],
    m: int,
    n: int,
    method: Method,
    tol: float,
    maxiter: int,
    basis_size: int,
    seed: int,
    v0: npt.NDArray[_Scalar],
    timeout: float = 0.0,
    start_weight: float = 1.0,
) -> SparseEstimate[_Scalar]:
    """power, lanczos or rayleigh on a CSR matrix (ValueError for gram)."""
