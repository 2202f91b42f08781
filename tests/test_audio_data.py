"""The WAV reader, log-mel features, noise and the fsdd dataset, on generated tone "digits"."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import torch

pytest.importorskip("soundfile")
pytest.importorskip("librosa")

import soundfile  # noqa: E402

from amkit.data.audio import (  # noqa: E402
    LogMel,
    pad_waves,
    parse_digit_name,
    read_wav,
    read_wav_collection,
)
from amkit.data.fsdd import FSDDConfig, build_fsdd  # noqa: E402
from amkit.data.noise import babble_noise, mix_at_snr, parse_noise  # noqa: E402
from amkit.errors import UserError  # noqa: E402


@pytest.fixture(scope="module")
def wav_folder(tmp_path_factory, digit_wavs):
    return digit_wavs(tmp_path_factory.mktemp("fsdd") / "recordings")


def test_names_give_digit_speaker_and_take():
    assert parse_digit_name("7_jackson_32.wav") == (7, "jackson", 32)
    assert parse_digit_name("dir/0_en-us-f2_3.wav") == (0, "en-us-f2", 3)
    with pytest.raises(UserError, match=r"x\.wav: expected a name '\{digit\}_\{speaker\}"):
        parse_digit_name("x.wav")


def test_folder_and_archive_read_the_same_clips(wav_folder, tmp_path):
    archive = tmp_path / "recordings.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(wav_folder, arcname="recordings")
    from_folder = read_wav_collection(wav_folder)
    from_archive = read_wav_collection(archive)
    assert len(from_folder) == len(from_archive) == 3 * 10 * 8
    for a, b in zip(from_folder, from_archive, strict=True):
        assert (a.name, a.label, a.speaker, a.take) == (b.name, b.label, b.speaker, b.take)
        np.testing.assert_array_equal(a.wave, b.wave)


def test_stereo_at_44k_is_mixed_to_mono_and_resampled(tmp_path):
    rate, seconds = 44100, 0.5
    t = np.arange(int(rate * seconds)) / rate
    tone = np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([0.6 * tone, 0.2 * tone], axis=1).astype("float32")
    path = tmp_path / "3_amy_0.wav"
    soundfile.write(path, stereo, rate, subtype="PCM_16")
    wave = read_wav(path, 8000)
    assert wave.ndim == 1 and abs(len(wave) - 4000) <= 1
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 8000 / len(wave) - 440) < 3  # the tone survives
    middle = wave[500:-500]  # away from the filter's edges
    assert abs(np.sqrt(2 * np.mean(middle**2)) - 0.4) < 0.01  # the mean of the channels


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"this is a text file, not audio\n", "not a readable audio file"),
    ],
)
def test_bad_files_are_errors_naming_the_file(tmp_path, data, message):
    path = tmp_path / "1_bad_0.wav"
    path.write_bytes(data)
    with pytest.raises(UserError, match=message) as error:
        read_wav(path)
    assert str(path) in str(error.value)


def test_a_truncated_wav_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "2_cut_0.wav"
    soundfile.write(path, np.zeros(4000, dtype="float32"), 8000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(UserError, match=r"2_cut_0\.wav: truncated WAV file"):
        read_wav(path)


def test_a_header_without_samples_and_a_bad_name_in_a_folder(tmp_path):
    header = tmp_path / "h.wav"
    soundfile.write(header, np.zeros(0, dtype="float32"), 8000)
    with pytest.raises(UserError, match=r"h\.wav: the file holds no audio samples"):
        read_wav(header)
    folder = tmp_path / "clips"
    folder.mkdir()
    with pytest.raises(UserError, match=r"clips: no \.wav files found"):
        read_wav_collection(folder)
    soundfile.write(folder / "hello.wav", np.zeros(100, dtype="float32"), 8000)
    with pytest.raises(UserError, match=r"hello\.wav: expected a name"):
        read_wav_collection(folder)


def _naive_log_mel(wave: np.ndarray, mel: LogMel) -> np.ndarray:
    """One frame at a time with numpy's FFT: the definition of the features."""
    pad = mel.n_fft // 2
    x = np.pad(wave.astype(np.float64), (pad, pad))
    window = np.zeros(mel.n_fft)
    left = (mel.n_fft - mel.win) // 2
    window[left : left + mel.win] = torch.hann_window(mel.win).double().numpy()
    frames = []
    for t in range(1 + len(wave) // mel.hop):
        segment = x[t * mel.hop : t * mel.hop + mel.n_fft]
        power = np.abs(np.fft.rfft(segment * window)) ** 2
        frames.append(np.log(mel.filters.double().numpy() @ power + 1e-6))
    return np.stack(frames)  # (T, F)


def test_log_mel_matches_the_formula_and_batching_changes_nothing():
    rng = np.random.default_rng(0)
    waves = [rng.standard_normal(n).astype("float32") * 0.1 for n in (1234, 2000, 801)]
    mel = LogMel(8000, n_mels=20, normalize="none")
    batch, lengths = pad_waves(waves)
    features, frames = mel(batch, lengths)
    assert frames.tolist() == [1 + n // 80 for n in (1234, 2000, 801)]
    for i, wave in enumerate(waves):
        expected = _naive_log_mel(wave, mel)
        np.testing.assert_allclose(features[i, : frames[i]].numpy(), expected, atol=2e-3)
        assert (features[i, frames[i] :] == 0).all()
        alone, _ = mel(*pad_waves([wave]))
        torch.testing.assert_close(alone[0], features[i, : frames[i]], atol=1e-4, rtol=1e-4)


def test_utterance_normalisation_zero_mean_unit_std():
    wave = np.random.default_rng(1).standard_normal(3000).astype("float32")
    features, frames = LogMel(8000, n_mels=16)(*pad_waves([wave]))
    real = features[0, : frames[0]]
    torch.testing.assert_close(real.mean(0), torch.zeros(16), atol=1e-4, rtol=0)
    torch.testing.assert_close(real.std(0, unbiased=False), torch.ones(16), atol=1e-3, rtol=0)


def test_noise_is_mixed_at_the_requested_snr():
    rng = np.random.default_rng(0)
    wave = np.sin(np.arange(4000) / 5).astype("float32")
    for snr in (20.0, 10.0, 0.0):
        noise = rng.standard_normal(4000).astype("float32")
        mixed = mix_at_snr(wave, noise, snr)
        added = mixed - wave
        measured = 10 * np.log10(np.mean(wave**2) / np.mean(added**2))
        assert abs(measured - snr) < 1e-3
    babble = babble_noise([wave, 2 * wave], 9000, rng, talkers=3)
    assert babble.shape == (9000,) and np.isfinite(babble).all()
    assert parse_noise("babble:0") == ("babble", 0.0)
    with pytest.raises(UserError, match="data.test_noise: 'pink:3' must look like KIND:SNR_DB"):
        parse_noise("pink:3")


def test_official_split_tests_takes_0_to_4_and_holds_out_validation(wav_folder):
    config = FSDDConfig(path=str(wav_folder), val_fraction=0.2)
    data = build_fsdd(config, seed=0)
    examples = data.info.examples
    assert all(c.take < 5 for c in examples["test"]) and len(examples["test"]) == 150
    train_names = {c.name for c in examples["train"]}
    val_names = {c.name for c in examples["val"]}
    assert not train_names & val_names and len(train_names) + len(val_names) == 90
    assert all(c.take >= 5 for c in examples["train"] + examples["val"])
    assert data.info.n_features == 40 and data.info.label_names == [str(d) for d in range(10)]
    again = build_fsdd(config, seed=0).info.examples["val"]
    assert [c.name for c in again] == [c.name for c in examples["val"]]  # seeded
    row = data.splits["test"][0]
    assert row["features"].shape[-1] == 40 and int(row["lengths"]) > 0


def test_leave_one_speaker_out_and_noisy_test_sets(wav_folder, monkeypatch):
    import amkit.data.fsdd as fsdd

    pools = []
    real_make_noise = fsdd.make_noise

    def spy(kind, length, rng, pool=(), talkers=6):
        pools.append(pool)
        return real_make_noise(kind, length, rng, pool, talkers)

    monkeypatch.setattr(fsdd, "make_noise", spy)
    config = FSDDConfig(path=str(wav_folder), split="loso", test_speaker="bob",
                        test_noise=["white:10", "babble:0"])  # fmt: skip
    data = build_fsdd(config, seed=0)
    examples = data.info.examples
    assert {c.speaker for c in examples["test"]} == {"bob"}
    assert "bob" not in {c.speaker for c in examples["train"] + examples["val"]}
    assert {"test_white_10db", "test_babble_0db"} <= set(data.splits)
    train_waves = {id(c.wave) for c in examples["train"]}
    assert pools and all(id(w) in train_waves for pool in pools for w in pool)  # babble: train
    clean, noisy = examples["test"][0].wave, examples["test_babble_0db"][0].wave
    assert abs(10 * np.log10(np.mean(clean**2) / np.mean((noisy - clean) ** 2))) < 1e-3
    with pytest.raises(UserError, match="'zed' is not a speaker of the data; speakers: ann"):
        build_fsdd(FSDDConfig(path=str(wav_folder), split="loso", test_speaker="zed"), 0)


def test_noise_augmentation_changes_training_batches_only(wav_folder):
    from amkit.data.base import iterate_batches

    config = FSDDConfig(path=str(wav_folder), val_fraction=0.2, augment_noise="both",
                        augment_prob=1.0, augment_snr_db=[0.0, 0.0])  # fmt: skip
    data = build_fsdd(config, seed=0)
    train = data.splits["train"]
    generator = torch.Generator().manual_seed(0)
    batch = next(iterate_batches(train, 8, shuffle=True, generator=generator))
    clean = train[batch["meta_index"]]
    assert not torch.allclose(batch["features"], clean["features"][:, : batch["features"].shape[1]])
    evaluated = next(iterate_batches(data.splits["val"], 8))
    torch.testing.assert_close(
        evaluated["features"], data.splits["val"][torch.arange(8)]["features"]
    )


def test_config_problems_are_reported():
    from amkit.config import ConfigError, build_section

    problems: list[str] = []
    build_section(FSDDConfig, {"split": "loso", "augment_snr_db": [5, 1]}, "data", problems)
    text = "\n".join(problems)
    assert "test_speaker: split loso needs the speaker" in text
    assert "augment_snr_db: expected [low, high]" in text
    assert ConfigError  # the runner raises these as one ConfigError
