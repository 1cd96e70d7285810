// The module's functions for complex128 arrays.
#include "bind_all.hpp"
#include "register.hpp"

void specnorm_python::register_complex128(py::module_& m) { bind_all<std::complex<double>>(m); }
