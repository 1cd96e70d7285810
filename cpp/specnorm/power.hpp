// Power iteration on A^H A, in the two-sided form
//   v = A^H u / ||A^H u||,  u = A v / ||A v||,  sigma = u^H A v  (= ||A v||),
// started from the unit v0. A v and A^H u come from one pass over A where the operator allows;
// the residual ||A^H u - sigma v|| of each pair is then known before the next step, so the
// stopping rule costs nothing.
//
// Which singular value: after k steps v_k = (A^H A)^(k-1) v0 / (N_1 ... N_(k-1)) with
// N_l = ||A^H A v_l||, so its component along the top right singular vector is
// c_1 lambda_1^(k-1) / prod N_l, and the residual bounds that component by
// ||A^H A v - sigma^2 v|| / (lambda_1 - sigma^2). If sigma_1 >= s* = sigma (1 + tol), both give
//   |c_1| <= min(1, sigma^2 res / (s*^2 - sigma^2)) prod_l (N_l / s*^2)  (= eta),
// and a Gaussian start has so small a c_1 with probability start_miss(eta) only
// (docs/mathematics.md). The run stops when that is below miss_probability and res <= tol.
// That needs a residual far below tol. Once the residual meets tol, the steps go on while the
// residual's rate of decrease promises the evidence within power_patience more steps; otherwise
// (a slow rate, or single precision, where that residual is out of reach) a Lanczos run from the
// pair, mixed with a random vector (result.hpp), checks it and finishes with the budget left.
#pragma once

#include <limits>

#include "lanczos.hpp"
#include "result.hpp"

namespace specnorm {

/// Power iteration goes on proving sigma_1 itself while its residual promises the evidence
/// within this many more steps; past that a Lanczos check costs fewer products.
constexpr Index power_patience = 16;

/// Largest singular triplet of `op` by power iteration from `v0` (any nonzero vector of length
/// cols). Stops when ||A^H u - sigma v|| <= tol * sigma, or when another step would exceed
/// `maxiter` products. Never throws for lack of convergence: `converged` says.
template <typename Op, typename Scalar>
Estimate<Scalar> power_iteration(const Op& op, const Vector<Scalar>& v0,
                                 const Options<RealOf<Scalar>>& opt) {
  using Real = RealOf<Scalar>;
  Estimate<Scalar> est;
  est.bound_kind = BoundKind::power;
  est.excluded = opt.prior_excluded;
  GaussianSource<Scalar> rng(opt.seed);
  Options<Real> run = opt;  // start_weight becomes 1 after a fresh Gaussian start
  double log_norms = 0;     // sum over the steps so far of log N_l

  Vector<Scalar> v = v0 / safe_norm(v0);
  Vector<Scalar> z(op.rows()), w(op.cols());
  if (opt.maxiter < 2) {  // room for A v0 only: a lower bound without a residual
    certify(op, v, opt, est);
    est.bound_steps = 1;
    return est;
  }
  Index steps = 1;  // v = (A^H A)^(steps-1) v0, normalized
  int fresh = 0;    // fresh random starts after a start in the null space of A
  bool check = false;  // the residual met tol before the evidence did
  Real previous = std::numeric_limits<Real>::infinity();  // the residual of the step before
  while (est.iterations + 2 <= opt.maxiter && !stop_requested(opt)) {
    const Real scale = product_scale(est.sigma, opt);
    normal_product(op, v, z, w, scale);  // z = A v, w = A^H (scale z)
    est.iterations += 2;
    const Real sigma = safe_norm(z);
    if (!(sigma > 0)) {
      // A v = 0 for a nonzero A (checked by the caller) means a start in the null space.
      if (fresh == 3) break;
      ++fresh;
      est.bound_kind = BoundKind::none;
      v = rng.draw(op.cols());
      v /= safe_norm(v);
      run.start_weight = 1;
      run.start_dim = 0;
      log_norms = 0;
      steps = 1;
      continue;
    }
    est.sigma = sigma;
    if (sigma > est.lower) est.lower = sigma;
    est.u = z / sigma;
    est.v = v;
    est.bound_steps = steps;
    // A^H u = w / (scale sigma)
    const Vector<Scalar> adj_u = w / (scale * sigma);
    est.residual = safe_norm(Vector<Scalar>(adj_u - sigma * v)) / sigma;
    const Real adj_norm = safe_norm(adj_u);
    if (est.residual <= opt.tol) {
      const double t = static_cast<double>(opt.tol);
      const double star = static_cast<double>(sigma) * (1 + t);
      const double near = std::min(1.0, static_cast<double>(est.residual) / (t * (2 + t)));
      const double log_eta = std::log(near) + log_norms -
                             2.0 * static_cast<double>(steps - 1) * std::log(star);
      est.excluded = exclude(est.excluded, star, log_eta, run, op.cols(),
                             Eigen::NumTraits<Scalar>::IsComplex);
      if (judge(est, opt)) break;
      // eta falls with the residual: steps at the current rate until it is small enough
      const double miss = start_miss(log_eta, run.start_weight,
                                     run.start_dim > 0 ? run.start_dim : op.cols(),
                                     Eigen::NumTraits<Scalar>::IsComplex);
      const double rate = static_cast<double>(est.residual) / static_cast<double>(previous);
      const bool promising = rate < 1 && std::log(miss / miss_probability) <=
                                             static_cast<double>(power_patience) * -std::log(rate);
      if (!promising || est.iterations + 2 > opt.maxiter) {
        check = true;
        break;
      }
    }
    previous = est.residual;
    log_norms += std::log(static_cast<double>(sigma)) + std::log(static_cast<double>(adj_norm));
    v = adj_u / adj_norm;
    ++steps;
  }
  // Stopped before a first step (a deadline already past): the start's own pair.
  if (est.u.size() == 0 && fresh == 0) certify(op, v, opt, est);
  ensure_pair(op, v, est);  // every start fell in the null space: a unit pair, sigma = 0
  if (check) lanczos_finish(op, opt, opt.seed + 7, est);
  return est;
}

}  // namespace specnorm
