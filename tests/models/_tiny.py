"""Tiny configurations of every zoo model, small enough for fast tests."""

TINY_SCNN = dict(input_shape=[1, 8, 8], num_classes=3, channels=[4], hidden=[6], num_steps=3)
TINY_SRNN = dict(input_size=3, num_classes=4, hidden_sizes=[5, 6], recurrent=[True, False])
