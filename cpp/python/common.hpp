// What the translation units of the bindings share: NumPy arrays viewed as the core's operators
// without copying (C order, F order or any view whose rows or columns are contiguous; the
// Python layer copies anything else once, before the call), the stop request of one call, the
// conversions of vectors and the dispatch on the method. With results.hpp (the answers as they
// cross into Python) the only headers besides the .cpp files that know Python; the core under
// cpp/specnorm/ does not.
#pragma once

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "specnorm/batch.hpp"
#include "specnorm/lanczos.hpp"
#include "specnorm/operator.hpp"
#include "specnorm/power.hpp"
#include "specnorm/rayleigh.hpp"
#include "specnorm/result.hpp"

namespace specnorm_python {

namespace py = pybind11;
using specnorm::Index;

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

/// The entries of a 1-D array of length `expected` (any strides) as a vector of the core;
/// throws naming `name` otherwise.
template <typename T>
specnorm::Vector<T> vector_from(const Array<T>& x, Index expected, const char* name) {
  if (x.ndim() != 1 || x.shape(0) != expected)
    throw std::invalid_argument(std::string(name) + " has the wrong shape");
  specnorm::Vector<T> out(expected);
  for (Index i = 0; i < expected; ++i) out[i] = x.at(i);
  return out;
}

/// A new NumPy array holding the entries of `x`.
template <typename T>
py::array_t<T> to_numpy(const specnorm::Vector<T>& x) {
  py::array_t<T> out(x.size());
  std::copy(x.data(), x.data() + x.size(), out.mutable_data());
  return out;
}

/// Throws unless `method` is one of the iterative methods that run on any operator.
inline void check_iterative(specnorm::Method method) {
  if (method != specnorm::Method::power && method != specnorm::Method::lanczos &&
      method != specnorm::Method::rayleigh)
    throw std::invalid_argument(
        "method gram runs on small dense matrices only (estimate_small, estimate_batch)");
}

/// `method` (power, lanczos or rayleigh: check_iterative) on any operator of the core.
template <typename Op, typename T>
specnorm::Estimate<T> run_iterative(const Op& op, const specnorm::Vector<T>& start,
                                    const specnorm::Options<specnorm::RealOf<T>>& opt,
                                    specnorm::Method method) {
  switch (method) {
    case specnorm::Method::power: return specnorm::power_iteration(op, start, opt);
    case specnorm::Method::lanczos: return specnorm::lanczos(op, start, opt);
    case specnorm::Method::rayleigh: return specnorm::rayleigh_iteration(op, start, opt);
    default: break;
  }
  check_iterative(method);  // throws
  return {};
}

/// Throws unless 0 < tol < 1 and maxiter >= 1.
inline void check_budget(double tol, Index maxiter) {
  if (!(tol > 0 && tol < 1)) throw std::invalid_argument("tol must lie in (0, 1)");
  if (maxiter < 1) throw std::invalid_argument("maxiter must be at least 1");
}

}  // namespace specnorm_python
