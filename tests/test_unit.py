"""The cmocka unit tests (built with ASan + UBSan), one pytest test per cmocka test."""
import glob
import os
import subprocess

import pytest

from conftest import BUILD


def unit_tests():
    for binary in sorted(glob.glob(os.path.join(BUILD, "tests", "unit", "test_*"))):
        if binary.endswith(".d"):
            continue
        names = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True)
        for name in names.stdout.split():
            yield pytest.param(binary, name, id=f"{os.path.basename(binary)}::{name}")


@pytest.mark.parametrize("binary,name", list(unit_tests()))
def test_unit(binary, name):
    r = subprocess.run([binary, name], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    # cmocka prints the verdict on stderr; exactly one test must have matched the name.
    assert "[  PASSED  ] 1 test(s)." in r.stdout + r.stderr, r.stdout + r.stderr


def test_unit_tests_were_built():
    assert len(list(unit_tests())) >= 20
