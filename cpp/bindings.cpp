// The only file that knows Python: turns the Eigen-only headers under cpp/specnorm/ into the
// module specnorm._core. NumPy arrays are viewed in place (C order, F order or any view whose
// rows or columns are contiguous); the Python layer copies anything else once, before the call.
#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include "specnorm/batch.hpp"
#include "specnorm/bounds.hpp"
#include "specnorm/dense.hpp"
#include "specnorm/lanczos.hpp"
#include "specnorm/operator.hpp"
#include "specnorm/power.hpp"
#include "specnorm/rayleigh.hpp"
#include "specnorm/result.hpp"
#include "specnorm/small.hpp"
#include "specnorm/sparse.hpp"

namespace py = pybind11;
using specnorm::Index;

namespace {

template <typename T>
using Array = py::array_t<T, 0>;  // any strides, no conversion

/// A dense operator over m x n entries at `data` with byte strides s0 (rows) and s1 (columns),
/// without copying; throws where neither rows nor columns are contiguous.
template <typename T>
specnorm::DenseOperator<T> strided_view(const T* data, Index m, Index n, Index s0, Index s1) {
  const Index size = static_cast<Index>(sizeof(T));
  if (reinterpret_cast<std::uintptr_t>(data) % alignof(T) != 0)
    throw std::invalid_argument("array data is not aligned for its dtype");
  const auto unit = [size](Index s) { return s > 0 && s % size == 0; };
  // Column-major with an outer stride: element (i, j) at i + j * outer.
  if ((s0 == size || m <= 1) && (n <= 1 || unit(s1))) {
    const Index outer = n <= 1 ? std::max<Index>(m, 1) : s1 / size;
    return specnorm::DenseOperator<T>(data, m, n, outer, false);
  }
  // Row-major with an outer stride: the column-major map of A^T.
  if ((s1 == size || n <= 1) && (m <= 1 || unit(s0))) {
    const Index outer = m <= 1 ? std::max<Index>(n, 1) : s0 / size;
    return specnorm::DenseOperator<T>(data, n, m, outer, true);
  }
  throw std::invalid_argument("array layout needs a copy: neither rows nor columns are contiguous");
}

/// A dense operator over the memory of a 2-D NumPy array, without copying.
template <typename T>
specnorm::DenseOperator<T> dense_view(const Array<T>& a) {
  if (a.ndim() != 2) throw std::invalid_argument("expected a 2-D array");
  return strided_view(a.data(), a.shape(0), a.shape(1), a.strides(0), a.strides(1));
}

/// The solvers' stop request for one call: a deadline (`timeout` seconds from now; none if not
/// positive and finite), and Ctrl-C: the calling thread, which released the GIL, takes it back
/// about every 20 ms to let Python run its signal handlers. A handler that raises (SIGINT's
/// KeyboardInterrupt) stops every solver of the call; `finish` then raises that exception.
class StopRequest {
 public:
  explicit StopRequest(double timeout)
      : owner_(std::this_thread::get_id()), last_(Clock::now()),
        has_deadline_(timeout > 0 && std::isfinite(timeout)) {
    if (has_deadline_) {
      deadline_ = last_ + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(std::min(timeout, 1e9)));
    }
  }

  /// Whether the solvers must stop now (called without the GIL, from any thread).
  bool operator()() {
    if (stopped_.load(std::memory_order_relaxed)) return true;
    const auto now = Clock::now();
    if (has_deadline_ && now >= deadline_) {
      stopped_.store(true, std::memory_order_relaxed);
      return true;
    }
    if (std::this_thread::get_id() == owner_ && now - last_ >= std::chrono::milliseconds(20)) {
      last_ = now;
      const py::gil_scoped_acquire hold;
      if (PyErr_CheckSignals() != 0) {  // the handler raised: its exception is now set
        interrupted_ = true;
        stopped_.store(true, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

  /// The solver options' stop callback for this request.
  std::function<bool()> callback() { return [this] { return (*this)(); }; }

  /// Called with the GIL held after the solvers returned: raises the handler's exception.
  void finish() const {
    if (interrupted_) throw py::error_already_set();
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::thread::id owner_;
  Clock::time_point last_;  // touched by the owner thread only
  bool has_deadline_;
  Clock::time_point deadline_{};
  std::atomic<bool> stopped_{false};
  bool interrupted_ = false;  // written by the owner thread only, read after the solvers join
};

template <typename T>
specnorm::Vector<T> vector_from(const Array<T>& x, Index expected, const char* name) {
  if (x.ndim() != 1 || x.shape(0) != expected)
    throw std::invalid_argument(std::string(name) + " has the wrong shape");
  specnorm::Vector<T> out(expected);
  for (Index i = 0; i < expected; ++i) out[i] = x.at(i);
  return out;
}

template <typename T>
py::array_t<T> to_numpy(const specnorm::Vector<T>& x) {
  py::array_t<T> out(x.size());
  std::copy(x.data(), x.data() + x.size(), out.mutable_data());
  return out;
}

const char* bound_name(specnorm::BoundKind k) {
  switch (k) {
    case specnorm::BoundKind::power: return "power";
    case specnorm::BoundKind::lanczos: return "lanczos";
    default: return "none";
  }
}

/// `method` ("power", "lanczos" or "rayleigh") on any operator of the core.
template <typename Op, typename T>
specnorm::Estimate<T> run_iterative(const Op& op, const specnorm::Vector<T>& start,
                                    const specnorm::Options<specnorm::RealOf<T>>& opt,
                                    const std::string& method) {
  if (method == "power") return specnorm::power_iteration(op, start, opt);
  if (method == "lanczos") return specnorm::lanczos(op, start, opt);
  if (method == "rayleigh") return specnorm::rayleigh_iteration(op, start, opt);
  throw std::invalid_argument("unknown method '" + method + "'");
}

template <typename T>
py::dict estimate_dict(const specnorm::Estimate<T>& est);

template <typename T>
py::dict estimate(const Array<T>& a, const std::string& method, double tol, Index maxiter,
                  Index basis_size, std::uint64_t seed, const Array<T>& v0, double norm_hint,
                  double timeout) {
  const auto op = dense_view(a);
  const specnorm::Vector<T> start = vector_from(v0, op.cols(), "v0");
  if (!(tol > 0 && tol < 1)) throw std::invalid_argument("tol must lie in (0, 1)");
  if (maxiter < 1) throw std::invalid_argument("maxiter must be at least 1");
  specnorm::Options<specnorm::RealOf<T>> opt;
  opt.tol = static_cast<specnorm::RealOf<T>>(tol);
  opt.maxiter = maxiter;
  opt.basis_size = basis_size;
  opt.seed = seed;
  opt.norm_hint = static_cast<specnorm::RealOf<T>>(norm_hint);
  StopRequest stop(timeout);
  opt.stop = stop.callback();
  specnorm::Estimate<T> est;
  {
    const py::gil_scoped_release release;
    est = specnorm::solve_dense(op, start, opt, [&method](const auto& o, const auto& s,
                                                           const auto& options) {
      return run_iterative(o, s, options, method);
    });
  }
  stop.finish();
  return estimate_dict(est);
}

/// A sparse matrix in CSR form (SciPy's indptr, indices, data), viewed in place: its one-pass
/// bounds, then `method` from `v0` unless an entry is not finite or A = 0. Returns the fields of
/// `estimate` plus "finite" and "certain" (the bound); nothing is computed where finite is
/// false or certain is 0.
template <typename T, typename I>
py::dict estimate_sparse(const Array<I>& indptr, const Array<I>& indices, const Array<T>& data,
                         Index m, Index n, const std::string& method, double tol, Index maxiter,
                         Index basis_size, std::uint64_t seed, const Array<T>& v0,
                         double timeout) {
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
  if (!(tol > 0 && tol < 1)) throw std::invalid_argument("tol must lie in (0, 1)");
  if (maxiter < 1) throw std::invalid_argument("maxiter must be at least 1");
  const specnorm::CsrOperator<T, I> op(indptr.data(), indices.data(), data.data(), m, n);
  const specnorm::Vector<T> start = vector_from(v0, n, "v0");
  specnorm::DenseBounds bounds;
  specnorm::Estimate<T> est;
  bool computed = false;
  StopRequest stop(timeout);
  {
    const py::gil_scoped_release release;
    bounds = op.bounds();
    if (bounds.finite && bounds.upper() > 0) {
      specnorm::Options<specnorm::RealOf<T>> opt;
      opt.tol = static_cast<specnorm::RealOf<T>>(tol);
      opt.maxiter = maxiter;
      opt.basis_size = basis_size;
      opt.seed = seed;
      opt.norm_hint = static_cast<specnorm::RealOf<T>>(bounds.upper());
      opt.stop = stop.callback();
      est = run_iterative(op, start, opt, method);
      computed = true;
    }
  }
  stop.finish();
  py::dict out = computed ? estimate_dict(est) : py::dict();
  out["finite"] = bounds.finite;
  out["certain"] = bounds.upper();
  return out;
}

template <typename T>
py::dict estimate_dict(const specnorm::Estimate<T>& est) {
  py::dict out;
  out["sigma"] = static_cast<double>(est.sigma);
  out["lower"] = static_cast<double>(est.lower);
  out["residual"] = static_cast<double>(est.residual);
  out["u"] = to_numpy(est.u);
  out["v"] = to_numpy(est.v);
  out["iterations"] = est.iterations;
  out["converged"] = est.converged;
  out["bound_kind"] = bound_name(est.bound_kind);
  out["bound_steps"] = est.bound_steps;
  return out;
}

template <typename T>
py::tuple dense_bounds(const Array<T>& a) {
  const auto op = dense_view(a);
  specnorm::DenseBounds b;
  {
    const py::gil_scoped_release release;
    b = specnorm::dense_bounds(op);
  }
  return py::make_tuple(b.finite, b.upper(), b.frobenius);
}

template <typename T>
double rayleigh_quotient(const Array<T>& a, const Array<T>& x) {
  const auto op = dense_view(a);
  const specnorm::Vector<T> vec = vector_from(x, op.cols(), "x");
  const py::gil_scoped_release release;
  return static_cast<double>(specnorm::rayleigh_quotient(op, vec));
}

specnorm::Method method_from(const std::string& method) {
  if (method == "power") return specnorm::Method::power;
  if (method == "lanczos") return specnorm::Method::lanczos;
  if (method == "rayleigh") return specnorm::Method::rayleigh;
  if (method == "gram") return specnorm::Method::gram;
  throw std::invalid_argument("unknown method '" + method + "'");
}

/// Every matrix of a stack (B, m, n), viewed in place, one matrix per task on `threads` threads.
template <typename T>
py::dict estimate_batch(const Array<T>& a, const std::string& method, double tol, Index maxiter,
                        Index basis_size, const py::array_t<std::uint64_t, 0>& seeds,
                        const Array<T>& v0, int threads, double timeout) {
  using Real = specnorm::RealOf<T>;
  if (a.ndim() != 3) throw std::invalid_argument("expected a 3-D array (B, m, n)");
  const Index count = a.shape(0), m = a.shape(1), n = a.shape(2);
  if (seeds.ndim() != 1 || seeds.shape(0) != count)
    throw std::invalid_argument("seeds must have shape (B,)");
  if (v0.ndim() != 2 || v0.shape(0) != count || v0.shape(1) != n)
    throw std::invalid_argument("v0 must have shape (B, n)");
  if (!(tol > 0 && tol < 1)) throw std::invalid_argument("tol must lie in (0, 1)");
  if (maxiter < 1) throw std::invalid_argument("maxiter must be at least 1");
  const specnorm::Method which = method_from(method);
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
  opt.stop = stop.callback();
  std::vector<specnorm::BatchEntry<T>> entries;
  if (m > 0 && n > 0) {
    const py::gil_scoped_release release;
    entries = specnorm::estimate_batch<T>(count, make_op, start, seed_list.data(), which, opt,
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
  py::dict out;
  out["sigma"] = sigma;
  out["lower"] = lower;
  out["residual"] = residual;
  out["certain"] = certain;
  out["upper"] = found;
  out["iterations"] = iterations;
  out["bound_steps"] = steps;
  out["bound_kind"] = kind;
  out["converged"] = converged;
  out["finite"] = finite;
  out["computed"] = computed;
  out["u"] = u;
  out["v"] = v;
  return out;
}

/// One small dense matrix by the Gram kernel (small.hpp) with its one-pass bounds, in one call
/// and with the least conversion: the path of method="auto" for min(m, n) <= 64. The start is
/// `v0`, or drawn from `seed` when v0 is None. Returns (status, sigma, lower, upper, residual,
/// iterations, converged, u, v): status 0 computed, 1 an entry is NaN or Inf, 2 A = 0 (nothing
/// computed); upper is the certain bound (the smaller of the one-pass bound and the kernel's);
/// u and v are None unless `vectors`.
template <typename T>
py::tuple estimate_small(const Array<T>& a, double tol, Index maxiter, std::uint64_t seed,
                         const py::object& v0, bool vectors, double timeout) {
  using Real = specnorm::RealOf<T>;
  const auto op = dense_view(a);
  if (!(tol > 0 && tol < 1)) throw std::invalid_argument("tol must lie in (0, 1)");
  if (maxiter < 1) throw std::invalid_argument("maxiter must be at least 1");
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

/// estimate_sparse for one index type (SciPy uses int32 indices, int64 for large matrices).
template <typename T, typename I>
void bind_sparse(py::module_& m) {
  m.def("estimate_sparse", &estimate_sparse<T, I>, py::arg("indptr").noconvert(),
        py::arg("indices").noconvert(), py::arg("data").noconvert(), py::arg("m"), py::arg("n"),
        py::arg("method"), py::arg("tol"), py::arg("maxiter"), py::arg("basis_size"),
        py::arg("seed"), py::arg("v0").noconvert(), py::arg("timeout") = 0.0,
        "A CSR matrix viewed in place: bounds and an estimate.");
}

template <typename T>
void bind(py::module_& m) {
  m.def("estimate_batch", &estimate_batch<T>, py::arg("a").noconvert(), py::arg("method"),
        py::arg("tol"), py::arg("maxiter"), py::arg("basis_size"), py::arg("seeds").noconvert(),
        py::arg("v0").noconvert(), py::arg("threads"), py::arg("timeout") = 0.0,
        "Every matrix of a stack (B, m, n): bounds and estimates, one matrix per task. bound_kind "
        "codes: 0 none, 1 power, 2 lanczos.");
  m.def("estimate", &estimate<T>, py::arg("a").noconvert(), py::arg("method"), py::arg("tol"),
        py::arg("maxiter"), py::arg("basis_size"), py::arg("seed"), py::arg("v0").noconvert(),
        py::arg("norm_hint"), py::arg("timeout") = 0.0,
        "Largest singular triplet of a dense 2-D array (float32, float64, complex64, complex128).");
  m.def("estimate_small", &estimate_small<T>, py::arg("a").noconvert(), py::arg("tol"),
        py::arg("maxiter"), py::arg("seed"), py::arg("v0"), py::arg("vectors"),
        py::arg("timeout") = 0.0,
        "A small dense matrix by the Gram kernel with its bounds: (status, sigma, lower, upper, "
        "residual, iterations, converged, u, v); status 1: not finite, 2: zero.");
  bind_sparse<T, std::int32_t>(m);
  bind_sparse<T, std::int64_t>(m);
  m.def("dense_bounds", &dense_bounds<T>, py::arg("a").noconvert(),
        "(all entries finite, min(||A||_F, sqrt(||A||_1 ||A||_inf)), ||A||_F) in one pass.");
  m.def("rayleigh_quotient", &rayleigh_quotient<T>, py::arg("a").noconvert(),
        py::arg("x").noconvert(), "||A x|| / ||x|| for nonzero x.");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "The C++/Eigen core of specnorm (private: use the functions of specnorm).";
  bind<double>(m);  // the commonest dtype first: overloads are tried in order
  bind<float>(m);
  bind<std::complex<float>>(m);
  bind<std::complex<double>>(m);
}
