// estimate_small: one small dense matrix by the Gram kernel, the path of method="auto" for
// min(m, n) <= 64, for one dtype.
#pragma once
#include "common.hpp"
#include "specnorm/bounds.hpp"
#include "specnorm/small.hpp"

namespace specnorm_python {

/// One small dense matrix by the Gram kernel (small.hpp) with its one-pass bounds, in one call
/// and with the least conversion. The start is `v0`, or drawn from `seed` when v0 is None.
/// Returns (status, sigma, lower, upper, residual, iterations, converged, u, v): status 0
/// computed, 1 an entry is NaN or Inf, 2 A = 0 (nothing computed); upper is the certain bound
/// (the smaller of the one-pass bound and the kernel's); u and v are None unless `vectors`.
template <typename T>
py::tuple estimate_small(const Array<T>& a, double tol, Index maxiter, std::uint64_t seed,
                         const py::object& v0, bool vectors, double timeout) {
  using Real = specnorm::RealOf<T>;
  const auto op = dense_view(a);
  check_budget(tol, maxiter);
  const bool drawn = v0.is_none();
  specnorm::Vector<T> start;
  if (!drawn) start = vector_from(v0.cast<Array<T>>(), op.cols(), "v0");
  specnorm::DenseBounds bounds;
  specnorm::Estimate<T> est;
  int status = 0;
  StopRequest stop(timeout);
  {
    const py::gil_scoped_release release;
    bounds = specnorm::dense_bounds(op);
    if (!bounds.finite) {
      status = 1;
    } else if (!(bounds.upper() > 0) || op.rows() == 0 || op.cols() == 0) {
      status = 2;
    } else {
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
  if (status != 0) return py::make_tuple(status, 0.0, 0.0, 0.0, 0.0, 0, true, py::none(),
                                         py::none());
  const py::object u = vectors ? py::object(to_numpy(est.u)) : py::none();
  const py::object v = vectors ? py::object(to_numpy(est.v)) : py::none();
  return py::make_tuple(status, static_cast<double>(est.sigma), static_cast<double>(est.lower),
                        std::min(bounds.upper(), est.upper), static_cast<double>(est.residual),
                        est.iterations, est.converged, u, v);
}

template <typename T>
void bind_small(py::module_& m) {
  m.def("estimate_small", &estimate_small<T>, py::arg("a").noconvert(), py::arg("tol"),
        py::arg("maxiter"), py::arg("seed"), py::arg("v0"), py::arg("vectors"),
        py::arg("timeout") = 0.0,
        "A small dense matrix by the Gram kernel with its bounds: (status, sigma, lower, upper, "
        "residual, iterations, converged, u, v); status 1: not finite, 2: zero.");
}

}  // namespace specnorm_python
