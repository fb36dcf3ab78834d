"""Reversible image codec: any accepted image layout to (n, C, H, W) in [-1, 1].

The codec records how the user's images are laid out (stacked grayscale,
channels last, channels first, or flat rows with an ``image_shape``), their
dtype and their value range, so that generated images come back exactly in
the form of the training images.

Layout rules
------------
- 3D input ``(n, H, W)`` is grayscale.
- 4D input ``(n, A, B, D)``: the channel axis is the one of size 4 or less.
  When both ``A`` and ``D`` are that small, channels last is assumed (the
  numpy / PIL convention), unless only channels first leaves images of at
  least 4x4 pixels: ``(n, 3, 16, 4)`` is read as RGB images of 16x4 pixels.
  ``image_shape`` cannot change this reading (it must equal the shape of one
  image); to have ``(n, 4, 16, 4)`` read as channels first, move the channel
  axis last first (``np.moveaxis(X, 1, -1)``).
- 2D input ``(n, features)`` needs ``image_shape``: ``(H, W)``, ``(H, W, C)``
  or ``(C, H, W)``, read with the same channel rule (so ``(4, 16, 4)`` means
  ``(H, W, C)``), and ``features`` must be the product of its sizes.

Value range
-----------
``uint8`` images map 0-255 to [-1, 1]. Other images use the smallest of the
standard ranges [0, 1] and [-1, 1] that holds the data, or else the observed
[min, max] (``load_digits`` gives 0-16). Generated values are clipped to the
range; integer dtypes are rounded.

:meth:`ImageCodec.transform` clips values a little outside the fitted range,
but refuses images that cannot be in the fitted units: values more than the
range's own width outside it (0-255 images for a codec fitted on [0, 1]), or
float images within [-1, 1] with fractional values for a codec fitted on
integer images whose range reaches beyond 1 (images rescaled to [0, 1] for a
codec fitted on ``uint8`` images). Either would otherwise map every pixel to
about the same value.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import as_array
from ..persistence import persistable

__all__ = ["ImageCodec", "looks_like_images"]

MAX_CHANNELS = 4
MIN_SIZE = 4


def looks_like_images(X, image_shape=None) -> bool:
    """True when ``X`` should take the image path under ``kind="auto"``."""
    if image_shape is not None:
        return True
    if hasattr(X, "columns") or hasattr(X, "tocsr"):
        return False
    return as_array(X).ndim in (3, 4)


def _channel_axis(shape: tuple) -> str:
    """``"last"`` or ``"first"`` for a 3-sized per-image shape.

    Channels last when the last axis can hold them, unless only channels
    first leaves both sides at least ``MIN_SIZE`` pixels: ``(3, 16, 4)`` read
    as channels last would be 4 channels of 3x16 pixels, which no model takes.
    """
    first, last = shape[0] <= MAX_CHANNELS, shape[-1] <= MAX_CHANNELS
    if last and first and min(shape[0], shape[1]) < MIN_SIZE <= min(shape[1], shape[2]):
        return "first"
    if last:
        return "last"
    if first:
        return "first"
    raise ValueError(
        f"Cannot tell the channel axis of images shaped {tuple(shape)}: one of the first or last "
        f"axes must hold the channels (at most {MAX_CHANNELS})."
    )


def _describe(layout: str, item_shape: tuple) -> str:
    """How images of ``layout`` and per-image shape ``item_shape`` are given, in words."""
    if layout.startswith("flat_"):
        return f"flat rows of {int(np.prod(item_shape))} values (images of shape {tuple(item_shape)})"
    return f"stacked images of shape {tuple(item_shape)}"


def _value_range(value_range) -> tuple:
    """``(low, high)`` as finite floats with ``low < high``."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be (low, high), two numbers; got {value_range!r}.") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"value_range must hold two finite numbers with low < high; got {value_range!r}.")
    return low, high


@persistable
class ImageCodec:
    """Learn the layout, dtype and range of images; map them to and from [-1, 1].

    Parameters
    ----------
    image_shape : tuple of int, default=None
        Shape of one image for flat rows: ``(H, W)``, ``(H, W, C)`` or
        ``(C, H, W)``, the channel axis read by the rule of the module
        docstring (a 3-sized shape whose both ends are 4 or less, such as
        ``(4, 16, 4)``, is ``(H, W, C)``). For 3D or 4D input it may be given
        as a check: it must then equal the shape of one image, and the channel
        axis is read from that shape by the same rule.

    Attributes
    ----------
    layout_ : {"gray", "last", "first", "flat_gray", "flat_last", "flat_first"}
        Where the channels are; ``flat_*`` for flat rows read with ``image_shape``.
    channels_, height_, width_ : int
    dtype_ : numpy.dtype
    low_, high_ : float
        The value range mapped to [-1, 1].
    """

    def __init__(self, image_shape=None):
        self.image_shape = image_shape

    def to_state(self) -> dict:
        return {
            "image_shape": None if self.image_shape is None else [int(v) for v in self.image_shape],
            "layout": self.layout_,
            "shape": [self.channels_, self.height_, self.width_],
            "item_shape": [int(v) for v in self.item_shape_],
            "dtype": np.dtype(self.dtype_).str,
            "range": [float(self.low_), float(self.high_)],
        }

    @classmethod
    def from_state(cls, state: dict, *, device=None, context=None) -> "ImageCodec":
        codec = cls(image_shape=None if state["image_shape"] is None else tuple(state["image_shape"]))
        codec.layout_ = str(state["layout"])
        codec.channels_, codec.height_, codec.width_ = (int(v) for v in state["shape"])
        codec.item_shape_ = tuple(int(v) for v in state["item_shape"])
        codec.dtype_ = np.dtype(state["dtype"])
        codec.low_, codec.high_ = (float(v) for v in state["range"])
        return codec

    # ------------------------------------------------------------ layout
    def _parse_shape(self, shape: tuple):
        """Return ``(layout, C, H, W)`` for per-image ``shape``."""
        if len(shape) == 2:
            return "gray", 1, shape[0], shape[1]
        if len(shape) == 3:
            axis = _channel_axis(shape)
            if axis == "last":
                return "last", shape[2], shape[0], shape[1]
            return "first", shape[0], shape[1], shape[2]
        raise ValueError(f"An image must have 2 or 3 dimensions, got shape {tuple(shape)}.")

    def _check_image_shape(self):
        shape = self.image_shape
        if shape is None:
            return None
        if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
            raise TypeError(f"image_shape must be a tuple of ints such as (28, 28), got {shape!r}.")
        if len(shape) not in (2, 3) or not all(isinstance(s, numbers.Integral) and s > 0 for s in shape):
            raise ValueError(
                f"image_shape must be (H, W), (H, W, C) or (C, H, W) with positive ints, got {tuple(shape)!r}."
            )
        return tuple(int(s) for s in shape)

    def _layout_of(self, array: np.ndarray):
        """``(layout, C, H, W, per-image shape)`` of an input array."""
        shape = self._check_image_shape()
        if array.ndim == 2:
            if shape is None:
                raise ValueError(
                    f"X has shape {array.shape}: flat image rows need image_shape=(H, W) or (H, W, C), "
                    "for example image_shape=(8, 8) for sklearn's load_digits."
                )
            if int(np.prod(shape)) != array.shape[1]:
                raise ValueError(
                    f"image_shape={shape} holds {int(np.prod(shape))} values but X has {array.shape[1]} features per row."
                )
            layout, c, h, w = self._parse_shape(shape)
            return ("flat_" + layout), c, h, w, shape
        if array.ndim in (3, 4):
            if shape is not None and tuple(array.shape[1:]) != shape:
                raise ValueError(f"image_shape={shape} does not match the images' shape {tuple(array.shape[1:])}.")
            per_image = tuple(array.shape[1:])
            layout, c, h, w = self._parse_shape(per_image)
            return layout, c, h, w, per_image
        raise ValueError(
            f"Images must be an array of shape (n, H, W), (n, H, W, C), (n, C, H, W) or flat rows (n, H*W) "
            f"with image_shape; got {array.ndim} dimension(s)."
        )

    @staticmethod
    def _as_array(X) -> np.ndarray:
        if hasattr(X, "tocsr"):
            raise TypeError("Sparse input is not supported for images; pass a dense array.")
        array = as_array(X)
        if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise TypeError(f"Images must hold numbers, got dtype {array.dtype}.")
        if np.iscomplexobj(array):
            raise ValueError("Complex data not supported.")
        return array

    # --------------------------------------------------------------- fit
    def fit(self, X, value_range=None):
        """Learn the layout and dtype of ``X`` and the value range to map to [-1, 1].

        ``value_range=(low, high)`` sets the range instead of reading it from
        ``X`` (to draw generated images in the units of the training images,
        say: ``(gan.codec_.low_, gan.codec_.high_)``).
        """
        array = self._as_array(X)
        layout, c, h, w, per_image = self._layout_of(array)
        if c > MAX_CHANNELS:
            raise ValueError(f"Images have {c} channels; at most {MAX_CHANNELS} are supported.")
        if h < MIN_SIZE or w < MIN_SIZE:
            axis = layout.split("_")[-1]
            read = "" if axis == "gray" else f" (shape {per_image} read as {c} channel(s) {axis})"
            raise ValueError(
                f"Images of {h}x{w} pixels{read} are too small; both sides need at least {MIN_SIZE} pixels."
            )
        if len(array) == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={array.shape}) while a minimum of 2 is required.")
        values = array.astype(np.float64, copy=False)
        if not np.isfinite(values).all():
            raise ValueError("Images contain NaN or infinite values; images must be finite.")
        self.layout_, self.channels_, self.height_, self.width_ = layout, c, h, w
        self.item_shape_ = per_image
        self.dtype_ = array.dtype
        if value_range is not None:
            low, high = _value_range(value_range)
        elif array.dtype == np.uint8:
            low, high = 0.0, 255.0
        elif array.dtype == bool:
            low, high = 0.0, 1.0
        else:
            lo, hi = float(values.min()), float(values.max())
            if lo >= 0.0 and hi <= 1.0:
                low, high = 0.0, 1.0
            elif lo >= -1.0 and hi <= 1.0:
                low, high = -1.0, 1.0
            else:
                low, high = lo, hi
        if high <= low:
            raise ValueError("All pixel values are equal; there is nothing for a GAN to learn.")
        self.low_, self.high_ = low, high
        return self

    @property
    def shape_(self) -> tuple:
        """``(C, H, W)`` as the networks see it."""
        return (self.channels_, self.height_, self.width_)

    # --------------------------------------------------------- transform
    def transform(self, X) -> np.ndarray:
        """Images as float32 ``(n, C, H, W)`` in [-1, 1].

        Raises ``ValueError`` for images laid out otherwise than at fit, and
        for images whose values cannot be in the fitted units (see the module
        docstring); values a little outside the fitted range are clipped.
        """
        array = self._as_array(X)
        fitted = _describe(self.layout_, self.item_shape_)
        if array.ndim == 2 and not self.layout_.startswith("flat_"):
            raise ValueError(
                f"X holds flat rows of {array.shape[1]} values, but the codec was fitted on {fitted}; "
                f"pass the images stacked, X.reshape(-1, {', '.join(map(str, self.item_shape_))}), as at fit."
            )
        layout, c, h, w, per_image = self._layout_of(array)
        if per_image != self.item_shape_ or layout != self.layout_:
            flat_hint = self.layout_.startswith("flat_") and per_image == self.item_shape_
            hint = " X.reshape(len(X), -1) makes flat rows." if flat_hint else ""
            raise ValueError(
                f"X holds {_describe(layout, per_image)}, but the codec was fitted on {fitted}; "
                f"pass images laid out as at fit.{hint}"
            )
        self._check_range(array)
        array = array.reshape((len(array),) + per_image)
        if layout.endswith("gray"):
            array = array[:, None]
        elif layout.endswith("last"):
            array = np.moveaxis(array, -1, 1)
        scaled = (array.astype(np.float32) - self.low_) / (self.high_ - self.low_) * 2.0 - 1.0
        if not np.isfinite(scaled).all():
            raise ValueError("Images contain NaN or infinite values; images must be finite.")
        return np.ascontiguousarray(np.clip(scaled, -1.0, 1.0), dtype=np.float32)

    def _check_range(self, array: np.ndarray) -> None:
        """Refuse images that cannot be in the fitted units (another scale, or rescaled to [0, 1])."""
        if array.size == 0:
            return
        lo, hi = float(array.min()), float(array.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError("Images contain NaN or infinite values; images must be finite.")
        low, high = self.low_, self.high_
        fitted = f"{np.dtype(self.dtype_)} images in [{low:g}, {high:g}]"
        # A range's own width of slack: held-out images or a generator may go a little past the
        # training range (and are clipped), another scale goes far past it. A fidelity gate whose
        # extractor saw only [0, 1] but whose model drew from [-1, 1] stays within it too.
        slack = (high - low) * (1.0 + 1e-6)
        if lo < low - slack or hi > high + slack:
            raise ValueError(
                f"Images hold values in [{lo:g}, {hi:g}] ({array.dtype}), far outside the range of the "
                f"{fitted} the codec was fitted on; pass images in the value range of the training images "
                "(the same units, e.g. 0-255 or [0, 1])."
            )
        # Integer images rescaled to floats in [0, 1] (or [-1, 1]) lie inside the fitted range, but
        # would all map to its bottom end. Float images holding whole numbers only (an integer image
        # cast to float, a black image) are read as they are.
        if (
            np.issubdtype(self.dtype_, np.integer)
            and high > 1.0
            and np.issubdtype(array.dtype, np.floating)
            and lo >= -1.0
            and hi <= 1.0
            and not np.array_equal(array, np.round(array))
        ):
            raise ValueError(
                f"Images are {array.dtype} values in [{lo:g}, {hi:g}], but the codec was fitted on {fitted}: "
                "they look rescaled to [0, 1] or [-1, 1], and would all map to nearly one value of the fitted range. "
                "Pass them in the units of the training images (for uint8 training images, 0-255)."
            )

    def inverse_transform(self, images: np.ndarray) -> np.ndarray:
        """Float ``(n, C, H, W)`` in [-1, 1] back to the fitted layout, range and dtype."""
        images = np.clip(np.asarray(images, dtype=np.float64), -1.0, 1.0)
        values = (images + 1.0) / 2.0 * (self.high_ - self.low_) + self.low_
        layout = self.layout_
        if layout.endswith("gray"):
            values = values[:, 0]
        elif layout.endswith("last"):
            values = np.moveaxis(values, 1, -1)
        if layout.startswith("flat_"):
            values = values.reshape(len(values), int(np.prod(values.shape[1:])))  # also for 0 images
        dtype = self.dtype_
        if dtype == bool:
            return values >= 0.5
        if np.issubdtype(dtype, np.integer):
            return np.rint(values).astype(dtype)
        return np.ascontiguousarray(values.astype(dtype))
