"""Tests of benchmark.metrics: PSNR/SSIM against scikit-image (independent reference
implementation), every other metric against values worked out by hand below."""
import math

import numpy as np
import pytest
import torch

skm = pytest.importorskip("skimage.metrics")

from benchmark import metrics as M
from benchmark import metrics_polygon


def sk_ssim(pred, target, data_range, channel_axis=None):
    return skm.structural_similarity(target, pred, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=data_range,
                                     channel_axis=channel_axis)


def _structured(h, w, rng):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    ramp = (xx + yy) / (h + w - 2)
    checker = ((xx // 4 + yy // 4) % 2).astype(np.float64)
    disk = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2 < (min(h, w) / 3) ** 2).astype(np.float64)
    return [ramp, checker, disk, 0.5 * ramp + 0.5 * np.sin(xx / 3.0) ** 2]


# ----------------------------------------------------------------------------- PSNR / SSIM
@pytest.mark.parametrize("data_range,lo", [(1.0, 0.0), (255.0, 0.0), (2.0, -1.0)])
def test_psnr_ssim_random_grey_match_skimage(data_range, lo):
    rng = np.random.default_rng(int(data_range))
    for shape in [(32, 32), (37, 53), (11, 20)]:
        target = lo + data_range * rng.random(shape)
        for noise in (0.02, 0.1, 0.4):
            pred = np.clip(target + noise * data_range * rng.standard_normal(shape), lo, lo + data_range)
            assert M.psnr(pred, target, data_range) == pytest.approx(
                skm.peak_signal_noise_ratio(target, pred, data_range=data_range), abs=1e-4)
            assert M.ssim(pred, target, data_range) == pytest.approx(sk_ssim(pred, target, data_range), abs=1e-4)


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_psnr_ssim_structured_grey_match_skimage(data_range):
    rng = np.random.default_rng(7)
    imgs = [data_range * im for im in _structured(48, 40, rng)]
    for a in imgs:
        for b in imgs:
            if a is b:
                continue
            assert M.ssim(a, b, data_range) == pytest.approx(sk_ssim(a, b, data_range), abs=1e-4)
            assert M.psnr(a, b, data_range) == pytest.approx(
                skm.peak_signal_noise_ratio(b, a, data_range=data_range), abs=1e-4)
        # shifted / blurred versions of the same structure
        shifted = np.roll(a, 2, axis=1)
        assert M.ssim(shifted, a, data_range) == pytest.approx(sk_ssim(shifted, a, data_range), abs=1e-4)


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_psnr_ssim_rgb_match_skimage(data_range):
    rng = np.random.default_rng(3)
    target = data_range * rng.random((30, 41, 3))
    pred = np.clip(target + 0.1 * data_range * rng.standard_normal(target.shape), 0, data_range)
    ref = sk_ssim(pred, target, data_range, channel_axis=-1)
    assert M.ssim(pred, target, data_range, channel_axis=-1) == pytest.approx(ref, abs=1e-4)
    # channel-first layout gives the same value
    assert M.ssim(np.moveaxis(pred, -1, 0), np.moveaxis(target, -1, 0), data_range,
                  channel_axis=0) == pytest.approx(ref, abs=1e-4)
    assert M.psnr(pred, target, data_range) == pytest.approx(
        skm.peak_signal_noise_ratio(target, pred, data_range=data_range), abs=1e-4)


def test_psnr_ssim_uint8_and_torch_inputs():
    rng = np.random.default_rng(11)
    target = rng.integers(0, 256, (24, 24), dtype=np.uint8)
    pred = np.clip(target.astype(int) + rng.integers(-20, 21, (24, 24)), 0, 255).astype(np.uint8)
    assert M.psnr(pred, target, 255) == pytest.approx(skm.peak_signal_noise_ratio(target, pred, data_range=255), abs=1e-4)
    assert M.ssim(pred, target, 255) == pytest.approx(sk_ssim(pred, target, 255), abs=1e-4)
    assert M.ssim(torch.from_numpy(pred), torch.from_numpy(target), 255) == pytest.approx(
        sk_ssim(pred, target, 255), abs=1e-4)


def test_identical_images():
    a = np.random.default_rng(0).random((16, 16))
    assert M.ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert M.psnr(a, a) == math.inf


def test_psnr_by_hand():
    # MSE = (0.1^2 * 2 + 0 + 0) / 4 = 0.005 -> 10 log10(1 / 0.005) = 23.0103 dB
    assert M.psnr([[0.1, 0.1], [0.5, 0.5]], [[0.0, 0.2], [0.5, 0.5]]) == pytest.approx(10 * math.log10(200), abs=1e-9)


def test_image_shape_errors():
    with pytest.raises(ValueError, match=r"\(16, 16\).*\(16, 17\)"):
        M.ssim(np.zeros((16, 16)), np.zeros((16, 17)))
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(4, 5\)"):
        M.psnr(np.zeros((4, 4)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="smaller"):
        M.ssim(np.zeros((8, 8)), np.zeros((8, 8)))
    with pytest.raises(ValueError, match="channel_axis"):
        M.ssim(np.zeros((16, 16, 3)), np.zeros((16, 16, 3)))


def test_per_step_single_and_batch():
    rng = np.random.default_rng(5)
    target = rng.random((2, 3, 20, 20))              # (N, T, H, W)
    pred = np.clip(target + 0.05 * (1 + np.arange(3))[None, :, None, None] * rng.standard_normal(target.shape), 0, 1)
    one = M.per_step(M.psnr, pred[0], target[0])
    ref = [skm.peak_signal_noise_ratio(target[0, t], pred[0, t], data_range=1.0) for t in range(3)]
    np.testing.assert_allclose(one.steps, ref, atol=1e-4)
    assert one.avg == pytest.approx(sum(ref) / 3, abs=1e-4)
    assert list(one.as_row()) == ["T1", "T2", "T3", "Avg"]
    # noise grows with t, so PSNR falls step by step (as in deeprnn Table 4)
    assert one.steps[0] > one.steps[1] > one.steps[2]

    both = M.per_step(M.ssim, pred, target, batch_axis=0, time_axis=1, data_range=1.0)
    ref = [np.mean([sk_ssim(pred[n, t], target[n, t], 1.0) for n in range(2)]) for t in range(3)]
    np.testing.assert_allclose(both.steps, ref, atol=1e-4)
    assert both.avg == pytest.approx(np.mean(ref), abs=1e-4)
    with pytest.raises(ValueError, match=r"\(2, 3, 20, 20\).*\(2, 2, 20, 20\)"):
        M.per_step(M.ssim, pred, target[:, :2], batch_axis=0, time_axis=1)


# ----------------------------------------------------------------------------- classification
def test_video_logits_and_top1():
    # 2 videos x 3 frames x 2 classes
    frames = np.array([[[2, 0], [0, 1], [0, 4]],      # all: [2/3, 5/3] -> 1 ; first 2: [1, 0.5] -> 0
                       [[0, 3], [1, 0], [5, 0]]],     # all: [2, 1]     -> 0 ; first 2: [0.5, 1.5] -> 1
                      dtype=np.float64)
    np.testing.assert_allclose(M.video_logits(frames, "all"), [[2 / 3, 5 / 3], [2, 1]])
    np.testing.assert_allclose(M.video_logits(frames, "first", n=2), [[1, 0.5], [0.5, 1.5]])
    np.testing.assert_allclose(M.video_logits(frames[0], "first", n=1), [2, 0])
    targets = np.array([1, 0])
    assert M.top1_accuracy(M.video_logits(frames, "all"), targets) == 1.0       # recognition
    assert M.top1_accuracy(M.video_logits(frames, "first"), targets) == 0.0     # anticipation
    assert M.top1_accuracy(torch.tensor([[0.1, 0.9, 0.0], [0.5, 0.2, 0.3], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
                           torch.tensor([1, 0, 1, 2])) == 0.5
    assert M.top1_accuracy([3, 1, 2], [3, 0, 2]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3,\)"):
        M.top1_accuracy(np.zeros((4, 3)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="n=4"):
        M.video_logits(frames, "first", n=4)


# ----------------------------------------------------------------------------- landmarks
def _three_faces():
    rng = np.random.default_rng(1)
    gt = rng.random((3, 68, 2)) * 50
    pred = gt.copy()
    d = [100.0, 100.0, 200.0]
    for i in range(3):
        gt[i, M.LEFT_OUTER_EYE] = [10.0, 20.0]
        gt[i, M.RIGHT_OUTER_EYE] = [10.0 + d[i] * 0.6, 20.0 + d[i] * 0.8]   # |.| = d[i]
    pred = gt.copy()
    pred[0] += [3.0, 4.0]          # every point off by 5 px  -> 5 / 100   = 0.05
    pred[1] += [0.6, 0.8]          # every point off by 1 px  -> 1 / 100   = 0.01
    pred[2, :34] += [0.0, 40.0]    # half the points off by 40 -> 20 / 200 = 0.10
    return pred, gt


def test_normalised_mean_error_by_hand():
    pred, gt = _three_faces()
    np.testing.assert_allclose(M.interocular_distance(gt), [100, 100, 200])
    np.testing.assert_allclose(M.normalised_mean_error(pred, gt), [0.05, 0.01, 0.10], atol=1e-9)
    np.testing.assert_allclose(M.normalised_mean_error(pred, gt, interocular=[50, 50, 100]), [0.1, 0.02, 0.2], atol=1e-9)
    np.testing.assert_allclose(M.normalised_mean_error(torch.from_numpy(pred[0]), gt[0]), [0.05], atol=1e-12)
    with pytest.raises(ValueError, match=r"\(3, 68, 2\).*\(3, 67, 2\)"):
        M.normalised_mean_error(pred, gt[:, :67])


def test_ced_and_auc_by_hand():
    pred, gt = _three_faces()
    errors = M.normalised_mean_error(pred, gt)     # [0.05, 0.01, 0.10]
    x, y = M.ced_curve(errors, max_error=0.08, steps=5)
    np.testing.assert_allclose(x, [0, 0.02, 0.04, 0.06, 0.08])
    np.testing.assert_allclose(y, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    # trapezoids of width 0.02: (0+1/3)/2 + (1/3+1/3)/2 + (1/3+2/3)/2 + (2/3+2/3)/2 = 10/6
    # area = 0.02 * 10/6 = 1/30; normalised by 0.08 -> 5/12
    assert M.ced_auc(errors, max_error=0.08, steps=5) == pytest.approx(5 / 12, abs=1e-12)
    # exact area of the step CED: mean(max(0, 1 - e/0.08)) = (0.875 + 0.375 + 0) / 3 = 5/12
    assert M.ced_auc(errors) == pytest.approx(5 / 12, abs=2e-3)

    # "<=": an error exactly at x counts at x (values exact in binary)
    x, y = M.ced_curve([0.25, 0.5, 1.0], max_error=1.0, steps=5)
    np.testing.assert_allclose(y, [0, 1 / 3, 2 / 3, 2 / 3, 1])
    # 0.25 * ((0+1/3) + (1/3+2/3) + (2/3+2/3) + (2/3+1)) / 2 = 0.25 * 13/6 = 13/24
    assert M.ced_auc([0.25, 0.5, 1.0], max_error=1.0, steps=5) == pytest.approx(13 / 24, abs=1e-12)
    assert M.ced_auc([0.0, 0.0]) == pytest.approx(1.0)
    assert M.ced_auc([0.5, 0.09]) == 0.0


# ----------------------------------------------------------------------------- CTC
def _one_hot_log_probs(path, n_classes=3):
    lp = np.full((len(path), n_classes), math.log(0.05))
    lp[np.arange(len(path)), path] = math.log(0.9)
    return lp


def test_ctc_greedy_decode_by_hand():
    assert M.ctc_greedy_decode(_one_hot_log_probs([1, 1, 0, 2, 2, 0, 0, 2])) == [1, 2, 2]
    assert M.ctc_greedy_decode(_one_hot_log_probs([0, 0, 0])) == []
    assert M.ctc_greedy_decode(_one_hot_log_probs([1, 0, 1])) == [1, 1]     # blank separates repeats
    assert M.ctc_greedy_decode(_one_hot_log_probs([2, 2, 2])) == [2]
    assert M.ctc_greedy_decode(torch.from_numpy(_one_hot_log_probs([0, 1, 1, 2, 0])), blank=0) == [1, 2]
    # another blank index: blank=2 -> [1,1,0,2,2,0,0,2] collapses to [1,0,2,0,2] -> drop 2 -> [1,0,0]
    assert M.ctc_greedy_decode(_one_hot_log_probs([1, 1, 0, 2, 2, 0, 0, 2]), blank=2) == [1, 0, 0]
    batch = np.stack([_one_hot_log_probs([1, 1, 0]), _one_hot_log_probs([0, 2, 2])])
    assert M.ctc_greedy_decode(batch) == [[1], [2]]


def test_ctc_accuracy_by_hand():
    decoded = [[3], [1, 2], [], [4]]
    targets = [3, 1, 5, [4]]       # right, extra gesture (wrong), nothing detected (wrong), right
    assert M.ctc_accuracy(decoded, targets) == 0.5
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        M.ctc_accuracy(decoded, targets[:3])


# ----------------------------------------------------------------------------- steering
def test_steering_by_hand():
    pred = np.array([0.0, 10.0, 3.0, -4.0])
    target = np.array([1.0, 0.0, 9.0, -4.0])     # |errors| = 1, 10, 6, 0 degrees
    # eq. 24, lambda=3: min(3/1,1)=1, 3/10=0.3, 3/6=0.5, min(3/eps,1)=1  -> 2.8/4 = 0.7
    assert M.steering_accuracy(pred, target, 3) == pytest.approx(0.7, abs=1e-6)
    # lambda=6: 1, 0.6, 6/(6+eps)~1, 1 -> 3.6/4 = 0.9
    assert M.steering_accuracy(pred, target, 6) == pytest.approx(0.9, abs=1e-6)
    # floor reading: 1 iff |err|+eps <= lambda -> lambda=3: 1,0,0,1 ; lambda=6: 1,0,0 (6+eps>6),1
    assert M.steering_accuracy(pred, target, 3, reading="floor") == 0.5
    assert M.steering_accuracy(pred, target, 6, reading="floor") == 0.5
    assert M.steering_accuracy(pred, target, 6.5, reading="floor") == 0.75
    # MSE: (1 + 100 + 36 + 0) / 4
    assert M.steering_mse(torch.from_numpy(pred), target) == pytest.approx(34.25)
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        M.steering_accuracy(pred, target[:3], 3)
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        M.steering_mse(pred, target[:3])


# ----------------------------------------------------------------------------- nowcasting
def test_nowcast_4x4_by_hand():
    target = np.array([[0.9, 0.8, 0.1, 0.0],
                       [0.7, 0.2, 0.6, 0.0],
                       [0.0, 0.0, 0.3, 0.5],
                       [0.1, 0.2, 0.0, 0.0]])
    pred = np.array([[0.7, 0.3, 0.6, 0.0],
                     [0.9, 0.1, 0.4, 0.0],
                     [0.2, 0.0, 0.8, 0.4],
                     [0.0, 0.6, 0.0, 0.0]])
    # rain (>= 0.5) in target: (0,0) (0,1) (1,0) (1,2) (2,3);  in pred: (0,0) (0,2) (1,0) (2,2) (3,1)
    # hits: (0,0) (1,0) = 2 ; misses: (0,1) (1,2) (2,3) = 3 ; false alarms: (0,2) (2,2) (3,1) = 3
    s = M.nowcast_scores(pred, target)
    assert (s["hits"], s["misses"], s["false_alarms"]) == (2, 3, 3)
    assert s["csi"] == pytest.approx(2 / 8)
    assert s["far"] == pytest.approx(3 / 5)
    assert s["pod"] == pytest.approx(2 / 5)
    # squared differences, row by row: .04+.25+.25+0, .04+.01+.04+0, .04+0+.25+.01, .01+.16+0+0 = 1.10
    assert s["mse"] == pytest.approx(1.10 / 16)
    # a higher threshold: target rain (>=0.75) (0,0) (0,1); pred (1,0) (2,2) (0.7 at (0,0) is now dry)
    # -> 0 hits, 2 misses, 2 false alarms
    assert M.nowcast_counts(pred, target, threshold=0.75) == (0, 2, 2)


def test_nowcast_correlation_by_hand():
    pred = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    target = np.array([[2.0, 0.0], [1.0, 1.0]])
    s = M.nowcast_scores(pred, target)
    # sum(P L) = 2 + 0 + 0 + 1 = 3 ; sum P^2 = 6 ; sum L^2 = 6 -> 3 / sqrt(36) = 0.5
    assert s["correlation"] == pytest.approx(0.5, abs=1e-9)
    assert s["mse"] == pytest.approx((1 + 4 + 1 + 0) / 4)
    # rain: pred (0,0) (0,1) (1,1); target (0,0) (1,0) (1,1) -> hits 2, miss 1, FA 1
    assert s["csi"] == pytest.approx(0.5) and s["far"] == pytest.approx(1 / 3) and s["pod"] == pytest.approx(2 / 3)
    z = M.nowcast_scores(np.zeros((3, 3)), np.zeros((3, 3)))
    assert math.isnan(z["csi"]) and math.isnan(z["far"]) and math.isnan(z["pod"]) and z["correlation"] == 0.0
    with pytest.raises(ValueError, match=r"\(2, 2\).*\(2, 3\)"):
        M.nowcast_scores(np.zeros((2, 2)), np.zeros((2, 3)))


def test_polygon_iou_is_reexported():
    assert M.polygon_iou is metrics_polygon.polygon_iou
