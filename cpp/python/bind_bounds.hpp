// dense_bounds and rayleigh_quotient: one-pass quantities of a dense 2-D array, for one dtype.
#pragma once
#include "common.hpp"
#include "specnorm/bounds.hpp"

namespace specnorm_python {

template <typename T>
specnorm::DenseBounds dense_bounds(const Array<T>& a) {
  const auto op = dense_view(a);
  const py::gil_scoped_release release;
  return specnorm::dense_bounds(op);
}

template <typename T>
double rayleigh_quotient(const Array<T>& a, const Array<T>& x) {
  const auto op = dense_view(a);
  const specnorm::Vector<T> vec = vector_from(x, op.cols(), "x");
  const py::gil_scoped_release release;
  return static_cast<double>(specnorm::rayleigh_quotient(op, vec));
}

template <typename T>
void bind_bounds(py::module_& m) {
  m.def("dense_bounds", &dense_bounds<T>, py::arg("a").noconvert(),
        "The bounds of a dense 2-D array from one pass: whether every entry is finite, ||A||_F, "
        "||A||_1, ||A||_inf and the certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf)).");
  m.def("rayleigh_quotient", &rayleigh_quotient<T>, py::arg("a").noconvert(),
        py::arg("x").noconvert(), "||A x|| / ||x|| for nonzero x.");
}

}  // namespace specnorm_python
