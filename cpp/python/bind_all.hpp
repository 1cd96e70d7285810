// Every function of the module for one dtype, in the order the module lists them.
#pragma once

#include "bind_batch.hpp"
#include "bind_bounds.hpp"
#include "bind_dense.hpp"
#include "bind_small.hpp"
#include "bind_sparse.hpp"

namespace specnorm_python {

template <typename T>
void bind_all(py::module_& m) {
  bind_batch<T>(m);
  bind_dense<T>(m);
  bind_small<T>(m);
  bind_sparse<T>(m);  // int32 indices, then int64
  bind_bounds<T>(m);
}

}  // namespace specnorm_python
