// What every solver returns, and the options every solver takes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>

#include "operator.hpp"

namespace specnorm {

/// Which probabilistic bound (Kuczyński & Woźniakowski, 1992) the run supports.
/// `power`: the estimate is at least the Rayleigh quotient of (A^H A)^(k-1) v0;
/// `lanczos`: it is at least the largest Ritz value of the Krylov space K_k(A^H A, v0).
/// In both cases k is `Estimate::bound_steps` and v0 the start vector.
enum class BoundKind { none = 0, power = 1, lanczos = 2 };

// Constants of the solvers that the Python engine (specnorm/_rules.py) writes too; the module
// specnorm._core exposes each, and tests/test_rules.py checks that the two languages agree.

/// The default (and the Python layer's largest) Lanczos basis: Options::basis_size.
constexpr Index default_basis_size = 64;
/// Lanczos: a new alpha or beta below this times eps times the norm before orthogonalization
/// is a breakdown (an invariant subspace), taken as zero.
constexpr double lanczos_tiny_factor = 16;
/// Reorthogonalization repeats a Gram-Schmidt pass while the pass left less than this fraction
/// of the norm, 1 / sqrt(2) (the criterion of Daniel, Gragg, Kaufman and Stewart).
constexpr double dgks_ratio = 0.7071067811865476;
/// A thick restart of a full basis of kmax vectors keeps kmax / restart_divisor Ritz vectors.
constexpr Index restart_divisor = 2;
/// Rayleigh-quotient iteration: at most this many MINRES steps per shifted solve ...
constexpr Index rayleigh_inner_steps = 24;
/// ... each stopped at this relative residual.
constexpr double rayleigh_minres_rtol = 1e-3;
/// A converged answer is below sigma_1 by more than tol sigma_1 with at most this probability
/// over the random start, whatever the matrix (docs/mathematics.md, "Which singular value").
constexpr double miss_probability = 1e-6;
/// A start that is not random (the caller's v0, a refined vector) is mixed with a Gaussian
/// vector of this relative weight, x = v / ||v|| + start_mix g / ||g||, and the certificate then
/// counts with the start weight (1 + start_mix) / start_mix.
constexpr double start_mix = 1e-3;

template <typename Scalar>
struct Estimate {
  using Real = RealOf<Scalar>;
  Real sigma = 0;     ///< the estimate: ||A v|| for the returned unit v
  Real lower = 0;     ///< largest ||A x|| / ||x|| seen: a lower bound on sigma_1
  Real residual = std::numeric_limits<Real>::infinity();  ///< ||A^H u - sigma v|| / sigma
  Vector<Scalar> u;   ///< unit left vector, A v = sigma u
  Vector<Scalar> v;   ///< unit right vector
  Index iterations = 0;  ///< products with A and with A^H, each counted once
  bool converged = false;
  BoundKind bound_kind = BoundKind::none;
  Index bound_steps = 0;
  double upper = std::numeric_limits<double>::infinity();  ///< a certain bound a solver found
  /// sigma_1 <= excluded except with probability miss_probability over the random start: the
  /// run's evidence that no singular value above it was missed (infinite: none yet).
  double excluded = std::numeric_limits<double>::infinity();
};

template <typename Real>
struct Options {
  Real tol = Real(1e-6);    ///< stop when ||A^H u - sigma v|| <= tol * sigma
  Index maxiter = 10000;    ///< at most this many products with A and A^H
  Index basis_size = default_basis_size;  ///< Lanczos: largest basis before a thick restart
  std::uint64_t seed = 0;   ///< for the rare fresh random vectors a solver needs
  Real norm_hint = 1;       ///< a rough size of sigma_1 (> 0), to scale the first products
  /// How the start vector was drawn: 1 for a Gaussian vector, (1 + start_mix) / start_mix for
  /// a given vector mixed with one (mixed_start), 0 for a start that is not random at all (the
  /// run then gathers no evidence and keeps `excluded` from an earlier run, `prior_excluded`).
  double start_weight = 1;
  /// The length of the Gaussian vector behind the start (0: op.cols()); a run on A^T from
  /// A v0 counts with v0's length.
  Index start_dim = 0;
  /// The tolerance of the certificate that sigma_1 was not missed (0: tol): Rayleigh-quotient
  /// iteration's Lanczos start stops at a looser residual but separates sigma_1 at tol.
  Real miss_tol = 0;
  /// An `excluded` bound found by an earlier run on the same matrix (see Estimate::excluded).
  double prior_excluded = std::numeric_limits<double>::infinity();
  /// Asked once per step (and once per inner step): true when the caller wants the solver to
  /// stop now (an interrupt, a deadline). It may be called from any thread of a batch.
  std::function<bool()> stop;
};

/// Whether the caller has asked the solver to stop. A stopped solver leaves with its best
/// pair so far (certified where the budget allows) and converged = false, as at maxiter.
template <typename Real>
bool stop_requested(const Options<Real>& opt) {
  return opt.stop && opt.stop();
}

/// The scale for A^H (s A x): 1 / max(best estimate so far, hint).
template <typename Real>
Real product_scale(Real sigma, const Options<Real>& opt) {
  // Never above 1 / norm_hint: where the hint is a certain bound (dense and sparse input),
  // s A x stays below 1 even while the estimate is far below sigma_1, so A^H (s A x) cannot
  // overflow whatever the scale of A.
  const Real size = std::max(sigma, opt.norm_hint);
  return Real(1) / (size > 0 ? size : Real(1));
}

/// ||x|| without overflow or harmful underflow, whatever the scale of x.
template <typename Scalar>
RealOf<Scalar> safe_norm(const Vector<Scalar>& x) {
  return x.stableNorm();
}

/// A seeded source of Gaussian vectors (complex entries get Gaussian real and imaginary parts).
template <typename Scalar>
class GaussianSource {
 public:
  explicit GaussianSource(std::uint64_t seed) : engine_(seed) {}

  Vector<Scalar> draw(Index size) {
    Vector<Scalar> x(size);
    for (Index i = 0; i < size; ++i) x[i] = next();
    return x;
  }

 private:
  using Real = RealOf<Scalar>;
  Scalar next() {
    if constexpr (Eigen::NumTraits<Scalar>::IsComplex) {
      const Real re = static_cast<Real>(normal_(engine_));
      const Real im = static_cast<Real>(normal_(engine_));
      return Scalar(re, im);
    } else {
      return static_cast<Scalar>(normal_(engine_));
    }
  }
  std::mt19937_64 engine_;
  std::normal_distribution<double> normal_;
};

/// P(|c_1| <= eta) for the component c_1 of the unit start along the top right singular vector
/// (the whole top singular subspace where sigma_1 is repeated), by the density of one coordinate
/// of a uniform point on the sphere: at most weight eta sqrt(2 (d - 1) / pi) for real vectors
/// and (d - 1) (weight eta)^2 for complex ones, d = the start's length. `log_eta` is log(eta).
inline double start_miss(double log_eta, double weight, Index dim, bool complex) {
  if (!(weight > 0)) return 1;
  const double d = static_cast<double>(std::max<Index>(dim - 1, 1));
  const double log_w = log_eta + std::log(weight);
  const double log_p = complex ? std::log(d) + 2 * log_w
                               : log_w + 0.5 * std::log(2 * d / 3.141592653589793);
  return log_p < 0 ? std::exp(log_p) : 1.0;
}

/// The bound a certificate excludes: sigma_star when `log_eta` (at sigma_star) makes a miss
/// less likely than miss_probability, else infinity; the smaller of it and `before`.
template <typename Real>
double exclude(double before, double sigma_star, double log_eta, const Options<Real>& opt,
               Index cols, bool complex) {
  const Index dim = opt.start_dim > 0 ? opt.start_dim : cols;
  if (start_miss(log_eta, opt.start_weight, dim, complex) <= miss_probability)
    return std::min(before, sigma_star);
  return before;
}

/// The relative rounding of one product with an m x n matrix, 8 eps sqrt(max(m, n)) (the floor
/// of docs/mathematics.md 7.3): the slack between a Ritz value and its certified sigma.
template <typename Real>
double rounding_of(Index m, Index n) {
  return 8 * static_cast<double>(std::numeric_limits<Real>::epsilon()) *
         std::sqrt(static_cast<double>(std::max<Index>({m, n, 1})));
}

/// Whether est's pair meets the stopping rule: the certified residual is at most tol and
/// sigma (1 + tol) reaches the excluded bound, so that sigma_1 - sigma <= tol sigma_1 except
/// with probability miss_probability. Sets est.converged.
template <typename Scalar>
bool judge(Estimate<Scalar>& est, const Options<RealOf<Scalar>>& opt) {
  using Real = RealOf<Scalar>;
  const double slack = 1 + rounding_of<Real>(est.u.size(), est.v.size());
  est.converged = est.residual <= opt.tol &&
                  static_cast<double>(est.sigma) * (1 + static_cast<double>(opt.tol)) * slack >=
                      est.excluded;
  return est.converged;
}

/// x = v / ||v|| + start_mix g / ||g|| for a Gaussian g drawn from `seed`, normalized: a start
/// that keeps v's direction and carries a certificate (Options::start_weight).
template <typename Scalar>
Vector<Scalar> mixed_start(const Vector<Scalar>& v, std::uint64_t seed) {
  GaussianSource<Scalar> rng(seed ^ 0x9e3779b97f4a7c15ULL);
  Vector<Scalar> g = rng.draw(v.size());
  const RealOf<Scalar> gn = safe_norm(g), vn = safe_norm(v);
  Vector<Scalar> x = v / vn + RealOf<Scalar>(start_mix) * (g / gn);
  return x / safe_norm(x);
}

inline constexpr double mixed_weight = (1 + start_mix) / start_mix;

/// Gives est a unit pair of the right lengths if a solver could not compute one (every start
/// in the null space of A, or no budget for a product): u = e_1 and v = v / ||v|| (or e_1).
/// Every solver leaves through `certify` or calls this, so a returned pair is never empty.
template <typename Op, typename Scalar>
void ensure_pair(const Op& op, const Vector<Scalar>& v, Estimate<Scalar>& est) {
  if (est.u.size() == op.rows() && est.v.size() == op.cols()) return;
  est.u = Vector<Scalar>::Zero(op.rows());
  if (op.rows() > 0) est.u[0] = Scalar(1);
  const RealOf<Scalar> vn = v.size() == op.cols() ? safe_norm(v) : RealOf<Scalar>(0);
  if (vn > 0) {
    est.v = v / vn;
  } else {
    est.v = Vector<Scalar>::Zero(op.cols());
    if (op.cols() > 0) est.v[0] = Scalar(1);
  }
}

/// Recomputes the pair for unit v from fresh products and stores it in est: sigma = ||A v||,
/// u = A v / sigma, residual = ||A^H u - sigma v|| / sigma. Two products (A v and A^H A v, one
/// pass where the operator allows), or only A v if the budget allows one (then the residual stays
/// infinite). Leaves est unchanged if A v = 0.
template <typename Op, typename Scalar>
void certify(const Op& op, const Vector<Scalar>& v_in, const Options<RealOf<Scalar>>& opt,
             Estimate<Scalar>& est) {
  using Real = RealOf<Scalar>;
  if (est.iterations >= opt.maxiter) return ensure_pair(op, v_in, est);
  const Vector<Scalar> v = v_in / safe_norm(v_in);
  const bool both = est.iterations + 2 <= opt.maxiter;
  const Real scale = product_scale(est.sigma, opt);
  Vector<Scalar> z(op.rows()), w(op.cols());
  if (both) {
    normal_product(op, v, z, w, scale);  // z = A v, w = A^H (scale z)
    est.iterations += 2;
  } else {
    op.apply(v, z);
    est.iterations += 1;
  }
  const Real s = safe_norm(z);
  if (!(s > 0)) return ensure_pair(op, v, est);
  // ||A v|| / ||v|| with the norm of the v actually stored: in single precision it may round to
  // 1 + eps, and ||A v|| alone is then no Rayleigh quotient of A
  const Real sigma = s / safe_norm(v);
  if (sigma > est.lower) est.lower = sigma;
  est.sigma = sigma;
  est.u = z / s;
  est.v = v;
  est.residual = std::numeric_limits<Real>::infinity();
  est.converged = false;
  if (both) {
    // A^H u = A^H z / s = w / (scale s)
    est.residual = safe_norm(Vector<Scalar>(w / (scale * s) - s * v)) / s;
    judge(est, opt);
  }
}

}  // namespace specnorm
