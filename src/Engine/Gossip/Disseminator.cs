using Engine.Diagnostics;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Gossip;

/// <summary>What happened to a received or published message.</summary>
internal enum ReceiveOutcome
{
    /// <summary>New (or a newer version): stored, delivered and, unless it came by pull, forwarded.</summary>
    Accepted,

    /// <summary>Already held: dropped and counted.</summary>
    Duplicate,

    /// <summary>A newer version is held: dropped and counted.</summary>
    Stale,

    /// <summary>Not a disseminated message (membership, pull, ...): left to whoever handles it.</summary>
    NotDisseminated,

    /// <summary>Malformed, or refused by the store (too large, bad fields): dropped, counted and logged.</summary>
    Rejected,
}

/// <summary>Called once for every message accepted (received new, pulled, or published here), with the bytes as received.</summary>
internal delegate void MessageDelivered(in MessageId id, ReadOnlySpan<byte> envelope, PeerEndpoint source);

/// <summary>Picks the route of a message to forward (the peer it came from is excluded afterwards).</summary>
internal delegate GossipRoute RouteSelector(in MessageId id, ReadOnlySpan<byte> envelope);

/// <summary>
/// The receive path of push dissemination: identify the message (<see cref="MessageIdentity"/>), ask the
/// <see cref="MessageStore"/> whether it is new, and if so deliver it and hand it to the <see cref="PushEmitter"/>
/// along its route, never back to the peer it came from. A message seen before is dropped and counted as a duplicate.
/// Thread-safe: called concurrently from transport threads.
/// </summary>
internal sealed class Disseminator
{
    private readonly MessageStore _store;
    private readonly PushEmitter? _emitter;
    private readonly RouteSelector? _route;
    private readonly MessageDelivered? _delivered;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _dropLog;
    private readonly PeerEndpoint _local;

    private long _received;
    private long _accepted;
    private long _duplicates;
    private long _stale;
    private long _rejected;
    private long _forwarded;
    private long _pulled;

    /// <param name="store">De-duplication and the items pull serves.</param>
    /// <param name="emitter">Where new messages are forwarded; null turns push off (pull-only).</param>
    /// <param name="local">This peer's endpoint, for log lines.</param>
    /// <param name="time">The clock of the rate-limited logs.</param>
    /// <param name="route">The route of each message (default: any peer).</param>
    /// <param name="delivered">Called for each accepted message.</param>
    /// <param name="logger">Where drops are logged.</param>
    public Disseminator(MessageStore store, PushEmitter? emitter, PeerEndpoint local, TimeProvider time, RouteSelector? route = null, MessageDelivered? delivered = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(time);
        _store = store;
        _emitter = emitter;
        _local = local;
        _route = route;
        _delivered = delivered;
        _logger = logger ?? NullLogger.Instance;
        _dropLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
    }

    public MessageStore Store => _store;

    /// <summary>A message received by push from <paramref name="source"/>.</summary>
    public ReceiveOutcome Receive(PeerEndpoint source, ReadOnlySpan<byte> envelope) => Handle(source, envelope, forward: true, countReceived: true);

    /// <summary>A message created here: stored and pushed like a received one.</summary>
    public ReceiveOutcome Publish(ReadOnlySpan<byte> envelope) => Handle(default, envelope, forward: true, countReceived: false);

    /// <summary>A requested item of a pull update from <paramref name="source"/>: stored and delivered, not pushed further.</summary>
    public ReceiveOutcome AcceptPulled(PeerEndpoint source, ReadOnlySpan<byte> envelope)
    {
        var outcome = Handle(source, envelope, forward: false, countReceived: false);
        if (outcome == ReceiveOutcome.Accepted)
        {
            Interlocked.Increment(ref _pulled);
        }

        return outcome;
    }

    public DisseminationStatistics GetStatistics() => new(
        Volatile.Read(ref _received), Volatile.Read(ref _accepted), Volatile.Read(ref _duplicates), Volatile.Read(ref _stale),
        Volatile.Read(ref _rejected), Volatile.Read(ref _forwarded), Volatile.Read(ref _pulled));

    private ReceiveOutcome Handle(PeerEndpoint source, ReadOnlySpan<byte> envelope, bool forward, bool countReceived)
    {
        var error = MessageIdentity.TryRead(envelope, out var id);
        if (error == IdentityError.NotDisseminated)
        {
            return ReceiveOutcome.NotDisseminated;
        }

        if (countReceived)
        {
            Interlocked.Increment(ref _received);
        }

        if (error != IdentityError.None)
        {
            return Reject(source, error == IdentityError.Malformed ? "malformed" : "bad_fields",
                error == IdentityError.Malformed ? "the envelope does not parse" : "a PKI-ID is empty or too long, or a channel is too long");
        }

        switch (_store.Add(in id, envelope))
        {
            case StoreResult.Added:
            case StoreResult.Replaced:
                break;
            case StoreResult.Duplicate:
                Interlocked.Increment(ref _duplicates);
                GossipMetrics.MessagesReceived.Add(1, GossipMetrics.Tag("result", "duplicate"));
                return ReceiveOutcome.Duplicate;
            case StoreResult.Stale:
                Interlocked.Increment(ref _stale);
                GossipMetrics.MessagesReceived.Add(1, GossipMetrics.Tag("result", "stale"));
                return ReceiveOutcome.Stale;
            case StoreResult.TooLarge:
                return Reject(source, "too_large", $"{envelope.Length} bytes is more than the message store holds per stripe");
            default:
                return Reject(source, "rejected", "the message store refused its identity");
        }

        Interlocked.Increment(ref _accepted);
        GossipMetrics.MessagesReceived.Add(1, GossipMetrics.Tag("result", "new"));
        _delivered?.Invoke(in id, envelope, source);
        if (forward && _emitter is not null)
        {
            var route = (_route?.Invoke(in id, envelope) ?? default).WithExclude(source);
            if (_emitter.Add(envelope, in route))
            {
                Interlocked.Increment(ref _forwarded);
                GossipMetrics.MessagesForwarded.Add(1);
            }

            GossipLog.Accepted(_logger, _local, id.Kind, id.Time.IncNum, id.Time.SeqNum, source);
        }

        return ReceiveOutcome.Accepted;
    }

    private ReceiveOutcome Reject(PeerEndpoint source, string reason, string detail)
    {
        Interlocked.Increment(ref _rejected);
        GossipMetrics.MessagesReceived.Add(1, GossipMetrics.Tag("result", reason));
        if (_dropLog.TryAcquire(out long suppressed))
        {
            GossipLog.MessageDropped(_logger, _local, source, detail, suppressed);
        }

        return ReceiveOutcome.Rejected;
    }
}

/// <summary>Counters of a <see cref="Disseminator"/>.</summary>
internal sealed record DisseminationStatistics(long Received, long Accepted, long Duplicates, long Stale, long Rejected, long Forwarded, long Pulled);
