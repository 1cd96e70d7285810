"""The command line's ``sigma``, ``demo`` and shared options (``report`` is in test_report.py):
what it reads, what it prints and the messages of its errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from specnorm import _report
from specnorm._rules import METHODS
from specnorm.cli import SIGMA_SUFFIXES, main

HEADER = ["matrix", "sigma", "exact (SVD)", "rel. error", "bracket [lower, upper]", "confidence",
          "iterations"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def check_rows(out: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header's column names and each row of ``sigma --check`` as name -> cell."""
    lines = out.splitlines()
    names = re.split(r"\s{2,}", lines[0].strip())
    assert set(lines[1]) == {"-", " "}
    rows = []
    pattern = re.compile(r"^(\S+(?:\[[\d, ]+\])?)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\[\S+, \S+\])\s+"
                         r"(\S+)\s+(\d+\*?)$")
    for line in lines[2:]:
        match = pattern.match(line)
        if match is None:
            break
        rows.append(dict(zip(names, match.groups(), strict=True)))
    return names, rows


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rng = np.random.default_rng(11)
    np.save(tmp_path / "A.npy", rng.standard_normal((120, 80)))
    np.save(tmp_path / "stack.npy", rng.standard_normal((2, 3, 30, 20)))
    (tmp_path / "A.csv").write_text("1,2\n3,4\n")
    np.savez(tmp_path / "weights.npz", w=np.eye(3))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- what sigma reads -------------------------------------------------------------------------

def test_sigma_names_an_unknown_file_type_with_the_reports_message(capsys, files):
    status, out, err = run(capsys, "sigma", "A.csv")
    assert status == 2 and out == ""
    expected = "unknown file type 'A.csv': expected one of .npy, .mtx, .mtx.gz, .mtx.bz2"
    assert err == f"specnorm: {expected}\n"
    with pytest.raises(_report.ReportError) as info:  # the same code, with sigma's file types
        _report.file_type("A.csv", SIGMA_SUFFIXES)
    assert str(info.value) == expected
    status, _, report_err = run(capsys, "report", "A.csv")
    assert status == 2
    assert report_err == ("specnorm: unknown file type 'A.csv': expected one of "
                          f"{', '.join(_report.SUFFIXES)}\n")


def test_sigma_sends_a_checkpoint_to_report(capsys, files):
    status, out, err = run(capsys, "sigma", "weights.npz")
    assert status == 2 and out == ""
    assert err == ("specnorm: 'weights.npz' is a checkpoint of named tensors: specnorm sigma "
                   "reads one matrix or stack (.npy, .mtx, .mtx.gz, .mtx.bz2); specnorm report "
                   "weights.npz estimates each weight\n")


def test_sigma_of_a_missing_or_corrupt_file_says_so(capsys, files):
    status, out, err = run(capsys, "sigma", "missing.npy")
    assert (status, out, err) == (2, "", "specnorm: no such file: missing.npy\n")
    (files / "bad.npy").write_bytes(b"not an array")
    status, out, err = run(capsys, "sigma", "bad.npy")
    assert status == 2 and out == "" and err.startswith("specnorm: cannot read bad.npy: ")
    assert "\n" not in err.rstrip("\n")


def test_sigma_reads_a_matrix_market_file(capsys, files):
    sparse = pytest.importorskip("scipy.sparse")
    io = pytest.importorskip("scipy.io")
    a = sparse.random(60, 40, density=0.2, random_state=3, format="coo")
    io.mmwrite(str(files / "graph.mtx"), a)
    status, out, err = run(capsys, "sigma", "graph.mtx", "--tol", "1e-10")
    assert status == 0, err
    exact = np.linalg.svd(a.toarray(), compute_uv=False)[0]
    assert float(out) == pytest.approx(exact, rel=1e-8)


def test_sigma_prints_17_digits_per_matrix(capsys, files):
    status, out, err = run(capsys, "sigma", "stack.npy", "--tol", "1e-10")
    assert status == 0, err
    exact = np.linalg.svd(np.load(files / "stack.npy"), compute_uv=False)[..., 0]
    lines = out.splitlines()
    assert len(lines) == 6
    for line, idx in zip(lines, np.ndindex(2, 3), strict=True):
        head, value = line.rsplit(" ", 1)
        assert head == str(idx)
        assert float(value) == pytest.approx(exact[idx], rel=1e-8)


# --- sigma --check ------------------------------------------------------------------------------

def test_check_prints_a_table_row_per_matrix_of_a_stack(capsys, files):
    status, out, err = run(capsys, "sigma", "stack.npy", "--check")
    assert status == 0, err
    assert "[[" not in out and "array(" not in out  # no raw array repr
    names, rows = check_rows(out)
    assert names == HEADER
    exact = np.linalg.svd(np.load(files / "stack.npy"), compute_uv=False)[..., 0]
    assert [r["matrix"] for r in rows] == [f"stack[{i}, {j}]" for i, j in np.ndindex(2, 3)]
    for row, idx in zip(rows, np.ndindex(2, 3), strict=True):
        sigma, shown_exact = float(row["sigma"]), float(row["exact (SVD)"])
        assert shown_exact == exact[idx]  # 17 digits: the float64 value itself
        assert float(row["rel. error"]) == pytest.approx(abs(sigma - exact[idx]) / exact[idx],
                                                         rel=0.01, abs=1e-18)
        lower, upper = (float(x) for x in row["bracket [lower, upper]"][1:-1].split(", "))
        assert lower <= exact[idx] * (1 + 1e-12) and exact[idx] <= upper
    assert re.fullmatch(r"method: (svd|power), backend: \w+", out.splitlines()[-1])


@pytest.mark.parametrize("method", ["auto", "lanczos", "power"])
def test_check_on_one_matrix_prints_the_same_table(capsys, files, method):
    status, out, err = run(capsys, "sigma", "A.npy", "--check", "--method", method)
    assert status == 0, err
    names, rows = check_rows(out)
    assert names == HEADER and len(rows) == 1
    (row,) = rows
    assert row["matrix"] == "A"
    exact = np.linalg.svd(np.load(files / "A.npy"), compute_uv=False)[0]
    assert float(row["exact (SVD)"]) == exact
    assert float(row["sigma"]) == pytest.approx(exact, rel=1e-5)
    assert float(row["confidence"]) in (0.999, 1.0)
    assert not row["iterations"].endswith("*")
    assert out.splitlines()[-1].startswith(f"method: {'lanczos' if method == 'auto' else method}")
    assert len(out.splitlines()) == 4  # header, rule, the row, method and backend


def test_check_marks_a_matrix_that_did_not_converge(capsys, files, monkeypatch):
    import specnorm.cli as cli

    real = cli.estimate
    monkeypatch.setattr(cli, "estimate", lambda *a, **kw: real(*a, **kw, maxiter=4))
    status, out, err = run(capsys, "sigma", "A.npy", "--check", "--method", "power",
                           "--tol", "1e-12")
    assert status == 0, err
    _, (row,) = check_rows(out)
    assert row["iterations"] == "4*"
    assert ("* not converged within the iteration budget: sigma is approximate, the bracket "
            "still holds") in out.splitlines()


# --- options ------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["sigma", "demo", "report"])
def test_every_option_has_help_and_shows_its_default(capsys, monkeypatch, command):
    monkeypatch.setenv("COLUMNS", "400")  # argparse wraps help to the terminal's width
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    options: dict[str, str] = {}  # option -> its entry, continuation lines joined
    last = None
    for line in out.splitlines():
        if line.startswith("  -"):
            last = line.split()[0]
            options[last] = line.strip()
        elif last is not None and line.startswith("    "):
            options[last] += "  " + line.strip()
        else:
            last = None
    if command != "demo":
        assert "--method {" + ",".join(METHODS) + "}" in options["--method"]
        assert options["--method"].endswith("(default: auto)")
    assert re.fullmatch(r"--tol TOL\s+the relative accuracy asked for, 0 < TOL < 1 "
                        r"\(default: 1e-06\)", options["--tol"])
    assert options["--seed"].endswith("(default: 0)")
    assert options["--backend"].endswith("(default: auto)")
    assert all(re.search(r"\S\s{2,}\S", line) for line in options.values())  # a help text each


def test_a_bad_tol_is_one_line_with_status_2(capsys, files):
    status, out, err = run(capsys, "sigma", "A.npy", "--tol", "2")
    assert (status, out, err) == (2, "", "specnorm: tol must lie in (0, 1), got 2.0\n")


# --- files named .npy that are not NumPy arrays of numbers -------------------------------------

@pytest.mark.parametrize("command", ["sigma", "report"])
def test_a_text_file_named_npy_is_said_not_to_be_a_npy_file(capsys, files, command):
    (files / "x.npy").write_text("1 2\n3 4\n")
    status, out, err = run(capsys, command, "x.npy")
    assert (status, out) == (2, "")
    assert err == ("specnorm: cannot read x.npy: not a NumPy .npy file (it does not start "
                   "with the .npy signature \\x93NUMPY)\n")
    assert "pickle" not in err


@pytest.mark.parametrize("command", ["sigma", "report"])
def test_a_zip_archive_named_npy_is_said_to_be_an_archive(capsys, files, command):
    np.savez(files / "w.npz", w=np.eye(3))
    (files / "w.npz").rename(files / "w.npy")
    status, out, err = run(capsys, command, "w.npy")
    assert (status, out) == (2, "")
    assert err == ("specnorm: cannot read w.npy: not a NumPy .npy file but a zip archive "
                   "(a .npz checkpoint named .npy?)\n")


@pytest.mark.parametrize("command", ["sigma", "report"])
@pytest.mark.parametrize("dtype", [object, [("a", "f8"), ("b", "O")]],
                         ids=["object", "record-with-object"])
def test_an_object_array_is_refused_without_loading_its_pickle(capsys, files, command, dtype,
                                                               monkeypatch):
    np.save(files / "objects.npy", np.zeros((2, 2), dtype=dtype), allow_pickle=True)
    loads = []
    monkeypatch.setattr("pickle.load", lambda *a, **k: loads.append(a))
    status, out, err = run(capsys, command, "objects.npy")
    assert (status, out) == (2, "")
    assert err.startswith("specnorm: cannot read objects.npy: it holds an array of Python "
                          f"objects (dtype {np.dtype(dtype)}), not numbers; ")
    assert "never loads" in err and "\n" not in err.rstrip("\n")
    assert loads == []


def test_a_npy_file_of_numbers_is_still_read_after_the_signature_check(capsys, files):
    for version in [(1, 0), (2, 0)]:
        a = np.arange(6.0).reshape(2, 3)
        with open(files / "v.npy", "wb") as fp:
            np.lib.format.write_array(fp, a, version=version)
        status, out, err = run(capsys, "sigma", "v.npy", "--method", "svd")
        assert status == 0, err
        assert float(out) == pytest.approx(np.linalg.svd(a, compute_uv=False)[0], rel=1e-12)
