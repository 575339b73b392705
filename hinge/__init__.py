"""hinge: knees first, then hips — deadlift timing from two IMUs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hinge-imu")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
