"""A small composable network in numpy, built from the reference layers.

Each layer object wraps one forward/backward pair: ``forward`` keeps the
cache, ``backward`` fills ``grads`` (same keys as ``params``) and returns the
gradient for the layer below. ``Sequential`` chains layers and a loss;
``SGD`` updates the parameters in place.

    model = Sequential([Dense.random(2, 8, rng), Activation("tanh"),
                        Dense.random(8, 1, rng)], loss="squared_error")
    optimizer = SGD(lr=0.1)
    for step in range(1000):
        loss = model.forward_backward(x, y)
        optimizer.step(model)
"""

import numpy as np

from reference.activations import ACTIVATIONS, activation_backward, activation_forward
from reference.conv import conv2d_backward, conv2d_forward
from reference.dense import dense_backward, dense_forward
from reference.losses import softmax_cross_entropy, squared_error_loss
from reference.pooling import maxpool_backward, maxpool_forward

LOSSES = {
    "squared_error": squared_error_loss,
    "softmax_cross_entropy": softmax_cross_entropy,
}


class Layer:
    """Base class: a layer without parameters has empty params and grads."""

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = None

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __repr__(self):
        shapes = ", ".join(f"{k}{v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Dense(Layer):
    """Fully connected layer, out = x W + b; params "W" (D, M) and "b" (M,)."""

    def __init__(self, W, b):
        super().__init__()
        self.params = {"W": np.array(W, dtype=np.float64), "b": np.array(b, dtype=np.float64)}

    @classmethod
    def random(cls, n_in, n_out, rng):
        """Glorot-uniform weights (Keras's default initialiser) and zero biases."""
        limit = np.sqrt(6.0 / (n_in + n_out))
        return cls(rng.uniform(-limit, limit, size=(n_in, n_out)), np.zeros(n_out))

    def forward(self, x):
        out, self.cache = dense_forward(x, self.params["W"], self.params["b"])
        return out

    def backward(self, dout):
        dx, self.grads["W"], self.grads["b"] = dense_backward(dout, self.cache)
        return dx


class Conv2D(Layer):
    """2-D convolution; params "w" (KH, KW, C_in, C_out) and "b" (C_out,)."""

    def __init__(self, w, b, stride=1, padding=0):
        super().__init__()
        self.params = {"w": np.array(w, dtype=np.float64), "b": np.array(b, dtype=np.float64)}
        self.stride = stride
        self.padding = padding

    @classmethod
    def random(cls, kernel_size, c_in, c_out, rng, stride=1, padding=0):
        """Glorot-uniform filters of shape (k, k, c_in, c_out) and zero biases."""
        fan_in = kernel_size * kernel_size * c_in
        fan_out = kernel_size * kernel_size * c_out
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-limit, limit, size=(kernel_size, kernel_size, c_in, c_out))
        return cls(w, np.zeros(c_out), stride, padding)

    def forward(self, x):
        out, self.cache = conv2d_forward(
            x, self.params["w"], self.params["b"], self.stride, self.padding
        )
        return out

    def backward(self, dout):
        dx, self.grads["w"], self.grads["b"] = conv2d_backward(dout, self.cache)
        return dx


class MaxPool(Layer):
    """Max pooling over pool x pool windows with the given stride."""

    def __init__(self, pool=2, stride=2):
        super().__init__()
        self.pool = pool
        self.stride = stride

    def forward(self, x):
        out, self.cache = maxpool_forward(x, self.pool, self.stride)
        return out

    def backward(self, dout):
        return maxpool_backward(dout, self.cache)


class Activation(Layer):
    """Elementwise activation: "sigmoid", "tanh" or "relu"."""

    def __init__(self, kind):
        super().__init__()
        if kind not in ACTIVATIONS:
            raise ValueError(
                f"Activation: kind must be one of {', '.join(map(repr, ACTIVATIONS))}, "
                f"got {kind!r}"
            )
        self.kind = kind

    def forward(self, x):
        out, self.cache = activation_forward(x, self.kind)
        return out

    def backward(self, dout):
        return activation_backward(dout, self.cache)

    def __repr__(self):
        return f"Activation({self.kind!r})"


class Flatten(Layer):
    """Reshape (N, ...) to (N, prod(...)), e.g. conv features to a dense layer's input."""

    def forward(self, x):
        x = np.asarray(x)
        self.cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return np.reshape(dout, self.cache)


class Sequential:
    """
    Layers applied in order, followed by a loss.

    Inputs:
    - layers: list of Layer objects.
    - loss: "squared_error" (squared_error_loss) or "softmax_cross_entropy"
      (the last layer then outputs logits), or any function
      (prediction, target) -> (loss, dprediction).
    """

    def __init__(self, layers, loss="squared_error"):
        self.layers = list(layers)
        if callable(loss):
            self.loss_fn = loss
        elif loss in LOSSES:
            self.loss_fn = LOSSES[loss]
        else:
            raise ValueError(
                f"Sequential: loss must be one of {', '.join(map(repr, LOSSES))} "
                f"or a function, got {loss!r}"
            )

    def forward(self, x):
        """Output of the last layer for input x (no loss)."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout):
        """Backpropagate dL/d(output) through all layers; returns dL/dx."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def forward_backward(self, x, y):
        """
        One full pass: forward, loss against targets y, backward.

        Afterwards grads() holds dL/dparam for every parameter.

        Returns:
        - loss: float.
        """
        loss, dout = self.loss_fn(self.forward(x), y)
        self.backward(dout)
        return loss

    def params(self):
        """Every parameter array, keyed "<layer index>.<name>" (the arrays themselves, not copies)."""
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in layer.params.items()
        }

    def grads(self):
        """dL/dparam from the last backward pass, with the keys of params()."""
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in layer.grads.items()
        }

    def __repr__(self):
        return "Sequential([" + ", ".join(map(repr, self.layers)) + "])"


class SGD:
    """Plain gradient descent: param <- param - lr * dL/dparam, in place."""

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"SGD: lr must be positive, got {lr!r}")
        self.lr = lr

    def step(self, model):
        grads = model.grads()
        for name, param in model.params().items():
            if name not in grads:
                raise ValueError(
                    f"SGD.step: no gradient for parameter {name!r}; run backward first"
                )
            param -= self.lr * grads[name]
