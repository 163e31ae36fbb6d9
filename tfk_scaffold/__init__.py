"""tfk: bootstrap tested, runnable TensorFlow projects."""

__version__ = "0.24.0"
