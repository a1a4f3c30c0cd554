namespace Engine.Membership;

/// <summary>
/// A small, fast generator for one sampling call (xorshift64*), seeded from the table's sequence so that a table
/// built with the same seed and driven the same way samples the same peers.
/// </summary>
internal struct SampleRandom
{
    private ulong _state;

    public SampleRandom(ulong seed)
    {
        _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;
    }

    /// <summary>SplitMix64's finalizer: turns consecutive counters into unrelated seeds.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next()
    {
        ulong x = _state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        _state = x;
        return x * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>A value in [0, <paramref name="bound"/>) (Lemire's multiply-shift; the bias is below 2^-32).</summary>
    public int NextInt(int bound) => (int)(((Next() >> 32) * (ulong)(uint)bound) >> 32);
}
