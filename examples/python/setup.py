"""The wheel carries a shared library, so it is tagged for a platform
(py3-none-<platform>): any Python 3, no CPython ABI, one operating system and
architecture; a manylinux tag when the build script names one. Everything
else is in pyproject.toml."""

import os

from setuptools import setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.dist import Distribution


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


class PlatformWheel(bdist_wheel):
    def get_tag(self):
        _, _, platform = super().get_tag()
        # scripts/build-python.sh names the manylinux platform the library
        # needs (from the newest glibc symbol version it links against).
        return "py3", "none", os.environ.get("OFFBOARD_WHEEL_PLATFORM") or platform


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
