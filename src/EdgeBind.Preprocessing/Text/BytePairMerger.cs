namespace EdgeBind.Preprocessing.Text;

/// <summary>
/// CLIP's BPE loop on a word of symbol ids: repeatedly take the adjacent pair of lowest merge rank and
/// merge every non-overlapping occurrence of it, left to right, until no adjacent pair has a rank.
/// </summary>
internal static class BytePairMerger
{
    /// <summary>
    /// Words up to this many symbols use CLIP's direct loop (fastest for real words); longer ones a heap
    /// of candidate pairs, so one huge "word" (a text without spaces) costs n log n instead of n^2.
    /// </summary>
    public const int DirectLimit = 96;

    /// <summary>Merges <paramref name="word"/> in place; returns its new length.</summary>
    /// <param name="word">Symbol ids.</param>
    /// <param name="merges">(left id &lt;&lt; 32 | right id) to (rank &lt;&lt; 32 | merged id).</param>
    public static int Merge(Span<int> word, Dictionary<long, long> merges) =>
        word.Length <= DirectLimit ? MergeDirect(word, merges) : MergeWithHeap(word, merges);

    internal static int MergeDirect(Span<int> word, Dictionary<long, long> merges)
    {
        var length = word.Length;
        while (length > 1)
        {
            var best = long.MaxValue;
            var at = -1;
            for (var i = 0; i < length - 1; i++)
            {
                if (merges.TryGetValue(PairKey(word[i], word[i + 1]), out var merge) && merge < best)
                {
                    best = merge;
                    at = i;
                }
            }
            if (at < 0)
            {
                break;
            }
            // The first occurrence is at `at` (ranks are unique per pair); merge it and every later one.
            int left = word[at], right = word[at + 1], merged = (int)(best & 0xFFFFFFFF);
            var w = at;
            for (var i = at; i < length; i++)
            {
                if (i < length - 1 && word[i] == left && word[i + 1] == right)
                {
                    word[w++] = merged;
                    i++;
                }
                else
                {
                    word[w++] = word[i];
                }
            }
            length = w;
        }
        return length;
    }

    // Same result as MergeDirect: symbols live in a linked list indexed by their first byte's position,
    // which keeps list order; the heap holds (rank << 32 | position) of every adjacent pair that has a rank.
    // All entries of the lowest rank are taken out before any is merged, so pairs a merge creates wait for
    // the next round exactly as in CLIP's loop (which rebuilds the word before looking at pairs again).
    // An entry is stale once either symbol of its pair has changed; symbols only ever grow, so comparing
    // the ids is a complete check.
    internal static int MergeWithHeap(Span<int> word, Dictionary<long, long> merges)
    {
        var n = word.Length;
        var next = new int[n];
        var prev = new int[n];
        var heap = new PriorityQueue<(int Left, int Right), long>();
        for (var i = 0; i < n; i++)
        {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        for (var i = 0; i + 1 < n; i++)
        {
            Push(heap, merges, word, i, i + 1);
        }
        var batch = new List<(int Position, int Left, int Right)>();
        while (heap.TryPeek(out _, out var top))
        {
            var rank = top >> 32;
            batch.Clear();
            while (heap.TryPeek(out var pair, out var priority) && priority >> 32 == rank)
            {
                heap.Dequeue();
                batch.Add(((int)(priority & 0xFFFFFFFF), pair.Left, pair.Right));
            }
            var merged = (int)(merges[PairKey(batch[0].Left, batch[0].Right)] & 0xFFFFFFFF);
            foreach (var (i, left, right) in batch)
            {
                // Dead (merged into its left neighbour), changed, or overlapping an occurrence just merged.
                if (prev[i] == -2 || next[i] < 0 || word[i] != left || word[next[i]] != right)
                {
                    continue;
                }
                var j = next[i];
                word[i] = merged;
                next[i] = next[j];
                if (next[j] >= 0)
                {
                    prev[next[j]] = i;
                }
                prev[j] = -2;
                if (prev[i] >= 0)
                {
                    Push(heap, merges, word, prev[i], i);
                }
                if (next[i] >= 0)
                {
                    Push(heap, merges, word, i, next[i]);
                }
            }
        }
        var length = 0;
        for (var i = 0; i >= 0; i = next[i])
        {
            word[length++] = word[i];
        }
        return length;
    }

    private static void Push(PriorityQueue<(int, int), long> heap, Dictionary<long, long> merges, Span<int> word, int i, int j)
    {
        if (merges.TryGetValue(PairKey(word[i], word[j]), out var merge))
        {
            heap.Enqueue((word[i], word[j]), (merge & ~0xFFFFFFFFL) | (uint)i);
        }
    }

    /// <summary>Dictionary key of an adjacent pair.</summary>
    public static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;
}
