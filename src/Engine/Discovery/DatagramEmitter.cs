using System.Buffers;
using Engine.Protocol;
using Engine.Transport;

namespace Engine.Discovery;

/// <summary>
/// Packs envelopes bound for the same peer into shared datagrams (<see cref="EnvelopeBatch"/> records), as Fabric's
/// push emitter batches: a peer's pending datagram leaves when the next record would not fit, when
/// <c>burstSize</c> envelopes are pending in all, or <c>burstLatency</c> after the first pending one, whichever comes
/// first. One short lock guards the per-peer buffers; buffers are pooled and reused, so steady traffic to a stable set
/// of peers allocates nothing.
/// </summary>
internal sealed class DatagramEmitter : IDisposable
{
    /// <summary>A peer's buffer is returned after this many flushes without traffic to it.</summary>
    private const int IdleFlushesBeforeRelease = 8;

    private readonly ITransport _transport;
    private readonly DiscoveryCounters _counters;
    private readonly int _maxBody;
    private readonly int _burstSize;
    private readonly TimeSpan _burstLatency;
    private readonly Lock _gate = new();
    private readonly Dictionary<PeerEndpoint, Batch> _batches = [];
    private readonly ITimer _timer;
    private int _pending;
    private bool _armed;
    private bool _disposed;

    public DatagramEmitter(ITransport transport, DiscoveryCounters counters, TimeProvider time, int burstSize, TimeSpan burstLatency)
    {
        _transport = transport;
        _counters = counters;
        _maxBody = transport.MaxDatagramPayload;
        _burstSize = burstSize;
        _burstLatency = burstLatency;
        _timer = time.CreateTimer(static state => ((DatagramEmitter)state!).Flush(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Largest envelope a datagram can carry.</summary>
    public int MaxEnvelope => _maxBody - ProtoSpanWriter.VarintSize((ulong)_maxBody);

    /// <summary>Queues <paramref name="envelope"/> for <paramref name="destination"/>; false if it can never fit a datagram.</summary>
    public bool Enqueue(ReadOnlySpan<byte> envelope, PeerEndpoint destination)
    {
        if (EnvelopeBatch.RecordSize(envelope.Length) > _maxBody)
        {
            return false;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return false;
            }

            if (!_batches.TryGetValue(destination, out var batch))
            {
                batch = new Batch(ArrayPool<byte>.Shared.Rent(_maxBody));
                _batches.Add(destination, batch);
            }

            if (!EnvelopeBatch.TryAppend(batch.Buffer.AsSpan(0, _maxBody), ref batch.Written, envelope))
            {
                SendLocked(destination, batch);
                EnvelopeBatch.TryAppend(batch.Buffer.AsSpan(0, _maxBody), ref batch.Written, envelope);
            }

            batch.Idle = 0;
            if (++_pending >= _burstSize)
            {
                FlushLocked();
            }
            else if (!_armed)
            {
                _armed = true;
                _timer.Change(_burstLatency, Timeout.InfiniteTimeSpan);
            }
        }

        return true;
    }

    /// <summary>Sends every pending datagram now.</summary>
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
        foreach (var (destination, batch) in _batches)
        {
            if (batch.Written > 0)
            {
                SendLocked(destination, batch);
            }
            else if (++batch.Idle > IdleFlushesBeforeRelease)
            {
                _batches.Remove(destination); // allowed while enumerating a Dictionary
                ArrayPool<byte>.Shared.Return(batch.Buffer);
            }
        }

        _pending = 0;
        if (_armed)
        {
            _armed = false;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void SendLocked(PeerEndpoint destination, Batch batch)
    {
        var status = _transport.SendDatagram(destination, batch.Buffer.AsSpan(0, batch.Written));
        if (status == SendStatus.Sent)
        {
            _counters.DatagramSent(batch.Written);
        }
        else
        {
            _counters.DatagramSendFailed();
        }

        batch.Written = 0;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _timer.Dispose();
            foreach (var batch in _batches.Values)
            {
                ArrayPool<byte>.Shared.Return(batch.Buffer);
            }

            _batches.Clear();
        }
    }

    private sealed class Batch(byte[] buffer)
    {
        public readonly byte[] Buffer = buffer;
        public int Written;
        public int Idle;
    }
}
