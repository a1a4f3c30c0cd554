using Engine.Membership;
using Engine.Transport;

namespace Engine.Node;

/// <summary>A snapshot of a node's membership: the peers it sees alive and those it sees dead (sorted by endpoint).</summary>
/// <param name="Alive">Peers seen alive.</param>
/// <param name="Dead">Peers seen dead and not yet purged.</param>
public sealed record MembershipView(IReadOnlyList<PeerSummary> Alive, IReadOnlyList<PeerSummary> Dead);

/// <summary>One peer as a node sees it.</summary>
/// <param name="PkiId">The PKI-ID, lower-case hex.</param>
/// <param name="Endpoint">Where the peer is reached.</param>
/// <param name="Org">Its organization (MSP id); empty when unknown.</param>
/// <param name="Time">The newest PeerTime heard from it.</param>
/// <param name="State">Alive, suspect or dead.</param>
public sealed record PeerSummary(string PkiId, PeerEndpoint Endpoint, string Org, PeerTime Time, MemberState State);

/// <summary>A change of a node's membership view.</summary>
/// <param name="PkiId">The peer's PKI-ID, lower-case hex.</param>
/// <param name="Endpoint">Where the peer is reached.</param>
/// <param name="Org">Its organization.</param>
/// <param name="State">Its state after the change: alive (learned or back), dead, or purged.</param>
/// <param name="Resurrected">True when a peer seen dead is alive again.</param>
public readonly record struct MembershipChangedEvent(string PkiId, PeerEndpoint Endpoint, string Org, MemberState State, bool Resurrected);

/// <summary>A node's counters since start.</summary>
/// <param name="AliveSent">This node's own alive messages sent (one per destination).</param>
/// <param name="AliveReceived">Alive messages received in datagrams.</param>
/// <param name="AliveForwarded">Received alive messages passed on (one per destination).</param>
/// <param name="AliveStale">Received alive messages dropped as not newer.</param>
/// <param name="MembershipRequestsSent">Membership requests sent (bootstrap, re-probes, sync).</param>
/// <param name="MembershipResponsesReceived">Membership response frames received.</param>
/// <param name="DatagramsSent">Datagrams sent (heartbeats and pushed messages).</param>
/// <param name="DatagramsReceived">Datagrams received.</param>
/// <param name="BytesSent">Datagram and frame body bytes sent, by every layer.</param>
/// <param name="BytesReceived">Datagram and frame body bytes received.</param>
/// <param name="DecodeErrors">Malformed records, envelopes and messages dropped.</param>
public sealed record NodeStatistics(long AliveSent, long AliveReceived, long AliveForwarded, long AliveStale,
    long MembershipRequestsSent, long MembershipResponsesReceived, long DatagramsSent, long DatagramsReceived,
    long BytesSent, long BytesReceived, long DecodeErrors)
{
    /// <summary>Application messages published here.</summary>
    public long MessagesPublished { get; init; }

    /// <summary>Application messages of other peers delivered here (each once: <see cref="GossipNode.MessageReceived"/> calls).</summary>
    public long MessagesDelivered { get; init; }

    /// <summary>Copies of application messages received, by push and by pull, new or not.</summary>
    public long MessagesReceived { get; init; }

    /// <summary>Copies dropped because the message was already held.</summary>
    public long DuplicateMessages { get; init; }

    /// <summary>Copies dropped as malformed or refused by the message store.</summary>
    public long RejectedMessages { get; init; }

    /// <summary>Messages delivered here that came by pull (push missed them).</summary>
    public long MessagesPulled { get; init; }

    /// <summary>Message copies the push emitter sent (one per destination).</summary>
    public long PushCopiesSent { get; init; }

    /// <summary>Pull rounds this node started.</summary>
    public long PullRounds { get; init; }

    /// <summary>Pull messages or items dropped: unknown, expired or mismatched nonce, unrequested or bad items, refused Hellos.</summary>
    public long PullDropped { get; init; }

    /// <summary>Messages held in the message store now.</summary>
    public long StoredMessages { get; init; }

    /// <summary>Digests this node announced by lazy push (one per message and lazy peer).</summary>
    public long LazyAnnounced { get; init; }

    /// <summary>Announced messages push had not brought within the grace period, asked for by a Want.</summary>
    public long LazyWanted { get; init; }

    /// <summary>Messages this node sent in answer to other peers' Wants.</summary>
    public long LazyServed { get; init; }

    /// <summary>Signed messages whose signature this node checked (a signed node; 0 unsigned). Copies accepted from the cache are not counted.</summary>
    public long SignaturesVerified { get; init; }

    /// <summary>
    /// Signed messages this node refused: forged, unsigned, of an untrusted or expired identity, malformed, of another org
    /// than they claim, from a non-member of the channel, or from a bootstrap peer of another org (0 unsigned).
    /// </summary>
    public long SignedMessagesRefused { get; init; }

    /// <summary>Signed messages dropped because the sender's identity is not known yet (it is then pulled).</summary>
    public long UnknownIdentity { get; init; }
}

/// <summary>The identity of an application message: who published it, in which incarnation, and its number there.</summary>
/// <param name="Origin">The publisher's PKI-ID, lower-case hex.</param>
/// <param name="Incarnation">The publisher's incarnation (its start time; a restart gives a new one).</param>
/// <param name="Sequence">The message's number within that incarnation, from 1.</param>
public readonly record struct GossipMessageId(string Origin, ulong Incarnation, ulong Sequence);

/// <summary>Handles an application message delivered to this node (see <see cref="GossipNode.MessageReceived"/>).</summary>
/// <param name="message">A view valid only during the call.</param>
public delegate void MessageReceivedHandler(in ReceivedMessage message);

/// <summary>An application message as delivered: a view over the received bytes, valid only during the callback.</summary>
public readonly ref struct ReceivedMessage
{
    internal ReceivedMessage(ReadOnlySpan<byte> origin, ulong incarnation, ulong sequence, ReadOnlySpan<byte> data, PeerEndpoint source)
    {
        Origin = origin;
        Incarnation = incarnation;
        Sequence = sequence;
        Data = data;
        Source = source;
    }

    /// <summary>The publisher's PKI-ID.</summary>
    public ReadOnlySpan<byte> Origin { get; }

    /// <summary>The publisher's incarnation.</summary>
    public ulong Incarnation { get; }

    /// <summary>The message's number within the publisher's incarnation.</summary>
    public ulong Sequence { get; }

    /// <summary>The application's bytes.</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The peer this copy came from (by push or pull), not necessarily the publisher.</summary>
    public PeerEndpoint Source { get; }

    /// <summary>The message's identity (allocates the hex origin).</summary>
    public GossipMessageId Id => new(Convert.ToHexStringLower(Origin), Incarnation, Sequence);
}
