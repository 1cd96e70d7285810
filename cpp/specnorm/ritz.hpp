// The top Ritz pair of the Lanczos projected matrix in O(j) work per step instead of O(j^3).
//
// In Golub–Kahan–Lanczos with thick restarts the j x j projected matrix B has the shape
//
//   B = [ diag(s_0 .. s_{k-1})  rho   0  ...         ]    k = the values kept at the last
//       [                       a_k   b_k            ]        restart (0 before any restart)
//       [                             a_{k+1}  b_{k+1}]
//       [                                      ...    ]
//
// (the kept singular values, a spike column rho of couplings, then upper bidiagonal), plus
// entries of the size of rounding from full reorthogonalization, which are left out. Then
// M = B^H B is an arrowhead on its first k + 1 rows joined to a Hermitian tridiagonal tail, and an
// LDL^H factorization of M - x I in the order 0, 1, ..., j-1 fills nothing in. Its pivots count
// the eigenvalues below x (Sylvester's law of inertia), so bisection finds lambda_max(M) in O(j)
// per step; one LDL^H solve with a shift just above lambda_max, where shift I - M is positive
// definite and the factorization is stable, then gives the top eigenvector (inverse iteration),
// accurate to about eps / (relative gap). The answer is checked by its residual, and the caller
// falls back to a dense eigensolver if the check fails. Single precision is computed in double:
// the O(j) work costs nothing, and the Ritz residual needs the eigenvector's last component to
// well below tol.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <type_traits>
#include <vector>

#include "operator.hpp"

namespace specnorm {
namespace detail {

/// The scalar the structured solver computes in: double for float (and complex<float>).
template <typename Scalar>
using WideOf = std::conditional_t<
    Eigen::NumTraits<Scalar>::IsComplex,
    std::complex<std::conditional_t<(sizeof(RealOf<Scalar>) < sizeof(double)), double, RealOf<Scalar>>>,
    std::conditional_t<(sizeof(Scalar) < sizeof(double)), double, Scalar>>;

/// M = B^H B for the structured B above (B scaled to entries of at most about 1), stored as the
/// arrowhead's diagonal and couplings and the tail's diagonal and off-diagonal.
template <typename Scalar>
class StructuredGram {
 public:
  using Real = RealOf<Scalar>;

  /// B: the top-left j x j block of the projected matrix; k: the start of the spike column.
  template <typename Derived>
  StructuredGram(const Eigen::MatrixBase<Derived>& B, Index k, Index j) : k_(k), j_(j) {
    head_.resize(static_cast<std::size_t>(k));
    spike_.resize(static_cast<std::size_t>(k));
    diag_.resize(static_cast<std::size_t>(j - k));
    off_.resize(static_cast<std::size_t>(std::max<Index>(0, j - k - 1)));
    Real spike_sq = 0;
    for (Index i = 0; i < k; ++i) {
      head_[i] = std::norm(B(i, i));
      spike_[i] = Eigen::numext::conj(B(i, i)) * B(i, k);  // M(i, k)
      spike_sq += std::norm(B(i, k));
    }
    for (Index l = k; l < j; ++l) {
      const Real above = l == k ? spike_sq : std::norm(B(l - 1, l));
      diag_[l - k] = std::norm(B(l, l)) + above;
      if (l + 1 < j) off_[l - k] = Eigen::numext::conj(B(l, l)) * B(l, l + 1);  // M(l, l + 1)
    }
  }

  /// The number of eigenvalues of M below x.
  Index count_below(Real x) const {
    Index below = 0;
    Real sum = 0;
    for (Index i = 0; i < k_; ++i) {
      const Real p = nonzero(head_[i] - x);
      below += p < 0;
      sum += std::norm(spike_[i]) / p;
    }
    Real p = nonzero(diag_[0] - x - sum);
    below += p < 0;
    for (Index l = 1; l < j_ - k_; ++l) {
      p = nonzero(diag_[l] - x - std::norm(off_[l - 1]) / p);
      below += p < 0;
    }
    return below;
  }

  /// Bounds [lo, hi] with lo <= lambda_max <= hi: the largest diagonal entry (a Rayleigh
  /// quotient) and the largest absolute row sum (Gershgorin).
  void bracket(Real& lo, Real& hi) const {
    lo = 0;
    hi = 0;
    Real spike_abs = 0;
    for (Index i = 0; i < k_; ++i) {
      lo = std::max(lo, head_[i]);
      hi = std::max(hi, head_[i] + std::abs(spike_[i]));
      spike_abs += std::abs(spike_[i]);
    }
    for (Index l = 0; l < j_ - k_; ++l) {
      lo = std::max(lo, diag_[l]);
      Real row = diag_[l] + (l == 0 ? spike_abs : std::abs(off_[l - 1]));
      if (l + 1 < j_ - k_) row += std::abs(off_[l]);
      hi = std::max(hi, row);
    }
  }

  /// Solves (shift I - M) z = b in place for a shift above lambda_max (positive definite).
  void solve_shifted(Real shift, Vector<Scalar>& z) const {
    const Index t = j_ - k_;
    std::vector<Real> d(static_cast<std::size_t>(t));
    std::vector<Real> dh(static_cast<std::size_t>(k_));
    // LDL^H of N = shift I - M: N(i, i) = shift - head_i, N(i, k) = -spike_i, tail likewise.
    Real sum = 0;
    for (Index i = 0; i < k_; ++i) {
      dh[i] = nonzero(shift - head_[i]);
      sum += std::norm(spike_[i]) / dh[i];
    }
    d[0] = nonzero(shift - diag_[0] - sum);
    for (Index l = 1; l < t; ++l) d[l] = nonzero(shift - diag_[l] - std::norm(off_[l - 1]) / d[l - 1]);
    // Forward: L y = b, with L(k, i) = -conj(spike_i) / dh_i and L(l, l-1) = -conj(off) / d.
    Scalar acc = z[k_];
    for (Index i = 0; i < k_; ++i) acc += Eigen::numext::conj(spike_[i]) / dh[i] * z[i];
    z[k_] = acc;
    for (Index l = 1; l < t; ++l) z[k_ + l] += Eigen::numext::conj(off_[l - 1]) / d[l - 1] * z[k_ + l - 1];
    // Diagonal, then backward: L^H z = y / D.
    for (Index i = 0; i < k_; ++i) z[i] /= dh[i];
    for (Index l = 0; l < t; ++l) z[k_ + l] /= d[l];
    for (Index l = t - 2; l >= 0; --l) z[k_ + l] += off_[l] / d[l] * z[k_ + l + 1];
    for (Index i = 0; i < k_; ++i) z[i] += spike_[i] / dh[i] * z[k_];
  }

  /// y = M x.
  void multiply(const Vector<Scalar>& x, Vector<Scalar>& y) const {
    y.resize(j_);
    for (Index i = 0; i < k_; ++i) y[i] = head_[i] * x[i] + spike_[i] * x[k_];
    for (Index l = 0; l < j_ - k_; ++l) {
      Scalar v = diag_[l] * x[k_ + l];
      if (l > 0) v += Eigen::numext::conj(off_[l - 1]) * x[k_ + l - 1];
      if (l + 1 < j_ - k_) v += off_[l] * x[k_ + l + 1];
      y[k_ + l] = v;
    }
    for (Index i = 0; i < k_; ++i) y[k_] += Eigen::numext::conj(spike_[i]) * x[i];
  }

 private:
  static Real nonzero(Real p) {
    const Real floor = std::numeric_limits<Real>::min() / std::numeric_limits<Real>::epsilon();
    return std::abs(p) < floor ? -floor : p;
  }

  Index k_, j_;
  std::vector<Real> head_;      // M(i, i), i < k
  std::vector<Scalar> spike_;   // M(i, k), i < k
  std::vector<Real> diag_;      // M(l, l), l >= k
  std::vector<Scalar> off_;     // M(l, l + 1), l >= k
};

/// The top eigenpair of M = B^H B for the structured B (see the file comment): lambda and a unit
/// x. Returns false if the residual check fails (then lambda and x are not to be used).
template <typename Scalar, typename Derived>
bool top_ritz_structured(const Eigen::MatrixBase<Derived>& B, Index k, Index j,
                         RealOf<Scalar>& lambda_out, Vector<Scalar>& x_out) {
  using Wide = WideOf<Scalar>;
  using Real = RealOf<Wide>;
  const StructuredGram<Wide> M(B.template cast<Wide>(), k, j);
  Real lambda = 0;
  Vector<Wide> x;
  const Real eps = std::numeric_limits<Real>::epsilon();
  Real lo, hi;
  M.bracket(lo, hi);
  if (!(hi > 0)) return false;
  lo = std::max(Real(0), lo * (1 - 4 * eps));  // strictly below lambda_max
  hi = hi * (1 + 4 * eps);                     // strictly above
  // Bisection: count_below(lo) < j <= count_below(hi) throughout.
  while (hi - lo > 4 * eps * hi) {
    const Real mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (M.count_below(mid) < j) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  // Inverse iteration with a shift just above lambda_max: two solves from a start that leans
  // on no particular direction.
  const Real shift = hi * (1 + 8 * eps) + std::numeric_limits<Real>::min();
  x = Vector<Wide>::Ones(j);
  for (int it = 0; it < 2; ++it) {
    M.solve_shifted(shift, x);
    const Real xn = x.norm();
    if (!(xn > 0) || !std::isfinite(xn)) return false;
    x /= xn;
  }
  Vector<Wide> mx;
  M.multiply(x, mx);
  lambda = std::max(Real(0), std::real(x.dot(mx)));
  const Real residual = (mx - lambda * x).norm();
  // Accept an eigenvector with a residual at the rounding level of M (entries at most ~j).
  if (!(lambda >= lo * (1 - 8 * eps) && residual <= Real(64) * eps * std::sqrt(Real(j)) * hi)) {
    return false;
  }
  lambda_out = static_cast<RealOf<Scalar>>(lambda);
  x_out = x.template cast<Scalar>();
  return true;
}

}  // namespace detail
}  // namespace specnorm
