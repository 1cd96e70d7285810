// estimate_sparse: a SciPy CSR matrix (indptr, indices, data) viewed in place, for one dtype and
// both index types.
#pragma once
#include "common.hpp"
#include "results.hpp"
#include "specnorm/bounds.hpp"
#include "specnorm/sparse.hpp"

namespace specnorm_python {

/// A sparse matrix in CSR form (SciPy's indptr, indices, data), viewed in place: its one-pass
/// bounds, then `method` from `v0` where their status is ok (no entry NaN or infinite, A != 0);
/// the estimate is None where nothing was computed.
template <typename T, typename I>
PySparseEstimate estimate_sparse(const Array<I>& indptr, const Array<I>& indices,
                                 const Array<T>& data, Index m, Index n, specnorm::Method method,
                                 double tol, Index maxiter, Index basis_size, std::uint64_t seed,
                                 const Array<T>& v0, double timeout, double start_weight) {
  // Contiguous vectors (the stride of a vector of at most one entry does not matter).
  const auto contiguous = [](const auto& x, Index itemsize) {
    return x.ndim() == 1 && (x.shape(0) <= 1 || x.strides(0) == itemsize);
  };
  if (!contiguous(indptr, sizeof(I)) || indptr.shape(0) != m + 1)
    throw std::invalid_argument("indptr must be a contiguous vector of length m + 1");
  const Index nnz = m >= 0 && indptr.shape(0) > 0 ? static_cast<Index>(indptr.at(m)) : 0;
  if (!contiguous(indices, sizeof(I)) || indices.shape(0) < nnz ||
      !contiguous(data, sizeof(T)) || data.shape(0) < nnz)
    throw std::invalid_argument("indices and data must be contiguous vectors of length nnz");
  check_budget(tol, maxiter);
  check_iterative(method);
  const specnorm::CsrOperator<T, I> op(indptr.data(), indices.data(), data.data(), m, n);
  const specnorm::Vector<T> start = vector_from(v0, n, "v0");
  specnorm::DenseBounds bounds;
  specnorm::Estimate<T> est;
  bool computed = false;
  StopRequest stop(timeout);
  {
    const py::gil_scoped_release release;
    bounds = op.bounds();
    if (specnorm::status_of(bounds) == specnorm::Status::ok) {
      specnorm::Options<specnorm::RealOf<T>> opt;
      opt.tol = static_cast<specnorm::RealOf<T>>(tol);
      opt.maxiter = maxiter;
      opt.basis_size = basis_size;
      opt.seed = seed;
      opt.norm_hint = static_cast<specnorm::RealOf<T>>(bounds.upper());
      opt.start_weight = start_weight;
      opt.stop = stop.callback();
      est = run_iterative(op, start, opt, method);
      computed = true;
    }
  }
  stop.finish();
  PySparseEstimate out;
  out.bounds = bounds;
  if (computed) out.estimate = py::cast(to_python(est));
  return out;
}

/// estimate_sparse for one index type (SciPy uses int32 indices, int64 for large matrices).
template <typename T, typename I>
void bind_sparse(py::module_& m) {
  m.def("estimate_sparse", &estimate_sparse<T, I>, py::arg("indptr").noconvert(),
        py::arg("indices").noconvert(), py::arg("data").noconvert(), py::arg("m"), py::arg("n"),
        py::arg("method"), py::arg("tol"), py::arg("maxiter"), py::arg("basis_size"),
        py::arg("seed"), py::arg("v0").noconvert(), py::arg("timeout") = 0.0, py::arg("start_weight") = 1.0,
        "A CSR matrix viewed in place: its bounds, and an estimate by an iterative method "
        "(power, lanczos or rayleigh) where they leave one to compute.");
}

template <typename T>
void bind_sparse(py::module_& m) {
  bind_sparse<T, std::int32_t>(m);
  bind_sparse<T, std::int64_t>(m);
}

}  // namespace specnorm_python
