// estimate_small: one small dense matrix by the Gram kernel, the path of method="auto" for
// min(m, n) <= specnorm::gram_cutoff, for one dtype.
#pragma once
#include "common.hpp"
#include "results.hpp"
#include "specnorm/bounds.hpp"
#include "specnorm/small.hpp"

namespace specnorm_python {

/// One small dense matrix by the Gram kernel (small.hpp) with its one-pass bounds, in one call
/// and with the least conversion. The start is `v0`, or drawn from `seed` when v0 is None.
/// Nothing is computed where the bounds' status is not ok (an entry NaN or infinite, or
/// A = 0); `upper` is the certain bound (the smaller of the one-pass bound and the kernel's);
/// u and v are None unless `vectors`.
template <typename T>
PySmallEstimate estimate_small(const Array<T>& a, double tol, Index maxiter, std::uint64_t seed,
                               const py::object& v0, bool vectors, double timeout) {
  using Real = specnorm::RealOf<T>;
  const auto op = dense_view(a);
  check_budget(tol, maxiter);
  const bool drawn = v0.is_none();
  specnorm::Vector<T> start;
  if (!drawn) start = vector_from(v0.cast<Array<T>>(), op.cols(), "v0");
  specnorm::DenseBounds bounds;
  specnorm::Estimate<T> est;
  PySmallEstimate out;
  StopRequest stop(timeout);
  {
    const py::gil_scoped_release release;
    bounds = specnorm::dense_bounds(op);
    out.status = specnorm::status_of(bounds);
    if (out.status == specnorm::Status::ok && (op.rows() == 0 || op.cols() == 0))
      out.status = specnorm::Status::zero;
    if (out.status == specnorm::Status::ok) {
      specnorm::Options<Real> opt;
      opt.tol = static_cast<Real>(tol);
      opt.maxiter = maxiter;
      opt.seed = seed + 0x9E3779B97F4A7C15ULL;  // the solver's own draws: another stream
      opt.norm_hint = static_cast<Real>(bounds.upper());
      opt.stop = stop.callback();
      if (drawn) start = specnorm::GaussianSource<T>(seed).draw(op.cols());
      est = specnorm::gram_power(op, start, opt);
    }
  }
  stop.finish();
  if (out.status != specnorm::Status::ok) return out;  // zeros, converged, no vectors
  out.sigma = static_cast<double>(est.sigma);
  out.lower = static_cast<double>(est.lower);
  out.upper = std::min(bounds.upper(), est.upper);
  out.residual = static_cast<double>(est.residual);
  out.iterations = est.iterations;
  out.converged = est.converged;
  if (vectors) {
    out.u = to_numpy(est.u);
    out.v = to_numpy(est.v);
  }
  return out;
}

template <typename T>
void bind_small(py::module_& m) {
  m.def("estimate_small", &estimate_small<T>, py::arg("a").noconvert(), py::arg("tol"),
        py::arg("maxiter"), py::arg("seed"), py::arg("v0"), py::arg("vectors"),
        py::arg("timeout") = 0.0,
        "A small dense matrix by the Gram kernel with its certain bound; nothing computed where "
        "the status is not ok (not_finite, zero).");
}

}  // namespace specnorm_python
