using System.Buffers;
using Engine.Transport;

namespace Engine.Benchmarks.Transport;

/// <summary>Counts received frames down from <see cref="Expect"/> and signals when all arrived; a lost connection fails the run.</summary>
internal sealed class FrameCountingHandler : ITransportHandler, IDisposable
{
    private readonly ManualResetEventSlim _done = new();
    private long _remaining;

    public void Expect(int frames)
    {
        _done.Reset();
        Volatile.Write(ref _remaining, frames);
    }

    public bool Wait(TimeSpan timeout) => _done.Wait(timeout);

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
    {
    }

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        if (Interlocked.Decrement(ref _remaining) == 0)
        {
            _done.Set();
        }
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason) => throw new InvalidOperationException($"connection to {peer} lost: {reason}");

    public void Dispose() => _done.Dispose();
}
