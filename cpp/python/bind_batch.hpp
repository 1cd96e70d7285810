// estimate_batch: every matrix of a stack (B, m, n), one matrix per task, for one dtype.
#pragma once

#include <vector>

#include "common.hpp"
#include "results.hpp"
#include "specnorm/batch.hpp"

namespace specnorm_python {

/// Every matrix of a stack (B, m, n), viewed in place, one matrix per task on `threads` threads.
template <typename T>
PyBatchEstimate estimate_batch(const Array<T>& a, specnorm::Method method, double tol,
                               Index maxiter, Index basis_size,
                               const py::array_t<std::uint64_t, 0>& seeds, const Array<T>& v0,
                               int threads, double timeout, double start_weight) {
  using Real = specnorm::RealOf<T>;
  if (a.ndim() != 3) throw std::invalid_argument("expected a 3-D array (B, m, n)");
  const Index count = a.shape(0), m = a.shape(1), n = a.shape(2);
  if (seeds.ndim() != 1 || seeds.shape(0) != count)
    throw std::invalid_argument("seeds must have shape (B,)");
  if (v0.ndim() != 2 || v0.shape(0) != count || v0.shape(1) != n)
    throw std::invalid_argument("v0 must have shape (B, n)");
  check_budget(tol, maxiter);
  const T* base = a.data();
  const Index bs = a.strides(0), s0 = a.strides(1), s1 = a.strides(2);
  if (count > 0 && m > 0 && n > 0) strided_view(base, m, n, s0, s1);  // layout check, with GIL
  const auto make_op = [&](Index b) {
    const T* data = reinterpret_cast<const T*>(reinterpret_cast<const char*>(base) + b * bs);
    return strided_view(data, m, n, s0, s1);
  };
  const auto seed_data = seeds.template unchecked<1>();  // any strides
  std::vector<std::uint64_t> seed_list(static_cast<std::size_t>(count));
  for (Index b = 0; b < count; ++b) seed_list[static_cast<std::size_t>(b)] = seed_data(b);
  const auto v0_data = v0.template unchecked<2>();
  const auto start = [&](Index b) {
    specnorm::Vector<T> x(n);
    for (Index i = 0; i < n; ++i) x[i] = v0_data(b, i);
    return x;
  };
  specnorm::Options<Real> opt;
  opt.tol = static_cast<Real>(tol);
  opt.maxiter = maxiter;
  opt.basis_size = basis_size;
  StopRequest stop(timeout);
  opt.start_weight = start_weight;
  opt.stop = stop.callback();
  std::vector<specnorm::BatchEntry<T>> entries;
  if (m > 0 && n > 0) {
    const py::gil_scoped_release release;
    entries = specnorm::estimate_batch<T>(count, make_op, start, seed_list.data(), method, opt,
                                          threads);
  }
  stop.finish();
  py::array_t<double> sigma(count), lower(count), residual(count), certain(count), found(count);
  py::array_t<std::int64_t> iterations(count), steps(count);
  py::array_t<std::int8_t> kind(count);
  py::array_t<bool> converged(count), finite(count), computed(count);
  py::array_t<T> u({count, m}), v({count, n});
  auto su = u.template mutable_unchecked<2>();
  auto sv = v.template mutable_unchecked<2>();
  const specnorm::BatchEntry<T> empty_entry;  // for empty matrices, where nothing ran
  for (Index b = 0; b < count; ++b) {
    const auto& e = entries.empty() ? empty_entry : entries[static_cast<std::size_t>(b)];
    const auto& est = e.estimate;
    sigma.mutable_at(b) = static_cast<double>(est.sigma);
    lower.mutable_at(b) = static_cast<double>(est.lower);
    residual.mutable_at(b) = static_cast<double>(est.residual);
    certain.mutable_at(b) = e.bounds.upper();
    found.mutable_at(b) = est.upper;
    iterations.mutable_at(b) = est.iterations;
    steps.mutable_at(b) = est.bound_steps;
    kind.mutable_at(b) = static_cast<std::int8_t>(est.bound_kind);
    converged.mutable_at(b) = est.converged;
    finite.mutable_at(b) = e.bounds.finite;
    computed.mutable_at(b) = e.computed;
    // The computed pair, or the first unit vectors where nothing was computed (sigma = 0).
    for (Index i = 0; i < m; ++i) su(b, i) = e.computed ? est.u[i] : T(i == 0);
    for (Index j = 0; j < n; ++j) sv(b, j) = e.computed ? est.v[j] : T(j == 0);
  }
  return PyBatchEstimate{std::move(sigma), std::move(lower), std::move(residual),
                         std::move(found), std::move(iterations), std::move(steps),
                         std::move(kind), std::move(converged), std::move(computed),
                         std::move(u), std::move(v),
                         PyBatchBounds{std::move(finite), std::move(certain)}};
}

template <typename T>
void bind_batch(py::module_& m) {
  m.def("estimate_batch", &estimate_batch<T>, py::arg("a").noconvert(), py::arg("method"),
        py::arg("tol"), py::arg("maxiter"), py::arg("basis_size"), py::arg("seeds").noconvert(),
        py::arg("v0").noconvert(), py::arg("threads"), py::arg("timeout") = 0.0, py::arg("start_weight") = 1.0,
        "Every matrix of a stack (B, m, n): bounds and estimates, one matrix per task; each "
        "field an array over the batch.");
}

}  // namespace specnorm_python
