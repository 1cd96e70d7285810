"""``specnorm report FILE``: the spectral norm of every weight matrix in a checkpoint.

Reads ``.npy``, ``.npz``, Matrix Market (``.mtx``, ``.mtx.gz``, ``.mtx.bz2``) and
``.safetensors`` files, estimates sigma of every tensor with two or more dimensions (reshaped to
``(shape[0], -1)`` as :func:`specnorm.nn.weight_to_matrix` does with ``dim=0``) and formats the
result as a table, as JSON or as a bar chart. The optional packages (SciPy for Matrix Market,
``safetensors``, ``tqdm``, ``matplotlib``) are imported only when needed.

Every failure the user can cause (a missing, unknown or corrupt file, a file without 2-D
weights, a missing optional package, an unwritable plot) raises :class:`ReportError` with a
one-line message; the command line prints it after ``"specnorm: "`` and exits with status 2.
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ._api import estimate
from ._install import install_hint
from ._validate import check_tol

__all__ = [
    "EXTRA",
    "SUFFIXES",
    "Layer",
    "Report",
    "ReportError",
    "Skipped",
    "file_type",
    "format_json",
    "format_table",
    "natural_key",
    "read_tensors",
    "report_dict",
    "require_matplotlib",
    "run_report",
    "write_plot",
]

#: The optional dependencies of the report, as an install hint.
EXTRA = install_hint("report")
#: The file types the report reads (matched case-insensitively at the end of the name).
SUFFIXES = (".npy", ".npz", ".mtx", ".mtx.gz", ".mtx.bz2", ".safetensors")


class ReportError(Exception):
    """A problem with the input or the environment, described in one line (no traceback)."""


@dataclass(frozen=True)
class Layer:
    """One estimated weight: ``shape`` is the tensor's original shape (the matrix that was
    estimated is ``(shape[0], prod(shape[1:]))``); ``lower <= sigma <= upper`` holds for ``lower``
    always and for ``upper`` with probability at least ``confidence``."""

    name: str
    shape: tuple[int, ...]
    sigma: float
    lower: float
    upper: float
    confidence: float
    iterations: int
    converged: bool
    seconds: float
    method: str
    backend: str


@dataclass(frozen=True)
class Skipped:
    """A tensor with two or more dimensions (or of unknown shape) that was not estimated, and
    why. ``shape`` and ``dtype`` are None where the tensor could not even be described."""

    name: str
    shape: tuple[int, ...] | None
    dtype: str | None
    reason: str


@dataclass(frozen=True)
class Report:
    """The estimates of one file, in file order, with what was skipped and how many tensors
    with fewer than two dimensions (biases, scalars) were ignored."""

    file: str
    layers: list[Layer]
    skipped: list[Skipped] = field(default_factory=list)
    ignored: int = 0

    @property
    def lipschitz_bound(self) -> float:
        """The product of sigma over the layers: the Lipschitz constant bound of a feed-forward
        network with these layers and 1-Lipschitz activations (up to each estimate's
        accuracy). May overflow to ``inf``."""
        return math.prod(layer.sigma for layer in self.layers)

    @property
    def lipschitz_upper(self) -> float:
        """The product of the ``upper`` ends of the brackets: an upper bound that holds with
        probability at least :attr:`confidence`. May be ``inf``."""
        return math.prod(layer.upper for layer in self.layers)

    @property
    def confidence(self) -> float:
        """A lower bound on the probability that every ``upper`` holds at once (the union
        bound: ``1 - sum(1 - confidence)``, at least 0)."""
        return max(0.0, 1.0 - math.fsum(1.0 - layer.confidence for layer in self.layers))


@dataclass(frozen=True)
class _Tensor:
    """One entry of a file: its array (or SciPy sparse matrix), or why it could not be read."""

    name: str
    shape: tuple[int, ...] | None
    dtype: str | None
    value: Any = None
    error: str | None = None


def natural_key(name: str) -> tuple[tuple[int, str, int], ...]:
    """A sort key that orders the digit runs of a name by their value: ``layer9`` before
    ``layer10``, ``block2.conv`` before ``block10.conv``; ties broken by the plain text."""
    parts = re.split(r"(\d+)", name)
    key = tuple((1, "", int(p)) if i % 2 else (0, p, 0) for i, p in enumerate(parts))
    return (*key, (-1, name, 0))  # a name that is a prefix of another comes first


def file_type(path: str | Path, suffixes: Iterable[str] = SUFFIXES) -> str:
    """The one of ``suffixes`` that ends the name of ``path`` (case-insensitively, the longest
    that matches); ReportError ``unknown file type ...`` naming the expected ones if none does.
    The command line's subcommands that read files share this check and its message."""
    suffixes = tuple(suffixes)
    name = Path(path).name
    for suffix in sorted(suffixes, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return suffix
    raise ReportError(f"unknown file type {name!r}: expected one of {', '.join(suffixes)}")



def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _import_optional(module: str, what: str) -> Any:
    """Import ``module``, or raise ReportError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ReportError(f"{what} needs the package {module.split('.')[0]!r} "
                          f"({EXTRA}): {_one_line(exc)}") from exc


def _array_tensor(name: str, value: Any) -> _Tensor:
    return _Tensor(name, tuple(int(d) for d in value.shape), str(value.dtype), value)


#: The first bytes of every NumPy ``.npy`` file, and of every zip archive (``.npz``).
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _npy_dtype(fp: Any) -> np.dtype | None:
    """The dtype in the header of the ``.npy`` file open at its start in ``fp``; None where the
    header cannot be parsed (``numpy.load`` then names the problem)."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        # Versions 2.0 and 3.0 differ only in the header's text encoding.
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        return read(fp)[2]
    except Exception:
        return None


def _read_npy(path: Path) -> list[_Tensor]:
    try:
        with path.open("rb") as fp:
            start = fp.read(len(_NPY_MAGIC))
            fp.seek(0)
            dtype = _npy_dtype(fp) if start == _NPY_MAGIC else None
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {_one_line(exc)}") from exc
    if start.startswith(_ZIP_MAGIC):
        raise ReportError(f"cannot read {path}: not a NumPy .npy file but a zip archive "
                          "(a .npz checkpoint named .npy?)")
    if start != _NPY_MAGIC:
        raise ReportError(f"cannot read {path}: not a NumPy .npy file (it does not start with "
                          "the .npy signature \\x93NUMPY)")
    if dtype is not None and dtype.hasobject:
        raise ReportError(f"cannot read {path}: it holds an array of Python objects "
                          f"(dtype {dtype}), not numbers; such arrays are stored as pickles, "
                          "which specnorm never loads (they can run code)")
    try:
        value = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ReportError(f"cannot read {path}: {_one_line(exc)}") from exc
    return [_array_tensor(path.stem, value)]


def _read_npz(path: Path) -> list[_Tensor]:
    if not zipfile.is_zipfile(path):
        raise ReportError(f"cannot read {path}: not a .npz (zip) archive")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise ReportError(f"cannot read {path}: {_one_line(exc)}") from exc
    tensors = []
    with archive:
        for name in archive.files:  # the order in which the arrays were saved
            try:
                tensors.append(_array_tensor(name, archive[name]))
            except Exception as exc:
                tensors.append(_Tensor(name, None, None, error=_one_line(exc)))
    return tensors


def _read_mtx(path: Path) -> list[_Tensor]:
    io = _import_optional("scipy.io", "reading Matrix Market files")
    try:
        value = io.mmread(str(path))  # sparse (coordinate) or dense (array); kept as read
    except Exception as exc:
        raise ReportError(f"cannot read {path}: {_one_line(exc)}") from exc
    name = path.name[: len(path.name) - len(file_type(path))]
    return [_array_tensor(name, value)]


def _read_safetensors(path: Path) -> list[_Tensor]:
    safetensors = _import_optional("safetensors", "reading .safetensors files")
    numpy_api = _import_optional("safetensors.numpy", "reading .safetensors files")
    try:
        loaded = numpy_api.load_file(str(path))
    except Exception as whole:  # a dtype NumPy lacks (bfloat16, float8), or a corrupt file
        tensors = []
        try:
            with safetensors.safe_open(str(path), framework="numpy") as handle:
                for name in handle.keys():
                    try:
                        tensors.append(_array_tensor(name, handle.get_tensor(name)))
                    except Exception as exc:
                        meta = handle.get_slice(name)
                        tensors.append(_Tensor(
                            name, tuple(int(d) for d in meta.get_shape()),
                            str(meta.get_dtype()),
                            error=f"cannot be read with NumPy: {_one_line(exc)}"))
        except Exception as exc:
            raise ReportError(f"cannot read {path}: {_one_line(exc)}") from exc
        if not tensors:
            raise ReportError(f"cannot read {path}: {_one_line(whole)}") from whole
    else:
        tensors = [_array_tensor(name, value) for name, value in loaded.items()]
    # The format keeps no insertion order (load_file returns the data layout's order): the
    # natural order of the names puts layer9 before layer10.
    return sorted(tensors, key=lambda t: natural_key(t.name))


_READERS: dict[str, Callable[[Path], list[_Tensor]]] = {
    ".npy": _read_npy, ".npz": _read_npz, ".mtx": _read_mtx, ".mtx.gz": _read_mtx,
    ".mtx.bz2": _read_mtx, ".safetensors": _read_safetensors,
}


def read_tensors(path: str | Path) -> tuple[list[_Tensor], bool]:
    """Every tensor of ``path`` in file order (``.npz``: the order saved; ``.safetensors``: the
    natural order of the names), and whether the file holds a single matrix (``.npy``,
    Matrix Market) rather than a checkpoint of named tensors.

    Raises ReportError for a missing or unreadable file or an unknown file type.
    """
    path = Path(path)
    suffix = file_type(path)
    if not path.exists():
        raise ReportError(f"no such file: {path}")
    if not path.is_file():
        raise ReportError(f"not a file: {path}")
    return _READERS[suffix](path), suffix not in (".npz", ".safetensors")


def _as_matrix(value: Any) -> Any:
    """The (shape[0], prod(shape[1:])) matrix of a weight: ``weight_to_matrix(W, dim=0)``
    (a view where the layout allows); 2-D values (SciPy sparse matrices included) as they are."""
    if value.ndim == 2:
        return value
    return np.reshape(value, (value.shape[0], math.prod(value.shape[1:])))


def _finite(value: Any) -> bool:
    data = value.data if hasattr(value, "tocsr") else value
    return bool(np.all(np.isfinite(data)))


def _why_not(tensor: _Tensor, single: bool) -> str | None:
    """Why a tensor with two or more dimensions is not estimated (None: it is)."""
    if tensor.error is not None:
        return tensor.error
    kind = np.dtype(tensor.value.dtype).kind
    if kind in "fc":
        return None
    if kind in "biu":
        # A single-matrix file is the matrix asked about (graphs in Matrix Market are often
        # integer or pattern matrices); in a checkpoint such tensors are indices or masks.
        return None if single else f"not floating point ({tensor.dtype})"
    return f"not numeric ({tensor.dtype})"


def run_report(path: str | Path, *, method: str = "auto", tol: float = 1e-6, seed: Any = 0,
               backend: str = "auto", progress: bool = True,
               stream: TextIO | None = None) -> Report:
    """Estimate sigma of every weight with two or more dimensions in ``path``.

    Guarantees: the layers are in file order; every tensor with two or more dimensions is
    either a layer or in ``skipped`` (not floating point in a checkpoint, unreadable by NumPy,
    NaN or Inf entries, or any other ValueError or TypeError of :func:`specnorm.estimate`);
    tensors with fewer are counted in ``ignored``. Sparse Matrix Market matrices are estimated
    sparse, never densified. A progress bar (tqdm, when installed) is written to ``stream``
    (default ``sys.stderr``) only if ``progress`` is true and the stream is a terminal.

    Raises ReportError for an unreadable file or one without any weight with two or more
    dimensions, or where none could be estimated; ValueError for an invalid ``tol``;
    RuntimeError where ``backend`` cannot run here.
    """
    tol = check_tol(tol)
    tensors, single = read_tensors(path)
    shown = str(path)
    work: list[_Tensor] = []
    skipped: list[Skipped] = []
    ignored = 0
    for tensor in tensors:
        if tensor.shape is not None and len(tensor.shape) < 2:
            ignored += 1
            continue
        reason = _why_not(tensor, single)
        if reason is None:
            work.append(tensor)
        else:
            skipped.append(Skipped(tensor.name, tensor.shape, tensor.dtype, reason))
    if not work and not skipped:
        raise ReportError(f"{shown} holds no weight with two or more dimensions "
                          f"({ignored} tensor(s) with fewer)")

    layers: list[Layer] = []
    order = {t.name: i for i, t in enumerate(tensors)}
    for tensor in _progress(work, progress, stream, Path(path).name):
        matrix = _as_matrix(tensor.value)
        start = time.perf_counter()
        try:
            est = estimate(matrix, method, tol=tol, seed=seed, backend=backend)
        except (ValueError, TypeError) as exc:
            reason = "contains NaN or Inf" if not _finite(matrix) else _one_line(exc)
            skipped.append(Skipped(tensor.name, tensor.shape, tensor.dtype, reason))
            continue
        seconds = time.perf_counter() - start
        layers.append(Layer(
            name=tensor.name, shape=tuple(tensor.shape or ()), sigma=float(est.sigma),
            lower=float(est.lower), upper=float(est.upper), confidence=float(est.confidence),
            iterations=int(est.iterations), converged=bool(est.converged), seconds=seconds,
            method=str(est.method), backend=str(est.backend)))
    skipped.sort(key=lambda s: order.get(s.name, len(order)))
    if not layers:
        first = skipped[0]
        raise ReportError(f"no weight of {shown} could be estimated: {len(skipped)} skipped "
                          f"({first.name}: {first.reason})")
    return Report(shown, layers, skipped, ignored)


def _progress(items: list[_Tensor], enabled: bool, stream: TextIO | None,
              desc: str) -> Iterable[_Tensor]:
    """``items`` wrapped in a tqdm bar on a terminal, else as they are."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not enabled or len(items) < 2 or isatty is None or not isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, desc=desc, unit="layer", file=stream, leave=False, dynamic_ncols=True)


# --- formatting -----------------------------------------------------------------------------

def _round_sig(x: float, digits: int, up: bool) -> float:
    """x rounded to ``digits`` significant digits towards +inf (``up``) or -inf, so that a
    printed bracket still contains what the unrounded one contains."""
    if not math.isfinite(x) or x == 0.0:
        return x
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    d = Decimal(x)
    quantum = Decimal(1).scaleb(d.adjusted() - digits + 1)
    return float(d.quantize(quantum, rounding=ROUND_CEILING if up else ROUND_FLOOR))


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "?" if shape is None else "x".join(str(d) for d in shape)


def _num(x: float, spec: str) -> str:
    return "inf" if x == math.inf else format(x, spec)


def format_table(report: Report) -> str:
    """The report as a plain-text table, one row per layer in file order, then the product
    bounds, the skipped tensors and the count of ignored ones. The printed bracket is rounded
    outwards, so it contains the computed one."""
    header = ("name", "shape", "sigma", "bracket [lower, upper]", "iterations", "time [s]")
    rows = []
    for layer in report.layers:
        lo = _round_sig(layer.lower, 6, up=False)
        hi = _round_sig(layer.upper, 6, up=True)
        rows.append((layer.name, _shape_text(layer.shape), f"{layer.sigma:.8g}",
                     f"[{_num(lo, '.6g')}, {_num(hi, '.6g')}]",
                     f"{layer.iterations}{'' if layer.converged else '*'}",
                     f"{layer.seconds:.3g}"))
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    left = (True, True, False, True, False, False)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if lft else c.rjust(w)
                         for c, w, lft in zip(cells, widths, left, strict=True)).rstrip()

    out = [f"file: {report.file}", line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    out.append("")
    n = len(report.layers)
    out.append(f"Lipschitz bound (product of sigma over {n} layer{'s' * (n != 1)}): "
               f"{_num(report.lipschitz_bound, '.8g')}")
    upper = _round_sig(report.lipschitz_upper, 6, up=True)
    conf = report.confidence
    out.append(f"product of upper: {_num(upper, '.6g')} (" + (
        "certain)" if conf >= 1.0 else
        f"holds with probability >= {math.floor(conf * 1e4) / 1e4:.4g})"))
    if any(not layer.converged for layer in report.layers):
        out.append("* not converged within the iteration budget: sigma is approximate, "
                   "the bracket still holds")
    if report.skipped:
        out.append(f"skipped {len(report.skipped)} tensor(s):")
        for s in report.skipped:
            out.append(f"  {s.name}  {_shape_text(s.shape)}  {s.dtype or '?'}: {s.reason}")
    out.append(f"ignored {report.ignored} tensor(s) with fewer than 2 dimensions "
               "(biases, scalars)")
    return "\n".join(out)


def _json_float(x: float) -> float | None:
    return x if math.isfinite(x) else None


def report_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data (the schema of ``specnorm report --json``); a
    non-finite number (an ``inf`` upper end, an overflowing product) is None."""
    return {
        "file": report.file,
        "layers": [{"name": layer.name, "shape": list(layer.shape), "sigma": layer.sigma,
                    "lower": layer.lower, "upper": _json_float(layer.upper),
                    "iterations": layer.iterations, "seconds": layer.seconds}
                   for layer in report.layers],
        "lipschitz_bound": _json_float(report.lipschitz_bound),
        "lipschitz_upper": _json_float(report.lipschitz_upper),
        "skipped": [{"name": s.name, "shape": None if s.shape is None else list(s.shape),
                     "dtype": s.dtype, "reason": s.reason} for s in report.skipped],
    }


def format_json(report: Report) -> str:
    """The report as one line of strict JSON (never a NaN or Infinity token)."""
    return json.dumps(report_dict(report), allow_nan=False)


# --- plot -----------------------------------------------------------------------------------

def require_matplotlib() -> None:
    """Raise ReportError naming the extra to install if matplotlib cannot be imported."""
    _import_optional("matplotlib", "--plot")


def write_plot(report: Report, out: str | Path) -> None:
    """A bar chart of sigma per layer (file order) with the bracket as error bars, written to
    ``out`` (format from its extension, PNG recommended) with the Agg renderer; pyplot and the
    global matplotlib backend are left alone. An infinite ``upper`` draws no upper bar.
    Raises ReportError if matplotlib is missing or the file cannot be written."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [layer.name for layer in report.layers]
    sigma = np.array([layer.sigma for layer in report.layers])
    below = sigma - np.array([layer.lower for layer in report.layers])
    above = np.array([layer.upper for layer in report.layers]) - sigma
    above = np.where(np.isfinite(above), above, 0.0)
    fig = Figure(figsize=(max(6.0, 0.45 * len(names) + 2.0), 4.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    ax.bar(x, sigma, yerr=np.vstack([np.maximum(below, 0.0), np.maximum(above, 0.0)]),
           capsize=3, color="tab:blue", ecolor="black")
    ax.set_xticks(x, names, rotation=45 if len(names) > 3 else 0, ha="right"
                  if len(names) > 3 else "center", fontsize=8)
    positive = sigma[sigma > 0]
    if positive.size and positive.max() / positive.min() > 1e3:
        ax.set_yscale("log")
    ax.set_ylabel(r"$\sigma$ (largest singular value)")
    ax.set_title(f"{Path(report.file).name}: Lipschitz bound "
                 f"{_num(report.lipschitz_bound, '.4g')}")
    fig.tight_layout()
    try:
        fig.savefig(str(out))
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot write the plot {out}: {_one_line(exc)}") from exc
