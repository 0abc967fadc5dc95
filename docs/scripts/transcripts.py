"""Run the documented commands and write their output for the docs to include.

Every command transcript in the documentation comes from this script, run at the start of each
docs build (``docs/conf.py``), so no transcript can drift from what the code prints. The
README shows one of them too, between ``<!-- transcript: NAME -->`` markers; ``--update-readme``
rewrites those blocks, and ``tests/test_docs.py`` fails when they differ from a fresh run.

Times are removed from the checked text (a machine's speed is not a property of the code):
iteration lines lose their trailing seconds, and "trained with adam: 30 iterations in 3.1s"
becomes "trained with adam: 30 iterations". Timings are reported, with the machine and command, on the performance
page only.

Run::

    python docs/scripts/transcripts.py --out docs/_generated          # what the build does
    python docs/scripts/transcripts.py --update-readme                # refresh README.md
                                                                      # and its picture
    python docs/scripts/transcripts.py --only train --print           # one, to the terminal

The MNIST files are read from ``$SCRATCHLIN_DATA`` (or the per-user cache, downloading them
once if needed), as a user's commands would.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
README = REPOSITORY / "README.md"

#: Each documented transcript: a name, and the shell commands it shows, in order. Commands
#: run in one scratch folder per build, in this order, so later ones see earlier ones' files.
#: A ``| head -n K`` suffix keeps the first K lines, as the shell would.
TRANSCRIPTS = {
    "train": ["scratchlin train --seed 0"],
    "train_validation": ["scratchlin train --val-fraction 0.1 --seed 0 --out model_val.npz --plots pictures"],
    "early_stopping": ["scratchlin train --early-stopping --max-iter 40 --seed 0 --out model_es.npz"],
    "evaluate": ["scratchlin evaluate model.npz"],
    "predict": [
        "python -c \"from scratchlin.datasets import load_mnist; import numpy as np; "
        "np.save('digits.npy', load_mnist('test')[0][:5])\"",
        "scratchlin predict model.npz digits.npy",
        "scratchlin predict model.npz digits.npy --top-k 3",
        "scratchlin predict model.npz digits.npy --csv - --top-k 2 | head -n 3",
        "scratchlin predict model.npz digits.npy --json --top-k 2 | head -n 2",
    ],
    "gradcheck": ["scratchlin gradcheck --label-smoothing 0.1"],
    "data": ["scratchlin data"],
    "help": ["scratchlin --help"],
    "error_model": ["scratchlin evaluate nothere.npz"],
    "error_data": ["scratchlin train --data empty --no-download"],
}

#: Lines whose timings are dropped, as (pattern, replacement).
TIMINGS = [
    (re.compile(r"^(iteration\s+\d+(?:/\d+)?\s.*?)\s+\d+(?:\.\d+)?s$", re.M), r"\1"),
    (re.compile(r"^(trained with \w+: \d+ iterations?) in \d+(?:\.\d+)?s$", re.M), r"\1"),
]


def without_timings(text: str) -> str:
    """``text`` with every wall-clock time removed."""
    for pattern, replacement in TIMINGS:
        text = pattern.sub(replacement, text)
    return text


def run_command(command: str, cwd: Path, env: dict) -> str:
    """One command's combined stdout and stderr, as a terminal would show them."""
    head = re.search(r"\s*\|\s*head -n (\d+)$", command)
    argv_text = command[:head.start()] if head else command
    argv = shlex.split(argv_text)
    if argv[0] == "scratchlin":
        argv = [sys.executable, "-m", "scratchlin", *argv[1:]]
    elif argv[0] == "python":
        argv = [sys.executable, *argv[1:]]
    result = subprocess.run(argv, cwd=cwd, env=dict(env, COLUMNS="100", PYTHONHASHSEED="0"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    output = result.stdout
    if head:
        output = "".join(output.splitlines(keepends=True)[:int(head.group(1))])
    expected_failure = command.startswith("scratchlin evaluate nothere") or "--no-download" in command
    if (result.returncode != 0) != expected_failure:
        raise RuntimeError(f"{command!r} exited with status {result.returncode}:\n{output}")
    return output


def clean(text: str, cwd: Path, env: dict) -> str:
    """Machine-specific paths replaced by what a reader would see, and timings removed."""
    folder = env.get("SCRATCHLIN_DATA")
    if folder:
        text = text.replace(str(Path(folder).resolve()), "~/data/mnist").replace(folder, "~/data/mnist")
    text = text.replace(str(cwd) + os.sep, "").replace(str(cwd), ".")
    return without_timings(text)


def transcript(name: str, cwd: Path, env: dict) -> str:
    """The console text of one named transcript: each command after ``$``, then its output."""
    parts = []
    for command in TRANSCRIPTS[name]:
        shown = command.replace("--data empty", "--data ~/mnist")
        output = clean(run_command(command, cwd, env), cwd, env)
        parts.append(f"$ {shown}\n{output}" if output else f"$ {shown}\n")
    text = "\n".join(parts).replace(f"{cwd}{os.sep}empty", "~/mnist")
    return text.rstrip("\n") + "\n"


def scratch_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="scratchlin-docs-"))


def readme_picture(model_file: Path, target: Path) -> Path:
    """The README's picture: the weight templates of the model the README's command trains."""
    import scratchlin as sl
    from scratchlin import plotting

    return plotting.plot_weights(sl.LinearClassifier.load(model_file), target)


def run_all(names, out: Path | None, env: dict | None = None, keep: Path | None = None) -> dict:
    """Run the named transcripts in one scratch folder; write ``NAME.txt`` (and the pictures).

    ``env`` is the commands' environment (default: this process's); ``keep`` a folder to run
    in and leave in place (default: a temporary folder, removed afterwards).
    """
    env = dict(os.environ if env is None else env)
    cwd = keep if keep is not None else scratch_folder()
    (cwd / "empty").mkdir(parents=True, exist_ok=True)
    try:
        texts = {}
        for name in names:
            texts[name] = transcript(name, cwd, env)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                (out / f"{name}.txt").write_text(texts[name])
        if out is not None and (cwd / "pictures").is_dir():
            shutil.copytree(cwd / "pictures", out / "pictures", dirs_exist_ok=True)
        if out is not None and (cwd / "model.npz").is_file():
            (out / "pictures").mkdir(parents=True, exist_ok=True)
            readme_picture(cwd / "model.npz", out / "pictures" / "readme_weights.png")
        return texts
    finally:
        if keep is None:
            shutil.rmtree(cwd, ignore_errors=True)


README_BLOCK = re.compile(r"(<!-- transcript: (\w+) -->\n```console\n)(.*?)(```\n<!-- /transcript -->)", re.S)


def readme_blocks(text: str) -> dict:
    """The README's transcript blocks: ``{name: console text}``."""
    return {match.group(2): match.group(3) for match in README_BLOCK.finditer(text)}


README_PICTURE = REPOSITORY / "docs" / "images" / "weights.png"


def update_readme(texts: dict, picture: Path) -> None:
    """Rewrite the README's transcript blocks, and its picture from the same run."""
    shutil.copyfile(picture, README_PICTURE)
    readme = README.read_text()
    updated = README_BLOCK.sub(lambda m: m.group(1) + texts.get(m.group(2), m.group(3)) + m.group(4), readme)
    README.write_text(updated)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the documented commands and write their output.")
    parser.add_argument("--out", type=Path, default=None, help="folder for NAME.txt (default: none)")
    parser.add_argument("--only", nargs="+", choices=sorted(TRANSCRIPTS), default=None,
                        help="these transcripts only (default: all)")
    parser.add_argument("--print", action="store_true", help="print the transcripts")
    parser.add_argument("--update-readme", action="store_true",
                        help="rewrite README.md's transcript blocks from a fresh run")
    args = parser.parse_args(argv)
    names = args.only or list(TRANSCRIPTS)
    if args.update_readme and args.only is None:
        names = [name for name in TRANSCRIPTS if name in readme_blocks(README.read_text())]
    with tempfile.TemporaryDirectory(prefix="scratchlin-docs-out-") as scratch_out:
        out = args.out if args.out is not None else Path(scratch_out)
        texts = run_all(names, out)
        if args.update_readme:
            update_readme(texts, out / "pictures" / "readme_weights.png")
    if args.print:
        for name, text in texts.items():
            print(f"== {name}\n{text}")
    if args.out is not None:
        print(f"transcripts: wrote {len(texts)} files to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
