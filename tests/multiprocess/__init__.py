"""Tests across OS processes: several workers against one served emulator, limits shared through Redis."""

import pytest

# The scenarios' and the harness's asserts report their values, as a test module's do.
pytest.register_assert_rewrite("tests.multiprocess.scenarios", "tests.multiprocess.harness")
