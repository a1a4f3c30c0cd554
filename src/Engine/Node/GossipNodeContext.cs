using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Node;

/// <summary>Everything a node needs from its surroundings; the defaults are the real ones.</summary>
public sealed class GossipNodeContext
{
    /// <summary>The clock for heartbeats, expiry and timestamps (a virtual clock makes a test deterministic).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Seeds the node's random choices (deterministic tests); null picks a random seed.</summary>
    public int? Seed { get; init; }

    /// <summary>Where the node logs (categories Engine.Node and Engine.Discovery).</summary>
    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}
