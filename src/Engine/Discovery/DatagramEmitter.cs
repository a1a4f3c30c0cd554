using Engine.Protocol;
using Engine.Transport;
using Member = Engine.Membership.Member;

namespace Engine.Discovery;

/// <summary>
/// Fabric's push emitter for datagrams: envelopes to send are buffered with their destinations and flushed when
/// <c>burstSize</c> envelopes are pending or <c>burstLatency</c> after the first, whichever comes first. At a flush, what
/// goes to the same peer is packed into shared datagrams (<see cref="EnvelopeBatch"/> records, in the order queued), so
/// a burst costs one datagram per distinct destination rather than one per envelope and destination. One short lock;
/// fixed buffers sized at creation: nothing is allocated per envelope or per flush.
/// </summary>
internal sealed class DatagramEmitter : IDisposable
{
    private readonly ITransport _transport;
    private readonly DiscoveryCounters _counters;
    private readonly int _maxBody;
    private readonly int _burstSize;
    private readonly TimeSpan _burstLatency;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private byte[] _arena = [];            // the pending envelopes, back to back (allocated on first use: Swim mode never floods)
    private readonly Pending[] _pending;   // (destination, envelope) pairs
    private readonly byte[] _datagram;
    private int _arenaUsed;
    private int _pendingCount;
    private int _messages;
    private bool _armed;
    private bool _disposed;

    public DatagramEmitter(ITransport transport, DiscoveryCounters counters, TimeProvider time, int burstSize, TimeSpan burstLatency, int maxFanout)
    {
        _transport = transport;
        _counters = counters;
        _maxBody = transport.MaxDatagramPayload;
        _burstSize = burstSize;
        _burstLatency = burstLatency;
        _pending = new Pending[burstSize * Math.Max(maxFanout, 1)];
        _datagram = new byte[_maxBody];
        _timer = time.CreateTimer(static state => ((DatagramEmitter)state!).Flush(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// Queues <paramref name="envelope"/> for each of <paramref name="destinations"/> (at most the fanout given at creation);
    /// returns how many it was queued for (0 when it can never fit a datagram, or after disposal).
    /// <paramref name="subjectHasExternalEndpoint"/>: the member the alive message is about is known to have an external
    /// endpoint (lets a copy that lost its secret on the way still cross the org boundary; see <see cref="OrgBoundary.Disclose"/>).
    /// </summary>
    public int Enqueue(ReadOnlySpan<byte> envelope, ReadOnlySpan<Member> destinations, bool subjectHasExternalEndpoint = false)
    {
        if (Boundary is { } boundary)
        {
            foreach (var destination in destinations)
            {
                if (!boundary.IsSameOrg(destination.Org))
                {
                    return EnqueueAcross(envelope, destinations, boundary, subjectHasExternalEndpoint);
                }
            }
        }

        return EnqueueCore(envelope, destinations);
    }

    /// <summary>The org boundary alive messages are filtered at (null: none, everything goes as is).</summary>
    public OrgBoundary? Boundary { get; init; }

    /// <summary>Some destinations are of another org: they get what the boundary discloses, the others the envelope as is.</summary>
    private int EnqueueAcross(ReadOnlySpan<byte> envelope, ReadOnlySpan<Member> destinations, OrgBoundary boundary, bool subjectHasExternalEndpoint)
    {
        var same = new Member[destinations.Length]; // only when an org boundary is crossed
        var disclosed = new byte[envelope.Length];
        int count = 0, queued = 0;
        foreach (var destination in destinations)
        {
            if (boundary.IsSameOrg(destination.Org))
            {
                same[count++] = destination;
                continue;
            }

            int length = boundary.Disclose(envelope, disclosed, subjectHasExternalEndpoint);
            if (length > 0)
            {
                queued += EnqueueCore(disclosed.AsSpan(0, length), [destination]);
            }
        }

        return count == 0 ? queued : queued + EnqueueCore(envelope, same.AsSpan(0, count));
    }

    private int EnqueueCore(ReadOnlySpan<byte> envelope, ReadOnlySpan<Member> destinations)
    {
        if (destinations.IsEmpty || EnvelopeBatch.RecordSize(envelope.Length) > _maxBody)
        {
            return 0;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return 0;
            }

            int count = Math.Min(destinations.Length, _pending.Length);
            if (_arena.Length == 0)
            {
                _arena = new byte[_burstSize * _maxBody];
            }

            if (_arenaUsed + envelope.Length > _arena.Length || _pendingCount + count > _pending.Length)
            {
                FlushLocked();
            }

            int offset = _arenaUsed;
            envelope.CopyTo(_arena.AsSpan(offset));
            _arenaUsed += envelope.Length;
            for (int i = 0; i < count; i++)
            {
                _pending[_pendingCount++] = new Pending(destinations[i].Endpoint, offset, envelope.Length);
            }

            if (++_messages >= _burstSize)
            {
                FlushLocked();
            }
            else if (!_armed)
            {
                _armed = true;
                _timer.Change(_burstLatency, Timeout.InfiniteTimeSpan);
            }

            return count;
        }
    }

    /// <summary>Sends everything pending now.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                FlushLocked();
            }
        }
    }

    private void FlushLocked()
    {
        // Group by destination, keeping the queued order within a destination (insertion sort: a burst is small).
        var pending = _pending.AsSpan(0, _pendingCount);
        for (int i = 1; i < pending.Length; i++)
        {
            var item = pending[i];
            int j = i - 1;
            while (j >= 0 && pending[j].Destination.CompareTo(item.Destination) > 0)
            {
                pending[j + 1] = pending[j];
                j--;
            }

            pending[j + 1] = item;
        }

        int written = 0;
        for (int i = 0; i < pending.Length; i++)
        {
            var envelope = _arena.AsSpan(pending[i].Offset, pending[i].Length);
            if (!EnvelopeBatch.TryAppend(_datagram, ref written, envelope))
            {
                Send(pending[i - 1].Destination, written);
                written = 0;
                EnvelopeBatch.TryAppend(_datagram, ref written, envelope);
            }

            if (i + 1 == pending.Length || pending[i + 1].Destination != pending[i].Destination)
            {
                Send(pending[i].Destination, written);
                written = 0;
            }
        }

        _pendingCount = 0;
        _arenaUsed = 0;
        _messages = 0;
        if (_armed)
        {
            _armed = false;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void Send(PeerEndpoint destination, int length)
    {
        var status = _transport.SendDatagram(destination, _datagram.AsSpan(0, length));
        if (status == SendStatus.Sent)
        {
            _counters.DatagramSent(length);
        }
        else
        {
            _counters.DatagramSendFailed();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _disposed = true;
                _timer.Dispose();
            }
        }
    }

    private readonly record struct Pending(PeerEndpoint Destination, int Offset, int Length);
}
