// The pieces of the module specnorm._core. The functions are grouped by concept in the
// bind_*.hpp headers, each a template over the dtype; the module's translation units are one
// per dtype (register_<dtype>.cpp), because the solvers' Eigen code is instantiated per dtype:
// split by concept, every unit would compile the same solvers again (twice the compiler time
// in all, docs/performance.md, "Build"). The four compile in parallel, beside types.cpp (the
// classes of the answers, the enums and the constants, bound once).
#pragma once

#include <pybind11/pybind11.h>

namespace specnorm_python {

// The classes, enums and constants shared by every dtype (types.cpp): added first, once, so that
// the functions' signatures name them.
void register_types(pybind11::module_& m);

// Each adds every function of the module (bind_all in bind_all.hpp) for one dtype. pybind11
// tries a name's overloads in the order they were added: module.cpp calls these in this order.
void register_float64(pybind11::module_& m);
void register_float32(pybind11::module_& m);
void register_complex64(pybind11::module_& m);
void register_complex128(pybind11::module_& m);

}  // namespace specnorm_python
