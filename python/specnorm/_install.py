"""How to install specnorm's optional parts: the one place that names the distribution.

The import name is ``specnorm``; the distribution is ``pyspecnorm`` (the name ``specnorm`` on the
package index belongs to an unrelated project, so ``pip install specnorm[...]`` would install that).
"""

from __future__ import annotations

#: The distribution name under which this package is built and installed (pyproject.toml).
DISTRIBUTION = "pyspecnorm"


def install_hint(extra: str) -> str:
    """The command that installs the optional dependencies named ``extra`` (a key of
    ``[project.optional-dependencies]``), from the package index and from a source checkout."""
    return f'pip install "{DISTRIBUTION}[{extra}]", or pip install ".[{extra}]" in a checkout'
