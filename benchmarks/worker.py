"""One measurement in a fresh process; `run.py` starts it and reads its JSON.

    python benchmarks/worker.py MODE --project DIR --package NAME --out FILE
        [--set key=value ...]

MODE is one of:
  style   run the generated project's own `train.train(config)`, timing each epoch
          through a callback (keras, hybrid) or a wrapper around the compiled
          step function (tf); nothing in the generated code is changed.
  plain   the reference: the same network built with `keras.Sequential` and
          trained by `Model.fit` with default settings (no steps_per_execution,
          no callbacks), on the same `make_dataset` batches.
  data    the generated `make_dataset("train", config)` alone, iterated.
  matmul  the layer-shaped matmul peak: [256, 512] x [512, 512] in a tf.function.
  client  HTTP load on a running `serve`: --connections keep-alive connections
          (one thread each, http.client), single-instance predict requests from
          --start (a time.time() shared by all clients) for --warmup s untimed,
          then --duration s timed; no TensorFlow import.
  direct  the exported model's `signatures["serving_default"]` called on one
          instance in a loop, same --warmup and --duration; no HTTP.

Pass --no-keras to block Keras before TensorFlow is imported (the tf style must
train without it).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

STARTED = time.perf_counter()


def main() -> None:
    args = parse_args()
    if args.mode == "client":  # before TensorFlow: a client needs none of it
        Path(args.out).write_text(json.dumps(http_client(args)))
        return
    if args.no_keras:
        sys.modules["keras"] = None  # the tf style must not need Keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    import tensorflow as tf  # noqa: F401  (timed: the import is part of start-up)

    imported = time.perf_counter()
    result = {"mode": args.mode, "import_s": imported - STARTED}
    if args.mode == "matmul":
        result.update(matmul_peak(args.repeats))
    elif args.mode == "direct":
        result.update(direct_calls(args))
    else:
        sys.path.insert(0, str(Path(args.project) / "src"))
        package = args.package
        config = importlib.import_module(f"{package}.config").load_config(
            Path(args.project) / "config.toml", args.set
        )
        data = importlib.import_module(f"{package}.data")
        result["train_examples"] = int(
            data.split_mask(config.data.num_samples, "train", config).sum()
        )
        if args.mode == "style":
            result.update(run_style(package, config, args.style, args.whatif))
        elif args.mode == "plain":
            result.update(run_plain(data, config))
        elif args.mode == "data":
            result.update(run_data(data, config, args.epochs))
    Path(args.out).write_text(json.dumps(result))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "mode", choices=["style", "plain", "data", "matmul", "client", "direct"]
    )
    parser.add_argument("--project", default="")
    parser.add_argument("--package", default="")
    parser.add_argument("--style", default="")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument(
        "--whatif",
        action="append",
        default=[],
        choices=sorted(WHATIFS),
        help="train with a benchmark-side change (the templates stay as they are)",
    )
    parser.add_argument("--url", default="", help="client: the predict URL")
    parser.add_argument("--export", default="", help="direct: an export/<N> dir")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--out", required=True)
    return parser.parse_args()


class EpochClock:
    """Start and end of the training phase of each epoch, and the first step.

    Wall time and this process's CPU time (all threads) are both recorded: on a
    shared machine wall time grows with other processes' load, CPU time much less.
    """

    def __init__(self) -> None:
        self.train_called = 0.0
        self.first_step = 0.0
        self.starts: list[tuple[float, float]] = []
        self.ends: list[tuple[float, float]] = []

    @staticmethod
    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def epoch_started(self) -> None:
        self.starts.append(self.now())

    def step_done(self) -> None:
        if not self.first_step:
            self.first_step = time.perf_counter()

    def training_done(self) -> None:
        """End of this epoch's training phase, before validation."""
        if len(self.ends) < len(self.starts):
            self.ends.append(self.now())

    def report(self) -> dict:
        pairs = list(zip(self.starts, self.ends, strict=True))
        # Epoch wall time: from one epoch's start to the next one's, so it holds
        # validation, checkpoints, summaries and callbacks as well as training.
        walls = [
            b[0] - a[0] for a, b in zip(self.starts, self.starts[1:], strict=False)
        ]
        return {
            "first_step_s": self.first_step - self.train_called,
            "first_step_since_process_s": self.first_step - STARTED,
            "train_phase_s": [end[0] - start[0] for start, end in pairs],
            "train_phase_cpu_s": [end[1] - start[1] for start, end in pairs],
            "epoch_wall_s": walls,
        }


def keras_callback(clock: EpochClock):
    import keras

    class Timing(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            clock.epoch_started()

        def on_train_batch_end(self, batch, logs=None):
            clock.step_done()

        def on_test_begin(self, logs=None):
            clock.training_done()

        def on_epoch_end(self, epoch, logs=None):
            clock.training_done()  # no-op when validation already closed it

    return Timing()


def run_style(package: str, config, style: str, whatifs: list[str]) -> dict:
    train = importlib.import_module(f"{package}.train")
    data = importlib.import_module(f"{package}.data")
    for whatif in whatifs:
        WHATIFS[whatif](train, data)
    clock = EpochClock()
    if style == "tf":
        make_train_steps = train.make_train_steps

        def timed_make_train_steps(*args, **kwargs):
            steps_fn = make_train_steps(*args, **kwargs)

            def timed(batches, steps):
                if len(clock.starts) == len(clock.ends):
                    clock.epoch_started()
                done = int(steps_fn(batches, steps))  # int() waits for the graph
                clock.step_done()
                if done == 0:
                    clock.training_done()
                return done

            return timed

        train.make_train_steps = timed_make_train_steps
    else:
        make_callbacks = train.make_callbacks
        train.make_callbacks = lambda run_dir: [
            *make_callbacks(run_dir),
            keras_callback(clock),
        ]
    clock.train_called = time.perf_counter()
    metrics = train.train(config)
    return {**clock.report(), "metrics": {k: float(v) for k, v in metrics.items()}}


def run_plain(data, config) -> dict:
    import keras

    clock = EpochClock()
    clock.train_called = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    info = data.describe(config)
    train_data = data.make_dataset("train", config)
    validation_data = data.make_dataset("validation", config)
    mean, variance = data.feature_statistics(config)
    layers = [
        keras.Input((info.num_features,)),
        keras.layers.Normalization(mean=mean, variance=variance),
    ]
    layers += [
        keras.layers.Dense(units, activation="relu")
        for units in config.model.hidden_units
    ]
    model = keras.Sequential([*layers, keras.layers.Dense(info.num_classes)])
    model.compile(
        optimizer=keras.optimizers.Adam(config.train.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=config.train.epochs,
        callbacks=[keras_callback(clock)],
        verbose=0,  # no progress bar: the reference pays for no printing
    )
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    return {**clock.report(), "metrics": metrics}


def run_data(data, config, epochs: int) -> dict:
    import tensorflow as tf

    def count(total, batch):
        return total + tf.shape(batch[1])[0]

    result = {}
    for name, make in (
        ("generated", data.make_dataset),
        ("vectorized", functools.partial(vectorized_dataset, data)),
    ):
        dataset = make("train", config)
        for how in ("python", "graph"):
            seconds = []
            for _ in range(epochs):
                started = time.perf_counter()
                if how == "python":
                    for _batch in dataset:
                        pass
                else:
                    int(dataset.reduce(tf.constant(0), count))
                seconds.append(time.perf_counter() - started)
            result[f"{name}_{how}_epoch_s"] = seconds
    return result


# --- What-ifs: benchmark-side changes, measured to back a recommendation ----------


def vectorized_dataset(data, split, config, *, batch_size=None, repeat=False):
    """The synthetic-data pipeline shuffling row indices and gathering whole
    batches, instead of shuffling and batching 100-float rows one by one."""
    import tensorflow as tf

    mask = data.split_mask(config.data.num_samples, split, config)
    features, labels = data.sources.synthetic_arrays(config)
    features, labels = tf.constant(features[mask]), tf.constant(labels[mask])
    indices = tf.data.Dataset.range(int(mask.sum()))
    if split == "train":
        indices = indices.shuffle(
            int(mask.sum()), seed=config.seed, reshuffle_each_iteration=True
        )
    if repeat:
        indices = indices.repeat()
    return (
        indices.batch(batch_size or config.train.batch_size)
        .map(
            lambda rows: (tf.gather(features, rows), tf.gather(labels, rows)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        .prefetch(tf.data.AUTOTUNE)
    )


def use_vectorized_data(train, data) -> None:
    train.make_dataset = functools.partial(vectorized_dataset, data)


def no_determinism(train, data) -> None:
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism = lambda: None


def no_histograms(train, data) -> None:
    """TensorBoard scalars only: no weight histograms written every epoch."""
    import keras

    make_callbacks = train.make_callbacks

    def callbacks(run_dir):
        return [
            (
                keras.callbacks.TensorBoard(log_dir=str(run_dir), histogram_freq=0)
                if isinstance(callback, keras.callbacks.TensorBoard)
                else callback
            )
            for callback in make_callbacks(run_dir)
        ]

    train.make_callbacks = callbacks


WHATIFS = {
    "vectorized-data": use_vectorized_data,
    "no-determinism": no_determinism,
    "no-histograms": no_histograms,
}


def matmul_peak(repeats: int) -> dict:
    import tensorflow as tf

    a = tf.random.normal([256, 512])
    b = tf.random.normal([512, 512]) / 512**0.5
    iterations = 200

    @tf.function
    def chain(x):
        # Each product feeds the next, so nothing can be hoisted out of the loop;
        # tanh keeps values bounded (0.1% of the work).
        for _ in tf.range(iterations):
            x = tf.tanh(tf.matmul(x, b))
        return x

    chain(a).numpy()  # trace and warm up
    seconds, cpu_seconds = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        chain(a).numpy()
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
    flops = 2 * 256 * 512 * 512 * iterations
    return {"flops_per_call": flops, "seconds": seconds, "cpu_seconds": cpu_seconds}


# --- Serving: HTTP clients and direct signature calls -----------------------------

FEATURES = 100
# A hard cap per connection, whatever the duration: ~20x the target rate for 5 s.
MAX_REQUESTS = 30_000


def http_client(args: argparse.Namespace) -> dict:
    """Keep-alive predict requests on --connections threads; per-request latency."""
    import http.client
    import random
    import threading
    from urllib.parse import urlsplit

    url = urlsplit(args.url)
    rng = random.Random(0)
    row = [round(rng.uniform(-1, 1), 6) for _ in range(FEATURES)]
    body = json.dumps({"instances": [row]}).encode()
    headers = {"Content-Type": "application/json"}
    start = args.start or time.time()
    warm_until, stop_at = start + args.warmup, start + args.warmup + args.duration
    latencies: list[list[float]] = [[] for _ in range(args.connections)]
    errors = [0] * args.connections
    sent = [0] * args.connections  # warm-up included: what the server answered

    def one(index: int) -> None:
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        timed = latencies[index]
        time.sleep(max(0.0, start - time.time()))
        try:
            while sent[index] < MAX_REQUESTS:
                now = time.time()
                if now >= stop_at:
                    break
                began = time.perf_counter()
                connection.request("POST", url.path, body, headers)
                response = connection.getresponse()
                payload = response.read()
                took = time.perf_counter() - began
                sent[index] += 1
                if response.status != 200 or b"predictions" not in payload:
                    errors[index] += 1
                elif now >= warm_until:
                    timed.append(took)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "mode": "client",
        "latencies_s": [x for part in latencies for x in part],
        "errors": sum(errors),
        "sent": sum(sent),
        "duration_s": args.duration,
    }


def direct_calls(args: argparse.Namespace) -> dict:
    """`signatures["serving_default"]` on one instance, as the server calls it."""
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(args.export)
    function = loaded.signatures["serving_default"]
    (name,) = function.structured_input_signature[1]
    rng = np.random.default_rng(0)
    row = rng.uniform(-1, 1, size=(1, FEATURES)).astype(np.float32)
    start = time.time()
    warm_until, stop_at = start + args.warmup, start + args.warmup + args.duration
    latencies: list[float] = []
    while time.time() < stop_at and len(latencies) < 20 * MAX_REQUESTS:
        now = time.time()
        began = time.perf_counter()
        for value in function(**{name: tf.constant(row)}).values():
            value.numpy()  # what the server does before writing JSON
        took = time.perf_counter() - began
        if now >= warm_until:
            latencies.append(took)
    return {"latencies_s": latencies, "duration_s": args.duration}


if __name__ == "__main__":
    main()
