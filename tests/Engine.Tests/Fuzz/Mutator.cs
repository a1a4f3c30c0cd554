namespace Engine.Tests.Fuzz;

/// <summary>
/// Seeded input generation: fresh random bytes, and mutations of valid encodings (bit flips, interesting bytes,
/// inserted, deleted and duplicated ranges, truncation, runs of 0xFF that read as huge varints and lengths, splices of
/// two corpus entries). The same seed gives the same inputs.
/// </summary>
internal sealed class Mutator
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x02, 0x07, 0x08, 0x0A, 0x12, 0x1A, 0x7F, 0x80, 0xFE, 0xFF];

    private readonly Random _random;
    private readonly byte[][] _corpus;
    private readonly int _maxRandomLength;

    public Mutator(int seed, byte[][] corpus, int maxRandomLength = 96)
    {
        _random = new Random(seed);
        _corpus = corpus;
        _maxRandomLength = maxRandomLength;
    }

    public Random Random => _random;

    /// <summary>Writes the next input into <paramref name="buffer"/> and returns its length.</summary>
    public int Next(byte[] buffer)
    {
        int mode = _random.Next(16);
        if (mode < 3 || _corpus.Length == 0)
        {
            int length = _random.Next(Math.Min(_maxRandomLength, buffer.Length) + 1);
            _random.NextBytes(buffer.AsSpan(0, length));
            return length;
        }

        byte[] seed = _corpus[_random.Next(_corpus.Length)];
        int n = Math.Min(seed.Length, buffer.Length);
        seed.AsSpan(0, n).CopyTo(buffer);
        if (mode == 3)
        {
            return n; // the valid input itself, now and then
        }

        for (int m = 1 + _random.Next(4); m > 0; m--)
        {
            n = Mutate(buffer, n);
        }

        return n;
    }

    private int Mutate(byte[] b, int n)
    {
        int op = _random.Next(9);
        if (n == 0)
        {
            op = 2;
        }

        switch (op)
        {
            case 0: // flip a bit
                b[_random.Next(n)] ^= (byte)(1 << _random.Next(8));
                return n;
            case 1: // an interesting byte
                b[_random.Next(n)] = Interesting[_random.Next(Interesting.Length)];
                return n;
            case 2: // insert random bytes
                {
                    int count = Math.Min(1 + _random.Next(8), b.Length - n);
                    int at = _random.Next(n + 1);
                    Array.Copy(b, at, b, at + count, n - at);
                    _random.NextBytes(b.AsSpan(at, count));
                    return n + count;
                }

            case 3: // delete a range
                {
                    int at = _random.Next(n);
                    int count = 1 + _random.Next(Math.Min(16, n - at));
                    Array.Copy(b, at + count, b, at, n - at - count);
                    return n - count;
                }

            case 4: // truncate
                return _random.Next(n);
            case 5: // duplicate a range
                {
                    int at = _random.Next(n);
                    int count = Math.Min(1 + _random.Next(Math.Min(32, n - at)), b.Length - n);
                    int to = _random.Next(n + 1);
                    var copy = b.AsSpan(at, count).ToArray();
                    Array.Copy(b, to, b, to + count, n - to);
                    copy.CopyTo(b, to);
                    return n + count;
                }

            case 6: // a run of 0xFF (a varint or length that never ends or is huge)
                {
                    int at = _random.Next(n);
                    int count = Math.Min(1 + _random.Next(10), n - at);
                    b.AsSpan(at, count).Fill(0xFF);
                    return n;
                }

            case 7: // splice the tail of another corpus entry
                {
                    byte[] other = _corpus.Length == 0 ? [] : _corpus[_random.Next(_corpus.Length)];
                    if (other.Length == 0)
                    {
                        return n;
                    }

                    int at = _random.Next(n + 1);
                    int from = _random.Next(other.Length);
                    int count = Math.Min(other.Length - from, b.Length - at);
                    Array.Copy(other, from, b, at, count);
                    return at + count;
                }

            default: // a random byte anywhere
                b[_random.Next(n)] = (byte)_random.Next(256);
                return n;
        }
    }
}
