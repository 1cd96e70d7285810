// Many matrices at once: each matrix of a batch is one task, the tasks run on all cores.
//
// A batch is a set of dense matrices of one shape (a stack (B, m, n) viewed in place). Each task
// computes the one-pass bounds of its matrix and, for a finite nonzero matrix, runs the chosen
// method from its own start vector and seed, single-threaded: small matrices stay in one core's
// cache, and the threads never wait for each other. Tasks are handed out dynamically, so one
// slow matrix does not hold back the others, and each matrix stops on its own stopping rule.
#pragma once

#include <cstdint>
#include <exception>
#include <mutex>
#include <vector>

#include "bounds.hpp"
#include "dense.hpp"
#include "lanczos.hpp"
#include "power.hpp"
#include "rayleigh.hpp"
#include "result.hpp"
#include "small.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace specnorm {

enum class Method { power = 0, lanczos = 1, rayleigh = 2, gram = 3 };

/// The answer for one matrix of a batch: its bounds and, where it is finite and nonzero, the
/// estimate (left default-constructed otherwise).
template <typename Scalar>
struct BatchEntry {
  DenseBounds bounds;
  Estimate<Scalar> estimate;
  bool computed = false;
};

/// Runs `method` on the `count` operators `make_op(b)`, b = 0..count-1, on `threads` threads
/// (0: OpenMP's default). `start(b)` is matrix b's start vector; `seeds[b]` its seed. The
/// options' norm_hint is replaced per matrix by its certain bound. Returns one entry per matrix.
template <typename Scalar, typename MakeOp, typename Start>
std::vector<BatchEntry<Scalar>> estimate_batch(Index count, MakeOp make_op, Start start,
                                               const std::uint64_t* seeds, Method method,
                                               const Options<RealOf<Scalar>>& base, int threads) {
  std::vector<BatchEntry<Scalar>> out(static_cast<std::size_t>(count));
  std::exception_ptr failure;
  std::mutex failure_lock;
#ifdef _OPENMP
  // threads > 0 caps every parallel region of the call, the products of a lone matrix included;
  // the caller's setting is restored on the way out.
  struct ThreadCap {
    int saved = omp_get_max_threads();
    explicit ThreadCap(int t) { if (t > 0) omp_set_num_threads(t); }
    ~ThreadCap() { omp_set_num_threads(saved); }
  } cap(threads);
  const int nt = omp_get_max_threads();
#else
  const int nt = 1;
  (void)threads;
#endif
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1 && count > 1)
  for (Index b = 0; b < count; ++b) {
    try {
      const auto op = make_op(b);
      BatchEntry<Scalar>& entry = out[static_cast<std::size_t>(b)];
      entry.bounds = dense_bounds(op);
      if (!entry.bounds.finite || !(entry.bounds.upper() > 0)) continue;
      Options<RealOf<Scalar>> opt = base;
      opt.seed = seeds[b];
      opt.norm_hint = static_cast<RealOf<Scalar>>(entry.bounds.upper());
      const Vector<Scalar> v0 = start(b);
      // The iterative methods run on A^T where A is stored column by column (dense.hpp).
      const auto run = [&](auto solver) {
        return solve_dense(op, v0, opt, [&solver](const auto& o, const auto& s, const auto& p) {
          return solver(o, s, p);
        });
      };
      switch (method) {
        case Method::power:
          entry.estimate = run([](const auto& o, const auto& s, const auto& p) {
            return power_iteration(o, s, p);
          });
          break;
        case Method::lanczos:
          entry.estimate = run([](const auto& o, const auto& s, const auto& p) {
            return lanczos(o, s, p);
          });
          break;
        case Method::rayleigh:
          entry.estimate = run([](const auto& o, const auto& s, const auto& p) {
            return rayleigh_iteration(o, s, p);
          });
          break;
        case Method::gram: entry.estimate = gram_power(op, v0, opt); break;
      }
      entry.computed = true;
    } catch (...) {
      const std::lock_guard<std::mutex> hold(failure_lock);
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  return out;
}

}  // namespace specnorm
