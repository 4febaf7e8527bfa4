"""End to end: `rnnlab train translate` on the toy tasks (they learn), `translate`,
`evaluate` (BLEU / chrF with signatures, --src/--ref, --beam), `inspect` (attention PNG),
SentencePiece vocabularies inside the checkpoint, resume, bad input; and a smoke run on a
slice of ../shared/data/translation (Multi30k), skipped when it is absent."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnlab.cli import main

V1_LM = Path(__file__).resolve().parent / "data" / "v1-checkpoint" / "best"
FAST = ["--quiet", "--threads", "1"]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def reverse_run(tmp_path_factory):
    """The reverse toy task ("abc" -> "cba") with the seq2seq-toy recipe: ~5 s on one core."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("reverse") / "run"
    metrics = out.parent / "metrics.json"
    code = main(["train", "translate", "--dataset", "reverse", "--set", "data.toy_size=2000",
                 "--epochs", "4", "--out", str(out), "--metrics-out", str(metrics),
                 *FAST])  # fmt: skip
    assert code == 0
    return out, json.loads(metrics.read_text())


def test_the_reverse_toy_task_learns(reverse_run):
    _, metrics = reverse_run
    assert metrics["test_exact_match"] >= 0.8  # seen: 0.93 after 4 epochs (seed 0)
    assert metrics["test_beam3_exact_match"] >= 0.8
    assert metrics["test_chrf"] > 90.0


def test_the_addition_toy_task_learns(tmp_path):
    metrics = tmp_path / "m.json"
    code = main(["train", "translate", "--dataset", "addition", "--epochs", "4",
                 "--out", str(tmp_path / "run"), "--metrics-out", str(metrics), *FAST])  # fmt: skip
    assert code == 0
    result = json.loads(metrics.read_text())
    # seen: 0.37 exact match after 4 epochs (seed 0; 0.56 after 6, 0.70 after 10); after one
    # epoch, before it has learnt to carry, 0.0025
    assert result["test_exact_match"] >= 0.15


def test_translate_sentences_file_stdin_and_jsonl(reverse_run, tmp_path, capsys, monkeypatch):
    from rnnlab.models.translation import load_translator, translate_sentences

    best = str(reverse_run[0] / "checkpoints" / "best")
    translator = load_translator(best)
    texts = ["abcde", "hij", "ggffa", "deacb", "bad", "abcdefgh"]  # 3 to 8 letters, as trained

    def expected(beam, **options):
        return translate_sentences(translator.model, translator.vocabs, texts, beam=beam,
                                   max_len_a=1.5, max_len_b=5, **options)  # fmt: skip

    greedy = expected(1)
    assert sum(t.translation == t.source[::-1] for t in greedy) >= 4  # the model has learnt
    capsys.readouterr()
    assert main(["translate", best, "--beam", "1", *texts[:2]]) == 0  # text after options
    assert capsys.readouterr().out.splitlines() == [t.translation for t in greedy[:2]]
    beam2 = expected(2, length_penalty="none")
    assert main(["translate", best, "--beam", "2", "--jsonl", "--length-penalty", "none",
                 texts[0]]) == 0  # fmt: skip
    row = json.loads(capsys.readouterr().out)
    assert row == {"source": texts[0], "translation": beam2[0].translation,
                   "score": pytest.approx(beam2[0].score, abs=1e-5)}  # fmt: skip
    assert row["score"] < 0.0
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    assert main(["translate", best, "--file", str(tmp_path / "in.txt"), "--beam", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [t.translation for t in greedy]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(texts[::-1]) + "\n"))
    assert main(["translate", best, "--jsonl"]) == 0  # the checkpoint's beam 3
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    beam3 = expected(3, length_penalty="none")
    assert [r["source"] for r in rows] == texts[::-1]
    assert [r["translation"] for r in rows] == [t.translation for t in beam3[::-1]]


@pytest.mark.parametrize(
    "args,message",
    [
        (["--file", "EMPTY"], "in.txt:2: empty source sentence"),
        (["abc", "a" * 60], "argument 2: source has 60 tokens, more than the model's limit of 50"),
        (["--beam", "0", "abc"], "--beam must be >= 1, got 0"),
        (["--file", "EMPTY", "abc"], "give sentences inline or --file, not both"),
    ],
)
def test_translate_bad_input_is_one_clear_line(reverse_run, tmp_path, capsys, args, message):
    (tmp_path / "in.txt").write_text("abc\n\nabc\n", encoding="utf-8")
    args = [str(tmp_path / "in.txt") if a == "EMPTY" else a for a in args]
    capsys.readouterr()
    assert main(["translate", str(reverse_run[0] / "checkpoints" / "best"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_translate_and_evaluate_refuse_other_tasks(tmp_path, capsys):
    (tmp_path / "s").write_text("a\n")
    assert main(["translate", str(V1_LM), "a b c"]) == 2
    assert "expected a translation checkpoint (task 'translate'), this one is task" in (
        capsys.readouterr().err
    )
    assert main(["evaluate", str(V1_LM), "--src", str(tmp_path / "s"),
                 "--ref", str(tmp_path / "s")]) == 2  # fmt: skip
    assert "--src/--ref needs a translation checkpoint" in capsys.readouterr().err


def test_evaluate_split_and_file_pair_print_bleu_chrf_and_signatures(reverse_run, tmp_path, capsys):
    run = reverse_run[0]
    best = str(run / "checkpoints" / "best")
    capsys.readouterr()
    assert main(["evaluate", best, "--split", "test", "--out", str(tmp_path / "ev")]) == 0
    out = capsys.readouterr().out
    assert "greedy" in out and "beam 3" in out and "chrF" in out
    assert "sacreBLEU BLEU signature nrefs:1|case:mixed|eff:no|tok:13a" in out
    assert (tmp_path / "ev" / "translations_test_beam3.txt").is_file()
    src, ref = tmp_path / "s.txt", tmp_path / "r.txt.gz"
    src.write_text("abc\nhgfe\nabcdefgh\n", encoding="utf-8")
    with gzip.open(ref, "wt", encoding="utf-8") as f:
        f.write("cba\nefgh\nhgfedcba\n")
    metrics = tmp_path / "m.json"
    assert main(["evaluate", best, "--src", str(src), "--ref", str(ref), "--beam", "2",
                 "--out", str(tmp_path / "pair"), "--metrics-out", str(metrics)]) == 0  # fmt: skip
    result = json.loads(metrics.read_text())
    assert {"text_bleu", "text_chrf", "text_beam2_bleu", "text_beam2_chrf", "text_ppl",
            "text_bleu_signature"} <= set(result)  # fmt: skip
    hyps = (tmp_path / "pair" / "translations_text_beam1.txt").read_text().splitlines()
    assert (
        result["text_exact_match"]
        == sum(h == r for h, r in zip(hyps, ["cba", "efgh", "hgfedcba"])) / 3
    )
    capsys.readouterr()
    assert main(["translate", best, "--beam", "1", "--file", str(src)]) == 0
    assert capsys.readouterr().out.splitlines() == hyps  # the same model, the same greedy output
    assert main(["evaluate", best, "--src", str(src)]) == 2
    assert "--src and --ref go together" in capsys.readouterr().err
    (tmp_path / "short.txt").write_text("cba\n", encoding="utf-8")
    assert main(["evaluate", best, "--src", str(src), "--ref", str(tmp_path / "short.txt")]) == 2
    assert "s.txt:2: parallel files differ in length" in capsys.readouterr().err


def test_inspect_draws_the_attention_of_one_sentence(reverse_run, tmp_path, capsys):
    best = str(reverse_run[0] / "checkpoints" / "best")
    out, metrics = tmp_path / "inspect", tmp_path / "m.json"
    capsys.readouterr()
    assert main(["inspect", best, "--text", "abcdef", "--out", str(out),
                 "--metrics-out", str(metrics)]) == 0  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert (out / "attention.png").stat().st_size > 1000 and (out / "report.html").is_file()
    summary = json.loads((out / "inspect.json").read_text())
    assert printed[0] == summary["translation"]
    assert summary["source_tokens"] == list("abcdef")
    T = len(summary["target_tokens"])
    assert summary["target_tokens"][:-1] == list(summary["translation"])
    assert summary["target_tokens"][-1] == "<EOS>"
    weights = torch.tensor(summary["weights"])  # (T, Ts)
    assert weights.shape == (T, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(T), atol=1e-4, rtol=0)
    # reversal: the first output letter looks at the last source letter
    assert summary["translation"][0] == "f" and int(weights[0].argmax()) == 5
    flat = json.loads(metrics.read_text())
    assert flat["source_tokens"] == 6 and flat["target_tokens"] == T
    assert 0.0 < flat["attention_max_mean"] <= 1.0


def test_inspect_refuses_a_model_without_attention(tmp_path, capsys):
    out = tmp_path / "basic"
    assert main(["train", "translate", "--dataset", "reverse", "--variant", "basic",
                 "--set", "data.toy_size=40", "--set", "train.max_steps=1",
                 "--set", "decode.valid_bleu=false", "--set", "train.monitor=loss",
                 "--set", "train.monitor_mode=min", "--out", str(out), *FAST]) == 0  # fmt: skip
    with pytest.raises(SystemExit, match="variant 'basic'.* has no attention to draw"):
        main(["inspect", str(out / "checkpoints" / "best"), "--text", "abc"])


def _write_parallel(folder: Path) -> tuple[Path, Path]:
    """A tiny German -> English pair of files, the English side gzipped."""
    import random

    rng = random.Random(0)
    words = {"Hund": "dog", "Katze": "cat", "Mann": "man", "Frau": "woman", "Kind": "child"}
    verbs = {"läuft": "runs", "schläft": "sleeps", "spielt": "plays"}
    src, tgt = [], []
    for _ in range(120):
        noun, verb = rng.choice(sorted(words)), rng.choice(sorted(verbs))
        src.append(f"ein {noun} {verb} .")
        tgt.append(f"a {words[noun]} {verbs[verb]} .")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.de").write_text("\n".join(src) + "\n", encoding="utf-8")
    with gzip.open(folder / "train.en.gz", "wt", encoding="utf-8") as f:
        f.write("\n".join(tgt) + "\n")
    return folder / "train.de", folder / "train.en.gz"


def test_sentencepiece_vocabularies_travel_in_the_checkpoint(tmp_path, capsys):
    pytest.importorskip("sentencepiece")
    from rnnlab.models.translation import load_translator, translate_texts
    from rnnlab.text.subwords import SentencePieceTokenizer
    from rnnlab.training import CheckpointError, load_model

    src, tgt = _write_parallel(tmp_path / "data")
    out = tmp_path / "run"
    code = main(["train", "translate", "--dataset", f"parallel:{src},{tgt}",
                 "--set", f"data.test={src},{tgt}", "--tokenizer", "sentencepiece",
                 "--vocab-size", "40", "--set", "model.hidden_size=16",
                 "--set", "model.embed_dim=16",
                 "--set", "model.decoder_hidden_size=0", "--set", "model.dropout=0.0",
                 "--set", "model.label_smoothing=0.0", "--set", "data.batch_size=16",
                 "--set", "decode.beam=2", "--epochs", "3", "--out", str(out), *FAST])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    best = out / "checkpoints" / "best"
    translator = load_translator(best)
    assert isinstance(translator.vocabs["source"].tokenizer, SentencePieceTokenizer)
    assert translator.vocabs["source"].tokenizer != translator.vocabs["target"].tokenizer
    # the checkpoint's model translates as the run did (its test translations, greedy)
    written = (out / "translations_test_beam1.txt").read_text(encoding="utf-8").splitlines()
    sources = src.read_text(encoding="utf-8").splitlines()
    again = translate_texts(translator.model, translator.vocabs, sources, batch_size=200)
    assert again == written
    capsys.readouterr()
    assert main(["translate", str(best), "--beam", "1", sources[0], sources[1]]) == 0
    assert capsys.readouterr().out.splitlines() == written[:2]
    # another subword model in the vocabulary file (manifest re-signed): the fingerprint
    # recorded in config.json no longer matches, and the checkpoint is refused
    path = best / "vocab.source.json"
    vocab = json.loads(path.read_text(encoding="utf-8"))
    other = SentencePieceTokenizer.train([f"x{i} y{i} z" for i in range(50)], vocab_size=30)
    vocab["tokenizer"] = {**vocab["tokenizer"], **other.to_dict()}
    path.write_text(json.dumps(vocab), encoding="utf-8")
    manifest = json.loads((best / "manifest.json").read_text())
    import hashlib

    raw = path.read_bytes()
    manifest["files"]["vocab.source.json"] = {"sha256": hashlib.sha256(raw).hexdigest(),
                                              "size": len(raw)}  # fmt: skip
    (best / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="vocab.source.json does not match .*fingerprint"):
        load_model(best)
    assert main(["translate", str(best), "ein Hund ."]) == 2
    assert "fingerprint differs" in capsys.readouterr().err


def test_translate_resume_ends_with_identical_weights(tmp_path):
    args = ["train", "translate", "--dataset", "reverse", "--set", "data.toy_size=200", *FAST]
    assert main([*args, "--out", str(tmp_path / "a"), "--epochs", "2"]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--epochs", "1"]) == 0
    assert main(["train", "translate", "--out", str(tmp_path / "b"), "--resume", "--epochs", "2",
                 "--allow-config-change", "train.epochs", *FAST]) == 0  # fmt: skip
    a = load_file(tmp_path / "a" / "checkpoints" / "last" / "model.safetensors")
    b = load_file(tmp_path / "b" / "checkpoints" / "last" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--dataset", "multi30k", "--src", "fr"], "multi30k has the language pair de-en"),
        (["--dataset", "parallel:/nonexistent/a.de,/nonexistent/a.en"], "no such file"),
        (
            ["--dataset", "reverse", "--set", "decode.valid_bleu=false"],
            "train.monitor='exact_match' is reported by the validation decoding",
        ),
    ],
)
def test_train_bad_data_is_one_clear_line(tmp_path, capsys, args, message):
    assert main(["train", "translate", *args, "--out", str(tmp_path / "x"), *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_smoke_on_a_slice_of_multi30k(shared_data, tmp_path, capsys):
    pytest.importorskip("sentencepiece")
    out, metrics = tmp_path / "run", tmp_path / "m.json"
    code = main(["train", "translate", "--config", "multi30k-attn", "--data-dir", str(shared_data),
                 "--set", "data.max_train=200", "--set", "train.max_steps=3",
                 "--set", "decode.valid_bleu=false", "--set", "train.monitor=loss",
                 "--set", "train.monitor_mode=min", "--set", "decode.beam=1",
                 "--set", "data.vocab_size=300", "--set", "model.hidden_size=16",
                 "--set", "model.embed_dim=16", "--set", "model.decoder_hidden_size=32",
                 "--set", "decode.max_len_b=2", "--set", "decode.max_len_a=0.5",
                 "--out", str(out), "--metrics-out", str(metrics), *FAST])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    result = json.loads(metrics.read_text())
    assert result["test_pairs"] == 1000.0 and "test_bleu_signature" in result
    best = str(out / "checkpoints" / "best")
    folder = shared_data / "translation"
    with gzip.open(folder / "test_2016_flickr.de.gz", "rt", encoding="utf-8") as f:
        german = [next(f).strip() for _ in range(10)]
    with gzip.open(folder / "test_2016_flickr.en.gz", "rt", encoding="utf-8") as f:
        english = [next(f).strip() for _ in range(10)]
    (tmp_path / "s.de").write_text("\n".join(german) + "\n", encoding="utf-8")
    (tmp_path / "r.en").write_text("\n".join(english) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["evaluate", best, "--src", str(tmp_path / "s.de"), "--ref",
                 str(tmp_path / "r.en"), "--out", str(tmp_path / "ev")]) == 0  # fmt: skip
    assert "sacreBLEU BLEU signature" in capsys.readouterr().out
    assert main(["translate", best, "ein Mann fährt Fahrrad ."]) == 0
    assert capsys.readouterr().out.strip() != ""
