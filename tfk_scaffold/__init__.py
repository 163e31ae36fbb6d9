"""tfk: bootstrap tested, runnable TensorFlow projects."""

__version__ = "0.21.0"
