using Engine.Membership;
using Engine.Transport;

namespace Engine.Discovery;

/// <summary>
/// The one seam for <i>how heartbeats spread</i>. Discovery builds this peer's alive messages, judges received ones
/// (the membership table keeps only newer news) and runs expiry; the strategy decides who gets what. Fabric's flooding
/// (<see cref="FloodingHeartbeatStrategy"/>) is the default: each peer receives about k·N heartbeats per interval. A
/// strategy whose per-peer cost does not grow with N (SWIM-style probing with piggybacked changes, using
/// <see cref="MembershipTable.MarkSuspect"/>) plugs in here without touching the rest of discovery.
/// </summary>
internal interface IHeartbeatStrategy
{
    /// <summary>A short name for the start-up log line.</summary>
    string Name { get; }

    /// <summary>Sends this peer's fresh alive envelope (every alive interval); returns to how many peers.</summary>
    int SpreadOwn(ReadOnlySpan<byte> envelope);

    /// <summary>
    /// A received alive envelope about <paramref name="origin"/> was newer than what the table held and is now recorded;
    /// <paramref name="source"/> is the peer the datagram came from. Returns to how many peers it was passed on.
    /// </summary>
    int OnAccepted(ReadOnlySpan<byte> envelope, Member origin, PeerEndpoint source);
}
