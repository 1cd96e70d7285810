// The answers of the module's functions as they cross into Python: plain structs of numbers,
// the core's enums (Status, Method, BoundKind) and NumPy arrays, the same whatever the dtype, so
// that each is bound once as a class (types.cpp) and every dtype's functions return it. The
// arrays are the ones the functions fill: a field hands out the array itself, never a copy.
#pragma once

#include "common.hpp"
#include "specnorm/batch.hpp"
#include "specnorm/bounds.hpp"
#include "specnorm/result.hpp"

namespace specnorm_python {

/// One matrix's estimate (estimate; estimate_sparse where it computed): the fields of
/// specnorm::Estimate, the vectors as new NumPy arrays of the matrix's dtype. Built whole by
/// to_python (aggregate initialization: a default py::array would allocate an empty array).
struct PyEstimate {
  double sigma;
  double lower;
  double residual;
  double upper;  ///< a certain bound a solver found (the Gram kernel's), else inf
  py::array u, v;
  Index iterations;
  bool converged;
  specnorm::BoundKind bound_kind;
  Index bound_steps;
};

template <typename T>
PyEstimate to_python(const specnorm::Estimate<T>& est) {
  return PyEstimate{static_cast<double>(est.sigma),
                    static_cast<double>(est.lower),
                    static_cast<double>(est.residual),
                    est.upper,
                    to_numpy(est.u),
                    to_numpy(est.v),
                    est.iterations,
                    est.converged,
                    est.bound_kind,
                    est.bound_steps};
}

/// A sparse matrix's answer: its one-pass bounds, and the estimate where its status is ok
/// (None otherwise: nothing was computed).
struct PySparseEstimate {
  specnorm::DenseBounds bounds;
  py::object estimate = py::none();  ///< a PyEstimate, or None
};

/// The small-matrix answer of the Gram kernel (estimate_small). Where the status is not ok
/// nothing was computed: sigma, lower, upper and residual are 0, iterations 0, converged true.
/// `upper` is the certain bound (the smaller of the one-pass bound and the kernel's); u and v
/// are None unless the call asked for the vectors.
///
/// It crosses as `_core.SmallEstimate`, a type of its own (types.cpp) rather than a py::class_:
/// it is the answer of the lean path of sigma() and estimate() (a call of about 16 us on a
/// 32 x 32 matrix), where a py::class_ property costs about 80 ns a read, nine reads 0.7 us
/// more than the tuple this answer was before. Its fields are read-only slots (T_OBJECT_EX
/// members) that CPython reads about as fast as a tuple's items.
struct PySmallEstimate {
  specnorm::Status status = specnorm::Status::ok;
  double sigma = 0;
  double lower = 0;
  double upper = 0;
  double residual = 0;
  Index iterations = 0;
  bool converged = true;
  py::object u = py::none(), v = py::none();
};

/// A new `_core.SmallEstimate` holding `answer` (types.cpp).
py::object small_estimate_object(const PySmallEstimate& answer);

/// The one-pass bounds of every matrix of a batch, arrays of length B.
struct PyBatchBounds {
  py::array_t<bool> finite;
  py::array_t<double> upper;  ///< the certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf))
};

/// Every matrix of a batch (estimate_batch): each field an array over the batch (B,), u and v
/// (B, m) and (B, n). Where `computed` is false (an entry not finite, or A = 0) sigma, lower and
/// the rest are those of a default specnorm::Estimate and u, v the first unit vectors. Built
/// whole by aggregate initialization, from the arrays estimate_batch filled.
struct PyBatchEstimate {
  py::array_t<double> sigma, lower, residual;
  py::array_t<double> upper;  ///< a certain bound the solver found (the Gram kernel's), or inf
  py::array_t<std::int64_t> iterations, bound_steps;
  py::array_t<std::int8_t> bound_kind;  ///< codes of specnorm::BoundKind
  py::array_t<bool> converged, computed;
  py::array u, v;
  PyBatchBounds bounds;
};

}  // namespace specnorm_python

namespace pybind11::detail {

/// A PySmallEstimate returned by a function becomes a `_core.SmallEstimate` (never an argument).
template <>
struct type_caster<specnorm_python::PySmallEstimate> {
  PYBIND11_TYPE_CASTER(specnorm_python::PySmallEstimate,
                       const_name("specnorm._core.SmallEstimate"));
  bool load(handle, bool) { return false; }
  static handle cast(const specnorm_python::PySmallEstimate& src, return_value_policy, handle) {
    return specnorm_python::small_estimate_object(src).release();
  }
};

}  // namespace pybind11::detail
