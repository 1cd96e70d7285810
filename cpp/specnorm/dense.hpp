// Dense matrices stored column by column (F order): solved through their transpose.
//
// Every solver's step forms A x and A^H (A x) in one pass over A, a block of rows at a time
// (DenseOperator::apply_normal). Where A is stored row by row (C order) such a block is
// contiguous memory; where it is stored column by column, a block of rows is a thin strip read
// with a stride of one column, several times slower on large matrices. A^T of a column-major A
// is row-major over the same memory, and sigma_1(A^T) = sigma_1(A): the solver runs on A^T and
// its pair is turned back into a pair of A.
//
// The run on A^T starts from conj(A v0), v0 the caller's start (one product): its Krylov spaces
// are those of A from v0, one half step further on, so its estimate is at least the one the run
// on A would give after as many steps and the random-start bounds for v0 still hold. The pair
// of A^T, (u', v'), gives v = conj(u'), certified by two fresh products with A itself (each one
// streaming pass): sigma = ||A v||, u = A v / sigma and the residual ||A^H u - sigma v|| / sigma,
// exactly as a run on A returns them. Both extra costs are counted in the iterations.
#pragma once

#include <cmath>

#include "result.hpp"

namespace specnorm {

namespace detail {

/// An operator with the products of `Op` but no one-pass A^H A x (certify then applies A and
/// A^H separately, each a pass that reads the memory in order).
template <typename Op>
struct TwoPass {
  const Op& op;
  Index rows() const { return op.rows(); }
  Index cols() const { return op.cols(); }
  template <typename V>
  void apply(const V& x, V& y) const { op.apply(x, y); }
  template <typename V>
  void apply_adjoint(const V& y, V& x) const { op.apply_adjoint(y, x); }
};

}  // namespace detail

/// Whether `solve_dense` runs on A^T: a column-major A of at least 2^16 entries (smaller ones
/// stay in cache, where the strip costs less than the extra products), neither side 1, and a
/// budget that leaves room for the start and the certification.
template <typename Scalar>
bool solves_transpose(const DenseOperator<Scalar>& op, Index maxiter) {
  constexpr Index large = Index(1) << 16;
  return !op.transposed() && op.rows() > 1 && op.cols() > 1 && op.rows() * op.cols() >= large &&
         maxiter >= 16;
}

/// Any other operator: `solve(op, start, opt)` as it is.
template <typename Op, typename Scalar, typename Solve>
Estimate<Scalar> solve_dense(const Op& op, const Vector<Scalar>& start,
                             const Options<RealOf<Scalar>>& opt, Solve&& solve) {
  return solve(op, start, opt);
}

/// `solve(operator, start, options)` (power_iteration, lanczos, rayleigh_iteration) on the dense
/// A from `start`, through A^T where `solves_transpose` says so. The Estimate is one of A in
/// either case (u in C^m, v in C^n, A v = sigma u), with products counted against opt.maxiter.
template <typename Scalar, typename Solve>
Estimate<Scalar> solve_dense(const DenseOperator<Scalar>& op, const Vector<Scalar>& start,
                             const Options<RealOf<Scalar>>& opt, Solve&& solve) {
  using Real = RealOf<Scalar>;
  if (!solves_transpose(op, opt.maxiter)) return solve(op, start, opt);
  Vector<Scalar> a_start(op.rows());
  op.apply(Vector<Scalar>(start / safe_norm(start)), a_start);
  const Real size = safe_norm(a_start);
  if (!(size > 0) || !std::isfinite(size)) return solve(op, start, opt);  // v0 in A's null space
  const DenseOperator<Scalar> t = op.transpose();
  Options<Real> inner = opt;
  inner.maxiter = opt.maxiter - 3;  // the start's product and the certification's two
  // The start A v0 / ||A v0|| has at least v0's component along the top pair (sigma_1 |c_1| /
  // ||A v0|| >= |c_1|), so the certificate counts with v0's length.
  inner.start_dim = opt.start_dim > 0 ? opt.start_dim : op.cols();
  Estimate<Scalar> est = solve(t, Vector<Scalar>((a_start / size).conjugate()), inner);
  est.iterations += 1;
  // A^T v' = sigma u' turned back: A^H conj(u') = sigma conj(v'), the pair of A up to the side
  // the residual is on; certify recomputes it from v = conj(u') (unchanged if A v = 0, which
  // happens only where the run on A^T found nothing).
  Vector<Scalar> v = est.u.conjugate();
  est.u = est.v.conjugate();
  est.v = v;
  certify(detail::TwoPass<DenseOperator<Scalar>>{op}, v, opt, est);
  return est;
}

}  // namespace specnorm
