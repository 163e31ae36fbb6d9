"""tfk: bootstrap tested, runnable TensorFlow projects."""

__version__ = "0.26.10"
