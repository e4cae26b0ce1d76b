"""CLIP-format byte-level BPE: a trainer for EdgeBind-tiny's own vocabulary and an encoder.

The vocabulary file has CLIP's `bpe_simple_vocab_16e6.txt.gz` layout: gzip'd UTF-8, one header
comment line, then one merge per line ("a b"). Token ids follow CLIP: 256 byte symbols (in
bytes_to_unicode order), the same 256 with "</w>", one id per merge (the merged string) in file
order, then <|startoftext|> = 512+M and <|endoftext|> = 513+M.

The encoder works with any such file (CLIP's own included) given the number of merges to use;
test_world.py checks it against ids made with CLIP's vocabulary when that file is available.
"""
from __future__ import annotations

import collections
import gzip
import html
import re

SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
# CLIP's pattern with \p{L} / \p{N}; Python's re lacks \p, so letters are [^\W\d_] and numbers \d,
# which agrees with CLIP's on the ASCII captions used here and on common Unicode text.
TOKEN_RE = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+""",
                      re.IGNORECASE)


def bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clean(text: str) -> str:
    text = html.unescape(html.unescape(text)).strip()
    text = re.sub(r"\s+", " ", text).strip()
    return text.lower()


def pre_tokens(text: str) -> list[str]:
    b2u = bytes_to_unicode()
    return ["".join(b2u[b] for b in tok.encode("utf-8")) for tok in TOKEN_RE.findall(clean(text))]


def train_bpe(corpus: list[str], max_merges: int, min_count: int = 2) -> list[tuple[str, str]]:
    """Greedy BPE over words (last symbol carries "</w>"), most frequent pair first.

    A pair whose merged string already exists as a token is skipped, so every merge adds a new,
    unique vocabulary entry (the CLIP vocabulary dict is then unambiguous).
    """
    words = collections.Counter()
    for line in corpus:
        for tok in pre_tokens(line):
            words[tuple(tok[:-1]) + (tok[-1] + "</w>",)] += 1
    b2u = bytes_to_unicode()
    existing = set(b2u.values()) | {v + "</w>" for v in b2u.values()}
    merges: list[tuple[str, str]] = []
    vocab = dict(words)
    while len(merges) < max_merges:
        pairs = collections.Counter()
        for w, c in vocab.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        best = None
        # deterministic: highest count, then lexicographic
        for (a, b), c in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):
            if c < min_count:
                break
            if a + b not in existing:
                best = (a, b)
                break
        if best is None:
            break
        merges.append(best)
        existing.add(best[0] + best[1])
        new_vocab = {}
        for w, c in vocab.items():
            out = []
            i = 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_vocab[tuple(out)] = new_vocab.get(tuple(out), 0) + c
        vocab = new_vocab
    return merges


def write_vocab(path: str, merges: list[tuple[str, str]], header: str = "#version: 0.2 edgebind-tiny") -> None:
    text = header + "\n" + "".join(f"{a} {b}\n" for a, b in merges)
    # fixed mtime so the file is byte-identical between runs
    with open(path, "wb") as fh:
        with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
            gz.write(text.encode("utf-8"))


def read_merges(path: str, num_merges: int | None = None) -> list[tuple[str, str]]:
    lines = gzip.open(path).read().decode("utf-8").split("\n")[1:]
    lines = [ln for ln in lines if ln.strip()]
    if num_merges is not None:
        lines = lines[:num_merges]
    return [tuple(ln.split()) for ln in lines]


class Tokenizer:
    def __init__(self, vocab_path: str, num_merges: int | None = None, context_length: int = 77):
        merges = read_merges(vocab_path, num_merges)
        self.num_merges = len(merges)
        b2u = bytes_to_unicode()
        vocab = list(b2u.values())
        vocab = vocab + [v + "</w>" for v in vocab]
        vocab += ["".join(m) for m in merges]
        vocab += [SOT, EOT]
        self.encoder = {v: i for i, v in enumerate(vocab)}
        self.decoder = {i: v for v, i in self.encoder.items()}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.sot = self.encoder[SOT]
        self.eot = self.encoder[EOT]
        self.vocab_size = len(vocab)
        self.context_length = context_length
        self.cache = {SOT: SOT, EOT: EOT}

    def bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new.extend(word[i:])
                    break
                new.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new.append(first + second)
                    i += 2
                else:
                    new.append(word[i])
                    i += 1
            word = tuple(new)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        ids = []
        for tok in pre_tokens(text):
            ids.extend(self.encoder[t] for t in self.bpe(tok).split(" "))
        return ids

    def __call__(self, texts) -> "list[list[int]]":
        if isinstance(texts, str):
            texts = [texts]
        out = []
        n = self.context_length
        for t in texts:
            ids = [self.sot] + self.encode(t)[: n - 2] + [self.eot]
            out.append(ids + [0] * (n - len(ids)))
        return out
