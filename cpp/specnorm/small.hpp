// Small matrices (min(m, n) <= 64): power iteration on the formed Gram matrix.
//
// For a small matrix the cost of a Krylov method is its per-step overhead, not its products. Here
// the k x k Gram matrix G = A^H A (or A A^H when m < n; k = min(m, n)) is formed once from A
// scaled by a certain bound on sigma_1 (so that G's entries lie in [-1, 1]), then squared
// `squarings` times with a renormalization, H = G^(2^s) / c: one product with H is 2^s steps of
// power iteration on A^H A at the cost of k^2 multiply-adds. Steps stop when the residual
// ||G x - (x^H G x) x|| / (x^H G x) of the unit iterate is below tol^2 (or the rounding floor);
// the start is the random v0 plus the largest column of H. A top pair so close that this takes
// more than 4k steps (about the cost of a dense k x k eigensolver) is settled instead by the
// top eigenvector of G from that eigensolver, which separates sigma_1 from sigma_2 whatever the
// gap. The pair is then certified from fresh products with A (result.hpp), and a general Lanczos
// run finishes the job if rounding kept the certified residual above tol.
//
// `iterations` counts products with A and A^H as if H were applied matrix-free: 2^(s+1) per step,
// plus the certification. Forming G (k products' worth of multiply-adds), squaring it and the
// eigensolver are not counted.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>

#include "lanczos.hpp"
#include "result.hpp"

namespace specnorm {

/// The kernel is meant for matrices with min(m, n) at most this (the Python layer's
/// SVD_CUTOFF: method="auto" runs it there); above, a Krylov method's products cost more than
/// its per-step overhead.
constexpr Index gram_cutoff = 64;

/// The Gram power iteration above for the dense operator `op` from `v0` (length cols), with
/// `squarings` squarings of G (0 gives plain power iteration on the Gram matrix).
template <typename Scalar>
Estimate<Scalar> gram_power(const DenseOperator<Scalar>& op, const Vector<Scalar>& v0,
                            const Options<RealOf<Scalar>>& opt, int squarings = 3) {
  using Real = RealOf<Scalar>;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  const Index m = op.rows(), n = op.cols();
  const bool right = n <= m;  // iterate on the right vectors (G = A^H A) or the left (A A^H)
  const Index k = right ? n : m;
  const Real hint = opt.norm_hint > 0 ? opt.norm_hint : Real(1);
  // The stored block S is A or A^T: A^H A = S^H S or conj(S S^H), A A^H = S S^H or conj(S^H S).
  // G is scaled by 1 / hint^2 so that its entries lie in [-1, 1].
  const auto& S = op.stored();
  const bool a_is_stored = !op.transposed();
  const bool inner = right == a_is_stored;  // G from S^H S, else from S S^H
  Matrix G(k, k);
  const auto form = [&](const auto& X) {
    if (inner) {
      G.noalias() = X.adjoint() * X;
    } else {
      G.noalias() = X * X.adjoint();
    }
  };
  const Real inv = Real(1) / hint;
  const Real lo = std::sqrt(std::numeric_limits<Real>::min()) * Real(1e6);
  const Real hi = std::sqrt(std::numeric_limits<Real>::max()) * Real(1e-6);
  if (hint > lo && hint < hi) {
    form(S);  // |a_ij| <= sigma_1 <= hint: every |G_ij| <= hint^2 is representable
    G *= inv * inv;
  } else {
    form(Matrix(S * inv));  // extreme scales: one scaled copy of A keeps G finite and normal
  }
  if (!a_is_stored) G = G.conjugate();
  // H = G^(2^done) / c with log c tracked, so that ||G^(2^done)||_F = ||H||_F c is known: it
  // bounds lambda_1(G)^(2^done) from above, a certain bound on sigma_1 that is tight to a factor
  // of k^(1 / 2^(done + 1)) (about 1.11 for k = 32 after three squarings).
  const Real trace0 = std::real(G.trace());
  Matrix H = G;
  double log_c = 0;
  int done = 0;
  for (int s = 0; s < squarings; ++s) {
    const Real trace = std::real(H.trace());
    if (!(trace > 0)) break;
    H /= trace;
    H = (H * H).eval();
    log_c = 2 * log_c + 2 * std::log(static_cast<double>(trace));
    ++done;
  }
  const double h_norm = static_cast<double>(H.norm());
  double gram_upper = std::numeric_limits<double>::infinity();
  if (h_norm > 0 && std::isfinite(h_norm)) {
    const double eps = static_cast<double>(std::numeric_limits<Real>::epsilon());
    // lambda_1 of the computed G, allowing k eps of relative rounding per squaring ...
    const double computed = std::exp((std::log(h_norm) + log_c) / std::ldexp(1.0, done)) *
                            (1.0 + 4.0 * static_cast<double>(k + 2) * eps * (done + 1));
    // ... plus the rounding of G itself: each entry sums max(m, n) products, so
    // ||G - G_exact||_2 <= gamma_L trace(G) with gamma_L about L eps.
    const double length = static_cast<double>(std::max(m, n));
    const double formed = 1.01 * length * eps * static_cast<double>(trace0);
    gram_upper = static_cast<double>(hint) * std::sqrt(computed + formed);
  }
  const Index per_step = Index(2) << squarings;

  Estimate<Scalar> est;
  est.bound_kind = BoundKind::none;  // the Gram start is derived: the bracket is the certain one
  Vector<Scalar> x(k);
  if (right) {
    x = v0;
  } else {
    Vector<Scalar> y(m);
    op.apply(v0, y);
    x = y;
  }
  Real xn = safe_norm(x);
  if (xn > 0) x /= xn;
  // Add the largest column of H, which leans towards the top eigenvector of G whatever the
  // random start: the two would both have to miss it for the iteration to settle lower. It is
  // added with the phase of its overlap with x, so that the two reinforce each other: added
  // as it is, a column opposite to x cancelled x's top component (for A = [[0, 0, 1e-8],
  // [1e-8, -16, 0]] four starts in ten then settled on sigma = 1e-8).
  Index j_max = 0;
  H.colwise().norm().maxCoeff(&j_max);
  const Vector<Scalar> column = H.col(j_max);
  const Real cn = safe_norm(column);
  if (cn > 0) {
    const Scalar overlap = column.dot(x);  // column^H x
    const Real size = std::abs(overlap);
    x += (size > 0 ? overlap / size : Scalar(1)) * (column / cn);
  }
  xn = safe_norm(x);
  if (!(xn > 0)) {
    x = column;
    xn = cn;
  }
  if (!(xn > 0)) {
    x = Vector<Scalar>::Ones(k);
    xn = safe_norm(x);
  }
  x /= xn;
  Vector<Scalar> y(k), gx(k);
  // The Gram steps aim at tol^2 (down to rounding): a unit x = c1 v1 + c2 v2 with a small c1
  // has a residual of about |c1| (lambda1 - lambda2), which a looser target could accept with
  // the estimate near sigma_2 when the top gap is small.
  const Real floor = Real(16) * std::numeric_limits<Real>::epsilon() * std::sqrt(Real(k));
  const Real inner_tol = std::max(opt.tol * opt.tol, floor);
  Index spent = 0;
  // Half the budget at most: the rest is kept for the certification and a Lanczos finish.
  const Index budget = std::max<Index>(0, opt.maxiter / 2 - 2);
  const Index max_steps = 4 * k;
  bool settled = false;
  // G and H are scaled to entries of at most about 1 and x is a unit vector, so the plain
  // norms below can neither overflow nor lose the answer to underflow.
  for (Index step = 0; step < max_steps && spent + per_step <= budget; ++step) {
    y.noalias() = H * x;
    spent += per_step;
    const Real yn = y.norm();
    if (!(yn > 0)) break;
    x = y / yn;
    gx.noalias() = G * x;
    const Real lambda = std::real(x.dot(gx));
    if (!(lambda > 0)) break;
    gx -= lambda * x;
    if (gx.norm() <= inner_tol * lambda) {
      settled = true;
      break;
    }
  }
  if (!settled) {
    // A close top pair: the eigensolver's top eigenvector of G (accurate to about eps / gap).
    const Eigen::SelfAdjointEigenSolver<Matrix> eig(G);
    if (eig.info() == Eigen::Success) x = eig.eigenvectors().col(k - 1);
  }
  est.iterations = spent;
  Vector<Scalar> v(n);
  if (right) {
    v = x;
  } else {
    op.apply_adjoint(x, v);
  }
  if (!(safe_norm(v) > 0)) v = v0;
  // Which singular value: sigma_1 <= s* = sigma (1 + tol) exactly when s*^2 / hint^2 I - G is
  // positive definite (a Cholesky factorization succeeds), a certain test up to the rounding
  // of G; where it fails the eigensolver's top eigenvector of G gives the pair instead.
  const auto separated = [&](Real sigma) {
    const double star = static_cast<double>(sigma) * (1 + static_cast<double>(opt.tol)) /
                        static_cast<double>(hint);
    Matrix M = -G;
    M.diagonal().array() += Scalar(static_cast<Real>(star * star));
    return Eigen::LLT<Matrix>(M).info() == Eigen::Success;
  };
  const auto decide = [&]() {
    est.excluded = separated(est.sigma) ? static_cast<double>(est.sigma) *
                                              (1 + static_cast<double>(opt.tol))
                                        : std::numeric_limits<double>::infinity();
    judge(est, opt);
  };
  certify(op, v, opt, est);
  decide();
  if (!est.converged && est.residual <= opt.tol && est.iterations + 2 <= opt.maxiter) {
    const Eigen::SelfAdjointEigenSolver<Matrix> eig(G);
    if (eig.info() == Eigen::Success) {
      x = eig.eigenvectors().col(k - 1);
      if (right) {
        v = x;
      } else {
        op.apply_adjoint(x, v);
      }
      if (safe_norm(v) > 0) {
        certify(op, v, opt, est);
        decide();
      }
    }
  }
  if (!est.converged && est.iterations + 4 <= opt.maxiter && est.v.size() == n) {
    Options<Real> rest = opt;
    rest.maxiter = opt.maxiter - est.iterations;
    rest.start_weight = 0;  // a derived start: the test on G decides below
    rest.prior_excluded = 0;
    Estimate<Scalar> tail = lanczos(op, Vector<Scalar>(est.v), rest);
    tail.iterations += est.iterations;
    tail.lower = std::max(tail.lower, est.lower);
    tail.bound_kind = BoundKind::none;
    tail.bound_steps = 0;
    est = tail;
    if (est.residual <= opt.tol) decide();
  }
  est.upper = gram_upper;
  return est;
}

}  // namespace specnorm
