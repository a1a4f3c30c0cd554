namespace Engine.Transport.Memory;

/// <summary>
/// How a <see cref="MemoryNetwork"/> mistreats traffic. Datagrams may be dropped, duplicated and delayed; frames are only
/// delayed (streams are reliable and ordered). Every random choice comes from one <see cref="System.Random"/> seeded with
/// <see cref="Seed"/>, so a run driven from one thread is reproducible. Values may be changed while the network runs; the
/// seed is read once, when the network is created.
/// </summary>
internal sealed class NetworkPolicy
{
    /// <summary>Seed of the network's random source.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Probability (0 to 1) that a datagram is lost.</summary>
    public double DropProbability { get; set; }

    /// <summary>Probability (0 to 1) that a datagram is delivered twice (each copy with its own delay).</summary>
    public double DuplicateProbability { get; set; }

    /// <summary>Fixed one-way delay of every datagram and frame.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Extra delay drawn uniformly from [0, Jitter] per datagram and frame (frames still arrive in order).</summary>
    public TimeSpan Jitter { get; set; }

    /// <summary>A policy that delivers everything, at once, exactly once.</summary>
    public static NetworkPolicy Perfect(int seed = 1) => new() { Seed = seed };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        Require(DropProbability is >= 0 and <= 1, nameof(DropProbability), $"must be between 0 and 1, was {DropProbability}");
        Require(DuplicateProbability is >= 0 and <= 1, nameof(DuplicateProbability), $"must be between 0 and 1, was {DuplicateProbability}");
        Require(Delay >= TimeSpan.Zero, nameof(Delay), $"must not be negative, was {Delay}");
        Require(Jitter >= TimeSpan.Zero, nameof(Jitter), $"must not be negative, was {Jitter}");
    }

    private static void Require(bool condition, string name, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Network policy {name} {message}.", name);
        }
    }
}
