// Golub–Kahan–Lanczos bidiagonalization with full reorthogonalization and thick restarts.
//
// After j steps from the unit start p_1 the bases satisfy
//   A P_j = Q_j B_j,        A^H Q_j = P_j B_j^H + beta_j p_{j+1} e_j^T,
// with orthonormal P_j (n x j), Q_j (m x j) and B_j upper triangular (bidiagonal until the first
// restart). If B_j = U~ S V~^H, the Ritz triplet (s_1, Q_j u~_1, P_j v~_1) satisfies A v = s_1 u
// and ||A^H u - s_1 v|| = |beta_j| |e_j^T u~_1|: the stopping rule needs no extra product.
// When the basis is full, the leading half of the Ritz vectors is kept together with p_{j+1}
// (a thick restart); the top Ritz vector stays in the space, so the estimate never decreases.
//
// An operator that forms A p_j and A^H A p_j in one pass over A (`apply_normal`, dense
// matrices) gets both products of a step from that pass: with q_j = (A p_j - Q h) / alpha_j,
// the identity A^H q_j = (A^H A p_j - sum_i h_i A^H q_i) / alpha_j gives the second product
// from the vectors A^H q_i kept from earlier steps. Other operators (sparse, matrix-free) apply
// A^H to q_j itself, which needs no such vectors and saves their update.
//
// Which singular value: p_{j+1} = phi(A^H A) p_1 for a polynomial phi whose roots are the
// squared Ritz values (those of the current basis and those dropped at restarts) and whose
// scale is the product of the couplings alpha_l beta_l. Its component along the top right
// singular vector is c_1 phi(sigma_1^2), at most 1 in size, and |phi| grows beyond the largest
// root; so if sigma_1 >= s* = s_1 (1 + tol), then |c_1| <= 1 / |phi(s*^2)| (= eta). A Gaussian
// start has so small a c_1 with probability start_miss(eta) only (docs/mathematics.md): the run
// stops when that is below miss_probability and the Ritz residual is at most tol s_1.
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "result.hpp"
#include "ritz.hpp"

namespace specnorm {

namespace detail {

template <typename Scalar>
using DenseMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;

/// x -= X(:, 0:count) * c, split over pieces of rows (pieces_for) for long x.
template <typename Scalar>
void subtract_combination(const DenseMatrix<Scalar>& X, Index count, const Vector<Scalar>& c,
                          Vector<Scalar>& x) {
  if (count == 0) return;
  const Index rows = x.size();
  const int pieces = pieces_for(rows * count, rows, 256);
  const int nt = threads_for(pieces);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int p = 0; p < pieces; ++p) {
    const auto [r0, r1] = piece_range(rows, p, pieces);
    x.segment(r0, r1 - r0).noalias() -= X.block(r0, 0, r1 - r0, count) * c;
  }
}

/// One classical Gram–Schmidt pass: g = X(:, 0:count)^H x, x -= X(:, 0:count) g; returns g.
/// If ||g|| <= negligible, x is left as it is and zero returned (x is orthogonal to X to that
/// level already; the second half of the pass, the costlier, is saved).
/// Long vectors are cut into pieces of rows (pieces_for), with the partial g of the pieces
/// summed in piece order between the two halves of the pass.
template <typename Scalar>
Vector<Scalar> gram_schmidt_pass(const DenseMatrix<Scalar>& X, Index count, Vector<Scalar>& x,
                                 RealOf<Scalar> negligible = 0) {
  const Index rows = x.size();
  const int pieces = pieces_for(rows * count, rows, 256);
  if (pieces == 1) {
    Vector<Scalar> g = X.leftCols(count).adjoint() * x;
    if (g.norm() <= negligible) return Vector<Scalar>::Zero(count);
    x.noalias() -= X.leftCols(count) * g;
    return g;
  }
  const int nt = threads_for(pieces);
  std::vector<Vector<Scalar>> partial(static_cast<std::size_t>(pieces));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int p = 0; p < pieces; ++p) {
    const auto [r0, r1] = piece_range(rows, p, pieces);
    partial[static_cast<std::size_t>(p)] =
        X.block(r0, 0, r1 - r0, count).adjoint() * x.segment(r0, r1 - r0);
  }
  Vector<Scalar> g = partial[0];
  for (int p = 1; p < pieces; ++p) g += partial[static_cast<std::size_t>(p)];
  if (g.norm() <= negligible) return Vector<Scalar>::Zero(count);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int p = 0; p < pieces; ++p) {
    const auto [r0, r1] = piece_range(rows, p, pieces);
    x.segment(r0, r1 - r0).noalias() -= X.block(r0, 0, r1 - r0, count) * g;
  }
  return g;
}

/// Removes from x its components along the first `count` columns of X (orthonormal) and returns
/// the coefficients removed. The last column goes first (the Lanczos recurrence puts most of x
/// there), then one Gram–Schmidt pass over all columns, repeated while a pass removed more than
/// half of what was left (||x|| fell below ||x_before|| / sqrt(2), the criterion of Daniel,
/// Gragg, Kaufman and Stewart), at most twice. With `relaxed`, a pass whose coefficients are
/// below eps^(3/4) ||x|| removes nothing (x is then orthogonal to X well within the
/// semi-orthogonality, sqrt(eps), that keeps Lanczos's Ritz values accurate).
template <typename Scalar>
Vector<Scalar> orthogonalize(const DenseMatrix<Scalar>& X, Index count, Vector<Scalar>& x,
                             bool relaxed = false) {
  using Real = RealOf<Scalar>;
  Vector<Scalar> h = Vector<Scalar>::Zero(count);
  if (count == 0) return h;
  const Scalar local = X.col(count - 1).dot(x);  // conj(X_last) . x
  x.noalias() -= local * X.col(count - 1);
  h[count - 1] = local;
  Real before = safe_norm(x);
  const Real level =
      relaxed ? std::pow(std::numeric_limits<Real>::epsilon(), Real(0.75)) : Real(0);
  for (int pass = 0; pass < 2; ++pass) {
    h += gram_schmidt_pass(X, count, x, level * before);
    const Real after = safe_norm(x);
    if (!(after < Real(dgks_ratio) * before)) break;
    before = after;
  }
  return h;
}

/// Removes from x its component along column count - 1 of X (unit norm), a Lanczos recurrence's
/// local step; returns the coefficients (zero but the last).
template <typename Scalar>
Vector<Scalar> orthogonalize_last(const DenseMatrix<Scalar>& X, Index count, Vector<Scalar>& x) {
  Vector<Scalar> h = Vector<Scalar>::Zero(count);
  if (count == 0) return h;
  h[count - 1] = X.col(count - 1).dot(x);
  x.noalias() -= h[count - 1] * X.col(count - 1);
  return h;
}

/// log det(star^2 I - B^H B) for B = b_scale Bs (j x j), computed in double precision; -infinity
/// where star^2 does not exceed every eigenvalue of B^H B (no certificate at star).
template <typename Scalar>
double log_det_above(const DenseMatrix<Scalar>& Bs, RealOf<Scalar> b_scale, double star) {
  using Wide = WideOf<Scalar>;
  using WideMatrix = Eigen::Matrix<Wide, Eigen::Dynamic, Eigen::Dynamic>;
  const Index j = Bs.rows();
  const double scale = static_cast<double>(b_scale);
  const double x = (star / scale) * (star / scale);
  const WideMatrix Bw = Bs.template cast<Wide>();
  WideMatrix M = -(Bw.adjoint() * Bw);
  M.diagonal().array() += Wide(x);
  const Eigen::LLT<WideMatrix> llt(M);
  if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  double sum = 0;
  for (Index i = 0; i < j; ++i) {
    const double d = static_cast<double>(std::real(llt.matrixLLT()(i, i)));
    if (!(d > 0)) return -std::numeric_limits<double>::infinity();
    sum += 2 * std::log(d);
  }
  return sum + 2 * static_cast<double>(j) * std::log(scale);
}

}  // namespace detail

/// Largest singular triplet of `op` by restarted Golub–Kahan–Lanczos from `v0` (nonzero, length
/// cols). The answer is certified at exit from fresh products (see `certify`). Stops when the
/// certified residual is at most tol * sigma, or when the product budget `maxiter` is spent.
template <typename Op, typename Scalar>
Estimate<Scalar> lanczos(const Op& op, const Vector<Scalar>& v0, const Options<RealOf<Scalar>>& opt) {
  using Real = RealOf<Scalar>;
  using Matrix = detail::DenseMatrix<Scalar>;
  const Index m = op.rows();
  const Index n = op.cols();
  const Index kmax = std::max<Index>(2, std::min<Index>(opt.basis_size, n));
  const Real tiny = Real(lanczos_tiny_factor) * std::numeric_limits<Real>::epsilon();

  Estimate<Scalar> est;
  est.bound_kind = BoundKind::lanczos;
  est.excluded = opt.prior_excluded;
  GaussianSource<Scalar> rng(opt.seed);
  Options<Real> run = opt;  // its start weight changes with the starts below
  // log |phi(s*^2)| = grown - couplings + log det(s*^2 I - B^H B): `grown` holds the factors of
  // the Ritz values dropped at restarts (each taken at the top value of its restart, below any
  // later s*), less the couplings of the finished cycles; `couplings` sums log(alpha beta) of
  // the current one.
  double grown = 0, couplings = 0;
  std::uint64_t restarts_from = 0;  // how many mixed starts were drawn
  Real last_certified = std::numeric_limits<Real>::infinity();  // the residual of the last one
  Real last_sigma = 0;                                              // and its sigma
  const double miss_tol = static_cast<double>(opt.miss_tol > 0 ? opt.miss_tol : opt.tol);

  // Only the first j columns of the bases are ever read, so they are neither zeroed here nor
  // at restarts: for vectors of millions of entries that would cost more than the products.
  constexpr bool fused = detail::has_apply_normal<Op, Vector<Scalar>, Real>::value;
  Matrix P(n, kmax + 1);
  Matrix Q(m, kmax);
  Matrix R(fused ? n : 0, fused ? kmax : 0);  // R = A^H Q, for the fused step only
  Matrix B = Matrix::Zero(kmax, kmax);
  Vector<Scalar> q(m), r(n), w(fused ? n : 0), pj(n), best = v0 / safe_norm(v0);
  Vector<Scalar> top;     // the top right singular vector of B_j
  bool top_valid = false;  // whether `top` belongs to the current basis P_j
  Real estimate = 0;  // the current top Ritz value, for scaling the products
  P.col(0) = best;
  Index j = 0;                // columns of Q built so far; P holds j + 1
  Index spike = 0;            // B's column of couplings to the values kept at the last restart
  Real off_pattern = 0;       // the largest |entry| of B / max|B| off its structure (ritz.hpp)
  bool first_cycle = true;    // P_j still spans the Krylov space of the random start
  int fresh = 0;              // fresh random starts after a start in the null space

  // Each step costs two products; two more are kept for the certification at exit.
  while (est.iterations + 4 <= opt.maxiter && !stop_requested(opt)) {
    // q_j = (A p_j - Q h) / alpha_j, and A^H q_j from the same pass over A.
    const Real scale = product_scale(estimate, opt);
    pj = P.col(j);
    if constexpr (fused) {
      normal_product(op, pj, q, w, scale);  // q = A p_j, w = A^H (scale q)
    } else {
      op.apply(pj, q);
    }
    est.iterations += 2;
    const Real before = safe_norm(q);
    // The fused step needs q_j orthogonal to all of Q (its A^H q_j is derived from that). The
    // other step reorthogonalizes one side only, P (Simon and Zha): q_j is taken against Q in
    // full only after a restart (its couplings to the kept vectors), else against q_{j-1}.
    const Vector<Scalar> h = fused || j == spike ? detail::orthogonalize(Q, j, q)
                                                 : detail::orthogonalize_last(Q, j, q);
    Real alpha = safe_norm(q);
    B.col(j).head(j) = h;
    if (alpha <= tiny * before || alpha == Real(0)) {
      alpha = 0;  // A p_j lies in span(Q): the pair of spaces is invariant
      q.setZero();
      r.setZero();
    } else {
      q /= alpha;
      if constexpr (fused) {
        r = w;
        detail::subtract_combination(R, j, Vector<Scalar>(scale * h), r);
        r /= scale * alpha;
      } else {
        op.apply_adjoint(q, r);
      }
    }
    B(j, j) = alpha;
    Q.col(j) = q;
    if constexpr (fused) R.col(j) = r;
    // p_{j+1} = (A^H q_j - P g) / beta_j
    const Real before_r = safe_norm(r);
    detail::orthogonalize(P, j + 1, r, /*relaxed=*/!fused);
    Real beta = safe_norm(r);
    if (beta <= tiny * before_r || beta == Real(0)) beta = 0;
    couplings += std::log(static_cast<double>(alpha)) + std::log(static_cast<double>(beta));
    ++j;
    if (first_cycle) est.bound_steps = j;

    // The top Ritz triplet from the eigenproblem of B^H B (only the largest pair is needed here;
    // the full SVD is computed at restarts), in O(j) from B's structure (ritz.hpp), or from a
    // dense eigensolver where that answer fails its check.
    // B is scaled to entries near 1 first, so that B^H B cannot overflow or underflow.
    const Real b_max = B.topLeftCorner(j, j).cwiseAbs().maxCoeff();
    const Real b_scale = b_max > 0 ? b_max : Real(1);
    const Matrix Bs = B.topLeftCorner(j, j) / b_scale;
    // The structure leaves out B's entries off its pattern: the coefficients of
    // reorthogonalization, at the level of rounding while A^H q is computed accurately (the
    // recurrence for it drifts in single precision on some shapes). Beyond a small fraction of
    // tol they are kept, and the dense eigensolver takes them into account.
    if (j - 1 != spike) {
      for (Index i = 0; i + 2 < j; ++i) off_pattern = std::max(off_pattern, std::abs(Bs(i, j - 1)));
    }
    Real top_value = 0;
    Vector<Scalar> right;
    const bool structured = off_pattern <= Real(1e-3) * opt.tol;
    if (!structured || !detail::top_ritz_structured<Scalar>(Bs, spike, j, top_value, right)) {
      const Eigen::SelfAdjointEigenSolver<Matrix> eig(Bs.adjoint() * Bs);
      top_value = eig.eigenvalues()(j - 1);
      right = eig.eigenvectors().col(j - 1);
    }
    const Real s1 = b_scale * std::sqrt(std::max(Real(0), top_value));
    const Real ritz_residual =
        s1 > 0 ? beta * std::abs((Bs.row(j - 1) * right)(0)) * (b_scale / s1) : beta;
    estimate = s1;

    if (!(s1 > 0)) {
      // Only a start in the null space of A gets here (A != 0 is checked by the caller).
      // The Ritz vector of an earlier step no longer matches the basis's j columns.
      top_valid = false;
      if (fresh == 3) break;
      ++fresh;
      best = rng.draw(n);
      best /= safe_norm(best);
      B.setZero();
      P.col(0) = best;
      j = 0;
      spike = 0;
      off_pattern = 0;
      top_valid = false;
      first_cycle = false;
      est.bound_kind = BoundKind::none;
      run.start_weight = 1;
      run.start_dim = 0;
      grown = couplings = 0;
      continue;
    }
    top = right;  // the Ritz vector is P_j top, formed only where it is used
    top_valid = true;
    if (ritz_residual <= opt.tol * s1 || beta == Real(0)) {
      const double star = static_cast<double>(s1) * (1 + miss_tol);
      // beta = 0: the Krylov space of the start is invariant and holds all of it, sigma_1
      // included; j = n: the basis spans the whole space. The evidence is complete (rounding
      // leaves beta above zero, far above it for tiny float32 entries).
      const bool whole = beta == Real(0) || j >= n;
      const double log_phi = whole ? std::numeric_limits<double>::infinity()
                                             : grown - couplings +
                                                   detail::log_det_above(Bs, b_scale, star);
      est.excluded = exclude(est.excluded, star, -log_phi, run, n,
                             Eigen::NumTraits<Scalar>::IsComplex);
    }
    const bool separated = static_cast<double>(s1) * (1 + miss_tol) *
                               (1 + rounding_of<Real>(m, n)) >=
                           est.excluded;
    if ((ritz_residual <= opt.tol * s1 && separated) || beta == Real(0)) {
      best = P.leftCols(j) * top;
      certify(op, best, opt, est);
      if (est.residual <= opt.tol && est.sigma < s1) {
        // The certified sigma fell below the Ritz value by rounding: the certificate at it (a
        // later judge at a tighter tol, Rayleigh's, compares with it).
        const double star = static_cast<double>(est.sigma) * (1 + miss_tol);
        const double log_phi = beta == Real(0) || j >= n ? std::numeric_limits<double>::infinity()
                                               : grown - couplings +
                                                     detail::log_det_above(Bs, b_scale, star);
        est.excluded = exclude(est.excluded, star, -log_phi, run, n,
                               Eigen::NumTraits<Scalar>::IsComplex);
        judge(est, opt);
      }
      if (est.converged) return est;
      if (est.residual > opt.tol) {
        // At the rounding floor the certified residual stops falling: a start again that
        // neither halved it nor raised sigma will not meet tol either, so the run ends here,
        // not at its budget.
        const Real eps = std::numeric_limits<Real>::epsilon();
        if (!(est.residual < last_certified / 2) && !(est.sigma > last_sigma * (1 + 4 * eps))) {
          best = est.v;
          top_valid = false;
          break;
        }
        last_certified = est.residual;
        last_sigma = std::max(last_sigma, est.sigma);
      }
      // Rounding made the recurrence optimistic (or an invariant space left sigma_1 unproven):
      // start again from the certified vector, mixed with a random one for a new certificate.
      B.setZero();
      best = est.v;
      P.col(0) = mixed_start(Vector<Scalar>(est.v), opt.seed + ++restarts_from);
      run.start_weight = mixed_weight;
      run.start_dim = 0;
      grown = couplings = 0;
      j = 0;
      spike = 0;
      off_pattern = 0;
      top_valid = false;
      first_cycle = false;
      continue;
    }
    P.col(j) = r / beta;
    if (j == kmax) {
      // Thick restart: keep the leading `keep` Ritz triplets and the residual direction.
      const Index keep = kmax / restart_divisor;
      Eigen::JacobiSVD<Matrix> svd(B.topLeftCorner(j, j),
                                   Eigen::ComputeFullU | Eigen::ComputeFullV);
      const Matrix P_kept = P.leftCols(j) * svd.matrixV().leftCols(keep);
      const Matrix Q_kept = Q.leftCols(j) * svd.matrixU().leftCols(keep);
      const Matrix R_kept =
          fused ? Matrix(R.leftCols(j) * svd.matrixU().leftCols(keep)) : Matrix();
      const Vector<Scalar> next = P.col(j);
      B.setZero();
      P.leftCols(keep) = P_kept;
      P.col(keep) = next;
      Q.leftCols(keep) = Q_kept;
      if constexpr (fused) R.leftCols(keep) = R_kept;
      for (Index i = 0; i < keep; ++i) B(i, i) = svd.singularValues()(i);
      const double top_value = static_cast<double>(svd.singularValues()(0));
      for (Index i = keep; i < j; ++i) {
        const double s = static_cast<double>(svd.singularValues()(i));
        grown += std::log(top_value - s) + std::log(top_value + s);
      }
      grown -= couplings;
      couplings = 0;
      best = P.col(0);  // the top Ritz vector, kept first
      j = keep;
      spike = keep;
      off_pattern = 0;
      top_valid = false;
      first_cycle = false;
    }
  }
  if (top_valid) best = P.leftCols(j) * top;
  certify(op, best, opt, est);
  return est;
}

/// Lanczos from est's pair mixed with a random vector (mixed_start, drawn from `seed`), with the
/// budget left: it proves sigma_1 or finds a larger value. Its answer replaces est's where it is
/// at least as large or converged; est's lower bound, bound kind and steps are kept. Power
/// iteration and Rayleigh-quotient iteration finish with it.
template <typename Op, typename Scalar>
void lanczos_finish(const Op& op, const Options<RealOf<Scalar>>& opt, std::uint64_t seed,
                    Estimate<Scalar>& est) {
  if (est.iterations + 4 > opt.maxiter || stop_requested(opt)) return;
  Options<RealOf<Scalar>> rest = opt;
  rest.maxiter = opt.maxiter - est.iterations;
  rest.prior_excluded = est.excluded;
  rest.start_weight = mixed_weight;
  rest.start_dim = 0;
  Estimate<Scalar> tail = lanczos(op, mixed_start(est.v, seed), rest);
  tail.iterations += est.iterations;
  tail.lower = std::max(tail.lower, est.lower);
  tail.bound_kind = est.bound_kind;
  tail.bound_steps = est.bound_steps;
  if (tail.sigma >= est.sigma || tail.converged) {
    est = tail;
  } else {
    est.iterations = tail.iterations;
  }
}

}  // namespace specnorm
