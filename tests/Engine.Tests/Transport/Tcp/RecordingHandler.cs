using System.Buffers;
using System.Collections.Concurrent;
using Engine.Transport;

namespace Engine.Tests.Transport.Tcp;

/// <summary>Records what a transport delivers (copying payloads) and lets a test await a condition on it.</summary>
internal sealed class RecordingHandler : ITransportHandler
{
    private readonly ConcurrentQueue<(PeerEndpoint Source, byte[] Payload)> _frames = new();
    private readonly ConcurrentQueue<(PeerEndpoint Peer, string Reason)> _losses = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _frameCount;
    private int _lossCount;

    /// <summary>Called for every frame after it is recorded (on the transport's thread).</summary>
    public Action<PeerEndpoint, byte[]>? OnFrameReceived { get; set; }

    public int FrameCount => Volatile.Read(ref _frameCount);

    public int LossCount => Volatile.Read(ref _lossCount);

    public IReadOnlyCollection<(PeerEndpoint Source, byte[] Payload)> Frames => _frames;

    public IReadOnlyCollection<(PeerEndpoint Peer, string Reason)> Losses => _losses;

    public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => throw new InvalidOperationException("no datagrams on a stream");

    public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
    {
        byte[] copy = payload.ToArray();
        _frames.Enqueue((source, copy));
        Interlocked.Increment(ref _frameCount);
        OnFrameReceived?.Invoke(source, copy);
        Pulse();
    }

    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        _losses.Enqueue((peer, reason));
        Interlocked.Increment(ref _lossCount);
        Pulse();
    }

    /// <summary>Completes when <paramref name="condition"/> holds, re-checking after every delivery.</summary>
    public async Task WaitUntilAsync(Func<RecordingHandler, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed = Volatile.Read(ref _changed).Task;
            if (condition(this))
            {
                return;
            }

            await changed.WaitAsync(cancellationToken);
        }
    }

    private void Pulse() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
