using Engine.Membership;
using Engine.Transport;

namespace Engine.Discovery;

/// <summary>
/// Fabric's way: every heartbeat, own or newly accepted, is pushed to <c>propagatePeerNum</c> random alive peers —
/// never back to the peer it came from, nor to the peer it is about — through the <see cref="DatagramEmitter"/>, which
/// packs what goes to one peer into shared datagrams. Peer selection is the membership table's lock-free O(k) sample.
/// </summary>
internal sealed class FloodingHeartbeatStrategy(MembershipTable table, DatagramEmitter emitter, int fanout) : IHeartbeatStrategy
{
    [ThreadStatic]
    private static Member[]? _scratch;

    public string Name => $"flooding (fanout {fanout})";

    public int SpreadOwn(ReadOnlySpan<byte> envelope) => Push(envelope, new NotSenderFilter(null, default), false);

    public int OnAccepted(ReadOnlySpan<byte> envelope, Member origin, PeerEndpoint source) =>
        Push(envelope, new NotSenderFilter(origin, source), !origin.ExternalEndpoint.IsEmpty);

    private int Push(ReadOnlySpan<byte> envelope, NotSenderFilter filter, bool subjectHasExternalEndpoint)
    {
        var scratch = _scratch;
        if (scratch is null || scratch.Length < fanout)
        {
            _scratch = scratch = new Member[fanout];
        }

        var picked = scratch.AsSpan(0, fanout);
        int count = table.Sample(picked, filter);
        int sent = emitter.Enqueue(envelope, picked[..count], subjectHasExternalEndpoint);
        picked[..count].Clear(); // hold no member past the call
        return sent;
    }

    /// <summary>Not the member the heartbeat is about, and not the peer it came from.</summary>
    private readonly struct NotSenderFilter(Member? origin, PeerEndpoint source) : IPeerFilter
    {
        public bool Matches(Member member) => !ReferenceEquals(member, origin) && (source.IsEmpty || member.Endpoint != source);
    }
}
