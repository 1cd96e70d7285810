// The module's functions for float32 arrays.
#include "bind_all.hpp"
#include "register.hpp"

void specnorm_python::register_float32(py::module_& m) { bind_all<float>(m); }
