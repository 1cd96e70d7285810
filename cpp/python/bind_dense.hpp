// estimate: the largest singular triplet of a dense 2-D array, for one dtype.
#pragma once

#include "common.hpp"
#include "results.hpp"
#include "specnorm/dense.hpp"

namespace specnorm_python {

template <typename T>
PyEstimate estimate(const Array<T>& a, specnorm::Method method, double tol, Index maxiter,
                    Index basis_size, std::uint64_t seed, const Array<T>& v0, double norm_hint,
                    double timeout, double start_weight) {
  const auto op = dense_view(a);
  const specnorm::Vector<T> start = vector_from(v0, op.cols(), "v0");
  check_budget(tol, maxiter);
  check_iterative(method);
  specnorm::Options<specnorm::RealOf<T>> opt;
  opt.tol = static_cast<specnorm::RealOf<T>>(tol);
  opt.maxiter = maxiter;
  opt.basis_size = basis_size;
  opt.seed = seed;
  opt.norm_hint = static_cast<specnorm::RealOf<T>>(norm_hint);
  StopRequest stop(timeout);
  opt.start_weight = start_weight;
  opt.stop = stop.callback();
  specnorm::Estimate<T> est;
  {
    const py::gil_scoped_release release;
    est = specnorm::solve_dense(op, start, opt, [method](const auto& o, const auto& s,
                                                          const auto& options) {
      return run_iterative(o, s, options, method);
    });
  }
  stop.finish();
  return to_python(est);
}

template <typename T>
void bind_dense(py::module_& m) {
  m.def("estimate", &estimate<T>, py::arg("a").noconvert(), py::arg("method"), py::arg("tol"),
        py::arg("maxiter"), py::arg("basis_size"), py::arg("seed"), py::arg("v0").noconvert(),
        py::arg("norm_hint"), py::arg("timeout") = 0.0, py::arg("start_weight") = 1.0,
        "Largest singular triplet of a dense 2-D array (float32, float64, complex64, complex128) "
        "by an iterative method (power, lanczos or rayleigh).");
}

}  // namespace specnorm_python
