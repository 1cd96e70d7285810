// The module specnorm._core: the Eigen-only core under cpp/specnorm/ bound to Python, one
// translation unit per dtype (register.hpp).
#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  namespace sp = specnorm_python;
  m.doc() = "The C++/Eigen core of specnorm (private: use the functions of specnorm).";
  sp::register_types(m);    // the answers' classes, the enums and the constants, once
  sp::register_float64(m);  // the commonest dtype first: overloads are tried in order
  sp::register_float32(m);
  sp::register_complex64(m);
  sp::register_complex128(m);
}
