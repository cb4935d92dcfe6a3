#!/usr/bin/env python3
"""Trains gensim's Word2Vec on the same tokens and hyperparameters as the `word2vec`
example, and compares its nearest neighbours with ours.

Installs nothing itself. Set up once:

    python3 -m venv /opt/gensim && /opt/gensim/bin/pip install gensim

then, after `swift run -c release word2vec --out /tmp/w2v`:

    /opt/gensim/bin/python Scripts/word2vec-gensim.py --vectors /tmp/w2v/word2vec.txt

Tokens: the text lowercased, a token a maximal run of letters and apostrophes with at
least one letter (WordCorpus.tokenize); words seen fewer than --min-count times dropped;
the stream cut into sentences of 1000 tokens (the example's --sentence). gensim trains
with sg=1, hs=0, negative=5, vector_size=100, window=5, min_count=5, epochs=5,
sample=1e-3, alpha 0.025 -> min_alpha 0.0001, at each --workers count; words/s is the
tokens in the vocabulary times the epochs over the seconds of `train` alone (as the
example reports it). The comparison: for the 100 most frequent words, the mean overlap of
our 10 nearest neighbours (cosine) with gensim's; and the same between two gensim runs
with different seeds (what agreement is possible).
"""
import argparse
import collections
import os
import sys
import time


def tokenize(text):
    tokens, current, has_letter = [], [], False
    for ch in text.lower():
        if ch.isalpha():
            current.append(ch)
            has_letter = True
        elif ch == "'":
            current.append(ch)
        elif current:
            if has_letter:
                tokens.append("".join(current))
            current, has_letter = [], False
    if current and has_letter:
        tokens.append("".join(current))
    return tokens


def top_neighbours(kv, words, k=10):
    return {w: [n for n, _ in kv.most_similar(w, topn=k)] for w in words}


def overlap(a, b, words, k=10):
    return sum(len(set(a[w]) & set(b[w])) / k for w in words) / len(words)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_text = os.path.join(here, "..", "..", "shared", "data", "tinyshakespeare", "input.txt")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--text", default=os.environ.get("TEXT_FILE", default_text))
    p.add_argument("--vectors", help="our vectors in word2vec text format (word2vec --out DIR writes DIR/word2vec.txt)")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts to time (default 1,2)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--min-count", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--sentence", type=int, default=1000)
    p.add_argument("--top", type=int, default=100, help="compare the neighbours of this many most frequent words")
    args = p.parse_args()
    try:
        from gensim.models import KeyedVectors, Word2Vec
    except ImportError:
        sys.exit("gensim is not installed: python3 -m venv /opt/gensim && /opt/gensim/bin/pip install gensim, "
                 "then run this script with /opt/gensim/bin/python")

    with open(args.text, encoding="utf-8") as f:
        raw = tokenize(f.read())
    counts = collections.Counter(raw)
    stream = [t for t in raw if counts[t] >= args.min_count]
    sentences = [stream[i:i + args.sentence] for i in range(0, len(stream), args.sentence)]
    print(f"{args.text}: {len(raw)} tokens, {sum(1 for c in counts.values() if c >= args.min_count)} words seen at least "
          f"{args.min_count} times ({len(stream)} tokens of them)")

    models = {}
    for workers in [int(w) for w in args.workers.split(",") if w]:
        model = Word2Vec(sg=1, hs=0, negative=5, vector_size=100, window=5, min_count=args.min_count, sample=1e-3,
                         alpha=0.025, min_alpha=0.0001, workers=workers, seed=args.seed)
        model.build_vocab(sentences)
        start = time.perf_counter()
        model.train(sentences, total_examples=len(sentences), epochs=args.epochs)
        seconds = time.perf_counter() - start
        print(f"gensim {workers} worker{'s' if workers > 1 else ''}: {seconds:.2f} s, "
              f"{len(stream) * args.epochs / seconds:.0f} words/s")
        models[workers] = model

    base = next(iter(models.values())).wv
    words = base.index_to_key[:args.top]
    ref = top_neighbours(base, words)
    for w in ["king", "love", "he", "good", "night"]:
        if w in base.key_to_index:
            print(f"  gensim {w}: " + ", ".join(f"{n} {s:.2f}" for n, s in base.most_similar(w, topn=8)))

    # what two correct trainings agree on: gensim with another seed (one worker)
    other = Word2Vec(sentences, sg=1, hs=0, negative=5, vector_size=100, window=5, min_count=args.min_count, sample=1e-3,
                     alpha=0.025, min_alpha=0.0001, workers=1, seed=args.seed + 1, epochs=args.epochs)
    print(f"gensim seed {args.seed} vs seed {args.seed + 1}: mean top-10 overlap over the {len(words)} most frequent words "
          f"{100 * overlap(ref, top_neighbours(other.wv, words), words):.1f} %")

    if args.vectors:
        ours = KeyedVectors.load_word2vec_format(args.vectors, binary=False)
        missing = [w for w in words if w not in ours.key_to_index]
        if missing:
            sys.exit(f"{args.vectors}: {len(missing)} of gensim's {len(words)} most frequent words are missing, "
                     f"e.g. {missing[:5]}: were both trained on the same text and min count?")
        print(f"{args.vectors}: loaded {len(ours.index_to_key)} vectors of dimension {ours.vector_size}")
        print(f"ours vs gensim (seed {args.seed}): mean top-10 overlap over the {len(words)} most frequent words "
              f"{100 * overlap(ref, top_neighbours(ours, words), words):.1f} %")


if __name__ == "__main__":
    main()
