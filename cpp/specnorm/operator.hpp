// The operator concept shared by every solver in the core.
//
// A type `Op` models a linear operator A: C^n -> C^m when it provides
//   Index rows() const;                          // m
//   Index cols() const;                          // n
//   void apply(const Vector& x, Vector& y) const;          // y = A x,    x in C^n, y in C^m
//   void apply_adjoint(const Vector& y, Vector& x) const;  // x = A^H y,  y in C^m, x in C^n
// and may provide
//   void apply_normal(const Vector& x, Vector& y, Vector& w, Real s) const;  // y = A x, w = A^H (s y)
// when it can form both products in one pass over the matrix (`normal_product` falls back to
// the two products otherwise).
// where Vector is Eigen::Matrix<Scalar, Dynamic, 1>. Solvers are templates over Op, so dense,
// sparse and matrix-free inputs share them. The operator never owns the matrix.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace specnorm {

using Index = Eigen::Index;

template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

template <typename Scalar>
using RealOf = typename Eigen::NumTraits<Scalar>::Real;

/// The number of pieces a pass over `entries` numbers along `lines` lines is cut into: one below
/// 2^16 entries (too small to pay for a parallel region), else up to `max_pieces` of at least
/// `min_lines` lines each. Set by the sizes alone, never by the thread count: every partial sum
/// then covers the same entries and is added in the same order whatever the number of threads,
/// so answers are bit-identical across thread counts (threads only share out the pieces).
inline int pieces_for(Index entries, Index lines, Index min_lines, int max_pieces = 16) {
  constexpr Index parallel_entries = Index(1) << 16;
  if (entries < parallel_entries) return 1;
  const Index most = std::min<Index>(max_pieces, lines / std::max<Index>(1, min_lines));
  return static_cast<int>(std::max<Index>(1, most));
}

/// Threads for `pieces` pieces: OpenMP's count (OMP_NUM_THREADS), at most one per piece; 1
/// inside a parallel region (one matrix of a batch per thread).
inline int threads_for(int pieces) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
  return std::max(1, std::min(pieces, omp_get_max_threads()));
#else
  (void)pieces;
  return 1;
#endif
}

/// [begin, end) of piece p of `pieces` over `lines` lines.
inline std::pair<Index, Index> piece_range(Index lines, int p, int pieces) {
  return {lines * p / pieces, lines * (p + 1) / pieces};
}

/// A dense m-by-n matrix viewed in place (no copy) through a column-major map with an outer
/// stride. A row-major array (C order) is viewed as the column-major map of its transpose with
/// `transposed = true`; products then use the transpose, so the operator still means A.
template <typename Scalar>
class DenseOperator {
 public:
  using Map = Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>,
                         Eigen::Unaligned, Eigen::OuterStride<>>;

  /// `data` points at element (0, 0) of the stored column-major block of `stored_rows` by
  /// `stored_cols` with `outer_stride` elements between columns (>= 1). If `transposed`, the
  /// operator is the transpose of the stored block: A is stored_cols by stored_rows.
  DenseOperator(const Scalar* data, Index stored_rows, Index stored_cols, Index outer_stride,
                bool transposed)
      : map_(data, stored_rows, stored_cols, Eigen::OuterStride<>(outer_stride)),
        transposed_(transposed) {
    if (stored_rows < 0 || stored_cols < 0 || outer_stride < 1) {
      throw std::invalid_argument("DenseOperator: negative dimension or outer stride < 1");
    }
  }

  Index rows() const { return transposed_ ? map_.cols() : map_.rows(); }
  Index cols() const { return transposed_ ? map_.rows() : map_.cols(); }

  void apply(const Vector<Scalar>& x, Vector<Scalar>& y) const {
    y.resize(rows());
    if (transposed_) {
      split_columns(x, y, /*conjugate=*/false);
    } else {
      split_rows(x, y, /*conjugate=*/false);
    }
  }

  void apply_adjoint(const Vector<Scalar>& y, Vector<Scalar>& x) const {
    x.resize(cols());
    if (transposed_) {
      split_rows(y, x, /*conjugate=*/true);
    } else {
      split_columns(y, x, /*conjugate=*/true);
    }
  }

  /// y = A x and w = A^H (scale * y) in one pass over the matrix: each block of rows of A is read
  /// once and is still in cache for the second product. Each piece of rows keeps its own partial
  /// w, summed in piece order. The scale (about 1 / sigma) keeps w near sigma instead of
  /// sigma^2, so nothing overflows.
  void apply_normal(const Vector<Scalar>& x, Vector<Scalar>& y, Vector<Scalar>& w,
                    RealOf<Scalar> scale) const {
    y.resize(rows());
    w.resize(cols());
    // Blocks run along the stored columns (A^T case) or stored rows (A case).
    const Index lines = transposed_ ? map_.cols() : map_.rows();
    const Index length = transposed_ ? map_.rows() : map_.cols();
    const Index block = std::max<Index>(8, (Index(1) << 17) / std::max<Index>(
                                                1, length * static_cast<Index>(sizeof(Scalar))));
    const Index blocks = (lines + block - 1) / block;
    const int pieces = pieces_for(map_.size(), blocks, 1);
    const int nt = threads_for(pieces);
    w.setZero();
    std::vector<Vector<Scalar>> partial(static_cast<std::size_t>(pieces - 1),
                                        Vector<Scalar>::Zero(w.size()));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int p = 0; p < pieces; ++p) {
      Vector<Scalar>& acc = p == 0 ? w : partial[static_cast<std::size_t>(p - 1)];
      Vector<Scalar> scaled(block);
      const auto [first, last] = piece_range(blocks, p, pieces);
      for (Index bk = first; bk < last; ++bk) {
        const Index b0 = bk * block, len = std::min(block, lines - b0);
        if (transposed_) {
          // A's rows b0.. are the stored columns b0..: y_B = S_B^T x, w += conj(S_B) y_B.
          y.segment(b0, len).noalias() = map_.middleCols(b0, len).transpose() * x;
          scaled.head(len) = scale * y.segment(b0, len);
          acc.noalias() += map_.middleCols(b0, len).conjugate() * scaled.head(len);
        } else {
          y.segment(b0, len).noalias() = map_.middleRows(b0, len) * x;
          scaled.head(len) = scale * y.segment(b0, len);
          acc.noalias() += map_.middleRows(b0, len).adjoint() * scaled.head(len);
        }
      }
    }
    for (const auto& part : partial) w += part;
  }

  /// The operator A^T over the same memory (no copy): the stored block read the other way.
  DenseOperator transpose() const {
    return DenseOperator(map_.data(), map_.rows(), map_.cols(), map_.outerStride(), !transposed_);
  }

  /// The stored block and whether it is the transpose of A (for passes over the entries).
  const Map& stored() const { return map_; }
  bool transposed() const { return transposed_; }

 private:
  // Products are split into pieces once the matrix is large enough (pieces_for); each piece
  // writes its own slice of the output, so no reduction is needed.
  // out = S x (or conj(S) x): each piece is a block of rows of the stored matrix.
  void split_rows(const Vector<Scalar>& in, Vector<Scalar>& out, bool conjugate) const {
    const Index r = map_.rows();
    const int pieces = pieces_for(map_.size(), r, 64);
    const int nt = threads_for(pieces);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int p = 0; p < pieces; ++p) {
      const auto [r0, r1] = piece_range(r, p, pieces);
      const Index len = r1 - r0;
      if (conjugate) {
        out.segment(r0, len).noalias() = map_.middleRows(r0, len).conjugate() * in;
      } else {
        out.segment(r0, len).noalias() = map_.middleRows(r0, len) * in;
      }
    }
  }

  // out = S^T x (or S^H x): each piece is a block of columns of the stored matrix.
  void split_columns(const Vector<Scalar>& in, Vector<Scalar>& out, bool conjugate) const {
    const Index c = map_.cols();
    const int pieces = pieces_for(map_.size(), c, 8);
    const int nt = threads_for(pieces);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int p = 0; p < pieces; ++p) {
      const auto [c0, c1] = piece_range(c, p, pieces);
      const Index len = c1 - c0;
      if (conjugate) {
        out.segment(c0, len).noalias() = map_.middleCols(c0, len).adjoint() * in;
      } else {
        out.segment(c0, len).noalias() = map_.middleCols(c0, len).transpose() * in;
      }
    }
  }

  Map map_;
  bool transposed_;
};

namespace detail {
template <typename Op, typename V, typename R, typename = void>
struct has_apply_normal : std::false_type {};
template <typename Op, typename V, typename R>
struct has_apply_normal<Op, V, R,
                        std::void_t<decltype(std::declval<const Op&>().apply_normal(
                            std::declval<const V&>(), std::declval<V&>(), std::declval<V&>(),
                            std::declval<R>()))>> : std::true_type {};
}  // namespace detail

/// y = A x and w = A^H (scale * y) (two products), in one pass where the operator can.
template <typename Op, typename Scalar>
void normal_product(const Op& op, const Vector<Scalar>& x, Vector<Scalar>& y, Vector<Scalar>& w,
                    RealOf<Scalar> scale) {
  if constexpr (detail::has_apply_normal<Op, Vector<Scalar>, RealOf<Scalar>>::value) {
    op.apply_normal(x, y, w, scale);
  } else {
    op.apply(x, y);
    op.apply_adjoint(Vector<Scalar>(scale * y), w);
  }
}

}  // namespace specnorm
