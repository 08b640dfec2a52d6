"""build_model, plain-data configs, rebuild from config + state_dict, presets."""

import io
import json

import pytest
import torch

from spikeforge.functional.surrogate import ATan
from spikeforge.models import MODELS, SCNN, SRNN, BPSTDPNet, DiehlCook, build_model

from ._tiny import TINY_SCNN, TINY_SRNN

CASES = [
    ("scnn", TINY_SCNN, (2, 1, 8, 8)),
    ("scnn", dict(TINY_SCNN, readout="spiking", learn_tau_mem=True, surrogate_kwargs={"alpha": 3.0}), (2, 1, 8, 8)),
    ("srnn", TINY_SRNN, (5, 2, 3)),
    ("srnn", dict(TINY_SRNN, readout="alif-membrane", learn_tau=False), (5, 2, 3)),
]


def test_models_registry():
    assert MODELS == {"scnn": SCNN, "srnn": SRNN, "diehl_cook": DiehlCook, "bp_stdp_mlp": BPSTDPNet}
    assert all(cls.model_name == name for name, cls in MODELS.items())
    # the plasticity models train themselves (spikeforge.models.plasticity_run), the others by gradient
    assert [name for name, cls in MODELS.items() if getattr(cls, "self_training", False)] == ["diehl_cook",
                                                                                             "bp_stdp_mlp"]


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet'.*scnn, srnn"):
        build_model("resnet")


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown SRNN preset 'timit'.*ecg, psmnist, smnist, smnist-row"):
        build_model("srnn", preset="timit")
    with pytest.raises(ValueError, match="digits, mnist"):
        SCNN.preset("cifar")


@pytest.mark.parametrize("name, kwargs, shape", CASES)
def test_rebuild_from_config_and_state_dict_gives_identical_outputs(name, kwargs, shape):
    torch.manual_seed(0)
    model = build_model(name, **kwargs)
    config = json.loads(json.dumps(model.config))  # plain data: survives a JSON/YAML round trip
    assert config == model.config
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    torch.manual_seed(1)  # a different draw of weights and time constants
    twin = build_model(model.model_name, **config)
    twin.load_state_dict(torch.load(buffer, weights_only=True))
    model.eval(), twin.eval()
    x = torch.rand(shape)
    torch.testing.assert_close(twin(x)[0], model(x)[0], rtol=0, atol=0)
    assert twin.config == model.config


def test_config_holds_every_constructor_argument():
    model = SCNN(**TINY_SCNN)
    assert model.config["channels"] == [4] and model.config["input_shape"] == [1, 8, 8]
    assert model.config["surrogate"] == "atan" and model.config["backend"] == "auto"
    assert set(SRNN(**TINY_SRNN).config) >= {"input_size", "hidden_sizes", "recurrent", "tau_adp_std", "readout"}


def test_non_plain_arguments_are_refused():
    with pytest.raises(TypeError, match="surrogate must be plain data"):
        SCNN(**TINY_SCNN, surrogate=ATan())
    with pytest.raises(TypeError, match="tau_mem must be plain data"):
        SRNN(**TINY_SRNN, tau_mem=torch.tensor(0.02))


@pytest.mark.parametrize("name", sorted(SCNN.PRESETS))
def test_scnn_presets_build_and_run(name):
    torch.manual_seed(0)
    model = build_model("scnn", preset=name, num_steps=2)
    c, h, w = model.input_shape
    out, _ = model(torch.rand(2, c, h, w))
    assert out.shape == (2, 2, 10)


@pytest.mark.parametrize("name", sorted(SRNN.PRESETS))
def test_srnn_presets_build_and_run(name):
    torch.manual_seed(0)
    model = SRNN.preset(name)
    out, _ = model(torch.rand(4, 2, model.input_size))
    assert out.shape == (4, 2, model.config["num_classes"])


def test_preset_sizes_follow_yin_et_al():
    ecg = SRNN.preset("ecg")
    assert (ecg.input_size, ecg.config["hidden_sizes"], ecg.config["num_classes"]) == (4, [36], 6)
    # their ECG script: non-adaptive hidden neurons, adaptive outputs, the reset not detached
    hidden, readout = ecg.net[0].neuron.neuron_parameters(), ecg.net[-1].neuron.neuron_parameters()
    assert torch.all(hidden.beta == 0.0) and torch.allclose(readout.beta, torch.tensor(1.8))
    assert not hidden.detach_reset and not readout.detach_reset
    smnist = SRNN.preset("smnist")
    kinds = [type(m).__name__ for m in smnist.net]
    assert kinds == ["RecurrentALIF", "RecurrentALIF", "Linear", "ALIF", "Linear", "ALIF"]
    assert [smnist.net[0].hidden_size, smnist.net[1].hidden_size, smnist.net[3].size[0]] == [64, 256, 256]
    assert SRNN.preset("smnist-row").input_size == 28


def test_preset_overrides():
    model = SCNN.preset("digits", readout="spiking", num_steps=3)
    assert model.config["readout"] == "spiking" and model.num_steps == 3
