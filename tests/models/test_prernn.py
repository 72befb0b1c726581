"""PreRNN (Yang et al. 2018): Table 3 from the built modules, the eq. 4-12 transformations, backbones."""
import pytest
import torch
import torch.nn as nn

from models import create_model, list_models
from models import backbones as bb
from models.prernn import PreRNNLayer, new_recurrent_parameters, table3_formula
from models.summary import main as summary_main
from models.summary import parameter_table

# prernn Table 3 (printed 0.18x ... ; NOTES.md gives the 3-digit values they round).
TABLE3 = {
    ("vgg16", "lstm"): {"fc6": 0.179, "fc7": 0.571, "fc67": 0.272},
    ("vgg16", "gru"): {"fc6": 0.197, "fc7": 0.600, "fc67": 0.296},
    ("c3d", "lstm"): {"fc6": 0.400, "fc7": 0.571, "fc67": 0.471},
    ("c3d", "gru"): {"fc6": 0.429, "fc7": 0.600, "fc67": 0.500},
    ("resnet50", "lstm"): {"res5c": 0.842},
    ("resnet50", "gru"): {"res5c": 0.857},
}
PRINTED = {("vgg16", "lstm"): (0.18, 0.57, 0.27), ("vgg16", "gru"): (0.20, 0.60, 0.30),
           ("c3d", "lstm"): (0.40, 0.57, 0.47), ("c3d", "gru"): (0.43, 0.60, 0.50),
           ("resnet50", "lstm"): (0.84,), ("resnet50", "gru"): (0.86,)}


def _new(name):
    # True sizes on the meta device: the modules are built, nothing is allocated.
    with torch.device("meta"):
        model = create_model(name, num_classes=10)
    return new_recurrent_parameters(model)


@pytest.mark.parametrize("arch,kind", sorted(TABLE3))
def test_table3_ratios_from_built_modules(arch, kind):
    for i, (layers, expected) in enumerate(TABLE3[arch, kind].items()):
        suffix = "" if arch == "resnet50" else f"_{layers}"
        pre = _new(f"prernn_{arch}_{kind}{suffix}")
        sih = _new(f"prernn_sih_{arch}_{kind}{suffix}")
        assert round(sih / pre, 3) == pytest.approx(expected, abs=1e-9)
        assert round(sih / pre, 2) == pytest.approx(PRINTED[arch, kind][i], abs=1e-9)
        # ... and they are NOTES.md's closed forms (D, H of the pretrained layers; 1x1 kernels).
        dims = {"vgg16": {"fc6": [(25088, 4096)], "fc7": [(4096, 4096)]},
                "c3d": {"fc6": [(8192, 4096)], "fc7": [(4096, 4096)]},
                "resnet50": {"res5c": [(512, 2048)]}}[arch]
        dims["fc67"] = dims.get("fc6", []) + dims.get("fc7", [])
        assert pre == sum(table3_formula(D, H, kind, sih=False) for D, H in dims[layers])
        assert sih == sum(table3_formula(D, H, kind, sih=True) for D, H in dims[layers])


def _gate_output(kind, v):
    """Output at t=0 from zero state with zero W_h, given the pretrained layer's output v (eqs. 5-12)."""
    if kind == "vrnn":
        return torch.relu(v)  # H of eq. 4: the pretrained layer's own activation
    if kind == "lstm":
        i = f = o = torch.sigmoid(v)
        c = f * 0 + i * torch.tanh(v)
        return o * torch.tanh(c)
    r = z = torch.sigmoid(v)
    return (1 - z) * 0 + z * torch.tanh(v)


@pytest.mark.parametrize("sih", [False, True])
@pytest.mark.parametrize("kind", ["vrnn", "lstm", "gru"])
def test_fc_layer_with_zero_recurrence_is_the_pretrained_layer(kind, sih):
    torch.manual_seed(0)
    fc = nn.Linear(32, 16)
    layer = PreRNNLayer(fc, kind=kind, sih=sih, hh_init="zeros")
    assert layer.input_proj[0].linear is fc  # W_xy itself becomes (one gate's) input-to-hidden weight
    x = torch.randn(3, 4, 32)
    y, _ = layer(x)
    with torch.no_grad():
        v = fc(x.flatten(0, 1)).view(3, 4, 16)
        expected = _gate_output(kind, v)
    # Same numbers up to float rounding of the elementwise kernels (1 ulp); VRNN is bit-exact.
    torch.testing.assert_close(y[:, 0], expected[:, 0], rtol=1e-6, atol=1e-7)
    if kind == "vrnn":  # no state-dependent term at all: every step is the pretrained layer
        torch.testing.assert_close(y, expected, rtol=0, atol=0)
    h, _ = layer.step(x[:, 0])
    torch.testing.assert_close(h, expected[:, 0])


@pytest.mark.parametrize("sih", [False, True])
@pytest.mark.parametrize("kind", ["vrnn", "lstm", "gru"])
def test_conv_layer_with_zero_recurrence_is_the_pretrained_conv_bn(kind, sih):
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(8, 16, 1, bias=False), nn.BatchNorm2d(16)
    with torch.no_grad():
        bn.running_mean.normal_(), bn.running_var.uniform_(0.5, 2), bn.weight.normal_(), bn.bias.normal_()
    layer = PreRNNLayer((conv, bn), kind=kind, sih=sih, hh_init="zeros")
    x, sc = torch.randn(2, 3, 8, 5, 5), torch.randn(2, 3, 16, 5, 5)
    layer.train()  # B uses the pretrained statistics even in training (eq. 6)
    y, _ = layer(x, shortcut=sc)
    with torch.no_grad():
        v = (bn.eval()(conv(x.flatten(0, 1))) + sc.flatten(0, 1)).mean((-2, -1)).view(2, 3, 16)  # P(B(W*x)+gamma)
        expected = _gate_output(kind, v)
    torch.testing.assert_close(y[:, 0], expected[:, 0])
    if kind == "vrnn":
        torch.testing.assert_close(y, expected)
    if kind != "vrnn" and not sih:
        assert new_recurrent_parameters(layer) == (len(layer.gates) - 1) * 8 * 16 + len(layer.gates) * 16 * 16


def test_resnet50_res5c_split_reproduces_pool5():
    torch.manual_seed(0)
    net = bb.resnet50().eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        pool5 = net(x, tap="pool5")
        trunk, conv, bn = net.res5c_split()
        assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (512, 2048, (1, 1))
        # ResNet's own order (ReLU before pooling) as the option; the default is eq. 6 literally.
        layer = PreRNNLayer((conv, bn), kind="vrnn", pre_pool_activation="relu", hh_init="zeros").eval()
        branch, shortcut = trunk(x)
        y, _ = layer(branch[None], shortcut=shortcut[None])
        literal = PreRNNLayer((conv, bn), kind="vrnn", hh_init="zeros").eval()(branch[None], shortcut=shortcut[None])[0]
    torch.testing.assert_close(y[0], pool5, rtol=1e-5, atol=1e-5)
    res5c = (bn(conv(branch)) + shortcut)
    torch.testing.assert_close(literal[0], torch.relu(res5c.mean((-2, -1))), rtol=1e-5, atol=1e-5)


def test_sih_gates_share_one_input_projection():
    torch.manual_seed(0)
    fc = nn.Linear(32, 16)
    sih = PreRNNLayer(fc, kind="lstm", sih=True)
    inputs = [p for n, p in sih.named_parameters() if n.startswith("input_proj") and p.dim() == 2]
    assert len(inputs) == 1 and inputs[0] is fc.weight
    x, state = torch.randn(4, 32), (torch.randn(4, 16), torch.randn(4, 16))
    before = sih.step(x, state, return_gates=True)[2]
    with torch.no_grad():
        fc.weight.add_(0.1)
    after = sih.step(x, state, return_gates=True)[2]
    assert set(before) == {"i", "f", "o", "c"}
    assert all(not torch.allclose(before[g], after[g]) for g in before)

    # PreRNN (gate-dependent): own copies, same initial values; changing one moves only its gate.
    fc = nn.Linear(32, 16)
    pre = PreRNNLayer(fc, kind="gru")
    ws = [p.linear.weight for p in pre.input_proj]
    assert len(ws) == 3 and ws[0] is fc.weight and all(torch.equal(w, fc.weight) for w in ws)
    assert len({w.data_ptr() for w in ws}) == 3
    h = torch.randn(4, 16)
    before = pre.step(x, h, return_gates=True)[2]
    with torch.no_grad():
        ws[1].add_(0.1)  # gate z
    after = pre.step(x, h, return_gates=True)[2]
    assert torch.equal(before["r"], after["r"]) and not torch.allclose(before["z"], after["z"])


def test_vgg_fc_as_linear_and_c3d():
    conv = nn.Conv2d(4, 6, 3)
    x = torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(bb.linear_from_conv(conv)(x.flatten(1)), conv(x).flatten(1))
    # True-size C3D shapes on the meta device (Tran et al.: pool5 512x1x4x4 = 8192 for 3x16x112x112).
    with torch.device("meta"):
        big = bb.c3d()
        assert big.forward_conv5(torch.empty(1, 3, 16, 112, 112)).shape == (1, 512, 2, 7, 7)
        assert big.pool5(big.forward_conv5(torch.empty(1, 3, 16, 112, 112))).shape == (1, 512, 1, 4, 4)
    assert [m.out_channels for m in big.modules() if isinstance(m, nn.Conv3d)] == list(bb.C3D.widths)
    assert (big.fc6.in_features, big.fc6.out_features, big.fc7.out_features) == (8192, 4096, 4096)
    with pytest.raises(RuntimeError, match="No C3D weights ship.*pretrained='path"):
        bb.c3d(pretrained=True)
    # A tiny clip through a registered C3D model: (B, T clips, 3, L, H, W) -> (B, T, classes).
    torch.manual_seed(0)
    model = create_model("prernn_sih_c3d_gru_fc6", num_classes=5).eval()
    with torch.no_grad():
        y = model(torch.randn(1, 2, 3, 16, 32, 32))
    assert y.shape == (1, 2, 5) and torch.isfinite(y).all()


def test_registered_names_and_summary(capsys):
    kinds = ("vrnn", "lstm", "gru")
    expected = {f"prernn_{a}_{k}_{l}" for a in ("vgg16", "c3d") for k in kinds for l in ("fc6", "fc7", "fc67")}
    expected |= {f"prernn_sih_{a}_{k}_{l}" for a in ("vgg16", "c3d") for k in kinds[1:] for l in ("fc6", "fc7", "fc67")}
    expected |= {f"tra_{a}_{k}_{n}" for a in ("vgg16", "c3d") for k in kinds for n in (1, 2)}
    expected |= {f"prernn_resnet50_{k}" for k in kinds} | {f"prernn_sih_resnet50_{k}" for k in kinds[1:]}
    expected |= {f"tra_resnet50_{k}" for k in kinds} | {"lrcn_vgg16_lstm"}
    assert expected <= set(list_models())

    df = summary_main(["prernn_sih_resnet50_gru", "--meta", "--kw", "num_classes=101"])
    out = capsys.readouterr().out
    for row in ("backbone", "rnn", "head", "total"):
        assert row in out
    assert list(df.index) == ["backbone", "rnn", "head", "total"]
    assert df.loc["total", "params"] == df.loc[["backbone", "rnn", "head"], "params"].sum()
    assert df.loc["head", "params"] == 2048 * 101 + 101
    assert df.loc["rnn", "params_M"] == pytest.approx((512 * 2048 + 2 * 2048 + 3 * 2048 ** 2) / 1e6, abs=1e-3)
    with torch.device("meta"):
        m = create_model("tra_vgg16_lstm_2", num_classes=3)
    t = parameter_table(m)
    assert t.loc["rnn", "params"] == new_recurrent_parameters(m, include_bias=True)
