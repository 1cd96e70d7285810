// The module's functions for float64 arrays.
#include "bind_all.hpp"
#include "register.hpp"

void specnorm_python::register_float64(py::module_& m) { bind_all<double>(m); }
