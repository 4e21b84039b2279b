"""Speed of the reference conv2d and max-pool against a naive loop version and TensorFlow.

    python benchmarks/conv_benchmark.py [--repeats R] [--threads T]

Shapes: x (64, 32, 32, 3), w (3, 3, 3, 16), stride 1, padding 1, float64;
max pooling 2x2 / stride 2 on the conv output (64, 32, 32, 16).

Each time is the median (and the minimum) of R runs after one warm-up run;
the reference and TensorFlow take turns run by run. Other work on the machine
(see the load average printed) slows multi-threaded BLAS badly: compare the
minimum column when the load is high.
TensorFlow runs eagerly on the CPU with tensors made beforehand, like the
numpy arrays the reference receives; its outputs are converted with .numpy().
The naive loops are too slow for the full batch: they run on NAIVE_BATCH
examples and their time is scaled to 64 examples (it is linear in the batch).
"""

import argparse
import os
import statistics
import sys
import time

# --threads must reach BLAS and TensorFlow before they start: numpy, the
# reference and TensorFlow are imported after the command line is read.
if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _parser.add_argument("--repeats", type=int, default=20)
    _parser.add_argument(
        "--threads", type=int, default=0,
        help="threads for numpy's BLAS and for TensorFlow's ops (default: the libraries' own choice)",
    )  # fmt: skip
    ARGS = _parser.parse_args()
    if ARGS.threads:
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402

from reference.conv import conv2d_backward, conv2d_forward  # noqa: E402
from reference.pooling import maxpool_backward, maxpool_forward  # noqa: E402

BATCH, SIZE, C_IN, C_OUT, KERNEL, STRIDE, PAD = 64, 32, 3, 16, 3, 1, 1
NAIVE_BATCH = 2


def timed(functions, repeats):
    """
    (median, min) wall time in milliseconds of each function over `repeats`
    calls, after one warm-up call each. The functions take turns, so a busy
    moment on the machine slows them alike instead of one of them.
    """
    for function in functions:
        function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, record in zip(functions, times):
            start = time.perf_counter()
            function()
            record.append(time.perf_counter() - start)
    return [(statistics.median(t) * 1e3, min(t) * 1e3) for t in times]


def naive_conv2d_forward(x, w, b, stride, pad):
    """The definition with one Python loop per index (cs231n's conv_forward_naive, NHWC)."""
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    n, height, width, _ = xp.shape
    kh, kw, _, c_out = w.shape
    out_h, out_w = (height - kh) // stride + 1, (width - kw) // stride + 1
    out = np.zeros((n, out_h, out_w, c_out))
    for i_n in range(n):
        for i in range(out_h):
            for j in range(out_w):
                patch = xp[i_n, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                for o in range(c_out):
                    out[i_n, i, j, o] = np.sum(patch * w[:, :, :, o]) + b[o]
    return out


def naive_conv2d_backward(dout, x, w, stride, pad):
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    kh, kw = w.shape[:2]
    n, out_h, out_w, c_out = dout.shape
    for i_n in range(n):
        for i in range(out_h):
            for j in range(out_w):
                rows = slice(i * stride, i * stride + kh)
                cols = slice(j * stride, j * stride + kw)
                for o in range(c_out):
                    g = dout[i_n, i, j, o]
                    dw[:, :, :, o] += g * xp[i_n, rows, cols, :]
                    dxp[i_n, rows, cols, :] += g * w[:, :, :, o]
    db = dout.sum(axis=(0, 1, 2))
    return dxp[:, pad : pad + x.shape[1], pad : pad + x.shape[2], :], dw, db


def main(repeats, threads):
    load = os.getloadavg()[0]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZE, SIZE, C_IN))
    w = rng.standard_normal((KERNEL, KERNEL, C_IN, C_OUT))
    b = rng.standard_normal(C_OUT)
    out, cache = conv2d_forward(x, w, b, STRIDE, PAD)
    dout = rng.standard_normal(out.shape)

    # Same numbers from all three before timing anything.
    x_small, dout_small = x[:NAIVE_BATCH], dout[:NAIVE_BATCH]
    naive_out = naive_conv2d_forward(x_small, w, b, STRIDE, PAD)
    naive_grads = naive_conv2d_backward(dout_small, x_small, w, STRIDE, PAD)
    _, small_cache = conv2d_forward(x_small, w, b, STRIDE, PAD)
    assert np.allclose(naive_out, out[:NAIVE_BATCH], rtol=1e-12, atol=1e-12)
    for ours, naive in zip(conv2d_backward(dout_small, small_cache), naive_grads):
        assert np.allclose(ours, naive, rtol=1e-12, atol=1e-12)

    xt, wt, bt, doutt = (tf.constant(a) for a in (x, w, b, dout))
    explicit = [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]]
    paddings_flat = [0, 0, PAD, PAD, PAD, PAD, 0, 0]
    strides4 = [1, STRIDE, STRIDE, 1]

    def tf_forward():
        return tf.nn.bias_add(tf.nn.conv2d(xt, wt, STRIDE, explicit), bt).numpy()

    def tf_backward():
        dx = tf.raw_ops.Conv2DBackpropInput(
            input_sizes=x.shape, filter=wt, out_backprop=doutt, strides=strides4,
            padding="EXPLICIT", explicit_paddings=paddings_flat,
        )  # fmt: skip
        dw = tf.raw_ops.Conv2DBackpropFilter(
            input=xt, filter_sizes=w.shape, out_backprop=doutt, strides=strides4,
            padding="EXPLICIT", explicit_paddings=paddings_flat,
        )  # fmt: skip
        db = tf.reduce_sum(doutt, axis=[0, 1, 2])
        return dx.numpy(), dw.numpy(), db.numpy()

    def tf_forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([xt, wt, bt])
            y = tf.nn.bias_add(tf.nn.conv2d(xt, wt, STRIDE, explicit), bt)
        return [g.numpy() for g in tape.gradient(y, [xt, wt, bt], output_gradients=doutt)]

    assert np.allclose(tf_forward(), out, rtol=1e-12, atol=1e-12)
    for ours, theirs in zip(conv2d_backward(dout, cache), tf_backward()):
        assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)

    def ref_forward_backward():
        _, c = conv2d_forward(x, w, b, STRIDE, PAD)
        return conv2d_backward(dout, c)

    scale = BATCH / NAIVE_BATCH
    naive_repeats = 3
    naive_fwd, naive_bwd = (
        [t * scale for t in times]
        for times in timed(
            [
                lambda: naive_conv2d_forward(x_small, w, b, STRIDE, PAD),
                lambda: naive_conv2d_backward(dout_small, x_small, w, STRIDE, PAD),
            ],
            naive_repeats,
        )
    )

    rows = [
        ("conv2d forward", *timed([lambda: conv2d_forward(x, w, b, STRIDE, PAD), tf_forward], repeats),
         naive_fwd),
        ("conv2d backward", *timed([lambda: conv2d_backward(dout, cache), tf_backward], repeats),
         naive_bwd),
        ("conv2d forward + backward", *timed([ref_forward_backward, tf_forward_backward], repeats),
         [a + b_ for a, b_ in zip(naive_fwd, naive_bwd)]),
    ]  # fmt: skip

    # Max pooling 2x2 / 2 on the conv output.
    pooled, pool_cache = maxpool_forward(out, 2, 2)
    dpooled = rng.standard_normal(pooled.shape)
    outt, dpooledt = tf.constant(out), tf.constant(dpooled)
    pooledt = tf.nn.max_pool2d(outt, 2, 2, "VALID")

    def tf_pool_backward():
        return tf.raw_ops.MaxPoolGrad(
            orig_input=outt, orig_output=pooledt, grad=dpooledt, ksize=[1, 2, 2, 1],
            strides=[1, 2, 2, 1], padding="VALID",
        ).numpy()  # fmt: skip

    def tf_pool_forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(outt)
            y = tf.nn.max_pool2d(outt, 2, 2, "VALID")
        return tape.gradient(y, outt, output_gradients=dpooledt).numpy()

    def ref_pool_forward_backward():
        _, c = maxpool_forward(out, 2, 2)
        return maxpool_backward(dpooled, c)

    assert np.array_equal(tf.nn.max_pool2d(outt, 2, 2, "VALID").numpy(), pooled)
    assert np.allclose(tf_pool_backward(), maxpool_backward(dpooled, pool_cache), rtol=1e-12, atol=0)
    rows += [
        ("maxpool 2x2/2 forward",
         *timed([lambda: maxpool_forward(out, 2, 2), lambda: tf.nn.max_pool2d(outt, 2, 2, "VALID").numpy()],
                repeats), None),
        ("maxpool 2x2/2 backward",
         *timed([lambda: maxpool_backward(dpooled, pool_cache), tf_pool_backward], repeats), None),
        ("maxpool forward + backward",
         *timed([ref_pool_forward_backward, tf_pool_forward_backward], repeats), None),
    ]  # fmt: skip

    print(
        f"conv2d: x ({BATCH}, {SIZE}, {SIZE}, {C_IN}), w ({KERNEL}, {KERNEL}, {C_IN}, {C_OUT}), "
        f"stride {STRIDE}, padding {PAD}, float64; maxpool on ({BATCH}, {SIZE}, {SIZE}, {C_OUT})"
    )
    print(
        f"times in ms: median (min) of {repeats} runs; naive: median of {naive_repeats} runs on "
        f"{NAIVE_BATCH} examples x {scale:g}; TensorFlow {tf.__version__} eager, CPU, "
        f"numpy {np.__version__}, {os.cpu_count()} CPUs, "
        f"threads: {threads or 'library default'}, load average {load:.2f} at the start"
    )
    print(
        "TF backward = raw Conv2DBackpropInput + Conv2DBackpropFilter + bias sum (MaxPoolGrad for pooling); "
        "TF forward + backward = GradientTape"
    )
    header = f"{'operation':<28}{'reference':>16}{'TensorFlow':>16}{'TF/ref':>9}{'naive loops':>14}{'naive/ref':>11}"
    print(header)
    print("-" * len(header))
    for name, ref, tf_time, naive in rows:
        line = (
            f"{name:<28}{ref[0]:>8.2f} ({ref[1]:>5.2f}){tf_time[0]:>8.2f} ({tf_time[1]:>5.2f})"
            f"{tf_time[0] / ref[0]:>8.1f}x"
        )
        if naive is not None:
            line += f"{naive[0]:>14.0f}{naive[0] / ref[0]:>10.0f}x"
        print(line)


if __name__ == "__main__":
    main(ARGS.repeats, ARGS.threads)
