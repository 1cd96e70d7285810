// The module's functions for complex64 arrays.
#include "bind_all.hpp"
#include "register.hpp"

void specnorm_python::register_complex64(py::module_& m) { bind_all<std::complex<float>>(m); }
