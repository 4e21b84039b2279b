"""The numpy answer key of the course: every expected value the grader uses comes from here.

The layers, losses and gradient checking are re-exported here; the larger
pieces are modules of their own, imported when needed:

- :mod:`reference.network`: a small composable network with SGD;
- :mod:`reference.lectures`: the lecture's worked examples, recomputed;
- :mod:`reference.derivations`: the course's derivatives, computed by sympy;
- :mod:`reference.datasets` and :mod:`reference.keras_mnist`: MNIST and the Keras model.

Conventions: float64, batch first; images NHWC, conv filters HWIO; every layer
a pair ``*_forward(...) -> (out, cache)`` / ``*_backward(dout, cache)``; losses
return ``(loss, dinput)`` averaged over the batch.
"""

from reference.activations import (
                                   activation_backward,
                                   activation_forward,
                                   relu,
                                   relu_grad,
                                   sigmoid,
                                   sigmoid_grad,
                                   tanh,
                                   tanh_grad,
)
from reference.conv import conv2d_backward, conv2d_forward, conv2d_output_shape, conv_output_size, same_padding
from reference.dense import dense_backward, dense_forward
from reference.gradcheck import numerical_gradient, numerical_gradient_array, relative_error
from reference.losses import binary_cross_entropy, one_hot, softmax, softmax_cross_entropy, squared_error_loss
from reference.pooling import avgpool_backward, avgpool_forward, maxpool_backward, maxpool_forward

__all__ = [
    "sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad",
    "activation_forward", "activation_backward",
    "dense_forward", "dense_backward",
    "squared_error_loss", "binary_cross_entropy", "softmax", "one_hot", "softmax_cross_entropy",
    "conv_output_size", "same_padding", "conv2d_output_shape", "conv2d_forward", "conv2d_backward",
    "maxpool_forward", "maxpool_backward", "avgpool_forward", "avgpool_backward",
    "numerical_gradient", "numerical_gradient_array", "relative_error",
]
