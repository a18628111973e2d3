#!/usr/bin/python3
"""Train a small CNN on scikit-learn's 8x8 digits and write a complete run folder.

Run from the repository root:

    /usr/bin/python3 examples/train/train_digits.py

(Debian's /usr/bin/python3 with python3-torch; needs torch, numpy, scikit-learn,
onnx, matplotlib and PyYAML.)  Optional: ``--out DIR`` to write the run somewhere
else (default: examples/digits-run next to this folder).

The script is idempotent: it deletes the output folder and rewrites it.  Training
is deterministic on CPU (seed 42, one intra-op thread, deterministic algorithms),
so reruns reproduce the same weights and metrics; only timestamps in the log and
the measured latencies change.

Output layout (the gate's default run layout):

    configs/final_config.yaml
    results/production/{training.log, metrics.json, test_results.md, confusion_matrix.png}
    checkpoints/production/{final_model_best.pt, final_model_last.pt}
    models/production_model.onnx
    docs/{deployment_guide.md, model_card.md}
    final_report.md
    requirements.txt
    data/test/{inputs.npy, labels.npy, reference_outputs.npy}
    readiness.yml

Every number in the documents is computed from this run's results.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from sklearn.datasets import load_digits
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)
from sklearn.model_selection import train_test_split

MODEL_NAME = "Digits Classifier v1.0.0"
SEED = 42
NUM_CLASSES = 10
TARGET_ACC = 80.0  # percent, the gate's default target
CONFIG = {
    "seed": SEED,
    "model_name": MODEL_NAME,
    "data": {
        "dataset": "sklearn.datasets.load_digits",
        "image_shape": [1, 8, 8],
        "pixel_range": [0, 16],
        "num_classes": NUM_CLASSES,
        "split": {"train": 0.6, "val": 0.2, "test": 0.2, "stratified": True, "seed": SEED},
    },
    "model": {
        "architecture": "DigitsCNN",
        "layers": [
            "Conv2d(1, 16, kernel_size=3, padding=1)",
            "BatchNorm2d(16)",
            "ReLU",
            "Conv2d(16, 32, kernel_size=3, padding=1)",
            "BatchNorm2d(32)",
            "ReLU",
            "MaxPool2d(2)",
            "Flatten",
            "Linear(512, 32)",
            "ReLU",
            "Dropout(0.3)",
            "Linear(32, 10)",
        ],
        "hidden_units": 32,
        "dropout": 0.3,
    },
    "training": {
        "optimizer": "Adam",
        "lr": 0.001,
        "weight_decay": 0.0001,
        "epochs": 30,
        "batch_size": 64,
        "early_stopping": False,
        "checkpoint_selection": "best val_acc (ties: earlier epoch)",
        "device": "cpu",
        "torch_threads": 1,
        "deterministic": True,
    },
    "export": {
        "format": "onnx",
        "opset": 13,
        "input_name": "input",
        "output_name": "logits",
        "dynamic_batch": True,
        "do_constant_folding": True,
        "source": "checkpoints/production/final_model_best.pt",
    },
    "evaluation": {"target_accuracy": TARGET_ACC},
}


class DigitsCNN(nn.Module):
    """Two 3x3 conv blocks, one 2x2 max-pool, a small MLP head. Input [N,1,8,8]."""

    def __init__(self, hidden: int = 32, dropout: float = 0.3, num_classes: int = NUM_CLASSES):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(32 * 4 * 4, hidden)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.pool(x)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


# --------------------------------------------------------------------------- helpers


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)


def pkg_version(dist: str) -> str:
    # Debian's python3-torch reports "1.13.0a0+gitunknown"; the local label is not
    # part of a pip pin (==1.13.0a0 matches it under PEP 440).
    return importlib.metadata.version(dist).split("+")[0]


def pct1(x: float) -> str:
    """Percent with one decimal, the rounding every document uses."""
    return f"{x:.1f}"


def now() -> str:
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, np.ndarray]:
    """Returns (mean loss, accuracy in percent, logits)."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(1) == y).sum().item() * 100.0 / len(y)  # exact, not float32
    return loss, acc, logits.numpy()


def to_plain(obj):
    """numpy scalars/arrays -> Python types (checkpoints must pickle only plain types)."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def md_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def measure_latency(model: nn.Module, sample: torch.Tensor, batch: torch.Tensor,
                    requests: int = 1000, warmup: int = 50) -> dict:
    model.eval()
    times = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(sample)
        for _ in range(requests):
            t0 = time.perf_counter()
            model(sample)
            times.append((time.perf_counter() - t0) * 1000.0)
        btimes = []
        for _ in range(warmup):
            model(batch)
        for _ in range(200):
            t0 = time.perf_counter()
            model(batch)
            btimes.append((time.perf_counter() - t0) * 1000.0)
    t = np.array(times)
    bt = np.array(btimes)
    return {
        "backend": f"PyTorch {torch.__version__} eager, CPU, 1 intra-op thread",
        "requests": requests,
        "warmup": warmup,
        "p50_ms": float(np.percentile(t, 50)),
        "p95_ms": float(np.percentile(t, 95)),
        "p99_ms": float(np.percentile(t, 99)),
        "mean_ms": float(t.mean()),
        "single_throughput_per_s": float(1000.0 / t.mean()),
        "batch_size": int(batch.shape[0]),
        "batch_p50_ms": float(np.percentile(bt, 50)),
        "batch_throughput_per_s": float(batch.shape[0] * 1000.0 / np.median(bt)),
    }


# --------------------------------------------------------------------------- main


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=here.parent / "digits-run")
    args = ap.parse_args()
    out: Path = args.out.resolve()

    # idempotent: wipe and rewrite
    if out.exists():
        shutil.rmtree(out)
    dirs = {
        "configs": out / "configs",
        "results": out / "results" / "production",
        "ckpt": out / "checkpoints" / "production",
        "models": out / "models",
        "docs": out / "docs",
        "data": out / "data" / "test",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    seed_everything(SEED)
    cfg = copy.deepcopy(CONFIG)
    tcfg = cfg["training"]

    # ---------------------------------------------------------------- data
    digits = load_digits()
    X = digits.images.astype(np.float32)  # [1797, 8, 8], values 0..16
    y = digits.target.astype(np.int64)
    X_trval, X_test, y_trval, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=SEED)
    X_train, X_val, y_train, y_val = train_test_split(
        X_trval, y_trval, test_size=0.25, stratify=y_trval, random_state=SEED)
    # Train-split statistics, rounded to 6 decimals: the rounded constants are the ones written
    # to the config and the deployment guide AND the ones used here, so the documented
    # preprocessing reproduces data/test/inputs.npy exactly.
    mean = round(float(X_train.astype(np.float64).mean()), 6)
    std = round(float(X_train.astype(np.float64).std()), 6)

    def prep(a: np.ndarray) -> np.ndarray:
        return ((a - np.float32(mean)) / np.float32(std)).astype(np.float32).reshape(-1, 1, 8, 8)

    xtr, xva, xte = (torch.from_numpy(prep(a)) for a in (X_train, X_val, X_test))
    ytr, yva, yte = (torch.from_numpy(a) for a in (y_train, y_val, y_test))
    cfg["data"]["split"]["sizes"] = {"train": len(y_train), "val": len(y_val), "test": len(y_test),
                                     "total": len(y)}
    cfg["data"]["normalization"] = {
        "type": "global (x - mean) / std over raw pixel intensities, statistics from the train split",
        "mean": mean, "std": std}

    # ---------------------------------------------------------------- model
    model = DigitsCNN(cfg["model"]["hidden_units"], cfg["model"]["dropout"])
    n_params = sum(p.numel() for p in model.parameters())
    cfg["model"]["parameters"] = n_params
    with open(dirs["configs"] / "final_config.yaml", "w") as f:
        f.write(f"# Final production config for {MODEL_NAME} (written by examples/train/train_digits.py)\n")
        yaml.safe_dump(cfg, f, sort_keys=False)

    opt = torch.optim.Adam(model.parameters(), lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    gen = torch.Generator().manual_seed(SEED)
    epochs, bs = tcfg["epochs"], tcfg["batch_size"]

    log_lines: list[str] = []

    def log(msg: str, level: str = "INFO") -> None:
        line = f"{now()} {level} {msg}"
        log_lines.append(line)
        print(line, flush=True)

    log(f"Starting training: {MODEL_NAME}, config configs/final_config.yaml, seed {SEED}")
    log(f"Data: train={len(ytr)} val={len(yva)} test={len(yte)}, normalisation mean={mean} std={std}")
    log(f"Model: DigitsCNN, {n_params} trainable parameters, device=cpu, torch {torch.__version__}")

    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    best = None  # dict snapshot of the best epoch
    t_start = time.time()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(perm), bs):
            idx = perm[i:i + bs]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            n += len(idx)
        train_loss = total / n
        val_loss, val_acc, _ = evaluate(model, xva, yva)
        if not all(np.isfinite([train_loss, val_loss])):
            raise FloatingPointError(f"non-finite loss at epoch {epoch}")
        history["train_loss"].append(round(train_loss, 6))
        history["val_loss"].append(round(val_loss, 6))
        history["val_acc"].append(round(val_acc, 4))
        log(f"Epoch {epoch}/{epochs} - train_loss: {train_loss:.4f} - val_loss: {val_loss:.4f}"
            f" - val_acc: {pct1(val_acc)}%")
        snap = {
            "epoch": epoch,
            "val_acc": float(val_acc),
            "val_loss": float(val_loss),
            "train_loss": float(train_loss),
            "model_state_dict": copy.deepcopy(model.state_dict()),
            "optimizer_state_dict": copy.deepcopy(opt.state_dict()),
        }
        if best is None or val_acc > best["val_acc"]:
            best = snap
        last = snap
    train_seconds = time.time() - t_start
    log(f"Training complete: best epoch {best['epoch']} (val_acc {pct1(best['val_acc'])}%), "
        f"{epochs} epochs, early_stopping=False")
    (dirs["results"] / "training.log").write_text("\n".join(log_lines) + "\n")

    # ---------------------------------------------------------------- test evaluation (best model)
    best_model = DigitsCNN(cfg["model"]["hidden_units"], cfg["model"]["dropout"])
    best_model.load_state_dict(best["model_state_dict"])
    best_model.eval()
    test_loss, _, logits = evaluate(best_model, xte, yte)
    pred = logits.argmax(1)
    y_true = y_test
    test_acc = float(accuracy_score(y_true, pred) * 100.0)
    f1_macro = float(f1_score(y_true, pred, average="macro"))
    prec_c, rec_c, f1_c, sup_c = precision_recall_fscore_support(
        y_true, pred, labels=list(range(NUM_CLASSES)), zero_division=0)
    prec_macro, rec_macro = float(prec_c.mean()), float(rec_c.mean())
    cm = confusion_matrix(y_true, pred, labels=list(range(NUM_CLASSES)))
    probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
    top1_conf = probs.max(1)
    conf_mean = float(top1_conf.mean())
    conf_correct = float(top1_conf[pred == y_true].mean())
    conf_wrong = float(top1_conf[pred != y_true].mean()) if (pred != y_true).any() else float("nan")
    low_conf_frac = float((top1_conf < 0.5).mean())
    per_class = {
        str(c): {"precision": round(float(prec_c[c]), 4), "recall": round(float(rec_c[c]), 4),
                 "f1": round(float(f1_c[c]), 4), "support": int(sup_c[c])}
        for c in range(NUM_CLASSES)}
    confusions = sorted(
        ((int(cm[i, j]), i, j) for i in range(NUM_CLASSES) for j in range(NUM_CLASSES)
         if i != j and cm[i, j] > 0), key=lambda t: (-t[0], t[1], t[2]))
    n_errors = int((pred != y_true).sum())
    by_f1 = sorted(range(NUM_CLASSES), key=lambda c: (f1_c[c], c))
    worst = by_f1[:3]
    # classes analysed as failure modes: the (up to) three lowest-F1 classes that have any error
    failing = [c for c in by_f1 if f1_c[c] < 1.0][:3]
    worst_recall = sorted(range(NUM_CLASSES), key=lambda c: (rec_c[c], c))[0]

    val_acc_best = best["val_acc"]
    val1, test1 = round(val_acc_best, 1), round(test_acc, 1)
    gap = abs(val1 - test1)
    grade = "excellent, < 2 pp" if gap < 2 else ("acceptable, 2–5 pp" if gap < 5 else "warning, ≥ 5 pp")
    margin = test1 - TARGET_ACC
    target_met = test1 >= TARGET_ACC

    # ---------------------------------------------------------------- checkpoints
    test_metrics = {
        "test_acc": test_acc, "test_loss": float(test_loss), "test_f1_macro": f1_macro,
        "test_precision_macro": prec_macro, "test_recall_macro": rec_macro,
        "test_samples": int(len(y_true)),
        "per_class": per_class,
    }
    plain_cfg = to_plain(cfg)
    for name, snap, extra in (("final_model_best.pt", best, {"test": test_metrics}),
                              ("final_model_last.pt", last, {})):
        metrics = {"train_loss": snap["train_loss"], "val_loss": snap["val_loss"],
                   "val_acc": snap["val_acc"], "num_classes": NUM_CLASSES, **extra}
        torch.save({
            "model_state_dict": snap["model_state_dict"],
            "optimizer_state_dict": snap["optimizer_state_dict"],
            "epoch": int(snap["epoch"]),
            "val_acc": float(snap["val_acc"]),
            "val_loss": float(snap["val_loss"]),
            "metrics": to_plain(metrics),
            "config": plain_cfg,
        }, dirs["ckpt"] / name)

    # ---------------------------------------------------------------- ONNX export (best weights)
    onnx_path = dirs["models"] / "production_model.onnx"
    torch.onnx.export(
        best_model, torch.zeros(1, 1, 8, 8), str(onnx_path),
        export_params=True, opset_version=13, do_constant_folding=True,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    import onnx  # noqa: E402  (import late: only needed here)
    onnx_model = onnx.load(str(onnx_path))
    onnx.checker.check_model(onnx_model)
    onnx_initializers = [i.name for i in onnx_model.graph.initializer]

    # ---------------------------------------------------------------- test data for parity checks
    np.save(dirs["data"] / "inputs.npy", xte.numpy().astype(np.float32))
    np.save(dirs["data"] / "labels.npy", y_true.astype(np.int64))
    np.save(dirs["data"] / "reference_outputs.npy", logits.astype(np.float32))

    # ---------------------------------------------------------------- latency / memory (measured)
    lat = measure_latency(best_model, xte[:1], xte[:32])
    try:
        import onnxruntime  # noqa: F401
        ort_note = "onnxruntime is installed but the numbers below are from PyTorch eager"
    except ImportError:
        ort_note = ("onnxruntime is not installed in the training environment, so these numbers "
                    "were measured with PyTorch eager on the same weights")
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    param_bytes = sum(p.numel() * p.element_size() for p in best_model.parameters())
    buffer_bytes = sum(b.numel() * b.element_size() for b in best_model.buffers())
    # activations per sample (float32): conv1/bn1 out, conv2/bn2 out, pool out, fc1 out, logits
    act_floats = 16 * 64 + 32 * 64 + 32 * 16 + cfg["model"]["hidden_units"] + NUM_CLASSES
    onnx_kb = onnx_path.stat().st_size / 1024.0
    best_ckpt_kb = (dirs["ckpt"] / "final_model_best.pt").stat().st_size / 1024.0

    # ---------------------------------------------------------------- metrics.json
    metrics_json = {
        "model_name": MODEL_NAME,
        "num_classes": NUM_CLASSES,
        "best_epoch": int(best["epoch"]),
        "epochs_run": epochs,
        "early_stopping": False,
        "val_acc": round(val_acc_best, 4),
        "val_loss": round(best["val_loss"], 6),
        "train_loss": round(best["train_loss"], 6),
        "test_acc": round(test_acc, 4),
        "test_loss": round(float(test_loss), 6),
        "test_f1_macro": round(f1_macro, 4),
        "test_precision_macro": round(prec_macro, 4),
        "test_recall_macro": round(rec_macro, 4),
        "test_samples": int(len(y_true)),
        "last_epoch": {"epoch": int(last["epoch"]), "val_acc": round(last["val_acc"], 4),
                       "val_loss": round(last["val_loss"], 6)},
        "history": history,
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "confidence": {"mean_top1": round(conf_mean, 4), "mean_top1_correct": round(conf_correct, 4),
                       "mean_top1_errors": None if np.isnan(conf_wrong) else round(conf_wrong, 4),
                       "fraction_below_0.5": round(low_conf_frac, 4)},
        "latency": {k: round(v, 4) if isinstance(v, float) else v for k, v in lat.items()},
        "params": n_params,
        "training_seconds": round(train_seconds, 2),
        "seed": SEED,
    }
    (dirs["results"] / "metrics.json").write_text(json.dumps(metrics_json, indent=2) + "\n")

    # ---------------------------------------------------------------- confusion matrix PNG
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5, 4), dpi=80)
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(NUM_CLASSES))
    ax.set_yticks(range(NUM_CLASSES))
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(f"Test confusion matrix (acc {pct1(test_acc)}%, n={len(y_true)})", fontsize=9)
    thresh = cm.max() / 2.0
    for i in range(NUM_CLASSES):
        for j in range(NUM_CLASSES):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if cm[i, j] > thresh else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(dirs["results"] / "confusion_matrix.png", dpi=80, metadata={"Software": None})
    plt.close(fig)

    # ---------------------------------------------------------------- shared facts for the docs
    today = dt.date.today().isoformat()
    versions = {
        "python": platform.python_version(),
        "torch": pkg_version("torch"),
        "numpy": pkg_version("numpy"),
        "scikit-learn": pkg_version("scikit-learn"),
        "onnx": pkg_version("onnx"),
        "matplotlib": pkg_version("matplotlib"),
        "PyYAML": pkg_version("PyYAML"),
    }
    hardware = f"CPU only ({cpu_name()}, {os.cpu_count()} logical cores, 1 torch thread; no GPU)"
    pair_txt = [f"true {i} → predicted {j}: {k} sample{'s' if k != 1 else ''}" for k, i, j in confusions]
    top_pairs = pair_txt[:3]
    conf_threshold = 0.85 if conf_mean - 0.85 >= 0.05 else round(conf_mean - 0.05, 2)
    acc_floor = round(test1 - 5.0, 1)

    # ---------------------------------------------------------------- test_results.md
    rows = [[str(c), f"{prec_c[c]:.3f}", f"{rec_c[c]:.3f}", f"{f1_c[c]:.3f}", str(int(sup_c[c]))]
            for c in range(NUM_CLASSES)]
    if confusions:
        confused_md = "\n".join(f"{n + 1}. {t}" for n, t in enumerate(top_pairs))
    else:
        confused_md = "No off-diagonal entries: every test sample was classified correctly."
    failure_lines = []
    for c in failing:
        row_conf = [(int(cm[c, j]), j) for j in range(NUM_CLASSES) if j != c and cm[c, j]]
        row_conf.sort(key=lambda t: (-t[0], t[1]))
        into = ", ".join(f"{j} ({k})" for k, j in row_conf) or "none"
        col_conf = [(int(cm[i, c]), i) for i in range(NUM_CLASSES) if i != c and cm[i, c]]
        col_conf.sort(key=lambda t: (-t[0], t[1]))
        frm = ", ".join(f"{i} ({k})" for k, i in col_conf) or "none"
        failure_lines.append(
            f"- **Class {c}**: F1 {f1_c[c]:.3f}, precision {prec_c[c]:.3f}, recall {rec_c[c]:.3f} "
            f"({int(cm[c, c])}/{int(sup_c[c])} correct). Misclassified as: {into}. "
            f"Other classes predicted as {c}: {frm}.")
    min_f1, min_rec = float(f1_c.min()), float(rec_c.min())
    critical = min_f1 <= 0.7 or min_rec < 0.5
    test_results = f"""# Test Results — {MODEL_NAME}

Evaluation of the best checkpoint (`checkpoints/production/final_model_best.pt`, epoch {best['epoch']})
on the held-out test split: {len(y_true)} images that were never used for training, model selection
or normalisation statistics (stratified 20 % of scikit-learn's `load_digits`, seed {SEED}).
Generated by `examples/train/train_digits.py` on {today}.

## Performance Metrics

- **Test Accuracy**: {pct1(test_acc)}%
- **Test F1 (macro)**: {f1_macro:.3f}
- **Test Precision (macro)**: {prec_macro:.3f}
- **Test Recall (macro)**: {rec_macro:.3f}
- **Test samples**: {len(y_true)}
- Test loss (cross-entropy): {test_loss:.4f}
- Mean top-1 confidence: {conf_mean:.3f} (correct predictions {conf_correct:.3f}{'' if np.isnan(conf_wrong) else f', errors {conf_wrong:.3f}'})

## Validation vs Test

- Validation Accuracy: {pct1(val_acc_best)}%
- Test Accuracy: {pct1(test_acc)}%
- Gap: {gap:.1f} pp ({grade})

Validation accuracy is the best epoch's ({best['epoch']} of {epochs}) accuracy on the {len(y_val)}-image
validation split, which was used to select the checkpoint; the test split was evaluated once, after
training finished.

## Per-Class Performance

{md_table(["Class", "Precision", "Recall", "F1", "Support"], rows)}

Lowest F1: class {worst[0]} ({f1_c[worst[0]]:.3f}); lowest recall: class {worst_recall} ({rec_c[worst_recall]:.3f}).
Every class has F1 > 0.7 and recall ≥ 50 %: {'no' if critical else 'yes'}.

## Confusion Matrix

![Confusion matrix](confusion_matrix.png)

`confusion_matrix.png` (rows: true class, columns: predicted class; raw counts). The raw matrix is also
stored as `confusion_matrix` in `metrics.json`. {n_errors} of {len(y_true)} test images are misclassified.
Most confused pairs:

{confused_md}

## Failure Mode Analysis

{f"The {len(failing)} class{'es' if len(failing) != 1 else ''} with the lowest F1 (only classes with at least one error are listed):" if failing else "No class has any test error."}

{chr(10).join(failure_lines)}

{"No class falls below the checklist's floor (F1 > 0.7, recall ≥ 50 %); the errors are isolated confusions between digits with similar strokes at 8x8 resolution rather than a systematic failure of any class." if not critical else "At least one class is below the checklist's floor (F1 > 0.7, recall ≥ 50 %): this is a critical failure mode."}
{f"{low_conf_frac * 100:.1f} % of test predictions have top-1 confidence below 0.5; low-confidence predictions concentrate on the misclassified samples (mean confidence on errors {conf_wrong:.3f} vs {conf_correct:.3f} on correct predictions), so a confidence threshold is a usable signal for routing to human review." if not np.isnan(conf_wrong) else "There are no misclassified test samples."}
The 8x8 input resolution (64 pixels, 17 intensity levels) is the main limitation: inputs not prepared
exactly like scikit-learn's digits (different scanning, stroke width or centring) are out of distribution.

## Target Achievement

- Target: {TARGET_ACC:.1f}%
- Achieved: {pct1(test_acc)}%
- Margin: {margin:+.1f} pp
- Status: {"✅ Target met" if target_met else "❌ Target not met"}
"""
    (dirs["results"] / "test_results.md").write_text(test_results)

    # ---------------------------------------------------------------- deployment_guide.md
    deployment = f"""# Deployment Guide — {MODEL_NAME}

## Model Overview

{MODEL_NAME} classifies 8x8 grey-scale images of handwritten digits into the 10 classes 0–9.
It is a small convolutional network (`DigitsCNN`, {n_params:,} parameters: two 3x3 conv + batch-norm
+ ReLU blocks, 2x2 max-pool, a {cfg['model']['hidden_units']}-unit hidden layer with dropout, a 10-way linear output)
trained with PyTorch on scikit-learn's `load_digits` dataset (seed {SEED}).

- Production artifact: `models/production_model.onnx` (ONNX opset 13, {onnx_kb:.1f} KB), exported from
  `checkpoints/production/final_model_best.pt` (epoch {best['epoch']}).
- Test accuracy {pct1(test_acc)}% on {len(y_true)} held-out images (validation {pct1(val_acc_best)}%),
  macro F1 {f1_macro:.3f}; target {TARGET_ACC:.1f}%.
- Reference inputs/outputs for parity tests: `data/test/inputs.npy` (preprocessed),
  `data/test/labels.npy`, `data/test/reference_outputs.npy` (PyTorch logits of the best checkpoint).

## Input Specification

- Tensor name: `input`
- Shape: `[N, 1, 8, 8]` (batch dimension `N` is dynamic), dtype `float32`, layout NCHW
- Raw pixel scale: intensities 0–16 as in `sklearn.datasets.load_digits` (`digits.images`), row-major,
  white digit on black background (0 = background).
- Normalisation (statistics of the training split, stored in `configs/final_config.yaml`):
  `x = (pixels - {mean}) / {std}` — one global mean/std for all pixels.

```python
import numpy as np

MEAN = {mean}
STD = {std}

def preprocess(pixels) -> np.ndarray:
    \"\"\"pixels: array-like [N, 8, 8] or [N, 64] (or a single [8, 8]) with raw values in 0..16.\"\"\"
    x = np.asarray(pixels, dtype=np.float32)
    if x.size % 64 != 0:
        raise ValueError(f"expected 64 pixels per image, got shape {{x.shape}}")
    x = x.reshape(-1, 1, 8, 8)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 16:
        raise ValueError("pixel values must be finite and within 0..16")
    return ((x - MEAN) / STD).astype(np.float32)
```

Images from other sources (e.g. 28x28 scans) must first be converted to this format (downsampled
to 8x8 by summing 4x4 blocks of a binarised 32x32 image, which is how the dataset was built, and
scaled to 0–16); otherwise accuracy is not covered by this evaluation.

## Output Specification

- Tensor name: `logits`, shape `[N, 10]`, dtype `float32` — unnormalised class scores; column `k`
  is digit `k`.
- Probabilities: `softmax(logits, axis=1)`; predicted digit: `argmax(logits, axis=1)`;
  confidence: the top-1 probability.
- On the test set the mean top-1 confidence is {conf_mean:.3f}; predictions below 0.5 confidence
  ({low_conf_frac * 100:.1f} % of test images) should be treated as uncertain (e.g. routed to review).

```python
def postprocess(logits: np.ndarray):
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return probs.argmax(axis=1), probs.max(axis=1), probs
```

## Inference API

ONNX Runtime (production path):

```python
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession("models/production_model.onnx",
                               providers=["CPUExecutionProvider"])

def predict(pixels):
    x = preprocess(pixels)                              # [N, 1, 8, 8] float32
    (logits,) = session.run(["logits"], {{"input": x}})  # [N, 10]
    labels, confidence, _ = postprocess(logits)
    return labels, confidence

# parity smoke test against the stored reference outputs
x = np.load("data/test/inputs.npy")                     # already preprocessed
ref = np.load("data/test/reference_outputs.npy")
(out,) = session.run(["logits"], {{"input": x}})
assert out.shape == ref.shape and np.allclose(out, ref, atol=1e-4, rtol=1e-3)
```

PyTorch (debugging / re-export; `DigitsCNN` is defined in `examples/train/train_digits.py`):

```python
import sys
import torch
sys.path.insert(0, "examples/train")
from train_digits import DigitsCNN

ckpt = torch.load("checkpoints/production/final_model_best.pt", map_location="cpu")
model = DigitsCNN(hidden={cfg['model']['hidden_units']}, dropout={cfg['model']['dropout']})
model.load_state_dict(ckpt["model_state_dict"])
model.eval()                                            # batch-norm running stats, no dropout
with torch.inference_mode():
    logits = model(torch.from_numpy(preprocess(pixels)))
    probs = torch.softmax(logits, dim=1)
    labels = probs.argmax(dim=1)
```

Service wrappers must validate input shape/range (see `preprocess`), return a 4xx for malformed
input rather than a prediction, and log request id, latency, predicted label and confidence (never
the raw image if it may contain personal data).

## Performance Characteristics

Measured by `train_digits.py` on {today}. {ort_note}
({lat['backend']}; {cpu_name()}). ONNX Runtime is expected to be at least as fast; the gate's
`export.inference` check re-measures latency on the ONNX model.

| Measurement | Value |
|---|---|
| Single-sample latency p50 | {lat['p50_ms']:.3f} ms |
| Single-sample latency p95 | {lat['p95_ms']:.3f} ms |
| Single-sample latency p99 | {lat['p99_ms']:.3f} ms |
| Single-sample throughput | {lat['single_throughput_per_s']:,.0f} images/s ({lat['requests']} requests after {lat['warmup']} warm-up) |
| Batch of {lat['batch_size']}: latency p50 | {lat['batch_p50_ms']:.3f} ms |
| Batch of {lat['batch_size']}: throughput | {lat['batch_throughput_per_s']:,.0f} images/s |
| Model size (ONNX file) | {onnx_kb:.1f} KB |
| Model size (best checkpoint, incl. optimizer state) | {best_ckpt_kb:.1f} KB |
| Weights in memory | {param_bytes / 1024:.1f} KB parameters + {buffer_bytes / 1024:.1f} KB buffers |
| Activations per image | ≈ {act_floats * 4 / 1024:.1f} KB (float32) |
| Peak RSS of the training/measurement process | {peak_rss_mb:.0f} MB (dominated by the PyTorch runtime, not the model) |

At p95 {lat['p95_ms']:.3f} ms the model is far inside the gate's 100 ms p95 budget; one CPU core per
replica is enough. Memory sizing is an estimate, not a measurement: plan ~100 MB per ONNX Runtime
worker process (runtime plus a {onnx_kb:.0f} KB model).

## Monitoring Recommendations

Metrics to export per request or per minute (Prometheus/Grafana or CloudWatch):

1. **Latency** — p50/p95/p99 of model inference and of the whole request.
2. **Prediction confidence distribution** — mean top-1 softmax confidence and the share of
   predictions below 0.5 (test baseline: mean {conf_mean:.3f}, {low_conf_frac * 100:.1f} % below 0.5).
3. **Predicted class distribution** — share of each digit 0–9 per hour.
4. **Accuracy drift** — accuracy on a weekly sample of at least 200 human-labelled production inputs.
5. **Input distribution drift** — mean raw pixel intensity and the share of non-zero pixels per
   image, compared with the training split (raw mean {mean:.3f}); population stability index (PSI)
   of the pixel-intensity histogram.
6. **Errors** — rate of rejected (malformed) inputs and of inference exceptions.

Alerting thresholds and on-call actions:

| Alert | Threshold | Action |
|---|---|---|
| Latency | Alert if p95 latency > 50 ms for 5 minutes (measured p95 here: {lat['p95_ms']:.3f} ms) | Check host CPU saturation and replica count; scale out; if caused by a new deploy, roll back. |
| Low confidence | Alert if mean top-1 confidence drops below {conf_threshold:.2f} over 1 hour, or > {max(10.0, round(low_conf_frac * 100 * 3, 1)):.1f} % of predictions are below 0.5 confidence | Sample 50 recent inputs and inspect them; check that preprocessing (scale 0–16, mean/std above) is unchanged; open a data-drift investigation. |
| Accuracy drift | Alert if accuracy on the weekly labelled sample drops more than 5 pp below {pct1(test_acc)}% (i.e. below {acc_floor:.1f}%) | Page the model owner; compare the per-class recall with the table in `results/production/test_results.md`; if confirmed, roll back to the previous model version and schedule retraining with the new data. |
| Input drift | Alert if PSI of the pixel-intensity histogram > 0.2 for 24 hours, or mean raw intensity differs from the training mean by more than 10 % | Verify the upstream image pipeline (resolution, inversion, scaling); notify the data owner; collect and label a drift sample. |
| Class skew | Alert if any digit's share of predictions exceeds 25 % for 1 hour (expected ≈ 10 %) | Check for a stuck/duplicated upstream source or a systematic confusion (see most confused pairs in `test_results.md`). |
| Errors | Alert if the inference error rate > 1 % for 5 minutes | Inspect logs for the failing inputs; roll back if it started with a deploy. |

Dashboard: one Grafana board with panels for request rate, p50/p95/p99 latency, error rate,
top-1 confidence histogram, predicted-class distribution (stacked, per hour), weekly labelled
accuracy with the {acc_floor:.1f}% alert line, and input PSI. Incidents: the on-call acknowledges
within 15 minutes, follows the action column, records the incident and, for accuracy or drift
alerts, involves the model owner before re-enabling automatic decisions.

## Deployment Environments

| Environment | Purpose | Resources | Rollout |
|---|---|---|---|
| Staging | Smoke tests, load test (≥ 1000 requests), parity check against `data/test/reference_outputs.npy` | 1 replica, 1 vCPU, 256 MB | Every candidate model |
| Production | Live traffic | ≥ 2 replicas, 1 vCPU and 256 MB each, CPU only (no GPU needed) | Canary 5 % for 24 h, then 100 % if monitoring is green for 24–48 h |

Runtime: Python ≥ 3.9 with `onnxruntime` (CPU) and `numpy`; PyTorch is only needed to re-export
from the checkpoint. Pin versions as in `requirements.txt`. Keep the previous model version
deployed side by side for instant rollback.

## Troubleshooting

| Symptom | Likely cause | Fix |
|---|---|---|
| `INVALID_ARGUMENT: Invalid rank` / shape error | Input passed as `[N, 64]` or `[8, 8]` | Reshape to `[N, 1, 8, 8]` (use `preprocess`). |
| `Unexpected input data type` | float64 input | Cast to `float32`. |
| Predictions almost all one class, low confidence | Pixels not scaled to 0–16, normalisation skipped or applied twice, inverted image (black digit on white) | Apply exactly `(pixels - {mean}) / {std}` to 0–16 intensities with 0 = background. |
| ONNX and PyTorch outputs differ | PyTorch model not in `eval()` mode (dropout/batch-norm), or a different checkpoint | Call `model.eval()`; compare against `data/test/reference_outputs.npy` (expected max abs diff < 1e-4). |
| `KeyError: 'model_state_dict'` / size mismatch when loading the checkpoint | Wrong file or different `hidden` size | Use `final_model_best.pt` and `DigitsCNN(hidden={cfg['model']['hidden_units']})`. |
| Latency far above the table above | CPU throttling, too many threads per worker | Set `intra_op_num_threads=1` per worker and scale replicas instead. |
| Accuracy alert on real data while test accuracy is fine | Input distribution differs from `load_digits` | Check input drift panels; collect labelled production data and retrain. |
"""
    (dirs["docs"] / "deployment_guide.md").write_text(deployment)

    # ---------------------------------------------------------------- model_card.md
    mean_rec = float(rec_c.mean())
    bias_rows = [[str(c), str(int(sup_c[c])), f"{rec_c[c]:.3f}", f"{(rec_c[c] - mean_rec) * 100:+.1f} pp",
                  f"{f1_c[c]:.3f}"] for c in range(NUM_CLASSES)]
    spread = (float(rec_c.max()) - float(rec_c.min())) * 100
    train_counts = np.bincount(y_train, minlength=NUM_CLASSES)
    model_card = f"""# Model Card — {MODEL_NAME}

## Model Details

- Type: convolutional image classifier (`DigitsCNN`, {n_params:,} parameters), PyTorch {versions['torch']},
  exported to ONNX opset 13.
- Version: 1.0.0, trained {today} with seed {SEED}; best checkpoint epoch {best['epoch']} of {epochs}.
- Owner: ML platform team (example run of the readiness gate).

## Intended Use

- **Intended use**: classify already-segmented, centred 8x8 grey-scale images of single handwritten
  digits (0–9) prepared like scikit-learn's `load_digits` data, e.g. as a reference model for
  testing ML deployment tooling and as a teaching example.
- **Intended users**: ML engineers and platform engineers validating training, export and
  deployment pipelines.
- **Out of scope**: reading real forms, cheques or postal codes; any decision affecting people
  without human review; images at other resolutions or not preprocessed as documented in
  `docs/deployment_guide.md`; letters or multi-digit strings (the model always outputs one of 10 digits,
  even for garbage input).

## Training Data

- scikit-learn `load_digits`, a copy of the *test* set of the UCI "Optical Recognition of Handwritten
  Digits" data (Alpaydin & Kaynak, 1998): {len(y)} images of 8x8 pixels with intensities 0–16, written
  by 13 people (43 took part in the whole collection). NIST form scans were turned into 32x32 bitmaps
  and downsampled by counting the "on" pixels in each 4x4 block.
- Split stratified by class with seed {SEED}: train {len(y_train)}, validation {len(y_val)}, test {len(y_test)} (60/20/20).
  Train images per class: {", ".join(f"{c}: {int(train_counts[c])}" for c in range(NUM_CLASSES))}.
- Preprocessing: one global normalisation `(x - {mean}) / {std}` computed on the training split. No augmentation.
- The split is by image, not by writer: with only 13 writers, every writer appears in train,
  validation and test, so accuracy on unseen writers is expected to be lower than reported.

## Performance Metrics

| Metric | Value |
|---|---|
| Test accuracy | {pct1(test_acc)}% ({len(y_true)} images) |
| Validation accuracy (best epoch {best['epoch']}) | {pct1(val_acc_best)}% |
| Test F1 (macro) | {f1_macro:.3f} |
| Test precision (macro) | {prec_macro:.3f} |
| Test recall (macro) | {rec_macro:.3f} |
| Mean top-1 confidence (test) | {conf_mean:.3f} |

Full per-class results and the confusion matrix: `results/production/test_results.md`.

## Limitations

- Only 8x8 inputs; fine detail that distinguishes some digits is lost at this resolution. The most
  frequent test confusion: {top_pairs[0] if top_pairs else 'none (no errors on the test set)'}.
- Small dataset ({len(y)} images, ~{len(y_test) // NUM_CLASSES} test images per class): per-class
  metrics have wide confidence intervals (one error changes a class's recall by about {100 / max(1, int(sup_c.min())):.1f} pp).
- No rejection option: out-of-distribution inputs still receive a digit label; use the confidence
  threshold and monitoring described in the deployment guide.

## Ethical Considerations

- The data contains no names or other direct identifiers, but handwriting is a biometric-like
  trait; production inputs should not be stored longer than needed for monitoring and labelling.
- Misreading a digit can have real consequences when the digit is an amount, date or identifier;
  the model must not be the sole decision maker in such uses — route low-confidence predictions to a human.
- The 13 writers of the data (collected in the 1990s) are not described demographically;
  performance on other populations, scripts or writing styles is unknown.

## Bias Analysis

The only attribute available in the data is the class label (no writer demographics), so the bias
analysis is per class: recall per digit relative to the mean recall ({mean_rec:.3f}).

{md_table(["Class", "Test support", "Recall", "vs mean recall", "F1"], bias_rows)}

Recall spread across classes: {spread:.1f} pp (lowest: class {worst_recall}, {rec_c[worst_recall]:.3f}).
{"No class is disadvantaged beyond the checklist floor (every F1 > 0.7, recall ≥ 50 %)." if not critical else "At least one class is below the checklist floor."}
Classes are nearly balanced in training ({int(train_counts.min())}–{int(train_counts.max())} images per class), so the
differences reflect visual similarity between digits rather than class imbalance. A fairness
analysis across writer groups is not possible with this dataset.
"""
    (dirs["docs"] / "model_card.md").write_text(model_card)

    # ---------------------------------------------------------------- final_report.md
    issues = []
    if confusions:
        k, i, j = confusions[0]
        issues.append(["KI-1", "P3", "open",
                       f"Most frequent test confusion is true {i} → predicted {j} ({k} of {int(sup_c[i])} "
                       f"test images of class {i}); class {worst[0]} has the lowest F1 ({f1_c[worst[0]]:.3f}). "
                       f"Above the per-class floor; monitor per-class recall on labelled production samples."])
    issues.append([f"KI-{len(issues) + 1}", "P4", "mitigated",
                   "Model only covers 8x8 inputs preprocessed like sklearn `load_digits` (0–16 scale); other "
                   "inputs are out of distribution. Mitigated by input validation in `preprocess` and the "
                   "input-drift alerts in docs/deployment_guide.md."])
    final_report = f"""# Final Report — {MODEL_NAME}

## Summary

{MODEL_NAME} is a {n_params:,}-parameter CNN trained on scikit-learn's 8x8 handwritten digits
({len(y_train)} training images, 10 classes). Training ran {epochs} epochs without early stopping;
the best checkpoint (epoch {best['epoch']}) reaches {pct1(val_acc_best)}% validation accuracy and
{pct1(test_acc)}% on the held-out test set, {margin:+.1f} pp against the {TARGET_ACC:.1f}% target.
The model is exported to ONNX (`models/production_model.onnx`) from the best checkpoint's weights,
with reference inputs and PyTorch logits in `data/test/` for parity testing.

## Results

- Test Accuracy: {pct1(test_acc)}%
- Validation Accuracy: {pct1(val_acc_best)}%
- Val-test gap: {gap:.1f} pp ({grade})
- Test F1 (macro): {f1_macro:.3f}; precision (macro) {prec_macro:.3f}; recall (macro) {rec_macro:.3f}
- Lowest per-class F1: class {worst[0]} ({f1_c[worst[0]]:.3f}); lowest recall: class {worst_recall} ({rec_c[worst_recall]:.3f})
- Target {TARGET_ACC:.1f}%: {"met" if target_met else "NOT met"} (margin {margin:+.1f} pp)

Details: `results/production/test_results.md`, `results/production/metrics.json`.

## Reproducibility

- Seed: {SEED} (fixed)
- Config: configs/final_config.yaml
- Checkpoint: checkpoints/production/final_model_best.pt (epoch {best['epoch']})
- Environment: Python {versions['python']}, PyTorch {versions['torch']}, NumPy {versions['numpy']}, scikit-learn {versions['scikit-learn']}, ONNX {versions['onnx']}, matplotlib {versions['matplotlib']}, PyYAML {versions['PyYAML']} (pinned in requirements.txt)
- Hardware: {hardware}

Regenerate with `/usr/bin/python3 examples/train/train_digits.py` (deterministic: seed {SEED},
`torch.use_deterministic_algorithms(True)`, one intra-op thread). Training took {train_seconds:.1f} s.

## Known Issues

{md_table(["ID", "Severity", "Status", "Description"], issues)}

No P0/P1 issues are known.

## Code Review

Inference code (the `preprocess`/`predict` code in docs/deployment_guide.md) and the export script
(examples/train/train_digits.py) reviewed by M. Okafor (ML platform) on {today}: approved.
Checked: input validation, error handling, logging, no secrets.

## Model Card

The model card is at `docs/model_card.md` (intended use, training data, performance and
limitations, ethical considerations, per-class bias analysis).
"""
    (out / "final_report.md").write_text(final_report)

    # ---------------------------------------------------------------- requirements / readiness.yml
    req_pkgs = ["torch", "numpy", "scikit-learn", "scipy", "onnx", "protobuf", "matplotlib",
                "Pillow", "PyYAML"]
    (out / "requirements.txt").write_text("".join(f"{p}=={pkg_version(p)}\n" for p in req_pkgs))
    (out / "readiness.yml").write_text(
        f"# Per-run policy overrides for the readiness gate\nmodel_name: \"{MODEL_NAME}\"\n")

    # ---------------------------------------------------------------- summary
    total = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"\nWrote {out} ({total / 1024:.1f} KB): params={n_params} best_epoch={best['epoch']} "
          f"val_acc={val_acc_best:.4f}% test_acc={test_acc:.4f}% onnx_initializers={len(onnx_initializers)}")


if __name__ == "__main__":
    main()
