// Rayleigh quotients and Rayleigh-quotient iteration for the largest singular value.
//
// The quotient ||A x|| / ||x|| never exceeds sigma_1 (Courant–Fischer), so it is a certain lower
// bound. Rayleigh-quotient iteration refines a start (v, sigma): with the shift rho = sigma^2 it
// solves (A^H A - rho I) x = v approximately by MINRES (matrix-free, two products a step) and
// takes the better Ritz vector of span{v, x}. With exact solves the convergence is cubic; the
// Ritz step keeps the estimate from ever decreasing.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "lanczos.hpp"
#include "result.hpp"

namespace specnorm {

/// ||A x|| / ||x|| for nonzero x: a lower bound on sigma_1(A). One product.
template <typename Op, typename Scalar>
RealOf<Scalar> rayleigh_quotient(const Op& op, const Vector<Scalar>& x) {
  const RealOf<Scalar> xn = safe_norm(x);
  if (!(xn > 0)) throw std::invalid_argument("rayleigh_quotient: x must be nonzero");
  Vector<Scalar> y(op.rows());
  op.apply(Vector<Scalar>(x / xn), y);
  return safe_norm(y);
}

namespace detail {

/// Approximate solution of (A^H A / ref^2 - shift I) x = b by at most `steps` MINRES steps, each
/// one product with A and one with A^H (counted in est.iterations). Paige & Saunders (1975).
/// Scaling by ref (about sigma_1) keeps every quantity near 1 whatever the scale of A.
template <typename Op, typename Scalar>
Vector<Scalar> shifted_minres(const Op& op, RealOf<Scalar> ref, RealOf<Scalar> shift,
                              const Vector<Scalar>& b, Index steps, RealOf<Scalar> rtol,
                              const Options<RealOf<Scalar>>& opt, Estimate<Scalar>& est) {
  using Real = RealOf<Scalar>;
  const Index n = op.cols();
  Vector<Scalar> x = Vector<Scalar>::Zero(n);
  Vector<Scalar> v_prev = Vector<Scalar>::Zero(n);  // Lanczos vectors of the shifted operator
  Vector<Scalar> v = b;
  Vector<Scalar> w = Vector<Scalar>::Zero(n), w_prev = Vector<Scalar>::Zero(n);
  Vector<Scalar> av(op.rows()), y(n);
  Real beta = safe_norm(b);
  if (!(beta > 0)) return x;
  v /= beta;
  const Real beta1 = beta;
  // The QR factorization of the tridiagonal matrix by Givens rotations (c, s).
  Real c = -1, s = 0, dbar = 0, eps_next = 0, phibar = beta1;
  for (Index k = 0; k < steps && !stop_requested(opt); ++k) {
    normal_product(op, v, av, y, Real(1) / ref);  // y = A^H A v / ref
    est.iterations += 2;
    y /= ref;
    y -= shift * v;
    if (k > 0) y -= beta * v_prev;
    const Real alpha = std::real(v.dot(y));
    y -= alpha * v;
    beta = safe_norm(y);
    // Apply the previous rotation, then make the one that annihilates beta.
    const Real eps_k = eps_next;
    const Real delta = c * dbar + s * alpha;
    const Real gbar = s * dbar - c * alpha;
    eps_next = s * beta;
    dbar = -c * beta;
    const Real gamma = std::max(std::hypot(gbar, beta), std::numeric_limits<Real>::min());
    c = gbar / gamma;
    s = beta / gamma;
    const Real phi = c * phibar;
    phibar = s * phibar;
    // Direction update: w_k = (v_k - eps_k w_{k-2} - delta w_{k-1}) / gamma.
    Vector<Scalar> w_new = (v - eps_k * w_prev - delta * w) / gamma;
    w_prev = w;
    w = w_new;
    x += phi * w;
    if (!(beta > 0) || phibar <= rtol * beta1) break;
    v_prev = v;
    v = y / beta;
  }
  return x;
}

}  // namespace detail

/// Largest singular triplet by a Lanczos start to a loose tolerance (max(tol, min(1e-2,
/// sqrt(tol)))), which must also separate sigma_1 at tol (Options::miss_tol), refined by Rayleigh-quotient iteration until ||A^H u - sigma v|| <= tol * sigma or
/// the product budget is spent. Certified at exit like the other solvers.
template <typename Op, typename Scalar>
Estimate<Scalar> rayleigh_iteration(const Op& op, const Vector<Scalar>& v0,
                                    const Options<RealOf<Scalar>>& opt) {
  using Real = RealOf<Scalar>;
  Options<Real> start = opt;
  start.tol = std::max(opt.tol, std::min(Real(1e-2), std::sqrt(opt.tol)));
  start.miss_tol = opt.tol;  // the start separates sigma_1 at the tolerance asked for
  Estimate<Scalar> est = lanczos(op, v0, start);
  if (est.converged && judge(est, opt)) return est;
  if (!(est.sigma > 0)) return est;
  est.converged = false;

  const Index inner = std::min<Index>(rayleigh_inner_steps, std::max<Index>(2, op.cols()));
  Vector<Scalar> v = est.v;
  Vector<Scalar> ax(op.rows());
  // Everything below is scaled by sigma: zh = A v / sigma, so the 2 x 2 problem is near 1.
  Vector<Scalar> zh = est.u;
  Real sigma = est.sigma;
  while (est.iterations + 2 * inner + 1 + 2 <= opt.maxiter && !stop_requested(opt)) {
    // (A^H A / sigma^2 - I) x = v: the shift is the Rayleigh quotient itself.
    Vector<Scalar> x = detail::shifted_minres(op, sigma, Real(1), v, inner,
                                              Real(rayleigh_minres_rtol), opt, est);
    // Ritz step on span{v, x}: orthonormal basis {v, x'}.
    x -= v * v.dot(x);
    x -= v * v.dot(x);
    const Real xn = safe_norm(x);
    if (!(xn > 0)) break;
    x /= xn;
    op.apply(x, ax);
    ++est.iterations;
    ax /= sigma;
    // H / sigma^2 in the basis {v, x'}: [[||zh||^2, zh^H axh], [., ||axh||^2]].
    const Real zn = safe_norm(zh), an = safe_norm(ax);
    const Real h11 = zn * zn, h22 = an * an;
    const Scalar h12 = zh.dot(ax);
    const Real off = std::abs(h12);
    const Real mid = Real(0.5) * (h11 + h22);
    const Real rad = std::hypot(Real(0.5) * (h11 - h22), off);
    const Real lam = mid + rad;
    Scalar c1, c2;
    if (off > 0) {
      // (H - lam I) [c1; c2] = 0 -> c1 = h12, c2 = lam - h11.
      c1 = h12;
      c2 = Scalar(lam - h11);
    } else if (h22 > h11) {
      c1 = Scalar(0);
      c2 = Scalar(1);
    } else {
      break;  // x' adds nothing
    }
    if (!(lam > h11)) break;  // no progress is possible at this precision
    const Real cn = std::hypot(std::abs(c1), std::abs(c2));
    v = (c1 / cn) * v + (c2 / cn) * x;
    // The stopping rule from fresh products: the certification is exact.
    certify(op, v, opt, est);
    if (est.converged) return est;
    v = est.v;
    zh = est.u;
    sigma = est.sigma;
  }
  // Inexact solves can stall near the working precision: Lanczos from the refined vector
  // finishes the job with whatever budget is left.
  if (!est.converged) lanczos_finish(op, opt, opt.seed + 1, est);
  return est;
}

}  // namespace specnorm
