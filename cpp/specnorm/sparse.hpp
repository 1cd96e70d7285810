// A sparse matrix in compressed sparse row form (CSR), viewed in place, as an operator.
//
// The three arrays are those of SciPy's csr_matrix / csr_array: `indptr` (m + 1 offsets),
// `indices` (column of each stored entry) and `data` (its value); duplicate entries add up, and
// the column indices need not be sorted. Products run over the stored entries only, split across
// threads by rows; A^H y gives each thread its own accumulator, summed at the end. The
// accumulators are kept between products, so one operator serves one solver at a time. There is
// no fused A x, A^H A x pass: its interleaved gathers and scatters measured slower than the two
// products one after the other on every shape tried (bench/bench_sparse.py).
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "bounds.hpp"
#include "operator.hpp"

namespace specnorm {

template <typename Scalar, typename StorageIndex>
class CsrOperator {
 public:
  /// Views m x n CSR arrays (no copy). Throws if indptr is not non-decreasing from 0 or a column
  /// index is outside [0, n): products would otherwise read outside the arrays.
  CsrOperator(const StorageIndex* indptr, const StorageIndex* indices, const Scalar* data,
              Index rows, Index cols)
      : indptr_(indptr), indices_(indices), data_(data), rows_(rows), cols_(cols) {
    if (rows < 0 || cols < 0) throw std::invalid_argument("CsrOperator: negative dimension");
    if (indptr_[0] != 0) throw std::invalid_argument("indptr must start at 0");
    for (Index i = 0; i < rows; ++i) {
      if (indptr_[i + 1] < indptr_[i]) throw std::invalid_argument("indptr must not decrease");
    }
    for (Index k = 0; k < nnz(); ++k) {
      if (indices_[k] < 0 || static_cast<Index>(indices_[k]) >= cols) {
        throw std::invalid_argument("a column index lies outside [0, n)");
      }
    }
  }

  Index rows() const { return rows_; }
  Index cols() const { return cols_; }
  Index nnz() const { return static_cast<Index>(indptr_[rows_]); }

  void apply(const Vector<Scalar>& x, Vector<Scalar>& y) const {
    y.resize(rows_);
    // Every y[i] is one row's own sum: the split of the rows cannot change it.
    const int nt = threads_for(pieces_for(nnz(), rows_, 64));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (Index i = 0; i < rows_; ++i) y[i] = row_dot(i, x);
  }

  void apply_adjoint(const Vector<Scalar>& y, Vector<Scalar>& x) const { scatter(y, x); }

  /// One pass over the stored entries: finiteness, ||A||_F, ||A||_1 and ||A||_inf (double;
  /// rescaled by the largest magnitude where squares would overflow or underflow).
  DenseBounds bounds() const {
    DenseBounds b = pass(1.0, false);
    if (!b.finite) return b;
    const bool overflow = !std::isfinite(b.frobenius) || !std::isfinite(b.norm1) ||
                          !std::isfinite(b.norm_inf);
    const bool underflow =
        b.largest_part > 0 && (b.norm1 == 0 || b.frobenius * b.frobenius < underflow_squares);
    if (!overflow && !underflow) return b;
    double largest = 0;
    for (Index k = 0; k < nnz(); ++k) {
      largest = std::max(largest, static_cast<double>(std::abs(data_[k])));
    }
    return largest > 0 ? pass(largest, true) : b;
  }

 private:
  Scalar row_dot(Index i, const Vector<Scalar>& x) const {
    Scalar sum(0);
    for (StorageIndex k = indptr_[i]; k < indptr_[i + 1]; ++k) sum += data_[k] * x[indices_[k]];
    return sum;
  }

  // out = A^H in. The rows are cut into pieces (pieces_for, set by the sizes alone); the first
  // accumulates into out, the others into scratch vectors kept between calls, added to out in
  // piece order (the additions split across threads by columns). Each extra piece costs a
  // vector of length n per product, so there are at most nnz / (4 n) of them.
  void scatter(const Vector<Scalar>& in, Vector<Scalar>& out) const {
    out.resize(cols_);
    const Index per_column = nnz() / std::max<Index>(1, 4 * cols_);
    const int cap = static_cast<int>(std::clamp<Index>(per_column, 1, 16));
    const int pieces = pieces_for(nnz(), rows_, 64, cap);
    const int nt = threads_for(pieces);
    std::vector<Vector<Scalar>>& partial = scratch_;
    partial.resize(static_cast<std::size_t>(pieces - 1));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int p = 0; p < pieces; ++p) {
      Vector<Scalar>& acc = p == 0 ? out : partial[static_cast<std::size_t>(p - 1)];
      acc.setZero(cols_);
      const auto [r0, r1] = piece_range(rows_, p, pieces);
      for (Index i = r0; i < r1; ++i) {
        const Scalar coef = in[i];
        if (coef == Scalar(0)) continue;
        for (StorageIndex k = indptr_[i]; k < indptr_[i + 1]; ++k) {
          acc[indices_[k]] += Eigen::numext::conj(data_[k]) * coef;
        }
      }
    }
    if (pieces == 1) return;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
    for (int t = 0; t < nt; ++t) {
      const auto [c0, c1] = piece_range(cols_, t, nt);
      for (const auto& part : partial) out.segment(c0, c1 - c0) += part.segment(c0, c1 - c0);
    }
  }

  mutable std::vector<Vector<Scalar>> scratch_;  // per-thread accumulators of scatter

  DenseBounds pass(double scale, bool exact_magnitude) const {
    DenseBounds b;
    std::vector<double> col_sums(static_cast<std::size_t>(cols_), 0.0);
    double squares = 0, marker = 0, part = 0, row_max = 0;
    const detail::BinaryScale s(scale);
    for (Index i = 0; i < rows_; ++i) {
      double row = 0;
      for (StorageIndex k = indptr_[i]; k < indptr_[i + 1]; ++k) {
        const Scalar a = data_[k];
        marker += detail::nonfinite_marker(a);
        part = std::max(part, detail::largest_part(a));
        const double x =
            s.apply(exact_magnitude ? static_cast<double>(std::abs(a)) : detail::magnitude(a));
        row += x;
        col_sums[static_cast<std::size_t>(indices_[k])] += x;
        squares += x * x;
      }
      row_max = std::max(row_max, row);
    }
    b.finite = (marker == 0);
    b.largest_part = part;
    b.norm_inf = row_max * s.back;
    b.norm1 = (col_sums.empty() ? 0.0 : *std::max_element(col_sums.begin(), col_sums.end())) *
              s.back;
    b.frobenius = std::sqrt(squares) * s.back;
    return b;
  }

  const StorageIndex* indptr_;
  const StorageIndex* indices_;
  const Scalar* data_;
  Index rows_, cols_;
};

}  // namespace specnorm
