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
  data    the generated training stream, `make_dataset("train", repeat=True)`,
          alone: one iterator, `steps_per_epoch` batches an epoch.
  matmul  matmul peaks of the configured MLP's shapes: its widest layer's
          product chained, and every product of a training step chained.
  client  HTTP load on a running `serve`: --connections keep-alive connections
          (one thread each, http.client), single-instance predict requests from
          --start (a time.time() shared by all clients) for --warmup s untimed,
          then --duration s timed; no TensorFlow import.
  direct  the exported model's `signatures["serving_default"]` called on one
          instance in a loop, same --warmup and --duration; no HTTP.
  firstpass  the project's first pass over its data file (`sources.load`: read,
          parse, type, statistics), timed alone, with the peak RSS before it.
  pandas  `pandas.read_csv` of --csv, timed alone (the benchmark's own venv).
  pandasseq  what a user would write instead for a long CSV of sequences (id,
          step, features, label): pandas.read_csv, sort, group by id, padded
          into a NumPy [sequences, longest, features] array (the benchmark's venv).
  pandasfit  what a user would write instead: pandas.read_csv -> NumPy ->
          keras.Sequential (Normalization, the configured MLP) -> Model.fit with
          the generated project's epochs and batch size (the benchmark's venv).
  writeimages  the image project's synthetic images as a folder of PNG files,
          one sub-folder per class, in --folder.
  imagefit  what a user would write instead for a folder of images:
          keras.utils.image_dataset_from_directory -> a keras.Sequential CNN
          (--hidden filters, one conv block each) -> Model.fit.

Pass --no-keras to block Keras before TensorFlow is imported (the tf style must
train without it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
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
    if args.mode in ("pandas", "pandasseq"):
        read = pandas_read if args.mode == "pandas" else pandas_sequences
        result = {**read(args.csv), "wall_s": time.perf_counter() - STARTED}
        Path(args.out).write_text(json.dumps(result))
        return
    if args.no_keras:
        sys.modules["keras"] = None  # the tf style must not need Keras
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore")
    import tensorflow as tf  # noqa: F401  (timed: the import is part of start-up)

    imported = time.perf_counter()
    result = {"mode": args.mode, "import_s": imported - STARTED}
    if args.mode == "direct":
        result.update(direct_calls(args))
    elif args.mode == "pandasfit":
        result.update(pandas_fit(args))
    elif args.mode == "imagefit":
        result.update(image_fit(args))
    else:
        sys.path.insert(0, str(Path(args.project) / "src"))
        package = args.package
        config = importlib.import_module(f"{package}.config").load_config(
            Path(args.project) / "config.toml", args.set
        )
        data = importlib.import_module(f"{package}.data")
        if args.mode == "firstpass":
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            result["rss_before_mib"] = before / 1024  # KiB on Linux
            started = time.perf_counter()
            examples = data.describe(config).num_examples
            result["first_pass_s"] = time.perf_counter() - started
        else:
            examples = data.describe(config).num_examples
        result["train_examples"] = int(
            data.split_mask(examples, "train", config.data).sum()
        )
        if args.mode == "writeimages":
            write_images(importlib.import_module(f"{package}.sources"), config, args)
        elif args.mode == "matmul":
            result.update(matmul_peak(config, args.repeats))
        elif args.mode == "style":
            result.update(run_style(package, config, args.style, args.whatif))
        elif args.mode == "plain":
            result.update(run_plain(data, config))
        elif args.mode == "data":
            result.update(run_data(data, config, args.epochs))
    result["wall_s"] = time.perf_counter() - STARTED
    Path(args.out).write_text(json.dumps(result))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "mode",
        choices=[
            *("style", "plain", "data", "matmul", "client", "direct"),
            *("firstpass", "pandas", "pandasseq", "pandasfit"),
            *("writeimages", "imagefit"),
        ],
    )
    parser.add_argument("--project", default="")
    parser.add_argument("--package", default="")
    parser.add_argument("--style", default="")
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--epochs", type=int, default=6)
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
    parser.add_argument("--csv", default="", help="pandas, pandasfit: the file")
    parser.add_argument("--label", default="label", help="pandasfit: its label")
    parser.add_argument("--hidden", default="64,64", help="pandasfit: layer widths")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--folder", default="", help="writeimages, imagefit")
    parser.add_argument("--image-size", type=int, default=32, help="imagefit")
    parser.add_argument("--seed", type=int, default=0, help="imagefit")
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
        # Per epoch: (seconds since the process started, validation accuracy).
        self.curve: list[tuple[float, float]] = []

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

    def validated(self, metrics: dict) -> None:
        accuracy = float(metrics.get("val_accuracy", float("nan")))
        self.curve.append((time.perf_counter() - STARTED, accuracy))

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
            "accuracy_curve": self.curve,
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
        steps_per_epoch = data.steps_per_epoch(config)

        def timed_make_train_steps(*args, **kwargs):
            steps_fn = make_train_steps(*args, **kwargs)
            done = [0]  # steps run so far

            def timed(batches, steps):
                if done[0] % steps_per_epoch == 0:
                    clock.epoch_started()
                steps_fn(batches, steps)  # returns once the graph call has run
                done[0] += steps
                clock.step_done()
                if done[0] % steps_per_epoch == 0:
                    clock.training_done()

            return timed

        train.make_train_steps = timed_make_train_steps
    else:
        make_callbacks = train.make_callbacks
        train.make_callbacks = lambda *args, **kwargs: [
            *make_callbacks(*args, **kwargs),
            keras_callback(clock),
        ]
    clock.train_called = time.perf_counter()
    metrics = train.train(config, lambda _, metrics: clock.validated(metrics))
    return {**clock.report(), "metrics": {k: float(v) for k, v in metrics.items()}}


def run_plain(data, config) -> dict:
    import keras

    clock = EpochClock()
    clock.train_called = time.perf_counter()
    keras.utils.set_random_seed(config.seed)
    info = data.describe(config)
    train_data = data.make_dataset("train", config, repeat=True)
    validation_data = data.make_dataset("validation", config)
    mean, variance = data.feature_statistics(config)
    # The stream's features are {"numeric": rows}: the same one input, by name.
    features = keras.Input((len(info.of_kind("numeric")),), name="numeric")
    x = keras.layers.Normalization(mean=mean, variance=variance)(features)
    for units in config.model.hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
    logits = keras.layers.Dense(info.num_classes)(x)
    model = keras.Model({"numeric": features}, logits)
    model.compile(
        optimizer=keras.optimizers.Adam(config.train.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=config.train.epochs,
        steps_per_epoch=data.steps_per_epoch(config),  # the same batches per epoch
        callbacks=[keras_callback(clock)],
        verbose=0,  # no progress bar: the reference pays for no printing
    )
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    return {**clock.report(), "metrics": metrics}


def run_data(data, config, epochs: int) -> dict:
    """The training stream, `make_dataset("train", repeat=True)`,
    `steps_per_epoch` batches an epoch: alone (iterated in C++), pulled by a
    traced tf.function 32 batches per call as the training loops read it
    (steps_per_execution), and by Python `next()`."""
    import tensorflow as tf

    steps = data.steps_per_epoch(config)

    @tf.function
    def pull(iterator, count: int) -> tf.Tensor:
        examples = tf.constant(0)
        for _ in tf.range(count):
            examples += tf.shape(next(iterator)[1])[0]
        return examples

    def in_python(iterator) -> None:
        for _ in range(steps):
            next(iterator)

    def in_graph(iterator) -> None:
        for _ in range(steps // 32):
            pull(iterator, 32)
        pull(iterator, steps % 32)

    stream = data.make_dataset("train", config, repeat=True)
    # The floor: one ready-made batch handed out again and again, pulled the
    # same way; no pipeline can deliver faster than this.
    floor = tf.data.Dataset.from_tensors(next(iter(stream))).repeat()
    result = {"steps_per_epoch": steps, "batch_size": config.train.batch_size}
    for how, dataset, epoch in (
        ("stream_python", stream, in_python),
        ("stream_graph", stream, in_graph),
        ("floor_graph", floor, in_graph),
    ):
        iterator = iter(dataset)
        seconds = []
        for _ in range(epochs):
            started = time.perf_counter()
            epoch(iterator)
            seconds.append(time.perf_counter() - started)
        result[f"{how}_epoch_s"] = seconds
    # The stream alone, timed the way tf.data's own benchmarks time a pipeline
    # (tensorflow/python/data/benchmarks/benchmark_base.py): `skip` runs the
    # iterations in C++, with no op or Python call per batch; the iterator is
    # made before the clock starts.
    seconds = []
    for _ in range(epochs):
        iterator = iter(stream.skip(steps - 1))
        started = time.perf_counter()
        next(iterator)
        seconds.append(time.perf_counter() - started)
    result["stream_alone_epoch_s"] = seconds
    return result


# --- What-ifs: benchmark-side changes, measured to back a recommendation ----------


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
    "no-determinism": no_determinism,
    "no-histograms": no_histograms,
}


def matmul_peak(config, repeats: int) -> dict:
    """FLOP/s of two chains of matmuls, each in one tf.function: `layer`, the
    widest hidden layer's product ([batch, width] x [width, width]) 200 times;
    `step`, every product of a training step of the configured MLP (forward,
    weight gradients, input gradients) 100 times."""
    import tensorflow as tf

    batch, width = config.train.batch_size, max(config.model.hidden_units)
    widths = [config.data.num_features, *config.model.hidden_units]
    widths.append(config.data.num_classes)
    layer = tf.random.normal([width, width]) / width**0.5
    kernels = [
        tf.random.normal([fan_in, fan_out]) / fan_in**0.5
        for fan_in, fan_out in zip(widths, widths[1:], strict=False)
    ]

    @tf.function
    def layer_chain(x):
        # Each product feeds the next, so nothing can be hoisted out of the loop;
        # tanh keeps values bounded (0.1% of the work).
        for _ in tf.range(200):
            x = tf.tanh(tf.matmul(x, layer))
        return x

    @tf.function
    def step_chain(x):
        for _ in tf.range(100):
            activations = [x]
            for kernel in kernels:
                activations.append(tf.tanh(tf.matmul(activations[-1], kernel)))
            error = activations[-1]
            for index in reversed(range(len(kernels))):
                gradient = tf.matmul(activations[index], error, transpose_a=True)
                if index:  # no input gradient for the first layer
                    error = tf.matmul(error, kernels[index], transpose_b=True)
                    error += 1e-6 * tf.reduce_mean(gradient)
            x = x + 1e-6 * tf.reduce_mean(error)  # the next step depends on this
        return x

    # Forward and weight-gradient products of every layer, input gradients of
    # all layers but the first: as run.py's train_flops_per_example counts them.
    macs = [
        fan_in * fan_out for fan_in, fan_out in zip(widths, widths[1:], strict=False)
    ]
    step_flops = 2 * batch * (2 * sum(macs) + sum(macs[1:])) * 100
    chains = {
        "layer": (
            layer_chain,
            tf.random.normal([batch, width]),
            2 * batch * width**2 * 200,
        ),
        "step": (
            step_chain,
            tf.random.normal([batch, widths[0]]),
            step_flops,
        ),
    }
    result = {}
    for name, (chain, start, flops) in chains.items():
        chain(start).numpy()  # trace and warm up
        seconds, cpu_seconds = [], []
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            chain(start).numpy()
            seconds.append(time.perf_counter() - started)
            cpu_seconds.append(time.process_time() - cpu_started)
        result[name] = {
            "flops_per_call": flops,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
        }
    return result


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
    # One row of the synthetic table, by column name, as a client sends it.
    row = {f"feature_{i:02d}": round(rng.uniform(-1, 1), 6) for i in range(FEATURES)}
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
    names = sorted(function.structured_input_signature[1])  # one per column
    rng = np.random.default_rng(0)
    values = rng.uniform(-1, 1, size=(len(names), 1)).astype(np.float32)
    row = {name: tf.constant(value) for name, value in zip(names, values, strict=True)}
    start = time.time()
    warm_until, stop_at = start + args.warmup, start + args.warmup + args.duration
    latencies: list[float] = []
    while time.time() < stop_at and len(latencies) < 20 * MAX_REQUESTS:
        now = time.time()
        began = time.perf_counter()
        for value in function(**row).values():
            value.numpy()  # what the server does before writing JSON
        took = time.perf_counter() - began
        if now >= warm_until:
            latencies.append(took)
    return {"latencies_s": latencies, "duration_s": args.duration}


def pandas_read(csv: str) -> dict:
    import pandas

    started = time.perf_counter()
    frame = pandas.read_csv(csv)
    took = time.perf_counter() - started
    return {"read_s": took, "rows": len(frame), "pandas": pandas.__version__}


def pandas_sequences(csv: str) -> dict:
    import numpy as np
    import pandas

    started = time.perf_counter()
    frame = pandas.read_csv(csv).sort_values(["id", "step"], kind="stable")
    features = [name for name in frame.columns if name not in ("id", "step", "label")]
    groups = frame.groupby("id", sort=False)
    lengths = groups.size().to_numpy()
    padded = np.full((len(lengths), lengths.max(), len(features)), np.nan, "float32")
    padded[groups.ngroup().to_numpy(), groups.cumcount().to_numpy()] = frame[
        features
    ].to_numpy("float32")
    took = time.perf_counter() - started
    return {"read_s": took, "rows": len(frame), "pandas": pandas.__version__}


def pandas_fit(args: argparse.Namespace) -> dict:
    """pandas -> NumPy -> keras.Model.fit, timed like the generated loops: the
    process start to the end of `fit`, and each epoch by the same callback."""
    import keras
    import numpy as np
    import pandas

    frame = pandas.read_csv(args.csv)
    labels = frame.pop(args.label).to_numpy()
    features = frame.to_numpy(dtype="float32")
    order = np.random.default_rng(0).permutation(len(labels))
    train = order[: int(0.8 * len(order))]
    validation = order[int(0.8 * len(order)) : int(0.9 * len(order))]
    normalization = keras.layers.Normalization()
    normalization.adapt(features[train])
    model = keras.Sequential(
        [
            keras.Input((features.shape[1],)),
            normalization,
            *(
                keras.layers.Dense(int(units), activation="relu")
                for units in args.hidden.split(",")
            ),
            keras.layers.Dense(int(labels.max()) + 1),
        ]
    )
    result = fit_timed(
        model,
        features[train],
        labels[train],
        validation_data=(features[validation], labels[validation]),
        batch_size=args.batch_size,
        epochs=args.epochs,
    )
    return {**result, "train_examples": len(train)}


def fit_timed(model, *data, **options) -> dict:
    """compile with Adam and cross-entropy as a user would, then fit, each
    epoch timed by the same callback as the generated loops."""
    import keras

    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    clock = EpochClock()
    clock.train_called = time.perf_counter()
    validated = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda _, logs: clock.validated(logs)
    )
    callbacks = [keras_callback(clock), validated]
    history = model.fit(*data, callbacks=callbacks, verbose=0, **options)
    metrics = {k: float(v[-1]) for k, v in history.history.items()}
    return {**clock.report(), "metrics": metrics}


def write_images(sources, config, args: argparse.Namespace) -> None:
    import tensorflow as tf

    images, labels = sources.synthetic_arrays(config)
    pixels = tf.cast(tf.clip_by_value(images, 0.0, 1.0) * 255.0, tf.uint8)
    for index, (image, label) in enumerate(zip(pixels, labels, strict=True)):
        folder = Path(args.folder) / f"class_{label}"
        folder.mkdir(parents=True, exist_ok=True)
        tf.io.write_file(str(folder / f"{index:05d}.png"), tf.io.encode_png(image))


def image_fit(args: argparse.Namespace) -> dict:
    """image_dataset_from_directory -> keras.Sequential CNN -> fit, timed like
    the generated loops."""
    import keras

    keras.utils.set_random_seed(args.seed)
    size = (args.image_size, args.image_size)
    train, validation = keras.utils.image_dataset_from_directory(
        args.folder,
        image_size=size,
        color_mode="grayscale",
        batch_size=args.batch_size,
        validation_split=0.1,
        subset="both",
        seed=args.seed,
    )
    classes = len(train.class_names)
    layers = [keras.Input((*size, 1)), keras.layers.Rescaling(1 / 255)]
    for filters in args.hidden.split(","):
        layers += [
            keras.layers.Conv2D(int(filters), 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
        ]
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(classes)]
    result = fit_timed(
        keras.Sequential(layers),
        train.cache().prefetch(-1),
        validation_data=validation.cache(),
        epochs=args.epochs,
    )
    examples = sum(int(labels.shape[0]) for _, labels in train)
    return {**result, "train_examples": examples}


if __name__ == "__main__":
    main()
