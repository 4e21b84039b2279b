"""Speed of the reference conv2d and max-pool against naive loops and TensorFlow.

    python benchmarks/conv_benchmark.py [--repeats R] [--threads T] [--pool-only]

Shapes: x (64, 32, 32, 3), w (3, 3, 3, 16), stride 1, padding 1, float64;
max pooling 2x2 / stride 2 and 3x3 / stride 2 (overlapping windows) on the conv
output (64, 32, 32, 16).

Times are the median (and the minimum) of R runs after one warm-up run; the
reference and TensorFlow take turns run by run, so a busy moment slows both.

Memory: TensorFlow's CPU allocator keeps the buffers it frees for the next op;
glibc's malloc, which numpy uses, hands large freed blocks back to the kernel,
and on a virtual machine every page of the next allocation then faults in
again (here that doubled forward + backward, 2,300 page faults a run). So the
benchmark tells glibc to keep freed memory too (mallopt, before numpy starts),
as a long training loop effectively does once it is warm; --glibc-default
measures without that.
Other work on the machine (the load average is printed) hurts multi-threaded
BLAS most: with a high load, compare the minimum column, or use --threads 1.

TensorFlow runs eagerly on the CPU with tensors made beforehand, like the
numpy arrays the reference receives; its outputs are converted with .numpy().
Its backward row times the two backprop ops (and the bias sum) that its
gradient of conv2d runs; "forward + backward" is a GradientTape.

The header names the BLAS kernel numpy runs (threadpoolctl). OPENBLAS_CORETYPE
forces an older kernel (Haswell rather than SkylakeX) on machines that set it
to work around old OpenBLAS bugs; it slows a current numpy by about 20% here,
so for figures that compare libraries unset it for this command alone:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/conv_benchmark.py

Two naive versions, checked against the reference first:
- 4 loops (cs231n's conv_forward_naive): loops over example, output row,
  output column and filter, numpy over the patch;
- 6 loops (the lecture's apply_kernel, seed 002): also loops over the kernel's
  rows and columns, numpy over the input channels.
They are too slow for the full batch: they run on a few examples and their
time is scaled to 64 examples (it is linear in the batch), as the header says.
"""

import argparse
import os
import statistics
import time


def _keep_freed_memory():
    """Make glibc's malloc keep freed memory in the process, as TensorFlow's allocator does."""
    import ctypes

    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's malloc.h
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(M_MMAP_THRESHOLD, 256 * 2**20)
    libc.mallopt(M_TRIM_THRESHOLD, 2**30)


# --threads must reach BLAS and TensorFlow before they start, so numpy, the
# reference and TensorFlow are imported after the command line is read.
if __name__ == "__main__":
    _parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _parser.add_argument("--repeats", type=int, default=20)
    _parser.add_argument(
        "--threads", type=int, default=0,
        help="threads for numpy's BLAS and TensorFlow's ops (default: each library's own choice)",
    )  # fmt: skip
    _parser.add_argument(
        "--glibc-default", action="store_true",
        help="leave glibc's malloc as it is (freed memory goes back to the kernel, pages fault in again)",
    )  # fmt: skip
    _parser.add_argument("--pool-only", action="store_true", help="time max pooling only (no conv2d, no naive loops)")
    ARGS = _parser.parse_args()
    if not ARGS.glibc_default:
        _keep_freed_memory()
    if ARGS.threads:
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402

from reference.conv import conv2d_backward, conv2d_forward  # noqa: E402
from reference.pooling import maxpool_backward, maxpool_forward  # noqa: E402

BATCH, SIZE, C_IN, C_OUT, KERNEL, STRIDE, PAD = 64, 32, 3, 16, 3, 1, 1
NAIVE_BATCH = {"4 loops": 2, "6 loops": 1}
NAIVE_REPEATS = 3
POOLS = ((2, 2), (3, 2))  # (window, stride): non-overlapping and overlapping windows


def blas_kernel():
    """numpy's BLAS as 'library version (kernel)', or 'unknown' without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    # TensorFlow or scipy may load BLAS libraries of their own; numpy's lives in numpy.libs.
    blas.sort(key=lambda info: "numpy" not in info.get("filepath", ""))
    if not blas:
        return "unknown"
    info = blas[0]
    kernel = info.get("architecture", "?")
    forced = os.environ.get("OPENBLAS_CORETYPE")
    note = f", forced by OPENBLAS_CORETYPE={forced}" if forced else ""
    return f"{info.get('internal_api')} {info.get('version')} ({kernel} kernel{note})"


def timed(functions, repeats):
    """
    (median, min) wall time in milliseconds of each function over `repeats`
    calls, after one warm-up call each; the functions take turns.
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


def output_size(xp, w, stride):
    return (xp.shape[1] - w.shape[0]) // stride + 1, (xp.shape[2] - w.shape[1]) // stride + 1


def pad_image(x, pad):
    return np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))


def naive4_forward(x, w, b, stride, pad):
    xp = pad_image(x, pad)
    kh, kw, _, c_out = w.shape
    out_h, out_w = output_size(xp, w, stride)
    out = np.zeros((x.shape[0], out_h, out_w, c_out))
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                patch = xp[n, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
                for o in range(c_out):
                    out[n, i, j, o] = np.sum(patch * w[:, :, :, o]) + b[o]
    return out


def naive4_backward(dout, x, w, stride, pad):
    xp = pad_image(x, pad)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    kh, kw, _, c_out = w.shape
    _, out_h, out_w, _ = dout.shape
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                rows = slice(i * stride, i * stride + kh)
                cols = slice(j * stride, j * stride + kw)
                for o in range(c_out):
                    g = dout[n, i, j, o]
                    dw[:, :, :, o] += g * xp[n, rows, cols, :]
                    dxp[n, rows, cols, :] += g * w[:, :, :, o]
    db = dout.sum(axis=(0, 1, 2))
    return dxp[:, pad : pad + x.shape[1], pad : pad + x.shape[2], :], dw, db


def naive6_forward(x, w, b, stride, pad):
    xp = pad_image(x, pad)
    kh, kw, _, c_out = w.shape
    out_h, out_w = output_size(xp, w, stride)
    out = np.zeros((x.shape[0], out_h, out_w, c_out))
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                for o in range(c_out):
                    total = b[o]
                    for p in range(kh):
                        for q in range(kw):
                            total += xp[n, i * stride + p, j * stride + q, :] @ w[p, q, :, o]
                    out[n, i, j, o] = total
    return out


def naive6_backward(dout, x, w, stride, pad):
    xp = pad_image(x, pad)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    kh, kw, _, c_out = w.shape
    _, out_h, out_w, _ = dout.shape
    for n in range(x.shape[0]):
        for i in range(out_h):
            for j in range(out_w):
                for o in range(c_out):
                    g = dout[n, i, j, o]
                    for p in range(kh):
                        for q in range(kw):
                            dw[p, q, :, o] += g * xp[n, i * stride + p, j * stride + q, :]
                            dxp[n, i * stride + p, j * stride + q, :] += g * w[p, q, :, o]
    db = dout.sum(axis=(0, 1, 2))
    return dxp[:, pad : pad + x.shape[1], pad : pad + x.shape[2], :], dw, db


NAIVE = {"4 loops": (naive4_forward, naive4_backward), "6 loops": (naive6_forward, naive6_backward)}


def assert_same(ours, theirs):
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def pool_benchmark(tf, out, outt, pool, stride, rng, repeats):
    """Rows (name, reference times, TensorFlow times) for max pooling pool x pool with this stride."""
    pooled, pool_cache = maxpool_forward(out, pool, stride)
    dpooled = rng.standard_normal(pooled.shape)
    dpooledt = tf.constant(dpooled)
    pooledt = tf.nn.max_pool2d(outt, pool, stride, "VALID")

    def tf_forward():
        return tf.nn.max_pool2d(outt, pool, stride, "VALID").numpy()

    def tf_backward():
        return tf.raw_ops.MaxPoolGrad(
            orig_input=outt, orig_output=pooledt, grad=dpooledt, ksize=[1, pool, pool, 1],
            strides=[1, stride, stride, 1], padding="VALID",
        ).numpy()  # fmt: skip

    def tf_forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(outt)
            y = tf.nn.max_pool2d(outt, pool, stride, "VALID")
        return tape.gradient(y, outt, output_gradients=dpooledt).numpy()

    def ref_forward_backward():
        _, c = maxpool_forward(out, pool, stride)
        return maxpool_backward(dpooled, c)

    assert np.array_equal(pooledt.numpy(), pooled)
    assert_same(tf_backward(), maxpool_backward(dpooled, pool_cache))
    name = f"maxpool {pool}x{pool}/{stride}"
    return [
        (f"{name} forward", *timed([lambda: maxpool_forward(out, pool, stride), tf_forward], repeats)),
        (f"{name} backward", *timed([lambda: maxpool_backward(dpooled, pool_cache), tf_backward], repeats)),
        (f"{name} fwd + bwd", *timed([ref_forward_backward, tf_forward_backward], repeats)),
    ]


def main(repeats, threads, glibc_default, pool_only=False):
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

    # ---- TensorFlow's conv2d and its gradient ops
    xt, wt, bt, doutt = (tf.constant(a) for a in (x, w, b, dout))
    explicit = [[0, 0], [PAD, PAD], [PAD, PAD], [0, 0]]
    backprop_args = dict(
        out_backprop=doutt, strides=[1, STRIDE, STRIDE, 1], padding="EXPLICIT",
        explicit_paddings=[0, 0, PAD, PAD, PAD, PAD, 0, 0],
    )  # fmt: skip

    def tf_forward():
        return tf.nn.bias_add(tf.nn.conv2d(xt, wt, STRIDE, explicit), bt).numpy()

    def tf_backward():
        dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=x.shape, filter=wt, **backprop_args)
        dw = tf.raw_ops.Conv2DBackpropFilter(input=xt, filter_sizes=w.shape, **backprop_args)
        db = tf.reduce_sum(doutt, axis=[0, 1, 2])
        return dx.numpy(), dw.numpy(), db.numpy()

    def tf_forward_backward():
        with tf.GradientTape() as tape:
            tape.watch([xt, wt, bt])
            y = tf.nn.bias_add(tf.nn.conv2d(xt, wt, STRIDE, explicit), bt)
        return [g.numpy() for g in tape.gradient(y, [xt, wt, bt], output_gradients=doutt)]

    def ref_forward_backward():
        _, c = conv2d_forward(x, w, b, STRIDE, PAD)
        return conv2d_backward(dout, c)

    # Same numbers from everyone before timing anything.
    assert_same(tf_forward(), out)
    for ours, theirs in zip(conv2d_backward(dout, cache), tf_backward()):
        assert_same(ours, theirs)
    naive_times = {}
    for name, (forward, backward) in ({} if pool_only else NAIVE).items():
        k = NAIVE_BATCH[name]
        assert_same(forward(x[:k], w, b, STRIDE, PAD), out[:k])
        _, small_cache = conv2d_forward(x[:k], w, b, STRIDE, PAD)
        for ours, theirs in zip(conv2d_backward(dout[:k], small_cache), backward(dout[:k], x[:k], w, STRIDE, PAD)):
            assert_same(ours, theirs)
        fwd, bwd = timed(
            [lambda: forward(x[:k], w, b, STRIDE, PAD), lambda: backward(dout[:k], x[:k], w, STRIDE, PAD)],
            NAIVE_REPEATS,
        )
        scale = BATCH / k
        naive_times[name] = (fwd[0] * scale, bwd[0] * scale, (fwd[0] + bwd[0]) * scale)

    conv_rows = [] if pool_only else [
        ("conv2d forward", *timed([lambda: conv2d_forward(x, w, b, STRIDE, PAD), tf_forward], repeats)),
        ("conv2d backward", *timed([lambda: conv2d_backward(dout, cache), tf_backward], repeats)),
        ("conv2d forward + backward", *timed([ref_forward_backward, tf_forward_backward], repeats)),
    ]

    # ---- max pooling on the conv output: 2x2 windows with stride 2, and overlapping 3x3 ones with stride 2
    pool_rows = []
    outt = tf.constant(out)
    for pool, pool_stride in POOLS:
        pool_rows += pool_benchmark(tf, out, outt, pool, pool_stride, rng, repeats)

    # ---- report
    print(
        f"conv2d x ({BATCH}, {SIZE}, {SIZE}, {C_IN}), w ({KERNEL}, {KERNEL}, {C_IN}, {C_OUT}), stride {STRIDE}, "
        f"padding {PAD}, float64; maxpool "
        + " and ".join(f"{p}x{p}/{st}" for p, st in POOLS) + f" on ({BATCH}, {SIZE}, {SIZE}, {C_OUT})"
    )
    print(
        f"numpy {np.__version__}, TensorFlow {tf.__version__} (eager, CPU), {os.cpu_count()} CPUs, "
        f"threads: {threads or 'library default'}, load average {load:.2f} at the start"
    )
    print(f"numpy's BLAS: {blas_kernel()}; malloc: "
          + ("glibc's default" if glibc_default else "glibc keeps freed memory (mallopt)"))
    print(
        f"ms, median (min) of {repeats} runs; naive loops: median of {NAIVE_REPEATS} runs on "
        + ", ".join(f"{k} example(s) x {BATCH // k} ({name})" for name, k in NAIVE_BATCH.items())
    )
    header = (
        f"{'operation':<28}{'reference':>16}{'TensorFlow':>16}{'TF/ref':>8}"
        f"{'4 loops':>10}{'/ref':>7}{'6 loops':>10}{'/ref':>7}"
    )
    print(header)
    print("-" * len(header))
    for index, (name, ref, theirs) in enumerate(conv_rows + pool_rows):
        line = f"{name:<28}{ref[0]:>8.2f} ({ref[1]:>5.2f}){theirs[0]:>8.2f} ({theirs[1]:>5.2f}){theirs[0] / ref[0]:>7.1f}x"
        if index < len(conv_rows):
            for naive_name in NAIVE:
                naive = naive_times[naive_name][index]
                line += f"{naive:>10.0f}{naive / ref[0]:>6.0f}x"
        print(line)


if __name__ == "__main__":
    main(ARGS.repeats, ARGS.threads, ARGS.glibc_default, ARGS.pool_only)
