using System.Buffers;
using System.Collections.Concurrent;
using Engine.Transport;

namespace Engine.Tests.Transport.Udp;

/// <summary>Records every datagram it is given and lets a test await a count, with a timeout.</summary>
internal sealed class DatagramCollector : ITransportHandler, IDisposable
{
    private readonly SemaphoreSlim _arrived = new(0);
    private int _count;

    public ConcurrentQueue<(PeerEndpoint Source, byte[] Body)> Datagrams { get; } = new();

    /// <summary>When set and true for a body, the handler throws instead of recording it.</summary>
    public Func<byte[], bool>? ThrowWhen { get; init; }

    public int Count => Volatile.Read(ref _count);

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
        var body = payload.ToArray();
        if (ThrowWhen?.Invoke(body) == true)
        {
            throw new InvalidOperationException("handler failure requested by the test");
        }

        Datagrams.Enqueue((source, body));
        Interlocked.Increment(ref _count);
        _arrived.Release();
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload) =>
        throw new NotSupportedException("The UDP endpoint never delivers frames.");

    public void OnConnectionLost(PeerEndpoint peer, string reason) =>
        throw new NotSupportedException("The UDP endpoint has no connections.");

    /// <summary>Waits until at least <paramref name="count"/> datagrams arrived; false if <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> WaitForCountAsync(int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await _arrived.WaitAsync(left, cancellationToken))
            {
                return Count >= count;
            }
        }

        return true;
    }

    public void Dispose() => _arrived.Dispose();
}
