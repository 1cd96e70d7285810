// The module's classes, enums and constants, bound once for every dtype: the answers of the
// functions (results.hpp) as classes with read-only fields, the core's enums (Status, Method,
// BoundKind) and the constants the Python layer shares (its _rules.py; tests/test_rules.py
// checks that the two agree).
#include <pybind11/pybind11.h>
#if PY_VERSION_HEX < 0x030C0000
#include <structmember.h>  // T_OBJECT_EX, READONLY (Python.h names them from 3.12)
#define Py_T_OBJECT_EX T_OBJECT_EX
#define Py_READONLY READONLY
#endif
#if PYBIND11_VERSION_MAJOR >= 3
#include <pybind11/native_enum.h>
#endif

#include <array>
#include <cstddef>
#include <string>
#include <stdexcept>
#include <utility>

#include "register.hpp"
#include "results.hpp"
#include "specnorm/small.hpp"

namespace specnorm_python {
namespace {

template <typename E, std::size_t N>
using EnumValues = std::array<std::pair<const char*, E>, N>;

/// The members of a bound enum, in the order of their values 0, 1, ..., each one Python object
/// kept for the module's life (never released: the module is never unloaded). The fields of
/// the answers return these objects themselves rather than a new one per access (a cast would
/// build it, for a native enum by calling the enum class), so an access costs no allocation
/// and `field is Status.ok` holds.
template <std::size_t N>
class EnumMembers {
 public:
  template <typename E>
  py::object operator()(E value) const {
    return py::reinterpret_borrow<py::object>(members_.at(static_cast<std::size_t>(value)));
  }
  void set(std::size_t i, py::object member) { members_[i] = member.release().ptr(); }

 private:
  std::array<PyObject*, N> members_{};
};

EnumMembers<3> status_members;
EnumMembers<3> bound_kind_members;

// _core.SmallEstimate (results.hpp says why it is not a py::class_): a type whose instances hold
// one Python object per field, read through read-only T_OBJECT_EX members.
struct SmallEstimateObject {
  PyObject_HEAD
  PyObject* fields[9];
};

// The fields in the order of SmallEstimateObject::fields, with their documentation.
constexpr std::array<std::pair<const char*, const char*>, 9> small_fields{{
    {"status", "ok, or why nothing was computed (not_finite, zero)."},
    {"sigma", "||A v||: the estimate of sigma_1."},
    {"lower", "The largest ||A x|| / ||x|| seen: a certain lower bound on sigma_1."},
    {"upper", "A certain upper bound: the smaller of the one-pass bound and the kernel's."},
    {"residual", "||A^H u - sigma v|| / sigma."},
    {"iterations", "Products with A and with A^H, each counted once (as if matrix-free)."},
    {"converged", "The stopping rule was met."},
    {"u", "The unit left vector, or None (the call asked for no vectors, or the status is "
          "not ok)."},
    {"v", "The unit right vector, or None (as u)."},
}};

PyTypeObject* small_estimate_type = nullptr;  // kept for the module's life

void small_estimate_dealloc(PyObject* self) {
  auto* object = reinterpret_cast<SmallEstimateObject*>(self);
  for (PyObject*& field : object->fields) Py_CLEAR(field);
  PyTypeObject* type = Py_TYPE(self);
  type->tp_free(self);
  Py_DECREF(type);  // a heap type's instances hold a reference to it
}

PyObject* small_estimate_repr(PyObject* self) {
  PyObject* const* f = reinterpret_cast<SmallEstimateObject*>(self)->fields;
  PyObject* status = PyObject_GetAttrString(f[0], "name");
  if (status == nullptr) return nullptr;
  PyObject* out = PyUnicode_FromFormat(
      "SmallEstimate(status=%U, sigma=%R, lower=%R, upper=%R, residual=%R, iterations=%R, "
      "converged=%R)",
      status, f[1], f[2], f[3], f[4], f[5], f[6]);
  Py_DECREF(status);
  return out;
}

void bind_small_estimate(py::module_& m) {
  static std::array<PyMemberDef, small_fields.size() + 1> members{};
  for (std::size_t i = 0; i < small_fields.size(); ++i) {
    members[i] = PyMemberDef{small_fields[i].first, Py_T_OBJECT_EX,
                             static_cast<Py_ssize_t>(offsetof(SmallEstimateObject, fields) +
                                                     i * sizeof(PyObject*)),
                             Py_READONLY, small_fields[i].second};
  }
  static const char doc[] =
      "A small matrix's answer by the Gram kernel (estimate_small). Where status is not ok "
      "nothing was computed: the numbers are 0 and converged is true.";
  static std::array<PyType_Slot, 5> slots{{
      {Py_tp_dealloc, reinterpret_cast<void*>(small_estimate_dealloc)},
      {Py_tp_repr, reinterpret_cast<void*>(small_estimate_repr)},
      {Py_tp_members, members.data()},
      {Py_tp_doc, const_cast<char*>(doc)},
      {0, nullptr},
  }};
  static PyType_Spec spec{"specnorm._core.SmallEstimate", sizeof(SmallEstimateObject), 0,
                          Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, slots.data()};
  PyObject* type = PyType_FromSpec(&spec);
  if (type == nullptr) throw py::error_already_set();
  small_estimate_type = reinterpret_cast<PyTypeObject*>(type);  // this reference is kept
  m.attr("SmallEstimate") = py::reinterpret_borrow<py::object>(type);
}

/// Binds E as the enum `name` of the module and keeps its members in `members`: an
/// enum.IntEnum with pybind11 3 (py::native_enum), a py::enum_ that compares with integers
/// before.
template <typename E, std::size_t N>
void bind_enum(py::module_& m, const char* name, const char* doc, const EnumValues<E, N>& values,
               EnumMembers<N>* members = nullptr) {
#if PYBIND11_VERSION_MAJOR >= 3
  py::native_enum<E> bound(m, name, "enum.IntEnum", doc);
  for (const auto& [key, value] : values) bound.value(key, value);
  bound.finalize();
#else
  py::enum_<E> bound(m, name, py::arithmetic(), doc);
  for (const auto& [key, value] : values) bound.value(key, value);
#endif
  const py::object type = m.attr(name);
  for (std::size_t i = 0; i < N; ++i) {
    if (static_cast<std::size_t>(values[i].second) != i)
      throw std::logic_error(std::string(name) + ": values must be 0, 1, ... in order");
    if (members) members->set(i, type.attr(values[i].first));
  }
}

void bind_enums(py::module_& m) {
  using specnorm::BoundKind;
  using specnorm::Method;
  using specnorm::Status;
  bind_enum(m, "Status",
            "What the one-pass bounds left to compute: ok (the solver ran), not_finite (an "
            "entry is NaN or infinite) or zero (A = 0, sigma = 0 exactly).",
            EnumValues<Status, 3>{{{"ok", Status::ok},
                                   {"not_finite", Status::not_finite},
                                   {"zero", Status::zero}}},
            &status_members);
  bind_enum(m, "Method",
            "The solvers of the core: power iteration, Lanczos bidiagonalization, Rayleigh-"
            "quotient iteration (estimate, estimate_sparse, estimate_batch) and the Gram kernel "
            "for small matrices (estimate_batch; estimate_small runs it alone).",
            EnumValues<Method, 4>{{{"power", Method::power},
                                   {"lanczos", Method::lanczos},
                                   {"rayleigh", Method::rayleigh},
                                   {"gram", Method::gram}}});
  bind_enum(m, "BoundKind",
            "Which random-start bound (Kuczynski & Wozniakowski) a run supports: none, power "
            "(the Rayleigh quotient of (A^H A)^(k-1) v0) or lanczos (the largest Ritz value of "
            "the Krylov space of dimension k), k being bound_steps.",
            EnumValues<BoundKind, 3>{{{"none", BoundKind::none},
                                      {"power", BoundKind::power},
                                      {"lanczos", BoundKind::lanczos}}},
            &bound_kind_members);
}

void bind_results(py::module_& m) {
  using specnorm::DenseBounds;
  py::class_<DenseBounds>(m, "Bounds",
                          "The one-pass bounds of a matrix's entries (dense_bounds; the bounds "
                          "of estimate_sparse's answer).")
      .def_readonly("finite", &DenseBounds::finite, "No entry is NaN or infinite.")
      .def_readonly("frobenius", &DenseBounds::frobenius, "||A||_F.")
      .def_readonly("norm1", &DenseBounds::norm1, "||A||_1, the largest column sum of |a_ij|.")
      .def_readonly("norm_inf", &DenseBounds::norm_inf,
                    "||A||_inf, the largest row sum of |a_ij|.")
      .def_readonly("largest_part", &DenseBounds::largest_part,
                    "The largest |real part| or |imaginary part| of an entry.")
      .def_property_readonly("upper", &DenseBounds::upper,
                             "The certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf)) >= "
                             "sigma_1.")
      .def("__repr__", [](const DenseBounds& b) {
        return py::str("Bounds(finite={!r}, upper={!r}, frobenius={!r}, norm1={!r}, "
                       "norm_inf={!r})")
            .format(b.finite, b.upper(), b.frobenius, b.norm1, b.norm_inf);
      });

  py::class_<PyEstimate>(m, "Estimate",
                         "One matrix's estimate from an iterative method (estimate, "
                         "estimate_sparse).")
      .def_readonly("sigma", &PyEstimate::sigma, "||A v||: the estimate of sigma_1.")
      .def_readonly("lower", &PyEstimate::lower,
                    "The largest ||A x|| / ||x|| seen: a certain lower bound on sigma_1.")
      .def_readonly("residual", &PyEstimate::residual, "||A^H u - sigma v|| / sigma.")
      .def_readonly("upper", &PyEstimate::upper,
                    "A certain upper bound the solver found, else inf.")
      .def_readonly("u", &PyEstimate::u, "The unit left vector: A v = sigma u.")
      .def_readonly("v", &PyEstimate::v, "The unit right vector.")
      .def_readonly("iterations", &PyEstimate::iterations,
                    "Products with A and with A^H, each counted once.")
      .def_readonly("converged", &PyEstimate::converged, "The stopping rule was met.")
      .def_property_readonly(
          "bound_kind", [](const PyEstimate& e) { return bound_kind_members(e.bound_kind); },
          "The random-start bound the run supports.")
      .def_readonly("bound_steps", &PyEstimate::bound_steps,
                    "The k of that bound (the steps from the start vector).")
      .def("__repr__", [](const PyEstimate& e) {
        return py::str("Estimate(sigma={!r}, lower={!r}, residual={!r}, iterations={!r}, "
                       "converged={!r}, bound_kind={!s}, bound_steps={!r})")
            .format(e.sigma, e.lower, e.residual, e.iterations, e.converged,
                    bound_kind_members(e.bound_kind).attr("name"), e.bound_steps);
      });

  py::class_<PySparseEstimate>(m, "SparseEstimate",
                               "A sparse matrix's answer (estimate_sparse): its bounds, and the "
                               "estimate where they left one to compute.")
      .def_readonly("bounds", &PySparseEstimate::bounds, "The one-pass bounds of the entries.")
      .def_readonly("estimate", &PySparseEstimate::estimate,
                    "The Estimate where every entry is finite and A != 0, else None (nothing "
                    "was computed).");

  py::class_<PyBatchBounds>(m, "BatchBounds",
                            "The one-pass bounds of every matrix of a batch, arrays of shape "
                            "(B,).")
      .def_readonly("finite", &PyBatchBounds::finite, "No entry is NaN or infinite (bool).")
      .def_readonly("upper", &PyBatchBounds::upper,
                    "The certain bound min(||A||_F, sqrt(||A||_1 ||A||_inf)) (float64).");

  py::class_<PyBatchEstimate>(m, "BatchEstimate",
                              "Every matrix of a batch (estimate_batch): each field an array "
                              "over the batch. Where computed is false the matrix was not "
                              "finite or zero: u and v are the first unit vectors.")
      .def_readonly("sigma", &PyBatchEstimate::sigma, "The estimates of sigma_1 (float64).")
      .def_readonly("lower", &PyBatchEstimate::lower, "Certain lower bounds (float64).")
      .def_readonly("residual", &PyBatchEstimate::residual,
                    "||A^H u - sigma v|| / sigma (float64).")
      .def_readonly("upper", &PyBatchEstimate::upper,
                    "Certain upper bounds the solver found (the Gram kernel's), else inf "
                    "(float64).")
      .def_readonly("iterations", &PyBatchEstimate::iterations,
                    "Products with A and with A^H (int64).")
      .def_readonly("bound_steps", &PyBatchEstimate::bound_steps,
                    "The k of each random-start bound (int64).")
      .def_readonly("bound_kind", &PyBatchEstimate::bound_kind,
                    "The random-start bound of each run, by its BoundKind value (int8).")
      .def_readonly("converged", &PyBatchEstimate::converged, "The stopping rule was met (bool).")
      .def_readonly("computed", &PyBatchEstimate::computed,
                    "A solver ran: the status of the matrix's bounds was ok (bool).")
      .def_readonly("u", &PyBatchEstimate::u, "The unit left vectors, shape (B, m).")
      .def_readonly("v", &PyBatchEstimate::v, "The unit right vectors, shape (B, n).")
      .def_readonly("bounds", &PyBatchEstimate::bounds, "The one-pass bounds of every matrix.");
}

void bind_constants(py::module_& m) {
  m.attr("UNDERFLOW_SQUARES") = specnorm::underflow_squares;
  m.attr("BASIS_VECTORS") = specnorm::default_basis_size;
  m.attr("LANCZOS_TINY") = specnorm::lanczos_tiny_factor;
  m.attr("DGKS_RATIO") = specnorm::dgks_ratio;
  m.attr("RESTART_DIVISOR") = specnorm::restart_divisor;
  m.attr("RAYLEIGH_INNER_STEPS") = specnorm::rayleigh_inner_steps;
  m.attr("RAYLEIGH_MINRES_RTOL") = specnorm::rayleigh_minres_rtol;
  m.attr("MISS_PROBABILITY") = specnorm::miss_probability;
  m.attr("START_MIX") = specnorm::start_mix;
  m.attr("GRAM_CUTOFF") = specnorm::gram_cutoff;
}

}  // namespace

py::object small_estimate_object(const PySmallEstimate& answer) {
  PyObject* self = small_estimate_type->tp_alloc(small_estimate_type, 0);
  if (self == nullptr) throw py::error_already_set();
  py::object out = py::reinterpret_steal<py::object>(self);
  PyObject** f = reinterpret_cast<SmallEstimateObject*>(self)->fields;
  f[0] = status_members(answer.status).release().ptr();
  f[1] = PyFloat_FromDouble(answer.sigma);
  f[2] = PyFloat_FromDouble(answer.lower);
  f[3] = PyFloat_FromDouble(answer.upper);
  f[4] = PyFloat_FromDouble(answer.residual);
  f[5] = PyLong_FromSsize_t(static_cast<Py_ssize_t>(answer.iterations));
  f[6] = PyBool_FromLong(answer.converged ? 1 : 0);
  f[7] = answer.u.inc_ref().ptr();
  f[8] = answer.v.inc_ref().ptr();
  for (std::size_t i = 1; i < 6; ++i)
    if (f[i] == nullptr) throw py::error_already_set();  // out of memory
  return out;
}

void register_types(py::module_& m) {
  bind_enums(m);
  bind_results(m);
  bind_small_estimate(m);
  bind_constants(m);
}

}  // namespace specnorm_python
