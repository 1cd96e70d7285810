// Certain upper bounds on sigma_1 of a dense matrix from one pass over its entries:
//   sigma_1 <= ||A||_F   and   sigma_1 <= sqrt(||A||_1 ||A||_inf),
// and the check that every entry is finite. Both bounds are the same for A and A^T, so the pass
// reads the stored block as it lies in memory.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>

#include "operator.hpp"

namespace specnorm {

/// A float64 sum of squares below this has lost digits to underflow: the pass over the entries
/// is then redone on magnitudes divided by the largest (dense_bounds here, sparse.hpp alike).
constexpr double underflow_squares = 1e-280;

struct DenseBounds {
  bool finite = true;     ///< no NaN or infinity among the entries
  double frobenius = 0;   ///< ||A||_F
  double norm1 = 0;       ///< largest column sum of |a_ij| (of the stored block)
  double norm_inf = 0;    ///< largest row sum of |a_ij| (of the stored block)
  double largest_part = 0;  ///< largest |real part| or |imaginary part| of an entry
  double upper() const { return std::min(frobenius, std::sqrt(norm1) * std::sqrt(norm_inf)); }
};

/// What the one-pass bounds leave a solver to do: `ok`, run it; `not_finite`, nothing (an entry
/// is NaN or infinite: there is no spectral norm); `zero`, nothing (A = 0: sigma = 0 exactly).
enum class Status { ok = 0, not_finite = 1, zero = 2 };

inline Status status_of(const DenseBounds& b) {
  if (!b.finite) return Status::not_finite;
  return b.upper() > 0 ? Status::ok : Status::zero;
}

namespace detail {

/// Division by a positive scale done as multiplication by two powers of two, 2^-e with
/// e = ilogb(scale): exact, and neither factor overflows even for a subnormal scale (where
/// 1 / scale does). Scaled magnitudes then lie below 2 where the scale is the largest one.
struct BinaryScale {
  explicit BinaryScale(double scale) {
    const int e = scale > 0 && std::isfinite(scale) ? std::ilogb(scale) : 0;
    inv_hi = std::ldexp(1.0, -(e / 2));
    inv_lo = std::ldexp(1.0, -(e - e / 2));
    back = std::ldexp(1.0, e);
  }
  double apply(double x) const { return x * inv_hi * inv_lo; }
  double inv_hi, inv_lo, back;
};

template <typename Scalar>
inline double magnitude(const Scalar& a) {
  if constexpr (Eigen::NumTraits<Scalar>::IsComplex) {
    const double re = static_cast<double>(a.real()), im = static_cast<double>(a.imag());
    return std::sqrt(re * re + im * im);
  } else {
    return std::abs(static_cast<double>(a));
  }
}

template <typename Scalar>
inline double largest_part(const Scalar& a) {
  if constexpr (Eigen::NumTraits<Scalar>::IsComplex) {
    return std::max(std::abs(static_cast<double>(a.real())), std::abs(static_cast<double>(a.imag())));
  } else {
    return std::abs(static_cast<double>(a));
  }
}

template <typename Scalar>
inline double nonfinite_marker(const Scalar& a) {  // 0 for finite entries, NaN otherwise
  if constexpr (Eigen::NumTraits<Scalar>::IsComplex) {
    const double re = static_cast<double>(a.real()), im = static_cast<double>(a.imag());
    return (re - re) + (im - im);
  } else {
    const double x = static_cast<double>(a);
    return x - x;
  }
}

/// Sums of |a_ij| / 2^e and of (|a_ij| / 2^e)^2 (e = ilogb(scale)), in double, and the bounds
/// from them in the units of A.
template <typename Map>
DenseBounds scaled_pass(const Map& S, double scale, bool exact_magnitude) {
  using Scalar = typename Map::Scalar;
  DenseBounds b;
  Eigen::ArrayXd row_sums = Eigen::ArrayXd::Zero(S.rows());
  double squares = 0, marker = 0, part = 0;
  const BinaryScale s(scale);
  for (Index j = 0; j < S.cols(); ++j) {
    double col = 0;
    for (Index i = 0; i < S.rows(); ++i) {
      const Scalar a = S(i, j);
      marker += nonfinite_marker(a);
      part = std::max(part, largest_part(a));
      const double x =
          s.apply(exact_magnitude ? static_cast<double>(std::abs(a)) : magnitude(a));
      col += x;
      row_sums[i] += x;
      squares += x * x;
    }
    b.norm1 = std::max(b.norm1, col);
  }
  b.finite = (marker == 0);
  b.largest_part = part;
  b.norm_inf = S.rows() > 0 ? row_sums.maxCoeff() : 0.0;
  b.frobenius = std::sqrt(squares);
  b.norm1 *= s.back;
  b.norm_inf *= s.back;
  b.frobenius *= s.back;
  return b;
}

}  // namespace detail

/// One pass (two for entries whose squares overflow or underflow in double) over a dense operator.
template <typename Scalar>
DenseBounds dense_bounds(const DenseOperator<Scalar>& op) {
  const auto& S = op.stored();
  DenseBounds b = detail::scaled_pass(S, 1.0, false);
  if (!b.finite) return b;
  const bool overflow = !std::isfinite(b.frobenius) || !std::isfinite(b.norm1) ||
                        !std::isfinite(b.norm_inf);
  // Magnitudes or their squares that underflow (tiny entries) would understate the bounds, even
  // to zero for a nonzero matrix.
  const bool underflow =
      b.largest_part > 0 && (b.norm1 == 0 || b.frobenius * b.frobenius < underflow_squares);
  if (!overflow && !underflow) return b;
  double largest = 0;
  for (Index j = 0; j < S.cols(); ++j)
    for (Index i = 0; i < S.rows(); ++i)
      largest = std::max(largest, static_cast<double>(std::abs(S(i, j))));
  if (largest == 0) return b;
  return detail::scaled_pass(S, largest, true);
}

}  // namespace specnorm
