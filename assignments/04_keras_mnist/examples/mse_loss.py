# Example submission: compiled with the mean squared error: loses the loss case; softmax + MSE still learns (about 95-96%), full accuracy credit
# %% [markdown]
# # Assignment 04: a Keras digit recogniser
#
# You prepare MNIST digits for a convolutional network and build the lecture's
# digit recogniser in Keras. The grader trains the model you build under a
# fixed budget and measures its accuracy on digits you never see. Then you
# answer a few questions about the network's shapes and parameters by hand.
#
# Run `dlgrade check mnist_cnn.py` (or `dlgrade check mnist_cnn.ipynb`) to
# run the public checks before you submit. They check names and shapes only
# and never train; the hidden checks test values, and train your model.

# %%
import keras
import numpy as np
from keras import layers

# %% [markdown]
# ## 1. Preparing the digits
#
# `images` is a uint8 array of shape (N, 28, 28) with pixels 0..255 (what
# `keras.datasets.mnist.load_data()` gives) and `labels` an integer array of
# shape (N,) with digits 0..9. Return `(x, y)`:
#
# - `x`: float32, shape (N, 28, 28, 1) (one grey channel), pixels scaled to
#   [0, 1] by dividing by 255;
# - `y`: the labels one-hot encoded, shape (N, 10), even when a batch does
#   not contain every digit.
#
# The lecture's `train_data //= 255` is a floor division: it turns every pixel
# below 255 into 0. Divide with `/`.


# %%
def preprocess(images, labels):
    """images (N, 28, 28) uint8, labels (N,) ints -> x float32 (N, 28, 28, 1) in [0, 1], y one-hot (N, 10)."""
    images = np.asarray(images)
    x = images.astype(np.float32) / 255.0
    x = x.reshape(-1, 28, 28, 1)
    y = np.eye(10, dtype=np.float32)[np.asarray(labels).astype(np.int64)]
    return x, y


# %% [markdown]
# ## 2. The lecture's digit recogniser
#
# Build and compile, in this order:
#
# | layer | settings |
# |---|---|
# | input | shape (28, 28, 1) |
# | Conv2D | 8 filters, 5x5, padding "same", relu |
# | MaxPool2D | 2x2 |
# | Dropout | 0.25 |
# | Conv2D | 16 filters, 3x3, padding "same", relu |
# | MaxPool2D | 2x2, strides 2 |
# | Dropout | 0.25 |
# | Flatten | |
# | Dense | 256 units, relu |
# | Dropout | 0.5 |
# | Dense | 10 units, softmax |
#
# Compile with the Adam optimizer, the categorical cross-entropy loss and the
# accuracy metric, and return the compiled model (do not train it: the grader
# does). The lecture's version ends in `Dense(10*10)` + `Reshape((10, 10, 1))`:
# that is a mistake, one-hot labels of 10 digits need an output of 10
# probabilities per image.


# %%
def build_model():
    """The compiled, untrained digit recogniser: input (None, 28, 28, 1), output (None, 10)."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, (5, 5), padding="same", activation="relu"),
        layers.MaxPool2D(pool_size=(2, 2)),
        layers.Dropout(0.25),
        layers.Conv2D(16, (3, 3), padding="same", activation="relu"),
        layers.MaxPool2D(pool_size=(2, 2), strides=(2, 2)),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error", metrics=["accuracy"])
    return model


# %% [markdown]
# ## 3. Shapes and parameters, by hand
#
# Work these out with pencil and paper for the network above, then compare
# with `build_model().summary()`.
#
# - `CONV1_PARAMS`, `CONV2_PARAMS`, `DENSE1_PARAMS`: the number of trainable
#   parameters (weights and biases) of the first Conv2D, the second Conv2D and
#   the Dense(256) layer (integers).
# - `SHAPE_AFTER_POOL1`, `SHAPE_AFTER_POOL2`: the shape of one image's
#   activations after each MaxPool2D, as (height, width, channels), without
#   the batch dimension.
# - `FLATTEN_UNITS`: the number of values Flatten passes to Dense(256).

# %%
CONV1_PARAMS = 5 * 5 * 1 * 8 + 8             # 208
CONV2_PARAMS = 3 * 3 * 8 * 16 + 16           # 1168
DENSE1_PARAMS = 7 * 7 * 16 * 256 + 256       # 200960
SHAPE_AFTER_POOL1 = (14, 14, 8)
SHAPE_AFTER_POOL2 = (7, 7, 16)
FLATTEN_UNITS = 7 * 7 * 16                   # 784
