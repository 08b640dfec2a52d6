"""Hand-made spike train and membrane trace shared by the decoder and loss tests."""

import torch

# [T=4, B=2, C=3]; counts [[2, 3, 0], [1, 0, 2]], first spikes [[1, 0, 4], [3, 4, 1]]
SPIKES = torch.tensor(
    [
        [[0, 1, 0], [0, 0, 0]],
        [[1, 1, 0], [0, 0, 1]],
        [[0, 0, 0], [0, 0, 1]],
        [[1, 1, 0], [1, 0, 0]],
    ],
    dtype=torch.float32,
)
# [T=3, B=1, C=2]
V = torch.tensor([[[0.1, -1.0]], [[0.7, 0.2]], [[0.4, 0.5]]])
