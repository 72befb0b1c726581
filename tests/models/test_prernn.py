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


# ----------------------------------------------------------------------------- the width knob
# Parameter counts of every PreRNN-family model (default num_classes=101) and of the backbones, computed
# on the meta device before ``width`` existed: width=1 (the default) must build exactly these networks.
COUNTS_BEFORE_WIDTH = {
    "lrcn_vgg16_lstm": 121962661,
    "prernn_c3d_gru_fc6": 195858277, "prernn_c3d_gru_fc67": 279752549, "prernn_c3d_gru_fc7": 162303845,
    "prernn_c3d_lstm_fc6": 246194021, "prernn_c3d_lstm_fc67": 363646821, "prernn_c3d_lstm_fc7": 195862373,
    "prernn_c3d_vrnn_fc6": 95186789, "prernn_c3d_vrnn_fc67": 111964005, "prernn_c3d_vrnn_fc7": 95186789,
    "prernn_resnet50_gru": 38403237, "prernn_resnet50_lstm": 43650213, "prernn_resnet50_vrnn": 27909285,
    "prernn_sih_c3d_gru_fc6": 128741221, "prernn_sih_c3d_gru_fc67": 179072869, "prernn_sih_c3d_gru_fc7": 128741221,
    "prernn_sih_c3d_lstm_fc6": 145518437, "prernn_sih_c3d_lstm_fc67": 212627301,
    "prernn_sih_c3d_lstm_fc7": 145518437,
    "prernn_sih_resnet50_gru": 36297893, "prernn_sih_resnet50_lstm": 40492197,
    "prernn_sih_vgg16_gru_fc6": 185005989, "prernn_sih_vgg16_gru_fc67": 235337637,
    "prernn_sih_vgg16_gru_fc7": 185005989, "prernn_sih_vgg16_lstm_fc6": 201783205,
    "prernn_sih_vgg16_lstm_fc67": 268892069, "prernn_sih_vgg16_lstm_fc7": 201783205,
    "prernn_vgg16_gru_fc6": 390535077, "prernn_vgg16_gru_fc67": 474429349, "prernn_vgg16_gru_fc7": 218568613,
    "prernn_vgg16_lstm_fc6": 510076837, "prernn_vgg16_lstm_fc67": 627529637, "prernn_vgg16_lstm_fc7": 252127141,
    "prernn_vgg16_vrnn_fc6": 151451557, "prernn_vgg16_vrnn_fc67": 168228773, "prernn_vgg16_vrnn_fc7": 151451557,
    "tra_c3d_gru_1": 179085157, "tra_c3d_gru_2": 279760741, "tra_c3d_lstm_1": 212643685,
    "tra_c3d_lstm_2": 346877797, "tra_c3d_vrnn_1": 111968101, "tra_c3d_vrnn_2": 145526629,
    "tra_resnet50_gru": 48886949, "tra_resnet50_lstm": 57277605, "tra_resnet50_vrnn": 32105637,
    "tra_vgg16_gru_1": 235349925, "tra_vgg16_gru_2": 336025509, "tra_vgg16_lstm_1": 268908453,
    "tra_vgg16_lstm_2": 403142565, "tra_vgg16_vrnn_1": 168232869, "tra_vgg16_vrnn_2": 201791397,
}
BACKBONE_COUNTS_BEFORE_WIDTH = {"vgg16": 134260544, "vgg19": 139570240, "resnet18": 11176512,
                                "resnet50": 23508032, "c3d": 77995776}


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_width_one_is_the_old_true_size():
    # every PreRNN-paper net of models/nets/prernn_nets.py (lrcn_googlenet_lstm, the deeprnn Table 2 baseline
    # registered later in models/nets/action.py, has no count from before the knob)
    later = {"lrcn_googlenet_lstm"}
    assert set(COUNTS_BEFORE_WIDTH) == {n for n in list_models() if n.startswith(("prernn_", "tra_", "lrcn_"))} - later
    for name, n in COUNTS_BEFORE_WIDTH.items():
        with torch.device("meta"):
            default, explicit = create_model(name), create_model(name, width=1.0)
        assert _count(default) == _count(explicit) == n, name
    for name, n in BACKBONE_COUNTS_BEFORE_WIDTH.items():
        with torch.device("meta"):
            net = bb.create_backbone(name, width=1)
        assert _count(net) == n, name
    with torch.device("meta"):
        vgg = bb.vgg16()
    assert vgg.feature_dims == bb.VGG.feature_dims == {"pool5": 25088, "fc6": 4096, "fc7": 4096}


def test_width_narrows_every_layer_and_keeps_the_layout():
    tiny = 1 / 64
    for name in ("vgg16", "vgg19", "resnet18", "resnet50", "c3d"):
        with torch.device("meta"):
            full = bb.create_backbone(name)
        narrow = bb.create_backbone(name, width=tiny)
        # same modules and names, every tensor narrowed by the same factor (or to 1)
        assert list(narrow.state_dict()) == list(full.state_dict()), name
        for (k, a), b in zip(full.state_dict().items(), narrow.state_dict().values()):
            assert a.dim() == b.dim(), k
            if a.dim() >= 1:
                assert b.shape[0] == bb.scaled(a.shape[0], tiny), k
    vgg = bb.vgg16(width=tiny)
    convs = [m.out_channels for m in vgg.features if isinstance(m, nn.Conv2d)]
    assert convs == [1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 8, 8, 8]
    assert isinstance(vgg.fc6, nn.Linear) and (vgg.fc6.in_features, vgg.fc6.out_features) == (8 * 7 * 7, 64)
    assert vgg.feature_dims == {"pool5": 392, "fc6": 64, "fc7": 64}
    x = torch.randn(2, 3, 32, 32)
    assert vgg(x, tap="conv5").shape == (2, 8, 2, 2) and vgg.forward_pool5(x).shape == (2, 392)
    c3d = bb.c3d(width=tiny)
    assert c3d.widths == (1, 2, 4, 4, 8, 8, 8, 8) and bb.C3D.widths == (64, 128, 256, 256, 512, 512, 512, 512)
    assert c3d.feature_dims == {"pool5": 128, "fc6": 64, "fc7": 64}
    assert c3d(torch.randn(1, 3, 16, 32, 32)).shape == (1, 64)
    # ResNet50: res5c_branch2c + BN at width 1/64, and the PreRNN conv version reproduces pool5
    net = bb.resnet50(width=tiny).eval()
    trunk, conv, bn = net.res5c_split()
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (8, 32, (1, 1)) and bn.num_features == 32
    with torch.no_grad():
        nn.init.normal_(bn.weight)  # timm zero-inits the last BN of each block
        layer = PreRNNLayer((conv, bn), kind="vrnn", pre_pool_activation="relu", hh_init="zeros").eval()
        branch, shortcut = trunk(x)
        y, _ = layer(branch[None], shortcut=shortcut[None])
        torch.testing.assert_close(y[0], net(x, tap="pool5"), rtol=1e-5, atol=1e-5)


def test_width_threads_through_the_registered_models():
    tiny = 1 / 64
    m = create_model("prernn_vgg16_lstm_fc67", width=tiny, num_classes=5)
    assert [layer.hidden_size for layer in m.rnn] == [64, 64]
    assert m.rnn[0].input_proj[0].linear.in_features == 392
    m = create_model("prernn_sih_c3d_gru_fc6", width=tiny, num_classes=5)
    assert m.rnn[0].input_proj[0].linear.in_features == 128 and m.head[0].fc.out_features == 64
    assert m(torch.randn(1, 2, 3, 16, 32, 32)).shape == (1, 2, 5)
    m = create_model("prernn_resnet50_gru", width=tiny, num_classes=5)
    assert m.rnn[0].hidden_size == 32 and m.rnn[0].input_proj[0].conv.in_channels == 8
    # traditional hidden size follows the narrowed layer below; LRCN's 256 scales
    assert [layer.hidden_size for layer in create_model("tra_vgg16_gru_2", width=tiny).rnn] == [64, 64]
    assert create_model("tra_resnet50_lstm", width=tiny).rnn[0].hidden_size == 32
    assert create_model("lrcn_vgg16_lstm", width=tiny).rnn[0].hidden_size == 4
    assert create_model("lrcn_vgg16_lstm", width=tiny, hidden_size=7).rnn[0].hidden_size == 7
    with torch.device("meta"):
        assert create_model("lrcn_vgg16_lstm").rnn[0].hidden_size == 256
    # Table 3's closed forms hold at any width (D, H of the narrowed pretrained layers)
    pre, sih = (new_recurrent_parameters(create_model(f"prernn{s}_vgg16_lstm_fc7", width=tiny)) for s in ("", "_sih"))
    assert (pre, sih) == (table3_formula(64, 64, "lstm", False), table3_formula(64, 64, "lstm", True))


@pytest.mark.parametrize("name", ["vgg16", "resnet50", "c3d"])
def test_width_refuses_pretrained_and_bad_values(name):
    with pytest.raises(ValueError, match="pretrained weights exist only at width=1"):
        bb.create_backbone(name, pretrained=True, width=0.5)
    with pytest.raises(ValueError, match="positive"):
        bb.create_backbone(name, width=0)
    with pytest.raises(ValueError, match="pretrained weights exist only at width=1"):
        create_model("prernn_resnet50_gru" if name == "resnet50" else f"tra_{name}_gru_1", pretrained=True,
                     width=0.25)
