// Power iteration on A^H A, in the two-sided form
//   v = A^H u / ||A^H u||,  u = A v / ||A v||,  sigma = u^H A v  (= ||A v||),
// started from the unit v0. A v and A^H u come from one pass over A where the operator allows;
// the residual ||A^H u - sigma v|| of each pair is then known before the next step, so the
// stopping rule costs nothing.
#pragma once

#include <limits>

#include "result.hpp"

namespace specnorm {

/// Largest singular triplet of `op` by power iteration from `v0` (any nonzero vector of length
/// cols). Stops when ||A^H u - sigma v|| <= tol * sigma, or when another step would exceed
/// `maxiter` products. Never throws for lack of convergence: `converged` says.
template <typename Op, typename Scalar>
Estimate<Scalar> power_iteration(const Op& op, const Vector<Scalar>& v0,
                                 const Options<RealOf<Scalar>>& opt) {
  using Real = RealOf<Scalar>;
  Estimate<Scalar> est;
  est.bound_kind = BoundKind::power;
  GaussianSource<Scalar> rng(opt.seed);

  Vector<Scalar> v = v0 / safe_norm(v0);
  Vector<Scalar> z(op.rows()), w(op.cols());
  if (opt.maxiter < 2) {  // room for A v0 only: a lower bound without a residual
    certify(op, v, opt, est);
    est.bound_steps = 1;
    return est;
  }
  Index steps = 1;  // v = (A^H A)^(steps-1) v0, normalized
  int fresh = 0;    // fresh random starts after a start in the null space of A
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
    if (est.residual <= opt.tol) {
      est.converged = true;
      break;
    }
    v = adj_u / safe_norm(adj_u);
    ++steps;
  }
  // Stopped before a first step (a deadline already past): the start's own pair.
  if (est.u.size() == 0 && fresh == 0) certify(op, v, opt, est);
  ensure_pair(op, v, est);  // every start fell in the null space: a unit pair, sigma = 0
  return est;
}

}  // namespace specnorm
