"""Assignment 03: convolution and pooling, forward and backward (seeds 001, 002, 003).

Every expected value below is computed by ``reference/`` (``reference.conv``,
``reference.pooling``, ``reference.lectures``); the inputs are drawn from each
question's seeded generator ``q.rng``. Arrays are small so that a submission
is graded in well under a second.
"""

import numpy as np

from grader.engine.authoring import Assignment
from grader.engine.checks import ArrayClose, Exact, Form, Number
from reference import lectures
from reference.conv import conv2d_backward, conv2d_forward, conv_output_size
from reference.pooling import maxpool_backward, maxpool_forward

assignment = Assignment("03_cnn", title="Convolution and pooling", module="cnn",
                        limits={"wall_seconds": 60, "memory_bytes": 2 * 2**30})

VALUES = ArrayClose(rtol=1e-9, atol=1e-12)
AN_INT = Exact(strict_types=True)  # an output size is an int: 4.0 is refused, with a hint
CONV = (conv2d_forward, conv2d_backward)
POOL = (maxpool_forward, maxpool_backward)


def conv_inputs(q, x_shape, kernel, c_out):
    """x (N, H, W, C_in), w (k, k, C_in, C_out), b (C_out,), normally distributed."""
    c_in = x_shape[-1]
    return (q.rng.normal(size=x_shape), q.rng.normal(size=(kernel, kernel, c_in, c_out)),
            q.rng.normal(size=c_out))


def conv_forward_case(q, x_shape, kernel, c_out, stride, padding):
    x, w, b = conv_inputs(q, x_shape, kernel, c_out)
    kwargs = {"stride": stride, "padding": padding}
    q.call("conv2d_forward", x, w, b, kwargs=kwargs, pick=0,
           expected=conv2d_forward(x, w, b, **kwargs)[0], check=VALUES,
           label=f"conv2d_forward(x {_shape(x_shape)}, {kernel}x{kernel} kernel, {c_out} filters, "
                 f"stride={stride}, padding={padding!r})")


def conv_gradient_case(q, x_shape, kernel, c_out, stride, padding):
    x, w, b = conv_inputs(q, x_shape, kernel, c_out)
    q.gradient("conv2d_forward", "conv2d_backward", x, w, b, kwargs={"stride": stride, "padding": padding},
               reference=CONV, names=("dx", "dw", "db"),
               label=f"conv2d_backward after conv2d_forward(x {_shape(x_shape)}, {kernel}x{kernel} kernel, "
                     f"{c_out} filters, stride={stride}, padding={padding!r})")


def distinct_values(q, shape):
    """A random permutation of well-separated values: no two entries of a window are close,
    so max pooling is differentiable there and finite differences are exact."""
    size = int(np.prod(shape))
    return (q.rng.permutation(size) - size / 2).reshape(shape) * 0.25


def pool_label(x_shape, pool, stride):
    return f"(x {_shape(x_shape)}, pool={pool}, stride={stride})"


def _shape(shape):
    return "x".join(map(str, shape))


def lecture_shape(input_shape, kernel, filters, stride, padding):
    """The (H, W, C) output of one of the lecture's output-size examples, by its settings."""
    for example in lectures.output_size_examples():
        if (example.input_shape, example.kernel_size, example.filters, example.stride,
                example.padding) == (input_shape, kernel, filters, stride, padding):
            return list(example.output_shape)
    raise LookupError(f"no lecture example {input_shape}, {kernel}, {filters}, {stride}, {padding}")


# -- public: the API is there, answers are filled in ---------------------------

@assignment.question(points=1, public=True)
def output_size_basics(q):
    """conv_output_size on a 5-wide input, 3-wide kernel, stride 1, no padding"""
    q.call("conv_output_size", 5, 3, 1, 0, expected=conv_output_size(5, 3, 1, 0), check=AN_INT)


@assignment.question(points=1, public=True)
def conv_forward_basics(q):
    """conv2d_forward returns (out, cache); out is right for stride 1, no padding"""
    conv_forward_case(q, (1, 4, 4, 2), 3, 2, 1, 0)


@assignment.question(points=1, public=True)
def maxpool_forward_basics(q):
    """maxpool_forward returns (out, cache); out is right for 2x2 windows, stride 2"""
    x = distinct_values(q, (1, 4, 4, 2))
    q.call("maxpool_forward", x, kwargs={"pool": 2, "stride": 2}, pick=0,
           expected=maxpool_forward(x, 2, 2)[0], check=VALUES, label=f"maxpool_forward{pool_label(x.shape, 2, 2)}")


@assignment.question(points=1, public=True)
def answers_filled_in(q):
    """SOBEL_OUTPUT is a 2x2 array; each output shape is a list of 3 numbers"""
    q.answer("SOBEL_OUTPUT", expected=None, check=Form(shape=(2, 2)))
    for name in ("SHAPE_SIX_5X5", "SHAPE_TEN_3X3_PAD1", "SHAPE_MNIST_STRIDE2_SAME"):
        q.answer(name, expected=None, check=Form(shape=(3,)))


# -- hidden: output size ------------------------------------------------------

@assignment.question(points=2)
def output_size(q):
    """conv_output_size with strides and paddings where the floor matters"""
    for n, k, stride, pad in ((32, 5, 1, 0), (7, 3, 2, 0), (8, 3, 2, 1), (6, 4, 3, 0), (10, 3, 3, 1), (4, 3, 1, 1)):
        q.call("conv_output_size", n, k, stride, pad, expected=conv_output_size(n, k, stride, pad), check=AN_INT)


# -- hidden: convolution forward ------------------------------------------------

@assignment.question(points=2)
def conv_forward_valid(q):
    """conv2d_forward without padding: several channels and filters, a batch of 1, "valid" spelled out"""
    conv_forward_case(q, (2, 5, 5, 3), 3, 4, 1, 0)
    conv_forward_case(q, (1, 6, 5, 2), 2, 3, 1, "valid")
    conv_forward_case(q, (3, 4, 4, 1), 4, 1, 1, 0)


@assignment.question(points=2)
def conv_forward_stride_and_int_padding(q):
    """conv2d_forward with stride 2 and 3 and integer padding"""
    conv_forward_case(q, (2, 7, 7, 2), 3, 3, 2, 0)
    conv_forward_case(q, (1, 6, 6, 2), 3, 2, 2, 1)
    conv_forward_case(q, (2, 5, 5, 1), 3, 2, 1, 2)
    conv_forward_case(q, (1, 8, 7, 3), 3, 2, 3, 1)


@assignment.question(points=1)
def conv_forward_same_stride_1(q):
    """conv2d_forward with "same" padding, stride 1, odd kernels: the output keeps H x W"""
    conv_forward_case(q, (2, 5, 5, 2), 3, 3, 1, "same")
    conv_forward_case(q, (1, 6, 4, 1), 5, 2, 1, "same")


@assignment.question(points=3)
def conv_same_tensorflow_rule(q):
    """ "same" padding as TensorFlow computes it: stride 2 with odd and even sizes, an even kernel, and its backward pass"""
    conv_forward_case(q, (2, 7, 6, 2), 3, 2, 2, "same")
    conv_forward_case(q, (1, 8, 8, 1), 5, 2, 2, "same")
    conv_forward_case(q, (1, 5, 5, 2), 4, 2, 1, "same")
    conv_gradient_case(q, (1, 6, 7, 2), 3, 2, 2, "same")


# -- hidden: convolution backward -----------------------------------------------

@assignment.question(points=4)
def conv_backward(q):
    """conv2d_backward: dx, dw and db, checked against your forward too"""
    conv_gradient_case(q, (2, 5, 5, 3), 3, 2, 1, 0)
    conv_gradient_case(q, (1, 6, 6, 2), 3, 3, 2, 1)
    conv_gradient_case(q, (2, 4, 5, 1), 2, 2, 1, "valid")
    conv_gradient_case(q, (1, 5, 5, 2), 3, 1, 1, "same")


# -- hidden: max pooling --------------------------------------------------------

@assignment.question(points=2)
def maxpool_forward_values(q):
    """maxpool_forward: windows that do not overlap, that overlap (pool 3, stride 2), and odd sizes"""
    for x_shape, pool, stride in (((2, 4, 6, 3), 2, 2), ((1, 5, 5, 2), 2, 2), ((2, 7, 7, 1), 3, 2),
                                  ((1, 6, 6, 2), 3, 3)):
        x = q.rng.normal(size=x_shape)
        q.call("maxpool_forward", x, kwargs={"pool": pool, "stride": stride}, pick=0,
               expected=maxpool_forward(x, pool, stride)[0], check=VALUES,
               label=f"maxpool_forward{pool_label(x_shape, pool, stride)}")


@assignment.question(points=3)
def maxpool_backward_gradient(q):
    """maxpool_backward: the gradient goes to the maximum of each window, summed where windows overlap"""
    for x_shape, pool, stride in (((2, 4, 4, 2), 2, 2), ((1, 5, 5, 2), 2, 2), ((1, 7, 7, 2), 3, 2)):
        x = distinct_values(q, x_shape)
        q.gradient("maxpool_forward", "maxpool_backward", x, kwargs={"pool": pool, "stride": stride},
                   reference=POOL, names=("dx",),
                   label=f"maxpool_backward after maxpool_forward{pool_label(x_shape, pool, stride)}")


@assignment.question(points=1)
def maxpool_ties(q):
    """maxpool_backward when a window holds its maximum twice: the first in row-major order gets the gradient"""
    for x_shape, pool, stride in (((1, 4, 4, 2), 2, 2), ((1, 5, 5, 1), 3, 2)):
        x = q.rng.integers(0, 2, size=x_shape).astype(np.float64)
        # No finite differences: the max is not differentiable at a tie. The
        # forward output and dx are compared with the reference's.
        q.gradient("maxpool_forward", "maxpool_backward", x, kwargs={"pool": pool, "stride": stride},
                   reference=POOL, names=("dx",), directions=0,
                   label=f"maxpool_backward with ties{pool_label(x_shape, pool, stride)}")


# -- hidden: the lecture's examples -----------------------------------------------

@assignment.question(points=2)
def sobel_example(q):
    """the Sobel filter on the lecture's 4x4 image (seed 002)"""
    q.answer("SOBEL_OUTPUT", expected=lectures.sobel_example().output, check=Number(rtol=1e-9, atol=1e-9))


@assignment.question(points=2)
def output_shapes(q):
    """output shapes of the lecture's convolution layers (seeds 001, 002)"""
    q.answer("SHAPE_SIX_5X5", expected=lecture_shape((32, 32, 3), 5, 6, 1, 0), check=Exact())
    q.answer("SHAPE_TEN_3X3_PAD1", expected=lecture_shape((32, 32, 3), 3, 10, 1, 1), check=Exact())
    q.answer("SHAPE_MNIST_STRIDE2_SAME", expected=lecture_shape((28, 28, 1), 5, 16, 2, "same"), check=Exact())
