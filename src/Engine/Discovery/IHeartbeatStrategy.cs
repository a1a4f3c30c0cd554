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

    /// <summary>True when discovery sends this peer's alive heartbeat every alive interval (Fabric); false for probing strategies.</summary>
    bool SendsHeartbeats => true;

    /// <summary>True when members silent for the expiry timeout are declared dead (Fabric); false when death comes from the strategy.</summary>
    bool ExpiresSilentMembers => true;

    /// <summary>Starts the strategy's own timers (after discovery's).</summary>
    void Start()
    {
    }

    /// <summary>Stops the strategy's timers; idempotent.</summary>
    void Stop()
    {
    }

    /// <summary>
    /// Discovery recorded news that changed the view (<paramref name="firstHand"/>: from the member itself — a heartbeat
    /// or a membership request — rather than from someone's membership response).
    /// </summary>
    void OnRecorded(Member member, MembershipChange change, bool firstHand)
    {
    }

    /// <summary>Every reconnect interval: true when the strategy re-probed the dead members itself (discovery then does not).</summary>
    bool ReprobeDead() => false;

    /// <summary>A strategy message (GossipMessage content <c>swim</c>) arrived; false when this strategy does not handle it.</summary>
    bool Receive(PeerEndpoint source, ReadOnlySpan<byte> content, long now) => false;
}
