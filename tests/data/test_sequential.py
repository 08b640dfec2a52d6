"""SequentialMNIST: row and pixel order, the fixed permutation, attributes and errors."""

import pytest
import torch

from spikeforge.data import MNIST, SequentialMNIST, pixel_permutation

from ._shared import SHARED_DATA, require


class Images(torch.utils.data.Dataset):
    """Images whose pixel values are their own flat index, so orders can be read off."""

    num_classes = 10

    def __init__(self, n=3, shape=(1, 28, 28)):
        self.input_shape = shape
        size = torch.Size(shape).numel()
        self.images = [torch.arange(size, dtype=torch.float32).reshape(shape) + 1000 * i for i in range(n)]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], torch.tensor(i)


def test_row_mode_is_one_row_per_step():
    ds = SequentialMNIST(Images(), mode="row")
    x, label = ds[1]
    assert x.shape == (28, 28) and int(label) == 1
    assert torch.equal(x, Images()[1][0][0])
    assert x[2, 5] == 1000 + 2 * 28 + 5
    assert ds.num_steps == 28 and ds.input_shape == (28,) and ds.num_classes == 10
    assert ds.is_sequence and not ds.per_step_labels and len(ds) == 3


def test_pixel_mode_is_one_pixel_per_step_in_reading_order():
    x, _ = SequentialMNIST(Images(), mode="pixel")[0]
    assert x.shape == (784, 1)
    assert torch.equal(x[:, 0], torch.arange(784, dtype=torch.float32))


def test_permuted_mode_uses_one_fixed_permutation():
    train = SequentialMNIST(Images(), mode="pixel", permute=True, permutation_seed=3)
    test = SequentialMNIST(Images(n=2), mode="pixel", permute=True, permutation_seed=3)
    perm = train.permutation
    assert torch.equal(torch.sort(perm).values, torch.arange(784))
    assert not torch.equal(perm, torch.arange(784))
    assert torch.equal(perm, test.permutation) and torch.equal(perm, pixel_permutation(784, 3))
    x, _ = train[2]
    assert torch.equal(x[:, 0], torch.arange(784, dtype=torch.float32)[perm] + 2000)
    assert torch.equal(train[0][0], test[0][0])
    other = SequentialMNIST(Images(), mode="pixel", permute=True, permutation_seed=4)
    assert not torch.equal(other.permutation, perm)


def test_window_slides_one_pixel_per_step_and_repeats_the_last_window():
    x, _ = SequentialMNIST(Images(), mode="pixel", window=4)[0]
    assert x.shape == (784, 4)
    assert torch.equal(x[0], torch.tensor([0.0, 1.0, 2.0, 3.0])) and torch.equal(x[10], torch.arange(10.0, 14.0))
    for t in (780, 781, 783):  # Yin et al.: the last steps read the final window
        assert torch.equal(x[t], torch.arange(780.0, 784.0))
    ds = SequentialMNIST(Images(), mode="pixel", permute=True, permutation_seed=3, window=2)
    perm = ds.permutation.to(torch.float32)
    xp, _ = ds[0]
    assert ds.input_shape == (2,) and torch.equal(xp[5], perm[5:7])


def test_binarize_thresholds_the_pixels():
    x, _ = SequentialMNIST(Images(), mode="pixel", binarize=400.0)[0]
    assert torch.equal(x[:, 0], (torch.arange(784) > 400).float())


def test_permutation_leaves_the_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    SequentialMNIST(Images(), mode="pixel", permute=True)
    assert torch.equal(torch.rand(3), expected)


def test_channels_go_last_in_each_step():
    images = Images(n=1, shape=(2, 3, 4))  # value = c*12 + h*4 + w
    row, _ = SequentialMNIST(images, mode="row")[0]
    pixel, _ = SequentialMNIST(images, mode="pixel")[0]
    assert row.shape == (3, 8) and pixel.shape == (12, 2)
    assert row[1].tolist() == [4, 16, 5, 17, 6, 18, 7, 19]
    assert pixel[5].tolist() == [5, 17]


def test_real_mnist_test_split():
    mnist = MNIST(require(SHARED_DATA), train=False)
    image, label = mnist[0]
    rows = SequentialMNIST(mnist, mode="row")
    pixels = SequentialMNIST(mnist, mode="pixel", permute=True)
    assert torch.equal(rows[0][0], image[0]) and rows[0][1] == label
    assert pixels[0][0].shape == (784, 1) and pixels.num_steps == 784 and pixels.input_shape == (1,)
    assert torch.equal(torch.sort(pixels[0][0][:, 0]).values, torch.sort(image.flatten()).values)


def test_errors():
    with pytest.raises(ValueError, match=r"mode must be one of \('row', 'pixel'\), got 'column'"):
        SequentialMNIST(Images(), mode="column")
    with pytest.raises(ValueError, match="permute=True needs mode='pixel'"):
        SequentialMNIST(Images(), mode="row", permute=True)
    with pytest.raises(ValueError, match="window=4 needs mode='pixel'"):
        SequentialMNIST(Images(), mode="row", window=4)
    with pytest.raises(ValueError, match="window must be an integer from 1 to 784"):
        SequentialMNIST(Images(), mode="pixel", window=0)
    with pytest.raises(ValueError, match="binarize must be a number"):
        SequentialMNIST(Images(), mode="pixel", binarize="0.1")
    with pytest.raises(ValueError, match=r"images of shape \[C, H, W\], got \(28, 28\)"):
        SequentialMNIST(Images(shape=(28, 28)))
